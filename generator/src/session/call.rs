//! A call document, key for key in the order of the real export call-1418.

use super::attributes::{custom_data, sip_headers};
use super::dispositions::dispositions;
use super::identity::crm_id;
use super::layout::Layout;
use super::media::{photos, recordings, videos};
use super::participants::call_participants;
use super::routing::{
    automation_redirection, deflection_details, escalations, offer_events, transfers,
    va_deflected_escalations,
};
use super::segments::{
    call_consumer_handle, call_handle_durations, consumer_event_durations, in_menu_durations,
    queue_durations, va_handle_durations,
};
use super::status::GenStatus;
use super::tenant::Route;
use super::{agent_info, duration_value};
use crate::json::{opt_ts, s, string, V};
use crate::rng::Rng;

/// The keys of a call, in the export's order. What several keys depend on is drawn first,
/// then each group of keys in turn, always in the same order: the seed fixes the draws.
pub(super) fn write_call(rng: &mut Rng, l: &Layout) -> V {
    let d = Draws::draw(rng, l);
    let mut pairs: Pairs = Vec::with_capacity(72);
    pairs.push(("id", V::Int(l.id)));
    if rng.chance(0.2) {
        pairs.push(("call_uuid", string(rng.uuid())));
    }
    push_timeline(rng, l, &d, &mut pairs);
    push_ticket_and_recording(rng, l, &d, &mut pairs);
    push_ending(rng, l, &d, &mut pairs);
    if let Some(agent) = agent_info(l) {
        pairs.push(("agent_info", agent));
    }
    push_arrays(rng, l, &d, &mut pairs);
    push_wrap_up(rng, l, &d, &mut pairs);
    if let Some(sip) = d.sip {
        pairs.push(("sip_headers", sip));
    }
    if let Some(redirection) = automation_redirection(rng, l) {
        pairs.push(("automation_redirection", redirection));
    }
    V::Obj(pairs)
}

