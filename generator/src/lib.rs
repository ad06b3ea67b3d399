//! Synthetic corpus generator: realistic CCAI Platform session exports, with the re-exports,
//! bad files and stray non-session files a real bucket holds, plus the exact answer the
//! pipeline must produce (`truth.json`).
//!
//! # Layout
//!
//! ```text
//! <out>/truth.json                           the expected results (NOT an input)
//! <out>/sessions/                            the corpus: feed this folder to the pipeline
//! <out>/sessions/YYYY/MM/DD/call-<id>.json    one call (local creation date of the session)
//! <out>/sessions/YYYY/MM/DD/chat-<id>.json    one chat
//! <out>/sessions/YYYY/MM/DD/metadata-<id>.json  a call under the platform's other naming
//! <out>/sessions/YYYY/MM/DD/*.json.gz         gzip-compressed exports (`gzip_fraction`)
//! <out>/sessions/YYYY/MM/DD/call-<id>.mp3     recordings and chat-<id>.txt transcripts: ignored
//! ```
//!
//! * Call and chat ids are separate sequences (the same number can be a call and a chat).
//! * A re-exported session (`duplicate_fraction`) has a second file for the same id in the
//!   *next* day's folder, 15–20 minutes newer, with changed wrap-up data (rating, feedback, a
//!   disposition, sometimes a survey participant). About a quarter of the older copies sit
//!   two days later, so the newer export's path sorts *first*: path order must not decide.
//! * Bad files (`bad_fraction` of all session files) each carry one defect and an id used by
//!   no other file; they are named like sessions (`call-<id>.json`) except `unknown_kind`
//!   ones (`metadata-<id>.json` without any kind key). [`Truth::bad_files`] lists them.
//! * A few good files (0.5 %) have no kind key at all, so only their `call-`/`chat-` file
//!   name tells the kind.
//! * Scheduled calls that have not happened yet have one participant (the waiting end user);
//!   every other session has 2–6.
//! * Every rule of the README's event mapping table occurs (voicemail, deflections, deflected
//!   transfers, virtual agents escalated or not, IVR menus, callbacks, campaigns, redirection
//!   groups, a few exports without `handle_durations`), and about one session in eight has no
//!   identifier (withheld caller id, web chats without e-mail or phone). The truth counts the
//!   derived `events` and `milestones` from the document by the README's rules, not with the
//!   pipeline's code.
//!
//! The output is a pure function of [`GenerateOptions`]: every session slot draws from its
//! own [`rng::Rng`] stream derived from the seed, so the files are byte-identical across runs
//! and thread counts. Generation runs on the rayon pool.

mod bad;
mod error;
mod json;
mod rng;
mod session;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use bad::BadKind;
pub use error::Error;
pub use json::utc_seconds;
use json::V;
use rng::Rng;
use session::GenStatus;

/// The two kinds of session: the generator's own, so that it does not depend on the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionKind {
    /// A voice session.
    Call,
    /// A messaging session.
    Chat,
}

impl SessionKind {
    /// `call` or `chat`, as in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Call => "call",
            SessionKind::Chat => "chat",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Distinct sessions to write (each as one or two files).
    pub sessions: u64,
    /// Output folder: the corpus goes to `<out>/sessions/`, the truth to `<out>/truth.json`.
    pub out: PathBuf,
    /// Seed of the pseudo-random generator; the same options give the same bytes.
    pub seed: u64,
    /// Fraction of all session files that are bad (each with one defect), in `[0, 1)`.
    pub bad_fraction: f64,
    /// Fraction of sessions that also have a newer re-export, in `[0, 1]`.
    pub duplicate_fraction: f64,
    /// Fraction of sessions that are chats (the rest are calls), in `[0, 1]`.
    pub chat_fraction: f64,
    /// Fraction of files written gzip-compressed as `*.json.gz`, in `[0, 1]`.
    pub gzip_fraction: f64,
    /// Pretty-print with 2-space indentation like the real exports (else compact JSON).
    pub pretty: bool,
}

impl Default for GenerateOptions {
    /// 1,000 sessions into `./corpus`, seed 42, 2 % bad files, 10 % re-exported, 30 % chats,
    /// 5 % gzip, pretty-printed.
    fn default() -> Self {
        GenerateOptions {
            sessions: 1000,
            out: PathBuf::from("corpus"),
            seed: 42,
            bad_fraction: 0.02,
            duplicate_fraction: 0.10,
            chat_fraction: 0.3,
            gzip_fraction: 0.05,
            pretty: true,
        }
    }
}

