//! The timeline of one session, decided before anything is written: IVR menu, virtual agent,
//! queue, agent legs joined by transfers, wrap-up, survey. Every writer reads it, so the
//! timestamps of all the arrays agree.

use super::identity::{end_user_object, end_user_phone};
use super::status::GenStatus;
use super::tenant::{
    Agent, Menu, Route, Va, AGENT_COUNT, CALL_MENUS, CALL_TYPES, CHAT_MENUS, CHAT_TYPES, LANGS,
    SCHEDULE_MENU, TASK_VIRTUAL_AGENTS, VIRTUAL_AGENTS,
};
use crate::json::V;
use crate::rng::Rng;
use crate::SessionKind;

/// Share of transfers whose target queue redirected them (`deflection` other than
/// `no_deflection`).
const TRANSFER_DEFLECTED: f64 = 0.08;

/// Share of sessions handled by agents whose export has no `handle_durations` (only the
/// agent participants tell who talked).
const NO_HANDLE_SEGMENTS: f64 = 0.005;

/// One agent handling the session between two transfers.
pub(super) struct Leg {
    pub(super) agent: Agent,
    pub(super) participant_id: i64,
    /// Queue wait before the leg; `None` for an outbound call's first leg.
    pub(super) queue: Option<(i64, i64)>,
    pub(super) menu: &'static Menu,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) hold: i64,
    pub(super) assigned_connection: i64,
    pub(super) acw: Option<i64>,
    /// `(transfer id, created_at, cold)` of the transfer that started this leg.
    pub(super) transfer_in: Option<(i64, i64, bool)>,
    /// The transfer's `deflection` when its target queue redirected it (else `no_deflection`).
    pub(super) transfer_deflection: Option<&'static str>,
    pub(super) sip: bool,
}

/// A virtual-agent conversation.
pub(super) struct VaTalk {
    pub(super) va: Va,
    pub(super) participant_id: i64,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) finish_reason: &'static str,
    pub(super) escalation_reason: Option<&'static str>,
}

