//! The outbox: what `OUT/exchange/` holds between a run and the `publish` that sends it, and
//! the delivery ledger that says what was sent. One home for the folder's layout and record
//! formats; the run ([`super::ExchangeWriter`]) and `publish` ([`crate::delivery`]) both go
//! through it.
//!
//! ```text
//! exchange/<run-id>-NNNNN.jsonl     request bodies not delivered when the run ended
//! exchange/_ledger/history-NN.keys  every event answered before the run (bucket NN, sorted)
//! exchange/_ledger/<id>.journal     one publish's outcomes, appended as bodies are answered
//! exchange/_ledger/<id>.json        one publish's report
//! exchange/_dead-letter/<id>.jsonl  bodies Exchange refused, with its answer
//! ```
//!
//! A run builds the new outbox from the previous one: bodies a journal marks answered
//! (delivered, or refused and so in the dead letters) add their events to the history, undelivered events are carried (unless the run rebuilt their
//! session), and every event already in the history is left out of the new bodies. So the
//! outbox only ever holds what was not delivered, a full run does not send history again,
//! and a night whose publish failed is sent with the next.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use crate::shared::error::{Error, Result};
use crate::shared::vocab::{SessionKey, SessionKind};

/// The ledger folder inside `exchange/`.
pub const LEDGER_DIR: &str = "_ledger";
/// The dead-letter folder inside `exchange/`.
pub const DEAD_LETTER_DIR: &str = "_dead-letter";

/// A body's or an event's identity: 128 bits of XXH3, so that two different texts never
/// share one in practice (a shared key would leave an event unsent).
pub type Key = u128;

/// The identity of one request body: its line, without the newline.
pub fn body_key(line: &[u8]) -> Key {
    xxh3_128(line)
}

/// The identity of one event as sent: the individual's identifiers and the event's JSON, so
/// the same event for another individual, or changed in any attribute, is a new one.
pub fn event_key(identifiers: &str, event: &str) -> Key {
    let mut hasher = Xxh3::new();
    hasher.update(identifiers.as_bytes());
    hasher.update(b"\t");
    hasher.update(event.as_bytes());
    hasher.digest128()
}

/// The outbox files of an `exchange/` folder, sorted by name; none when it does not exist.
pub fn outbox_files(exchange: &Path) -> Result<Vec<PathBuf>> {
    files_named(exchange, ".jsonl")
}

/// The publish reports of an `exchange/` folder's ledger, sorted by name.
pub fn report_files(exchange: &Path) -> Result<Vec<PathBuf>> {
    files_named(&exchange.join(LEDGER_DIR), ".json")
}

