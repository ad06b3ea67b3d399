//! Sessions → Acoustic Exchange contact-center events, by the rules in the README's mapping
//! table (one function per event code, in the table's order).
//!
//! The rules read only the normalized [`Session`]; the request-body format and the Parquet
//! columns are the business of `write`.

use std::borrow::Cow;

use crate::derive::catalog::{Attr, EventCode};
use crate::derive::is_clean_text;
use crate::normalize::{
    text, EscalationKind, Instant, Participant, RawDisposition, Segment, SegmentKind, Session,
};
use crate::shared::vocab::SessionKind;

/// One derived Exchange event.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeEvent<'a> {
    /// Event code.
    pub code: EventCode,
    /// `<kind>-<session_id>:<code>:<suffix>`: stable across reruns and re-exports.
    pub event_id: String,
    /// When the event was observed.
    pub timestamp: Instant,
    /// What produced it: `agent_handle`, `participant`, `virtual_agent_session`, `session`...
    pub source_entity: &'static str,
    /// The id of that entity, when it has one.
    pub source_entity_id: Option<i64>,
    /// Catalogue attribute values (the event id is `event_id`).
    pub attributes: Attributes<'a>,
}

/// Every catalogue attribute a rule can fill; `None` = no source value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes<'a> {
    /// `description`
    pub description: Option<String>,
    /// `eventName`
    pub event_name: Option<&'static str>,
    /// `agentSkill`: the queue (menu path name).
    pub agent_skill: Option<&'a str>,
    /// `agentSkillLevel`: no source in the export.
    pub agent_skill_level: Option<&'a str>,
    /// `agentDisposition`: the agent's disposition code.
    pub agent_disposition: Option<&'a str>,
    /// `subChannel`: `phone`, `chat`, `sms`, `whatsapp`.
    pub sub_channel: Option<&'static str>,
    /// `location`: no source in the export.
    pub location: Option<&'a str>,
    /// `deviceType`: `mobile`, `web`, `phone`.
    pub device_type: Option<&'static str>,
    /// `duration`, seconds.
    pub duration: Option<i64>,
    /// `notes`: the disposition note.
    pub notes: Option<&'a str>,
    /// `sentiment`: `positive`, `neutral`, `negative`, `unknown`.
    pub sentiment: Option<&'static str>,
    /// `tags`, comma-separated.
    pub tags: Option<String>,
    /// `topic`: the menu path name.
    pub topic: Option<&'a str>,
    /// `actionability`: `escalated`, `not_escalated`, `voicemail`.
    pub actionability: Option<&'static str>,
    /// `selfServiceApp`: `IVR`, `Mobile SDK`, `Web SDK` or a virtual agent's name.
    pub self_service_app: Option<&'a str>,
    /// `selfServiceSelections`: the menu path names chosen.
    pub self_service_selections: Option<&'a str>,
    /// `action`: `deflected:<how>`, `escalated_to_agent`, `callback_scheduled`...
    pub action: Option<Cow<'a, str>>,
    /// `priority`: the queue priority level.
    pub priority: Option<i64>,
    /// `calling list`: no source in the export.
    pub calling_list: Option<&'a str>,
}

