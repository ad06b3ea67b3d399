//! One synthetic session document, call or chat, shaped key for key like the real exports in
//! `fixtures/real/` (call-1418 for calls, chat-135 for chats).
//!
//! A session is first laid out on a timeline (menu, virtual agent, queue, agent legs joined
//! by transfers, wrap-up, survey), then written as JSON in the platform's key order, so every
//! timestamp is coherent: `created_at ≤ queued_at < assigned_at < ends_at < updated_at`, and
//! segments nest inside the session. Nested ids are `session_id * 100 + n` (the fixtures'
//! convention), unique within a session and stable across its re-exports.

mod attributes;
mod call;
mod chat;
mod dispositions;
mod identity;
mod layout;
mod media;
mod participants;
mod reexport;
mod routing;
mod segments;
mod status;
mod tenant;

pub(crate) use reexport::reexport;
pub(crate) use status::GenStatus;

use crate::json::{string, V};
use crate::rng::Rng;
use crate::SessionKind;
use call::write_call;
use chat::write_chat;
use dispositions::list_for;
use layout::{lay_out, Layout};
use tenant::va_object;

/// What a re-export needs to know about the first export.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    pub(crate) kind: SessionKind,
    pub(crate) id: i64,
    pub(crate) offset: i32,
    pub(crate) ends_at: Option<i64>,
    pub(crate) updated_at: i64,
    /// Agent legs: `(participant id, agent, transfer id that started the leg)`.
    legs: Vec<(i64, usize, Option<i64>)>,
    list: (i64, &'static str),
}

/// A generated document and what a re-export needs to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    /// The document.
    pub(crate) doc: V,
    /// Facts about it.
    pub(crate) info: Info,
}

/// Builds a session. `status` must suit `kind` (see [`GenStatus::draw`]).
pub(crate) fn build(
    rng: &mut Rng,
    kind: SessionKind,
    id: i64,
    created: i64,
    offset: i32,
    status: GenStatus,
) -> Built {
    let layout = lay_out(rng, kind, id, created, offset, status);
    let doc = match kind {
        SessionKind::Call => write_call(rng, &layout),
        SessionKind::Chat => write_chat(rng, &layout),
    };
    let info = Info {
        kind,
        id,
        offset,
        ends_at: layout.ends_at,
        updated_at: layout.updated_at,
        legs: layout
            .legs
            .iter()
            .map(|l| (l.participant_id, l.agent.index, l.transfer_in.map(|t| t.0)))
            .collect(),
        list: list_for(&layout),
    };
    Built { doc, info }
}

/// `agent_info`: the last agent, else the virtual agent; absent when neither joined.
fn agent_info(l: &Layout) -> Option<V> {
    if let Some(leg) = l.legs.last() {
        Some(leg.agent.object())
    } else {
        l.va.as_ref().map(|va| va_object(va.va))
    }
}

/// The duration written at the top level: a few exports carry it as a numeric string.
fn duration_value(rng: &mut Rng, seconds: i64) -> V {
    if rng.chance(0.02) {
        string(seconds.to_string())
    } else {
        V::Int(seconds)
    }
}

/// Removes every key that tells calls from chats (`*_type`, `session_type*`, `*_uuid`).
pub(crate) fn strip_kind_keys(doc: &mut V) {
    for key in [
        "call_type",
        "chat_type",
        "session_type",
        "session_type_v2",
        "call_uuid",
        "chat_uuid",
    ] {
        doc.remove(key);
    }
}
