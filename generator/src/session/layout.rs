//! The timeline of one session, decided before anything is written: IVR menu, virtual agent,
//! queue, agent legs joined by transfers, wrap-up, survey. Every writer reads it, so the
//! timestamps of all the arrays agree.

use super::identity::{phone, provider_phone, WITHHELD_CALLER_ID};
use super::status::GenStatus;
use super::tenant::{
    Agent, Menu, Route, Va, AGENT_COUNT, CALL_MENUS, CALL_TYPES, CHAT_MENUS, CHAT_TYPES, LANGS,
    SCHEDULE_MENU, TASK_VIRTUAL_AGENTS, VIRTUAL_AGENTS,
};
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
pub(crate) struct Layout {
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

pub(super) fn lay_out(
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