impl ExchangeEvent<'_> {
    /// The value of catalogue attribute `attr` as it is sent (text), if the event has one.
    pub fn value(&self, attr: Attr) -> Option<Cow<'_, str>> {
        let a = &self.attributes;
        fn borrowed(v: Option<&str>) -> Option<Cow<'_, str>> {
            v.map(Cow::Borrowed)
        }
        match attr {
            Attr::Description => borrowed(a.description.as_deref()),
            Attr::EventId => Some(Cow::Borrowed(&self.event_id)),
            Attr::EventName => borrowed(a.event_name),
            Attr::AgentSkill => borrowed(a.agent_skill),
            Attr::AgentSkillLevel => borrowed(a.agent_skill_level),
            Attr::AgentDisposition => borrowed(a.agent_disposition),
            Attr::SubChannel => borrowed(a.sub_channel),
            Attr::Location => borrowed(a.location),
            Attr::DeviceType => borrowed(a.device_type),
            Attr::Duration => a.duration.map(|d| Cow::Owned(d.to_string())),
            Attr::Notes => borrowed(a.notes),
            Attr::Sentiment => borrowed(a.sentiment),
            Attr::Tags => borrowed(a.tags.as_deref()),
            Attr::Topic => borrowed(a.topic),
            Attr::Actionability => borrowed(a.actionability),
            Attr::SelfServiceApp => borrowed(a.self_service_app),
            Attr::SelfServiceSelections => borrowed(a.self_service_selections),
            Attr::Action => a.action.as_deref().map(Cow::Borrowed),
            Attr::Priority => a.priority.map(|p| Cow::Owned(p.to_string())),
            Attr::CallingList => borrowed(a.calling_list),
        }
    }

    /// Required attributes of this event's code that have no value.
    pub fn missing_required(&self) -> impl Iterator<Item = Attr> + '_ {
        self.code
            .attributes()
            .iter()
            .filter(|spec| spec.required && self.value(spec.attr).is_none_or(|v| v.is_empty()))
            .map(|spec| spec.attr)
    }
}

/// Facts about a session that several rules share.
struct Facts<'a> {
    kind: &'static str,
    id: i64,
    /// `session_type_v2`, else the legacy type: its words, lower-cased.
    type_words: Vec<String>,
    direction: &'static str,
    sub_channel: &'static str,
    device_type: Option<&'static str>,
    csat: &'static str,
    priority: Option<i64>,
    menu_path: Option<&'a str>,
}

impl<'a> Facts<'a> {
    fn of(s: &Session<'a>) -> Facts<'a> {
        let type_words: Vec<String> = text(&s.raw.session_type_v2)
            .or(s.session_type)
            .unwrap_or("")
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let has = |word: &str| has_word(&type_words, word);
        let direction = if has("campaign") {
            "Campaign"
        } else if has("callback") {
            "Callback"
        } else if has("scheduled") {
            "Scheduled"
        } else if has("outbound") {
            "Outbound"
        } else if has("internal") {
            "Internal"
        } else {
            "Inbound"
        };
        let sub_channel = match s.kind {
            SessionKind::Call => "phone",
            SessionKind::Chat if has("sms") => "sms",
            SessionKind::Chat if has("whatsapp") => "whatsapp",
            SessionKind::Chat => "chat",
        };
        let device_type = if has("mobile") || has("app") {
            Some("mobile")
        } else if has("web") {
            Some("web")
        } else if s.kind == SessionKind::Call {
            Some("phone")
        } else if matches!(sub_channel, "sms" | "whatsapp") {
            Some("mobile")
        } else {
            None
        };
        Facts {
            kind: s.kind.as_str(),
            id: s.id,
            direction,
            sub_channel,
            device_type,
            csat: csat_sentiment(s.raw.rating),
            priority: s.raw.queue_priority_level,
            menu_path: usable(s.raw.menu_path.as_ref().and_then(|m| text(&m.name))),
            type_words,
        }
    }

    /// The session type has `word` (lower case) as a whole word.
    fn type_has(&self, word: &str) -> bool {
        has_word(&self.type_words, word)
    }

    fn event_id(&self, code: EventCode, suffix: &str) -> String {
        format!("{}-{}:{}:{}", self.kind, self.id, code.as_str(), suffix)
    }

    fn tags(&self, extra: &[&str]) -> Option<String> {
        let mut tags = self.kind.to_owned();
        for tag in extra {
            tags.push(',');
            tags.push_str(tag);
        }
        Some(tags)
    }
}

/// `word` (lower case) is one of `words`.
fn has_word(words: &[String], word: &str) -> bool {
    words.iter().any(|w| w == word)
}

/// `deflected:<how>`, the action of every deflection rule.
fn deflected(how: &str) -> Cow<'static, str> {
    Cow::Owned(format!("deflected:{how}"))
}

/// `rating` 4–5 positive, 3 neutral, 1–2 negative, otherwise unknown.
fn csat_sentiment(rating: Option<i64>) -> &'static str {
    match rating {
        Some(4..=5) => "positive",
        Some(3) => "neutral",
        Some(1..=2) => "negative",
        _ => "unknown",
    }
}

