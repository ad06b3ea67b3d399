//! How a session moved between queues and agents: transfers, escalations, deflections,
//! queue redirection groups and offer events.

use super::layout::Layout;
use super::status::GenStatus;
use super::tenant::{va_object, Menu, Route, CALL_MENUS, CHAT_MENUS};
use crate::json::{obj, s, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// Share of eligible inbound sessions whose queue has `automation_redirection` groups.
const REDIRECTED: f64 = 0.06;

/// When each queue wait offered the session to agent groups.
pub(super) fn offer_events(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut out = Vec::new();
    let mut queues: Vec<(i64, i64)> = l.legs.iter().filter_map(|leg| leg.queue).collect();
    if let Some((start, end, _)) = l.unanswered_queue {
        queues.push((start, end));
    }
    for (start, end) in queues {
        out.push(obj! { "casting_time" => ts(start + 1), "group" => s("Group 1") });
        if end - start > 45 && rng.chance(0.5) {
            out.push(obj! { "casting_time" => ts(start + 31), "group" => s("Group 2") });
        }
    }
    V::Arr(out)
}

/// One transfer per leg after the first, from the previous leg's agent and queue.
pub(super) fn transfers(l: &Layout, duration_key: &'static str) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut out = Vec::new();
    for pair in l.legs.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        let Some((id, created, _)) = to.transfer_in else {
            continue;
        };
        let assigned = to.queue.map_or(created, |q| q.1);
        let mut pairs = vec![
            ("id", V::Int(id)),
            ("status", s("transferred")),
            ("fail_reason", s("nothing")),
            ("created_at", ts(created)),
            ("assigned_at", ts(assigned)),
            ("connected_at", ts(to.start)),
            ("updated_at", ts(to.end)),
        ];
        pairs.push((duration_key, V::Int(to.end - to.start)));
        pairs.extend([
            ("wait_duration", V::Int(assigned - created)),
            (
                "deflection",
                s(to.transfer_deflection.unwrap_or("no_deflection")),
            ),
            ("answer_type_path", s("manual_to_manual")),
            ("from_menu_path", from.menu.path_object()),
            ("to_menu_path", to.menu.path_object()),
            ("from_agent", from.agent.object()),
            ("to_agent", to.agent.object()),
            ("from_virtual_agent", V::Null),
            ("to_virtual_agent", V::Null),
            ("from_queue_priority_level", V::Int(0)),
            ("to_queue_priority_level", V::Int(0)),
        ]);
        out.push(V::Obj(pairs));
    }
    V::Arr(out)
}

/// The virtual agent's hand-over that a deflection redirected (some deflected sessions).
pub(super) fn va_deflected_escalations(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    match (&l.va, l.deflection) {
        (Some(va), Some(deflection)) if rng.chance(0.6) => V::Arr(vec![obj! {
            "id" => V::Int(l.id * 100 + 86),
            "deflection" => s(deflection),
            "escalation_id" => V::Int(l.id * 100 + 22),
            "escalation_reason" => s("unknown"),
            "escalated_at" => ts(va.end),
            "menu_path_id" => V::Int(l.menu.path_id()),
            "menu_path" => s(l.menu.path),
            "lang" => s(l.lang),
            "virtual_agent" => va_object(va.va),
        }]),
        _ => V::Arr(vec![]),
    }
}

/// `automation_redirection`: the percentage-based redirection groups of the queue, on a few
/// inbound sessions (not on the largest calls, to keep their size realistic).
pub(super) fn automation_redirection(rng: &mut Rng, l: &Layout) -> Option<V> {
    let eligible = matches!(l.route, Route::Ivr | Route::Inbound)
        && l.status != GenStatus::Scheduled
        && l.legs.len() < 3;
    if !eligible || !rng.chance(REDIRECTED) {
        return None;
    }
    let queues: &[Menu] = match l.kind {
        SessionKind::Call => &CALL_MENUS,
        SessionKind::Chat => &CHAT_MENUS,
    };
    let destination = |menu: &Menu, lang: &'static str| {
        obj! {
            "type" => s("Queue"),
            "queue_id" => V::Int(menu.id),
            "lang" => s(lang),
        }
    };
    let groups = rng.weighted(&[(1usize, 70), (2, 25), (3, 5)]);
    let items = (1..=groups)
        .map(|g| {
            let after_hours = rng.chance(0.25);
            let to = destination(rng.pick_ref(queues), l.lang);
            obj! {
                "group_label" => string(format!("Redirection Group {g}")),
                "destination" => to,
                "after_hours" => V::Bool(after_hours),
                "ah_destination" => if after_hours { destination(rng.pick_ref(queues), "en") } else { V::Null },
            }
        })
        .collect();
    Some(obj! {
        "percent_redirection" => V::Bool(rng.chance(0.7)),
        "redirection_group" => V::Arr(items),
    })
}

/// The virtual agent's hand-over to the first agent.
pub(super) fn escalations(l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    match (&l.va, l.legs.first()) {
        (Some(va), Some(leg)) => {
            let escalated = leg.queue.map_or(va.end, |q| q.1);
            V::Arr(vec![obj! {
                "id" => V::Int(l.id * 100 + 21),
                "status" => s("escalated"),
                "reason" => s("by_virtual_agent"),
                "created_at" => ts(va.end),
                "escalated_at" => ts(escalated),
                "from_virtual_agent" => va_object(va.va),
                "to_agent" => leg.agent.object(),
                "from_menu_path" => l.menu.path_object(),
                "to_menu_path" => leg.menu.path_object(),
            }])
        }
        _ => V::Arr(vec![]),
    }
}

/// The session's deflection and each deflected transfer, with the queue it came from.
pub(super) fn deflection_details(l: &Layout) -> V {
    let mut out = Vec::new();
    if l.deflection.is_some() {
        out.push(obj! {
            "id" => V::Int(l.id * 100 + 85),
            "call_id" => V::Int(l.id),
            "transfer_id" => V::Null,
            "from_menu_path" => l.menu.path_object(),
        });
    }
    // One per deflected transfer, from the queue the transfer was aimed at.
    for (k, leg) in l.legs.iter().enumerate() {
        if let (Some(_), Some((transfer_id, _, _))) = (leg.transfer_deflection, leg.transfer_in) {
            out.push(obj! {
                "id" => V::Int(l.id * 100 + 87 + k as i64),
                "call_id" => V::Int(l.id),
                "transfer_id" => V::Int(transfer_id),
                "from_menu_path" => leg.menu.path_object(),
            });
        }
    }
    V::Arr(out)
}