/// The expected outcome of running the pipeline on `<out>/sessions/`, written to
/// `<out>/truth.json`. Counts of sessions and rows are over the winning (newest) export of
/// each session only.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Truth {
    /// The seed the corpus was generated with.
    pub seed: u64,
    /// The corpus folder, relative to the output folder (`sessions`).
    pub corpus: String,
    /// Session files: every `*.json` and `*.json.gz` under the corpus folder.
    pub files_seen: u64,
    /// Other files under the corpus folder (`call-<id>.mp3`, `chat-<id>.txt`).
    pub files_ignored: u64,
    /// Session files written gzip-compressed.
    pub files_gzip: u64,
    /// Distinct sessions (= the `sessions` option): `calls + chats`.
    pub sessions: u64,
    /// Distinct calls.
    pub calls: u64,
    /// Distinct chats.
    pub chats: u64,
    /// Older exports that lose to a newer export of the same session.
    pub superseded: u64,
    /// Bad files: the sum of `rejects_by_kind`.
    pub rejected: u64,
    /// Bad files by the pipeline's `error_kind` (`truncated_json`...); kinds with no file are absent.
    pub rejects_by_kind: BTreeMap<String, u64>,
    /// Participant rows.
    pub participants: u64,
    /// Participant rows by `type` (`end_user`, `agent`, `virtual_agent`, `task_virtual_agent`).
    pub participants_by_type: BTreeMap<String, u64>,
    /// Sessions by canonical status name (numeric `8` / `"8"` count as `finished`).
    pub sessions_by_status: BTreeMap<String, u64>,
    /// Sum of `call_duration` / `chat_duration`, seconds.
    pub sum_duration_s: i64,
    /// Earliest `created_at`, UTC (`2026-02-01T00:03:12Z`); `None` without sessions.
    pub min_created_at: Option<String>,
    /// Latest `created_at`, UTC.
    pub max_created_at: Option<String>,
    /// Transfer rows.
    pub transfers: u64,
    /// Disposition rows.
    pub dispositions: u64,
    /// Expected rows per output table (`sessions`, `participants`, `segments`, `rejects`,
    /// and the derived `events` and `milestones`...).
    pub rows: BTreeMap<String, u64>,
    /// Expected `events` rows by event code: `agentTalk`, `messageAnalysis`, `selfService`,
    /// `automationTriggered` (every code present, 0 when none). Sums to `rows["events"]`.
    pub events_by_code: BTreeMap<String, u64>,
    /// Sessions with no identifier under the default `[exchange]` identifiers: no e-mail
    /// address in `email` or `end_user.identifier`, and no E.164 `phone_number` on the first
    /// `end_user` participant.
    pub sessions_without_identifiers: u64,
    /// Events of those sessions (`addressable = false`, left out of the request bodies).
    pub unaddressable_events: u64,
    /// Expected `events` rows by mapping rule, keyed `<code>:<eventId suffix>` with the entry id
    /// left out (`agentTalk:handle`, `automationTriggered:va-escalated`...): every rule of the
    /// README's table present, 0 when none. Sums to `rows["events"]`.
    pub events_by_rule: BTreeMap<String, u64>,
    /// Total size on disk of the session files (all `files_seen`), bytes.
    pub bytes: u64,
    /// Every bad file (path relative to the corpus folder, `/`-separated) → expected `error_kind`.
    pub bad_files: BTreeMap<String, String>,
    /// Every superseded file (relative path), sorted.
    pub superseded_files: Vec<String>,
}

