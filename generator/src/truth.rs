//! The expected results (`truth.json`) and what one winning export adds to them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::derived::{events_of, has_identifier, milestones_of, EVENT_CODES, EVENT_RULES, RULES};
use crate::json::V;
use crate::session::GenStatus;
use crate::SessionKind;

/// The expected outcome of running the pipeline on `<out>/sessions/`, written to
/// `<out>/truth.json`. Counts of sessions and rows are over the winning (newest) export of
/// each session only.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Truth {
    /// The seed the corpus was generated with.
    pub seed: u64,
    /// The corpus folder, relative to the output folder (`sessions`).
    pub corpus: String,
    /// Session files: every `*.json` and `*.json.gz` under the corpus folder.
    pub files_seen: u64,
    /// Other files under the corpus folder (`call-<id>.mp3`, `chat-<id>.txt`).
    pub files_ignored: u64,
    /// Session files written gzip-compressed.
    pub files_gzip: u64,
    /// Distinct sessions (= the `sessions` option): `calls + chats`.
    pub sessions: u64,
    /// Distinct calls.
    pub calls: u64,
    /// Distinct chats.
    pub chats: u64,
    /// Older exports that lose to a newer export of the same session.
    pub superseded: u64,
    /// Bad files: the sum of `rejects_by_kind`.
    pub rejected: u64,
    /// Bad files by the pipeline's `error_kind` (`truncated_json`...); kinds with no file are absent.
    pub rejects_by_kind: BTreeMap<String, u64>,
    /// Participant rows.
    pub participants: u64,
    /// Participant rows by `type` (`end_user`, `agent`, `virtual_agent`, `task_virtual_agent`).
    pub participants_by_type: BTreeMap<String, u64>,
    /// Sessions by canonical status name (numeric `8` / `"8"` count as `finished`).
    pub sessions_by_status: BTreeMap<String, u64>,
    /// Sum of `call_duration` / `chat_duration`, seconds.
    pub sum_duration_s: i64,
    /// Earliest `created_at`, UTC (`2026-02-01T00:03:12Z`); `None` without sessions.
    pub min_created_at: Option<String>,
    /// Latest `created_at`, UTC.
    pub max_created_at: Option<String>,
    /// Transfer rows.
    pub transfers: u64,
    /// Disposition rows.
    pub dispositions: u64,
    /// Expected rows per output table (`sessions`, `participants`, `segments`, `rejects`,
    /// and the derived `events` and `milestones`...).
    pub rows: BTreeMap<String, u64>,
    /// Expected `events` rows by event code: `agentTalk`, `messageAnalysis`, `selfService`,
    /// `automationTriggered` (every code present, 0 when none). Sums to `rows["events"]`.
    pub events_by_code: BTreeMap<String, u64>,
    /// Sessions with no identifier under the default `[exchange]` identifiers: no e-mail
    /// address in `email` or `end_user.identifier`, and no E.164 `phone_number` on the first
    /// `end_user` participant.
    pub sessions_without_identifiers: u64,
    /// Events of those sessions (`addressable = false`, left out of the request bodies).
    pub unaddressable_events: u64,
    /// Expected `events` rows by mapping rule, keyed `<code>:<eventId suffix>` with the entry id
    /// left out (`agentTalk:handle`, `automationTriggered:va-escalated`...): every rule of the
    /// README's table present, 0 when none. Sums to `rows["events"]`.
    pub events_by_rule: BTreeMap<String, u64>,
    /// Total size on disk of the session files (all `files_seen`), bytes.
    pub bytes: u64,
    /// Every bad file (path relative to the corpus folder, `/`-separated) → expected `error_kind`.
    pub bad_files: BTreeMap<String, String>,
    /// Every superseded file (relative path), sorted.
    pub superseded_files: Vec<String>,
}

/// The numbers one winning export contributes to the truth. Public so that a check which
/// counts a corpus another way (with the pipeline's parser) can sum its counts the same way.
#[derive(Debug)]
pub struct Facts {
    /// Call or chat.
    pub kind: SessionKind,
    /// Canonical status name.
    pub status: &'static str,
    /// `created_at`: UTC seconds here, microseconds in a check that reads the files back.
    pub created: i64,
    /// `call_duration` / `chat_duration`, seconds.
    pub duration: i64,
    /// Participants by `type`.
    pub participants_by_type: BTreeMap<String, u64>,
    /// Rows per table, `events` and `milestones` included.
    pub rows: BTreeMap<&'static str, u64>,
    /// Events by rule, in [`EVENT_RULES`] order.
    pub events: [u64; RULES],
    /// Whether the session has an identifier (its events are addressable).
    pub addressable: bool,
}