/// Everything decided for one session before it is written.
pub(super) struct Layout {
    pub(super) kind: SessionKind,
    pub(super) id: i64,
    pub(super) offset: i32,
    pub(super) lang: &'static str,
    pub(super) status: GenStatus,
    pub(super) type_names: (&'static str, &'static str),
    pub(super) route: Route,
    pub(super) provider: &'static str,
    pub(super) menu: &'static Menu,
    pub(super) created: i64,
    pub(super) queued_at: Option<i64>,
    pub(super) assigned_at: Option<i64>,
    pub(super) connected_at: Option<i64>,
    pub(super) ends_at: Option<i64>,
    pub(super) scheduled_at: Option<i64>,
    pub(super) updated_at: i64,
    pub(super) wait: i64,
    pub(super) duration: i64,
    pub(super) end_user_id: i64,
    pub(super) end_user_phone: Option<String>,
    pub(super) end_user_connected: Option<i64>,
    pub(super) end_user_left: Option<i64>,
    pub(super) in_menu: Vec<(i64, i64, Option<&'static Menu>)>,
    pub(super) va: Option<VaTalk>,
    /// A queue wait that no agent answered: `(start, end, service_level_event)`.
    pub(super) unanswered_queue: Option<(i64, i64, &'static str)>,
    pub(super) legs: Vec<Leg>,
    pub(super) task_va: Option<VaTalk>,
    pub(super) csat: Option<(i64, i64)>,
    pub(super) voicemail: Option<(i64, i64)>,
    pub(super) fail: Option<(&'static str, &'static str)>,
    pub(super) deflection: Option<&'static str>,
    /// Whether `handle_durations` lists the agent legs (almost always).
    pub(super) handle_segments: bool,
}

impl Layout {
    /// The `end_user` object of this session.
    pub(super) fn end_user(&self, rng: &mut Rng) -> V {
        end_user_object(
            rng,
            self.kind,
            self.end_user_id,
            self.type_names.0,
            self.end_user_phone.as_deref(),
        )
    }
}

/// Lays out one session on its timeline. Each step draws from `rng` in a fixed order: the
/// corpus is a pure function of the seed, so the steps must not be reordered.
pub(super) fn lay_out(
    rng: &mut Rng,
    kind: SessionKind,
    id: i64,
    created: i64,
    offset: i32,
    status: GenStatus,
) -> Layout {
    let mut l = start(rng, kind, id, created, offset, status);
    if status == GenStatus::Scheduled {
        // Not happened yet: only the end user, waiting.
        l.scheduled_at = Some(created + rng.range(600, 2 * 86_400));
        l.updated_at = created + rng.range(1, 5);
        return l;
    }
    let is_call = kind == SessionKind::Call;
    let mut t = arrive(rng, &mut l);
    let finished = status == GenStatus::Finished;
    let transfers = if finished {
        rng.weighted(&[(0usize, 70), (1, 23), (2, 7)])
    } else {
        0
    };
    // Keeps the largest calls near the size of the biggest real export (16 KB): a call
    // transferred twice has no virtual agent and no wrap-up before its last leg.
    let busy_call = is_call && transfers == 2;
    let may_have_va = matches!(l.route, Route::Ivr | Route::Inbound) && !busy_call;
    // Sessions that never reach an agent always talk to a virtual agent first.
    let has_va = may_have_va && (!finished || rng.chance(if is_call { 0.4 } else { 0.35 }));
    let mut next_participant = 2;
    if has_va {
        t = talk_to_virtual_agent(rng, &mut l, t, next_participant);
        next_participant += 1;
    }
    if !finished {
        end_before_an_agent(rng, &mut l, t);
        return l;
    }
    let next_participant = lay_out_legs(
        rng,
        &mut l,
        t,
        transfers,
        busy_call,
        has_va,
        next_participant,
    );
    after_the_legs(rng, &mut l, transfers, next_participant);
    l
}

/// The session's fixed traits (language, type, menu, end user) and an empty timeline.
fn start(
    rng: &mut Rng,
    kind: SessionKind,
    id: i64,
    created: i64,
    offset: i32,
    status: GenStatus,
) -> Layout {
    let lang = pick_lang(rng, offset);
    let ((type_name, type_v2, route), provider) = pick_type(rng, kind, status);
    let menu = pick_menu(rng, kind, route);
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
    l.end_user_phone = end_user_phone(rng, kind, route, type_name);
    l
}

/// Japanese for most sessions of the tenant's UTC+9 site, else the tenant's mix.
fn pick_lang(rng: &mut Rng, offset: i32) -> &'static str {
    if offset == 540 && rng.chance(0.6) {
        "ja"
    } else {
        rng.weighted(&LANGS)
    }
}

/// `((type, session_type_v2, route), provider)`: a call type that suits the status (chats
/// are all inbound, with a messaging provider).
fn pick_type(
    rng: &mut Rng,
    kind: SessionKind,
    status: GenStatus,
) -> ((&'static str, &'static str, Route), &'static str) {
    if kind == SessionKind::Chat {
        let (name, v2, provider) = rng.weighted(&CHAT_TYPES);
        return ((name, v2, Route::Inbound), provider);
    }
    loop {
        let candidate = rng.weighted(&CALL_TYPES);
        let fits = match status {
            GenStatus::Scheduled => candidate.2 == Route::Scheduled,
            GenStatus::Finished => true,
            // Failures, deflections, voicemail and cancellations happen on inbound calls.
            _ => matches!(candidate.2, Route::Ivr | Route::Inbound),
        };
        if fits {
            return (candidate, "");
        }
    }
}

/// The queue the session is for; scheduled calls often use the hidden scheduling menu.
fn pick_menu(rng: &mut Rng, kind: SessionKind, route: Route) -> &'static Menu {
    if route == Route::Scheduled && rng.chance(0.5) {
        &SCHEDULE_MENU
    } else if kind == SessionKind::Call {
        rng.pick_ref(&CALL_MENUS)
    } else {
        rng.pick_ref(&CHAT_MENUS)
    }
}

/// The end user connects: IVR callers first navigate the root menu and, for a leaf queue,
/// its submenu. Returns the time the session moves on.
fn arrive(rng: &mut Rng, l: &mut Layout) -> i64 {
    let created = l.created;
    let mut t = created;
    if l.kind == SessionKind::Call {
        if l.route == Route::Ivr {
            let root = rng.range(5, 40);
            l.in_menu.push((t, t + root, None));
            t += root;
            if l.menu.parent_id.is_some() {
                let leaf = rng.range(4, 30);
                l.in_menu.push((t, t + leaf, Some(l.menu)));
                t += leaf;
            }
        }
        l.end_user_connected = Some(created);
    } else {
        t += 1;
        l.end_user_connected = Some(t);
    }
    t
}

/// A virtual agent talks to the end user from `t`; returns when it is done.
fn talk_to_virtual_agent(rng: &mut Rng, l: &mut Layout, t: i64, participant: i64) -> i64 {
    let va = rng.pick(&VIRTUAL_AGENTS);
    let talk = rng.range(20, 200);
    let (finish_reason, escalation_reason) = match l.status {
        GenStatus::Finished | GenStatus::Failed | GenStatus::VoicemailReceived => {
            ("escalated", Some("by_virtual_agent"))
        }
        GenStatus::Deflected => ("deflected", None),
        _ => ("completed", None),
    };
    l.va = Some(VaTalk {
        va,
        participant_id: l.id * 100 + participant,
        start: t,
        end: t + talk,
        finish_reason,
        escalation_reason,
    });
    l.connected_at = Some(t);
    t + talk
}

