//! After the write stage: sending the outbox (`OUT/exchange/`, see [`crate::write::outbox`])
//! to Acoustic Exchange, each body at least once, never one the ledger marks answered.
//!
//! Bodies are read from the outbox files as they are sent (`concurrency` in flight), and each
//! answer is appended to this publish's journal the moment it arrives, so a rerun sends only
//! what no journal records, and a publish killed at any point sends again at most the bodies
//! that were in flight.

pub mod client;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use crate::shared::error::{Error, Result};
use crate::shared::stop::StopFlag;
use crate::write::outbox::{self, BodyParts, Journal, Key, Outcome};
pub use client::{Answer, ApiKey, Client, Endpoint, Policy, RetryReason, KEY_VARIABLE};

/// How bodies are sent: the `[exchange]` delivery settings, checked.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub endpoint: Endpoint,
    /// Where the key is, else [`KEY_VARIABLE`].
    pub key_file: Option<PathBuf>,
    pub concurrency: usize,
    pub attempts: usize,
    pub attempt_timeout: Duration,
    /// The whole publish's time limit.
    pub deadline: Duration,
}

/// What one publish is asked to do.
#[derive(Debug)]
pub struct Request<'a> {
    /// The output's `exchange/` folder.
    pub exchange: &'a Path,
    /// Names the journal, the report and the dead letters.
    pub publish_id: &'a str,
    pub delivery: &'a Delivery,
    pub sending: Sending,
}

/// Which bodies a publish sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// The outbox's bodies that no journal records as answered.
    Outbox,
    /// `--dead-letters`: the refused bodies again (once their cause is fixed), but those a
    /// journal records as delivered.
    DeadLetters,
}

/// How a publish ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Every body was answered, and accepted.
    Delivered,
    /// Every body was answered, some were refused (they are in the dead letters).
    SomeRefused,
    /// Some bodies are still undelivered (retries or the deadline ran out): the next
    /// publish sends them.
    Incomplete,
    /// Sending stopped at once: Exchange refused the key (401/403), or answered a redirect
    /// (the URL is not the account's); `first_problem` says which.
    Halted,
    /// A signal stopped it; the next publish sends the rest.
    Interrupted,
}

/// Bodies and events of one kind of outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub bodies: u64,
    pub events: u64,
}

impl Tally {
    fn add(&mut self, events: u64) {
        self.bodies += 1;
        self.events += events;
    }
}

/// What a publish did: printed, and written to `exchange/_ledger/<publish-id>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub publish_id: String,
    /// The URL posted to (never the key).
    pub endpoint: String,
    pub started_at: String,
    pub ending: Ending,
    /// Bodies a journal already marked answered: not sent.
    pub already_answered: Tally,
    /// Bodies sent (at least one attempt).
    pub sent: Tally,
    /// Of those, accepted (2xx).
    pub accepted: Tally,
    /// Refused (4xx) or unreadable: written to the dead letters.
    pub dead_lettered: Tally,
    /// Sent but not answered for good: left for the next publish.
    pub undelivered: Tally,
    /// Requests made (first attempts and retries).
    pub requests: u64,
    /// Retries by reason (`429`, `5xx`, `timeout`, `connection`).
    pub retries: BTreeMap<&'static str, u64>,
    /// The dead-letter file of this publish, when it has one.
    pub dead_letters: Option<String>,
    /// The first reason a body stayed undelivered, or the refusal of the key.
    pub first_problem: Option<String>,
    pub elapsed_s: f64,
    pub bodies_per_s: f64,
    pub events_per_s: f64,
}

impl Report {
    /// One line for people and schedulers.
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "session-etl: publish {}: {} bodies ({} events) accepted by {} in {:.1} s \
             ({:.0} bodies/s), {} already delivered, {} dead-lettered, {} undelivered, {} \
             retries",
            self.publish_id,
            self.accepted.bodies,
            self.accepted.events,
            self.endpoint,
            self.elapsed_s,
            self.bodies_per_s,
            self.already_answered.bodies,
            self.dead_lettered.bodies,
            self.undelivered.bodies,
            self.retries.values().sum::<u64>(),
        );
        if let Some(problem) = &self.first_problem {
            line.push_str(&format!("; {problem}"));
        }
        line
    }
}