/// A virtual agent's 0–100 sentiment score: ≥ 60 positive, ≤ 40 negative, between neutral.
fn va_sentiment(score: Option<i64>, csat: &'static str) -> &'static str {
    match score {
        Some(s) if s >= 60 => "positive",
        Some(s) if s <= 40 => "negative",
        Some(_) => "neutral",
        None => csat,
    }
}

fn is_escalated(g: &Segment<'_>) -> bool {
    g.finish_reason == Some("escalated") || g.escalation_reason.is_some_and(|r| !r.is_empty())
}

/// `<prefix>-<id>`, or `<prefix>#<index>` for an entry without an id.
fn suffix(prefix: &str, id: Option<i64>, index: usize) -> String {
    match id {
        Some(id) => format!("{prefix}-{id}"),
        None => format!("{prefix}#{index}"),
    }
}

fn real_deflection(d: Option<&str>) -> Option<&str> {
    usable(d).filter(|d| *d != "no_deflection")
}

/// The one gate for source text on its way into an attribute (and into the `description`
/// built from attributes), so the `events` table and the request bodies carry the same text.
/// Blank text counts as no value: it neither fills an attribute nor stops a fallback. So does
/// text with a control character other than tab and newline, or a bidi control
/// (`derive::is_clean_text`): an attribute is shown in Exchange and in BI tools, where such
/// characters hide or reorder what is around them.
fn usable(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !v.trim().is_empty() && is_clean_text(v))
}

/// Every Exchange event `s` produces, grouped by code in catalogue order.
pub fn events<'a>(s: &Session<'a>) -> Vec<ExchangeEvent<'a>> {
    let facts = Facts::of(s);
    let mut out = Vec::new();
    agent_talk(s, &facts, &mut out);
    message_analysis(s, &facts, &mut out);
    self_service(s, &facts, &mut out);
    automation_triggered(s, &facts, &mut out);
    out
}

/// Segments of one kind with their index in the source array.
fn segments_of<'s, 'a>(
    s: &'s Session<'a>,
    kind: SegmentKind,
) -> impl Iterator<Item = (usize, &'s Segment<'a>)> {
    s.segments
        .iter()
        .filter(move |g| g.segment_kind == Some(kind))
        .enumerate()
}

fn agent_talk<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<ExchangeEvent<'a>>) {
    let mut handles = segments_of(s, SegmentKind::AgentHandle).peekable();
    if handles.peek().is_some() {
        for (i, g) in handles {
            if g.duration_s.unwrap_or(0) <= 0 {
                continue; // wrap-up only: no talk time
            }
            out.push(Talk::of_handle(s, f, i, g).event(s, f));
        }
        return;
    }
    // No handle segments: fall back to the agent participants.
    for (i, p) in s.participants.iter().enumerate() {
        if text(&p.raw.participant_type) != Some("agent") || p.duration_s.unwrap_or(0) <= 0 {
            continue;
        }
        out.push(Talk::of_participant(s, f, i, p).event(s, f));
    }
}

/// One agent's talk time, before it becomes an `agentTalk` event.
struct Talk<'a> {
    /// Makes the event id unique within the session.
    suffix: String,
    at: Option<Instant>,
    source_entity: &'static str,
    source_entity_id: Option<i64>,
    agent_id: Option<i64>,
    skill: Option<&'a str>,
    disposition: Option<&'a RawDisposition<'a>>,
    duration: Option<i64>,
    tags: Vec<&'static str>,
}