/// The files of `dir` whose names end with `suffix`, sorted, but hidden ones and those of
/// the ledger's and dead letters' own folders; none when `dir` does not exist.
fn files_named(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io("list", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_listed(&name, suffix) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Whether `name`, a file's name in `exchange/`, is an outbox file's.
pub fn is_outbox_name(name: &str) -> bool {
    is_listed(name, ".jsonl")
}

/// Whether a file named `name` is listed by [`files_named`] for `suffix`.
fn is_listed(name: &str, suffix: &str) -> bool {
    name.ends_with(suffix) && !name.starts_with(['.', '_'])
}

/// The dead-letter files of an `exchange/` folder, newest first; none when there are none.
pub fn dead_letter_files(exchange: &Path) -> Result<Vec<PathBuf>> {
    let mut files = outbox_files(&exchange.join(DEAD_LETTER_DIR))?;
    files.reverse();
    Ok(files)
}

/// One line of a dead-letter file: where the body was, what Exchange answered, and the body.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The outbox file's name.
    pub file: Option<String>,
    /// Its line, from 1.
    pub line: u64,
    /// The HTTP status; none when the line was not a request body and was not sent.
    pub status: Option<u16>,
    /// Exchange's answer (its first 2,000 characters), or why it was not sent.
    pub response: String,
    pub events: u64,
    /// The body exactly as written (`jq -c .body` gives the line back); a JSON string when
    /// the line was not JSON.
    pub body: Box<RawValue>,
}

impl DeadLetter {
    /// A line that is not a request body, at line `line` of `file`, never sent.
    pub fn unreadable(file: &Path, line: u64, text: &str, why: &str) -> Result<DeadLetter> {
        Ok(DeadLetter {
            file: file.file_name().map(|n| n.to_string_lossy().into_owned()),
            line,
            status: None,
            response: why.to_owned(),
            events: 0,
            body: serde_json::value::to_raw_value(text)
                .map_err(|e| Error::Internal(format!("a line as a JSON string: {e}")))?,
        })
    }

    /// The body's text, as it was sent; `None` when the line was not a request body.
    pub fn body_text(&self) -> Option<&str> {
        let text = self.body.get();
        (!text.starts_with('"')).then_some(text)
    }
}

/// Writes `letters` as a new dead-letter file at `path`.
pub fn write_dead_letters(path: &Path, letters: &[DeadLetter]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
    }
    let mut text = String::new();
    for letter in letters {
        let line = serde_json::to_string(letter)
            .map_err(|e| Error::Internal(format!("a dead letter as JSON: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(Error::io("write", path))
}

/// Keeps the dead letters of the previous `exchange/` folder in the new one, without those a
/// later publish delivered (`publish --dead-letters`) and without repeats of one body (the
/// newest refusal is kept). A file kept whole is hard-linked. A line that does not read as
/// a dead letter (torn by a crash in the middle of its write) is kept as it is.
pub fn carry_dead_letters(
    previous: &Path,
    new: &Path,
    outcomes: &HashMap<Key, Outcome>,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for file in dead_letter_files(previous)? {
        let mut kept = Vec::new();
        let mut dropped = false;
        for_each_body(&file, |_, line| {
            let Ok(letter) = serde_json::from_str::<DeadLetter>(line) else {
                kept.push(line.to_owned());
                return Ok(());
            };
            let key = body_key(letter.body_text().unwrap_or(letter.body.get()).as_bytes());
            if outcomes.get(&key) == Some(&Outcome::Delivered) || !seen.insert(key) {
                dropped = true;
            } else {
                kept.push(line.to_owned());
            }
            Ok(())
        })?;
        let Some(name) = file.file_name() else {
            continue;
        };
        let to = new.join(DEAD_LETTER_DIR).join(name);
        if !dropped {
            crate::publish::place_file(&file, &to)?;
        } else if !kept.is_empty() {
            std::fs::create_dir_all(new.join(DEAD_LETTER_DIR))
                .map_err(Error::io("create folder", new))?;
            let mut text = kept.join("\n");
            text.push('\n');
            std::fs::write(&to, text).map_err(Error::io("write", &to))?;
        }
    }
    Ok(())
}

/// A request body's parts, as the exact text the run wrote.
#[derive(Deserialize)]
pub struct BodyParts<'a> {
    #[serde(borrow)]
    pub identifiers: &'a RawValue,
    #[serde(borrow)]
    pub events: Vec<&'a RawValue>,
}

impl<'a> BodyParts<'a> {
    /// Splits one body line; an error says what is wrong with it.
    pub fn of(line: &'a str) -> std::result::Result<BodyParts<'a>, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The keys of its events.
    pub fn event_keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.events
            .iter()
            .map(|e| event_key(self.identifiers.get(), e.get()))
    }
}

/// The session an event belongs to, from its `eventId` (`call-1418:agentTalk:handle-307`);
/// `None` when the event has none that reads as one.
pub fn event_session(event: &str) -> Option<SessionKey> {
    #[derive(Deserialize)]
    struct Event<'a> {
        #[serde(borrow)]
        attributes: Vec<Attribute<'a>>,
    }
    #[derive(Deserialize)]
    struct Attribute<'a> {
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        value: std::borrow::Cow<'a, str>,
    }
    let event: Event<'_> = serde_json::from_str(event).ok()?;
    let id = event.attributes.iter().find(|a| a.name == "eventId")?;
    let session = id.value.split(':').next()?;
    let (kind, number) = session.split_once('-')?;
    Some(SessionKey {
        kind: SessionKind::from_name(kind)?,
        id: number.parse().ok()?,
    })
}

/// What Exchange answered for a body, as a journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx: delivered.
    Delivered,
    /// A 4xx other than 401/403/408/429: the body is in the dead letters, not sent again.
    Refused,
}

impl Outcome {
    fn tag(self) -> u8 {
        match self {
            Outcome::Delivered => b'D',
            Outcome::Refused => b'R',
        }
    }
}

/// Bytes of one journal record: the outcome's tag, then the body key (little-endian).
const RECORD_BYTES: usize = 17;

