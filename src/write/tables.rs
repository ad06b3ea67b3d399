//! Every output table, declared once: columns, types, descriptions and how each value is
//! taken from a normalized [`Session`].
//!
//! Conventions: sessions are keyed by `(kind, session_id)` in every table because call and
//! chat ids are separate sequences; instants are UTC microseconds; durations are whole
//! seconds in `*_s` columns; names otherwise follow the export's keys.

use arrow::datatypes::SchemaRef;

use crate::derive::{Derived, ExchangeEvent, Milestone};
use crate::normalize::{
    text, Attribute, Escalation, OfferEvent, Participant, RawAgent, RawDeflectionDetail,
    RawDisposition, RawMenuPath, RawRedirectionGroup, Recording, Redaction, Segment, Session,
    Transfer,
};
use crate::shared::error::{Error, Result};
use crate::shared::reject::FileError;
use crate::table;
use crate::write::columns::ColumnDoc;
use crate::write::partition::DayRuns;

fn agent_id(a: Option<&RawAgent<'_>>) -> Option<i64> {
    a.and_then(|a| a.id)
}
fn agent_name<'a>(a: Option<&'a RawAgent<'_>>) -> Option<&'a str> {
    a.and_then(|a| text(&a.name))
}
fn path_name<'a>(m: Option<&'a RawMenuPath<'_>>) -> Option<&'a str> {
    m.and_then(|m| text(&m.name))
}
fn path_ids<'a>(m: Option<&'a RawMenuPath<'_>>) -> Option<&'a str> {
    m.and_then(|m| text(&m.materialized_path))
}
fn path_depth(m: Option<&RawMenuPath<'_>>) -> Option<i64> {
    m.and_then(|m| m.items_count)
}

