//! Stage 4 of the data flow: [`RawSession`] → [`Session`], the typed record every table and
//! every derived event is built from.
//!
//! Normalization interprets what the source layer kept verbatim: call or chat, the status
//! name and code, timestamps to UTC, durations to seconds, which agent variant handled the
//! session, and the six kinds of time segment flattened into one shape. Values that need no
//! interpretation stay borrowed from the raw document (`session.raw.voip_provider`), so this
//! stage copies little and allocates only the per-session vectors. The raw record types reach
//! the later stages through this module's re-exports, so they never depend on `parse`. A
//! value that needs interpreting before it can be written (a fallback between two keys, a
//! number rendered as text) is a field here, not a rule in `write`.
//!
//! Policy (documented in the README): a session is rejected when `id` is missing or not an
//! integer, its kind cannot be decided, `created_at` is missing, or *any* timestamp or
//! duration anywhere in the document cannot be interpreted. A session is either written
//! whole and right, or rejected with the field named — never silently half-filled.

pub mod instant;
pub mod kind;
pub mod status;
pub mod value;

use std::borrow::Cow;
use std::fmt;

pub use instant::Instant;
pub use kind::{kind_of_key, KindEvidence};
pub use status::Status;

use crate::shared::vocab::SessionKind;

/// The raw records a [`Session`] exposes (`session.raw`, `participant.raw`...) and their leaf
/// types, for the values that need no interpretation. The stages after this one reach them
/// through here, never through `parse`: normalize is the one door between the parse and the
/// rest of the pipeline.
pub use crate::parse::types::*;
pub use crate::parse::{text, Opaque, Scalar, Str};

use crate::shared::reject::{FileError, RejectKind};
use crate::shared::vocab::SessionKey;

/// Reads one input file into `buf` (from `source`: its path, or its object's fetched bytes),
/// parses and normalizes it: every check a file goes through before it becomes rows, the same
/// in `run` and in `validate`. `on_read` is told the bytes read from disk or the network as
/// soon as the file is read (before parsing can refuse it); `use_it` gets the parsed document
/// (with its unknown keys) and the session.
pub fn read_and_normalize<R>(
    file: &crate::discover::InputFile<'_>,
    source: crate::parse::read::Source<'_>,
    max_file_bytes: u64,
    buf: &mut Vec<u8>,
    on_read: impl FnOnce(u64),
    use_it: impl FnOnce(&crate::parse::Parsed<'_>, Session<'_>) -> Result<R, FileError>,
) -> Result<R, FileError> {
    let bytes =
        crate::parse::read::read_file(source, file.compression, file.size, max_file_bytes, buf)?;
    on_read(bytes);
    let parsed = crate::parse::parse(buf)?;
    let session = normalize(&parsed.session, file.file_name())
        .map_err(|e| crate::parse::with_position(e, buf))?;
    use_it(&parsed, session)
}

/// One session, normalized.
#[derive(Debug)]
pub struct Session<'a> {
    /// The document as parsed, for values that need no interpretation.
    pub raw: &'a RawSession<'a>,
    /// `id`: the platform id, unique per kind (see [`Session::key`]).
    pub id: i64,
    /// Call or chat.
    pub kind: SessionKind,
    /// `status` as name and code; `None` when the document has no status.
    pub status: Option<Status<'a>>,
    /// `call_type` or `chat_type` (legacy vocabulary), else `session_type`.
    pub session_type: Option<&'a str>,
    /// `call_uuid` or `chat_uuid`.
    pub uuid: Option<&'a str>,
    /// `created_at` (required).
    pub created_at: Instant,
    /// `queued_at`.
    pub queued_at: Option<Instant>,
    /// `assigned_at`.
    pub assigned_at: Option<Instant>,
    /// `connected_at`.
    pub connected_at: Option<Instant>,
    /// `ends_at`.
    pub ends_at: Option<Instant>,
    /// `scheduled_at`.
    pub scheduled_at: Option<Instant>,
    /// `updated_at`: the version of this export.
    pub updated_at: Option<Instant>,
    /// `first_msg_sent_at` (chats).
    pub first_msg_sent_at: Option<Instant>,
    /// `last_msg_sent_at` (chats).
    pub last_msg_sent_at: Option<Instant>,
    /// `call_duration` or `chat_duration`, seconds.
    pub duration_s: Option<i64>,
    /// `wait_duration`, seconds.
    pub wait_duration_s: Option<i64>,
    /// `hold_duration`, seconds.
    pub hold_duration_s: Option<i64>,
    /// `average_response_time`, seconds (chats).
    pub average_response_time_s: Option<i64>,
    /// `longest_response_time`, seconds (chats).
    pub longest_response_time_s: Option<i64>,
    /// Which variant of `agent_info` the document carries.
    pub agent_kind: Option<AgentKind>,
    /// `agent_info.agent_number` as text (a number in its JSON spelling).
    pub agent_number: Option<Cow<'a, str>>,
    /// `adapter_fail_code` as text (a number in its JSON spelling).
    pub adapter_fail_code: Option<Cow<'a, str>>,
    /// `participants[]`.
    pub participants: Vec<Participant<'a>>,
    /// `transfers[]`.
    pub transfers: Vec<Transfer<'a>>,
    /// `escalations[]` then `virtual_agent_deflected_escalations[]`.
    pub escalations: Vec<Escalation<'a>>,
    /// All time segments: handle, queue, virtual agent, consumer handle / event / in-menu.
    pub segments: Vec<Segment<'a>>,
    /// `recordings[]`.
    pub recordings: Vec<Recording<'a>>,
    /// `recordings[].redaction_times[]`.
    pub redactions: Vec<Redaction<'a>>,
    /// `offer_events[]`.
    pub offer_events: Vec<OfferEvent<'a>>,
    /// Open-ended key/value data: custom data, SIP headers, virtual-agent parameters.
    pub attributes: Vec<Attribute<'a>>,
}