/// How often a journal is forced to disk while a publish goes on. A killed process loses
/// nothing written (the kernel has it); this bounds what a power loss can lose.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// One publish's journal: each answered body is appended as soon as its answer arrives, in
/// one `write`, so a publish killed at any point has recorded every answer but those in
/// flight.
pub struct Journal {
    file: File,
    path: PathBuf,
    synced: Instant,
}

impl Journal {
    /// Creates `exchange/_ledger/<publish_id>.journal`.
    pub fn create(exchange: &Path, publish_id: &str) -> Result<Journal> {
        let dir = exchange.join(LEDGER_DIR);
        std::fs::create_dir_all(&dir).map_err(Error::io("create folder", &dir))?;
        let path = dir.join(format!("{publish_id}.journal"));
        let file = File::options()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(Error::io("create", &path))?;
        Ok(Journal {
            file,
            path,
            synced: Instant::now(),
        })
    }

    /// Records the outcome of the body `key`.
    pub fn record(&mut self, outcome: Outcome, key: Key) -> Result<()> {
        let mut record = [0u8; RECORD_BYTES];
        record[0] = outcome.tag();
        record[1..].copy_from_slice(&key.to_le_bytes());
        self.file
            .write_all(&record)
            .map_err(Error::io("write", &self.path))?;
        if self.synced.elapsed() >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    /// Forces what was recorded to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(Error::io("sync", &self.path))?;
        self.synced = Instant::now();
        Ok(())
    }
}

/// Every outcome the journals of `exchange/_ledger/` record. A delivery wins over a refusal
/// (a dead letter sent again and accepted). A torn last record (a publish killed in the
/// middle of a write) and records of an unknown tag (zeros a crash left at a file's end) are
/// ignored: their bodies count as unanswered, so they are sent again rather than lost.
pub fn read_journals(exchange: &Path) -> Result<HashMap<Key, Outcome>> {
    let mut outcomes = HashMap::new();
    for path in files_named(&exchange.join(LEDGER_DIR), ".journal")? {
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(Error::io("read", &path))?;
        for record in bytes.chunks_exact(RECORD_BYTES) {
            let mut key = [0u8; 16];
            key.copy_from_slice(&record[1..]);
            let key = Key::from_le_bytes(key);
            let outcome = match record[0] {
                b'D' => Outcome::Delivered,
                b'R' => Outcome::Refused,
                _ => continue,
            };
            let entry = outcomes.entry(key).or_insert(outcome);
            if outcome == Outcome::Delivered {
                *entry = Outcome::Delivered;
            }
        }
    }
    Ok(outcomes)
}

/// The history file of bucket `bucket` in `ledger`.
pub fn history_path(ledger: &Path, bucket: usize) -> PathBuf {
    ledger.join(format!("history-{bucket:02}.keys"))
}

/// Reads a history file's keys (sorted as written); none when it does not exist.
pub fn read_history(path: &Path) -> Result<Vec<Key>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes).map_err(Error::io("read", path))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("open", path)(e)),
    };
    if bytes.len() % 16 != 0 {
        return Err(Error::State {
            path: path.to_owned(),
            message: format!("{} bytes is not a whole number of keys", bytes.len()),
        });
    }
    Ok(bytes
        .chunks_exact(16)
        .map(|k| {
            let mut key = [0u8; 16];
            key.copy_from_slice(k);
            Key::from_le_bytes(key)
        })
        .collect())
}

/// Writes `keys` (sorted, without duplicates) as a history file.
pub fn write_history(path: &Path, keys: &[Key]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
    }
    let mut out = std::io::BufWriter::new(File::create(path).map_err(Error::io("create", path))?);
    for key in keys {
        out.write_all(&key.to_le_bytes())
            .map_err(Error::io("write", path))?;
    }
    out.flush().map_err(Error::io("write", path))
}

/// Appends raw keys to a spill file (the delivered events of one bucket, while a run reads
/// the previous outbox).
pub fn append_keys(out: &mut impl Write, keys: impl Iterator<Item = Key>) -> std::io::Result<()> {
    for key in keys {
        out.write_all(&key.to_le_bytes())?;
    }
    Ok(())
}

/// Calls `each(line_number, line)` for every line of an outbox file (numbered from 1). A
/// line that is not UTF-8 (damage) is given with its bad bytes replaced: it then reads as no
/// request body, rather than stopping the reader.
pub fn for_each_body(path: &Path, mut each: impl FnMut(u64, &str) -> Result<()>) -> Result<()> {
    let mut lines = Lines::open(path)?;
    while let Some((n, line)) = lines.next_line()? {
        each(n, line)?;
    }
    Ok(())
}

