//! The segment arrays (`*_durations`): queue waits, agent handling and wrap-up, virtual-agent
//! conversations, the end user's time, IVR menus and surveys.

use super::layout::Layout;
use super::tenant::{va_object, Menu};
use crate::json::{obj, opt_int, opt_ts, s, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// One queue wait per leg that had one, and the unanswered wait.
pub(super) fn queue_durations(l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut out = Vec::new();
    let mut entry = |n: i64,
                     agent: Option<i64>,
                     menu: &Menu,
                     q: (i64, i64),
                     event: &'static str,
                     transfer: Option<(i64, bool)>| {
        out.push(obj! {
            "id" => V::Int(l.id * 100 + 50 + n),
            "agent_id" => opt_int(agent),
            "ended_at" => ts(q.1),
            "lang" => s(l.lang),
            "menu_path_id" => V::Int(menu.path_id()),
            "menu_path" => s(menu.path),
            "queue_duration" => V::Int(q.1 - q.0),
            "started_at" => ts(q.0),
            "transfer_cold" => transfer.map_or(V::Null, |t| V::Bool(t.1)),
            "transfer" => V::Bool(transfer.is_some()),
            "transfer_id" => opt_int(transfer.map(|t| t.0)),
            "service_level_abandon_time_threshold" => V::Int(if l.kind == SessionKind::Chat { 10 } else { 8 }),
            "service_level_event" => s(event),
            "service_level_target_percent" => V::Int(90),
            "service_level_target_time" => V::Int(60),
        });
    };
    let mut n = 1;
    if let Some((start, end, event)) = l.unanswered_queue {
        entry(n, None, l.menu, (start, end), event, None);
        n += 1;
    }
    for leg in &l.legs {
        if let Some(q) = leg.queue {
            let event = if q.1 - q.0 <= 60 {
                "in_sla"
            } else {
                "out_of_sla"
            };
            entry(
                n,
                Some(leg.agent.id()),
                leg.menu,
                q,
                event,
                leg.transfer_in.map(|t| (t.0, t.2)),
            );
            n += 1;
        }
    }
    V::Arr(out)
}

/// The virtual agent's conversation.
pub(super) fn va_handle_durations(rng: &mut Rng, l: &Layout, duration_key: &'static str) -> V {
    let ts = |t| V::Local(t, l.offset);
    let Some(va) = &l.va else {
        return V::Arr(vec![]);
    };
    let responses = rng.range(1, 12);
    V::Arr(vec![obj! {
        "id" => V::Int(l.id * 100 + 61),
        "virtual_agent" => va_object(va.va),
        duration_key => V::Int(va.end - va.start),
        "escalation_reason" => va.escalation_reason.map_or(V::Null, s),
        "finish_reason" => s(va.finish_reason),
        "sentiment" => V::Int(rng.range(10, 95)),
        "response_count" => V::Int(responses),
        "fallback_response_count" => V::Int(rng.range(0, responses / 3)),
        "initiated_by" => s("end_user"),
        "menu_path_id" => V::Int(l.menu.path_id()),
        "menu_path" => s(l.menu.path),
        "lang" => s(l.lang),
        "transfer" => V::Bool(false),
        "transfer_id" => V::Null,
        "started_at" => ts(va.start),
        "ended_at" => ts(va.end),
    }])
}

/// The end user's survey after the session.
pub(super) fn consumer_event_durations(l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    match l.csat {
        Some((start, end)) => V::Arr(vec![obj! {
            "id" => V::Int(l.id * 100 + 67),
            "duration" => V::Int(end - start),
            "type" => s("csat"),
            "event" => s("finished"),
            "menu_path_id" => V::Int(l.menu.path_id()),
            "menu_path" => s(l.menu.path),
            "lang" => s(l.lang),
            "started_at" => ts(start),
            "ended_at" => ts(end),
        }]),
        None => V::Arr(vec![]),
    }
}

/// Per leg of a call: the talk segment, then the wrap-up segment when there is one.
pub(super) fn call_handle_durations(l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut out = Vec::new();
    let mut n = 31;
    for leg in &l.legs {
        let transfer = leg.transfer_in;
        let mut segment = |talk: bool, start: i64, end: i64, acw: i64| {
            out.push(obj! {
                "id" => V::Int(l.id * 100 + n),
                "agent_id" => V::Int(leg.agent.id()),
                "acw_duration" => V::Int(acw),
                "bcw_duration" => V::Int(0),
                "call_duration" => V::Int(if talk { end - start } else { 0 }),
                "menu_path_id" => V::Int(leg.menu.path_id()),
                "menu_path" => s(leg.menu.path),
                "lang" => s(l.lang),
                "barged" => V::Bool(false),
                "transfer" => V::Bool(transfer.is_some()),
                "transfer_id" => opt_int(transfer.map(|t| t.0)),
                "transfer_cold" => if talk { transfer.map_or(V::Null, |t| V::Bool(t.2)) } else { V::Null },
                "started_at" => ts(start),
                "ended_at" => ts(end),
                "scheduled_at" => opt_ts(l.scheduled_at, l.offset),
                "hold_duration" => if talk { V::Int(leg.hold) } else { V::Null },
                "assigned_connection_duration" => V::Int(if talk { leg.assigned_connection } else { 0 }),
            });
            n += 1;
        };
        segment(true, leg.start, leg.end, 0);
        if let Some(acw) = leg.acw {
            segment(false, leg.end, leg.end + acw, acw);
        }
    }
    V::Arr(out)
}

/// The caller's time on the call, with the total hold time.
pub(super) fn call_consumer_handle(l: &Layout, hold: i64) -> V {
    let ts = |t| V::Local(t, l.offset);
    match (l.end_user_connected, l.end_user_left) {
        (Some(start), Some(end)) => V::Arr(vec![obj! {
            "id" => V::Int(l.id * 100 + 66),
            "call_duration" => V::Int(end - start),
            "hold_duration" => V::Int(hold),
            "started_at" => ts(start),
            "ended_at" => ts(end),
        }]),
        _ => V::Arr(vec![]),
    }
}

/// The IVR menus the caller went through.
pub(super) fn in_menu_durations(l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    V::Arr(
        l.in_menu
            .iter()
            .enumerate()
            .map(|(i, (start, end, menu))| {
                obj! {
                    "id" => V::Int(l.id * 100 + 71 + i as i64),
                    "duration" => V::Int(end - start),
                    "event" => s("finished"),
                    "menu_path_id" => opt_int(menu.map(|m| m.path_id())),
                    "menu_path" => menu.map_or(V::Null, |m| s(m.path)),
                    "lang" => s(l.lang),
                    "started_at" => ts(*start),
                    "ended_at" => ts(*end),
                }
            })
            .collect(),
    )
}

/// Per leg of a chat: the talk segment with response times, then the wrap-up segment.
pub(super) fn chat_handle_durations(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut out = Vec::new();
    let mut n = 31;
    for leg in &l.legs {
        let transfer = leg.transfer_in.map(|t| t.0);
        let talk = leg.end - leg.start;
        let responses = rng.range(1, 40);
        let total = rng.range(responses, talk.max(responses));
        let avg_tenths = total * 10 / responses;
        let max = (total / responses + rng.range(0, 60)).min(total);
        let mut segment = |talk_seg: bool, start: i64, end: i64, acw: i64| {
            let (rc, rt, rm, ra) = if talk_seg {
                (
                    responses,
                    total,
                    max,
                    format!("{}.{}", avg_tenths / 10, avg_tenths % 10),
                )
            } else {
                (0, 0, 0, "0.0".to_owned())
            };
            out.push(obj! {
                "id" => V::Int(l.id * 100 + n),
                "agent_id" => V::Int(leg.agent.id()),
                "acw_duration" => V::Int(acw),
                "chat_duration" => V::Int(if talk_seg { end - start } else { 0 }),
                "menu_path_id" => V::Int(leg.menu.path_id()),
                "menu_path" => s(leg.menu.path),
                "lang" => s(l.lang),
                "transfer" => V::Bool(transfer.is_some()),
                "transfer_id" => opt_int(transfer),
                "started_at" => ts(start),
                "ended_at" => ts(end),
                "response_count" => V::Int(rc),
                "response_time_total" => V::Int(rt),
                "response_time_max" => V::Int(rm),
                "response_time_avg" => string(ra),
                "assigned_connection_duration" => V::Int(if talk_seg { leg.assigned_connection } else { 0 }),
            });
            n += 1;
        };
        segment(true, leg.start, leg.end, 0);
        if let Some(acw) = leg.acw {
            segment(false, leg.end, leg.end + acw, acw);
        }
    }
    V::Arr(out)
}

/// The end user's time in the chat, with message and response counts.
pub(super) fn chat_consumer_handle(rng: &mut Rng, l: &Layout, messages: i64) -> V {
    let ts = |t| V::Local(t, l.offset);
    match (l.end_user_connected, l.end_user_left) {
        (Some(start), Some(end)) => {
            let responses = (messages / 2).max(1);
            let total = rng.range(responses, (end - start).max(responses));
            V::Arr(vec![obj! {
                "id" => V::Int(l.id * 100 + 66),
                "chat_duration" => V::Int(end - start),
                "started_at" => ts(start),
                "ended_at" => ts(end),
                "message_count" => V::Int(messages),
                "response_count" => V::Int(responses),
                "response_time_total" => V::Int(total),
                "response_time_max" => V::Int(total.min(total / responses + rng.range(0, 90))),
                "response_time_avg" => V::Int(total / responses),
            }])
        }
        _ => V::Arr(vec![]),
    }
}