table! {
    /// One row per session: the newest export of each `(kind, session_id)`.
    pub struct SessionsTable("sessions", s: &Session<'_>, export_count: usize, source_path: &str) {
        session_id: I64, "Session id (`id`); unique per kind.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        status: Text, "Status name (`finished`, `failed`...); unknown names kept as written.", dict => s.status.as_ref().map(|st| st.name.as_ref());
        status_code: I64, "Published numeric code of the status (0-23, 80, 81); null when the status has none." => s.status.as_ref().and_then(|st| st.code);
        sub_status: Text, "`sub_status` (or `subStatus`).", dict => text(&s.raw.sub_status);
        session_type: Text, "`call_type` or `chat_type` (legacy vocabulary, e.g. `Voice Inbound (IVR)`).", dict => s.session_type;
        session_type_v2: Text, "`session_type_v2` (current vocabulary).", dict => text(&s.raw.session_type_v2);
        session_uuid: Text, "`call_uuid` or `chat_uuid` (links the legs of a routed interaction)." => s.uuid;
        lang: Text, "Language code.", dict => text(&s.raw.lang);
        created_at: Timestamp, "When the session was created (UTC).", required => s.created_at;
        created_at_offset_minutes: I64, "UTC offset of the source `created_at` text, in minutes (-420 for -07:00): local time = created_at + offset.", required => i64::from(s.created_at.offset_minutes);
        queued_at: Timestamp, "Entered a queue (UTC)." => s.queued_at;
        assigned_at: Timestamp, "Assigned to an agent (UTC)." => s.assigned_at;
        connected_at: Timestamp, "Connected (UTC); can precede `queued_at` when a virtual agent answered first." => s.connected_at;
        ends_at: Timestamp, "Session end (UTC)." => s.ends_at;
        scheduled_at: Timestamp, "Scheduled time of a scheduled call (UTC)." => s.scheduled_at;
        updated_at: Timestamp, "Last update of the export (UTC); the newest export of a session wins." => s.updated_at;
        first_msg_sent_at: Timestamp, "First message (chats, UTC)." => s.first_msg_sent_at;
        last_msg_sent_at: Timestamp, "Last message (chats, UTC)." => s.last_msg_sent_at;
        duration_s: I64, "Handle time in seconds: `call_duration` or `chat_duration`." => s.duration_s;
        wait_duration_s: I64, "Customer wait, seconds." => s.wait_duration_s;
        hold_duration_s: I64, "Total hold, seconds (null when never on hold)." => s.hold_duration_s;
        rating: I64, "CSAT rating." => s.raw.rating;
        has_feedback: Bool, "The customer left CSAT feedback." => s.raw.has_feedback;
        feedback: Text, "CSAT free-text comment." => text(&s.raw.feedback);
        verified: Bool, "Verified by a Smart Action." => s.raw.verified;
        smart_action_text: Text, "Text collected by a Smart Action text input." => text(&s.raw.smart_action_text);
        photo_count: I64, "Photos uploaded through Smart Actions (rows in `media`).", required => s.raw.photos.len();
        video_count: I64, "Videos uploaded through Smart Actions (rows in `media`).", required => s.raw.videos.len();
        recording_permission: Text, "`not_asked`, `granted`, `denied`.", dict => text(&s.raw.recording_permission);
        recording_url: Text, "Link to the recording." => text(&s.raw.recording_url);
        voicemail_reason: Text, "`not_voicemail` or why the call went to voicemail.", dict => text(&s.raw.voicemail_reason);
        deflection: Text, "`no_deflection` or the deflection applied (`after_hours_message_only`...).", dict => text(&s.raw.deflection);
        disconnected_by: Text, "Who ended the session.", dict => text(&s.raw.disconnected_by);
        fail_reason: Text, "`nothing` or the failure code name (`eu_abandoned`...).", dict => text(&s.raw.fail_reason);
        fail_details: Text, "Free-text failure detail." => text(&s.raw.fail_details);
        adapter_fail_code: Text, "Agent-adapter failure code, as text." => s.adapter_fail_code.as_ref();
        adapter_fail_message: Text, "Agent-adapter failure message." => text(&s.raw.adapter_fail_message);
        voip_provider: Text, "Deprecated (`deprecated`).", dict => text(&s.raw.voip_provider);
        out_ticket_id: Text, "CRM ticket id." => text(&s.raw.out_ticket_id);
        out_ticket_url: Text, "CRM ticket URL." => text(&s.raw.out_ticket_url);
        is_out_ticket_account: Bool, "The CRM record is the account rather than the interaction." => s.raw.is_out_ticket_account;
        support_number: Text, "Dialled contact-center number (E.164)." => text(&s.raw.support_number);
        outbound_number: Text, "Number an outbound call was placed from." => text(&s.raw.outbound_number);
        queue_priority_level: I64, "Queue priority." => s.raw.queue_priority_level;
        offer_type: Text, "Routing offer mode (`cascade`...).", dict => text(&s.raw.offer_type);
        answer_type: Text, "`manual`...", dict => text(&s.raw.answer_type);
        email: Text, "End-user e-mail, when known." => text(&s.raw.email);
        provider_type: Text, "Messaging provider (chats).", dict => text(&s.raw.provider_type);
        provider_channel_id: Text, "Provider channel id (chats)." => text(&s.raw.provider_channel_id);
        message_count: I64, "Messages exchanged (chats)." => s.raw.message_count;
        average_response_time_s: I64, "Average agent response time, seconds (chats)." => s.average_response_time_s;
        longest_response_time_s: I64, "Longest agent response time, seconds (chats)." => s.longest_response_time_s;
        transcript: Bool, "A transcript exists (chats)." => s.raw.transcript;
        after_hours: Bool, "Started after hours (chats)." => s.raw.after_hours;
        transfer_limit: I64, "Transfer limit (chats)." => s.raw.transfer_limit;
        selected_menu_id: I64, "Leaf queue (`selected_menu.id`)." => s.raw.selected_menu.as_ref().and_then(|m| m.id);
        selected_menu_name: Text, "Leaf queue name.", dict => s.raw.selected_menu.as_ref().and_then(|m| text(&m.name));
        selected_menu_parent_id: I64, "Parent menu id of the leaf queue." => s.raw.selected_menu.as_ref().and_then(|m| m.parent_id);
        selected_menu_position: I64, "Position of the leaf queue in its menu." => s.raw.selected_menu.as_ref().and_then(|m| m.position);
        selected_menu_type: Text, "`ivr_menu`, `web_menu`...", dict => s.raw.selected_menu.as_ref().and_then(|m| text(&m.menu_type));
        selected_menu_deleted: Bool, "The leaf queue has since been deleted." => s.raw.selected_menu.as_ref().and_then(|m| m.deleted);
        selected_menu_hidden: Bool, "The leaf queue is hidden." => s.raw.selected_menu.as_ref().and_then(|m| m.hidden);
        selected_menu_output_msg: Text, "Message played or shown by the leaf queue." => s.raw.selected_menu.as_ref().and_then(|m| text(&m.output_msg));
        menu_path: Text, "Menu path names, `/`-joined (`Support/Billing`).", dict => path_name(s.raw.menu_path.as_ref());
        menu_path_ids: Text, "Menu path ids, `/`-joined (`6/8`).", dict => path_ids(s.raw.menu_path.as_ref());
        menu_path_depth: I64, "Number of menu levels (`items_count`)." => path_depth(s.raw.menu_path.as_ref());
        agent_kind: Text, "`human` or `virtual`: which `agent_info` variant the export carries; null when absent.", dict => s.agent_kind.map(|k| k.as_str());
        agent_id: I64, "`agent_info.id`." => s.raw.agent_info.as_ref().and_then(|a| a.id);
        agent_name: Text, "`agent_info.name`." => s.raw.agent_info.as_ref().and_then(|a| text(&a.name));
        agent_email: Text, "Human agent e-mail." => s.raw.agent_info.as_ref().and_then(|a| a.email.as_ref().and_then(|e| text(e)));
        agent_first_name: Text, "Human agent first name." => s.raw.agent_info.as_ref().and_then(|a| text(&a.first_name));
        agent_last_name: Text, "Human agent last name." => s.raw.agent_info.as_ref().and_then(|a| text(&a.last_name));
        agent_number: Text, "Human agent number, as text." => s.agent_number.as_ref();
        agent_va_alias: Text, "Virtual agent alias." => s.raw.agent_info.as_ref().and_then(|a| a.va_alias.as_ref().and_then(|v| text(v)));
        agent_avatar_url: Text, "Agent avatar URL." => s.raw.agent_info.as_ref().and_then(|a| text(&a.avatar_url));
        end_user_id: I64, "`end_user.id`." => s.raw.end_user.as_ref().and_then(|u| u.id);
        end_user_identifier: Text, "`end_user.identifier` (SDK user id, UUID or e-mail)." => s.raw.end_user.as_ref().and_then(|u| text(&u.identifier));
        end_user_out_contact_id: Text, "CRM contact id of the end user." => s.raw.end_user.as_ref().and_then(|u| text(&u.out_contact_id));
        automation_percent_redirection: Bool, "`automation_redirection.percent_redirection` (groups in `automation_redirections`)." => s.raw.automation_redirection.as_ref().and_then(|a| a.percent_redirection);
        in_queue_wait_time_va_count: I64, "Entries of `in_queue_wait_time_va` (shape undocumented).", required => s.raw.in_queue_wait_time_va.len();
        wait_time_sms_count: I64, "Entries of `wait_time_sms` (shape undocumented).", required => s.raw.wait_time_sms.len();
        in_call_sms_count: I64, "Entries of `in_call_sms` (shape undocumented).", required => s.raw.in_call_sms.len();
        export_count: I64, "Files seen for this session in the run (re-exports); only the newest is kept.", required => export_count;
        source_path: Text, "The file this row was read from.", required => source_path;
    }
}