/// Writes the corpus described by `opts` to `<out>/sessions/` and the truth to
/// `<out>/truth.json`, and returns the truth.
///
/// Refuses (with [`Error::Config`]) invalid fractions and a `sessions` folder that already
/// holds files: stale files would make the truth wrong.
pub fn generate(opts: &GenerateOptions) -> Result<Truth, Error> {
    validate(opts)?;
    let root = opts.out.join(CORPUS_DIR);
    if let Ok(mut entries) = std::fs::read_dir(&root) {
        if entries.next().is_some() {
            return Err(Error::Config(format!(
                "{} already exists and is not empty; generate into a fresh folder",
                root.display()
            )));
        }
    }
    let slots = plan(opts);

    let mut days = BTreeSet::new();
    for slot in &slots {
        let day = json::local_day(slot.created, slot.offset);
        days.insert(day);
        if let Role::Good {
            reexport: Some(older_later),
        } = slot.role
        {
            days.insert(day + 1);
            if older_later {
                days.insert(day + 2);
            }
        }
    }
    std::fs::create_dir_all(&root).map_err(Error::io("create folder", &root))?;
    for day in days {
        let dir = root.join(day_dir(day));
        std::fs::create_dir_all(&dir).map_err(Error::io("create folder", &dir))?;
    }

    let outputs: Vec<Result<Emitted, Error>> = slots
        .par_iter()
        .map_init(Scratch::default, |scratch, slot| {
            emit(opts, &root, slot, scratch)
        })
        .collect();

    let mut truth = Truth {
        seed: opts.seed,
        corpus: CORPUS_DIR.to_owned(),
        events_by_code: EVENT_CODES.iter().map(|c| ((*c).to_owned(), 0)).collect(),
        events_by_rule: EVENT_RULES.iter().map(|r| (r.key(), 0)).collect(),
        ..Truth::default()
    };
    let mut created = (i64::MAX, i64::MIN);
    for output in outputs {
        let output = output?;
        truth.files_seen += output.files;
        truth.files_gzip += output.gzip;
        truth.files_ignored += output.ignored;
        truth.bytes += output.bytes;
        if let Some(path) = output.superseded {
            truth.superseded += 1;
            truth.superseded_files.push(path);
        }
        if let Some((path, kind)) = output.bad {
            truth.rejected += 1;
            *truth
                .rejects_by_kind
                .entry(kind.as_str().to_owned())
                .or_default() += 1;
            truth.bad_files.insert(path, kind.as_str().to_owned());
        }
        if let Some(facts) = output.session {
            truth.add_session(&facts);
            created = (created.0.min(facts.created), created.1.max(facts.created));
        }
    }
    if truth.sessions > 0 {
        truth.min_created_at = Some(json::utc_seconds(created.0));
        truth.max_created_at = Some(json::utc_seconds(created.1));
    }
    truth.superseded_files.sort();
    truth.rows.insert("rejects".to_owned(), truth.rejected);

    let path = opts.out.join(TRUTH_FILE);
    let mut text = serde_json::to_string_pretty(&truth)
        .map_err(|e| Error::Config(format!("cannot serialize the truth: {e}")))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(Error::io("write", &path))?;
    Ok(truth)
}

/// The corpus folder under the output folder.
const CORPUS_DIR: &str = "sessions";
/// The truth file in the output folder.
const TRUTH_FILE: &str = "truth.json";

/// Random streams: one for the plan, one per slot.
const STREAM_PLAN: u64 = 1;
const STREAM_SLOT: u64 = 2;

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

fn validate(opts: &GenerateOptions) -> Result<(), Error> {
    let fractions = [
        ("bad_fraction", opts.bad_fraction),
        ("duplicate_fraction", opts.duplicate_fraction),
        ("chat_fraction", opts.chat_fraction),
        ("gzip_fraction", opts.gzip_fraction),
    ];
    for (name, value) in fractions {
        if !(0.0..=1.0).contains(&value) {
            return Err(Error::Config(format!(
                "{name} must be between 0 and 1, got {value}"
            )));
        }
    }
    if opts.bad_fraction >= 1.0 {
        return Err(Error::Config(
            "bad_fraction must be below 1 (some files must be good)".to_owned(),
        ));
    }
    if opts.sessions > 50_000_000 {
        return Err(Error::Config(format!(
            "{} sessions is more than this generator supports (50,000,000)",
            opts.sessions
        )));
    }
    Ok(())
}

/// What one slot of the plan is.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// A session; `reexport` is `Some(older_sorts_last)` when it is exported twice.
    Good { reexport: Option<bool> },
    /// A bad file.
    Bad(BadKind),
}

/// One session or bad file, placed in time and given its id.
#[derive(Debug, Clone, Copy)]
struct Slot {
    index: u64,
    kind: SessionKind,
    id: i64,
    /// UTC seconds.
    created: i64,
    /// Minutes east of UTC.
    offset: i32,
    role: Role,
}

fn fraction_of(n: u64, fraction: f64) -> u64 {
    ((n as f64) * fraction).round() as u64
}