impl Session<'_> {
    /// The session's identity across exports: `(kind, id)`.
    pub fn key(&self) -> SessionKey {
        SessionKey {
            kind: self.kind,
            id: self.id,
        }
    }
}

/// Whether `agent_info` describes a human or a virtual agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    /// Human-agent variant (`email`, `first_name`, `last_name`, `agent_number`).
    Human,
    /// Virtual-agent variant (`va_alias`).
    Virtual,
}

impl AgentKind {
    /// `human` or `virtual`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Human => "human",
            AgentKind::Virtual => "virtual",
        }
    }

    fn of(agent: &RawAgent<'_>) -> Option<AgentKind> {
        if agent.email.is_some() || agent.first_name.is_some() {
            Some(AgentKind::Human)
        } else if agent.va_alias.is_some() {
            Some(AgentKind::Virtual)
        } else {
            None
        }
    }
}

/// One `participants[]` entry.
#[derive(Debug)]
pub struct Participant<'a> {
    /// The entry as parsed.
    pub raw: &'a RawParticipant<'a>,
    /// `connected_at`.
    pub connected_at: Option<Instant>,
    /// When the participant left: `ended_at` (calls) or `finished_at` (chats).
    pub left_at: Option<Instant>,
    /// `call_duration` or `chat_duration`, seconds.
    pub duration_s: Option<i64>,
    /// `hold_duration`, seconds.
    pub hold_duration_s: Option<i64>,
    /// The agent's location id: `location_id`, else `location.id`.
    pub location_id: Option<i64>,
    /// Whether agent assist has a spelling and grammar check configured (`agent_assist` has
    /// a `spelling_and_grammar_check` key); `None` without `agent_assist`.
    pub spelling_and_grammar_check: Option<bool>,
    /// `adapter_fail_code` as text (a number in its JSON spelling).
    pub adapter_fail_code: Option<Cow<'a, str>>,
}

/// One `transfers[]` entry.
#[derive(Debug)]
pub struct Transfer<'a> {
    /// The entry as parsed.
    pub raw: &'a RawTransfer<'a>,
    /// `created_at`.
    pub created_at: Option<Instant>,
    /// `assigned_at`.
    pub assigned_at: Option<Instant>,
    /// `connected_at`.
    pub connected_at: Option<Instant>,
    /// `updated_at`.
    pub updated_at: Option<Instant>,
    /// `call_duration` or `chat_duration`, seconds.
    pub duration_s: Option<i64>,
    /// `wait_duration`, seconds.
    pub wait_duration_s: Option<i64>,
}

/// An escalation from a virtual agent, or a virtual-agent escalation that was deflected.
#[derive(Debug)]
pub struct Escalation<'a> {
    /// Which array the record came from.
    pub escalation_kind: EscalationKind,
    /// The escalation's id (`id`, or `escalation_id` for deflected ones).
    pub escalation_id: Option<i64>,
    /// The id of the record itself.
    pub record_id: Option<i64>,
    /// `status` (escalations).
    pub status: Option<&'a str>,
    /// `reason` or `escalation_reason`.
    pub reason: Option<&'a str>,
    /// `deflection` (deflected escalations).
    pub deflection: Option<&'a str>,
    /// `created_at` (escalations).
    pub created_at: Option<Instant>,
    /// `escalated_at`.
    pub escalated_at: Option<Instant>,
    /// `from_virtual_agent` or `virtual_agent`.
    pub virtual_agent: Option<&'a RawAgent<'a>>,
    /// `to_agent` (escalations).
    pub to_agent: Option<&'a RawAgent<'a>>,
    /// `from_menu_path`.
    pub from_menu_path: Option<&'a RawMenuPath<'a>>,
    /// `to_menu_path`, or the deflected escalation's `menu_path_id`/`menu_path`.
    pub to_menu_path: Option<&'a RawMenuPath<'a>>,
    /// `menu_path_id` (deflected escalations).
    pub menu_path_id: Option<i64>,
    /// `menu_path` (deflected escalations).
    pub menu_path: Option<&'a str>,
    /// `lang` (deflected escalations).
    pub lang: Option<&'a str>,
}

/// The two escalation arrays a session records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationKind {
    /// `escalations[]`: a virtual agent handed the session to a human.
    Escalation,
    /// `virtual_agent_deflected_escalations[]`: such a hand-over was deflected.
    VaDeflected,
}

