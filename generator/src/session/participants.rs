//! The `participants` array: the end user, virtual agents, one agent per leg, task virtual
//! agents, and the survey agent some re-exports add.

use super::identity::conversation_id;
use super::layout::{Layout, Leg, VaTalk};
use super::status::GenStatus;
use super::tenant::SURVEY_VA;
use super::Info;
use crate::json::{obj, opt_ts, s, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// The agent's site.
fn location(offset: i32, lang: &'static str) -> V {
    // 2025-10-17T15:32:47Z, the day the tenant's location was set up.
    let at = 1_760_715_167;
    obj! {
        "created_at" => V::Local(at, offset),
        "id" => V::Int(2),
        "lang" => s(lang),
        "location" => s("en-US"),
        "pop_settings" => obj! {
            "twilio" => V::Arr(vec![]),
            "nexmo" => V::Arr(vec![]),
            "telnyx" => V::Arr(vec![]),
        },
        "updated_at" => V::Local(at, offset),
    }
}

/// The agent's team, for some agents.
fn teams(rng: &mut Rng) -> V {
    if rng.chance(0.3) {
        let id = rng.range(1, 6);
        V::Arr(vec![
            obj! { "id" => V::Int(id), "name" => string(format!("Tier {id}")) },
        ])
    } else {
        V::Arr(vec![])
    }
}

/// The parameters a virtual agent escalates with (`virtual_agent_params`).
fn va_params(l: &Layout, ani: Option<&str>, dnis: Option<&str>) -> V {
    obj! {
        "payload_menu_id" => string(l.menu.id.to_string()),
        "payload_escalation_reason" => s("by_virtual_agent"),
        "payload_action" => s("escalation"),
        "payload_type" => s("action"),
        "call_id" => V::Int(l.id),
        "ani" => ani.map_or(V::Null, |a| string(a.to_owned())),
        "dnis" => dnis.map_or(V::Null, |d| string(d.to_owned())),
        "queue_id" => V::Int(l.menu.id),
        "lang" => s(l.lang),
        "application" => s("ccaip-example-prod"),
        "escalation_type" => s("custom_payload"),
        "tenant" => s("ccaip-example-prod"),
        "concat" => s("_"),
    }
}

/// A call's `participants`: the end user, the virtual agent, one agent per leg, the task
/// virtual agent. `sip` holds the call's SIP headers, `dnis` the number the caller dialled.
pub(super) fn call_participants(
    rng: &mut Rng,
    l: &Layout,
    sip: Option<&V>,
    dnis: Option<&str>,
) -> V {
    let mut out = vec![call_end_user(l, sip)];
    if let Some(va) = &l.va {
        out.push(call_virtual_agent(rng, l, va, false, sip, dnis));
    }
    for leg in &l.legs {
        out.push(call_agent(rng, l, leg, sip));
    }
    if let Some(task) = &l.task_va {
        out.push(call_virtual_agent(rng, l, task, true, sip, dnis));
    }
    V::Arr(out)
}

/// The call's SIP headers on a participant that carries them (`on`), else `null`.
fn sip_or_null(sip: Option<&V>, on: bool) -> V {
    sip.filter(|_| on).cloned().unwrap_or(V::Null)
}

/// The end user of a call: still waiting when the call is scheduled.
fn call_end_user(l: &Layout, sip: Option<&V>) -> V {
    let waiting = l.status == GenStatus::Scheduled;
    let (eu_status, eu_fail) = match (l.status, l.fail) {
        (GenStatus::Failed, Some((reason, _))) => ("failed", reason),
        _ if waiting => ("waiting", "nothing"),
        _ => ("finished", "nothing"),
    };
    let eu_duration = match (l.end_user_connected, l.end_user_left) {
        (Some(a), Some(b)) => V::Int(b - a),
        _ => V::Null,
    };
    obj! {
        "id" => V::Int(l.id * 100 + 1),
        "type" => s("end_user"),
        "entry_type" => s("queue_or_transfer"),
        "user_id" => V::Null,
        "end_user_id" => V::Int(l.end_user_id),
        "virtual_agent_id" => V::Null,
        "status" => s(eu_status),
        "fail_reason" => s(eu_fail),
        "connected_at" => opt_ts(l.end_user_connected, l.offset),
        "phone_number" => l.end_user_phone.clone().map_or(V::Null, string),
        "sip_headers" => sip_or_null(sip, true),
        "call_id" => V::Int(l.id),
        "call_duration" => eu_duration,
        "hold_duration" => if l.legs.iter().any(|leg| leg.hold > 0) { V::Int(l.legs.iter().map(|leg| leg.hold).sum()) } else { V::Null },
        "ended_at" => opt_ts(l.end_user_left, l.offset),
        "agent_assist" => V::Null,
        "virtual_agent" => V::Null,
        "adapter_fail_code" => V::Null,
        "adapter_fail_message" => V::Null,
    }
}

/// A virtual agent on a call; a `task` one has no escalation parameters.
fn call_virtual_agent(
    rng: &mut Rng,
    l: &Layout,
    va: &VaTalk,
    task: bool,
    sip: Option<&V>,
    dnis: Option<&str>,
) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut pairs = vec![
        ("id", V::Int(va.participant_id)),
        (
            "type",
            s(if task {
                "task_virtual_agent"
            } else {
                "virtual_agent"
            }),
        ),
        ("entry_type", s("queue_or_transfer")),
        ("user_id", V::Null),
        ("end_user_id", V::Null),
        ("virtual_agent_id", V::Int(va.va.0)),
    ];
    if !task {
        pairs.push((
            "virtual_agent_params",
            va_params(l, l.end_user_phone.as_deref(), dnis),
        ));
    }
    pairs.extend([
        ("status", s("finished")),
        ("fail_reason", s("nothing")),
        ("connected_at", ts(va.start)),
        ("sip_headers", sip_or_null(sip, true)),
        ("call_id", V::Int(l.id)),
        ("call_duration", V::Int(va.end - va.start)),
        ("hold_duration", V::Null),
        ("ended_at", ts(va.end)),
        ("agent_assist", V::Null),
        (
            "virtual_agent",
            obj! { "conversation_id" => string(conversation_id(rng)) },
        ),
        ("adapter_fail_code", V::Null),
        ("adapter_fail_message", V::Null),
    ]);
    V::Obj(pairs)
}