table! {
    /// One row per `participants[]` entry (a participant who leaves and rejoins has two).
    pub struct ParticipantsTable("participants", s: &Session<'_>, p: &Participant<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        participant_id: I64, "Participant id (referenced by `dispositions.participant_id`)." => p.raw.id;
        participant_type: Text, "`end_user`, `agent`, `virtual_agent`, `task_virtual_agent`; others kept as written.", dict => text(&p.raw.participant_type);
        entry_type: Text, "How the participant joined (`queue_or_transfer`...).", dict => text(&p.raw.entry_type);
        user_id: I64, "Agent user id (agents)." => p.raw.user_id;
        end_user_id: I64, "End-user id (end users)." => p.raw.end_user_id;
        virtual_agent_id: I64, "Virtual-agent id (virtual agents)." => p.raw.virtual_agent_id;
        status: Text, "Participant status (`finished`...).", dict => text(&p.raw.status);
        fail_reason: Text, "`nothing` or a failure code name.", dict => text(&p.raw.fail_reason);
        connected_at: Timestamp, "Joined (UTC)." => p.connected_at;
        left_at: Timestamp, "Left (UTC): `ended_at` for calls, `finished_at` for chats." => p.left_at;
        duration_s: I64, "Time in the session, seconds (`call_duration`/`chat_duration`)." => p.duration_s;
        hold_duration_s: I64, "Time on hold, seconds (calls)." => p.hold_duration_s;
        phone_number: Text, "Phone number (end users, E.164)." => text(&p.raw.phone_number);
        email: Text, "E-mail (agents)." => text(&p.raw.email);
        first_name: Text, "First name (agents)." => text(&p.raw.first_name);
        middle_name: Text, "Middle name (agents)." => text(&p.raw.middle_name);
        last_name: Text, "Last name (agents)." => text(&p.raw.last_name);
        location_id: I64, "Agent location id." => p.location_id;
        location: Text, "Agent location (`en-US`).", dict => p.raw.location.as_ref().and_then(|l| text(&l.location));
        team_count: I64, "Entries of `teams`.", required => p.raw.teams.len();
        virtual_agent_conversation_id: Text, "Dialogflow conversation id (virtual agents)." => p.raw.virtual_agent.as_ref().and_then(|v| text(&v.conversation_id));
        agent_assist_spelling_and_grammar_check: Bool, "Agent assist spelling and grammar check was configured." => p.spelling_and_grammar_check;
        adapter_fail_code: Text, "Agent-adapter failure code, as text." => p.adapter_fail_code.as_ref();
        adapter_fail_message: Text, "Agent-adapter failure message." => text(&p.raw.adapter_fail_message);
    }
}

table! {
    /// One row per `transfers[]` entry.
    pub struct TransfersTable("transfers", s: &Session<'_>, t: &Transfer<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        transfer_id: I64, "Transfer id (referenced by segments and dispositions)." => t.raw.id;
        status: Text, "`transferred`, `transferring`...", dict => text(&t.raw.status);
        fail_reason: Text, "`nothing` or a failure code name.", dict => text(&t.raw.fail_reason);
        created_at: Timestamp, "Transfer started (UTC)." => t.created_at;
        assigned_at: Timestamp, "Assigned to the receiving agent (UTC)." => t.assigned_at;
        connected_at: Timestamp, "Connected to the receiving agent (UTC)." => t.connected_at;
        updated_at: Timestamp, "Last update (UTC)." => t.updated_at;
        duration_s: I64, "Length of the transferred leg, seconds." => t.duration_s;
        wait_duration_s: I64, "Wait before the receiving agent answered, seconds." => t.wait_duration_s;
        deflection: Text, "Deflection applied to the transfer.", dict => text(&t.raw.deflection);
        answer_type_path: Text, "`manual_to_manual`...", dict => text(&t.raw.answer_type_path);
        from_menu_path: Text, "Origin queue path names.", dict => path_name(t.raw.from_menu_path.as_ref());
        from_menu_path_ids: Text, "Origin queue path ids.", dict => path_ids(t.raw.from_menu_path.as_ref());
        to_menu_path: Text, "Target queue path names.", dict => path_name(t.raw.to_menu_path.as_ref());
        to_menu_path_ids: Text, "Target queue path ids.", dict => path_ids(t.raw.to_menu_path.as_ref());
        from_agent_id: I64, "Transferring agent id." => agent_id(t.raw.from_agent.as_ref());
        from_agent_name: Text, "Transferring agent name." => agent_name(t.raw.from_agent.as_ref());
        to_agent_id: I64, "Receiving agent id." => agent_id(t.raw.to_agent.as_ref());
        to_agent_name: Text, "Receiving agent name." => agent_name(t.raw.to_agent.as_ref());
        from_virtual_agent_id: I64, "Transferring virtual agent id." => agent_id(t.raw.from_virtual_agent.as_ref());
        from_virtual_agent_name: Text, "Transferring virtual agent name." => agent_name(t.raw.from_virtual_agent.as_ref());
        to_virtual_agent_id: I64, "Receiving virtual agent id." => agent_id(t.raw.to_virtual_agent.as_ref());
        to_virtual_agent_name: Text, "Receiving virtual agent name." => agent_name(t.raw.to_virtual_agent.as_ref());
        from_queue_priority_level: I64, "Priority in the origin queue." => t.raw.from_queue_priority_level;
        to_queue_priority_level: I64, "Priority in the target queue." => t.raw.to_queue_priority_level;
    }
}