/// Places every session and bad file: which are chats, which are re-exported, which are
/// bad, their ids (ascending with creation time, per kind) and creation instants.
fn plan(opts: &GenerateOptions) -> Vec<Slot> {
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

/// `YYYY/MM/DD` of a day number.
fn day_dir(day: i64) -> String {
    let (y, m, d) = json::civil_from_days(day);
    format!("{y:04}/{m:02}/{d:02}")
}

/// Reused buffers of one worker.
#[derive(Default)]
struct Scratch {
    text: String,
    bytes: Vec<u8>,
    gzip: Vec<u8>,
}

impl Scratch {
    /// Serializes `doc` into the reused text buffer and writes it as one session file.
    #[allow(clippy::too_many_arguments)]
    fn write_doc(
        &mut self,
        doc: &V,
        pretty: bool,
        root: &Path,
        day: i64,
        stem: &str,
        gzip: bool,
        out: &mut Emitted,
    ) -> Result<String, Error> {
        self.text.clear();
        json::write(doc, pretty, &mut self.text);
        write_file(
            root,
            day,
            stem,
            gzip,
            self.text.as_bytes(),
            &mut self.gzip,
            out,
        )
    }
}

/// What one slot wrote.
#[derive(Debug, Default)]
struct Emitted {
    files: u64,
    gzip: u64,
    ignored: u64,
    bytes: u64,
    session: Option<Facts>,
    superseded: Option<String>,
    bad: Option<(String, BadKind)>,
}

/// The numbers one winning export contributes to the truth. Public so that a check which
/// counts a corpus another way (with the pipeline's parser) can sum its counts the same way.
#[derive(Debug)]
pub struct Facts {
    /// Call or chat.
    pub kind: SessionKind,
    /// Canonical status name.
    pub status: &'static str,
    /// `created_at`: UTC seconds here, microseconds in a check that reads the files back.
    pub created: i64,
    /// `call_duration` / `chat_duration`, seconds.
    pub duration: i64,
    /// Participants by `type`.
    pub participants_by_type: BTreeMap<String, u64>,
    /// Rows per table, `events` and `milestones` included.
    pub rows: BTreeMap<&'static str, u64>,
    /// Events by rule, in [`EVENT_RULES`] order.
    pub events: [u64; RULES],
    /// Whether the session has an identifier (its events are addressable).
    pub addressable: bool,
}

impl Truth {
    /// Adds one winning export to the counts.
    pub fn add_session(&mut self, facts: &Facts) {
        self.sessions += 1;
        match facts.kind {
            SessionKind::Call => self.calls += 1,
            SessionKind::Chat => self.chats += 1,
        }
        *self
            .sessions_by_status
            .entry(facts.status.to_owned())
            .or_default() += 1;
        self.sum_duration_s += facts.duration;
        for (kind, n) in &facts.participants_by_type {
            self.participants += n;
            *self.participants_by_type.entry(kind.clone()).or_default() += n;
        }
        for (table, n) in &facts.rows {
            *self.rows.entry((*table).to_owned()).or_default() += n;
        }
        self.transfers += facts.rows.get("transfers").copied().unwrap_or(0);
        self.dispositions += facts.rows.get("dispositions").copied().unwrap_or(0);
        for code in EVENT_CODES {
            self.events_by_code.entry(code.to_owned()).or_default();
        }
        for (rule, n) in EVENT_RULES.iter().zip(facts.events) {
            *self.events_by_code.entry(rule.code.to_owned()).or_default() += n;
            *self.events_by_rule.entry(rule.key()).or_default() += n;
        }
        if !facts.addressable {
            self.sessions_without_identifiers += 1;
            self.unaddressable_events += facts.events.iter().sum::<u64>();
        }
    }
}

/// Counts what the pipeline will derive from a winning export.
fn facts_of(doc: &V, kind: SessionKind, status: GenStatus, created: i64) -> Facts {
    let duration = match doc
        .get("call_duration")
        .or_else(|| doc.get("chat_duration"))
    {
        Some(V::Int(n)) => *n,
        Some(V::Str(text)) => text.parse().unwrap_or(0),
        _ => 0,
    };
    let mut participants_by_type = BTreeMap::new();
    let mut attributes = doc.get("custom_data_secured").map_or(0, V::entries)
        + doc.get("custom_data_not_secured").map_or(0, V::entries)
        + doc.get("sip_headers").map_or(0, V::entries);
    for p in doc.get("participants").map_or(&[][..], V::items) {
        let kind = p.get("type").and_then(V::as_str).unwrap_or("");
        *participants_by_type.entry(kind.to_owned()).or_default() += 1;
        attributes += p.get("sip_headers").map_or(0, V::entries)
            + p.get("virtual_agent_params").map_or(0, V::entries);
    }
    let redactions: usize = doc
        .get("recordings")
        .map_or(&[][..], V::items)
        .iter()
        .map(|r| r.len_of("redaction_times"))
        .sum();
    let segments = [
        "handle_durations",
        "queue_durations",
        "virtual_agent_handle_durations",
        "consumer_handle_durations",
        "consumer_event_durations",
        "consumer_in_menu_durations",
    ]
    .iter()
    .map(|k| doc.len_of(k))
    .sum::<usize>();
    let automation = doc
        .get("automation_redirection")
        .map_or(0, |a| a.len_of("redirection_group"));
    let rows: BTreeMap<&'static str, u64> = [
        ("sessions", 1),
        ("participants", doc.len_of("participants")),
        ("transfers", doc.len_of("transfers")),
        (
            "escalations",
            doc.len_of("escalations") + doc.len_of("virtual_agent_deflected_escalations"),
        ),
        ("deflections", doc.len_of("deflection_details")),
        ("segments", segments),
        ("dispositions", doc.len_of("dispositions")),
        ("recordings", doc.len_of("recordings")),
        ("redactions", redactions),
        ("offer_events", doc.len_of("offer_events")),
        ("media", doc.len_of("photos") + doc.len_of("videos")),
        ("attributes", attributes),
        ("automation_redirections", automation),
    ]
    .into_iter()
    .map(|(table, n)| (table, n as u64))
    .collect();
    let mut facts = Facts {
        kind,
        status: status.name(),
        created,
        duration,
        participants_by_type,
        rows,
        events: events_of(doc, status),
        addressable: has_identifier(doc),
    };
    facts.rows.insert("events", facts.events.iter().sum());
    facts.rows.insert("milestones", milestones_of(doc));
    facts
}

