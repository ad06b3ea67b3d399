//! Serde types that mirror one session metadata document, call or chat, key for key.
//!
//! One struct serves both kinds: a chat is a call with `chat_*` keys in place of `call_*`
//! ones and some arrays missing, so every kind-specific key is optional here and `normalize`
//! decides what the document is. Keys are named exactly as the platform writes them (see
//! `../shared/reference/ccaip-session-metadata.md`); nothing is renamed or interpreted.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::scalar::{null_as_empty, present, unique_keys, Opaque, Scalar, Str};

/// Optional string field, borrowed from the input where possible.
pub type OptStr<'a> = Option<Str<'a>>;

/// The top-level document of a call or chat export.
#[derive(Debug, Deserialize)]
pub struct RawSession<'a> {
    pub id: i64,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    #[serde(borrow)]
    pub call_type: OptStr<'a>,
    #[serde(borrow)]
    pub chat_type: OptStr<'a>,
    #[serde(borrow)]
    pub session_type: OptStr<'a>,
    #[serde(borrow)]
    pub session_type_v2: OptStr<'a>,
    #[serde(borrow)]
    pub call_uuid: OptStr<'a>,
    #[serde(borrow)]
    pub chat_uuid: OptStr<'a>,
    #[serde(borrow)]
    pub status: Option<Scalar<'a>>,
    #[serde(borrow, alias = "subStatus")]
    pub sub_status: OptStr<'a>,

    #[serde(borrow)]
    pub created_at: OptStr<'a>,
    #[serde(borrow)]
    pub queued_at: OptStr<'a>,
    #[serde(borrow)]
    pub assigned_at: OptStr<'a>,
    #[serde(borrow)]
    pub connected_at: OptStr<'a>,
    #[serde(borrow)]
    pub ends_at: OptStr<'a>,
    #[serde(borrow)]
    pub scheduled_at: OptStr<'a>,
    #[serde(borrow)]
    pub updated_at: OptStr<'a>,
    #[serde(borrow)]
    pub first_msg_sent_at: OptStr<'a>,
    #[serde(borrow)]
    pub last_msg_sent_at: OptStr<'a>,

    #[serde(borrow)]
    pub wait_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub call_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub chat_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub hold_duration: Option<Scalar<'a>>,

    pub rating: Option<i64>,
    pub has_feedback: Option<bool>,
    #[serde(borrow)]
    pub feedback: OptStr<'a>,
    #[serde(borrow)]
    pub voip_provider: OptStr<'a>,
    #[serde(borrow)]
    pub out_ticket_id: OptStr<'a>,
    #[serde(borrow)]
    pub out_ticket_url: OptStr<'a>,
    pub is_out_ticket_account: Option<bool>,
    pub verified: Option<bool>,
    #[serde(borrow)]
    pub recording_url: OptStr<'a>,
    #[serde(borrow)]
    pub recording_permission: OptStr<'a>,
    #[serde(borrow)]
    pub voicemail_reason: OptStr<'a>,
    #[serde(borrow)]
    pub deflection: OptStr<'a>,
    #[serde(borrow)]
    pub disconnected_by: OptStr<'a>,
    #[serde(borrow)]
    pub fail_reason: OptStr<'a>,
    #[serde(borrow)]
    pub fail_details: OptStr<'a>,
    #[serde(borrow)]
    pub adapter_fail_code: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub adapter_fail_message: OptStr<'a>,
    #[serde(borrow)]
    pub support_number: OptStr<'a>,
    #[serde(borrow)]
    pub outbound_number: OptStr<'a>,
    pub queue_priority_level: Option<i64>,
    #[serde(borrow)]
    pub offer_type: OptStr<'a>,
    #[serde(borrow)]
    pub answer_type: OptStr<'a>,
    #[serde(borrow)]
    pub email: OptStr<'a>,
    #[serde(borrow)]
    pub smart_action_text: OptStr<'a>,

    // Chat-only keys.
    #[serde(borrow)]
    pub provider_type: OptStr<'a>,
    #[serde(borrow)]
    pub provider_channel_id: OptStr<'a>,
    pub message_count: Option<i64>,
    #[serde(borrow)]
    pub average_response_time: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub longest_response_time: Option<Scalar<'a>>,
    pub transcript: Option<bool>,
    pub after_hours: Option<bool>,
    pub transfer_limit: Option<i64>,

    #[serde(borrow)]
    pub selected_menu: Option<RawMenu<'a>>,
    #[serde(borrow)]
    pub menu_path: Option<RawMenuPath<'a>>,
    #[serde(borrow)]
    pub agent_info: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub end_user: Option<RawEndUser<'a>>,
    #[serde(borrow, default, deserialize_with = "unique_keys")]
    pub custom_data_secured: Option<BTreeMap<Str<'a>, RawCustomDatum<'a>>>,
    #[serde(borrow, default, deserialize_with = "unique_keys")]
    pub custom_data_not_secured: Option<BTreeMap<Str<'a>, RawCustomDatum<'a>>>,
    #[serde(borrow, default, deserialize_with = "unique_keys")]
    pub sip_headers: Option<BTreeMap<Str<'a>, Option<Scalar<'a>>>>,
    #[serde(borrow)]
    pub automation_redirection: Option<RawAutomationRedirection<'a>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub in_queue_wait_time_va: Vec<Opaque>,

    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub photos: Vec<RawPhoto<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub videos: Vec<RawVideo<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub transfers: Vec<RawTransfer<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub escalations: Vec<RawEscalation<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub deflection_details: Vec<RawDeflectionDetail<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub handle_durations: Vec<RawHandleDuration<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub queue_durations: Vec<RawQueueDuration<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub virtual_agent_handle_durations: Vec<RawVirtualAgentHandle<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub virtual_agent_deflected_escalations: Vec<RawVirtualAgentDeflectedEscalation<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub consumer_handle_durations: Vec<RawConsumerHandle<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub consumer_event_durations: Vec<RawConsumerEvent<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub consumer_in_menu_durations: Vec<RawConsumerInMenu<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub participants: Vec<RawParticipant<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub recordings: Vec<RawRecording<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub offer_events: Vec<RawOfferEvent<'a>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub wait_time_sms: Vec<Opaque>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub in_call_sms: Vec<Opaque>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub dispositions: Vec<RawDisposition<'a>>,
}