table! {
    /// Virtual-agent escalations to humans (`escalations[]`) and deflected ones
    /// (`virtual_agent_deflected_escalations[]`).
    pub struct EscalationsTable("escalations", s: &Session<'_>, e: &Escalation<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        escalation_kind: Text, "`escalation` or `va_deflected`.", required, dict => e.escalation_kind.as_str();
        record_id: I64, "Id of the record." => e.record_id;
        escalation_id: I64, "Id of the escalation (`id`, or `escalation_id` of a deflected one)." => e.escalation_id;
        status: Text, "`escalated`...", dict => e.status;
        reason: Text, "`by_virtual_agent`, `unknown`...", dict => e.reason;
        deflection: Text, "Deflection applied instead (`temp_redirection_queue`...).", dict => e.deflection;
        created_at: Timestamp, "Escalation requested (UTC)." => e.created_at;
        escalated_at: Timestamp, "Escalated (UTC)." => e.escalated_at;
        virtual_agent_id: I64, "Escalating virtual agent id." => agent_id(e.virtual_agent);
        virtual_agent_name: Text, "Escalating virtual agent name." => agent_name(e.virtual_agent);
        to_agent_id: I64, "Receiving human agent id." => agent_id(e.to_agent);
        to_agent_name: Text, "Receiving human agent name." => agent_name(e.to_agent);
        from_menu_path: Text, "Origin queue path names.", dict => path_name(e.from_menu_path);
        from_menu_path_ids: Text, "Origin queue path ids.", dict => path_ids(e.from_menu_path);
        to_menu_path: Text, "Target queue path names (deflected: the queue's `menu_path`).", dict => path_name(e.to_menu_path).or(e.menu_path);
        to_menu_path_ids: Text, "Target queue path ids.", dict => path_ids(e.to_menu_path);
        menu_path_id: I64, "Queue id (deflected escalations)." => e.menu_path_id;
        lang: Text, "Language (deflected escalations).", dict => e.lang;
    }
}

table! {
    /// One row per `deflection_details[]` entry.
    pub struct DeflectionsTable("deflections", s: &Session<'_>, d: &RawDeflectionDetail<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        deflection_id: I64, "Deflection id." => d.id;
        transfer_id: I64, "Transfer it applied to, if any." => d.transfer_id;
        from_menu_path: Text, "Queue path names where the deflection happened.", dict => path_name(d.from_menu_path.as_ref());
        from_menu_path_ids: Text, "Queue path ids.", dict => path_ids(d.from_menu_path.as_ref());
        from_menu_path_depth: I64, "Queue path depth." => path_depth(d.from_menu_path.as_ref());
    }
}

table! {
    /// Every time segment of a session, all kinds in one table (`segment_kind`); columns a
    /// kind does not have are null.
    pub struct SegmentsTable("segments", s: &Session<'_>, g: &Segment<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        segment_kind: Text, "`agent_handle`, `queue`, `virtual_agent`, `consumer_handle`, `consumer_event`, `consumer_in_menu`.", dict => g.segment_kind.map(|k| k.as_str());
        segment_id: I64, "The entry's id." => g.segment_id;
        started_at: Timestamp, "Start (UTC)." => g.started_at;
        ended_at: Timestamp, "End (UTC)." => g.ended_at;
        duration_s: I64, "Length, seconds (talk/chat time for agent_handle; 0 for a wrap-up-only segment)." => g.duration_s;
        agent_id: I64, "Human agent (agent_handle) or answering agent (queue)." => g.agent_id;
        virtual_agent_id: I64, "Virtual agent id (virtual_agent)." => agent_id(g.virtual_agent);
        virtual_agent_name: Text, "Virtual agent name (virtual_agent).", dict => agent_name(g.virtual_agent);
        menu_path_id: I64, "Queue id." => g.menu_path_id;
        menu_path: Text, "Queue path names.", dict => g.menu_path;
        lang: Text, "Language.", dict => g.lang;
        transfer: Bool, "The segment belongs to a transferred leg." => g.transfer;
        transfer_id: I64, "Transfer id." => g.transfer_id;
        transfer_cold: Bool, "Cold (blind) transfer." => g.transfer_cold;
        acw_duration_s: I64, "After-call work, seconds." => g.acw_duration_s;
        bcw_duration_s: I64, "Before-call work, seconds." => g.bcw_duration_s;
        hold_duration_s: I64, "Hold, seconds." => g.hold_duration_s;
        assigned_connection_duration_s: I64, "From assignment to connection, seconds." => g.assigned_connection_duration_s;
        barged: Bool, "A manager barged in." => g.barged;
        scheduled_at: Timestamp, "Scheduled time (UTC)." => g.scheduled_at;
        message_count: I64, "Messages (chat consumer segments)." => g.message_count;
        response_count: I64, "Responses." => g.response_count;
        response_time_total_s: I64, "Total response time, seconds." => g.response_time_total_s;
        response_time_max_s: I64, "Longest response time, seconds." => g.response_time_max_s;
        response_time_avg_s: F64, "Average response time, seconds." => g.response_time_avg_s;
        fallback_response_count: I64, "Virtual-agent fallback responses." => g.fallback_response_count;
        sentiment: I64, "Virtual-agent sentiment score." => g.sentiment;
        escalation_reason: Text, "Why the virtual agent escalated.", dict => g.escalation_reason;
        finish_reason: Text, "How the virtual-agent segment ended (`escalated`...).", dict => g.finish_reason;
        initiated_by: Text, "Who started the virtual-agent segment.", dict => g.initiated_by;
        service_level_event: Text, "`in_sla`... (queue).", dict => g.service_level_event;
        service_level_abandon_threshold_s: I64, "Abandon threshold, seconds (queue)." => g.service_level_abandon_threshold_s;
        service_level_target_percent: I64, "Service-level target, percent (queue)." => g.service_level_target_percent;
        service_level_target_time_s: I64, "Service-level target time, seconds (queue)." => g.service_level_target_time_s;
        event_type: Text, "Consumer event type (`csat`).", dict => g.event_type;
        event: Text, "Consumer event or in-menu outcome (`finished`).", dict => g.event;
    }
}

