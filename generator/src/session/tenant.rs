//! The tenant's world: agents, virtual agents, queues (menus), disposition codes, languages,
//! and the call and chat types with how each is routed.

use crate::json::{obj, opt_int, s, string, V};

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

pub(super) const AGENT_COUNT: usize = 48;

/// A human agent of the tenant.
#[derive(Debug, Clone, Copy)]
pub(super) struct Agent {
    pub(super) index: usize,
}

impl Agent {
    pub(super) fn id(self) -> i64 {
        101 + self.index as i64
    }
    pub(super) fn first(self) -> (&'static str, &'static str) {
        FIRST_NAMES[self.index % FIRST_NAMES.len()]
    }
    pub(super) fn last(self) -> (&'static str, &'static str) {
        LAST_NAMES[(self.index * 5 + self.index / FIRST_NAMES.len()) % LAST_NAMES.len()]
    }
    pub(super) fn email(self) -> String {
        format!("{}.{}@example.com", self.first().1, self.last().1)
    }

    /// The human-agent object (`agent_info`, `from_agent`, `to_agent`).
    pub(super) fn object(self) -> V {
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
pub(super) type Va = (i64, &'static str, Option<&'static str>);

pub(super) const VIRTUAL_AGENTS: [Va; 5] = [
    (6, "ccaas_escalation_va", None),
    (9, "billing_va", Some("Ava")),
    (11, "support_va", Some("Max")),
    (14, "sales_va", None),
    (16, "returns_va", Some("Rex")),
];

pub(super) const TASK_VIRTUAL_AGENTS: [Va; 3] = [
    (15, "order_lookup_tva", None),
    (17, "identity_check_tva", None),
    (19, "address_update_tva", None),
];

/// The post-session survey agent that joins some re-exports.
pub(super) const SURVEY_VA: Va = (21, "csat_survey_tva", None);

/// The virtual-agent object (`virtual_agent`, `from_virtual_agent`, `agent_info`).
pub(super) fn va_object(va: Va) -> V {
    obj! {
        "id" => V::Int(va.0),
        "name" => s(va.1),
        "va_alias" => va.2.map_or(V::Null, s),
        "avatar_url" => string(format!("https://avatar.example.com/virtual_agent/avatar/{}/avatar.png", va.0)),
    }
}

/// A queue (leaf menu) and the path to it.
#[derive(Debug)]
pub(super) struct Menu {
    pub(super) id: i64,
    pub(super) name: &'static str,
    pub(super) parent_id: Option<i64>,
    pub(super) position: i64,
    pub(super) hidden: bool,
    pub(super) path: &'static str,
    pub(super) materialized: &'static str,
}

impl Menu {
    pub(super) fn depth(&self) -> i64 {
        self.materialized.split('/').count() as i64
    }
    /// `menu_path_id` in segments: the id of the menu-path record, not of the menu.
    pub(super) fn path_id(&self) -> i64 {
        200 + self.id
    }
    pub(super) fn path_object(&self) -> V {
        obj! {
            "items_count" => V::Int(self.depth()),
            "name" => s(self.path),
            "materialized_path" => s(self.materialized),
        }
    }
    pub(super) fn selected(&self, menu_type: &'static str) -> V {
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

pub(super) const CALL_MENUS: [Menu; 8] = [
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

pub(super) const CHAT_MENUS: [Menu; 6] = [
    menu!(112, "web_billing", None, 1, "web_billing", "112"),
    menu!(113, "web_support", None, 2, "web_support", "113"),
    menu!(121, "Orders", Some(120), 1, "Shop/Orders", "120/121"),
    menu!(122, "Returns", Some(120), 2, "Shop/Returns", "120/122"),
    menu!(131, "sms_general", None, 3, "sms_general", "131"),
    menu!(141, "whatsapp_support", None, 4, "whatsapp_support", "141"),
];

pub(super) const SCHEDULE_MENU: Menu = Menu {
    id: 70,
    name: "schedule_call",
    parent_id: None,
    position: 19,
    hidden: true,
    path: "schedule_call",
    materialized: "70",
};

pub(super) const DISPOSITION_CODES: [(i64, &str); 8] = [
    (1, "Resolved"),
    (2, "Escalated to Tier 2"),
    (3, "Callback requested"),
    (4, "No Resolution - followup needed"),
    (5, "Billing question"),
    (6, "Technical issue"),
    (7, "Sales inquiry"),
    (8, "Wrong department"),
];

pub(super) const DISPOSITION_NOTES: [&str; 6] = [
    "notes",
    "customer asked for a callback tomorrow",
    "refund processed",
    "sent troubleshooting steps by email",
    "verified identity; updated address",
    "escalated to billing team",
];

pub(super) const FEEDBACK: [&str; 5] = [
    "quick and helpful",
    "agent was very kind",
    "took too long to get through",
    "problem solved, thanks!",
    "had to repeat my account number twice",
];

pub(super) const LANGS: [(&str, u32); 5] =
    [("en", 80), ("es", 12), ("fr", 4), ("de", 2), ("pt", 2)];

/// How a call type behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
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
pub(super) const CALL_TYPES: [((&str, &str, Route), u32); 10] = [
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
pub(super) const CHAT_TYPES: [((&str, &str, &str), u32); 4] = [
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
