//! A session as a timeline: one [`Milestone`] per lifecycle moment with a timestamp.
//!
//! Milestone names are Google's (`ccaas-observability` → `metadata_logging`), so the table can
//! be compared with, or replace, the log records that code produces. Differences are deliberate
//! and listed in the README: chat participants leave at `finished_at`, and virtual-agent
//! escalations (`escalations[]`) are moments too.

use crate::normalize::{text, EscalationKind, Instant, SegmentKind, Session};
use crate::shared::vocab::SessionKind;

/// One moment in a session's life.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone<'a> {
    /// Google's name for the moment: `call_created`, `participant_left`...
    pub name: &'static str,
    /// When it happened.
    pub at: Instant,
    /// Position in the session's timeline (0-based, by time; ties keep derivation order).
    pub seq: u32,
    /// What the moment concerns: `session`, `participant`, `queue_entry`, `transfer`...
    pub entity_type: &'static str,
    /// The id of that entity (the session id for session moments).
    pub entity_id: Option<i64>,
    /// The participant's type, for participant moments.
    pub participant_type: Option<&'a str>,
    /// The agent concerned: handle and answering-queue agent, agent participant's user id.
    pub agent_id: Option<i64>,
}

/// Every milestone of `s`, in timeline order.
pub fn milestones<'a>(s: &Session<'a>) -> Vec<Milestone<'a>> {
    let mut line = Timeline {
        out: Vec::with_capacity(16 + 2 * (s.participants.len() + s.segments.len())),
    };
    let session = About::of("session", Some(s.id));
    for (name, at) in session_names(s.kind).into_iter().zip([
        Some(s.created_at),
        s.queued_at,
        s.assigned_at,
        s.connected_at,
        s.ends_at,
        s.scheduled_at,
        s.updated_at,
    ]) {
        line.moment(name, at, session);
    }
    for p in &s.participants {
        let who = About {
            participant_type: text(&p.raw.participant_type),
            agent_id: p.raw.user_id,
            ..About::of("participant", p.raw.id)
        };
        line.moment("participant_connected", p.connected_at, who);
        line.moment("participant_left", p.left_at, who);
    }
    for g in &s.segments {
        let (started, ended, entity) = segment_names(g.segment_kind, g.event_type);
        let what = About {
            agent_id: g.agent_id,
            ..About::of(entity, g.segment_id)
        };
        line.moment(started, g.started_at, what);
        line.moment(ended, g.ended_at, what);
    }
    for t in &s.transfers {
        let what = About::of("transfer", t.raw.id);
        line.moment("session_transfer_started", t.created_at, what);
        line.moment("session_transfer_connected", t.connected_at, what);
    }
    for e in &s.escalations {
        let name = match e.escalation_kind {
            EscalationKind::VaDeflected => "virtual_agent_escalation_deflected",
            EscalationKind::Escalation => "virtual_agent_escalated",
        };
        let what = About {
            agent_id: e.to_agent.and_then(|a| a.id),
            ..About::of("escalation", e.record_id)
        };
        line.moment(name, e.escalated_at, what);
    }
    for r in &s.recordings {
        let what = About::of("recording", r.raw.id);
        line.moment("recording_started", r.started_at, what);
        line.moment("recording_completed", r.ended_at, what);
    }
    line.in_time_order()
}

/// What a moment concerns.
#[derive(Debug, Clone, Copy)]
struct About<'a> {
    entity_type: &'static str,
    entity_id: Option<i64>,
    participant_type: Option<&'a str>,
    agent_id: Option<i64>,
}

impl About<'_> {
    fn of(entity_type: &'static str, entity_id: Option<i64>) -> Self {
        About {
            entity_type,
            entity_id,
            participant_type: None,
            agent_id: None,
        }
    }
}

/// The moments of one session, in derivation order until [`Timeline::in_time_order`].
struct Timeline<'a> {
    out: Vec<Milestone<'a>>,
}

impl<'a> Timeline<'a> {
    /// Adds a moment when it has a time.
    fn moment(&mut self, name: &'static str, at: Option<Instant>, about: About<'a>) {
        if let Some(at) = at {
            self.out.push(Milestone {
                name,
                at,
                seq: 0,
                entity_type: about.entity_type,
                entity_id: about.entity_id,
                participant_type: about.participant_type,
                agent_id: about.agent_id,
            });
        }
    }

    /// The moments by time, numbered.
    fn in_time_order(mut self) -> Vec<Milestone<'a>> {
        // A stable sort keeps derivation order for moments at the same instant.
        self.out.sort_by_key(|m| m.at.micros);
        for (seq, m) in self.out.iter_mut().enumerate() {
            m.seq = u32::try_from(seq).unwrap_or(u32::MAX);
        }
        self.out
    }
}

/// Google's names of the session's own moments: created, queued, assigned, connected, ended,
/// scheduled, updated.
fn session_names(kind: SessionKind) -> [&'static str; 7] {
    match kind {
        SessionKind::Call => [
            "call_created",
            "call_queued",
            "call_assigned",
            "call_connected",
            "call_ended",
            "call_scheduled",
            "call_updated",
        ],
        SessionKind::Chat => [
            "chat_created",
            "chat_queued",
            "chat_assigned",
            "chat_connected",
            "chat_ended",
            "chat_scheduled",
            "chat_updated",
        ],
    }
}

/// The start and end names of a segment's moments, and the entity they concern.
fn segment_names(
    kind: Option<SegmentKind>,
    event_type: Option<&str>,
) -> (&'static str, &'static str, &'static str) {
    match kind {
        Some(SegmentKind::Queue) => (
            "queue_entry_started",
            "queue_entry_completed",
            "queue_entry",
        ),
        Some(SegmentKind::AgentHandle) => (
            "agent_handle_started",
            "agent_handle_completed",
            "agent_handle",
        ),
        Some(SegmentKind::VirtualAgent) => (
            "virtual_agent_session_started",
            "virtual_agent_session_ended",
            "virtual_agent_session",
        ),
        Some(SegmentKind::ConsumerHandle) => (
            "consumer_handle_started",
            "consumer_handle_ended",
            "consumer_handle",
        ),
        Some(SegmentKind::ConsumerInMenu) => (
            "consumer_in_menu_started",
            "consumer_in_menu_ended",
            "consumer_in_menu",
        ),
        Some(SegmentKind::ConsumerEvent) if event_type == Some("csat") => (
            "csat_session_started",
            "csat_session_completed",
            "consumer_event",
        ),
        Some(SegmentKind::ConsumerEvent) | None => (
            "consumer_event_started",
            "consumer_event_completed",
            "consumer_event",
        ),
    }
}
