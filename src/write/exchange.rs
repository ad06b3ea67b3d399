//! Acoustic Exchange request bodies: `OUT/exchange/<run-id>-NNNNN.jsonl`, one valid
//! `POST v1/event` body per line, every event of one individual batched together.
//!
//! Batching by individual across a whole run would need every event in memory. Instead each
//! event line is appended, as it is written, to one of [`BUCKETS`] spill files chosen by a
//! stable hash of the individual's identifiers. At the end each bucket (about 1/64th of the
//! events) is grouped in memory and written as bodies. Spill order is plan order, so the
//! output is identical on every run of the same input, whatever the thread count.
//!
//! The folder is an outbox ([`super::outbox`]): the undelivered events of the previous one
//! are carried into the spill first, and events its ledger says were answered (delivered, or
//! refused and kept in the dead letters) are left out.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::outbox::{self, BodyParts, Key, Outcome};
use crate::derive::{ExchangeEvent, Identifier};
use crate::shared::error::{Error, Result};
use crate::shared::stable_hash::fnv1a;
use crate::shared::vocab::SessionKey;

/// The folder of request bodies in the output.
pub const EXCHANGE_DIR: &str = "exchange";

/// Spill files per run; the peak memory of [`ExchangeWriter::close`] is one bucket (at most
/// [`SORT_RUN_BYTES`] of it) per thread.
pub const BUCKETS: usize = 64;

/// The identifiers as a JSON array (`[{"name":"email","value":"…"}]`); `None` when empty.
pub fn identifiers_json(identifiers: &[Identifier<'_>]) -> Option<String> {
    if identifiers.is_empty() {
        return None;
    }
    let mut out = String::from("[");
    for (i, id) in identifiers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_json_str(&mut out, id.name);
        out.push_str(",\"value\":");
        push_json_str(&mut out, &id.value);
        out.push('}');
    }
    out.push(']');
    Some(out)
}

/// One event of a request body as JSON: every attribute that has a value, and every
/// required attribute (empty string when it has none), in catalogue order.
///
/// Written by hand rather than through a `Serialize` tree: this runs for every event of the
/// corpus, and only the string values need JSON escaping.
pub fn event_json(event: &ExchangeEvent<'_>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"code\":\"");
    out.push_str(event.code.as_str());
    out.push_str("\",\"timestamp\":\"");
    out.push_str(&event.timestamp.to_utc_string());
    out.push_str("\",\"attributes\":[");
    let mut first = true;
    for spec in event.code.attributes() {
        let value = match event.value(spec.attr) {
            Some(v) => v,
            None if spec.required => Cow::Borrowed(""),
            None => continue,
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str("{\"name\":");
        push_json_str(&mut out, spec.attr.name());
        out.push_str(",\"value\":");
        push_json_str(&mut out, &value);
        out.push_str(",\"type\":\"");
        out.push_str(spec.data_type.as_str());
        out.push_str("\"}");
    }
    out.push_str("]}");
    out
}

/// Appends `s` as a JSON string literal: quoted, with `"`, `\\` and control characters
/// escaped (RFC 8259 §7); everything else is valid inside a JSON string as it is.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// The publishable events of one addressable session.
#[derive(Debug, Clone)]
pub struct Publishable {
    /// Whose events they are: they replace the undelivered ones of the session carried from
    /// the previous outbox.
    pub session: SessionKey,
    /// [`identifiers_json`] of the session: the batching key.
    pub identifiers: String,
    /// [`event_json`] of each event.
    pub events: Vec<String>,
}

/// What the request-body writer produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExchangeCounts {
    /// Events in request bodies.
    pub events: u64,
    /// Request bodies (lines).
    pub bodies: u64,
    /// Distinct individuals (identifier lists).
    pub individuals: u64,
    /// `.jsonl` files.
    pub files: u64,
    /// Events left out of the bodies because the ledger says they were answered: delivered,
    /// or refused (those are in the dead letters).
    pub already_delivered: u64,
    /// Events carried from the previous outbox, undelivered (some may then be found
    /// delivered or duplicated, and left out).
    pub carried: u64,
    /// Events of the previous outbox its journals mark delivered.
    pub delivered_before: u64,
    /// Undelivered events of the previous outbox left out because this run wrote events of
    /// their session again (which replace them).
    pub superseded: u64,
    /// Lines of the previous outbox that were no request body: moved to the dead letters.
    pub unreadable: u64,
}

/// What a run found in the previous outbox.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxCarry {
    /// Events of bodies the journals mark delivered: added to the history.
    pub delivered: u64,
    /// Events of bodies Exchange refused: added to the history too; they are sent again from
    /// the dead letters only.
    pub refused: u64,
    /// Undelivered events, carried into the spill (those of sessions the run writes again
    /// are then left out, see [`ExchangeCounts::superseded`]).
    pub undelivered: u64,
    /// Lines that are not request bodies, answered by no journal: moved to the dead letters.
    pub unreadable: u64,
}