/// `selected_menu`: the leaf queue the session was routed to.
#[derive(Debug, Deserialize)]
pub struct RawMenu<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub name: OptStr<'a>,
    pub parent_id: Option<i64>,
    pub position: Option<i64>,
    pub deleted: Option<bool>,
    #[serde(borrow)]
    pub menu_type: OptStr<'a>,
    pub hidden: Option<bool>,
    #[serde(borrow)]
    pub output_msg: OptStr<'a>,
}

/// `menu_path`, `from_menu_path`, `to_menu_path`: names and ids of the path to a queue.
#[derive(Debug, Deserialize)]
pub struct RawMenuPath<'a> {
    pub items_count: Option<i64>,
    #[serde(borrow)]
    pub name: OptStr<'a>,
    #[serde(borrow)]
    pub materialized_path: OptStr<'a>,
}

/// `agent_info` and every agent reference (`from_agent`, `to_agent`, `virtual_agent`, ...).
///
/// Human and virtual variants share this struct: which keys are *present* tells them apart.
#[derive(Debug, Deserialize)]
pub struct RawAgent<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub name: OptStr<'a>,
    #[serde(borrow)]
    pub avatar_url: OptStr<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub email: Option<OptStr<'a>>,
    #[serde(borrow)]
    pub first_name: OptStr<'a>,
    #[serde(borrow)]
    pub last_name: OptStr<'a>,
    #[serde(borrow)]
    pub agent_number: Option<Scalar<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub va_alias: Option<OptStr<'a>>,
}

/// `end_user`.
#[derive(Debug, Deserialize)]
pub struct RawEndUser<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub identifier: OptStr<'a>,
    #[serde(borrow)]
    pub out_contact_id: OptStr<'a>,
}

/// One entry of `custom_data_secured` / `custom_data_not_secured`.
#[derive(Debug, Deserialize)]
pub struct RawCustomDatum<'a> {
    #[serde(borrow)]
    pub label: OptStr<'a>,
    #[serde(borrow)]
    pub value: Option<Scalar<'a>>,
}

/// `automation_redirection`.
#[derive(Debug, Deserialize)]
pub struct RawAutomationRedirection<'a> {
    pub percent_redirection: Option<bool>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub redirection_group: Vec<RawRedirectionGroup<'a>>,
}