impl<'a> Talk<'a> {
    /// A handle segment, with the agent's disposition for the segment's transfer leg, else
    /// the agent's first.
    fn of_handle(s: &Session<'a>, f: &Facts<'a>, i: usize, g: &Segment<'a>) -> Self {
        let dispositions = &s.raw.dispositions;
        let of_agent = |d: &&RawDisposition<'_>| d.user_id.is_some() && d.user_id == g.agent_id;
        let disposition = dispositions
            .iter()
            .filter(of_agent)
            .find(|d| d.transfer_id == g.transfer_id)
            .or_else(|| dispositions.iter().find(of_agent));
        let mut tags = Vec::new();
        if g.transfer == Some(true) {
            tags.push("transfer");
        }
        if g.barged == Some(true) {
            tags.push("barged");
        }
        Talk {
            suffix: suffix("handle", g.segment_id, i),
            at: g.started_at,
            source_entity: "agent_handle",
            source_entity_id: g.segment_id,
            agent_id: g.agent_id,
            skill: usable(g.menu_path).or(f.menu_path),
            disposition,
            duration: g.duration_s,
            tags,
        }
    }

    /// An agent participant, with the participant's disposition.
    fn of_participant(s: &Session<'a>, f: &Facts<'a>, i: usize, p: &Participant<'a>) -> Self {
        let disposition = s
            .raw
            .dispositions
            .iter()
            .find(|d| d.participant_id.is_some() && d.participant_id == p.raw.id);
        Talk {
            suffix: suffix("participant", p.raw.id, i),
            at: p.connected_at,
            source_entity: "participant",
            source_entity_id: p.raw.id,
            agent_id: p.raw.user_id,
            skill: f.menu_path,
            disposition,
            duration: p.duration_s,
            tags: Vec::new(),
        }
    }

    fn event(self, s: &Session<'a>, f: &Facts<'a>) -> ExchangeEvent<'a> {
        let code = EventCode::AgentTalk;
        let skill_text = self.skill.unwrap_or("an unknown queue");
        let agent_text = self
            .agent_id
            .map_or_else(|| "an unknown agent".to_owned(), |a| format!("agent {a}"));
        let disposition = self.disposition;
        ExchangeEvent {
            code,
            event_id: f.event_id(code, &self.suffix),
            timestamp: self.at.or(s.connected_at).unwrap_or(s.created_at),
            source_entity: self.source_entity,
            source_entity_id: self.source_entity_id,
            attributes: Attributes {
                description: Some(format!(
                    "{} {} {} handled by {agent_text} in {skill_text}",
                    f.direction, f.kind, f.id
                )),
                event_name: Some(f.direction),
                agent_skill: self.skill,
                agent_disposition: disposition.and_then(|d| usable(text(&d.code))),
                notes: disposition.and_then(|d| usable(text(&d.note))),
                sub_channel: Some(f.sub_channel),
                device_type: f.device_type,
                duration: self.duration,
                sentiment: Some(f.csat),
                tags: f.tags(&self.tags),
                ..Attributes::default()
            },
        }
    }
}

fn message_analysis<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<ExchangeEvent<'a>>) {
    let code = EventCode::MessageAnalysis;
    let status = s.status.as_ref().map(|st| st.name.as_ref());
    let voicemail = matches!(status, Some("voicemail" | "voicemail_received"))
        || text(&s.raw.voicemail_reason).is_some_and(|r| !r.is_empty() && r != "not_voicemail");
    if voicemail {
        out.push(ExchangeEvent {
            code,
            event_id: f.event_id(code, "voicemail"),
            timestamp: s.ends_at.unwrap_or(s.created_at),
            source_entity: "session",
            source_entity_id: Some(f.id),
            attributes: Attributes {
                description: Some(format!("Voicemail left on {} {}", f.kind, f.id)),
                event_name: Some("Voice Message Analysis"),
                topic: f.menu_path,
                sentiment: Some(f.csat),
                actionability: Some("voicemail"),
                sub_channel: Some(f.sub_channel),
                duration: s.duration_s,
                tags: f.tags(&["voicemail"]),
                ..Attributes::default()
            },
        });
    }
    for (i, g) in segments_of(s, SegmentKind::VirtualAgent) {
        let escalated = is_escalated(g);
        let agent =
            usable(g.virtual_agent.and_then(|v| text(&v.name))).unwrap_or("a virtual agent");
        out.push(ExchangeEvent {
            code,
            event_id: f.event_id(code, &suffix("va", g.segment_id, i)),
            timestamp: g.started_at.unwrap_or(s.created_at),
            source_entity: "virtual_agent_session",
            source_entity_id: g.segment_id,
            attributes: Attributes {
                description: Some(format!(
                    "Conversation with {agent} on {} {}{}",
                    f.kind,
                    f.id,
                    if escalated {
                        ", escalated to a human"
                    } else {
                        ""
                    }
                )),
                event_name: Some("Virtual Agent Conversation Analysis"),
                topic: usable(g.menu_path).or(f.menu_path),
                sentiment: Some(va_sentiment(g.sentiment, f.csat)),
                actionability: Some(if escalated {
                    "escalated"
                } else {
                    "not_escalated"
                }),
                sub_channel: Some(f.sub_channel),
                duration: g.duration_s,
                tags: f.tags(&["virtual_agent"]),
                ..Attributes::default()
            },
        });
    }
}

