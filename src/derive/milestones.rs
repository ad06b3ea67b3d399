//! A session as a timeline: one [`Milestone`] per lifecycle moment with a timestamp.
//!
//! Milestone names are Google's (`ccaas-observability` → `metadata_logging`), so the table can
//! be compared with, or replace, the log records that code produces. Differences are deliberate
//! and listed in the README: chat participants leave at `finished_at`, and virtual-agent
//! escalations (`escalations[]`) are moments too.

use crate::normalize::{text, EscalationKind, Instant, SegmentKind, Session};
use crate::vocab::SessionKind;

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
    let mut out = Vec::with_capacity(16 + 2 * (s.participants.len() + s.segments.len()));
    let mut push = |name: &'static str,
                    at: Option<Instant>,
                    entity_type: &'static str,
                    entity_id: Option<i64>,
                    participant_type: Option<&'a str>,
                    agent_id: Option<i64>| {
        if let Some(at) = at {
            out.push(Milestone {
                name,
                at,
                seq: 0,
                entity_type,
                entity_id,
                participant_type,
                agent_id,
            });
        }
    };

    let session_moments = match s.kind {
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
    };
    let session_times = [
        Some(s.created_at),
        s.queued_at,
        s.assigned_at,
        s.connected_at,
        s.ends_at,
        s.scheduled_at,
        s.updated_at,
    ];
    for (name, at) in session_moments.into_iter().zip(session_times) {
        push(name, at, "session", Some(s.id), None, None);
    }

    for p in &s.participants {
        let kind = text(&p.raw.participant_type);
        let agent = p.raw.user_id;
        push(
            "participant_connected",
            p.connected_at,
            "participant",
            p.raw.id,
            kind,
            agent,
        );
        push(
            "participant_left",
            p.left_at,
            "participant",
            p.raw.id,
            kind,
            agent,
        );
    }

    for g in &s.segments {
        let (started, ended, entity) = match g.segment_kind {
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
            Some(SegmentKind::ConsumerEvent) if g.event_type == Some("csat") => (
                "csat_session_started",
                "csat_session_completed",
                "consumer_event",
            ),
            Some(SegmentKind::ConsumerEvent) | None => (
                "consumer_event_started",
                "consumer_event_completed",
                "consumer_event",
            ),
        };
        push(
            started,
            g.started_at,
            entity,
            g.segment_id,
            None,
            g.agent_id,
        );
        push(ended, g.ended_at, entity, g.segment_id, None, g.agent_id);
    }

    for t in &s.transfers {
        push(
            "session_transfer_started",
            t.created_at,
            "transfer",
            t.raw.id,
            None,
            None,
        );
        push(
            "session_transfer_connected",
            t.connected_at,
            "transfer",
            t.raw.id,
            None,
            None,
        );
    }

    for e in &s.escalations {
        let name = match e.escalation_kind {
            EscalationKind::VaDeflected => "virtual_agent_escalation_deflected",
            EscalationKind::Escalation => "virtual_agent_escalated",
        };
        let agent = e.to_agent.and_then(|a| a.id);
        push(name, e.escalated_at, "escalation", e.record_id, None, agent);
    }

    for r in &s.recordings {
        push(
            "recording_started",
            r.started_at,
            "recording",
            r.raw.id,
            None,
            None,
        );
        push(
            "recording_completed",
            r.ended_at,
            "recording",
            r.raw.id,
            None,
            None,
        );
    }

    // A stable sort keeps derivation order for moments at the same instant.
    out.sort_by_key(|m| m.at.micros);
    for (seq, m) in out.iter_mut().enumerate() {
        m.seq = u32::try_from(seq).unwrap_or(u32::MAX);
    }
    out
}