/// One `automation_redirection.redirection_group[]` entry.
#[derive(Debug, Deserialize)]
pub struct RawRedirectionGroup<'a> {
    #[serde(borrow)]
    pub group_label: OptStr<'a>,
    #[serde(borrow)]
    pub destination: Option<RawDestination<'a>>,
    pub after_hours: Option<bool>,
    #[serde(borrow)]
    pub ah_destination: Option<RawDestination<'a>>,
}

/// A redirection destination (`{type, queue_id, lang}`).
#[derive(Debug, Deserialize)]
pub struct RawDestination<'a> {
    #[serde(borrow, rename = "type")]
    pub destination_type: OptStr<'a>,
    pub queue_id: Option<i64>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
}

/// `photos[]` (Smart Action uploads).
#[derive(Debug, Deserialize)]
pub struct RawPhoto<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub photo_type: OptStr<'a>,
    #[serde(borrow)]
    pub url: OptStr<'a>,
}

/// `videos[]` (Smart Action uploads).
#[derive(Debug, Deserialize)]
pub struct RawVideo<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub url: OptStr<'a>,
}

/// `transfers[]`.
#[derive(Debug, Deserialize)]
pub struct RawTransfer<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub status: OptStr<'a>,
    #[serde(borrow)]
    pub fail_reason: OptStr<'a>,
    #[serde(borrow)]
    pub created_at: OptStr<'a>,
    #[serde(borrow)]
    pub assigned_at: OptStr<'a>,
    #[serde(borrow)]
    pub connected_at: OptStr<'a>,
    #[serde(borrow)]
    pub updated_at: OptStr<'a>,
    #[serde(borrow)]
    pub call_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub chat_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub wait_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub deflection: OptStr<'a>,
    #[serde(borrow)]
    pub answer_type_path: OptStr<'a>,
    #[serde(borrow)]
    pub from_menu_path: Option<RawMenuPath<'a>>,
    #[serde(borrow)]
    pub to_menu_path: Option<RawMenuPath<'a>>,
    #[serde(borrow)]
    pub from_agent: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub to_agent: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub from_virtual_agent: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub to_virtual_agent: Option<RawAgent<'a>>,
    pub from_queue_priority_level: Option<i64>,
    pub to_queue_priority_level: Option<i64>,
}

/// `escalations[]`: virtual agent to human hand-overs.
#[derive(Debug, Deserialize)]
pub struct RawEscalation<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub status: OptStr<'a>,
    #[serde(borrow)]
    pub reason: OptStr<'a>,
    #[serde(borrow)]
    pub created_at: OptStr<'a>,
    #[serde(borrow)]
    pub escalated_at: OptStr<'a>,
    #[serde(borrow)]
    pub from_virtual_agent: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub to_agent: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub from_menu_path: Option<RawMenuPath<'a>>,
    #[serde(borrow)]
    pub to_menu_path: Option<RawMenuPath<'a>>,
}

/// `virtual_agent_deflected_escalations[]`.
#[derive(Debug, Deserialize)]
pub struct RawVirtualAgentDeflectedEscalation<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub deflection: OptStr<'a>,
    pub escalation_id: Option<i64>,
    #[serde(borrow)]
    pub escalation_reason: OptStr<'a>,
    #[serde(borrow)]
    pub escalated_at: OptStr<'a>,
    pub menu_path_id: Option<i64>,
    #[serde(borrow)]
    pub menu_path: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    #[serde(borrow)]
    pub virtual_agent: Option<RawAgent<'a>>,
}

/// `deflection_details[]`.
#[derive(Debug, Deserialize)]
pub struct RawDeflectionDetail<'a> {
    pub id: Option<i64>,
    pub call_id: Option<i64>,
    pub chat_id: Option<i64>,
    pub transfer_id: Option<i64>,
    #[serde(borrow)]
    pub from_menu_path: Option<RawMenuPath<'a>>,
}

