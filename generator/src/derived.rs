//! The derived tables, counted from the document by the README's rules ("Derived events and
//! the lifecycle timeline"), independently of the pipeline's code: events per mapping rule,
//! milestones, and whether a session has an identifier.

use crate::json::V;
use crate::session::GenStatus;

/// The `events` codes.
pub const EVENT_CODES: [&str; 4] = [
    "agentTalk",
    "messageAnalysis",
    "selfService",
    "automationTriggered",
];

/// One row of the README's event mapping table: the code and the `eventId` suffix its events
/// carry (without the entry id).
#[derive(Debug, Clone, Copy)]
pub struct EventRule {
    /// The event code (`agentTalk`...).
    pub code: &'static str,
    /// The `eventId` suffix (`handle`...).
    pub suffix: &'static str,
}

impl EventRule {
    /// `<code>:<suffix>`, the key in [`Truth::events_by_rule`](crate::Truth::events_by_rule).
    pub fn key(self) -> String {
        format!("{}:{}", self.code, self.suffix)
    }
}

/// How many rules [`EVENT_RULES`] has.
pub const RULES: usize = 14;

/// Every rule of the mapping table, in the order `events_of` counts them.
pub const EVENT_RULES: [EventRule; RULES] = {
    const fn rule(code: &'static str, suffix: &'static str) -> EventRule {
        EventRule { code, suffix }
    }
    [
        rule("agentTalk", "handle"),
        rule("agentTalk", "participant"),
        rule("messageAnalysis", "voicemail"),
        rule("messageAnalysis", "va"),
        rule("selfService", "menu"),
        rule("selfService", "va"),
        rule("automationTriggered", "deflection"),
        rule("automationTriggered", "transfer"),
        rule("automationTriggered", "va-deflected"),
        rule("automationTriggered", "escalation"),
        rule("automationTriggered", "va-escalated"),
        rule("automationTriggered", "scheduled"),
        rule("automationTriggered", "campaign"),
        rule("automationTriggered", "redirection"),
    ]
};

/// Whether `key` holds a value other than `null`.
fn is_set(v: &V, key: &str) -> bool {
    v.get(key).is_some_and(|x| *x != V::Null)
}

/// The array under `key` (empty when absent or `null`).
pub(crate) fn items<'a>(v: &'a V, key: &str) -> &'a [V] {
    v.get(key).map_or(&[][..], V::items)
}

/// The text under `key`, if it is a string.
fn text_of<'a>(v: &'a V, key: &str) -> Option<&'a str> {
    v.get(key).and_then(V::as_str)
}

/// Seconds of `call_duration`, else `chat_duration` (a number or a numeric string).
fn seconds_of(v: &V) -> Option<i64> {
    match v.get("call_duration").or_else(|| v.get("chat_duration"))? {
        V::Int(n) => Some(*n),
        V::Str(text) => text.parse().ok(),
        _ => None,
    }
}

/// A `deflection` value that names a deflection (not `no_deflection`, not null).
pub(crate) fn deflected(v: &V) -> bool {
    text_of(v, "deflection").is_some_and(|d| !d.is_empty() && d != "no_deflection")
}

/// An escalated virtual-agent segment: `finish_reason` `escalated`, or an `escalation_reason`.
pub(crate) fn escalated(segment: &V) -> bool {
    text_of(segment, "finish_reason") == Some("escalated") || is_set(segment, "escalation_reason")
}