table! {
    /// One row per `dispositions[]` entry: the wrap-up code an agent applied.
    pub struct DispositionsTable("dispositions", s: &Session<'_>, d: &RawDisposition<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        participant_id: I64, "The agent participant who applied it." => d.participant_id;
        user_id: I64, "The agent's user id." => d.user_id;
        transfer_id: I64, "The transferred leg it applies to, if any." => d.transfer_id;
        code: Text, "Disposition code.", dict => text(&d.code);
        note: Text, "Disposition note (null when none)." => text(&d.note);
        ujet_code_id: I64, "Code id." => d.ujet_code_id;
        list: Text, "Disposition list.", dict => text(&d.list);
        list_path: Text, "Disposition list path.", dict => text(&d.list_path);
        ujet_list_id: I64, "List id." => d.ujet_list_id;
        custom_list_id: Text, "Custom list id (`` when none)." => text(&d.custom_list_id);
        custom_code_id: Text, "Custom code id (`` when none)." => text(&d.custom_code_id);
    }
}

table! {
    /// One row per `recordings[]` entry.
    pub struct RecordingsTable("recordings", s: &Session<'_>, r: &Recording<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        recording_id: I64, "Recording id." => r.raw.id;
        conference_sid: Text, "Conference id." => text(&r.raw.conference_sid);
        recording_type: Text, "`default`...", dict => text(&r.raw.recording_type);
        started_at: Timestamp, "Start (UTC)." => r.started_at;
        ended_at: Timestamp, "End (UTC), when the export has it." => r.ended_at;
        duration_s: I64, "Length, seconds." => r.duration_s;
        redaction_count: I64, "Redacted stretches (rows in `redactions`).", required => r.raw.redaction_times.len();
    }
}

table! {
    /// One row per `recordings[].redaction_times[]` entry.
    pub struct RedactionsTable("redactions", s: &Session<'_>, r: &Redaction<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        recording_id: I64, "Recording id." => r.recording_id;
        started_at: Timestamp, "Redaction start (UTC)." => r.start;
        ended_at: Timestamp, "Redaction end (UTC)." => r.end;
        duration_s: F64, "Length, fractional seconds." => r.duration_s;
        start_agent_id: I64, "Agent who started the redaction." => r.raw.start_agent_id;
        end_agent_id: I64, "Agent who ended it." => r.raw.end_agent_id;
    }
}

table! {
    /// One row per `offer_events[]` entry.
    pub struct OfferEventsTable("offer_events", s: &Session<'_>, o: &OfferEvent<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        casting_time: Timestamp, "When the session was offered (UTC)." => o.casting_time;
        offer_group: Text, "Agent group offered to (`group`).", dict => o.group;
    }
}

table! {
    /// Smart Action uploads: `photos[]` and `videos[]`.
    pub struct MediaTable("media", s: &Session<'_>, media_type: &str, media_id: Option<i64>, photo_type: Option<&str>, url: Option<&str>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        media_type: Text, "`photo` or `video`.", required, dict => media_type;
        media_id: I64, "Upload id." => media_id;
        photo_type: Text, "`photo`, `screenshot`... (photos).", dict => photo_type;
        url: Text, "Upload URL." => url;
    }
}

table! {
    /// Open-ended key/value data: custom data, SIP headers, virtual-agent parameters.
    pub struct AttributesTable("attributes", s: &Session<'_>, a: &Attribute<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        participant_id: I64, "Participant the pair belongs to; null for session-level data." => a.participant_id;
        source: Text, "`custom_data_secured`, `custom_data_not_secured`, `sip_header`, `virtual_agent_param`.", required, dict => a.source;
        name: Text, "Key.", required, dict => a.name;
        label: Text, "Label (custom data)." => a.label;
        value: Text, "Value as text (numbers in their JSON spelling)." => a.value.as_ref();
    }
}

table! {
    /// One row per `automation_redirection.redirection_group[]` entry.
    pub struct AutomationRedirectionsTable("automation_redirections", s: &Session<'_>, index: usize, g: &RawRedirectionGroup<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        group_index: I64, "Position of the group in the list (0-based).", required => index;
        group_label: Text, "Group label.", dict => text(&g.group_label);
        destination_type: Text, "Destination type (`Queue`...).", dict => g.destination.as_ref().and_then(|d| text(&d.destination_type));
        destination_queue_id: I64, "Destination queue id." => g.destination.as_ref().and_then(|d| d.queue_id);
        destination_lang: Text, "Destination language.", dict => g.destination.as_ref().and_then(|d| text(&d.lang));
        after_hours: Bool, "The group applies after hours." => g.after_hours;
        ah_destination_type: Text, "After-hours destination type.", dict => g.ah_destination.as_ref().and_then(|d| text(&d.destination_type));
        ah_destination_queue_id: I64, "After-hours destination queue id." => g.ah_destination.as_ref().and_then(|d| d.queue_id);
        ah_destination_lang: Text, "After-hours destination language.", dict => g.ah_destination.as_ref().and_then(|d| text(&d.lang));
    }
}