/// A session that never reaches an agent: abandoned in the queue, sent to voicemail,
/// deflected or canceled, from `t` on.
fn end_before_an_agent(rng: &mut Rng, l: &mut Layout, mut t: i64) {
    match l.status {
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
    l.duration = if l.kind == SessionKind::Call {
        t - l.created
    } else {
        0
    };
    l.updated_at = t + rng.range(2, 15);
}

/// `n` different agents of the tenant.
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

/// Where the next agent leg begins: its queue wait, its menu, the clock, and the number of
/// the next participant.
struct NextLeg {
    /// When the leg's queue wait starts; `None` for an outbound call's first leg.
    queue_start: Option<i64>,
    wait: i64,
    menu: &'static Menu,
    cursor: i64,
    participant: i64,
}

/// A finished session: one agent leg per transfer, plus the first, from `t` on (`busy_call`:
/// no wrap-up before the last leg). Returns the number of the next participant.
fn lay_out_legs(
    rng: &mut Rng,
    l: &mut Layout,
    t: i64,
    transfers: usize,
    busy_call: bool,
    has_va: bool,
    participant: i64,
) -> i64 {
    let is_call = l.kind == SessionKind::Call;
    let agents = pick_agents(rng, transfers + 1);
    let queue_menu = if has_va && is_call {
        rng.pick_ref(&CALL_MENUS)
    } else {
        l.menu
    };
    let queue_start = match l.route {
        Route::Outbound => None,
        Route::Scheduled => {
            let at = l.created + rng.range(10, 1800);
            l.scheduled_at = Some(at);
            Some(at)
        }
        _ => Some(t),
    };
    l.queued_at = queue_start;
    let mut next = NextLeg {
        queue_start,
        wait: rng.range(2, 240),
        menu: queue_menu,
        cursor: l.created + 1,
        participant,
    };
    for (k, agent) in agents.into_iter().enumerate() {
        let leg = lay_out_leg(rng, l, &mut next, agent, k, k == transfers, busy_call);
        l.legs.push(leg);
    }
    next.participant
}

/// Agent leg `k` (the `last` one ends the session), and where the next one would begin.
fn lay_out_leg(
    rng: &mut Rng,
    l: &mut Layout,
    next: &mut NextLeg,
    agent: Agent,
    k: usize,
    last: bool,
    busy_call: bool,
) -> Leg {
    let is_call = l.kind == SessionKind::Call;
    let wait = next.wait;
    let queue = next.queue_start.map(|qs| (qs, qs + wait));
    if let Some((qs, qe)) = queue {
        l.wait += qe - qs;
        next.cursor = qe;
    }
    let cursor = next.cursor;
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
    let transfer_in = (k > 0).then(|| (l.id * 100 + 10 + k as i64, cursor - wait, rng.chance(0.5)));
    // A few transfers land on a queue that is temporarily redirected to another one.
    let transfer_deflection =
        (k > 0 && rng.chance(TRANSFER_DEFLECTED)).then_some("temp_redirection_queue");
    let leg = Leg {
        agent,
        participant_id: l.id * 100 + next.participant,
        queue,
        menu: next.menu,
        start,
        end,
        hold,
        assigned_connection,
        acw,
        transfer_in,
        transfer_deflection,
        sip: rng.chance(0.5),
    };
    next.participant += 1;
    // A transfer: the next queue starts when this leg's talk ends.
    next.queue_start = Some(talk_end);
    next.wait = rng.range(8, 90);
    next.menu = if is_call {
        rng.pick_ref(&CALL_MENUS)
    } else {
        rng.pick_ref(&CHAT_MENUS)
    };
    next.cursor = talk_end;
    leg
}

/// After the last leg: when the end user connected (outbound calls), a task virtual agent
/// during the last leg, the survey, and when the session ended and was last updated.
fn after_the_legs(rng: &mut Rng, l: &mut Layout, transfers: usize, participant: i64) {
    let first_start = l.legs[0].start;
    let (last_start, ends) = (l.legs[transfers].start, l.legs[transfers].end);
    if l.connected_at.is_none() {
        l.connected_at = Some(first_start);
    }
    if matches!(l.route, Route::Outbound | Route::Scheduled) {
        l.end_user_connected = Some(first_start + rng.range(1, 6));
    }
    let talk = ends - last_start;
    if transfers < 2 && talk >= 40 && rng.chance(0.15) {
        let start = last_start + rng.range(5, talk / 2);
        let len = rng.range(10, talk / 2 - 5);
        l.task_va = Some(VaTalk {
            va: rng.pick(&TASK_VIRTUAL_AGENTS),
            participant_id: l.id * 100 + participant,
            start,
            end: start + len,
            finish_reason: "completed",
            escalation_reason: None,
        });
    }
    let mut user_left = ends;
    if l.route != Route::Outbound && rng.chance(0.3) {
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
}