/// Buckets events by individual while the run goes; writes the bodies on [`close`](Self::close).
pub struct ExchangeWriter {
    dir: PathBuf,
    spill_dir: PathBuf,
    file_prefix: String,
    channel_json: String,
    max_events_per_body: usize,
    max_body_bytes: usize,
    /// [`SORT_RUN_BYTES`], smaller in tests to exercise the merge.
    sort_run_bytes: usize,
    /// One [`BucketSpills`] per bucket.
    buckets: Vec<BucketSpills>,
    /// The previous output's ledger, whose history files the new ones extend.
    previous_ledger: Option<PathBuf>,
    delivered_before: u64,
    unreadable: u64,
}

impl ExchangeWriter {
    /// A writer whose bodies go to `out/exchange/`, named after `file_prefix` (the run id).
    pub fn create(
        out: &Path,
        file_prefix: &str,
        channel: &str,
        max_events_per_body: usize,
        max_body_bytes: usize,
    ) -> Result<ExchangeWriter> {
        let dir = out.join(EXCHANGE_DIR);
        let spill_dir = dir.join(".spill");
        std::fs::create_dir_all(&spill_dir).map_err(Error::io("create", &spill_dir))?;
        Ok(ExchangeWriter {
            dir,
            spill_dir,
            file_prefix: file_prefix.to_owned(),
            channel_json: {
                let mut json = String::new();
                push_json_str(&mut json, channel);
                json
            },
            max_events_per_body: max_events_per_body.max(1),
            max_body_bytes,
            sort_run_bytes: SORT_RUN_BYTES,
            buckets: (0..BUCKETS).map(|_| BucketSpills::default()).collect(),
            previous_ledger: None,
            delivered_before: 0,
            unreadable: 0,
        })
    }

    /// Builds on the outbox of the previous output, `previous` (its `exchange/` folder):
    /// events of bodies a journal marks answered join the history; undelivered ones are
    /// carried, and at [`close`](Self::close) left out only where this run wrote events of
    /// the same session again. So an event is dropped only when replaced: never because its
    /// session's file was deleted or is now rejected. A line that is no request body, which
    /// no journal answered, goes to the dead letters, with why.
    pub fn carry_outbox(&mut self, previous: &Path) -> Result<OutboxCarry> {
        let outcomes = outbox::read_journals(previous)?;
        let mut carry = OutboxCarry::default();
        let mut unreadable = Vec::new();
        for file in outbox::outbox_files(previous)? {
            outbox::for_each_body(&file, |n, line| {
                let outcome = outcomes.get(&outbox::body_key(line.as_bytes()));
                let parts = match BodyParts::of(line) {
                    Ok(parts) => parts,
                    Err(_) if outcome.is_some() => return Ok(()),
                    Err(e) => {
                        unreadable.push(outbox::DeadLetter::unreadable(
                            &file,
                            n,
                            line,
                            &format!("not a request body: {e}"),
                        )?);
                        return Ok(());
                    }
                };
                let identifiers = parts.identifiers.get();
                let bucket = bucket_of(identifiers);
                match outcome {
                    // Answered either way: a refused body's events are sent again from the
                    // dead letters only, once what Exchange refused is fixed.
                    Some(outcome) => {
                        match outcome {
                            Outcome::Delivered => carry.delivered += parts.events.len() as u64,
                            Outcome::Refused => carry.refused += parts.events.len() as u64,
                        }
                        let path = self.spill_path(Spill::Delivered, bucket);
                        let out = spill_writer(&mut self.buckets[bucket].delivered, &path)?;
                        outbox::append_keys(out, parts.event_keys())
                            .map_err(Error::io("write", &path))?;
                    }
                    None => {
                        let path = self.spill_path(Spill::Carried, bucket);
                        let out = spill_writer(&mut self.buckets[bucket].carried, &path)?;
                        for event in &parts.events {
                            carry.undelivered += 1;
                            let session = outbox::event_session(event.get())
                                .map_or_else(|| "-".to_owned(), |s| session_text(&s));
                            writeln!(out, "{session}\t{identifiers}\t{}", event.get())
                                .map_err(Error::io("write", &path))?;
                        }
                    }
                }
                Ok(())
            })?;
        }
        carry.unreadable = unreadable.len() as u64;
        if !unreadable.is_empty() {
            let path = self
                .dir
                .join(outbox::DEAD_LETTER_DIR)
                .join(format!("{}-unreadable.jsonl", self.file_prefix));
            outbox::write_dead_letters(&path, &unreadable)?;
        }
        self.delivered_before += carry.delivered;
        self.unreadable += carry.unreadable;
        self.previous_ledger = Some(previous.join(outbox::LEDGER_DIR));
        // The dead letters not since delivered, and the publish reports, are kept.
        outbox::carry_dead_letters(previous, &self.dir, &outcomes)?;
        for report in outbox::report_files(previous)? {
            if let Some(name) = report.file_name() {
                let to = self.dir.join(outbox::LEDGER_DIR).join(name);
                crate::publish::place_file(&report, &to)?;
            }
        }
        Ok(carry)
    }