impl EscalationKind {
    /// The `escalation_kind` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationKind::Escalation => "escalation",
            EscalationKind::VaDeflected => "va_deflected",
        }
    }
}

/// The kinds of time segment a session records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// `handle_durations[]`: a human agent handling the session (talk, or wrap-up).
    AgentHandle,
    /// `queue_durations[]`: waiting in a queue.
    Queue,
    /// `virtual_agent_handle_durations[]`: a virtual-agent conversation.
    VirtualAgent,
    /// `consumer_handle_durations[]`: the end user's presence.
    ConsumerHandle,
    /// `consumer_event_durations[]`: an end-user event such as a CSAT survey.
    ConsumerEvent,
    /// `consumer_in_menu_durations[]`: IVR menu navigation.
    ConsumerInMenu,
}

impl SegmentKind {
    /// The `segment_kind` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::AgentHandle => "agent_handle",
            SegmentKind::Queue => "queue",
            SegmentKind::VirtualAgent => "virtual_agent",
            SegmentKind::ConsumerHandle => "consumer_handle",
            SegmentKind::ConsumerEvent => "consumer_event",
            SegmentKind::ConsumerInMenu => "consumer_in_menu",
        }
    }
}

/// One time segment of any kind, flattened: fields a kind does not have are `None`.
#[derive(Debug, Default)]
pub struct Segment<'a> {
    /// Which array the segment came from.
    pub segment_kind: Option<SegmentKind>,
    /// The entry's `id`.
    pub segment_id: Option<i64>,
    /// `started_at`.
    pub started_at: Option<Instant>,
    /// `ended_at`.
    pub ended_at: Option<Instant>,
    /// The segment's own length: `call_duration`/`chat_duration`, `queue_duration` or `duration`.
    pub duration_s: Option<i64>,
    /// `agent_id` (handle: the agent; queue: the answering agent).
    pub agent_id: Option<i64>,
    /// The virtual agent (virtual-agent segments).
    pub virtual_agent: Option<&'a RawAgent<'a>>,
    /// `menu_path_id`.
    pub menu_path_id: Option<i64>,
    /// `menu_path` (names, `/`-joined).
    pub menu_path: Option<&'a str>,
    /// `lang`.
    pub lang: Option<&'a str>,
    /// `transfer`: the segment belongs to a transferred leg.
    pub transfer: Option<bool>,
    /// `transfer_id`.
    pub transfer_id: Option<i64>,
    /// `transfer_cold`.
    pub transfer_cold: Option<bool>,
    /// `acw_duration` (after-call work), seconds.
    pub acw_duration_s: Option<i64>,
    /// `bcw_duration` (before-call work), seconds.
    pub bcw_duration_s: Option<i64>,
    /// `hold_duration`, seconds.
    pub hold_duration_s: Option<i64>,
    /// `assigned_connection_duration`, seconds.
    pub assigned_connection_duration_s: Option<i64>,
    /// `barged`.
    pub barged: Option<bool>,
    /// `scheduled_at`.
    pub scheduled_at: Option<Instant>,
    /// `message_count` (chat consumer segments).
    pub message_count: Option<i64>,
    /// `response_count`.
    pub response_count: Option<i64>,
    /// `response_time_total`, seconds.
    pub response_time_total_s: Option<i64>,
    /// `response_time_max`, seconds.
    pub response_time_max_s: Option<i64>,
    /// `response_time_avg`, seconds (fractional).
    pub response_time_avg_s: Option<f64>,
    /// `fallback_response_count` (virtual agents).
    pub fallback_response_count: Option<i64>,
    /// `sentiment` (virtual agents).
    pub sentiment: Option<i64>,
    /// `escalation_reason` (virtual agents).
    pub escalation_reason: Option<&'a str>,
    /// `finish_reason` (virtual agents).
    pub finish_reason: Option<&'a str>,
    /// `initiated_by` (virtual agents).
    pub initiated_by: Option<&'a str>,
    /// `service_level_event` (queues).
    pub service_level_event: Option<&'a str>,
    /// `service_level_abandon_time_threshold`, seconds (queues).
    pub service_level_abandon_threshold_s: Option<i64>,
    /// `service_level_target_percent` (queues).
    pub service_level_target_percent: Option<i64>,
    /// `service_level_target_time`, seconds (queues).
    pub service_level_target_time_s: Option<i64>,
    /// `type` of a consumer event (`csat`).
    pub event_type: Option<&'a str>,
    /// `event` of a consumer event or in-menu period (`finished`).
    pub event: Option<&'a str>,
}

/// One `recordings[]` entry.
#[derive(Debug)]
pub struct Recording<'a> {
    /// The entry as parsed.
    pub raw: &'a RawRecording<'a>,
    /// `started_at`.
    pub started_at: Option<Instant>,
    /// `ended_at`, when present.
    pub ended_at: Option<Instant>,
    /// `duration`, seconds.
    pub duration_s: Option<i64>,
}

/// One `recordings[].redaction_times[]` entry.
#[derive(Debug)]
pub struct Redaction<'a> {
    /// The recording's `id`.
    pub recording_id: Option<i64>,
    /// The entry as parsed.
    pub raw: &'a RawRedaction<'a>,
    /// `start`.
    pub start: Option<Instant>,
    /// `end`.
    pub end: Option<Instant>,
    /// `duration`, fractional seconds.
    pub duration_s: Option<f64>,
}