/// What a dry run finds: what would be sent, and to where.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub endpoint: String,
    pub files: u64,
    pub to_send: Tally,
    pub already_answered: Tally,
}

/// Counts what a publish would send, sending nothing.
pub fn pending(exchange: &Path, endpoint: &Endpoint, sending: Sending) -> Result<Pending> {
    let answered = outbox::read_journals(exchange)?;
    let mut source = Source::new(exchange, sending, &answered)?;
    let mut to_send = Tally::default();
    for body in source.by_ref() {
        to_send.add(body?.events);
    }
    Ok(Pending {
        endpoint: endpoint.as_str().to_owned(),
        files: source.files_read,
        to_send,
        already_answered: source.skipped,
    })
}

/// One body read from the outbox.
struct Body {
    file: PathBuf,
    line: u64,
    key: Key,
    events: u64,
    text: Bytes,
    /// Why it cannot be sent, when its line is not a request body.
    invalid: Option<String>,
}

/// Sends every body of the outbox no journal records; `stop` ends it early (the bodies in
/// flight are abandoned, to be sent again by the next publish).
pub fn publish(request: &Request<'_>, key: &ApiKey, stop: &StopFlag) -> Result<Report> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let answered = outbox::read_journals(request.exchange)?;
    let mut source = Source::new(request.exchange, request.sending, &answered)?;
    let delivery = request.delivery;
    let client = Client::new(delivery.endpoint.clone(), key, delivery.concurrency)?;
    let policy = Policy {
        attempts: delivery.attempts,
        attempt_timeout: delivery.attempt_timeout,
        deadline: started + delivery.deadline,
    };
    let mut report = Report {
        publish_id: request.publish_id.to_owned(),
        endpoint: delivery.endpoint.as_str().to_owned(),
        started_at,
        ending: Ending::Delivered,
        already_answered: Tally::default(),
        sent: Tally::default(),
        accepted: Tally::default(),
        dead_lettered: Tally::default(),
        undelivered: Tally::default(),
        requests: 0,
        retries: BTreeMap::new(),
        dead_letters: None,
        first_problem: None,
        elapsed_s: 0.0,
        bodies_per_s: 0.0,
        events_per_s: 0.0,
    };
    let mut journal = Journal::create(request.exchange, request.publish_id)?;
    let mut dead = DeadLetters::new(request.exchange, request.publish_id);
    let halted = AtomicBool::new(false);
    let stopping = || stop.is_raised() || halted.load(Ordering::SeqCst);
    // The first error that stops the publish (an outbox unreadable, a journal unwritable).
    let failure = std::cell::RefCell::new(None);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the HTTP runtime: {e}")))?;
    runtime.block_on(async {
        let bodies = futures::stream::iter(std::iter::from_fn(|| {
            if stopping() {
                return None;
            }
            match source.next() {
                Some(Ok(body)) => Some(body),
                Some(Err(e)) => {
                    failure.borrow_mut().get_or_insert(e);
                    None
                }
                None => None,
            }
        }));
        let client = &client;
        let stopping = &stopping;
        let mut answers = bodies
            .map(|body| async move {
                if body.invalid.is_some() {
                    return (body, Answer::Stopped, Vec::new(), false);
                }
                let seed = body.key as u64;
                let (answer, retries) =
                    client.send(body.text.clone(), policy, seed, stopping).await;
                (body, answer, retries, true)
            })
            .buffer_unordered(delivery.concurrency);
        while let Some((body, answer, retries, sent)) = answers.next().await {
            let step = record(
                &body,
                &answer,
                &retries,
                sent,
                &mut report,
                &mut journal,
                &mut dead,
            );
            if let Err(e) = step {
                halted.store(true, Ordering::SeqCst);
                failure.borrow_mut().get_or_insert(e);
            }
            if matches!(answer, Answer::Halt { .. }) {
                halted.store(true, Ordering::SeqCst);
            }
        }
    });
    report.already_answered = source.skipped;
    journal.sync()?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    if let Some(path) = dead.finish()? {
        report.dead_letters = Some(path.display().to_string());
    }
    report.ending = if report.ending == Ending::Halted {
        Ending::Halted
    } else if stop.is_raised() {
        Ending::Interrupted
    } else if report.undelivered.bodies > 0 {
        Ending::Incomplete
    } else if report.dead_lettered.bodies > 0 {
        Ending::SomeRefused
    } else {
        Ending::Delivered
    };
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    report.elapsed_s = elapsed;
    report.bodies_per_s = report.accepted.bodies as f64 / elapsed;
    report.events_per_s = report.accepted.events as f64 / elapsed;
    let path = request
        .exchange
        .join(outbox::LEDGER_DIR)
        .join(format!("{}.json", request.publish_id));
    crate::publish::write_json(&path, &report)?;
    Ok(report)
}