fn self_service<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<ExchangeEvent<'a>>) {
    let code = EventCode::SelfService;
    let menu_app = if f.type_has("ivr") {
        "IVR"
    } else {
        match f.device_type {
            Some("mobile") => "Mobile SDK",
            Some("web") => "Web SDK",
            _ => "IVR",
        }
    };
    let event =
        |g: &Segment<'a>, suffix: String, source_entity: &'static str, app: &'a str, tag: &str| {
            let selections = usable(g.menu_path).filter(|m| *m != "/").or(f.menu_path);
            ExchangeEvent {
                code,
                event_id: f.event_id(code, &suffix),
                timestamp: g.started_at.unwrap_or(s.created_at),
                source_entity,
                source_entity_id: g.segment_id,
                attributes: Attributes {
                    description: Some(format!("Self service in {app} on {} {}", f.kind, f.id)),
                    event_name: Some("Self Service"),
                    self_service_app: Some(app),
                    self_service_selections: selections,
                    sub_channel: Some(f.sub_channel),
                    device_type: f.device_type,
                    duration: g.duration_s,
                    tags: f.tags(&[tag]),
                    ..Attributes::default()
                },
            }
        };
    for (i, g) in segments_of(s, SegmentKind::ConsumerInMenu) {
        out.push(event(
            g,
            suffix("menu", g.segment_id, i),
            "consumer_in_menu",
            menu_app,
            "ivr",
        ));
    }
    for (i, g) in segments_of(s, SegmentKind::VirtualAgent) {
        if is_escalated(g) {
            continue;
        }
        let app = usable(g.virtual_agent.and_then(|v| text(&v.name))).unwrap_or("Virtual Agent");
        out.push(event(
            g,
            suffix("va", g.segment_id, i),
            "virtual_agent_session",
            app,
            "virtual_agent",
        ));
    }
}

fn automation_triggered<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<ExchangeEvent<'a>>) {
    let mut triggers = Vec::new();
    deflection_triggers(s, f, &mut triggers);
    escalation_triggers(s, f, &mut triggers);
    let scheduled = if f.type_has("callback") {
        Some("callback_scheduled")
    } else if f.type_has("scheduled") {
        Some("call_scheduled")
    } else {
        None
    };
    if let Some(action) = scheduled {
        triggers.push(Trigger::of_session(f, "scheduled", s.scheduled_at, action));
    }
    if f.type_has("campaign") {
        triggers.push(Trigger::of_session(
            f,
            "campaign",
            Some(s.created_at),
            "campaign_dialed",
        ));
    }
    redirection_triggers(s, f, &mut triggers);
    let code = EventCode::AutomationTriggered;
    out.extend(triggers.into_iter().map(|t| ExchangeEvent {
        code,
        event_id: f.event_id(code, &t.suffix),
        timestamp: t.at.unwrap_or(s.created_at),
        source_entity: t.source_entity,
        source_entity_id: t.source_entity_id,
        attributes: Attributes {
            description: Some(format!("{} on {} {}", t.action, f.kind, f.id)),
            event_name: Some("Auto Trigger Action"),
            action: Some(t.action),
            priority: t.priority,
            agent_skill: t.skill,
            sub_channel: Some(f.sub_channel),
            tags: f.tags(t.tags),
            ..Attributes::default()
        },
    }));
}