/// One `offer_events[]` entry.
#[derive(Debug)]
pub struct OfferEvent<'a> {
    /// `casting_time`.
    pub casting_time: Option<Instant>,
    /// `group`.
    pub group: Option<&'a str>,
}

/// One open-ended key/value pair.
#[derive(Debug)]
pub struct Attribute<'a> {
    /// The participant it belongs to; `None` for session-level data.
    pub participant_id: Option<i64>,
    /// `custom_data_secured`, `custom_data_not_secured`, `sip_header` or `virtual_agent_param`.
    pub source: &'static str,
    /// The key.
    pub name: &'a str,
    /// `label` (custom data).
    pub label: Option<&'a str>,
    /// The value as text (numbers in their JSON spelling).
    pub value: Option<Cow<'a, str>>,
}

/// Where a value sits in the document, for error messages: `transfers[0].created_at`.
#[derive(Clone, Copy)]
struct Loc {
    array: &'static str,
    index: usize,
    inner: Option<(&'static str, usize)>,
}

impl Loc {
    const ROOT: Loc = Loc {
        array: "",
        index: 0,
        inner: None,
    };

    fn item(array: &'static str, index: usize) -> Loc {
        Loc {
            array,
            index,
            inner: None,
        }
    }

    fn path(self, field: &str) -> String {
        let mut out = String::new();
        if !self.array.is_empty() {
            out.push_str(&format!("{}[{}].", self.array, self.index));
        }
        if let Some((array, index)) = self.inner {
            out.push_str(&format!("{array}[{index}]."));
        }
        out.push_str(field);
        out
    }

    fn instant(self, value: &Option<Str<'_>>, field: &str) -> Result<Option<Instant>, FileError> {
        value
            .as_ref()
            .map(|text| {
                Instant::parse(text.as_str()).map_err(|why| {
                    FileError::field(RejectKind::InvalidTimestamp, self.path(field), why)
                })
            })
            .transpose()
    }

    fn seconds(self, value: &Option<Scalar<'_>>, field: &str) -> Result<Option<i64>, FileError> {
        value
            .as_ref()
            .map(|v| value::seconds(v, || self.path(field)))
            .transpose()
    }

    fn decimal(self, value: &Option<Scalar<'_>>, field: &str) -> Result<Option<f64>, FileError> {
        value
            .as_ref()
            .map(|v| value::decimal(v, || self.path(field)))
            .transpose()
    }

    /// `call_duration` or `chat_duration`, whichever is present (calls first).
    fn either_seconds(
        self,
        call: &Option<Scalar<'_>>,
        chat: &Option<Scalar<'_>>,
    ) -> Result<Option<i64>, FileError> {
        match (call, chat) {
            (Some(_), _) => self.seconds(call, "call_duration"),
            (None, _) => self.seconds(chat, "chat_duration"),
        }
    }
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path(""))
    }
}

impl<'a> RawSession<'a> {
    /// What the document says about its own kind.
    pub fn kind_evidence(&self) -> KindEvidence<'_> {
        KindEvidence {
            call_keys: self.call_type.is_some() || self.call_uuid.is_some(),
            chat_keys: self.chat_type.is_some() || self.chat_uuid.is_some(),
            session_type: text(&self.session_type_v2).or(text(&self.session_type)),
        }
    }
}

/// Normalizes one parsed document. `file_name` decides the kind when the document does not.
pub fn normalize<'a>(raw: &'a RawSession<'a>, file_name: &str) -> Result<Session<'a>, FileError> {
    let kind = raw.kind_evidence().decide(file_name)?;
    let root = Loc::ROOT;
    let created_at = created_at(raw)?;
    // The arrays first, then the session's own values: the first value that cannot be
    // interpreted, in this order, is the field a reject names.
    let participants = participants(raw)?;
    let transfers = transfers(raw)?;
    let escalations = escalations(raw)?;
    let segments = segments(raw)?;
    let (recordings, redactions) = recordings(raw)?;
    let offer_events = offer_events(raw)?;

    Ok(Session {
        raw,
        id: raw.id,
        kind,
        status: raw.status.as_ref().map(Status::from_scalar),
        session_type: text(&raw.call_type)
            .or(text(&raw.chat_type))
            .or(text(&raw.session_type)),
        uuid: text(&raw.call_uuid).or(text(&raw.chat_uuid)),
        created_at,
        queued_at: root.instant(&raw.queued_at, "queued_at")?,
        assigned_at: root.instant(&raw.assigned_at, "assigned_at")?,
        connected_at: root.instant(&raw.connected_at, "connected_at")?,
        ends_at: root.instant(&raw.ends_at, "ends_at")?,
        scheduled_at: root.instant(&raw.scheduled_at, "scheduled_at")?,
        updated_at: root.instant(&raw.updated_at, "updated_at")?,
        first_msg_sent_at: root.instant(&raw.first_msg_sent_at, "first_msg_sent_at")?,
        last_msg_sent_at: root.instant(&raw.last_msg_sent_at, "last_msg_sent_at")?,
        duration_s: root.either_seconds(&raw.call_duration, &raw.chat_duration)?,
        wait_duration_s: root.seconds(&raw.wait_duration, "wait_duration")?,
        hold_duration_s: root.seconds(&raw.hold_duration, "hold_duration")?,
        average_response_time_s: root
            .seconds(&raw.average_response_time, "average_response_time")?,
        longest_response_time_s: root
            .seconds(&raw.longest_response_time, "longest_response_time")?,
        agent_kind: raw.agent_info.as_ref().and_then(AgentKind::of),
        agent_number: raw
            .agent_info
            .as_ref()
            .and_then(|a| a.agent_number.as_ref())
            .map(Scalar::to_text),
        adapter_fail_code: raw.adapter_fail_code.as_ref().map(Scalar::to_text),
        participants,
        transfers,
        escalations,
        segments,
        recordings,
        redactions,
        offer_events,
        attributes: attributes(raw),
    })
}