    /// Appends a session's events to its individual's bucket.
    pub fn write(&mut self, session: &Publishable) -> Result<()> {
        self.write_events(
            &session.session,
            &session.identifiers,
            session.events.iter().map(String::as_str),
        )
    }

    /// Takes the events of the request bodies in `file` as this run's own, as if each
    /// session's had been written with [`write`](Self::write): `commit` rebuilds one outbox
    /// from its shards' this way. Their bodies were never sent (a shard is never published),
    /// and a shard is session-etl's output, so a line that is no request body, or an event
    /// whose session cannot be told, is damage: the error names the file and the line.
    /// Returns the events taken.
    pub fn take_bodies(&mut self, file: &Path) -> Result<u64> {
        let mut taken = 0;
        outbox::for_each_body(file, |n, line| {
            let damaged =
                |why: String| Error::Config(format!("{} line {n}: {why}", file.display()));
            let parts =
                BodyParts::of(line).map_err(|e| damaged(format!("not a request body: {e}")))?;
            for event in &parts.events {
                let session = outbox::event_session(event.get())
                    .ok_or_else(|| damaged("an event without a session's eventId".into()))?;
                self.write_events(&session, parts.identifiers.get(), [event.get()].into_iter())?;
                taken += 1;
            }
            Ok(())
        })?;
        Ok(taken)
    }