/// `handle_durations[]`: one human-agent handling segment (talk, or wrap-up).
#[derive(Debug, Deserialize)]
pub struct RawHandleDuration<'a> {
    pub id: Option<i64>,
    pub agent_id: Option<i64>,
    #[serde(borrow)]
    pub acw_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub bcw_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub call_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub chat_duration: Option<Scalar<'a>>,
    pub menu_path_id: Option<i64>,
    #[serde(borrow)]
    pub menu_path: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    pub barged: Option<bool>,
    pub transfer: Option<bool>,
    pub transfer_id: Option<i64>,
    pub transfer_cold: Option<bool>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
    #[serde(borrow)]
    pub scheduled_at: OptStr<'a>,
    #[serde(borrow)]
    pub hold_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub assigned_connection_duration: Option<Scalar<'a>>,
    pub response_count: Option<i64>,
    #[serde(borrow)]
    pub response_time_total: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub response_time_max: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub response_time_avg: Option<Scalar<'a>>,
}

/// `queue_durations[]`: one wait in a queue.
#[derive(Debug, Deserialize)]
pub struct RawQueueDuration<'a> {
    pub id: Option<i64>,
    pub agent_id: Option<i64>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    pub menu_path_id: Option<i64>,
    #[serde(borrow)]
    pub menu_path: OptStr<'a>,
    #[serde(borrow)]
    pub queue_duration: Option<Scalar<'a>>,
    pub transfer: Option<bool>,
    pub transfer_id: Option<i64>,
    pub transfer_cold: Option<bool>,
    #[serde(borrow)]
    pub service_level_abandon_time_threshold: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub service_level_event: OptStr<'a>,
    pub service_level_target_percent: Option<i64>,
    #[serde(borrow)]
    pub service_level_target_time: Option<Scalar<'a>>,
}

/// `virtual_agent_handle_durations[]`: one virtual-agent conversation segment.
#[derive(Debug, Deserialize)]
pub struct RawVirtualAgentHandle<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub virtual_agent: Option<RawAgent<'a>>,
    #[serde(borrow)]
    pub call_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub chat_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub escalation_reason: OptStr<'a>,
    #[serde(borrow)]
    pub finish_reason: OptStr<'a>,
    pub sentiment: Option<i64>,
    pub response_count: Option<i64>,
    pub fallback_response_count: Option<i64>,
    #[serde(borrow)]
    pub initiated_by: OptStr<'a>,
    pub menu_path_id: Option<i64>,
    #[serde(borrow)]
    pub menu_path: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    pub transfer: Option<bool>,
    pub transfer_id: Option<i64>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
}

/// `consumer_handle_durations[]`: the end user's time in the session.
#[derive(Debug, Deserialize)]
pub struct RawConsumerHandle<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub call_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub chat_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub hold_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
    pub message_count: Option<i64>,
    pub response_count: Option<i64>,
    #[serde(borrow)]
    pub response_time_total: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub response_time_max: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub response_time_avg: Option<Scalar<'a>>,
}

/// `consumer_event_durations[]` (a CSAT survey, for instance).
#[derive(Debug, Deserialize)]
pub struct RawConsumerEvent<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub duration: Option<Scalar<'a>>,
    #[serde(borrow, rename = "type")]
    pub event_type: OptStr<'a>,
    #[serde(borrow)]
    pub event: OptStr<'a>,
    pub menu_path_id: Option<i64>,
    #[serde(borrow)]
    pub menu_path: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
}

/// `consumer_in_menu_durations[]`: IVR menu navigation.
#[derive(Debug, Deserialize)]
pub struct RawConsumerInMenu<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub event: OptStr<'a>,
    pub menu_path_id: Option<i64>,
    #[serde(borrow)]
    pub menu_path: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
}