/// Takes one answer into the report, the journal and the dead letters.
#[allow(clippy::too_many_arguments)]
fn record(
    body: &Body,
    answer: &Answer,
    retries: &[RetryReason],
    sent: bool,
    report: &mut Report,
    journal: &mut Journal,
    dead: &mut DeadLetters,
) -> Result<()> {
    if sent {
        report.sent.add(body.events);
        report.requests += 1 + retries.len() as u64;
    }
    for reason in retries {
        *report.retries.entry(reason.as_str()).or_default() += 1;
    }
    if let Some(why) = &body.invalid {
        dead.write(body, None, why)?;
        dead.sync()?;
        journal.record(Outcome::Refused, body.key)?;
        report.dead_lettered.add(body.events);
        return Ok(());
    }
    match answer {
        Answer::Accepted => {
            journal.record(Outcome::Delivered, body.key)?;
            report.accepted.add(body.events);
        }
        Answer::Refused { status, response } => {
            // On disk before the journal says "answered": a refused body is then sent
            // again from its dead letter only, so losing the letter would lose the body.
            dead.write(body, Some(*status), response)?;
            dead.sync()?;
            journal.record(Outcome::Refused, body.key)?;
            report.dead_lettered.add(body.events);
        }
        Answer::Halt { problem, .. } => {
            report.undelivered.add(body.events);
            report.ending = Ending::Halted;
            report.first_problem.get_or_insert(problem.clone());
        }
        Answer::GaveUp { reason } => {
            report.undelivered.add(body.events);
            report.first_problem.get_or_insert(format!(
                "{}:{}: {reason}",
                body.file.display(),
                body.line
            ));
        }
        Answer::Stopped => report.undelivered.add(body.events),
    }
    Ok(())
}

/// The bodies to send, one at a time: the outbox's (or the dead letters') lines that no
/// journal records as answered (delivered, for dead letters).
struct Source<'a> {
    sending: Sending,
    files: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, outbox::Lines)>,
    answered: &'a HashMap<Key, Outcome>,
    /// Bodies seen in this publish: a body written twice is sent once.
    seen: HashSet<Key>,
    skipped: Tally,
    files_read: u64,
}

impl<'a> Source<'a> {
    fn new(
        exchange: &Path,
        sending: Sending,
        answered: &'a HashMap<Key, Outcome>,
    ) -> Result<Source<'a>> {
        let files = match sending {
            Sending::Outbox => outbox::outbox_files(exchange)?,
            Sending::DeadLetters => outbox::dead_letter_files(exchange)?,
        };
        Ok(Source {
            sending,
            files: files.into_iter(),
            current: None,
            answered,
            seen: HashSet::new(),
            skipped: Tally::default(),
            files_read: 0,
        })
    }

    /// The body a line holds, and why it cannot be sent when it cannot; `None` for a
    /// dead letter that cannot be sent again (a line that was no request body, or one torn
    /// by a crash).
    fn body_of(&self, line: String) -> Option<(String, Option<String>)> {
        match self.sending {
            Sending::Outbox => Some((line, None)),
            Sending::DeadLetters => {
                let letter = serde_json::from_str::<outbox::DeadLetter>(&line).ok()?;
                Some((letter.body_text()?.to_owned(), None))
            }
        }
    }

    fn is_answered(&self, key: Key) -> bool {
        match self.sending {
            Sending::Outbox => self.answered.contains_key(&key),
            Sending::DeadLetters => self.answered.get(&key) == Some(&Outcome::Delivered),
        }
    }
}