type Pairs = Vec<(&'static str, V)>;

/// What a call decides before its first key, because several keys depend on it.
struct Draws {
    sip: Option<V>,
    hold_total: i64,
    hold: V,
    permission: &'static str,
    has_recording: bool,
    out_ticket: Option<String>,
    support_number: Option<String>,
    outbound_number: Option<String>,
    status: V,
}

impl Draws {
    fn draw(rng: &mut Rng, l: &Layout) -> Draws {
        let inbound = matches!(l.route, Route::Ivr | Route::Inbound);
        let sip = (inbound && rng.chance(0.7)).then(|| sip_headers(rng));
        let hold_total: i64 = l.legs.iter().map(|leg| leg.hold).sum();
        let hold = if hold_total > 0 || (!l.legs.is_empty() && rng.chance(0.5)) {
            V::Int(hold_total)
        } else {
            V::Null
        };
        let recorded = !l.legs.is_empty() || l.voicemail.is_some();
        let permission = if recorded {
            rng.weighted(&[("granted", 50), ("not_asked", 45), ("denied", 5)])
        } else {
            "not_asked"
        };
        let has_recording =
            l.voicemail.is_some() || (recorded && permission != "denied" && rng.chance(0.9));
        let out_ticket = rng.chance(0.85).then(|| crm_id(rng, "500", "AAA"));
        let support_number = inbound.then(|| format!("+15550100{}", rng.range(300, 399)));
        let outbound_number = matches!(l.route, Route::Outbound | Route::Scheduled)
            .then(|| format!("+15550100{}", rng.range(200, 299)));
        Draws {
            sip,
            hold_total,
            hold,
            permission,
            has_recording,
            out_ticket,
            support_number,
            outbound_number,
            status: l.status.value(rng),
        }
    }
}

/// `lang` to `hold_duration`: the type, the status and the timeline.
fn push_timeline(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    let ts = |t| V::Local(t, l.offset);
    pairs.extend([
        ("lang", s(l.lang)),
        ("call_type", s(l.type_names.0)),
        ("session_type", s(l.type_names.0)),
        ("session_type_v2", s(l.type_names.1)),
        ("status", d.status.clone()),
        ("created_at", ts(l.created)),
        ("queued_at", opt_ts(l.queued_at, l.offset)),
        ("assigned_at", opt_ts(l.assigned_at, l.offset)),
        ("connected_at", opt_ts(l.connected_at, l.offset)),
        ("ends_at", opt_ts(l.ends_at, l.offset)),
        ("scheduled_at", opt_ts(l.scheduled_at, l.offset)),
        ("updated_at", ts(l.updated_at)),
        ("wait_duration", duration_value(rng, l.wait)),
        ("call_duration", duration_value(rng, l.duration)),
        ("hold_duration", d.hold.clone()),
    ]);
}

/// `rating` to `recording_permission`: the CRM ticket and the recording.
fn push_ticket_and_recording(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    pairs.extend([
        (
            "rating",
            if !l.legs.is_empty() && rng.chance(0.3) {
                V::Int(rng.range(1, 5))
            } else {
                V::Null
            },
        ),
        ("has_feedback", V::Bool(false)),
        ("voip_provider", s("deprecated")),
        (
            "out_ticket_id",
            d.out_ticket.clone().map_or(V::Null, string),
        ),
        (
            "out_ticket_url",
            d.out_ticket.clone().map_or(V::Null, |t| {
                string(format!("https://crm.example.com/lightning/r/Case/{t}/view"))
            }),
        ),
        ("is_out_ticket_account", V::Bool(rng.chance(0.1))),
        ("verified", V::Bool(rng.chance(0.2))),
        (
            "recording_url",
            if d.has_recording {
                string(format!(
                    "https://crm.example.com/sfc/servlet.shepherd/version/download/{}",
                    crm_id(rng, "068", "AAT")
                ))
            } else {
                V::Null
            },
        ),
        ("recording_permission", s(d.permission)),
    ]);
}

/// `voicemail_reason` to `queue_priority_level`: how the call ended, and its queue.
fn push_ending(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    pairs.extend([
        (
            "voicemail_reason",
            s(if l.voicemail.is_some() {
                rng.pick(&[
                    "voicemail_no_agent_available",
                    "voicemail_after_hours",
                    "voicemail_in_queue",
                ])
            } else {
                "not_voicemail"
            }),
        ),
        ("deflection", s(l.deflection.unwrap_or("no_deflection"))),
        (
            "disconnected_by",
            s(if l.status == GenStatus::Scheduled {
                "disconnected_by_unknown"
            } else if l.legs.is_empty() {
                "disconnected_by_end_user"
            } else {
                rng.weighted(&[
                    ("disconnected_by_agent", 45),
                    ("disconnected_by_end_user", 50),
                    ("disconnected_by_unknown", 5),
                ])
            }),
        ),
        ("fail_reason", s(l.fail.map_or("nothing", |f| f.0))),
        ("fail_details", l.fail.map_or(V::Null, |f| s(f.1))),
        ("adapter_fail_code", V::Null),
        ("adapter_fail_message", V::Null),
        (
            "support_number",
            d.support_number.clone().map_or(V::Null, string),
        ),
        (
            "selected_menu",
            l.menu.selected(if l.route == Route::Ivr {
                "ivr_menu"
            } else {
                "web_menu"
            }),
        ),
        ("menu_path", l.menu.path_object()),
        ("queue_priority_level", V::Int(0)),
    ]);
}

/// `end_user` to `recordings`: the nested arrays.
fn push_arrays(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    pairs.extend([
        ("end_user", l.end_user(rng)),
        ("photos", photos(rng, l)),
        ("videos", videos(rng, l)),
        ("transfers", transfers(l, "call_duration")),
        ("escalations", escalations(l)),
        ("deflection_details", deflection_details(l)),
        (
            "handle_durations",
            if l.handle_segments {
                call_handle_durations(l)
            } else {
                V::Arr(vec![])
            },
        ),
        ("queue_durations", queue_durations(l)),
        (
            "virtual_agent_deflected_escalations",
            va_deflected_escalations(rng, l),
        ),
        (
            "virtual_agent_handle_durations",
            va_handle_durations(rng, l, "call_duration"),
        ),
        (
            "consumer_handle_durations",
            call_consumer_handle(l, d.hold_total),
        ),
        ("consumer_event_durations", consumer_event_durations(l)),
        ("consumer_in_menu_durations", in_menu_durations(l)),
        (
            "participants",
            call_participants(rng, l, d.sip.as_ref(), d.support_number.as_deref()),
        ),
        (
            "recordings",
            if d.has_recording {
                recordings(rng, l)
            } else {
                V::Arr(vec![])
            },
        ),
    ]);
}

/// `offer_type` to `custom_data_not_secured`: offers, wrap-up codes and custom data.
fn push_wrap_up(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    pairs.extend([
        ("offer_type", s("cascade")),
        ("offer_events", offer_events(rng, l)),
        ("answer_type", s("manual")),
        (
            "outbound_number",
            d.outbound_number.clone().map_or(V::Null, string),
        ),
        ("wait_time_sms", V::Arr(vec![])),
        ("in_call_sms", V::Arr(vec![])),
        ("dispositions", dispositions(rng, l)),
        ("email", V::Null),
        ("feedback", V::Null),
        (
            "smart_action_text",
            if rng.chance(0.05) {
                s("Account number confirmed by SMS")
            } else {
                V::Null
            },
        ),
        (
            "custom_data_secured",
            if rng.chance(0.1) {
                custom_data(rng, l, true)
            } else {
                V::Null
            },
        ),
        (
            // Scheduling forms always collect custom data.
            "custom_data_not_secured",
            if l.route == Route::Scheduled || rng.chance(0.3) {
                custom_data(rng, l, false)
            } else {
                V::Null
            },
        ),
    ]);
}