/// The agent of one leg of a call.
fn call_agent(rng: &mut Rng, l: &Layout, leg: &Leg, sip: Option<&V>) -> V {
    let ts = |t| V::Local(t, l.offset);
    let (first, last) = (leg.agent.first().0, leg.agent.last().0);
    obj! {
        "id" => V::Int(leg.participant_id),
        "type" => s("agent"),
        "entry_type" => s("queue_or_transfer"),
        "user_id" => V::Int(leg.agent.id()),
        "end_user_id" => V::Null,
        "virtual_agent_id" => V::Null,
        "status" => s("finished"),
        "fail_reason" => s("nothing"),
        "connected_at" => ts(leg.start),
        "sip_headers" => sip_or_null(sip, leg.sip),
        "location" => location(l.offset, l.lang),
        "location_id" => V::Int(2),
        "email" => string(leg.agent.email()),
        "first_name" => s(first),
        "last_name" => s(last),
        "middle_name" => V::Null,
        "teams" => teams(rng),
        "call_id" => V::Int(l.id),
        "call_duration" => V::Int(leg.end - leg.start),
        "hold_duration" => if leg.hold > 0 { V::Int(leg.hold) } else { V::Null },
        "ended_at" => ts(leg.end),
        "agent_assist" => V::Null,
        "virtual_agent" => V::Null,
        "adapter_fail_code" => V::Null,
        "adapter_fail_message" => V::Null,
    }
}

/// A chat participant's `agent_assist` settings.
fn agent_assist() -> V {
    obj! { "spelling_and_grammar_check" => V::Obj(vec![]) }
}

/// A chat's `participants`: the end user, the virtual agent, one agent per leg, the task
/// virtual agent.
pub(super) fn chat_participants(rng: &mut Rng, l: &Layout) -> V {
    let mut out = vec![chat_end_user(l)];
    if let Some(va) = &l.va {
        out.push(chat_virtual_agent(rng, l, va, false));
    }
    for leg in &l.legs {
        out.push(chat_agent(l, leg));
    }
    if let Some(task) = &l.task_va {
        out.push(chat_virtual_agent(rng, l, task, true));
    }
    V::Arr(out)
}

/// The end user of a chat.
fn chat_end_user(l: &Layout) -> V {
    let (eu_status, eu_fail) = match (l.status, l.fail) {
        (GenStatus::Failed, Some((reason, _))) => ("failed", reason),
        _ => ("finished", "nothing"),
    };
    obj! {
        "id" => V::Int(l.id * 100 + 1),
        "type" => s("end_user"),
        "entry_type" => s("queue_or_transfer"),
        "user_id" => V::Null,
        "end_user_id" => V::Int(l.end_user_id),
        "virtual_agent_id" => V::Null,
        "status" => s(eu_status),
        "fail_reason" => s(eu_fail),
        "connected_at" => opt_ts(l.end_user_connected, l.offset),
        "phone_number" => l.end_user_phone.clone().map_or(V::Null, string),
        "sip_headers" => V::Null,
        "chat_id" => V::Int(l.id),
        "finished_at" => opt_ts(l.end_user_left, l.offset),
        "chat_duration" => match (l.end_user_connected, l.end_user_left) {
            (Some(a), Some(b)) => V::Int(b - a),
            _ => V::Null,
        },
        "virtual_agent" => V::Null,
        "agent_assist" => agent_assist(),
    }
}