/// One automation trigger, before it becomes an `automationTriggered` event.
struct Trigger<'a> {
    /// Makes the event id unique within the session.
    suffix: String,
    at: Option<Instant>,
    source_entity: &'static str,
    source_entity_id: Option<i64>,
    action: Cow<'a, str>,
    skill: Option<&'a str>,
    priority: Option<i64>,
    tags: &'static [&'static str],
}

impl<'a> Trigger<'a> {
    /// A trigger of the session itself, at the session's menu path and priority.
    fn of_session(f: &Facts<'a>, suffix: &str, at: Option<Instant>, action: &'a str) -> Self {
        Trigger {
            suffix: suffix.to_owned(),
            at,
            source_entity: "session",
            source_entity_id: Some(f.id),
            action: Cow::Borrowed(action),
            skill: f.menu_path,
            priority: f.priority,
            tags: &[],
        }
    }
}

/// Deflections: of the session, of its transfers, and virtual-agent deflected escalations.
fn deflection_triggers<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<Trigger<'a>>) {
    if let Some(d) = real_deflection(text(&s.raw.deflection)) {
        out.push(Trigger {
            action: deflected(d),
            ..Trigger::of_session(f, "deflection", Some(s.created_at), "")
        });
    }
    for (i, t) in s.transfers.iter().enumerate() {
        if let Some(d) = real_deflection(text(&t.raw.deflection)) {
            out.push(Trigger {
                suffix: suffix("transfer", t.raw.id, i),
                at: t.created_at,
                source_entity: "transfer",
                source_entity_id: t.raw.id,
                action: deflected(d),
                skill: usable(t.raw.to_menu_path.as_ref().and_then(|m| text(&m.name))),
                priority: t.raw.to_queue_priority_level.or(f.priority),
                tags: &[],
            });
        }
    }
    let va_deflected = s
        .escalations
        .iter()
        .filter(|e| e.escalation_kind == EscalationKind::VaDeflected);
    for (i, e) in va_deflected.enumerate() {
        out.push(Trigger {
            suffix: suffix("va-deflected", e.record_id, i),
            at: e.escalated_at,
            source_entity: "escalation",
            source_entity_id: e.record_id,
            action: real_deflection(e.deflection).map_or(Cow::Borrowed("deflected"), deflected),
            skill: usable(e.menu_path),
            priority: f.priority,
            tags: &[],
        });
    }
}

/// Escalations to an agent: the escalation records, else the virtual-agent segments' flags
/// (escalation records of either kind take precedence over them).
fn escalation_triggers<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<Trigger<'a>>) {
    let escalated = s
        .escalations
        .iter()
        .filter(|e| e.escalation_kind == EscalationKind::Escalation);
    for (i, e) in escalated.enumerate() {
        out.push(Trigger {
            suffix: suffix("escalation", e.record_id, i),
            at: e.escalated_at.or(e.created_at),
            source_entity: "escalation",
            source_entity_id: e.record_id,
            skill: usable(e.to_menu_path.and_then(|m| text(&m.name))),
            ..Trigger::of_session(f, "", None, "escalated_to_agent")
        });
    }
    if s.escalations.is_empty() {
        for (i, g) in segments_of(s, SegmentKind::VirtualAgent) {
            if is_escalated(g) {
                out.push(Trigger {
                    suffix: suffix("va-escalated", g.segment_id, i),
                    at: g.ended_at,
                    source_entity: "virtual_agent_session",
                    source_entity_id: g.segment_id,
                    ..Trigger::of_session(f, "", None, "escalated_to_agent")
                });
            }
        }
    }
}