table! {
    /// One row per derived Acoustic Exchange event (README: "Acoustic Exchange events").
    pub struct EventsTable("events", s: &Session<'_>, e: &ExchangeEvent<'_>, channel: &str, identifiers: Option<&str>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        event_id: Text, "Deterministic event id `<kind>-<session_id>:<code>:<source>` (also the `eventId` attribute); stable across reruns.", required => e.event_id.as_str();
        code: Text, "Exchange event code: `agentTalk`, `messageAnalysis`, `selfService`, `automationTriggered`.", required, dict => e.code.as_str();
        timestamp: Timestamp, "When the event was observed (UTC).", required => e.timestamp;
        channel: Text, "Exchange channel of the request body (`Contact Center` by default).", required, dict => channel;
        addressable: Bool, "The session has at least one identifier, so the event is in `exchange/*.jsonl`.", required => identifiers.is_some();
        identifiers: Text, "The identifiers as sent, a JSON array of `{name, value}`; null when the session has none." => identifiers;
        source_entity: Text, "What produced the event: `agent_handle`, `participant`, `virtual_agent_session`, `consumer_in_menu`, `transfer`, `escalation`, `automation_redirection`, `session`.", required, dict => e.source_entity;
        source_entity_id: I64, "Id of that entity (segment, participant, transfer, escalation; the session id for session-level events)." => e.source_entity_id;
        missing_required: Text, "Required catalogue attributes the session had no value for (sent as empty strings), comma-separated; null when none.", dict => missing_required(e).as_deref();
        description: Text, "`description`: the event in words." => e.attributes.description.as_deref();
        event_name: Text, "`eventName`: direction for agentTalk (`Inbound`, `Outbound`, `Campaign`, `Callback`, `Scheduled`, `Internal`), else the catalogue's event name.", dict => e.attributes.event_name;
        agent_skill: Text, "`agentSkill`: the queue (menu path name).", dict => e.attributes.agent_skill;
        agent_skill_level: Text, "`agentSkillLevel`: no source in the export (always null).", dict => e.attributes.agent_skill_level;
        agent_disposition: Text, "`agentDisposition`: the handling agent's disposition code.", dict => e.attributes.agent_disposition;
        sub_channel: Text, "`subChannel`: `phone`, `chat`, `sms`, `whatsapp`.", dict => e.attributes.sub_channel;
        location: Text, "`location`: no source in the export (always null).", dict => e.attributes.location;
        device_type: Text, "`deviceType`: `mobile`, `web`, `phone`.", dict => e.attributes.device_type;
        duration: I64, "`duration`: seconds of the interaction the event describes." => e.attributes.duration;
        notes: Text, "`notes`: the disposition note." => e.attributes.notes;
        sentiment: Text, "`sentiment`: `positive`, `neutral`, `negative`, `unknown`.", dict => e.attributes.sentiment;
        tags: Text, "`tags`: comma-separated (`call,transfer`).", dict => e.attributes.tags.as_deref();
        topic: Text, "`topic`: menu path name (messageAnalysis).", dict => e.attributes.topic;
        actionability: Text, "`actionability`: `escalated`, `not_escalated`, `voicemail` (messageAnalysis).", dict => e.attributes.actionability;
        self_service_app: Text, "`selfServiceApp`: `IVR`, `Mobile SDK`, `Web SDK` or the virtual agent's name.", dict => e.attributes.self_service_app;
        self_service_selections: Text, "`selfServiceSelections`: the menu path names chosen.", dict => e.attributes.self_service_selections;
        action: Text, "`action`: `deflected:<how>`, `escalated_to_agent`, `callback_scheduled`, `call_scheduled`, `campaign_dialed`, `redirected_to_<type>`.", dict => e.attributes.action.as_deref();
        priority: Text, "`priority`: queue priority level (automationTriggered).", dict => e.attributes.priority.map(|p| p.to_string()).as_deref();
        calling_list: Text, "`calling list`: no source in the export (always null).", dict => e.attributes.calling_list;
    }
}

fn missing_required(e: &ExchangeEvent<'_>) -> Option<String> {
    let mut names = e.missing_required().map(|a| a.name());
    let first = names.next()?;
    Some(names.fold(first.to_owned(), |mut all, name| {
        all.push(',');
        all.push_str(name);
        all
    }))
}

table! {
    /// One row per lifecycle moment of a session (README: "Session lifecycle").
    pub struct MilestonesTable("milestones", s: &Session<'_>, m: &Milestone<'_>) {
        session_id: I64, "Session id.", required => s.id;
        kind: Text, "`call` or `chat`.", required, dict => s.kind.as_str();
        seq: I64, "Position in the session's timeline, 0-based, by time.", required => i64::from(m.seq);
        milestone: Text, "Google's milestone name: `call_created`, `participant_connected`, `agent_handle_completed`...", required, dict => m.name;
        timestamp: Timestamp, "When it happened (UTC).", required => m.at;
        entity_type: Text, "What the moment concerns: `session`, `participant`, `queue_entry`, `transfer`, `agent_handle`, `virtual_agent_session`, `escalation`, `consumer_handle`, `consumer_in_menu`, `consumer_event`, `recording`.", required, dict => m.entity_type;
        entity_id: I64, "Id of that entity (the session id for session moments)." => m.entity_id;
        participant_type: Text, "Participant type, for participant moments.", dict => m.participant_type;
        agent_id: I64, "The agent concerned (handle, answering queue agent, agent participant, receiving agent of an escalation)." => m.agent_id;
    }
}

