//! One synthetic session document, call or chat, shaped key for key like the real exports in
//! `fixtures/real/` (call-1418 for calls, chat-135 for chats).
//!
//! A session is first laid out on a timeline (menu, virtual agent, queue, agent legs joined
//! by transfers, wrap-up, survey), then written as JSON in the platform's key order, so every
//! timestamp is coherent: `created_at ≤ queued_at < assigned_at < ends_at < updated_at`, and
//! segments nest inside the session. Nested ids are `session_id * 100 + n` (the fixtures'
//! convention), unique within a session and stable across its re-exports.

use crate::json::{obj, opt_int, opt_ts, s, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// The statuses the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenStatus {
    Finished,
    Failed,
    Deflected,
    VoicemailReceived,
    Scheduled,
    Canceled,
}

impl GenStatus {
    /// The canonical name (the pipeline's `status` column).
    pub(crate) fn name(self) -> &'static str {
        match self {
            GenStatus::Finished => "finished",
            GenStatus::Failed => "failed",
            GenStatus::Deflected => "deflected",
            GenStatus::VoicemailReceived => "voicemail_received",
            GenStatus::Scheduled => "scheduled",
            GenStatus::Canceled => "canceled",
        }
    }

    /// Draws a status: calls and chats have different mixes (chats are never voicemail or
    /// scheduled).
    pub(crate) fn draw(rng: &mut Rng, kind: SessionKind) -> GenStatus {
        const CALL: [(GenStatus, u32); 6] = [
            (GenStatus::Finished, 820),
            (GenStatus::Failed, 60),
            (GenStatus::Deflected, 40),
            (GenStatus::VoicemailReceived, 30),
            (GenStatus::Scheduled, 20),
            (GenStatus::Canceled, 30),
        ];
        const CHAT: [(GenStatus, u32); 4] = [
            (GenStatus::Finished, 850),
            (GenStatus::Failed, 60),
            (GenStatus::Deflected, 40),
            (GenStatus::Canceled, 50),
        ];
        match kind {
            SessionKind::Call => rng.weighted(&CALL),
            SessionKind::Chat => rng.weighted(&CHAT),
        }
    }

    /// The `status` value as written: mostly the name, sometimes the numeric code (`8`, `"8"`).
    fn value(self, rng: &mut Rng) -> V {
        match self {
            GenStatus::Finished => {
                let roll = rng.below(100);
                if roll < 3 {
                    V::Int(8)
                } else if roll < 5 {
                    s("8")
                } else {
                    s("finished")
                }
            }
            GenStatus::Failed if rng.chance(0.1) => V::Int(9),
            GenStatus::VoicemailReceived if rng.chance(0.2) => V::Int(81),
            other => s(other.name()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tenant's world: agents, virtual agents, queues, disposition codes.

const FIRST_NAMES: [(&str, &str); 16] = [
    ("Jane", "jane"),
    ("John", "john"),
    ("María", "maria"),
    ("Wei", "wei"),
    ("Aisha", "aisha"),
    ("Lena", "lena"),
    ("Tomás", "tomas"),
    ("Priya", "priya"),
    ("Kenji", "kenji"),
    ("Olivia", "olivia"),
    ("Noah", "noah"),
    ("Fatima", "fatima"),
    ("Lucas", "lucas"),
    ("Sofia", "sofia"),
    ("Mateo", "mateo"),
    ("Chloé", "chloe"),
];

const LAST_NAMES: [(&str, &str); 13] = [
    ("Smith", "smith"),
    ("Garcia", "garcia"),
    ("Chen", "chen"),
    ("Okafor", "okafor"),
    ("Vogel", "vogel"),
    ("Müller", "muller"),
    ("Rossi", "rossi"),
    ("Patel", "patel"),
    ("Tanaka", "tanaka"),
    ("Dubois", "dubois"),
    ("Kowalski", "kowalski"),
    ("Silva", "silva"),
    ("Nguyen", "nguyen"),
];

const AGENT_COUNT: usize = 48;

/// A human agent of the tenant.
#[derive(Debug, Clone, Copy)]
struct Agent {
    index: usize,
}

impl Agent {
    fn id(self) -> i64 {
        101 + self.index as i64
    }
    fn first(self) -> (&'static str, &'static str) {
        FIRST_NAMES[self.index % FIRST_NAMES.len()]
    }
    fn last(self) -> (&'static str, &'static str) {
        LAST_NAMES[(self.index * 5 + self.index / FIRST_NAMES.len()) % LAST_NAMES.len()]
    }
    fn email(self) -> String {
        format!("{}.{}@example.com", self.first().1, self.last().1)
    }

    /// The human-agent object (`agent_info`, `from_agent`, `to_agent`).
    fn object(self) -> V {
        obj! {
            "id" => V::Int(self.id()),
            "agent_number" => V::Null,
            "email" => string(self.email()),
            "name" => string(format!("{} {}", self.first().0, self.last().0)),
            "last_name" => s(self.last().0),
            "first_name" => s(self.first().0),
            "avatar_url" => string(format!("https://avatar.example.com/user/avatar/{}/avatar.png", self.id())),
        }
    }
}

/// A virtual agent: `(id, name, va_alias)`.
type Va = (i64, &'static str, Option<&'static str>);

const VIRTUAL_AGENTS: [Va; 5] = [
    (6, "ccaas_escalation_va", None),
    (9, "billing_va", Some("Ava")),
    (11, "support_va", Some("Max")),
    (14, "sales_va", None),
    (16, "returns_va", Some("Rex")),
];

const TASK_VIRTUAL_AGENTS: [Va; 3] = [
    (15, "order_lookup_tva", None),
    (17, "identity_check_tva", None),
    (19, "address_update_tva", None),
];

/// The post-session survey agent that joins some re-exports.
const SURVEY_VA: Va = (21, "csat_survey_tva", None);

fn va_object(va: Va) -> V {
    obj! {
        "id" => V::Int(va.0),
        "name" => s(va.1),
        "va_alias" => va.2.map_or(V::Null, s),
        "avatar_url" => string(format!("https://avatar.example.com/virtual_agent/avatar/{}/avatar.png", va.0)),
    }
}

/// A queue (leaf menu) and the path to it.
#[derive(Debug)]
struct Menu {
    id: i64,
    name: &'static str,
    parent_id: Option<i64>,
    position: i64,
    hidden: bool,
    path: &'static str,
    materialized: &'static str,
}

impl Menu {
    fn depth(&self) -> i64 {
        self.materialized.split('/').count() as i64
    }
    /// `menu_path_id` in segments: the id of the menu-path record, not of the menu.
    fn path_id(&self) -> i64 {
        200 + self.id
    }
    fn path_object(&self) -> V {
        obj! {
            "items_count" => V::Int(self.depth()),
            "name" => s(self.path),
            "materialized_path" => s(self.materialized),
        }
    }
    fn selected(&self, menu_type: &'static str) -> V {
        obj! {
            "id" => V::Int(self.id),
            "name" => s(self.name),
            "parent_id" => opt_int(self.parent_id),
            "position" => V::Int(self.position),
            "deleted" => V::Bool(false),
            "menu_type" => s(menu_type),
            "hidden" => V::Bool(self.hidden),
        }
    }
}

macro_rules! menu {
    ($id:expr, $name:expr, $parent:expr, $pos:expr, $path:expr, $mat:expr) => {
        Menu {
            id: $id,
            name: $name,
            parent_id: $parent,
            position: $pos,
            hidden: false,
            path: $path,
            materialized: $mat,
        }
    };
}

const CALL_MENUS: [Menu; 8] = [
    menu!(43, "Payments", Some(12), 1, "Billing/Payments", "12/43"),
    menu!(44, "Refunds", Some(12), 2, "Billing/Refunds", "12/44"),
    menu!(
        51,
        "Outage",
        Some(15),
        1,
        "Technical Support/Outage",
        "15/51"
    ),
    menu!(
        52,
        "Internet",
        Some(15),
        2,
        "Technical Support/Internet",
        "15/52"
    ),
    menu!(61, "New Service", Some(18), 1, "Sales/New Service", "18/61"),
    menu!(62, "Upgrades", Some(18), 2, "Sales/Upgrades", "18/62"),
    menu!(21, "General", None, 4, "General", "21"),
    menu!(8, "Escalations", Some(6), 1, "Support/Escalations", "6/8"),
];

const CHAT_MENUS: [Menu; 6] = [
    menu!(112, "web_billing", None, 1, "web_billing", "112"),
    menu!(113, "web_support", None, 2, "web_support", "113"),
    menu!(121, "Orders", Some(120), 1, "Shop/Orders", "120/121"),
    menu!(122, "Returns", Some(120), 2, "Shop/Returns", "120/122"),
    menu!(131, "sms_general", None, 3, "sms_general", "131"),
    menu!(141, "whatsapp_support", None, 4, "whatsapp_support", "141"),
];

const SCHEDULE_MENU: Menu = Menu {
    id: 70,
    name: "schedule_call",
    parent_id: None,
    position: 19,
    hidden: true,
    path: "schedule_call",
    materialized: "70",
};

const DISPOSITION_CODES: [(i64, &str); 8] = [
    (1, "Resolved"),
    (2, "Escalated to Tier 2"),
    (3, "Callback requested"),
    (4, "No Resolution - followup needed"),
    (5, "Billing question"),
    (6, "Technical issue"),
    (7, "Sales inquiry"),
    (8, "Wrong department"),
];

const DISPOSITION_NOTES: [&str; 6] = [
    "notes",
    "customer asked for a callback tomorrow",
    "refund processed",
    "sent troubleshooting steps by email",
    "verified identity; updated address",
    "escalated to billing team",
];

const FEEDBACK: [&str; 5] = [
    "quick and helpful",
    "agent was very kind",
    "took too long to get through",
    "problem solved, thanks!",
    "had to repeat my account number twice",
];

const LANGS: [(&str, u32); 5] = [("en", 80), ("es", 12), ("fr", 4), ("de", 2), ("pt", 2)];

/// How a call type behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Inbound through the IVR menu (virtual agent possible).
    Ivr,
    /// Inbound from an app or a direct number: no IVR menu, virtual agent possible.
    Inbound,
    /// Placed by an agent: no queue.
    Outbound,
    /// Scheduled or callback: queued at `scheduled_at`.
    Scheduled,
}

/// `(call_type, session_type_v2, route, weight)`.
const CALL_TYPES: [((&str, &str, Route), u32); 10] = [
    (
        ("Voice Inbound (IVR)", "Voice Inbound (IVR)", Route::Ivr),
        50,
    ),
    (
        (
            "Voice Inbound (IVR using App)",
            "Voice Inbound (IVR using Mobile)",
            Route::Ivr,
        ),
        5,
    ),
    (
        (
            "Voice Inbound (App)",
            "Voice Inbound (Mobile)",
            Route::Inbound,
        ),
        10,
    ),
    (
        (
            "Voice Inbound (Direct)",
            "Voice Inbound (Direct)",
            Route::Inbound,
        ),
        5,
    ),
    (("Voice Outbound", "Voice Outbound", Route::Outbound), 10),
    (
        (
            "Voice Outbound (API)",
            "Voice Outbound (API)",
            Route::Outbound,
        ),
        5,
    ),
    (
        (
            "Voice Scheduled (Web)",
            "Voice Scheduled (Web)",
            Route::Scheduled,
        ),
        5,
    ),
    (
        (
            "Voice Scheduled (API)",
            "Voice Scheduled (API)",
            Route::Scheduled,
        ),
        5,
    ),
    (
        (
            "Voice Callback (Web)",
            "Voice Callback (Web)",
            Route::Scheduled,
        ),
        5,
    ),
    // Dialed by the platform from a campaign's calling list, then handled like an agent's
    // outbound call (no queue).
    (("Voice Campaign", "Voice Campaign", Route::Outbound), 5),
];

/// `(chat_type, session_type_v2, provider)`.
const CHAT_TYPES: [((&str, &str, &str), u32); 4] = [
    (
        (
            "Messaging Inbound (Web Chat)",
            "Messaging Inbound (Web Chat)",
            "twilio_conversations",
        ),
        45,
    ),
    (
        (
            "Messaging Inbound (App Chat)",
            "Messaging Inbound (Mobile Chat)",
            "twilio_conversations",
        ),
        20,
    ),
    (
        ("Messaging (SMS)", "Messaging (SMS)", "twilio_conversations"),
        20,
    ),
    (
        (
            "Messaging (WhatsApp)",
            "Messaging (WhatsApp)",
            "nexmo_messages",
        ),
        15,
    ),
];

/// Share of inbound calls whose caller withheld the number: `phone_number` is `null` or
/// `"anonymous"`.
const WITHHELD_CALLER_ID: f64 = 0.15;

/// Share of transfers whose target queue redirected them (`deflection` other than
/// `no_deflection`).
const TRANSFER_DEFLECTED: f64 = 0.08;

/// Share of eligible inbound sessions whose queue has `automation_redirection` groups.
const REDIRECTED: f64 = 0.06;

/// Share of sessions handled by agents whose export has no `handle_durations` (only the
/// agent participants tell who talked).
const NO_HANDLE_SEGMENTS: f64 = 0.005;

/// Whether a chat type is addressed by phone number (SMS, WhatsApp).
fn provider_phone(chat_type: &str) -> bool {
    chat_type.contains("SMS") || chat_type.contains("WhatsApp")
}

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

/// A CRM-style 18-character id with the given 3-character prefix and suffix.
fn crm_id(rng: &mut Rng, prefix: &str, suffix: &str) -> String {
    let mut out = String::with_capacity(18);
    out.push_str(prefix);
    out.push_str("ak");
    rng.push_chars(&mut out, ALNUM, 10);
    out.push_str(suffix);
    out
}

fn phone(rng: &mut Rng) -> String {
    let mut out = String::from("+1555010");
    rng.push_chars(&mut out, DIGITS, 4);
    out
}

// ---------------------------------------------------------------------------------------------
// Building a session.

/// What a re-export needs to know about the first export.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    pub(crate) kind: SessionKind,
    pub(crate) id: i64,
    pub(crate) offset: i32,
    pub(crate) ends_at: Option<i64>,
    pub(crate) updated_at: i64,
    /// Agent legs: `(participant id, agent, transfer id that started the leg)`.
    legs: Vec<(i64, usize, Option<i64>)>,
    list: (i64, &'static str),
}

/// A generated document and what a re-export needs to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    /// The document.
    pub(crate) doc: V,
    /// Facts about it.
    pub(crate) info: Info,
}

/// One agent handling the session between two transfers.
struct Leg {
    agent: Agent,
    participant_id: i64,
    /// Queue wait before the leg; `None` for an outbound call's first leg.
    queue: Option<(i64, i64)>,
    menu: &'static Menu,
    start: i64,
    end: i64,
    hold: i64,
    assigned_connection: i64,
    acw: Option<i64>,
    /// `(transfer id, created_at, cold)` of the transfer that started this leg.
    transfer_in: Option<(i64, i64, bool)>,
    /// The transfer's `deflection` when its target queue redirected it (else `no_deflection`).
    transfer_deflection: Option<&'static str>,
    sip: bool,
}

/// A virtual-agent conversation.
struct VaTalk {
    va: Va,
    participant_id: i64,
    start: i64,
    end: i64,
    finish_reason: &'static str,
    escalation_reason: Option<&'static str>,
}

/// Everything decided for one session before it is written.
struct Layout {
    kind: SessionKind,
    id: i64,
    offset: i32,
    lang: &'static str,
    status: GenStatus,
    type_names: (&'static str, &'static str),
    route: Route,
    provider: &'static str,
    menu: &'static Menu,
    created: i64,
    queued_at: Option<i64>,
    assigned_at: Option<i64>,
    connected_at: Option<i64>,
    ends_at: Option<i64>,
    scheduled_at: Option<i64>,
    updated_at: i64,
    wait: i64,
    duration: i64,
    end_user_id: i64,
    end_user_phone: Option<String>,
    end_user_connected: Option<i64>,
    end_user_left: Option<i64>,
    in_menu: Vec<(i64, i64, Option<&'static Menu>)>,
    va: Option<VaTalk>,
    /// A queue wait that no agent answered: `(start, end, service_level_event)`.
    unanswered_queue: Option<(i64, i64, &'static str)>,
    legs: Vec<Leg>,
    task_va: Option<VaTalk>,
    csat: Option<(i64, i64)>,
    voicemail: Option<(i64, i64)>,
    fail: Option<(&'static str, &'static str)>,
    deflection: Option<&'static str>,
    /// Whether `handle_durations` lists the agent legs (almost always).
    handle_segments: bool,
}

/// Builds a session. `status` must suit `kind` (see [`GenStatus::draw`]).
pub(crate) fn build(
    rng: &mut Rng,
    kind: SessionKind,
    id: i64,
    created: i64,
    offset: i32,
    status: GenStatus,
) -> Built {
    let layout = lay_out(rng, kind, id, created, offset, status);
    let doc = match kind {
        SessionKind::Call => write_call(rng, &layout),
        SessionKind::Chat => write_chat(rng, &layout),
    };
    let info = Info {
        kind,
        id,
        offset,
        ends_at: layout.ends_at,
        updated_at: layout.updated_at,
        legs: layout
            .legs
            .iter()
            .map(|l| (l.participant_id, l.agent.index, l.transfer_in.map(|t| t.0)))
            .collect(),
        list: list_for(&layout),
    };
    Built { doc, info }
}

fn list_for(l: &Layout) -> (i64, &'static str) {
    match (l.kind, l.route) {
        (SessionKind::Chat, _) => (2, "Chat dispositions"),
        (_, Route::Outbound) => (3, "Outbound dispositions"),
        _ => (1, "Inbound IVR dispositions"),
    }
}

fn pick_agents(rng: &mut Rng, n: usize) -> Vec<Agent> {
    let mut out: Vec<Agent> = Vec::with_capacity(n);
    while out.len() < n {
        let index = rng.below(AGENT_COUNT as u64) as usize;
        if out.iter().all(|a| a.index != index) {
            out.push(Agent { index });
        }
    }
    out
}

fn lay_out(
    rng: &mut Rng,
    kind: SessionKind,
    id: i64,
    created: i64,
    offset: i32,
    status: GenStatus,
) -> Layout {
    let is_call = kind == SessionKind::Call;
    let lang = if offset == 540 && rng.chance(0.6) {
        "ja"
    } else {
        rng.weighted(&LANGS)
    };
    let ((type_name, type_v2, route), provider) = if is_call {
        let chosen = loop {
            let candidate = rng.weighted(&CALL_TYPES);
            let fits = match status {
                GenStatus::Scheduled => candidate.2 == Route::Scheduled,
                GenStatus::Finished => true,
                // Failures, deflections, voicemail and cancellations happen on inbound calls.
                _ => matches!(candidate.2, Route::Ivr | Route::Inbound),
            };
            if fits {
                break candidate;
            }
        };
        (chosen, "")
    } else {
        let (name, v2, provider) = rng.weighted(&CHAT_TYPES);
        ((name, v2, Route::Inbound), provider)
    };
    let menu: &'static Menu = if route == Route::Scheduled && rng.chance(0.5) {
        &SCHEDULE_MENU
    } else if is_call {
        rng.pick_ref(&CALL_MENUS)
    } else {
        rng.pick_ref(&CHAT_MENUS)
    };
    let pid = |n: i64| id * 100 + n;

    let mut l = Layout {
        kind,
        id,
        offset,
        lang,
        status,
        type_names: (type_name, type_v2),
        route,
        provider,
        menu,
        created,
        queued_at: None,
        assigned_at: None,
        connected_at: None,
        ends_at: None,
        scheduled_at: None,
        updated_at: created,
        wait: 0,
        duration: 0,
        end_user_id: rng.range(1_000, 250_000),
        end_user_phone: None,
        end_user_connected: None,
        end_user_left: None,
        in_menu: Vec::new(),
        va: None,
        unanswered_queue: None,
        legs: Vec::new(),
        task_va: None,
        csat: None,
        voicemail: None,
        fail: None,
        deflection: None,
        handle_segments: true,
    };
    // Inbound callers may withhold their number (no phone identifier); calls the platform
    // places, SMS and WhatsApp always have one; web and app chats rarely do.
    l.end_user_phone = match route {
        Route::Ivr | Route::Inbound if is_call && rng.chance(WITHHELD_CALLER_ID) => {
            rng.chance(0.3).then(|| "anonymous".to_owned())
        }
        _ if is_call || provider_phone(type_name) || rng.chance(0.1) => Some(phone(rng)),
        _ => None,
    };

    if status == GenStatus::Scheduled {
        l.scheduled_at = Some(created + rng.range(600, 2 * 86_400));
        l.updated_at = created + rng.range(1, 5);
        return l;
    }

    // The end user arrives; IVR callers first navigate the menu.
    let mut t = created;
    if is_call {
        if route == Route::Ivr {
            let root = rng.range(5, 40);
            l.in_menu.push((t, t + root, None));
            t += root;
            if menu.parent_id.is_some() {
                let leaf = rng.range(4, 30);
                l.in_menu.push((t, t + leaf, Some(menu)));
                t += leaf;
            }
        }
    } else {
        t += 1;
    }
    l.end_user_connected = Some(if is_call { created } else { t });

    let finished = status == GenStatus::Finished;
    let transfers = if finished {
        rng.weighted(&[(0usize, 70), (1, 23), (2, 7)])
    } else {
        0
    };
    // Keeps the largest calls near the size of the biggest real export (16 KB): a call
    // transferred twice has no virtual agent and no wrap-up before its last leg.
    let busy_call = is_call && transfers == 2;
    let may_have_va = matches!(route, Route::Ivr | Route::Inbound) && !busy_call;
    // Sessions that never reach an agent always talk to a virtual agent first.
    let has_va = may_have_va && (!finished || rng.chance(if is_call { 0.4 } else { 0.35 }));
    let mut next_participant = 2;
    if has_va {
        let va = rng.pick(&VIRTUAL_AGENTS);
        let talk = rng.range(20, 200);
        let (finish_reason, escalation_reason) = match status {
            GenStatus::Finished | GenStatus::Failed | GenStatus::VoicemailReceived => {
                ("escalated", Some("by_virtual_agent"))
            }
            GenStatus::Deflected => ("deflected", None),
            _ => ("completed", None),
        };
        l.va = Some(VaTalk {
            va,
            participant_id: pid(next_participant),
            start: t,
            end: t + talk,
            finish_reason,
            escalation_reason,
        });
        next_participant += 1;
        l.connected_at = Some(t);
        t += talk;
    }

    if !finished {
        match status {
            GenStatus::Failed => {
                let (reason, details) = rng.pick(&[
                    ("eu_abandoned", "end user hung up in queue"),
                    ("expired", "no agent answered before the connect timeout"),
                    (
                        "eu_canceled",
                        "end user hung up while connecting to an agent",
                    ),
                ]);
                let wait = rng.range(20, 600);
                l.queued_at = Some(t);
                l.unanswered_queue = Some((t, t + wait, "abandoned"));
                l.wait = wait;
                t += wait;
                l.fail = Some((reason, details));
            }
            GenStatus::VoicemailReceived => {
                let wait = rng.range(30, 300);
                l.queued_at = Some(t);
                l.unanswered_queue = Some((t, t + wait, "out_of_sla"));
                l.wait = wait;
                t += wait;
                let message = rng.range(10, 90);
                l.voicemail = Some((t + 1, t + 1 + message));
                t += 1 + message;
            }
            GenStatus::Deflected => {
                l.deflection = Some(if rng.chance(0.6) {
                    "after_hours_message_only"
                } else {
                    "temp_redirection_queue"
                });
                t += rng.range(2, 10);
            }
            _ => {
                // Canceled: the end user left before reaching an agent.
                l.fail = Some(("eu_canceled", "end user left before reaching an agent"));
                t += rng.range(1, 5);
            }
        }
        l.ends_at = Some(t);
        l.end_user_left = Some(t);
        l.duration = if is_call { t - created } else { 0 };
        l.updated_at = t + rng.range(2, 15);
        return l;
    }

    // Finished: one agent leg per transfer, plus the first.
    let agents = pick_agents(rng, transfers + 1);
    let queue_menu = if has_va && is_call {
        rng.pick_ref(&CALL_MENUS)
    } else {
        menu
    };
    let mut queue_start = match route {
        Route::Outbound => None,
        Route::Scheduled => {
            let at = created + rng.range(10, 1800);
            l.scheduled_at = Some(at);
            Some(at)
        }
        _ => Some(t),
    };
    l.queued_at = queue_start;
    let mut wait = rng.range(2, 240);
    let mut leg_menu = queue_menu;
    let mut cursor = created + 1;
    for (k, agent) in agents.iter().enumerate() {
        let queue = queue_start.map(|qs| (qs, qs + wait));
        if let Some((qs, qe)) = queue {
            l.wait += qe - qs;
            cursor = qe;
        }
        if k == 0 {
            l.assigned_at = Some(cursor);
        }
        let assigned_connection = rng.range(2, 9);
        let start = cursor + assigned_connection;
        let talk = if is_call {
            rng.range(30, 900)
        } else {
            rng.range(60, 1500)
        };
        let talk_end = start + talk;
        let last = k == transfers;
        let end = if last {
            talk_end
        } else {
            talk_end + rng.range(1, 6)
        };
        let hold = if is_call && rng.chance(0.3) {
            rng.range(5, (talk / 3).clamp(6, 120))
        } else {
            0
        };
        let acw = (last || !busy_call)
            .then(|| rng.chance(0.75).then(|| rng.range(5, 120)))
            .flatten();
        let transfer_in = (k > 0).then(|| (pid(10 + k as i64), cursor - wait, rng.chance(0.5)));
        // A few transfers land on a queue that is temporarily redirected to another one.
        let transfer_deflection =
            (k > 0 && rng.chance(TRANSFER_DEFLECTED)).then_some("temp_redirection_queue");
        l.legs.push(Leg {
            agent: *agent,
            participant_id: pid(next_participant),
            queue,
            menu: leg_menu,
            start,
            end,
            hold,
            assigned_connection,
            acw,
            transfer_in,
            transfer_deflection,
            sip: rng.chance(0.5),
        });
        next_participant += 1;
        // A transfer: the next queue starts when this leg's talk ends.
        queue_start = Some(talk_end);
        wait = rng.range(8, 90);
        leg_menu = if is_call {
            rng.pick_ref(&CALL_MENUS)
        } else {
            rng.pick_ref(&CHAT_MENUS)
        };
        cursor = talk_end;
    }
    let first_start = l.legs[0].start;
    let (last_start, ends) = (l.legs[transfers].start, l.legs[transfers].end);
    if l.connected_at.is_none() {
        l.connected_at = Some(first_start);
    }
    if matches!(route, Route::Outbound | Route::Scheduled) {
        l.end_user_connected = Some(first_start + rng.range(1, 6));
    }
    let talk = ends - last_start;
    if transfers < 2 && talk >= 40 && rng.chance(0.15) {
        let start = last_start + rng.range(5, talk / 2);
        let len = rng.range(10, talk / 2 - 5);
        l.task_va = Some(VaTalk {
            va: rng.pick(&TASK_VIRTUAL_AGENTS),
            participant_id: pid(next_participant),
            start,
            end: start + len,
            finish_reason: "completed",
            escalation_reason: None,
        });
    }
    let mut user_left = ends;
    if route != Route::Outbound && rng.chance(0.3) {
        let survey = rng.range(5, 30);
        l.csat = Some((ends + 1, ends + 1 + survey));
        user_left = ends + 2 + survey;
    }
    let wrap_up_end = l
        .legs
        .iter()
        .map(|leg| leg.end + leg.acw.unwrap_or(0))
        .max()
        .unwrap_or(ends);
    l.handle_segments = !rng.chance(NO_HANDLE_SEGMENTS);
    l.ends_at = Some(ends);
    l.end_user_left = Some(user_left);
    l.duration = ends - first_start;
    l.updated_at = user_left.max(wrap_up_end) + rng.range(2, 15);
    l
}

// ---------------------------------------------------------------------------------------------
// Writing: shared pieces.

fn sip_headers(rng: &mut Rng) -> V {
    let mut pairs = vec![
        (
            "P-Attestation-Indicator",
            s(rng.pick(&["A", "A", "A", "B", "C"])),
        ),
        ("P-Origination-ID", string(rng.uuid())),
    ];
    if rng.chance(0.3) {
        pairs.push((
            "X-Customer-Tier",
            s(rng.pick(&["gold", "silver", "bronze"])),
        ));
    }
    V::Obj(pairs)
}

fn custom_data(rng: &mut Rng, l: &Layout, secured: bool) -> V {
    let mut pairs = Vec::new();
    let entry = |label: &'static str, value: V| obj! { "label" => s(label), "value" => value };
    if secured {
        pairs.push((
            "AccountNumber",
            entry(
                "Account Number",
                string(format!("AC-{}", rng.range(100_000, 999_999))),
            ),
        ));
        if rng.chance(0.5) {
            pairs.push((
                "AccountTier",
                entry("Account Tier", s(rng.pick(&["gold", "silver", "bronze"]))),
            ));
        }
    } else {
        if rng.chance(0.6) {
            pairs.push((
                "OrderNumber",
                entry(
                    "Order Number",
                    string(format!("ORD-{}", rng.range(10_000, 99_999))),
                ),
            ));
        }
        if rng.chance(0.4) {
            pairs.push(("CartItems", entry("Cart Items", V::Int(rng.range(1, 9)))));
        }
        if rng.chance(0.4) {
            pairs.push((
                "Platform",
                entry(
                    "Platform",
                    s(if l.kind == SessionKind::Chat {
                        rng.pick(&["web", "ios", "android"])
                    } else {
                        rng.pick(&["ivr", "ios", "android"])
                    }),
                ),
            ));
        }
        pairs.push(("CustomAppID", entry("CustomAppID", s("ccaip-example-prod"))));
    }
    V::Obj(pairs)
}

fn end_user_object(rng: &mut Rng, l: &Layout) -> V {
    let identifier = match (l.kind, rng.below(3)) {
        (SessionKind::Chat, 0) => string(format!("customer.{}@example.com", l.end_user_id)),
        (SessionKind::Chat, 1) if l.type_names.0 == "Messaging (WhatsApp)" => string(format!(
            "whatsapp:{}",
            l.end_user_phone.as_deref().unwrap_or("+15550100000")
        )),
        _ => string(rng.uuid()),
    };
    obj! {
        "id" => V::Int(l.end_user_id),
        "identifier" => identifier,
        "out_contact_id" => if rng.chance(0.7) { string(crm_id(rng, "003", "AAE")) } else { V::Null },
    }
}

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

fn offer_events(rng: &mut Rng, l: &Layout) -> V {
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

fn disposition(
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

fn dispositions(rng: &mut Rng, l: &Layout) -> V {
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

fn transfers(l: &Layout, duration_key: &'static str) -> V {
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

fn queue_durations(l: &Layout) -> V {
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

fn va_handle_durations(rng: &mut Rng, l: &Layout, duration_key: &'static str) -> V {
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

fn va_deflected_escalations(rng: &mut Rng, l: &Layout) -> V {
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

fn consumer_event_durations(l: &Layout) -> V {
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

fn agent_info(l: &Layout) -> Option<V> {
    if let Some(leg) = l.legs.last() {
        Some(leg.agent.object())
    } else {
        l.va.as_ref().map(|va| va_object(va.va))
    }
}

/// The duration written at the top level: a few exports carry it as a numeric string.
fn duration_value(rng: &mut Rng, seconds: i64) -> V {
    if rng.chance(0.02) {
        string(seconds.to_string())
    } else {
        V::Int(seconds)
    }
}

// ---------------------------------------------------------------------------------------------
// Calls.

fn write_call(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let id = l.id;
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
    let status = l.status.value(rng);
    let call_type = s(l.type_names.0);

    let mut pairs: Vec<(&'static str, V)> = Vec::with_capacity(72);
    pairs.push(("id", V::Int(id)));
    if rng.chance(0.2) {
        pairs.push(("call_uuid", string(rng.uuid())));
    }
    pairs.extend([
        ("lang", s(l.lang)),
        ("call_type", call_type.clone()),
        ("session_type", call_type),
        ("session_type_v2", s(l.type_names.1)),
        ("status", status),
        ("created_at", ts(l.created)),
        ("queued_at", opt_ts(l.queued_at, l.offset)),
        ("assigned_at", opt_ts(l.assigned_at, l.offset)),
        ("connected_at", opt_ts(l.connected_at, l.offset)),
        ("ends_at", opt_ts(l.ends_at, l.offset)),
        ("scheduled_at", opt_ts(l.scheduled_at, l.offset)),
        ("updated_at", ts(l.updated_at)),
        ("wait_duration", duration_value(rng, l.wait)),
        ("call_duration", duration_value(rng, l.duration)),
        ("hold_duration", hold),
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
        ("out_ticket_id", out_ticket.clone().map_or(V::Null, string)),
        (
            "out_ticket_url",
            out_ticket.map_or(V::Null, |t| {
                string(format!("https://crm.example.com/lightning/r/Case/{t}/view"))
            }),
        ),
        ("is_out_ticket_account", V::Bool(rng.chance(0.1))),
        ("verified", V::Bool(rng.chance(0.2))),
        (
            "recording_url",
            if has_recording {
                string(format!(
                    "https://crm.example.com/sfc/servlet.shepherd/version/download/{}",
                    crm_id(rng, "068", "AAT")
                ))
            } else {
                V::Null
            },
        ),
        ("recording_permission", s(permission)),
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
            support_number.clone().map_or(V::Null, string),
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
    if let Some(agent) = agent_info(l) {
        pairs.push(("agent_info", agent));
    }
    pairs.extend([
        ("end_user", end_user_object(rng, l)),
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
            call_consumer_handle(l, hold_total),
        ),
        ("consumer_event_durations", consumer_event_durations(l)),
        ("consumer_in_menu_durations", in_menu_durations(l)),
        (
            "participants",
            call_participants(rng, l, sip.as_ref(), support_number.as_deref()),
        ),
        (
            "recordings",
            if has_recording {
                recordings(rng, l)
            } else {
                V::Arr(vec![])
            },
        ),
        ("offer_type", s("cascade")),
        ("offer_events", offer_events(rng, l)),
        ("answer_type", s("manual")),
        ("outbound_number", outbound_number.map_or(V::Null, string)),
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
    if let Some(sip) = sip {
        pairs.push(("sip_headers", sip));
    }
    if let Some(redirection) = automation_redirection(rng, l) {
        pairs.push(("automation_redirection", redirection));
    }
    V::Obj(pairs)
}

/// `automation_redirection`: the percentage-based redirection groups of the queue, on a few
/// inbound sessions (not on the largest calls, to keep their size realistic).
fn automation_redirection(rng: &mut Rng, l: &Layout) -> Option<V> {
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

fn photos(rng: &mut Rng, l: &Layout) -> V {
    if l.legs.is_empty() || !rng.chance(0.03) {
        return V::Arr(vec![]);
    }
    let n = rng.range(1, 2);
    V::Arr(
        (0..n)
            .map(|i| {
                let media_id = l.id * 100 + 90 + i;
                obj! {
                    "id" => V::Int(media_id),
                    "photo_type" => s(if i == 0 { "photo" } else { "screenshot" }),
                    "url" => string(format!("https://media.example.com/v1/photos/{media_id}.jpg")),
                }
            })
            .collect(),
    )
}

fn videos(rng: &mut Rng, l: &Layout) -> V {
    if l.legs.is_empty() || !rng.chance(0.01) {
        return V::Arr(vec![]);
    }
    let media_id = l.id * 100 + 95;
    V::Arr(vec![obj! {
        "id" => V::Int(media_id),
        "url" => string(format!("https://media.example.com/v1/videos/{media_id}.mp4")),
    }])
}

fn escalations(l: &Layout) -> V {
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

fn deflection_details(l: &Layout) -> V {
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

fn call_handle_durations(l: &Layout) -> V {
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

fn call_consumer_handle(l: &Layout, hold: i64) -> V {
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

fn in_menu_durations(l: &Layout) -> V {
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

fn recordings(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let (start, end, agent) = match (l.voicemail, l.legs.first(), l.ends_at) {
        (Some((start, end)), _, _) => (start, end, None),
        (None, Some(leg), Some(ends)) => (leg.start + rng.range(1, 4), ends + 1, Some(leg.agent)),
        _ => return V::Arr(vec![]),
    };
    let duration = end - start;
    let mut redactions = Vec::new();
    if let Some(agent) = agent {
        let count = rng.weighted(&[(0usize, 60), (1, 30), (2, 10)]);
        for _ in 0..count {
            if duration < 20 {
                break;
            }
            let at_ms = start * 1000 + rng.below(((duration - 12) * 1000) as u64) as i64;
            let cents = rng.range(80, 900);
            redactions.push(obj! {
                "start" => V::UtcMs(at_ms),
                "start_agent_id" => V::Int(agent.id()),
                "end" => V::UtcMs(at_ms + cents * 10),
                "duration" => V::Cents(cents),
                "end_agent_id" => V::Int(agent.id()),
            });
        }
    }
    let conference = if rng.chance(0.5) {
        rng.uuid()
    } else {
        format!("CON-{}", rng.uuid())
    };
    V::Arr(vec![obj! {
        "id" => V::Int(l.id * 100 + 81),
        "call_id" => V::Int(l.id),
        "conference_sid" => string(conference),
        "duration" => V::Int(duration),
        "recording_type" => s(if agent.is_some() { "default" } else { "voicemail" }),
        "redaction_times" => V::Arr(redactions),
        "started_at" => ts(start),
    }])
}

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

fn call_participants(rng: &mut Rng, l: &Layout, sip: Option<&V>, dnis: Option<&str>) -> V {
    let ts = |t| V::Local(t, l.offset);
    let sip_or_null = |on: bool| sip.filter(|_| on).cloned().unwrap_or(V::Null);
    let mut out = Vec::new();
    // The end user.
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
    out.push(obj! {
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
        "sip_headers" => sip_or_null(true),
        "call_id" => V::Int(l.id),
        "call_duration" => eu_duration,
        "hold_duration" => if l.legs.iter().any(|leg| leg.hold > 0) { V::Int(l.legs.iter().map(|leg| leg.hold).sum()) } else { V::Null },
        "ended_at" => opt_ts(l.end_user_left, l.offset),
        "agent_assist" => V::Null,
        "virtual_agent" => V::Null,
        "adapter_fail_code" => V::Null,
        "adapter_fail_message" => V::Null,
    });
    let va_participant = |rng: &mut Rng, va: &VaTalk, task: bool| {
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
            ("sip_headers", sip_or_null(true)),
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
    };
    if let Some(va) = &l.va {
        out.push(va_participant(rng, va, false));
    }
    for leg in &l.legs {
        let (first, last) = (leg.agent.first().0, leg.agent.last().0);
        out.push(obj! {
            "id" => V::Int(leg.participant_id),
            "type" => s("agent"),
            "entry_type" => s("queue_or_transfer"),
            "user_id" => V::Int(leg.agent.id()),
            "end_user_id" => V::Null,
            "virtual_agent_id" => V::Null,
            "status" => s("finished"),
            "fail_reason" => s("nothing"),
            "connected_at" => ts(leg.start),
            "sip_headers" => sip_or_null(leg.sip),
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
        });
    }
    if let Some(task) = &l.task_va {
        out.push(va_participant(rng, task, true));
    }
    V::Arr(out)
}

fn conversation_id(rng: &mut Rng) -> String {
    let mut out = String::from("103");
    rng.push_chars(&mut out, ALNUM, 22);
    out
}

// ---------------------------------------------------------------------------------------------
// Chats.

fn write_chat(rng: &mut Rng, l: &Layout) -> V {
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

fn agent_assist() -> V {
    obj! { "spelling_and_grammar_check" => V::Obj(vec![]) }
}

fn chat_participants(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let mut out = Vec::new();
    let (eu_status, eu_fail) = match (l.status, l.fail) {
        (GenStatus::Failed, Some((reason, _))) => ("failed", reason),
        _ => ("finished", "nothing"),
    };
    out.push(obj! {
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
    });
    let va_participant = |rng: &mut Rng, va: &VaTalk, task: bool| {
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
    };
    if let Some(va) = &l.va {
        out.push(va_participant(rng, va, false));
    }
    for leg in &l.legs {
        let (first, last) = (leg.agent.first().0, leg.agent.last().0);
        out.push(obj! {
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
        });
    }
    if let Some(task) = &l.task_va {
        out.push(va_participant(rng, task, true));
    }
    V::Arr(out)
}

fn chat_handle_durations(rng: &mut Rng, l: &Layout) -> V {
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

fn chat_consumer_handle(rng: &mut Rng, l: &Layout, messages: i64) -> V {
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

// ---------------------------------------------------------------------------------------------
// Re-exports.

/// Turns the first export of a session into its re-export 15–20 minutes later: a newer
/// `updated_at` and changed wrap-up data (rating, feedback, a disposition, perhaps a survey
/// participant). Returns the re-export; `first` is left untouched.
pub(crate) fn reexport(rng: &mut Rng, first: &Built) -> V {
    let info = &first.info;
    let mut doc = first.doc.clone();
    let updated = info.updated_at + rng.range(900, 1200);
    doc.set("updated_at", V::Local(updated, info.offset));
    doc.set("rating", V::Int(rng.range(1, 5)));
    if rng.chance(0.5) {
        doc.set("has_feedback", V::Bool(true));
        doc.set("feedback", s(rng.pick(&FEEDBACK)));
    }
    if let Some(&(participant_id, agent, transfer_id)) = info.legs.last() {
        let has_room = doc.len_of("dispositions") < 3;
        if has_room {
            let extra = disposition(
                rng,
                participant_id,
                Agent { index: agent },
                transfer_id,
                info.list,
            );
            if let Some(V::Arr(items)) = doc.get_mut("dispositions") {
                items.push(extra);
            }
        }
    }
    let participants = doc.len_of("participants");
    if let Some(ends) = info.ends_at {
        if participants < 6 && rng.chance(0.3) {
            let survey = survey_participant(rng, info, ends, participants);
            if let Some(V::Arr(items)) = doc.get_mut("participants") {
                items.push(survey);
            }
        }
    }
    doc
}

/// The post-session survey agent added by some re-exports (after `ends_at`, before the new
/// `updated_at`).
fn survey_participant(rng: &mut Rng, info: &Info, ends: i64, existing: usize) -> V {
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

/// Removes every key that tells calls from chats (`*_type`, `session_type*`, `*_uuid`).
pub(crate) fn strip_kind_keys(doc: &mut V) {
    for key in [
        "call_type",
        "chat_type",
        "session_type",
        "session_type_v2",
        "call_uuid",
        "chat_uuid",
    ] {
        doc.remove(key);
    }
}