/// Automation redirections, one per redirection group.
fn redirection_triggers<'a>(s: &Session<'a>, f: &Facts<'a>, out: &mut Vec<Trigger<'a>>) {
    let Some(redirection) = &s.raw.automation_redirection else {
        return;
    };
    for (i, g) in redirection.redirection_group.iter().enumerate() {
        let destination = usable(
            g.destination
                .as_ref()
                .and_then(|d| text(&d.destination_type)),
        )
        .unwrap_or("unknown")
        .to_ascii_lowercase();
        out.push(Trigger {
            suffix: format!("redirection-{i}"),
            at: Some(s.created_at),
            source_entity: "automation_redirection",
            source_entity_id: None,
            action: Cow::Owned(format!("redirected_to_{destination}")),
            skill: usable(text(&g.group_label)),
            priority: f.priority,
            tags: if g.after_hours == Some(true) {
                &["after_hours"]
            } else {
                &[]
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_control_or_bidi_characters_is_no_value_and_does_not_stop_a_fallback() {
        let json = r#"{"id": 1, "call_type": "Voice Inbound (IVR)", "created_at": "2026-01-01T00:00:00Z",
            "menu_path": {"name": "Support"},
            "handle_durations": [
                {"id": 10, "agent_id": 5, "call_duration": 30, "menu_path": "Bill\u202eing"},
                {"id": 11, "agent_id": 6, "call_duration": 40, "menu_path": "Orders"}],
            "dispositions": [
                {"user_id": 5, "code": "ok\u0000", "note": "line one\nline two\tend"},
                {"user_id": 6, "code": "Resolved", "note": "bell\u0007"}],
            "virtual_agent_handle_durations": [
                {"id": 20, "call_duration": 9, "virtual_agent": {"name": "va\u2066x"}}],
            "automation_redirection": {"redirection_group": [
                {"group_label": "\u200fGroup", "destination": {"type": "Qu\u0000eue"}}]}}"#;
        let parsed = crate::parse::parse(json.as_bytes()).unwrap();
        let session = crate::normalize::normalize(&parsed.session, "call-1.json").unwrap();
        let events = events(&session);
        let find = |id: &str| {
            events
                .iter()
                .find(|e| e.event_id == id)
                .unwrap_or_else(|| panic!("no {id}"))
        };
        let a = &find("call-1:agentTalk:handle-10").attributes;
        // The segment's menu path is not clean: the session's is used, as for a blank one.
        assert_eq!(a.agent_skill, Some("Support"));
        assert_eq!(a.agent_disposition, None);
        // Tab and newline are text.
        assert_eq!(a.notes, Some("line one\nline two\tend"));
        assert_eq!(
            a.description.as_deref(),
            Some("Inbound call 1 handled by agent 5 in Support")
        );
        let a = &find("call-1:agentTalk:handle-11").attributes;
        assert_eq!(
            (a.agent_skill, a.agent_disposition, a.notes),
            (Some("Orders"), Some("Resolved"), None)
        );
        let a = &find("call-1:selfService:va-20").attributes;
        assert_eq!(a.self_service_app, Some("Virtual Agent"));
        assert_eq!(
            find("call-1:messageAnalysis:va-20")
                .attributes
                .description
                .as_deref(),
            Some("Conversation with a virtual agent on call 1")
        );
        let a = &find("call-1:automationTriggered:redirection-0").attributes;
        assert_eq!(a.agent_skill, None);
        assert_eq!(a.action.as_deref(), Some("redirected_to_unknown"));
        // Whatever the rule, no attribute of any event carries such a character.
        for e in &events {
            for spec in e.code.attributes() {
                if let Some(v) = e.value(spec.attr) {
                    assert!(crate::derive::is_clean_text(&v), "{}: {v:?}", e.event_id);
                }
            }
        }
    }

    #[test]
    fn sentiment_scales() {
        assert_eq!(csat_sentiment(Some(5)), "positive");
        assert_eq!(csat_sentiment(Some(4)), "positive");
        assert_eq!(csat_sentiment(Some(3)), "neutral");
        assert_eq!(csat_sentiment(Some(1)), "negative");
        assert_eq!(csat_sentiment(Some(0)), "unknown");
        assert_eq!(csat_sentiment(Some(9)), "unknown");
        assert_eq!(csat_sentiment(None), "unknown");
        assert_eq!(va_sentiment(Some(60), "unknown"), "positive");
        assert_eq!(va_sentiment(Some(52), "unknown"), "neutral");
        assert_eq!(va_sentiment(Some(40), "unknown"), "negative");
        assert_eq!(va_sentiment(None, "neutral"), "neutral");
    }
}