impl Truth {
    /// Adds one winning export to the counts.
    pub fn add_session(&mut self, facts: &Facts) {
        self.sessions += 1;
        match facts.kind {
            SessionKind::Call => self.calls += 1,
            SessionKind::Chat => self.chats += 1,
        }
        *self
            .sessions_by_status
            .entry(facts.status.to_owned())
            .or_default() += 1;
        self.sum_duration_s += facts.duration;
        for (kind, n) in &facts.participants_by_type {
            self.participants += n;
            *self.participants_by_type.entry(kind.clone()).or_default() += n;
        }
        for (table, n) in &facts.rows {
            *self.rows.entry((*table).to_owned()).or_default() += n;
        }
        self.transfers += facts.rows.get("transfers").copied().unwrap_or(0);
        self.dispositions += facts.rows.get("dispositions").copied().unwrap_or(0);
        for code in EVENT_CODES {
            self.events_by_code.entry(code.to_owned()).or_default();
        }
        for (rule, n) in EVENT_RULES.iter().zip(facts.events) {
            *self.events_by_code.entry(rule.code.to_owned()).or_default() += n;
            *self.events_by_rule.entry(rule.key()).or_default() += n;
        }
        if !facts.addressable {
            self.sessions_without_identifiers += 1;
            self.unaddressable_events += facts.events.iter().sum::<u64>();
        }
    }
}

/// Counts what the pipeline will derive from a winning export.
pub(crate) fn facts_of(doc: &V, kind: SessionKind, status: GenStatus, created: i64) -> Facts {
    let duration = match doc
        .get("call_duration")
        .or_else(|| doc.get("chat_duration"))
    {
        Some(V::Int(n)) => *n,
        Some(V::Str(text)) => text.parse().unwrap_or(0),
        _ => 0,
    };
    let mut participants_by_type = BTreeMap::new();
    let mut attributes = doc.get("custom_data_secured").map_or(0, V::entries)
        + doc.get("custom_data_not_secured").map_or(0, V::entries)
        + doc.get("sip_headers").map_or(0, V::entries);
    for p in doc.get("participants").map_or(&[][..], V::items) {
        let kind = p.get("type").and_then(V::as_str).unwrap_or("");
        *participants_by_type.entry(kind.to_owned()).or_default() += 1;
        attributes += p.get("sip_headers").map_or(0, V::entries)
            + p.get("virtual_agent_params").map_or(0, V::entries);
    }
    let redactions: usize = doc
        .get("recordings")
        .map_or(&[][..], V::items)
        .iter()
        .map(|r| r.len_of("redaction_times"))
        .sum();
    let segments = [
        "handle_durations",
        "queue_durations",
        "virtual_agent_handle_durations",
        "consumer_handle_durations",
        "consumer_event_durations",
        "consumer_in_menu_durations",
    ]
    .iter()
    .map(|k| doc.len_of(k))
    .sum::<usize>();
    let automation = doc
        .get("automation_redirection")
        .map_or(0, |a| a.len_of("redirection_group"));
    let rows: BTreeMap<&'static str, u64> = [
        ("sessions", 1),
        ("participants", doc.len_of("participants")),
        ("transfers", doc.len_of("transfers")),
        (
            "escalations",
            doc.len_of("escalations") + doc.len_of("virtual_agent_deflected_escalations"),
        ),
        ("deflections", doc.len_of("deflection_details")),
        ("segments", segments),
        ("dispositions", doc.len_of("dispositions")),
        ("recordings", doc.len_of("recordings")),
        ("redactions", redactions),
        ("offer_events", doc.len_of("offer_events")),
        ("media", doc.len_of("photos") + doc.len_of("videos")),
        ("attributes", attributes),
        ("automation_redirections", automation),
    ]
    .into_iter()
    .map(|(table, n)| (table, n as u64))
    .collect();
    let mut facts = Facts {
        kind,
        status: status.name(),
        created,
        duration,
        participants_by_type,
        rows,
        events: events_of(doc, status),
        addressable: has_identifier(doc),
    };
    facts.rows.insert("events", facts.events.iter().sum());
    facts.rows.insert("milestones", milestones_of(doc));
    facts
}
