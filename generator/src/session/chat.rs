//! A chat document, key for key in the order of the real export chat-135.

use super::attributes::custom_data;
use super::dispositions::dispositions;
use super::identity::{crm_id, provider_channel_id};
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

/// The keys of a chat, in the export's order. What several keys depend on is drawn first,
/// then each group of keys in turn, always in the same order: the seed fixes the draws.
pub(super) fn write_chat(rng: &mut Rng, l: &Layout) -> V {
    let d = Draws::draw(rng, l);
    let mut pairs: Pairs = Vec::with_capacity(60);
    pairs.push(("id", V::Int(l.id)));
    if rng.chance(0.3) {
        pairs.push(("chat_uuid", string(rng.uuid())));
    }
    push_timeline(rng, l, &d, &mut pairs);
    push_ticket_and_messages(rng, l, &d, &mut pairs);
    if let Some(agent) = agent_info(l) {
        pairs.push(("agent_info", agent));
    }
    push_arrays(rng, l, &d, &mut pairs);
    push_wrap_up(rng, l, &mut pairs);
    if let Some(redirection) = automation_redirection(rng, l) {
        pairs.push(("automation_redirection", redirection));
    }
    V::Obj(pairs)
}

type Pairs = Vec<(&'static str, V)>;

/// What a chat decides before its first key, because several keys depend on it.
struct Draws {
    status: V,
    messages: i64,
    average: i64,
    first_msg: Option<i64>,
    last_msg: Option<i64>,
    channel: String,
}

impl Draws {
    fn draw(rng: &mut Rng, l: &Layout) -> Draws {
        let status = l.status.value(rng);
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
        Draws {
            status,
            messages,
            average,
            first_msg,
            last_msg,
            channel: provider_channel_id(rng),
        }
    }
}

/// `lang` to `chat_duration`: the type, the status and the timeline.
fn push_timeline(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    let ts = |t| V::Local(t, l.offset);
    pairs.extend([
        ("lang", s(l.lang)),
        ("chat_type", s(l.type_names.0)),
        ("session_type", s(l.type_names.0)),
        ("session_type_v2", s(l.type_names.1)),
        ("status", d.status.clone()),
        ("created_at", ts(l.created)),
        ("assigned_at", opt_ts(l.assigned_at, l.offset)),
        ("ends_at", opt_ts(l.ends_at, l.offset)),
        ("updated_at", ts(l.updated_at)),
        ("first_msg_sent_at", opt_ts(d.first_msg, l.offset)),
        (
            "last_msg_sent_at",
            opt_ts(d.last_msg.max(d.first_msg), l.offset),
        ),
        ("wait_duration", duration_value(rng, l.wait)),
        ("chat_duration", duration_value(rng, l.duration)),
    ]);
}

/// `verified` to `transcript`: the CRM ticket, the messaging channel and the messages.
fn push_ticket_and_messages(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    pairs.extend([
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
        ("provider_channel_id", string(d.channel.clone())),
        ("message_count", V::Int(d.messages)),
        ("average_response_time", V::Int(d.average)),
        (
            "longest_response_time",
            V::Int(d.average + rng.range(0, 120)),
        ),
        ("selected_menu", l.menu.selected("web_menu")),
        ("menu_path", l.menu.path_object()),
        ("transcript", V::Bool(rng.chance(0.7))),
    ]);
}

/// `end_user` to `consumer_event_durations`: the nested arrays.
fn push_arrays(rng: &mut Rng, l: &Layout, d: &Draws, pairs: &mut Pairs) {
    pairs.extend([
        ("end_user", l.end_user(rng)),
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
            chat_consumer_handle(rng, l, d.messages),
        ),
        ("consumer_event_durations", consumer_event_durations(l)),
    ]);
}

/// `offer_type` to `custom_data_not_secured`: offers, wrap-up codes, contact and custom data.
fn push_wrap_up(rng: &mut Rng, l: &Layout, pairs: &mut Pairs) {
    pairs.extend([
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
}