/// `participants[]`: everyone who joined the session, one entry per join.
#[derive(Debug, Deserialize)]
pub struct RawParticipant<'a> {
    pub id: Option<i64>,
    #[serde(borrow, rename = "type")]
    pub participant_type: OptStr<'a>,
    #[serde(borrow)]
    pub entry_type: OptStr<'a>,
    pub user_id: Option<i64>,
    pub end_user_id: Option<i64>,
    pub virtual_agent_id: Option<i64>,
    #[serde(borrow)]
    pub status: OptStr<'a>,
    #[serde(borrow)]
    pub fail_reason: OptStr<'a>,
    #[serde(borrow)]
    pub connected_at: OptStr<'a>,
    /// Calls say `ended_at`...
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
    /// ...chats say `finished_at`.
    #[serde(borrow)]
    pub finished_at: OptStr<'a>,
    pub call_id: Option<i64>,
    pub chat_id: Option<i64>,
    #[serde(borrow)]
    pub call_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub chat_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub hold_duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub phone_number: OptStr<'a>,
    #[serde(borrow, default, deserialize_with = "unique_keys")]
    pub sip_headers: Option<BTreeMap<Str<'a>, Option<Scalar<'a>>>>,
    #[serde(borrow, default, deserialize_with = "unique_keys")]
    pub agent_assist: Option<BTreeMap<Str<'a>, Opaque>>,
    #[serde(borrow)]
    pub virtual_agent: Option<RawParticipantVirtualAgent<'a>>,
    #[serde(borrow, default, deserialize_with = "unique_keys")]
    pub virtual_agent_params: Option<BTreeMap<Str<'a>, Option<Scalar<'a>>>>,
    #[serde(borrow)]
    pub adapter_fail_code: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub adapter_fail_message: OptStr<'a>,
    #[serde(borrow)]
    pub location: Option<RawLocation<'a>>,
    pub location_id: Option<i64>,
    #[serde(borrow)]
    pub email: OptStr<'a>,
    #[serde(borrow)]
    pub first_name: OptStr<'a>,
    #[serde(borrow)]
    pub last_name: OptStr<'a>,
    #[serde(borrow)]
    pub middle_name: OptStr<'a>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub teams: Vec<Opaque>,
}

/// `participants[].virtual_agent`: the Dialogflow conversation behind a virtual agent.
#[derive(Debug, Deserialize)]
pub struct RawParticipantVirtualAgent<'a> {
    #[serde(borrow)]
    pub conversation_id: OptStr<'a>,
}

/// `participants[].location`: an agent's location settings.
#[derive(Debug, Deserialize)]
pub struct RawLocation<'a> {
    pub id: Option<i64>,
    #[serde(borrow)]
    pub location: OptStr<'a>,
    #[serde(borrow)]
    pub lang: OptStr<'a>,
    #[serde(borrow)]
    pub created_at: OptStr<'a>,
    #[serde(borrow)]
    pub updated_at: OptStr<'a>,
    pub pop_settings: Option<Opaque>,
}

/// `recordings[]`.
#[derive(Debug, Deserialize)]
pub struct RawRecording<'a> {
    pub id: Option<i64>,
    pub call_id: Option<i64>,
    #[serde(borrow)]
    pub conference_sid: OptStr<'a>,
    #[serde(borrow)]
    pub duration: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub recording_type: OptStr<'a>,
    #[serde(borrow)]
    pub started_at: OptStr<'a>,
    #[serde(borrow)]
    pub ended_at: OptStr<'a>,
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub redaction_times: Vec<RawRedaction<'a>>,
}

/// `recordings[].redaction_times[]`: a muted stretch of a recording.
#[derive(Debug, Deserialize)]
pub struct RawRedaction<'a> {
    #[serde(borrow)]
    pub start: OptStr<'a>,
    pub start_agent_id: Option<i64>,
    #[serde(borrow)]
    pub end: OptStr<'a>,
    #[serde(borrow)]
    pub duration: Option<Scalar<'a>>,
    pub end_agent_id: Option<i64>,
}

/// `offer_events[]`: when the session was offered to an agent group.
#[derive(Debug, Deserialize)]
pub struct RawOfferEvent<'a> {
    #[serde(borrow)]
    pub casting_time: OptStr<'a>,
    #[serde(borrow)]
    pub group: OptStr<'a>,
}

/// `dispositions[]`: the wrap-up code (and note) an agent applied.
#[derive(Debug, Deserialize)]
pub struct RawDisposition<'a> {
    pub user_id: Option<i64>,
    pub transfer_id: Option<i64>,
    pub participant_id: Option<i64>,
    #[serde(borrow)]
    pub note: OptStr<'a>,
    #[serde(borrow)]
    pub code: OptStr<'a>,
    pub ujet_code_id: Option<i64>,
    #[serde(borrow)]
    pub list: OptStr<'a>,
    #[serde(borrow)]
    pub list_path: OptStr<'a>,
    pub ujet_list_id: Option<i64>,
    #[serde(borrow)]
    pub custom_list_id: OptStr<'a>,
    #[serde(borrow)]
    pub custom_code_id: OptStr<'a>,
}