/// `created_at`, the one timestamp a session cannot do without.
fn created_at(raw: &RawSession<'_>) -> Result<Instant, FileError> {
    Loc::ROOT
        .instant(&raw.created_at, "created_at")?
        .ok_or_else(|| {
            FileError::field(
                RejectKind::MissingField,
                "created_at",
                "missing field `created_at`",
            )
        })
}

fn participants<'a>(raw: &'a RawSession<'a>) -> Result<Vec<Participant<'a>>, FileError> {
    raw.participants
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = Loc::item("participants", i);
            Ok(Participant {
                raw: p,
                connected_at: at.instant(&p.connected_at, "connected_at")?,
                left_at: match &p.ended_at {
                    Some(_) => at.instant(&p.ended_at, "ended_at")?,
                    None => at.instant(&p.finished_at, "finished_at")?,
                },
                duration_s: at.either_seconds(&p.call_duration, &p.chat_duration)?,
                hold_duration_s: at.seconds(&p.hold_duration, "hold_duration")?,
                location_id: p.location_id.or(p.location.as_ref().and_then(|l| l.id)),
                spelling_and_grammar_check: p
                    .agent_assist
                    .as_ref()
                    .map(|a| a.keys().any(|k| k.as_str() == "spelling_and_grammar_check")),
                adapter_fail_code: p.adapter_fail_code.as_ref().map(Scalar::to_text),
            })
        })
        .collect()
}

fn transfers<'a>(raw: &'a RawSession<'a>) -> Result<Vec<Transfer<'a>>, FileError> {
    raw.transfers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = Loc::item("transfers", i);
            Ok(Transfer {
                raw: t,
                created_at: at.instant(&t.created_at, "created_at")?,
                assigned_at: at.instant(&t.assigned_at, "assigned_at")?,
                connected_at: at.instant(&t.connected_at, "connected_at")?,
                updated_at: at.instant(&t.updated_at, "updated_at")?,
                duration_s: at.either_seconds(&t.call_duration, &t.chat_duration)?,
                wait_duration_s: at.seconds(&t.wait_duration, "wait_duration")?,
            })
        })
        .collect()
}

/// `escalations[]`, then `virtual_agent_deflected_escalations[]`, in one shape.
fn escalations<'a>(raw: &'a RawSession<'a>) -> Result<Vec<Escalation<'a>>, FileError> {
    let mut escalations =
        Vec::with_capacity(raw.escalations.len() + raw.virtual_agent_deflected_escalations.len());
    for (i, e) in raw.escalations.iter().enumerate() {
        let at = Loc::item("escalations", i);
        escalations.push(Escalation {
            escalation_kind: EscalationKind::Escalation,
            escalation_id: e.id,
            record_id: e.id,
            status: text(&e.status),
            reason: text(&e.reason),
            deflection: None,
            created_at: at.instant(&e.created_at, "created_at")?,
            escalated_at: at.instant(&e.escalated_at, "escalated_at")?,
            virtual_agent: e.from_virtual_agent.as_ref(),
            to_agent: e.to_agent.as_ref(),
            from_menu_path: e.from_menu_path.as_ref(),
            to_menu_path: e.to_menu_path.as_ref(),
            menu_path_id: None,
            menu_path: None,
            lang: None,
        });
    }
    for (i, e) in raw.virtual_agent_deflected_escalations.iter().enumerate() {
        let at = Loc::item("virtual_agent_deflected_escalations", i);
        escalations.push(Escalation {
            escalation_kind: EscalationKind::VaDeflected,
            escalation_id: e.escalation_id,
            record_id: e.id,
            status: None,
            reason: text(&e.escalation_reason),
            deflection: text(&e.deflection),
            created_at: None,
            escalated_at: at.instant(&e.escalated_at, "escalated_at")?,
            virtual_agent: e.virtual_agent.as_ref(),
            to_agent: None,
            from_menu_path: None,
            to_menu_path: None,
            menu_path_id: e.menu_path_id,
            menu_path: text(&e.menu_path),
            lang: text(&e.lang),
        });
    }
    Ok(escalations)
}