// ---------------------------------------------------------------------------------------------
// The derived tables, counted from the document by the README's rules ("Derived events and the
// lifecycle timeline"), independently of the pipeline's code.

/// The `events` codes.
pub const EVENT_CODES: [&str; 4] = [
    "agentTalk",
    "messageAnalysis",
    "selfService",
    "automationTriggered",
];

/// One row of the README's event mapping table: the code and the `eventId` suffix its events
/// carry (without the entry id).
#[derive(Debug, Clone, Copy)]
pub struct EventRule {
    /// The event code (`agentTalk`...).
    pub code: &'static str,
    /// The `eventId` suffix (`handle`...).
    pub suffix: &'static str,
}

impl EventRule {
    /// `<code>:<suffix>`, the key in [`Truth::events_by_rule`].
    pub fn key(self) -> String {
        format!("{}:{}", self.code, self.suffix)
    }
}

/// How many rules [`EVENT_RULES`] has.
pub const RULES: usize = 14;

/// Every rule of the mapping table, in the order [`events_of`] counts them.
pub const EVENT_RULES: [EventRule; RULES] = {
    const fn rule(code: &'static str, suffix: &'static str) -> EventRule {
        EventRule { code, suffix }
    }
    [
        rule("agentTalk", "handle"),
        rule("agentTalk", "participant"),
        rule("messageAnalysis", "voicemail"),
        rule("messageAnalysis", "va"),
        rule("selfService", "menu"),
        rule("selfService", "va"),
        rule("automationTriggered", "deflection"),
        rule("automationTriggered", "transfer"),
        rule("automationTriggered", "va-deflected"),
        rule("automationTriggered", "escalation"),
        rule("automationTriggered", "va-escalated"),
        rule("automationTriggered", "scheduled"),
        rule("automationTriggered", "campaign"),
        rule("automationTriggered", "redirection"),
    ]
};

/// Whether `key` holds a value other than `null`.
fn is_set(v: &V, key: &str) -> bool {
    v.get(key).is_some_and(|x| *x != V::Null)
}

/// The array under `key` (empty when absent or `null`).
fn items<'a>(v: &'a V, key: &str) -> &'a [V] {
    v.get(key).map_or(&[][..], V::items)
}