/// Events per rule ([`EVENT_RULES`] order) the README's mapping table gives for one session.
pub(crate) fn events_of(doc: &V, status: GenStatus) -> [u64; RULES] {
    // The type: `session_type_v2`, else `call_type`/`chat_type`, else `session_type`.
    let kind_type = ["session_type_v2", "call_type", "chat_type", "session_type"]
        .iter()
        .find_map(|k| text_of(doc, k))
        .unwrap_or("")
        .to_ascii_lowercase();
    let va = items(doc, "virtual_agent_handle_durations");
    let va_escalated = va.iter().filter(|segment| escalated(segment)).count();
    let handles = items(doc, "handle_durations");
    let (escalations, va_deflected) = (
        doc.len_of("escalations"),
        doc.len_of("virtual_agent_deflected_escalations"),
    );
    let voicemail = matches!(status.name(), "voicemail" | "voicemail_received")
        || text_of(doc, "voicemail_reason").is_some_and(|r| r != "not_voicemail");
    let counts: [usize; RULES] = [
        // agentTalk: talk segments (wrap-up-only ones have a 0 duration)...
        handles.iter().filter(|h| seconds_of(h) > Some(0)).count(),
        // ...else, without any handle segment, agent participants that talked.
        if handles.is_empty() {
            items(doc, "participants")
                .iter()
                .filter(|p| text_of(p, "type") == Some("agent") && seconds_of(p) > Some(0))
                .count()
        } else {
            0
        },
        // messageAnalysis: a voicemail; every virtual-agent segment.
        usize::from(voicemail),
        va.len(),
        // selfService: IVR menu periods; virtual-agent segments that were not escalated.
        doc.len_of("consumer_in_menu_durations"),
        va.len() - va_escalated,
        // automationTriggered: the session's deflection, deflected transfers, deflected
        // escalations, hand-overs to a human (escalations[], else escalated VA segments),
        // callbacks and scheduled calls, campaign calls, redirection groups.
        usize::from(deflected(doc)),
        items(doc, "transfers")
            .iter()
            .filter(|t| deflected(t))
            .count(),
        va_deflected,
        escalations,
        if escalations + va_deflected == 0 {
            va_escalated
        } else {
            0
        },
        usize::from(has_word(&kind_type, "callback") || has_word(&kind_type, "scheduled")),
        usize::from(has_word(&kind_type, "campaign")),
        doc.get("automation_redirection")
            .map_or(0, |a| a.len_of("redirection_group")),
    ];
    counts.map(|n| n as u64)
}

/// `milestones` rows: one per non-null lifecycle timestamp.
pub(crate) fn milestones_of(doc: &V) -> u64 {
    let set = |v: &V, keys: &[&str]| keys.iter().filter(|k| is_set(v, k)).count() as u64;
    let mut n = set(
        doc,
        &[
            "created_at",
            "queued_at",
            "assigned_at",
            "connected_at",
            "ends_at",
            "scheduled_at",
            "updated_at",
        ],
    );
    // A participant leaves at `ended_at` (calls), else `finished_at` (chats), whichever is set.
    for p in items(doc, "participants") {
        n += set(p, &["connected_at"]);
        n += u64::from(is_set(p, "ended_at") || is_set(p, "finished_at"));
    }
    let per_item: [(&str, &[&str]); 10] = [
        ("queue_durations", &["started_at", "ended_at"]),
        ("transfers", &["created_at", "connected_at"]),
        ("handle_durations", &["started_at", "ended_at"]),
        (
            "virtual_agent_handle_durations",
            &["started_at", "ended_at"],
        ),
        ("escalations", &["escalated_at"]),
        ("virtual_agent_deflected_escalations", &["escalated_at"]),
        ("consumer_handle_durations", &["started_at", "ended_at"]),
        ("consumer_in_menu_durations", &["started_at", "ended_at"]),
        ("consumer_event_durations", &["started_at", "ended_at"]),
        ("recordings", &["started_at", "ended_at"]),
    ];
    for (array, keys) in per_item {
        n += items(doc, array).iter().map(|v| set(v, keys)).sum::<u64>();
    }
    n
}

/// `word` (lower case) is a whole word of `text` (lower case): `app` is a word of
/// `messaging inbound (app chat)`, not of `messaging (whatsapp)`.
pub fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// Whether the default identifiers find a value: `email`, else `end_user.identifier` when
/// it is an e-mail address; `phone_number` of the first `end_user` participant in E.164.
pub(crate) fn has_identifier(doc: &V) -> bool {
    let email = text_of(doc, "email")
        .into_iter()
        .chain(doc.get("end_user").and_then(|u| text_of(u, "identifier")))
        .any(is_email);
    let phone = items(doc, "participants")
        .iter()
        .find(|p| text_of(p, "type") == Some("end_user"))
        .and_then(|p| text_of(p, "phone_number"))
        .is_some_and(is_e164);
    email || phone
}

/// `local@domain.tld` without spaces.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let dot = domain.rfind('.');
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && dot.is_some_and(|at| at > 0 && at + 1 < domain.len())
}

/// `+` and 7–15 digits.
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}