/// `recordings[]`, and their `redaction_times[]` flattened (each after its recording).
fn recordings<'a>(
    raw: &'a RawSession<'a>,
) -> Result<(Vec<Recording<'a>>, Vec<Redaction<'a>>), FileError> {
    let mut recordings = Vec::with_capacity(raw.recordings.len());
    let mut redactions = Vec::new();
    for (i, r) in raw.recordings.iter().enumerate() {
        let at = Loc::item("recordings", i);
        recordings.push(Recording {
            raw: r,
            started_at: at.instant(&r.started_at, "started_at")?,
            ended_at: at.instant(&r.ended_at, "ended_at")?,
            duration_s: at.seconds(&r.duration, "duration")?,
        });
        for (j, red) in r.redaction_times.iter().enumerate() {
            let at = Loc {
                inner: Some(("redaction_times", j)),
                ..at
            };
            redactions.push(Redaction {
                recording_id: r.id,
                raw: red,
                start: at.instant(&red.start, "start")?,
                end: at.instant(&red.end, "end")?,
                duration_s: at.decimal(&red.duration, "duration")?,
            });
        }
    }
    Ok((recordings, redactions))
}

fn offer_events<'a>(raw: &'a RawSession<'a>) -> Result<Vec<OfferEvent<'a>>, FileError> {
    raw.offer_events
        .iter()
        .enumerate()
        .map(|(i, o)| {
            Ok(OfferEvent {
                casting_time: Loc::item("offer_events", i)
                    .instant(&o.casting_time, "casting_time")?,
                group: text(&o.group),
            })
        })
        .collect()
}

/// Every time segment: the six arrays one after the other, each in document order.
fn segments<'a>(raw: &'a RawSession<'a>) -> Result<Vec<Segment<'a>>, FileError> {
    let mut segments = Vec::with_capacity(
        raw.handle_durations.len()
            + raw.queue_durations.len()
            + raw.virtual_agent_handle_durations.len()
            + raw.consumer_handle_durations.len()
            + raw.consumer_event_durations.len()
            + raw.consumer_in_menu_durations.len(),
    );
    push_segments(
        &mut segments,
        "handle_durations",
        &raw.handle_durations,
        Segment::agent_handle,
    )?;
    push_segments(
        &mut segments,
        "queue_durations",
        &raw.queue_durations,
        Segment::queue,
    )?;
    push_segments(
        &mut segments,
        "virtual_agent_handle_durations",
        &raw.virtual_agent_handle_durations,
        Segment::virtual_agent,
    )?;
    push_segments(
        &mut segments,
        "consumer_handle_durations",
        &raw.consumer_handle_durations,
        Segment::consumer_handle,
    )?;
    push_segments(
        &mut segments,
        "consumer_event_durations",
        &raw.consumer_event_durations,
        Segment::consumer_event,
    )?;
    push_segments(
        &mut segments,
        "consumer_in_menu_durations",
        &raw.consumer_in_menu_durations,
        Segment::consumer_in_menu,
    )?;
    Ok(segments)
}

/// Appends one segment per entry of `array`, in order.
fn push_segments<'a, T>(
    out: &mut Vec<Segment<'a>>,
    array: &'static str,
    entries: &'a [T],
    segment: impl Fn(Loc, &'a T) -> Result<Segment<'a>, FileError>,
) -> Result<(), FileError> {
    for (i, entry) in entries.iter().enumerate() {
        out.push(segment(Loc::item(array, i), entry)?);
    }
    Ok(())
}

/// One segment of each kind, from its entry at `at`.
impl<'a> Segment<'a> {
    fn agent_handle(at: Loc, h: &'a RawHandleDuration<'a>) -> Result<Self, FileError> {
        Ok(Segment {
            segment_kind: Some(SegmentKind::AgentHandle),
            segment_id: h.id,
            started_at: at.instant(&h.started_at, "started_at")?,
            ended_at: at.instant(&h.ended_at, "ended_at")?,
            duration_s: at.either_seconds(&h.call_duration, &h.chat_duration)?,
            agent_id: h.agent_id,
            menu_path_id: h.menu_path_id,
            menu_path: text(&h.menu_path),
            lang: text(&h.lang),
            transfer: h.transfer,
            transfer_id: h.transfer_id,
            transfer_cold: h.transfer_cold,
            acw_duration_s: at.seconds(&h.acw_duration, "acw_duration")?,
            bcw_duration_s: at.seconds(&h.bcw_duration, "bcw_duration")?,
            hold_duration_s: at.seconds(&h.hold_duration, "hold_duration")?,
            assigned_connection_duration_s: at.seconds(
                &h.assigned_connection_duration,
                "assigned_connection_duration",
            )?,
            barged: h.barged,
            scheduled_at: at.instant(&h.scheduled_at, "scheduled_at")?,
            response_count: h.response_count,
            response_time_total_s: at.seconds(&h.response_time_total, "response_time_total")?,
            response_time_max_s: at.seconds(&h.response_time_max, "response_time_max")?,
            response_time_avg_s: at.decimal(&h.response_time_avg, "response_time_avg")?,
            ..Segment::default()
        })
    }