    fn write_events<'e>(
        &mut self,
        session: &SessionKey,
        identifiers: &str,
        events: impl ExactSizeIterator<Item = &'e str>,
    ) -> Result<()> {
        if events.len() == 0 {
            return Ok(());
        }
        let bucket = bucket_of(identifiers);
        // Only a bucket with carried events needs to know whose events replace them.
        if self.buckets[bucket].carried.is_some() {
            let path = self.spill_path(Spill::Sessions, bucket);
            let out = spill_writer(&mut self.buckets[bucket].sessions, &path)?;
            writeln!(out, "{}", session_text(session)).map_err(Error::io("write", &path))?;
        }
        self.spill(bucket, identifiers, events)
    }

    fn spill<'e>(
        &mut self,
        bucket: usize,
        identifiers: &str,
        events: impl Iterator<Item = &'e str>,
    ) -> Result<()> {
        let path = self.spill_path(Spill::Events, bucket);
        let w = spill_writer(&mut self.buckets[bucket].events, &path)?;
        // JSON text never contains a raw tab or newline, so both are safe separators.
        (|| {
            for event in events {
                w.write_all(identifiers.as_bytes())?;
                w.write_all(b"\t")?;
                w.write_all(event.as_bytes())?;
                w.write_all(b"\n")?;
            }
            Ok::<(), std::io::Error>(())
        })()
        .map_err(Error::io("write", &path))
    }

    fn spill_path(&self, spill: Spill, bucket: usize) -> PathBuf {
        let name = match spill {
            Spill::Events => "bucket",
            Spill::Delivered => "delivered",
            Spill::Carried => "carried",
            Spill::Sessions => "sessions",
        };
        self.spill_dir.join(format!("{name}-{bucket:02}"))
    }

    /// Groups each bucket by individual and writes the bodies; removes the spill files.
    ///
    /// Buckets are independent (each writes its own file), so they are written in parallel
    /// on the current rayon pool: at the end of a 200,000-session run this took 0.63 s on one
    /// core while the tables' last row groups took 0.26 s on the other. Memory: one sort run
    /// per thread.
    pub fn close(mut self) -> Result<ExchangeCounts> {
        use rayon::prelude::*;
        let buckets: Vec<_> = std::mem::take(&mut self.buckets)
            .into_iter()
            .enumerate()
            .collect();
        let per_bucket = buckets
            .into_par_iter()
            .map(|(bucket, spills)| {
                let history = self.close_history(bucket, spills.delivered)?;
                let mut counts = ExchangeCounts::default();
                let spill = self.spill_path(Spill::Events, bucket);
                let has_events = spills.events.is_some() || spills.carried.is_some();
                if let Some(writer) = spills.events {
                    finish_spill(writer, &spill)?;
                }
                if let Some(carried) = spills.carried {
                    self.add_carried(bucket, carried, spills.sessions, &mut counts)?;
                }
                if has_events {
                    self.write_bodies(bucket, &spill, &history, &mut counts)?;
                    std::fs::remove_file(&spill).map_err(Error::io("remove", &spill))?;
                }
                Ok(counts)
            })
            .collect::<Result<Vec<_>>>()?;
        std::fs::remove_dir(&self.spill_dir).map_err(Error::io("remove", &self.spill_dir))?;
        let mut sum = per_bucket
            .into_iter()
            .fold(ExchangeCounts::default(), |sum, c| ExchangeCounts {
                events: sum.events + c.events,
                bodies: sum.bodies + c.bodies,
                individuals: sum.individuals + c.individuals,
                files: sum.files + c.files,
                already_delivered: sum.already_delivered + c.already_delivered,
                carried: sum.carried + c.carried,
                delivered_before: 0,
                superseded: sum.superseded + c.superseded,
                unreadable: 0,
            });
        sum.delivered_before = self.delivered_before;
        sum.unreadable = self.unreadable;
        Ok(sum)
    }

    /// Appends to bucket `bucket`'s spill the carried events whose session this run wrote no
    /// events of (the run's replace the others).
    fn add_carried(
        &self,
        bucket: usize,
        carried: BufWriter<File>,
        sessions: Option<BufWriter<File>>,
        counts: &mut ExchangeCounts,
    ) -> Result<()> {
        let carried_path = self.spill_path(Spill::Carried, bucket);
        finish_spill(carried, &carried_path)?;
        // One bucket's sessions: about 1/64th of the run's.
        let mut written = HashSet::new();
        if let Some(sessions) = sessions {
            let path = self.spill_path(Spill::Sessions, bucket);
            finish_spill(sessions, &path)?;
            let reader = BufReader::new(File::open(&path).map_err(Error::io("open", &path))?);
            for line in reader.lines() {
                written.insert(line.map_err(Error::io("read", &path))?);
            }
            std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
        }
        let spill = self.spill_path(Spill::Events, bucket);
        let mut out = BufWriter::new(
            File::options()
                .append(true)
                .create(true)
                .open(&spill)
                .map_err(Error::io("open", &spill))?,
        );
        let reader =
            BufReader::new(File::open(&carried_path).map_err(Error::io("open", &carried_path))?);
        for line in reader.lines() {
            let line = line.map_err(Error::io("read", &carried_path))?;
            let Some((session, record)) = line.split_once('\t') else {
                continue;
            };
            if session != "-" && written.contains(session) {
                counts.superseded += 1;
                continue;
            }
            counts.carried += 1;
            writeln!(out, "{record}").map_err(Error::io("write", &spill))?;
        }
        out.flush().map_err(Error::io("write", &spill))?;
        std::fs::remove_file(&carried_path).map_err(Error::io("remove", &carried_path))
    }

    /// The delivered events of bucket `bucket`: the previous history and the deliveries its
    /// journals recorded since, written as this output's history file and returned sorted.
    fn close_history(&self, bucket: usize, delivered: Option<BufWriter<File>>) -> Result<Vec<Key>> {
        let mut keys = match &self.previous_ledger {
            Some(ledger) => outbox::read_history(&outbox::history_path(ledger, bucket))?,
            None => Vec::new(),
        };
        if let Some(writer) = delivered {
            let spill = self.spill_path(Spill::Delivered, bucket);
            finish_spill(writer, &spill)?;
            keys.extend(outbox::read_history(&spill)?);
            std::fs::remove_file(&spill).map_err(Error::io("remove", &spill))?;
        }
        keys.sort_unstable();
        keys.dedup();
        if !keys.is_empty() {
            let ledger = self.dir.join(outbox::LEDGER_DIR);
            outbox::write_history(&outbox::history_path(&ledger, bucket), &keys)?;
        }
        Ok(keys)
    }

    /// Writes one bucket's bodies: an external merge sort by individual, so memory stays
    /// under [`SORT_RUN_BYTES`] however many events (or however hot an individual) it holds.
    /// Events in `delivered` (sorted) are left out.
    fn write_bodies(
        &self,
        bucket: usize,
        spill: &Path,
        delivered: &[Key],
        counts: &mut ExchangeCounts,
    ) -> Result<()> {
        let path = self
            .dir
            .join(format!("{}-{bucket:05}.jsonl", self.file_prefix));
        let file = File::create(&path).map_err(Error::io("create", &path))?;
        let mut bodies = BodyWriter {
            out: BufWriter::with_capacity(256 << 10, file),
            path: &path,
            channel_json: &self.channel_json,
            max_events: self.max_events_per_body,
            max_bytes: self.max_body_bytes,
            key: String::new(),
            key_counted: false,
            body: String::new(),
            events_in_body: 0,
            delivered,
            seen: HashSet::new(),
            counts,
        };

        // Phase 1: cut the spill into sorted runs of bounded size.
        let mut reader = BufReader::new(File::open(spill).map_err(Error::io("open", spill))?);
        let mut run: Vec<SpillRecord> = Vec::new();
        let mut run_bytes = 0;
        let mut runs: Vec<PathBuf> = Vec::new();
        let mut scratch = Vec::new();
        while let Some(record) =
            SpillRecord::read(&mut reader, &mut scratch).map_err(Error::io("read", spill))?
        {
            run_bytes += record.line.len();
            run.push(record);
            if run_bytes >= self.sort_run_bytes {
                runs.push(self.write_run(spill, runs.len(), &mut run)?);
                run_bytes = 0;
            }
        }
        // Stable: one individual's events keep their run order.
        run.sort_by(|a, b| a.key().cmp(b.key()));
        if runs.is_empty() {
            // The common case: the bucket fits in one run.
            for record in &run {
                bodies.push(record.key(), record.event())?;
            }
        } else {
            if !run.is_empty() {
                runs.push(self.write_run(spill, runs.len(), &mut run)?);
            }
            merge_runs(&runs, &mut bodies)?;
            for r in &runs {
                std::fs::remove_file(r).map_err(Error::io("remove", r))?;
            }
        }
        bodies.finish()?;
        if counts.bodies == 0 {
            // Every event of the bucket was delivered already.
            std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
            counts.files -= 1;
        }
        Ok(())
    }

    /// Sorts `records` by individual (stably) into a run file; empties `records`.
    fn write_run(&self, spill: &Path, n: usize, records: &mut Vec<SpillRecord>) -> Result<PathBuf> {
        records.sort_by(|a, b| a.key().cmp(b.key()));
        let mut name = spill.as_os_str().to_owned();
        name.push(format!(".run-{n}"));
        let path = PathBuf::from(name);
        let file = File::create(&path).map_err(Error::io("create", &path))?;
        let mut out = BufWriter::with_capacity(256 << 10, file);
        for record in records.drain(..) {
            (|| {
                out.write_all(record.line.as_bytes())?;
                out.write_all(b"\n")
            })()
            .map_err(Error::io("write", &path))?;
        }
        out.flush().map_err(Error::io("write", &path))?;
        Ok(path)
    }
}

