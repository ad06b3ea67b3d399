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
//! own random stream derived from the seed, so the files are byte-identical across runs
//! and thread counts. Generation runs on the rayon pool.
//!
//! The crate does not depend on the pipeline, so the truth is computed independently of it;
//! the tests that read a corpus back with the pipeline's parser are the root package's
//! (`tests/generator.rs`).

mod bad;
mod derived;
mod emit;
mod error;
mod json;
mod plan;
mod rng;
mod session;
mod truth;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use bad::BadKind;
pub use derived::{has_word, is_e164, is_email, EventRule, EVENT_CODES, EVENT_RULES, RULES};
pub use error::Error;
pub use json::utc_seconds;
pub use truth::{Facts, Truth};

use emit::{day_dir, emit, Emitted, Scratch};
use plan::{plan, Role, Slot};

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

/// Writes the corpus described by `opts` to `<out>/sessions/` and the truth to
/// `<out>/truth.json`, and returns the truth.
///
/// Refuses (with [`Error::Config`]) invalid fractions and a `sessions` folder that already
/// holds files: stale files would make the truth wrong.
pub fn generate(opts: &GenerateOptions) -> Result<Truth, Error> {
    validate(opts)?;
    let root = opts.out.join(CORPUS_DIR);
    refuse_stale(&root)?;
    let slots = plan(opts);
    create_day_folders(&root, &slots)?;
    let outputs: Vec<Result<Emitted, Error>> = slots
        .par_iter()
        .map_init(Scratch::default, |scratch, slot| {
            emit(opts, &root, slot, scratch)
        })
        .collect();
    let truth = sum_up(opts.seed, outputs)?;
    let path = opts.out.join(TRUTH_FILE);
    let mut text = serde_json::to_string_pretty(&truth)
        .map_err(|e| Error::Config(format!("cannot serialize the truth: {e}")))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(Error::io("write", &path))?;
    Ok(truth)
}

/// Refuses a corpus folder that already holds files.
fn refuse_stale(root: &Path) -> Result<(), Error> {
    if let Ok(mut entries) = std::fs::read_dir(root) {
        if entries.next().is_some() {
            return Err(Error::Config(format!(
                "{} already exists and is not empty; generate into a fresh folder",
                root.display()
            )));
        }
    }
    Ok(())
}

/// Creates every day folder up front, so that the slots can be written in parallel.
fn create_day_folders(root: &Path, slots: &[Slot]) -> Result<(), Error> {
    let mut days = BTreeSet::new();
    for slot in slots {
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
    std::fs::create_dir_all(root).map_err(Error::io("create folder", root))?;
    for day in days {
        let dir = root.join(day_dir(day));
        std::fs::create_dir_all(&dir).map_err(Error::io("create folder", &dir))?;
    }
    Ok(())
}

/// The truth: what every slot wrote, summed in slot order (the first failed slot's error).
fn sum_up(seed: u64, outputs: Vec<Result<Emitted, Error>>) -> Result<Truth, Error> {
    let mut truth = Truth {
        seed,
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
    Ok(truth)
}

/// The corpus folder under the output folder.
const CORPUS_DIR: &str = "sessions";
/// The truth file in the output folder.
const TRUTH_FILE: &str = "truth.json";

/// Refuses options that cannot give a corpus whose truth is right.
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
