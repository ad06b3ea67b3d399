//! Wrap-up codes: the `dispositions` array and the list each kind of session draws from.

use super::layout::Layout;
use super::tenant::{Agent, Route, DISPOSITION_CODES, DISPOSITION_NOTES};
use crate::json::{opt_int, s, V};
use crate::rng::Rng;
use crate::SessionKind;

/// The disposition list `(id, name)` agents pick codes from: chats, outbound calls, the rest.
pub(super) fn list_for(l: &Layout) -> (i64, &'static str) {
    match (l.kind, l.route) {
        (SessionKind::Chat, _) => (2, "Chat dispositions"),
        (_, Route::Outbound) => (3, "Outbound dispositions"),
        _ => (1, "Inbound IVR dispositions"),
    }
}

/// One wrap-up code an agent set, on the leg's participant.
pub(super) fn disposition(
    rng: &mut Rng,
    participant_id: i64,
    agent: Agent,
    transfer_id: Option<i64>,
    list: (i64, &'static str),
) -> V {
    let (code_id, code) = rng.pick(&DISPOSITION_CODES);
    let mut pairs = vec![
        ("user_id", V::Int(agent.id())),
        ("transfer_id", opt_int(transfer_id)),
        ("participant_id", V::Int(participant_id)),
    ];
    if rng.chance(0.5) {
        pairs.push(("note", s(rng.pick(&DISPOSITION_NOTES))));
    }
    pairs.extend([
        ("code", s(code)),
        ("ujet_code_id", V::Int(code_id)),
        ("list", s(list.1)),
        ("list_path", s(list.1)),
        ("ujet_list_id", V::Int(list.0)),
        ("custom_list_id", s("")),
        ("custom_code_id", s("")),
    ]);
    V::Obj(pairs)
}

/// Codes for some of the legs, at most two (a re-export may add a third).
pub(super) fn dispositions(rng: &mut Rng, l: &Layout) -> V {
    let list = list_for(l);
    let mut out = Vec::new();
    for leg in &l.legs {
        if out.len() < 2 && rng.chance(0.55) {
            out.push(disposition(
                rng,
                leg.participant_id,
                leg.agent,
                leg.transfer_in.map(|t| t.0),
                list,
            ));
        }
    }
    V::Arr(out)
}