    fn queue(at: Loc, q: &'a RawQueueDuration<'a>) -> Result<Self, FileError> {
        Ok(Segment {
            segment_kind: Some(SegmentKind::Queue),
            segment_id: q.id,
            started_at: at.instant(&q.started_at, "started_at")?,
            ended_at: at.instant(&q.ended_at, "ended_at")?,
            duration_s: at.seconds(&q.queue_duration, "queue_duration")?,
            agent_id: q.agent_id,
            menu_path_id: q.menu_path_id,
            menu_path: text(&q.menu_path),
            lang: text(&q.lang),
            transfer: q.transfer,
            transfer_id: q.transfer_id,
            transfer_cold: q.transfer_cold,
            service_level_event: text(&q.service_level_event),
            service_level_abandon_threshold_s: at.seconds(
                &q.service_level_abandon_time_threshold,
                "service_level_abandon_time_threshold",
            )?,
            service_level_target_percent: q.service_level_target_percent,
            service_level_target_time_s: at
                .seconds(&q.service_level_target_time, "service_level_target_time")?,
            ..Segment::default()
        })
    }

    fn virtual_agent(at: Loc, v: &'a RawVirtualAgentHandle<'a>) -> Result<Self, FileError> {
        Ok(Segment {
            segment_kind: Some(SegmentKind::VirtualAgent),
            segment_id: v.id,
            started_at: at.instant(&v.started_at, "started_at")?,
            ended_at: at.instant(&v.ended_at, "ended_at")?,
            duration_s: at.either_seconds(&v.call_duration, &v.chat_duration)?,
            virtual_agent: v.virtual_agent.as_ref(),
            menu_path_id: v.menu_path_id,
            menu_path: text(&v.menu_path),
            lang: text(&v.lang),
            transfer: v.transfer,
            transfer_id: v.transfer_id,
            response_count: v.response_count,
            fallback_response_count: v.fallback_response_count,
            sentiment: v.sentiment,
            escalation_reason: text(&v.escalation_reason),
            finish_reason: text(&v.finish_reason),
            initiated_by: text(&v.initiated_by),
            ..Segment::default()
        })
    }

    fn consumer_handle(at: Loc, c: &'a RawConsumerHandle<'a>) -> Result<Self, FileError> {
        Ok(Segment {
            segment_kind: Some(SegmentKind::ConsumerHandle),
            segment_id: c.id,
            started_at: at.instant(&c.started_at, "started_at")?,
            ended_at: at.instant(&c.ended_at, "ended_at")?,
            duration_s: at.either_seconds(&c.call_duration, &c.chat_duration)?,
            hold_duration_s: at.seconds(&c.hold_duration, "hold_duration")?,
            message_count: c.message_count,
            response_count: c.response_count,
            response_time_total_s: at.seconds(&c.response_time_total, "response_time_total")?,
            response_time_max_s: at.seconds(&c.response_time_max, "response_time_max")?,
            response_time_avg_s: at.decimal(&c.response_time_avg, "response_time_avg")?,
            ..Segment::default()
        })
    }

    fn consumer_event(at: Loc, e: &'a RawConsumerEvent<'a>) -> Result<Self, FileError> {
        Ok(Segment {
            segment_kind: Some(SegmentKind::ConsumerEvent),
            segment_id: e.id,
            started_at: at.instant(&e.started_at, "started_at")?,
            ended_at: at.instant(&e.ended_at, "ended_at")?,
            duration_s: at.seconds(&e.duration, "duration")?,
            menu_path_id: e.menu_path_id,
            menu_path: text(&e.menu_path),
            lang: text(&e.lang),
            event_type: text(&e.event_type),
            event: text(&e.event),
            ..Segment::default()
        })
    }

    fn consumer_in_menu(at: Loc, m: &'a RawConsumerInMenu<'a>) -> Result<Self, FileError> {
        Ok(Segment {
            segment_kind: Some(SegmentKind::ConsumerInMenu),
            segment_id: m.id,
            started_at: at.instant(&m.started_at, "started_at")?,
            ended_at: at.instant(&m.ended_at, "ended_at")?,
            duration_s: at.seconds(&m.duration, "duration")?,
            menu_path_id: m.menu_path_id,
            menu_path: text(&m.menu_path),
            lang: text(&m.lang),
            event: text(&m.event),
            ..Segment::default()
        })
    }
}

