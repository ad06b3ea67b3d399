//! A chat document, key for key in the order of the real export chat-135.

use super::attributes::custom_data;
use super::dispositions::dispositions;
use super::identity::{crm_id, end_user_object, HEX};
use super::layout::Layout;
use super::media::photos;
use super::participants::chat_participants;
use super::routing::{automation_redirection, offer_events, transfers, va_deflected_escalations};
use super::segments::{
    chat_consumer_handle, chat_handle_durations, consumer_event_durations, queue_durations,
    va_handle_durations,
};
use super::{agent_info, duration_value};
use crate::json::{opt_ts, s, string, V};
use crate::rng::Rng;

pub(super) fn write_chat(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let status = l.status.value(rng);
    let chat_type = s(l.type_names.0);
    let messages = if l.legs.is_empty() {
        rng.range(1, 6)
    } else {
        rng.range(4, 80)
    };
    let average = rng.range(0, 45);
    let first_msg = l
        .end_user_connected
        .filter(|_| rng.chance(0.7))
        .map(|t| t + rng.range(1, 8));
    let last_msg = l
        .ends_at
        .filter(|_| first_msg.is_some())
        .map(|t| t - rng.range(1, 20));
    let mut channel = String::from("CH");
    rng.push_chars(&mut channel, HEX, 32);

    let mut pairs: Vec<(&'static str, V)> = Vec::with_capacity(60);
    pairs.push(("id", V::Int(l.id)));
    if rng.chance(0.3) {
        pairs.push(("chat_uuid", string(rng.uuid())));
    }
    pairs.extend([
        ("lang", s(l.lang)),
        ("chat_type", chat_type.clone()),
        ("session_type", chat_type),
        ("session_type_v2", s(l.type_names.1)),
        ("status", status),
        ("created_at", ts(l.created)),
        ("assigned_at", opt_ts(l.assigned_at, l.offset)),
        ("ends_at", opt_ts(l.ends_at, l.offset)),
        ("updated_at", ts(l.updated_at)),
        ("first_msg_sent_at", opt_ts(first_msg, l.offset)),
        (
            "last_msg_sent_at",
            opt_ts(last_msg.max(first_msg), l.offset),
        ),
        ("wait_duration", duration_value(rng, l.wait)),
        ("chat_duration", duration_value(rng, l.duration)),
        ("verified", V::Bool(rng.chance(0.15))),
        (
            "rating",
            if !l.legs.is_empty() && rng.chance(0.3) {
                V::Int(rng.range(1, 5))
            } else {
                V::Null
            },
        ),
        ("has_feedback", V::Bool(false)),
        (
            "out_ticket_id",
            if rng.chance(0.5) {
                string(crm_id(rng, "500", "AAA"))
            } else {
                V::Null
            },
        ),
        (
            "out_ticket_url",
            string(format!(
                "https://media.ccaiplatform.com/v1/download/{}",
                rng.uuid()
            )),
        ),
        ("is_out_ticket_account", V::Bool(false)),
        ("fail_reason", l.fail.map_or(V::Null, |f| s(f.0))),
        ("provider_type", s(l.provider)),
        ("provider_channel_id", string(channel)),
        ("message_count", V::Int(messages)),
        ("average_response_time", V::Int(average)),
        ("longest_response_time", V::Int(average + rng.range(0, 120))),
        ("selected_menu", l.menu.selected("web_menu")),
        ("menu_path", l.menu.path_object()),
        ("transcript", V::Bool(rng.chance(0.7))),
    ]);
    if let Some(agent) = agent_info(l) {
        pairs.push(("agent_info", agent));
    }
    pairs.extend([
        ("end_user", end_user_object(rng, l)),
        ("photos", photos(rng, l)),
        ("videos", V::Arr(vec![])),
        ("transfers", transfers(l, "chat_duration")),
        ("participants", chat_participants(rng, l)),
        (
            "handle_durations",
            if l.handle_segments {
                chat_handle_durations(rng, l)
            } else {
                V::Arr(vec![])
            },
        ),
        ("queue_durations", queue_durations(l)),
        (
            "virtual_agent_handle_durations",
            va_handle_durations(rng, l, "chat_duration"),
        ),
        (
            "virtual_agent_deflected_escalations",
            va_deflected_escalations(rng, l),
        ),
        (
            "consumer_handle_durations",
            chat_consumer_handle(rng, l, messages),
        ),
        ("consumer_event_durations", consumer_event_durations(l)),
        ("offer_type", s("cascade")),
        ("offer_events", offer_events(rng, l)),
        ("answer_type", s("manual")),
        (
            "after_hours",
            V::Bool(l.deflection == Some("after_hours_message_only")),
        ),
        (
            "transfer_limit",
            if rng.chance(0.3) { V::Int(3) } else { V::Null },
        ),
        ("dispositions", dispositions(rng, l)),
        (
            "email",
            if rng.chance(0.5) {
                string(format!("customer.{}@example.com", l.end_user_id))
            } else {
                V::Null
            },
        ),
        ("feedback", V::Null),
        ("smart_action_text", V::Null),
        (
            "custom_data_secured",
            if rng.chance(0.1) {
                custom_data(rng, l, true)
            } else {
                V::Null
            },
        ),
        (
            "custom_data_not_secured",
            if rng.chance(0.7) {
                custom_data(rng, l, false)
            } else {
                V::Null
            },
        ),
    ]);
    if let Some(redirection) = automation_redirection(rng, l) {
        pairs.push(("automation_redirection", redirection));
    }
    V::Obj(pairs)
}