impl Iterator for Source<'_> {
    type Item = Result<Body>;

    fn next(&mut self) -> Option<Result<Body>> {
        loop {
            let Some((path, lines)) = &mut self.current else {
                let path = self.files.next()?;
                match outbox::Lines::open(&path) {
                    Ok(lines) => {
                        self.current = Some((path, lines));
                        self.files_read += 1;
                    }
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            let (number, line) = match lines.next_line() {
                Ok(None) => {
                    self.current = None;
                    continue;
                }
                Err(e) => return Some(Err(e)),
                Ok(Some((number, line))) => (number, line.to_owned()),
            };
            let file = path.clone();
            let Some((text, mut invalid)) = self.body_of(line) else {
                continue;
            };
            let key = outbox::body_key(text.as_bytes());
            let events = match BodyParts::of(&text) {
                Ok(parts) => parts.events.len() as u64,
                Err(e) => {
                    invalid.get_or_insert(format!("not a request body: {e}"));
                    0
                }
            };
            if self.is_answered(key) || !self.seen.insert(key) {
                self.skipped.add(events);
                continue;
            }
            return Some(Ok(Body {
                file,
                line: number,
                key,
                events,
                text: Bytes::from(text),
                invalid,
            }));
        }
    }
}

/// This publish's dead-letter file, created with its first refusal.
struct DeadLetters {
    path: PathBuf,
    out: Option<std::io::BufWriter<File>>,
}

impl DeadLetters {
    fn new(exchange: &Path, publish_id: &str) -> DeadLetters {
        DeadLetters {
            path: exchange
                .join(outbox::DEAD_LETTER_DIR)
                .join(format!("{publish_id}.jsonl")),
            out: None,
        }
    }

    /// One line: where the body was, what Exchange answered, and the body itself (as JSON
    /// when it is JSON, so `jq -c .body` gives back the exact line).
    fn write(&mut self, body: &Body, status: Option<u16>, response: &str) -> Result<()> {
        if self.out.is_none() {
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
            }
            let file = File::options()
                .append(true)
                .create_new(true)
                .open(&self.path)
                .map_err(Error::io("create", &self.path))?;
            self.out = Some(std::io::BufWriter::new(file));
        }
        let text = String::from_utf8_lossy(&body.text);
        let raw = match serde_json::from_str::<&serde_json::value::RawValue>(&text) {
            Ok(raw) => serde_json::value::RawValue::from_string(raw.get().to_owned()),
            Err(_) => serde_json::value::to_raw_value(&text),
        }
        .map_err(|e| Error::Internal(format!("a dead letter's body: {e}")))?;
        let record = serde_json::to_string(&outbox::DeadLetter {
            file: body
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            line: body.line,
            status,
            response: response.to_owned(),
            events: body.events,
            body: raw,
        })
        .map_err(|e| Error::Internal(format!("a dead letter as JSON: {e}")))?;
        if let Some(out) = &mut self.out {
            writeln!(out, "{record}")
                .and_then(|()| out.flush())
                .map_err(Error::io("write", &self.path))?;
        }
        Ok(())
    }

    /// Forces what was written to disk.
    fn sync(&mut self) -> Result<()> {
        if let Some(out) = &mut self.out {
            out.flush().map_err(Error::io("write", &self.path))?;
            out.get_ref()
                .sync_data()
                .map_err(Error::io("sync", &self.path))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Option<PathBuf>> {
        match self.out {
            None => Ok(None),
            Some(out) => {
                let file = out
                    .into_inner()
                    .map_err(|e| Error::io("write", &self.path)(e.into_error()))?;
                file.sync_all().map_err(Error::io("sync", &self.path))?;
                Ok(Some(self.path))
            }
        }
    }
}