/// The text under `key`, if it is a string.
fn text_of<'a>(v: &'a V, key: &str) -> Option<&'a str> {
    v.get(key).and_then(V::as_str)
}

/// Seconds of `call_duration`, else `chat_duration` (a number or a numeric string).
fn seconds_of(v: &V) -> Option<i64> {
    match v.get("call_duration").or_else(|| v.get("chat_duration"))? {
        V::Int(n) => Some(*n),
        V::Str(text) => text.parse().ok(),
        _ => None,
    }
}

/// A `deflection` value that names a deflection (not `no_deflection`, not null).
fn deflected(v: &V) -> bool {
    text_of(v, "deflection").is_some_and(|d| !d.is_empty() && d != "no_deflection")
}

/// An escalated virtual-agent segment: `finish_reason` `escalated`, or an `escalation_reason`.
fn escalated(segment: &V) -> bool {
    text_of(segment, "finish_reason") == Some("escalated") || is_set(segment, "escalation_reason")
}

/// Events per rule ([`EVENT_RULES`] order) the README's mapping table gives for one session.
fn events_of(doc: &V, status: GenStatus) -> [u64; RULES] {
    // The type: `session_type_v2`, else `call_type`/`chat_type`, else `session_type`.
    let kind_type = ["session_type_v2", "call_type", "chat_type", "session_type"]
        .iter()
        .find_map(|k| text_of(doc, k))
        .unwrap_or("")
        .to_ascii_lowercase();
    let va = items(doc, "virtual_agent_handle_durations");
    let va_escalated = va.iter().filter(|segment| escalated(segment)).count();
    let handles = items(doc, "handle_durations");
    let (escalations, va_deflected) = (
        doc.len_of("escalations"),
        doc.len_of("virtual_agent_deflected_escalations"),
    );
    let voicemail = matches!(status.name(), "voicemail" | "voicemail_received")
        || text_of(doc, "voicemail_reason").is_some_and(|r| r != "not_voicemail");
    let counts: [usize; RULES] = [
        // agentTalk: talk segments (wrap-up-only ones have a 0 duration)...
        handles.iter().filter(|h| seconds_of(h) > Some(0)).count(),
        // ...else, without any handle segment, agent participants that talked.
        if handles.is_empty() {
            items(doc, "participants")
                .iter()
                .filter(|p| text_of(p, "type") == Some("agent") && seconds_of(p) > Some(0))
                .count()
        } else {
            0
        },
        // messageAnalysis: a voicemail; every virtual-agent segment.
        usize::from(voicemail),
        va.len(),
        // selfService: IVR menu periods; virtual-agent segments that were not escalated.
        doc.len_of("consumer_in_menu_durations"),
        va.len() - va_escalated,
        // automationTriggered: the session's deflection, deflected transfers, deflected
        // escalations, hand-overs to a human (escalations[], else escalated VA segments),
        // callbacks and scheduled calls, campaign calls, redirection groups.
        usize::from(deflected(doc)),
        items(doc, "transfers")
            .iter()
            .filter(|t| deflected(t))
            .count(),
        va_deflected,
        escalations,
        if escalations + va_deflected == 0 {
            va_escalated
        } else {
            0
        },
        usize::from(has_word(&kind_type, "callback") || has_word(&kind_type, "scheduled")),
        usize::from(has_word(&kind_type, "campaign")),
        doc.get("automation_redirection")
            .map_or(0, |a| a.len_of("redirection_group")),
    ];
    counts.map(|n| n as u64)
}

/// `milestones` rows: one per non-null lifecycle timestamp.
fn milestones_of(doc: &V) -> u64 {
    let set = |v: &V, keys: &[&str]| keys.iter().filter(|k| is_set(v, k)).count() as u64;
    let mut n = set(
        doc,
        &[
            "created_at",
            "queued_at",
            "assigned_at",
            "connected_at",
            "ends_at",
            "scheduled_at",
            "updated_at",
        ],
    );
    // A participant leaves at `ended_at` (calls), else `finished_at` (chats), whichever is set.
    for p in items(doc, "participants") {
        n += set(p, &["connected_at"]);
        n += u64::from(is_set(p, "ended_at") || is_set(p, "finished_at"));
    }
    let per_item: [(&str, &[&str]); 10] = [
        ("queue_durations", &["started_at", "ended_at"]),
        ("transfers", &["created_at", "connected_at"]),
        ("handle_durations", &["started_at", "ended_at"]),
        (
            "virtual_agent_handle_durations",
            &["started_at", "ended_at"],
        ),
        ("escalations", &["escalated_at"]),
        ("virtual_agent_deflected_escalations", &["escalated_at"]),
        ("consumer_handle_durations", &["started_at", "ended_at"]),
        ("consumer_in_menu_durations", &["started_at", "ended_at"]),
        ("consumer_event_durations", &["started_at", "ended_at"]),
        ("recordings", &["started_at", "ended_at"]),
    ];
    for (array, keys) in per_item {
        n += items(doc, array).iter().map(|v| set(v, keys)).sum::<u64>();
    }
    n
}