table! {
    /// One row per input file that could not be turned into a session.
    pub struct RejectsTable("rejects", source_path: &str, file_size_bytes: Option<i64>, e: &FileError) {
        source_path: Text, "The rejected file.", required => source_path;
        error_kind: Text, "Stable class: `malformed_json`, `truncated_json`, `empty_file`, `invalid_utf8`, `not_an_object`, `missing_field`, `invalid_type`, `invalid_timestamp`, `invalid_duration`, `duplicate_field`, `unknown_kind`, `file_too_large`, `unreadable`, `changed_during_run`, `object_not_found`, `object_forbidden`.", required, dict => e.kind.as_str();
        message: Text, "The problem in words, naming the field and, for JSON errors, the line and column.", required => e.message().as_str();
        field: Text, "JSON path of the offending value (`participants[1].call_duration`)." => e.field.as_deref();
        line: I64, "1-based line of the problem." => e.line.map(|l| l as i64);
        column: I64, "1-based column of the problem." => e.column.map(|c| c as i64);
        file_size_bytes: I64, "Size of the file on disk." => file_size_bytes;
    }
}

/// What a session's rows need besides the session and what was derived from it.
pub struct RowContext<'a> {
    /// The Exchange channel (`events.channel`).
    pub channel: &'a str,
    /// The session's identifier list as sent to Exchange (JSON), `None` when it has none.
    pub identifiers: Option<&'a str>,
    /// How many exports of the session were seen (`sessions.export_count`).
    pub export_count: usize,
    /// The file the session was read from (`sessions.source_path`).
    pub source_path: &'a str,
}

/// Declares the list of output tables, once: each table filled from sessions with its
/// builder field, its `TableId` variant, what one row is, a capacity hint (rows per session)
/// and how one session fills it; then `rejects`. From it come [`TableId`] (which [`Sink`]
/// indexes its writers by), [`SessionTables`] and the [`catalog`].
///
/// [`Sink`]: crate::write::Sink
macro_rules! tables {
    (
        $(
            $field:ident: $builder:ident as $variant:ident, $row:literal, rows_per_session $cap:expr,
            fill |$t:ident, $s:ident, $d:ident, $x:ident| $fill:block
        )*
        @rejects $rejects:ident, $rejects_row:literal
    ) => {
        /// One output table. The order is the output order: the session tables, then `rejects`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum TableId {
            $(
                #[doc = concat!("`", stringify!($field), "`")]
                $variant,
            )*
            /// `rejects`
            Rejects,
        }

        impl TableId {
            /// Every table, in output order.
            pub const ALL: &'static [TableId] = &[$(TableId::$variant,)* TableId::Rejects];

            /// The table's (and its folder's) name.
            pub fn name(self) -> &'static str {
                match self {
                    $(TableId::$variant => $builder::NAME,)*
                    TableId::Rejects => $rejects::NAME,
                }
            }

            /// What one row is, in words.
            pub fn row(self) -> &'static str {
                match self {
                    $(TableId::$variant => $row,)*
                    TableId::Rejects => $rejects_row,
                }
            }

            /// The table's columns, with their documentation.
            pub fn columns(self) -> &'static [ColumnDoc] {
                match self {
                    $(TableId::$variant => $builder::COLUMNS,)*
                    TableId::Rejects => $rejects::COLUMNS,
                }
            }

            /// The table's Arrow schema.
            pub fn schema(self) -> SchemaRef {
                match self {
                    $(TableId::$variant => $builder::schema(),)*
                    TableId::Rejects => $rejects::schema(),
                }
            }

            /// The table's position in [`TableId::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        /// Number of tables filled from sessions (all but `rejects`).
        const SESSION_TABLES: usize = TableId::Rejects as usize;

        /// The builders of every session table, filled together from one session at a time.
        pub struct SessionTables {
            $(
                #[doc = concat!("`", stringify!($field), "`")]
                pub $field: $builder,
            )*
            /// The session day of every pending row, per table in [`TableId`] order.
            days: [DayRuns; SESSION_TABLES],
        }

        impl SessionTables {
            /// Empty builders sized for `sessions` sessions.
            pub fn with_capacity(sessions: usize) -> Self {
                SessionTables {
                    $($field: $builder::with_capacity(sessions * $cap),)*
                    days: Default::default(),
                }
            }

            /// Pending rows per table, in [`TableId`] order.
            fn lens(&self) -> [usize; SESSION_TABLES] {
                [$(self.$field.len(),)*]
            }

            /// Appends every row one session contributes, to every table.
            fn append_rows(&mut self, s: &Session<'_>, derived: &Derived<'_>, context: &RowContext<'_>) {
                $(
                    {
                        let ($t, $s, $d, $x) = (&mut self.$field, s, derived, context);
                        $fill
                    }
                )*
            }

            /// Takes the pending rows of every table as record batches, in [`TableId`] order.
            pub fn finish(&mut self) -> Result<Vec<TableBatch>> {
                let batches = [
                    $(
                        (
                            TableId::$variant,
                            self.$field.finish().map_err(|source| Error::Arrow {
                                table: $builder::NAME,
                                source,
                            })?,
                        ),
                    )*
                ];
                Ok(batches
                    .into_iter()
                    .zip(self.days.iter_mut())
                    .map(|((table, batch), days)| TableBatch {
                        table,
                        batch,
                        days: Some(std::mem::take(days)),
                    })
                    .collect())
            }
        }
    };
}