/// The spill files of one bucket, each created on first use.
#[derive(Default)]
struct BucketSpills {
    /// This run's events, and at close the carried ones that stay: `identifiers<TAB>event`.
    events: Option<BufWriter<File>>,
    /// Keys of the previous outbox's events its journals mark answered.
    delivered: Option<BufWriter<File>>,
    /// The previous outbox's undelivered events: `session<TAB>identifiers<TAB>event` (`-`
    /// for an event whose session cannot be told).
    carried: Option<BufWriter<File>>,
    /// The sessions this run wrote events of, one per line (only beside `carried`).
    sessions: Option<BufWriter<File>>,
}

/// Which spill file of a bucket.
#[derive(Debug, Clone, Copy)]
enum Spill {
    Events,
    Delivered,
    Carried,
    Sessions,
}

/// A session as its event ids name it: `call-1418`.
fn session_text(session: &SessionKey) -> String {
    format!("{}-{}", session.kind, session.id)
}

/// Which of the [`BUCKETS`] an individual's events go to.
fn bucket_of(identifiers: &str) -> usize {
    (fnv1a(identifiers.as_bytes()) % BUCKETS as u64) as usize
}

/// The spill writer in `slot`, created at `path` on first use.
fn spill_writer<'a>(
    slot: &'a mut Option<BufWriter<File>>,
    path: &Path,
) -> Result<&'a mut BufWriter<File>> {
    if slot.is_none() {
        let file = File::create(path).map_err(Error::io("create", path))?;
        *slot = Some(BufWriter::with_capacity(32 << 10, file));
    }
    slot.as_mut()
        .ok_or_else(|| Error::Internal("a spill writer just created".into()))
}

/// Flushes and closes a spill writer.
fn finish_spill(writer: BufWriter<File>, path: &Path) -> Result<()> {
    writer
        .into_inner()
        .map_err(|e| Error::io("write", path)(e.into_error()))?;
    Ok(())
}

/// Bytes of spill lines sorted in memory at once while writing the bodies, per thread.
pub const SORT_RUN_BYTES: usize = 32 << 20;

/// One spill line: `identifiers<TAB>event`.
struct SpillRecord {
    line: String,
    tab: usize,
}

impl SpillRecord {
    /// Reads the next line of `reader`, `None` at the end, with one allocation of the line's
    /// exact size (`BufRead::lines` grows a new `String` for every line).
    fn read(reader: &mut impl BufRead, scratch: &mut Vec<u8>) -> std::io::Result<Option<Self>> {
        scratch.clear();
        if reader.read_until(b'\n', scratch)? == 0 {
            return Ok(None);
        }
        if scratch.last() == Some(&b'\n') {
            scratch.pop();
        }
        let line = std::str::from_utf8(scratch)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let tab = line
            .find('\t')
            .ok_or_else(|| std::io::Error::other("spill line without a key"))?;
        Ok(Some(SpillRecord {
            line: line.to_owned(),
            tab,
        }))
    }
    fn key(&self) -> &str {
        &self.line[..self.tab]
    }
    fn event(&self) -> &str {
        &self.line[self.tab + 1..]
    }
}

/// Streams sorted runs in key order into `bodies`. Equal keys come from the earlier run
/// first, and each run is in spill order, so one individual's events keep their run order.
fn merge_runs(runs: &[PathBuf], bodies: &mut BodyWriter<'_>) -> Result<()> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let mut readers = runs
        .iter()
        .map(|p| Ok(BufReader::new(File::open(p).map_err(Error::io("open", p))?)))
        .collect::<Result<Vec<_>>>()?;
    let mut scratch = Vec::new();
    let mut next = |i: usize, readers: &mut Vec<BufReader<File>>| -> Result<Option<SpillRecord>> {
        SpillRecord::read(&mut readers[i], &mut scratch).map_err(Error::io("read", &runs[i]))
    };
    // Heap of (key, run index); the record itself waits in `heads`.
    let mut heads: Vec<Option<SpillRecord>> = Vec::with_capacity(runs.len());
    let mut heap = BinaryHeap::new();
    for i in 0..runs.len() {
        let head = next(i, &mut readers)?;
        if let Some(record) = &head {
            heap.push(Reverse((record.key().to_owned(), i)));
        }
        heads.push(head);
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        if let Some(record) = heads[i].take() {
            bodies.push(record.key(), record.event())?;
        }
        heads[i] = next(i, &mut readers)?;
        if let Some(record) = &heads[i] {
            heap.push(Reverse((record.key().to_owned(), i)));
        }
    }
    Ok(())
}