/// `word` (lower case) is a whole word of `text` (lower case): `app` is a word of
/// `messaging inbound (app chat)`, not of `messaging (whatsapp)`.
pub fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// Whether the default identifiers find a value: `email`, else `end_user.identifier` when
/// it is an e-mail address; `phone_number` of the first `end_user` participant in E.164.
fn has_identifier(doc: &V) -> bool {
    let email = text_of(doc, "email")
        .into_iter()
        .chain(doc.get("end_user").and_then(|u| text_of(u, "identifier")))
        .any(is_email);
    let phone = items(doc, "participants")
        .iter()
        .find(|p| text_of(p, "type") == Some("end_user"))
        .and_then(|p| text_of(p, "phone_number"))
        .is_some_and(is_e164);
    email || phone
}

/// `local@domain.tld` without spaces.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let dot = domain.rfind('.');
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && dot.is_some_and(|at| at > 0 && at + 1 < domain.len())
}

/// `+` and 7–15 digits.
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// How a good session's files are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// `call-<id>` / `chat-<id>`.
    Prefix,
    /// `metadata-<id>` (calls only, so names never collide across the two id sequences).
    Metadata,
}

fn stem(kind: SessionKind, id: i64, naming: Naming) -> String {
    match naming {
        Naming::Prefix => format!("{}-{id}", kind.as_str()),
        Naming::Metadata => format!("metadata-{id}"),
    }
}

/// Generates and writes one slot.
fn emit(
    opts: &GenerateOptions,
    root: &Path,
    slot: &Slot,
    scratch: &mut Scratch,
) -> Result<Emitted, Error> {
    let mut rng = Rng::for_item(opts.seed, STREAM_SLOT, slot.index);
    let mut out = Emitted::default();
    let day = json::local_day(slot.created, slot.offset);
    match slot.role {
        Role::Bad(defect) => {
            let built = session::build(
                &mut rng,
                slot.kind,
                slot.id,
                slot.created,
                slot.offset,
                GenStatus::Finished,
            );
            let naming = if defect == BadKind::UnknownKind {
                Naming::Metadata
            } else {
                Naming::Prefix
            };
            bad::write_bad(
                &mut rng,
                defect,
                built.doc,
                opts.pretty,
                &mut scratch.text,
                &mut scratch.bytes,
            );
            let gzip = defect.may_gzip() && rng.chance(opts.gzip_fraction);
            let path = write_file(
                root,
                day,
                &stem(slot.kind, slot.id, naming),
                gzip,
                &scratch.bytes,
                &mut scratch.gzip,
                &mut out,
            )?;
            out.bad = Some((path, defect));
        }
        Role::Good { reexport } => {
            let status = GenStatus::draw(&mut rng, slot.kind);
            let naming = if slot.kind == SessionKind::Call && rng.chance(0.03) {
                Naming::Metadata
            } else {
                Naming::Prefix
            };
            let kindless = naming == Naming::Prefix && rng.chance(0.005);
            let mut built = session::build(
                &mut rng,
                slot.kind,
                slot.id,
                slot.created,
                slot.offset,
                status,
            );
            if kindless {
                session::strip_kind_keys(&mut built.doc);
            }
            let name = stem(slot.kind, slot.id, naming);
            let (winner, winner_day) = match reexport {
                None => (built.doc, day),
                Some(older_sorts_last) => {
                    let newer = session::reexport(&mut rng, &built);
                    let older_day = if older_sorts_last { day + 2 } else { day };
                    let gzip = rng.chance(opts.gzip_fraction);
                    let path = scratch.write_doc(
                        &built.doc,
                        opts.pretty,
                        root,
                        older_day,
                        &name,
                        gzip,
                        &mut out,
                    )?;
                    out.superseded = Some(path);
                    (newer, day + 1)
                }
            };
            let gzip = rng.chance(opts.gzip_fraction);
            scratch.write_doc(
                &winner,
                opts.pretty,
                root,
                winner_day,
                &name,
                gzip,
                &mut out,
            )?;
            if rng.chance(0.01) {
                write_companion(root, winner_day, slot, &mut out)?;
            }
            out.session = Some(facts_of(&winner, slot.kind, status, slot.created));
        }
    }
    Ok(out)
}