fn attributes<'a>(raw: &'a RawSession<'a>) -> Vec<Attribute<'a>> {
    let mut out = Vec::new();
    let custom = [
        ("custom_data_secured", &raw.custom_data_secured),
        ("custom_data_not_secured", &raw.custom_data_not_secured),
    ];
    for (source, map) in custom {
        for (name, datum) in map.iter().flatten() {
            out.push(Attribute {
                participant_id: None,
                source,
                name: name.as_str(),
                label: text(&datum.label),
                value: datum.value.as_ref().map(Scalar::to_text),
            });
        }
    }
    let sip =
        |participant_id,
         map: &'a Option<std::collections::BTreeMap<Str<'a>, Option<Scalar<'a>>>>| {
            map.iter().flatten().map(move |(name, value)| Attribute {
                participant_id,
                source: "sip_header",
                name: name.as_str(),
                label: None,
                value: value.as_ref().map(Scalar::to_text),
            })
        };
    out.extend(sip(None, &raw.sip_headers));
    for p in &raw.participants {
        out.extend(sip(p.id, &p.sip_headers));
        for (name, value) in p.virtual_agent_params.iter().flatten() {
            out.push(Attribute {
                participant_id: p.id,
                source: "virtual_agent_param",
                name: name.as_str(),
                label: None,
                value: value.as_ref().map(Scalar::to_text),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(json: &str) -> Result<(), FileError> {
        let parsed = crate::parse::parse(json.as_bytes())?;
        normalize(&parsed.session, "x.json").map(|_| ())
    }

    #[test]
    fn nested_errors_name_the_full_path() {
        let err = session(
            r#"{"id": 1, "call_type": "Voice Outbound", "created_at": "2026-01-01T00:00:00Z",
                "recordings": [{"id": 1}, {"id": 2, "redaction_times": [{"start": "2026-13-01T00:00:00Z"}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.kind, RejectKind::InvalidTimestamp);
        assert_eq!(
            err.field.as_deref(),
            Some("recordings[1].redaction_times[0].start")
        );
    }

    /// The error of a call whose document has the keys in `extra`.
    fn error_with(extra: &str) -> FileError {
        session(&format!(
            r#"{{"id": 1, "call_type": "Voice Outbound", "created_at": "2026-01-01T00:00:00Z"{extra}}}"#
        ))
        .unwrap_err()
    }

    #[test]
    fn every_timestamp_field_is_bounded_to_the_years_the_tables_hold() {
        let beyond = "9999-12-31T23:30:00-05:00"; // 10000-01-01T04:30:00Z
        for (extra, field) in [
            (r#", "updated_at": "B""#, "updated_at"),
            (r#", "scheduled_at": "B""#, "scheduled_at"),
            (
                r#", "transfers": [{"created_at": "B"}]"#,
                "transfers[0].created_at",
            ),
            (
                r#", "participants": [{}, {"finished_at": "B"}]"#,
                "participants[1].finished_at",
            ),
            (
                r#", "offer_events": [{"casting_time": "B"}]"#,
                "offer_events[0].casting_time",
            ),
            (
                r#", "virtual_agent_deflected_escalations": [{"escalated_at": "B"}]"#,
                "virtual_agent_deflected_escalations[0].escalated_at",
            ),
            (
                r#", "recordings": [{"redaction_times": [{"end": "B"}]}]"#,
                "recordings[0].redaction_times[0].end",
            ),
            (
                r#", "handle_durations": [{"scheduled_at": "B"}]"#,
                "handle_durations[0].scheduled_at",
            ),
        ] {
            let err = error_with(&extra.replace('B', beyond));
            assert_eq!(
                (err.kind, err.field.as_deref()),
                (RejectKind::InvalidTimestamp, Some(field)),
                "{err}"
            );
            assert!(err.detail.contains(beyond), "{err}");
            assert!(err.detail.contains("9999-12-31T23:59:59.999999Z"), "{err}");
        }
        let err = session(
            r#"{"id": 1, "call_type": "Voice Outbound", "created_at": "0001-01-01T00:00:00+00:01"}"#,
        )
        .unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_deref()),
            (RejectKind::InvalidTimestamp, Some("created_at"))
        );
    }

    #[test]
    fn every_duration_field_is_bounded_to_the_span_the_timestamps_hold() {
        for (extra, field) in [
            (r#", "call_duration": 1e30"#, "call_duration"),
            (
                r#", "wait_duration": 99999999999999999999"#,
                "wait_duration",
            ),
            (r#", "hold_duration": "315537897600""#, "hold_duration"),
            (
                r#", "participants": [{"call_duration": 9223372036854775807}]"#,
                "participants[0].call_duration",
            ),
            (
                r#", "handle_durations": [{"response_time_avg": 1e300}]"#,
                "handle_durations[0].response_time_avg",
            ),
            (
                r#", "recordings": [{"redaction_times": [{"duration": "1e20"}]}]"#,
                "recordings[0].redaction_times[0].duration",
            ),
        ] {
            let err = error_with(extra);
            assert_eq!(
                (err.kind, err.field.as_deref()),
                (RejectKind::InvalidDuration, Some(field)),
                "{err}"
            );
            assert!(
                err.detail.contains("cannot exceed 315537897599 seconds"),
                "{err}"
            );
        }
    }

    #[test]
    fn created_at_is_required() {
        let err = session(r#"{"id": 1, "call_type": "Voice Outbound"}"#).unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_deref()),
            (RejectKind::MissingField, Some("created_at"))
        );
    }

    #[test]
    fn agent_variant_is_read_from_key_presence() {
        let json = r#"{"id": 1, "chat_type": "Messaging (SMS)", "created_at": "2026-01-01T00:00:00Z",
                       "agent_info": {"id": 6, "name": "billing_va", "va_alias": null}}"#;
        let parsed = crate::parse::parse(json.as_bytes()).unwrap();
        let s = normalize(&parsed.session, "x.json").unwrap();
        assert_eq!(
            (s.kind, s.agent_kind),
            (SessionKind::Chat, Some(AgentKind::Virtual))
        );
    }
}