/// A virtual agent in a chat.
fn chat_virtual_agent(rng: &mut Rng, l: &Layout, va: &VaTalk, task: bool) -> V {
    let ts = |t| V::Local(t, l.offset);
    obj! {
        "id" => V::Int(va.participant_id),
        "type" => s(if task { "task_virtual_agent" } else { "virtual_agent" }),
        "entry_type" => s("queue_or_transfer"),
        "user_id" => V::Null,
        "end_user_id" => V::Null,
        "virtual_agent_id" => V::Int(va.va.0),
        "status" => s("finished"),
        "fail_reason" => s("nothing"),
        "connected_at" => ts(va.start),
        "sip_headers" => V::Null,
        "chat_id" => V::Int(l.id),
        "finished_at" => ts(va.end),
        "chat_duration" => V::Int(va.end - va.start),
        "virtual_agent" => obj! { "conversation_id" => string(conversation_id(rng)) },
        "agent_assist" => V::Null,
    }
}

/// The agent of one leg of a chat.
fn chat_agent(l: &Layout, leg: &Leg) -> V {
    let ts = |t| V::Local(t, l.offset);
    let (first, last) = (leg.agent.first().0, leg.agent.last().0);
    obj! {
        "id" => V::Int(leg.participant_id),
        "type" => s("agent"),
        "entry_type" => s("queue_or_transfer"),
        "user_id" => V::Int(leg.agent.id()),
        "end_user_id" => V::Null,
        "virtual_agent_id" => V::Null,
        "status" => s("finished"),
        "fail_reason" => s("nothing"),
        "connected_at" => ts(leg.start),
        "sip_headers" => V::Null,
        "location" => if leg.sip { location(l.offset, l.lang) } else { V::Null },
        "location_id" => if leg.sip { V::Int(2) } else { V::Null },
        "email" => string(leg.agent.email()),
        "first_name" => s(first),
        "last_name" => s(last),
        "middle_name" => V::Null,
        "teams" => V::Arr(vec![]),
        "chat_id" => V::Int(l.id),
        "finished_at" => ts(leg.end),
        "chat_duration" => V::Int(leg.end - leg.start),
        "virtual_agent" => V::Null,
        "agent_assist" => agent_assist(),
    }
}

/// The post-session survey agent added by some re-exports (after `ends_at`, before the new
/// `updated_at`).
pub(super) fn survey_participant(rng: &mut Rng, info: &Info, ends: i64, existing: usize) -> V {
    let ts = |t| V::Local(t, info.offset);
    let start = ends + 2;
    let end = start + rng.range(20, 240);
    let id = info.id * 100 + 1 + existing as i64;
    let conversation = obj! { "conversation_id" => string(conversation_id(rng)) };
    match info.kind {
        SessionKind::Call => obj! {
            "id" => V::Int(id),
            "type" => s("task_virtual_agent"),
            "entry_type" => s("queue_or_transfer"),
            "user_id" => V::Null,
            "end_user_id" => V::Null,
            "virtual_agent_id" => V::Int(SURVEY_VA.0),
            "status" => s("finished"),
            "fail_reason" => s("nothing"),
            "connected_at" => ts(start),
            "sip_headers" => V::Null,
            "call_id" => V::Int(info.id),
            "call_duration" => V::Int(end - start),
            "hold_duration" => V::Null,
            "ended_at" => ts(end),
            "agent_assist" => V::Null,
            "virtual_agent" => conversation,
            "adapter_fail_code" => V::Null,
            "adapter_fail_message" => V::Null,
        },
        SessionKind::Chat => obj! {
            "id" => V::Int(id),
            "type" => s("task_virtual_agent"),
            "entry_type" => s("queue_or_transfer"),
            "user_id" => V::Null,
            "end_user_id" => V::Null,
            "virtual_agent_id" => V::Int(SURVEY_VA.0),
            "status" => s("finished"),
            "fail_reason" => s("nothing"),
            "connected_at" => ts(start),
            "sip_headers" => V::Null,
            "chat_id" => V::Int(info.id),
            "finished_at" => ts(end),
            "chat_duration" => V::Int(end - start),
            "virtual_agent" => conversation,
            "agent_assist" => V::Null,
        },
    }
}
