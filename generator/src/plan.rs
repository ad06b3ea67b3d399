//! The plan: which slots are sessions and which are bad files, calls or chats, re-exported
//! or not, with their ids, creation instants and UTC offsets. It draws from its own random
//! stream, before any file is written.

use crate::bad::BadKind;
use crate::rng::Rng;
use crate::{json, GenerateOptions, SessionKind};

/// Random streams: one for the plan, one per slot.
const STREAM_PLAN: u64 = 1;
pub(crate) const STREAM_SLOT: u64 = 2;

/// The UTC offsets tenants write timestamps in (minutes), with weights.
const OFFSETS: [(i32, u32); 8] = [
    (-480, 16),
    (-420, 22),
    (-300, 20),
    (0, 10),
    (60, 9),
    (120, 8),
    (330, 8),
    (540, 7),
];

/// Probability that a re-exported session's older copy lands two days after creation,
/// so that it sorts after the newer copy.
const OLDER_SORTS_LAST: f64 = 0.25;

/// What one slot of the plan is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// A session; `reexport` is `Some(older_sorts_last)` when it is exported twice.
    Good { reexport: Option<bool> },
    /// A bad file.
    Bad(BadKind),
}

/// One session or bad file, placed in time and given its id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) index: u64,
    pub(crate) kind: SessionKind,
    pub(crate) id: i64,
    /// UTC seconds.
    pub(crate) created: i64,
    /// Minutes east of UTC.
    pub(crate) offset: i32,
    pub(crate) role: Role,
}

/// `fraction` of `n`, rounded: exact counts, not a coin per item.
fn fraction_of(n: u64, fraction: f64) -> u64 {
    ((n as f64) * fraction).round() as u64
}

/// Places every session and bad file: which are chats, which are re-exported, which are
/// bad, their ids (ascending with creation time, per kind) and creation instants.
pub(crate) fn plan(opts: &GenerateOptions) -> Vec<Slot> {
    let mut rng = Rng::for_item(opts.seed, STREAM_PLAN, 0);
    let n = opts.sessions;
    let chats = fraction_of(n, opts.chat_fraction);
    let duplicates = fraction_of(n, opts.duplicate_fraction);
    let good_files = n + duplicates;
    let bad = ((good_files as f64) * opts.bad_fraction / (1.0 - opts.bad_fraction)).round() as u64;
    let total = n + bad;

    // Which sessions are chats / re-exported, and which slots are bad: exact counts, shuffled.
    let mut is_chat: Vec<bool> = (0..n).map(|i| i < chats).collect();
    rng.shuffle(&mut is_chat);
    let mut is_dup: Vec<bool> = (0..n).map(|i| i < duplicates).collect();
    rng.shuffle(&mut is_dup);
    let mut is_bad: Vec<bool> = (0..total).map(|i| i < bad).collect();
    rng.shuffle(&mut is_bad);

    // 2026-02-01T00:00:00Z, spread over one week to three months depending on volume.
    let start = json::days_from_civil(2026, 2, 1) * 86_400;
    let span_days = (total / 2000).clamp(7, 90) as i64;
    let span = span_days * 86_400;
    let spacing = (span / total.max(1) as i64).max(1);

    let mut next_id = [10_000i64, 5_000i64];
    let mut good_index = 0usize;
    let mut bad_index = 0usize;
    let mut slots = Vec::with_capacity(total as usize);
    for (index, &bad_slot) in is_bad.iter().enumerate() {
        let (kind, role) = if bad_slot {
            let kind_of_defect = BadKind::ALL[bad_index % BadKind::ALL.len()];
            bad_index += 1;
            // unknown_kind files take call ids: `metadata-<id>` names are only used for calls.
            let kind = if kind_of_defect != BadKind::UnknownKind && rng.chance(opts.chat_fraction) {
                SessionKind::Chat
            } else {
                SessionKind::Call
            };
            (kind, Role::Bad(kind_of_defect))
        } else {
            let kind = if is_chat[good_index] {
                SessionKind::Chat
            } else {
                SessionKind::Call
            };
            let reexport = is_dup[good_index].then(|| rng.chance(OLDER_SORTS_LAST));
            good_index += 1;
            (kind, Role::Good { reexport })
        };
        let sequence = &mut next_id[usize::from(kind == SessionKind::Chat)];
        *sequence += 1 + rng.below(3) as i64;
        let created = start + index as i64 * span / total as i64 + rng.below(spacing as u64) as i64;
        slots.push(Slot {
            index: index as u64,
            kind,
            id: *sequence,
            created,
            offset: rng.weighted(&OFFSETS),
            role,
        });
    }
    slots
}