/// Writes one session file (gzip-compressed when asked); returns its corpus-relative path.
fn write_file(
    root: &Path,
    day: i64,
    stem: &str,
    gzip: bool,
    content: &[u8],
    gzip_buf: &mut Vec<u8>,
    out: &mut Emitted,
) -> Result<String, Error> {
    let mut relative = format!("{}/{stem}.json", day_dir(day));
    let path = root.join(&relative);
    let bytes = if gzip {
        relative.push_str(".gz");
        let path = root.join(&relative);
        gzip_buf.clear();
        let mut encoder =
            flate2::write::GzEncoder::new(std::mem::take(gzip_buf), flate2::Compression::default());
        encoder
            .write_all(content)
            .map_err(Error::io("compress", &path))?;
        *gzip_buf = encoder.finish().map_err(Error::io("compress", &path))?;
        std::fs::write(&path, &gzip_buf[..]).map_err(Error::io("write", &path))?;
        out.gzip += 1;
        gzip_buf.len()
    } else {
        std::fs::write(&path, content).map_err(Error::io("write", &path))?;
        content.len()
    };
    out.files += 1;
    out.bytes += bytes as u64;
    Ok(relative)
}

/// A file that is not session metadata: the call's recording or the chat's transcript.
fn write_companion(root: &Path, day: i64, slot: &Slot, out: &mut Emitted) -> Result<(), Error> {
    let dir = root.join(day_dir(day));
    let (path, content): (PathBuf, Vec<u8>) = match slot.kind {
        SessionKind::Call => {
            let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
            bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0x00, 0x00, 0x00, 0x00]);
            (dir.join(format!("call-{}.mp3", slot.id)), bytes)
        }
        SessionKind::Chat => {
            let text = format!(
                "[agent] Hello, how can I help you today?\n[end_user] Hi, I have a question about order {}.\n[agent] Sure, let me check that for you.\n",
                slot.id
            );
            (dir.join(format!("chat-{}.txt", slot.id)), text.into_bytes())
        }
    };
    std::fs::write(&path, content).map_err(Error::io("write", &path))?;
    out.ignored += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(out: &Path, pretty: bool) -> GenerateOptions {
        GenerateOptions {
            sessions: 300,
            out: out.to_owned(),
            seed: 7,
            bad_fraction: 0.1,
            duplicate_fraction: 0.2,
            chat_fraction: 0.3,
            gzip_fraction: 0.1,
            pretty,
        }
    }

    #[test]
    fn another_seed_gives_another_corpus() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut opts = options(a.path(), true);
        opts.sessions = 20;
        let truth_a = generate(&opts).unwrap();
        opts.out = b.path().to_owned();
        opts.seed = 8;
        let truth_b = generate(&opts).unwrap();
        assert_ne!(truth_a.bytes, truth_b.bytes);
    }

    #[test]
    fn bad_options_and_stale_output_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut opts = options(tmp.path(), true);
        opts.sessions = 5;
        opts.bad_fraction = 1.0;
        assert!(matches!(generate(&opts), Err(Error::Config(_))));
        opts.bad_fraction = 0.0;
        opts.chat_fraction = f64::NAN;
        assert!(matches!(generate(&opts), Err(Error::Config(_))));
        opts.chat_fraction = 0.5;
        let truth = generate(&opts).unwrap();
        assert_eq!((truth.sessions, truth.rejected), (5, 0));
        let again = generate(&opts).unwrap_err();
        assert!(matches!(again, Error::Config(_)), "{again}");
    }

    #[test]
    fn zero_sessions_is_an_empty_corpus() {
        let tmp = tempfile::tempdir().unwrap();
        let mut opts = options(tmp.path(), true);
        opts.sessions = 0;
        opts.bad_fraction = 0.0;
        let truth = generate(&opts).unwrap();
        assert_eq!((truth.files_seen, truth.min_created_at), (0, None));
    }
}