/// Writes request bodies from events arriving grouped by individual: at most `max_events`
/// and about `max_bytes` go into one body (an event larger than that alone gets a body of
/// its own). The body is built in one reused buffer. Events in `delivered`, and repeats of
/// one individual's event, are left out.
struct BodyWriter<'a> {
    out: BufWriter<File>,
    path: &'a Path,
    channel_json: &'a str,
    max_events: usize,
    max_bytes: usize,
    key: String,
    /// Whether the individual `key` was counted (it has an event to send).
    key_counted: bool,
    /// The body being built, without its closing `]}`.
    body: String,
    events_in_body: usize,
    delivered: &'a [Key],
    /// Keys of the events of the individual `key` so far.
    seen: HashSet<Key>,
    counts: &'a mut ExchangeCounts,
}

impl BodyWriter<'_> {
    fn push(&mut self, key: &str, event: &str) -> Result<()> {
        if key != self.key {
            self.flush_body()?;
            self.key.clear();
            self.key.push_str(key);
            self.key_counted = false;
            self.seen.clear();
        }
        let event_key = outbox::event_key(key, event);
        if self.delivered.binary_search(&event_key).is_ok() {
            self.counts.already_delivered += 1;
            return Ok(());
        }
        if !self.seen.insert(event_key) {
            return Ok(());
        }
        if !self.key_counted {
            self.key_counted = true;
            self.counts.individuals += 1;
        }
        // `]}\n` closes the body.
        let full = self.events_in_body == self.max_events
            || (self.events_in_body > 0 && self.body.len() + 1 + event.len() + 3 > self.max_bytes);
        if full {
            self.flush_body()?;
        }
        if self.events_in_body == 0 {
            self.body.push_str("{\"channel\":");
            self.body.push_str(self.channel_json);
            self.body.push_str(",\"identifiers\":");
            self.body.push_str(&self.key);
            self.body.push_str(",\"events\":[");
        } else {
            self.body.push(',');
        }
        self.body.push_str(event);
        self.events_in_body += 1;
        Ok(())
    }

    fn flush_body(&mut self) -> Result<()> {
        if self.events_in_body == 0 {
            return Ok(());
        }
        self.body.push_str("]}\n");
        self.out
            .write_all(self.body.as_bytes())
            .map_err(Error::io("write", self.path))?;
        self.counts.bodies += 1;
        self.counts.events += self.events_in_body as u64;
        self.body.clear();
        self.events_in_body = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush_body()?;
        // Synced with the whole output before it is published.
        self.out.flush().map_err(Error::io("write", self.path))?;
        self.counts.files += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(who: &str, n: usize) -> Publishable {
        Publishable {
            session: SessionKey {
                kind: crate::shared::vocab::SessionKind::Call,
                id: n as i64,
            },
            identifiers: format!(r#"[{{"name":"email","value":"{who}@example.com"}}]"#),
            events: vec![format!(
                r#"{{"code":"agentTalk","timestamp":"2026-03-23T20:14:37Z","attributes":[{{"name":"eventId","value":"{n}","type":"string"}}]}}"#
            )],
        }
    }

    /// `who`'s session `call-<n>` with one event whose duration is `seconds`.
    fn session_event(who: &str, n: usize, seconds: u32) -> Publishable {
        Publishable {
            session: SessionKey {
                kind: crate::shared::vocab::SessionKind::Call,
                id: n as i64,
            },
            identifiers: format!(r#"[{{"name":"email","value":"{who}@example.com"}}]"#),
            events: vec![format!(
                r#"{{"code":"agentTalk","timestamp":"2026-03-23T20:14:37Z","attributes":[{{"name":"eventId","value":"call-{n}:agentTalk:handle-1","type":"string"}},{{"name":"duration","value":"{seconds}","type":"number"}}]}}"#
            )],
        }
    }

    fn bodies_in(dir: &Path) -> Vec<String> {
        let mut lines = Vec::new();
        for file in outbox::outbox_files(&dir.join(EXCHANGE_DIR)).unwrap() {
            lines.extend(
                std::fs::read_to_string(file)
                    .unwrap()
                    .lines()
                    .map(String::from),
            );
        }
        lines
    }

    #[test]
    fn the_outbox_carries_what_was_not_delivered_and_never_what_was() {
        let first = tempfile::tempdir().unwrap();
        let mut writer =
            ExchangeWriter::create(first.path(), "r1", "Contact Center", 10, 1 << 20).unwrap();
        for (who, n) in [("a", 1), ("b", 2), ("c", 3)] {
            writer.write(&session_event(who, n, 10)).unwrap();
        }
        writer.close().unwrap();
        // A publish delivered a's body only.
        let outbox_dir = first.path().join(EXCHANGE_DIR);
        let delivered = bodies_in(first.path())
            .into_iter()
            .find(|b| b.contains("a@example.com"))
            .unwrap();
        let mut journal = outbox::Journal::create(&outbox_dir, "p1").unwrap();
        journal
            .record(Outcome::Delivered, outbox::body_key(delivered.as_bytes()))
            .unwrap();
        drop(journal);

        // The next night rebuilds a (unchanged) and c (changed); b's file did not change.
        let second = tempfile::tempdir().unwrap();
        let mut writer =
            ExchangeWriter::create(second.path(), "r2", "Contact Center", 10, 1 << 20).unwrap();
        let carry = writer.carry_outbox(&outbox_dir).unwrap();
        assert_eq!(
            carry,
            OutboxCarry {
                delivered: 1,
                refused: 0,
                undelivered: 2,
                unreadable: 0
            }
        );
        writer.write(&session_event("a", 1, 10)).unwrap();
        writer.write(&session_event("c", 3, 99)).unwrap();
        let counts = writer.close().unwrap();
        assert_eq!(
            (
                counts.events,
                counts.already_delivered,
                counts.carried,
                counts.superseded
            ),
            (2, 1, 1, 1)
        );
        let bodies = bodies_in(second.path());
        assert_eq!(bodies.len(), 2, "{bodies:?}");
        assert!(bodies.iter().any(|b| b.contains("b@example.com")));
        assert!(bodies.iter().any(|b| b.contains(r#""value":"99""#)));
        assert!(!bodies.iter().any(|b| b.contains("a@example.com")));

        // A full run over the same sessions, nothing published since: a is still known
        // delivered, and b and c (undelivered) come from the run itself, not from the outbox.
        let third = tempfile::tempdir().unwrap();
        let mut writer =
            ExchangeWriter::create(third.path(), "r3", "Contact Center", 10, 1 << 20).unwrap();
        let carry = writer
            .carry_outbox(&second.path().join(EXCHANGE_DIR))
            .unwrap();
        assert_eq!(carry.undelivered, 2);
        for (who, n, seconds) in [("a", 1, 10), ("b", 2, 10), ("c", 3, 99)] {
            writer.write(&session_event(who, n, seconds)).unwrap();
        }
        let counts = writer.close().unwrap();
        assert_eq!(
            (counts.events, counts.already_delivered, counts.superseded),
            (2, 1, 2)
        );
        let history = third.path().join(EXCHANGE_DIR).join(outbox::LEDGER_DIR);
        let keys: usize = (0..BUCKETS)
            .map(|b| {
                outbox::read_history(&outbox::history_path(&history, b))
                    .unwrap()
                    .len()
            })
            .sum();
        assert_eq!(keys, 1);

        // A run whose input lost b's and c's files (retention) still carries their
        // undelivered events: nothing replaces them, so they are not dropped. A damaged line
        // goes to the dead letters.
        let third_outbox = third.path().join(EXCHANGE_DIR);
        let damaged = third_outbox.join("r3-99999.jsonl");
        std::fs::write(&damaged, "{\"channel\":\n").unwrap();
        let fourth = tempfile::tempdir().unwrap();
        let mut writer =
            ExchangeWriter::create(fourth.path(), "r4", "Contact Center", 10, 1 << 20).unwrap();
        let carry = writer.carry_outbox(&third_outbox).unwrap();
        assert_eq!((carry.undelivered, carry.unreadable), (2, 1));
        writer.write(&session_event("a", 1, 10)).unwrap();
        let counts = writer.close().unwrap();
        assert_eq!(
            (counts.events, counts.carried, counts.superseded),
            (2, 2, 0)
        );
        let letters = fourth
            .path()
            .join(EXCHANGE_DIR)
            .join(outbox::DEAD_LETTER_DIR)
            .join("r4-unreadable.jsonl");
        let letter = std::fs::read_to_string(letters).unwrap();
        assert!(letter.contains("r3-99999.jsonl") && letter.contains("not a request body"));
    }

    #[test]
    fn bodies_stay_under_the_byte_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            ExchangeWriter::create(dir.path(), "r", "Contact Center", 100, 600).unwrap();
        for n in 0..10 {
            let mut event = session_event("a", n, 1);
            event.identifiers = r#"[{"name":"email","value":"a@example.com"}]"#.into();
            writer.write(&event).unwrap();
        }
        let counts = writer.close().unwrap();
        let bodies = bodies_in(dir.path());
        assert!(bodies.len() > 1 && counts.events == 10, "{bodies:?}");
        assert!(bodies.iter().all(|b| b.len() < 600), "{bodies:?}");
    }

    #[test]
    fn batches_each_individual_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            ExchangeWriter::create(dir.path(), "run", "Contact Center", 2, 1 << 20).unwrap();
        for (n, who) in ["a", "b", "a", "a", "c", "a"].iter().enumerate() {
            writer.write(&line(who, n)).unwrap();
        }
        let counts = writer.close().unwrap();
        assert_eq!(counts.events, 6);
        assert_eq!(counts.individuals, 3);
        assert_eq!(counts.bodies, 4, "a: 4 events → 2 bodies; b, c: 1 each");
        let mut bodies = Vec::new();
        for entry in std::fs::read_dir(dir.path().join(EXCHANGE_DIR)).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(path.extension().unwrap(), "jsonl", "spill folder removed");
            for l in std::fs::read_to_string(&path).unwrap().lines() {
                bodies.push(serde_json::from_str::<serde_json::Value>(l).unwrap());
            }
        }
        let of_a: Vec<Vec<String>> = bodies
            .iter()
            .filter(|b| b["identifiers"][0]["value"] == "a@example.com")
            .map(|b| {
                assert_eq!(b["channel"], "Contact Center");
                b["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["attributes"][0]["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .collect();
        assert_eq!(of_a, [vec!["0", "2"], vec!["3", "5"]], "run order kept");
    }

    #[test]
    fn event_json_escapes_and_sends_required_attributes_empty() {
        use crate::derive::{Attributes, EventCode};
        use crate::normalize::Instant;
        let event = ExchangeEvent {
            code: EventCode::AgentTalk,
            event_id: "call-1:agentTalk:handle-2".into(),
            timestamp: Instant::parse("2026-03-23T13:14:37-07:00").unwrap(),
            source_entity: "agent_handle",
            source_entity_id: Some(2),
            attributes: Attributes {
                notes: Some("said \"hi\"\nthen left \u{e9}"),
                duration: Some(245),
                ..Attributes::default()
            },
        };
        let json: serde_json::Value = serde_json::from_str(&event_json(&event)).unwrap();
        assert_eq!(json["code"], "agentTalk");
        assert_eq!(json["timestamp"], "2026-03-23T20:14:37Z");
        let attrs: Vec<(String, String, String)> = json["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let s = |k: &str| a[k].as_str().unwrap().to_owned();
                (s("name"), s("value"), s("type"))
            })
            .collect();
        let t = |n: &str, v: &str, ty: &str| (n.to_owned(), v.to_owned(), ty.to_owned());
        assert_eq!(
            attrs,
            [
                t("eventId", "call-1:agentTalk:handle-2", "string"),
                t("eventName", "", "string"),
                t("agentSkill", "", "string"),
                t("agentDisposition", "", "string"),
                t("subChannel", "", "string"),
                t("duration", "245", "number"),
                t("notes", "said \"hi\"\nthen left \u{e9}", "string"),
                t("sentiment", "", "string"),
            ]
        );
    }

    #[test]
    fn json_strings_escape_what_json_requires() {
        for s in [
            "plain",
            "",
            "quote \" and \\ back",
            "tab\tnl\ncr\r",
            "bell\u{7} nul\u{0}",
            "é → 🎧",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s, "{out}");
            assert!(!out[1..out.len() - 1].contains(|c: char| c < ' '), "{out}");
        }
    }

    #[test]
    fn buckets_larger_than_the_sort_budget_are_merged_in_the_same_order() {
        let write = |budget: usize| {
            let dir = tempfile::tempdir().unwrap();
            let mut writer =
                ExchangeWriter::create(dir.path(), "run", "Contact Center", 3, 1 << 20).unwrap();
            writer.sort_run_bytes = budget;
            // One hot individual and a few others, interleaved, all in few buckets.
            for n in 0..200 {
                let who = ["hot", "a", "hot", "b", "hot", "c"][n % 6];
                writer.write(&line(who, n)).unwrap();
            }
            let counts = writer.close().unwrap();
            let mut files: Vec<_> = std::fs::read_dir(dir.path().join(EXCHANGE_DIR))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let text: Vec<String> = files
                .iter()
                .map(|f| std::fs::read_to_string(f).unwrap())
                .collect();
            (counts, text)
        };
        let (in_memory, expected) = write(SORT_RUN_BYTES);
        let (merged, text) = write(500); // a run every ~3 lines
        assert_eq!(merged, in_memory);
        assert_eq!(text, expected);
        assert_eq!(in_memory.individuals, 4);
        assert_eq!(in_memory.events, 200);
        // hot: 100 events → 34 bodies of ≤ 3; a: 34 → 12; b, c: 33 → 11 each.
        assert_eq!(in_memory.bodies, 34 + 12 + 11 + 11);
    }

    #[test]
    fn identifiers_are_a_json_array_of_name_and_value() {
        use std::borrow::Cow;
        assert_eq!(identifiers_json(&[]), None);
        let ids = [
            Identifier {
                name: "email",
                value: Cow::Borrowed("a@example.com"),
            },
            Identifier {
                name: "crm",
                value: Cow::Borrowed("x\"y"),
            },
        ];
        let json = identifiers_json(&ids).unwrap();
        assert_eq!(
            json,
            r#"[{"name":"email","value":"a@example.com"},{"name":"crm","value":"x\"y"}]"#
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            serde_json::to_value(ids).unwrap()
        );
    }
}