/// The non-empty lines of a file, numbered from 1, each as text (see [`for_each_body`]).
pub struct Lines {
    reader: BufReader<File>,
    path: PathBuf,
    bytes: Vec<u8>,
    text: String,
    number: u64,
}

impl Lines {
    pub fn open(path: &Path) -> Result<Lines> {
        Ok(Lines {
            reader: BufReader::with_capacity(
                256 << 10,
                File::open(path).map_err(Error::io("open", path))?,
            ),
            path: path.to_owned(),
            bytes: Vec::new(),
            text: String::new(),
            number: 0,
        })
    }

    /// The next non-empty line, `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, &str)>> {
        loop {
            self.bytes.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.bytes)
                .map_err(Error::io("read", &self.path))?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            while matches!(self.bytes.last(), Some(b'\n' | b'\r')) {
                self.bytes.pop();
            }
            if self.bytes.is_empty() {
                continue;
            }
            self.text = String::from_utf8_lossy(&self.bytes).into_owned();
            return Ok(Some((self.number, &self.text)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_key_depends_on_the_individual_and_every_byte_of_the_event() {
        let ids = r#"[{"name":"email","value":"a@example.com"}]"#;
        let event = r#"{"code":"agentTalk","attributes":[]}"#;
        assert_eq!(event_key(ids, event), event_key(ids, event));
        assert_ne!(
            event_key(ids, event),
            event_key(&ids.replace('a', "b"), event)
        );
        assert_ne!(
            event_key(ids, event),
            event_key(ids, &event.replace("[]", "[ ]"))
        );
        // The separator keeps the two parts apart.
        assert_ne!(event_key("ab", "c"), event_key("a", "bc"));
    }

    #[test]
    fn a_body_splits_into_its_exact_identifiers_and_events() {
        let line = r#"{"channel":"Contact Center","identifiers":[{"name":"email","value":"a@x.io"}],"events":[{"code":"agentTalk","timestamp":"2026-03-23T20:14:37Z","attributes":[{"name":"eventId","value":"call-1418:agentTalk:handle-307","type":"string"}]},{"code":"selfService","attributes":[]}]}"#;
        let parts = BodyParts::of(line).unwrap();
        assert_eq!(
            parts.identifiers.get(),
            r#"[{"name":"email","value":"a@x.io"}]"#
        );
        assert_eq!(parts.events.len(), 2);
        assert!(line.contains(parts.events[0].get()));
        assert_eq!(
            event_session(parts.events[0].get()),
            Some(SessionKey {
                kind: SessionKind::Call,
                id: 1418
            })
        );
        assert_eq!(event_session(parts.events[1].get()), None);
        assert!(BodyParts::of("{\"channel\":1}").is_err());
    }

    #[test]
    fn journals_keep_every_whole_record_and_a_delivery_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Journal::create(dir.path(), "p1").unwrap();
        first.record(Outcome::Refused, 7).unwrap();
        first.record(Outcome::Delivered, 8).unwrap();
        drop(first);
        let mut second = Journal::create(dir.path(), "p2").unwrap();
        second.record(Outcome::Delivered, 7).unwrap();
        second.sync().unwrap();
        drop(second);
        // A publish killed in the middle of a record.
        let torn = dir.path().join(LEDGER_DIR).join("p3.journal");
        std::fs::write(&torn, [b'D', 1, 2, 3]).unwrap();
        // Zeros a crash left at the end of another: unknown records, ignored.
        std::fs::write(dir.path().join(LEDGER_DIR).join("p4.journal"), [0u8; 34]).unwrap();
        let outcomes = read_journals(dir.path()).unwrap();
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[&7], Outcome::Delivered);
        assert_eq!(outcomes[&8], Outcome::Delivered);
        assert!(Journal::create(dir.path(), "p1").is_err(), "never reopened");
    }

    #[test]
    fn a_history_file_reads_back_and_a_damaged_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_path(dir.path(), 3);
        assert!(read_history(&path).unwrap().is_empty());
        write_history(&path, &[1, 2, u128::MAX]).unwrap();
        assert_eq!(read_history(&path).unwrap(), [1, 2, u128::MAX]);
        std::fs::write(&path, [0u8; 17]).unwrap();
        let err = read_history(&path).unwrap_err().to_string();
        assert!(err.contains("history-03.keys"), "{err}");
    }
}