tables! {
    sessions: SessionsTable as Sessions, "one per session (the newest export of each `(kind, session_id)`)", rows_per_session 1,
    fill |t, s, _d, x| { t.append(s, x.export_count, x.source_path); }
    participants: ParticipantsTable as Participants, "one per `participants[]` entry", rows_per_session 5,
    fill |t, s, _d, _x| { for p in &s.participants { t.append(s, p); } }
    transfers: TransfersTable as Transfers, "one per `transfers[]` entry", rows_per_session 1,
    fill |t, s, _d, _x| { for tr in &s.transfers { t.append(s, tr); } }
    escalations: EscalationsTable as Escalations, "one per `escalations[]` or `virtual_agent_deflected_escalations[]` entry", rows_per_session 1,
    fill |t, s, _d, _x| { for e in &s.escalations { t.append(s, e); } }
    deflections: DeflectionsTable as Deflections, "one per `deflection_details[]` entry", rows_per_session 0,
    fill |t, s, _d, _x| { for d in &s.raw.deflection_details { t.append(s, d); } }
    segments: SegmentsTable as Segments, "one per time segment (`handle_durations`, `queue_durations`, `virtual_agent_handle_durations`, `consumer_handle_durations`, `consumer_event_durations`, `consumer_in_menu_durations`)", rows_per_session 8,
    fill |t, s, _d, _x| { for g in &s.segments { t.append(s, g); } }
    dispositions: DispositionsTable as Dispositions, "one per `dispositions[]` entry", rows_per_session 2,
    fill |t, s, _d, _x| { for d in &s.raw.dispositions { t.append(s, d); } }
    recordings: RecordingsTable as Recordings, "one per `recordings[]` entry", rows_per_session 1,
    fill |t, s, _d, _x| { for r in &s.recordings { t.append(s, r); } }
    redactions: RedactionsTable as Redactions, "one per `recordings[].redaction_times[]` entry", rows_per_session 1,
    fill |t, s, _d, _x| { for r in &s.redactions { t.append(s, r); } }
    offer_events: OfferEventsTable as OfferEvents, "one per `offer_events[]` entry", rows_per_session 1,
    fill |t, s, _d, _x| { for o in &s.offer_events { t.append(s, o); } }
    media: MediaTable as Media, "one per `photos[]` or `videos[]` entry", rows_per_session 0,
    fill |t, s, _d, _x| {
        for p in &s.raw.photos {
            t.append(s, "photo", p.id, text(&p.photo_type), text(&p.url));
        }
        for v in &s.raw.videos {
            t.append(s, "video", v.id, None, text(&v.url));
        }
    }
    attributes: AttributesTable as Attributes, "one per custom-data entry, SIP header or virtual-agent parameter", rows_per_session 4,
    fill |t, s, _d, _x| { for a in &s.attributes { t.append(s, a); } }
    automation_redirections: AutomationRedirectionsTable as AutomationRedirections, "one per `automation_redirection.redirection_group[]` entry", rows_per_session 0,
    fill |t, s, _d, _x| {
        if let Some(redirection) = &s.raw.automation_redirection {
            for (i, g) in redirection.redirection_group.iter().enumerate() {
                t.append(s, i, g);
            }
        }
    }
    events: EventsTable as Events, "one per derived Acoustic Exchange event", rows_per_session 4,
    fill |t, s, d, x| { for e in &d.events { t.append(s, e, x.channel, x.identifiers); } }
    milestones: MilestonesTable as Milestones, "one per lifecycle moment of a session", rows_per_session 32,
    fill |t, s, d, _x| { for m in &d.milestones { t.append(s, m); } }
    @rejects RejectsTable, "one per rejected input file"
}

/// Pending rows of one table, ready for the writer.
pub struct TableBatch {
    /// The table.
    pub table: TableId,
    /// Its rows.
    pub batch: arrow::record_batch::RecordBatch,
    /// The session day of each row, for date partitioning; `None` for tables that are not
    /// partitioned (`rejects`).
    pub days: Option<DayRuns>,
}

/// The documentation of every table, in output order: `(name, what a row is, columns)`.
pub fn catalog() -> Vec<(&'static str, &'static str, &'static [ColumnDoc])> {
    TableId::ALL
        .iter()
        .map(|t| (t.name(), t.row(), t.columns()))
        .collect()
}

impl SessionTables {
    /// Appends every row one session contributes, to every table. `identifiers` is the
    /// session's identifier list as sent to Exchange (JSON), `None` when it has none.
    pub fn append(
        &mut self,
        s: &Session<'_>,
        derived: &Derived<'_>,
        channel: &str,
        identifiers: Option<&str>,
        export_count: usize,
        source_path: &str,
    ) {
        let context = RowContext {
            channel,
            identifiers,
            export_count,
            source_path,
        };
        self.append_rows(s, derived, &context);
        let day = s.created_at.day();
        let lens = self.lens();
        for (runs, len) in self.days.iter_mut().zip(lens) {
            runs.extend_to(day, len);
        }
    }
}

impl RejectsTable {
    /// Takes the pending rows as the writer's batch (`rejects` is not partitioned).
    pub fn finish_batch(&mut self) -> Result<TableBatch> {
        let batch = self.finish().map_err(|source| Error::Arrow {
            table: Self::NAME,
            source,
        })?;
        Ok(TableBatch {
            table: TableId::Rejects,
            batch,
            days: None,
        })
    }
}
