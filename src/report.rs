//! What a run tells people and schedulers: a progress bar on a terminal, plain periodic log
//! lines otherwise (both on stderr), and the machine-readable run summary `_run.json`,
//! also printed as a short table.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::derive::{Attr, Derived, EventCode};
use crate::normalize::Session;
use crate::parse::Parsed;
use crate::shared::vocab::SessionKind;
use crate::write::PartitionBy;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

/// Counters one worker accumulates for one chunk of files; merged by the runner.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Files fully read.
    pub files_read: u64,
    /// Bytes read from disk.
    pub bytes_read: u64,
    /// Sessions written, calls.
    pub calls: u64,
    /// Sessions written, chats.
    pub chats: u64,
    /// Rejected files by `error_kind`.
    pub rejects_by_kind: BTreeMap<String, u64>,
    /// Status values that are neither a known name nor a known code, with counts.
    pub unknown_statuses: KeyCounts,
    /// Keys the format does not define, by path (`participants[].x_debug`), with counts.
    pub unknown_fields: KeyCounts,
    /// Exchange events by code.
    pub events_by_code: BTreeMap<EventCode, u64>,
    /// Events of sessions without any identifier (not in the request bodies).
    pub unaddressable_events: u64,
    /// Sessions without any identifier.
    pub sessions_without_identifiers: u64,
    /// Required attributes sent empty, by code and attribute.
    pub missing_required: BTreeMap<(EventCode, Attr), u64>,
    /// Events whose id another event of the same session already has.
    pub duplicate_event_ids: u64,
}

impl Tally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Tally) {
        self.files_read += other.files_read;
        self.bytes_read += other.bytes_read;
        self.calls += other.calls;
        self.chats += other.chats;
        self.unaddressable_events += other.unaddressable_events;
        self.sessions_without_identifiers += other.sessions_without_identifiers;
        self.duplicate_event_ids += other.duplicate_event_ids;
        for (k, v) in other.rejects_by_kind {
            *self.rejects_by_kind.entry(k).or_default() += v;
        }
        self.unknown_statuses.merge(other.unknown_statuses);
        self.unknown_fields.merge(other.unknown_fields);
        for (k, v) in other.events_by_code {
            *self.events_by_code.entry(k).or_default() += v;
        }
        for (k, v) in other.missing_required {
            *self.missing_required.entry(k).or_default() += v;
        }
    }

    /// Total rejected files.
    pub fn rejected(&self) -> u64 {
        self.rejects_by_kind.values().sum()
    }

    /// Counts one session written: its kind, its unknown keys and unknown status.
    pub fn count_session(&mut self, parsed: &Parsed<'_>, session: &Session<'_>) {
        for field in &parsed.unknown_fields {
            self.unknown_fields.add(field, 1);
        }
        if let Some(status) = session.status.as_ref().filter(|s| !s.known) {
            self.unknown_statuses.add(&status.name, 1);
        }
        match session.kind {
            SessionKind::Call => self.calls += 1,
            SessionKind::Chat => self.chats += 1,
        }
    }

    /// Counts one session's derived events.
    pub fn count_events(&mut self, derived: &Derived<'_>) {
        for e in &derived.events {
            *self.events_by_code.entry(e.code).or_default() += 1;
            for attr in e.missing_required() {
                *self.missing_required.entry((e.code, attr)).or_default() += 1;
            }
        }
        let mut ids: Vec<&str> = derived.events.iter().map(|e| e.event_id.as_str()).collect();
        ids.sort_unstable();
        self.duplicate_event_ids += ids.windows(2).filter(|w| w[0] == w[1]).count() as u64;
        if !derived.addressable() {
            self.sessions_without_identifiers += 1;
            self.unaddressable_events += derived.events.len() as u64;
        }
    }
}

/// Distinct keys a [`KeyCounts`] lists; occurrences of further keys are only counted.
pub const MAX_LISTED_KEYS: usize = 1000;

/// Occurrences by key, for keys that come from the data (unknown field paths, unknown status
/// values): at most [`MAX_LISTED_KEYS`] distinct keys are listed, the first ones met in plan
/// order, and occurrences of any other key are added to `unlisted`. Ten files with a million
/// distinct keys each would otherwise hold gigabytes and write them into `_run.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyCounts {
    /// Counts of the listed keys.
    pub listed: BTreeMap<String, u64>,
    /// Occurrences of keys beyond the first [`MAX_LISTED_KEYS`].
    pub unlisted: u64,
}

impl KeyCounts {
    /// Counts `n` occurrences of `key`.
    pub fn add(&mut self, key: &str, n: u64) {
        if let Some(count) = self.listed.get_mut(key) {
            *count += n;
        } else if self.listed.len() < MAX_LISTED_KEYS {
            self.listed.insert(key.to_owned(), n);
        } else {
            self.unlisted += n;
        }
    }

    /// Adds `other` (counted later in plan order) into `self`.
    pub fn merge(&mut self, other: KeyCounts) {
        for (key, n) in other.listed {
            self.add(&key, n);
        }
        self.unlisted += other.unlisted;
    }
}

/// File accounting: `sessions + rejected + superseded = seen` in a full run. In an
/// incremental run `seen` is the whole input and the other counts are this run's work.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FileCounts {
    /// Session files discovered (`*.json`, `*.json.gz`, and files named explicitly).
    pub seen: u64,
    /// Files that became a session row.
    pub sessions: u64,
    /// Files rejected (one row each in `rejects`).
    pub rejected: u64,
    /// Files skipped because a newer export of the same session exists.
    pub superseded: u64,
    /// Other files under the input folders (recordings, transcripts...), not read.
    pub ignored: u64,
    /// Entries the directory walk could not read.
    pub walk_errors: u64,
    /// Symbolic links under the inputs that lead outside them, not followed.
    pub external_links: u64,
    /// Bytes read from disk by the full pass.
    pub bytes_read: u64,
    /// Session files left to the other shards of a sharded run (not counted in `seen`).
    pub other_shards: u64,
}

/// `_run.json`: everything a scheduler or a person needs to judge a run. Written by a run,
/// read back by `commit` (a shard's) and written again merged: one type for both, so a key
/// renamed here is renamed for `commit` too, and a shard summary without it is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Always `session-etl`: with `output_format`, what marks a folder as this tool's own
    /// (a `_SUCCESS` alone may be Spark's).
    pub tool: String,
    /// The layout version of the output ([`crate::publish::OUTPUT_FORMAT`]).
    pub output_format: u64,
    /// Version of session-etl that wrote the output.
    pub session_etl_version: String,
    /// Unique id of the run (also the prefix of its Parquet file names).
    pub run_id: String,
    /// UTC start, RFC 3339.
    pub started_at: String,
    /// Wall time, seconds.
    pub wall_time_s: f64,
    /// Input paths.
    pub inputs: Vec<String>,
    /// Output path.
    pub output: String,
    /// The shard this run processed (`--shard`), or null for a whole run.
    pub shard: Option<ShardSummary>,
    /// What an incremental run found changed and redid, or null for a plain run. In an
    /// incremental run `files` (but `seen`), `sessions`, `rejects_by_kind`, `events`,
    /// `unknown_*` and `throughput` are this run's work; `rows`, `partitions` and
    /// `reject_rate` describe the whole output.
    pub incremental: Option<IncrementalSummary>,
    /// Worker threads.
    pub threads: usize,
    /// File accounting.
    pub files: FileCounts,
    /// Rejected files by `error_kind`.
    pub rejects_by_kind: BTreeMap<String, u64>,
    /// Fraction of seen files rejected.
    pub reject_rate: f64,
    /// Sessions written: total, calls, chats.
    pub sessions: SessionCounts,
    /// Files dropped because a newer export of the same session exists (same as `files.superseded`).
    pub duplicates_collapsed: u64,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Folder layout of the session tables: `date` or `none`.
    pub partition_by: PartitionBy,
    /// Date partition folders written (`date=YYYY-MM-DD`), in order; empty with
    /// `partition_by = none`. Engines with a partition catalogue (Hive, Glue) register these.
    pub partitions: Vec<String>,
    /// Unknown status values kept as written, with counts (the first 1,000 distinct ones).
    pub unknown_statuses: BTreeMap<String, u64>,
    /// Occurrences of unknown status values beyond the first 1,000 distinct ones.
    pub unknown_statuses_unlisted: u64,
    /// Unknown keys tolerated, by path, with counts (the first 1,000 distinct paths).
    pub unknown_fields: BTreeMap<String, u64>,
    /// Occurrences of unknown keys beyond the first 1,000 distinct paths.
    pub unknown_fields_unlisted: u64,
    /// Derived Acoustic Exchange events.
    pub events: EventSummary,
    /// Throughput of the whole run; absent from a commit's summary, whose shards each have
    /// their own (under `shards`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    /// Walk errors, first 20 (the count is in `files.walk_errors`).
    pub walk_errors: Vec<String>,
    /// The shards a commit merged, each with its own run id, start, wall time and
    /// throughput; absent from a run's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<ShardRun>>,
}

/// One shard of a commit, as it ran (`_run.json` → `shards[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRun {
    /// Which shard.
    pub shard: ShardSummary,
    /// Its run id.
    pub run_id: String,
    /// When it started, RFC 3339.
    pub started_at: String,
    /// Its wall time, seconds.
    pub wall_time_s: f64,
    /// Its throughput.
    pub throughput: Option<Throughput>,
}

/// Which part of which sharded run an output is (`_run.json` → `shard`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardSummary {
    /// This shard.
    pub index: u32,
    /// Shards in the run.
    pub count: u32,
    /// Hash of the input file list (paths and sizes) and of the settings that shape the rows:
    /// `commit` merges only shards with equal fingerprints, so a shard left over from another
    /// night, input or configuration is refused instead of published.
    pub fingerprint: String,
}

/// What an incremental run compared and redid (`_run.json` → `incremental`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncrementalSummary {
    /// The run whose output and state this one started from; null when it started from
    /// scratch.
    pub previous_run: Option<String>,
    /// Why the run started from scratch (`asked`, `no_state`, `other_version`,
    /// `settings_changed`); null when it built on the previous output.
    pub full_refresh: Option<crate::incremental::state::FullReason>,
    /// Files with the size and modification time of the state: not opened.
    pub files_unchanged: u64,
    /// Files modified on disk with the same content hash: read, not parsed.
    pub files_same_content: u64,
    /// Files whose content changed.
    pub files_changed: u64,
    /// Files not in the state.
    pub files_new: u64,
    /// Files in the state and gone from the input: their sessions are rebuilt from the
    /// exports that remain, or leave the output.
    pub files_deleted: u64,
    /// Files of the previous state under a folder that could not be read
    /// (`--allow-unreadable`): kept as they were, not deleted.
    pub files_unreachable: u64,
    /// The first 20 deleted files.
    pub deleted_paths: Vec<String>,
    /// Sessions rebuilt (those of new, changed and deleted files).
    pub sessions_rebuilt: u64,
    /// Files the run took up: every export of a rebuilt session (older exports are only
    /// pre-scanned), and new or changed files without a session key.
    pub files_processed: u64,
    /// Date partitions rewritten because they held rows of a rebuilt session (with
    /// `partition_by = none`, the flat tables are rewritten whenever a session is rebuilt).
    pub partitions_rewritten: u64,
    /// Parquet files of the previous output kept as they were (hard-linked).
    pub files_kept: u64,
    /// Parquet files of the previous output read back and written without rebuilt rows.
    pub files_rewritten: u64,
}

/// What was derived for Acoustic Exchange (`_run.json` → `events`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct EventSummary {
    /// False when the run skipped derivation (`--no-derive`).
    pub derived: bool,
    /// Events by code; every code is listed, with 0 when none.
    pub by_code: BTreeMap<String, u64>,
    /// All events (rows in `events`).
    pub total: u64,
    /// Events of sessions without any identifier: in `events`, not in the request bodies.
    pub unaddressable_events: u64,
    /// Sessions without any identifier.
    pub sessions_without_identifiers: u64,
    /// Required attributes that had no source value and were sent empty, by `<code>.<attribute>`.
    pub missing_required: BTreeMap<String, u64>,
    /// Events whose `event_id` repeats within a session: the export repeated an entry id, so
    /// downstream de-duplication by id would drop them. Expected 0.
    pub duplicate_event_ids: u64,
    /// Events in the outbox `exchange/*.jsonl`: this run's addressable events that were not
    /// delivered before, and those carried undelivered from the previous outbox. Sent by
    /// `session-etl publish`, not by the run. (Named `published_events` before 0.2.)
    #[serde(alias = "published_events")]
    pub events_in_bodies: u64,
    /// This run's events left out of the bodies: the ledger says they were delivered.
    #[serde(default)]
    pub already_delivered: u64,
    /// Undelivered events of the previous outbox carried into this one.
    #[serde(default)]
    pub carried_undelivered: u64,
    /// Events the previous outbox's publishes delivered: added to the ledger's history.
    #[serde(default)]
    pub delivered_since_last_run: u64,
    /// Undelivered events of the previous outbox replaced by this run's events of the same
    /// session (sent instead of them).
    #[serde(default)]
    pub superseded_undelivered: u64,
    /// Lines of the previous outbox that were no request body (damage), unanswered: moved
    /// to `exchange/_dead-letter/<run-id>-unreadable.jsonl`. Expected 0.
    #[serde(default)]
    pub unreadable_outbox_lines: u64,
    /// Request bodies (lines) in `exchange/*.jsonl`.
    pub request_bodies: u64,
    /// Distinct individuals (identifier lists) in the request bodies.
    pub individuals: u64,
}

/// Sessions written.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SessionCounts {
    /// All sessions.
    pub written: u64,
    /// Calls.
    pub calls: u64,
    /// Chats.
    pub chats: u64,
}

/// Whole-run rates.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Throughput {
    /// Session files per second (seen / wall time).
    pub files_per_s: f64,
    /// Sessions written per second.
    pub sessions_per_s: f64,
    /// MB (10^6 bytes) read per second.
    pub mb_per_s: f64,
}

impl RunSummary {
    /// The short table printed at the end of a run.
    pub fn to_table(&self) -> String {
        let mut table = Table(String::new());
        table.line("output", self.output.clone());
        table.line("files seen", self.files.seen.to_string());
        if let Some(inc) = &self.incremental {
            table.line("incremental", inc.to_line());
        }
        self.file_lines(&mut table);
        if self.events.derived {
            self.events.lines(&mut table);
        } else {
            table.line("events", "not derived (--no-derive)".to_owned());
        }
        let rows: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t}={n}")).collect();
        table.line("rows", rows.join(" "));
        if let Some(throughput) = &self.throughput {
            table.line(
                "throughput",
                format!(
                    "{:.1}s wall, {:.0} files/s, {:.0} sessions/s, {:.1} MB/s",
                    self.wall_time_s,
                    throughput.files_per_s,
                    throughput.sessions_per_s,
                    throughput.mb_per_s
                ),
            );
        }
        table.0
    }

    /// What became of the files: sessions, rejects by kind, superseded, ignored, unknowns.
    fn file_lines(&self, table: &mut Table) {
        table.line(
            "  sessions",
            format!(
                "{} ({} calls, {} chats)",
                self.sessions.written, self.sessions.calls, self.sessions.chats
            ),
        );
        table.line(
            "  rejected",
            format!("{} ({:.2}%)", self.files.rejected, self.reject_rate * 100.0),
        );
        for (kind, n) in &self.rejects_by_kind {
            table.line(&format!("    {kind}"), n.to_string());
        }
        table.line(
            "  superseded",
            format!(
                "{} (older exports of the same session)",
                self.files.superseded
            ),
        );
        table.line("files ignored", self.files.ignored.to_string());
        if self.files.walk_errors > 0 {
            table.line("walk errors", self.files.walk_errors.to_string());
        }
        if !self.unknown_statuses.is_empty() {
            table.line(
                "unknown statuses",
                fmt_counts(&self.unknown_statuses, self.unknown_statuses_unlisted),
            );
        }
        if !self.unknown_fields.is_empty() {
            table.line(
                "unknown fields",
                fmt_counts(&self.unknown_fields, self.unknown_fields_unlisted),
            );
        }
    }
}

/// The summary table printed at the end of a run: one `name value` line each.
struct Table(String);

impl Table {
    fn line(&mut self, name: &str, value: String) {
        self.0.push_str(&format!("  {name:<22} {value}\n"));
    }
}

impl IncrementalSummary {
    /// The summary table's `incremental` line.
    fn to_line(&self) -> String {
        let basis = match (&self.previous_run, self.full_refresh) {
            (Some(previous), _) => format!("on run {previous}"),
            (None, Some(reason)) => format!("from scratch ({})", reason.as_str()),
            (None, None) => "from scratch".to_owned(),
        };
        format!(
            "{basis}: {} new, {} changed, {} deleted, {} unchanged ({} same content); {} sessions rebuilt from {} files; {} partitions rewritten, {} files kept",
            self.files_new,
            self.files_changed,
            self.files_deleted,
            self.files_unchanged + self.files_same_content,
            self.files_same_content,
            self.sessions_rebuilt,
            self.files_processed,
            self.partitions_rewritten,
            self.files_kept
        )
    }
}

impl EventSummary {
    /// The summary table's event lines.
    fn lines(&self, table: &mut Table) {
        let codes: Vec<String> = self
            .by_code
            .iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect();
        table.line("events", format!("{} ({})", self.total, codes.join(" ")));
        table.line(
            "  unaddressable",
            format!(
                "{} events of {} sessions without an identifier",
                self.unaddressable_events, self.sessions_without_identifiers
            ),
        );
        table.line(
            "  request bodies",
            format!(
                "{} ({} individuals, {} events)",
                self.request_bodies, self.individuals, self.events_in_bodies
            ),
        );
        if self.already_delivered + self.carried_undelivered + self.delivered_since_last_run > 0 {
            table.line(
                "  outbox",
                format!(
                    "{} carried undelivered, {} already delivered left out, {} delivered \
                     since the last run",
                    self.carried_undelivered, self.already_delivered, self.delivered_since_last_run
                ),
            );
        }
        if self.duplicate_event_ids > 0 {
            table.line(
                "  duplicate event ids",
                self.duplicate_event_ids.to_string(),
            );
        }
        if !self.missing_required.is_empty() {
            table.line("  missing required", fmt_counts(&self.missing_required, 0));
        }
    }
}

fn fmt_counts(counts: &BTreeMap<String, u64>, unlisted: u64) -> String {
    let mut parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ({n})")).collect();
    if unlisted > 0 {
        parts.push(format!("{unlisted} more of other keys"));
    }
    parts.join(", ")
}

/// What a finished run hands the report to sum up in `_run.json`.
pub struct RunFacts<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// How long it took.
    pub wall_time_s: f64,
    /// The inputs as given.
    pub inputs: &'a [crate::storage::Location],
    /// The output as given.
    pub output: &'a crate::storage::Location,
    /// The shard it ran, with what it saw.
    pub shard: Option<ShardSummary>,
    /// What an incremental run did.
    pub incremental: Option<IncrementalSummary>,
    /// Worker threads.
    pub threads: usize,
    /// Session files this run was responsible for.
    pub seen: u64,
    /// Rejected files the reject rate counts (the output's, in an incremental run).
    pub rejected_in_output: u64,
    /// Files superseded by a newer export.
    pub superseded: u64,
    /// Files left to the other shards.
    pub other_shards: u64,
    /// What the walk found.
    pub discovery: &'a crate::discover::Discovery,
    /// The counters of the parse.
    pub tally: Tally,
    /// What the sink wrote.
    pub written: crate::write::Written,
    /// The folder layout.
    pub partition_by: PartitionBy,
    /// Whether events were derived.
    pub derived: bool,
}

impl RunSummary {
    /// The summary of a finished run.
    pub fn assemble(facts: RunFacts<'_>) -> RunSummary {
        let RunFacts {
            tally,
            written,
            discovery,
            seen,
            wall_time_s: wall,
            ..
        } = facts;
        let events = EventSummary::of(&tally, written.exchange, facts.derived);
        let sessions = tally.calls + tally.chats;
        RunSummary {
            tool: crate::publish::TOOL.to_owned(),
            output_format: crate::publish::OUTPUT_FORMAT,
            session_etl_version: env!("CARGO_PKG_VERSION").to_owned(),
            run_id: facts.run_id.to_owned(),
            started_at: facts
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            wall_time_s: wall,
            inputs: facts.inputs.iter().map(|p| p.to_string()).collect(),
            output: facts.output.to_string(),
            shard: facts.shard,
            incremental: facts.incremental,
            threads: facts.threads,
            files: FileCounts {
                seen,
                sessions,
                rejected: tally.rejected(),
                superseded: facts.superseded,
                ignored: discovery.ignored,
                walk_errors: discovery.walk_errors.len() as u64,
                external_links: discovery.external_links,
                bytes_read: tally.bytes_read,
                other_shards: facts.other_shards,
            },
            rejects_by_kind: tally.rejects_by_kind.clone(),
            reject_rate: if seen == 0 {
                0.0
            } else {
                facts.rejected_in_output as f64 / seen as f64
            },
            sessions: SessionCounts {
                written: sessions,
                calls: tally.calls,
                chats: tally.chats,
            },
            duplicates_collapsed: facts.superseded,
            rows: written
                .rows
                .iter()
                .map(|(t, n)| ((*t).to_owned(), *n))
                .collect(),
            partition_by: facts.partition_by,
            partitions: written.partitions,
            unknown_statuses: tally.unknown_statuses.listed,
            unknown_statuses_unlisted: tally.unknown_statuses.unlisted,
            unknown_fields: tally.unknown_fields.listed,
            unknown_fields_unlisted: tally.unknown_fields.unlisted,
            events,
            throughput: Some(Throughput {
                files_per_s: seen as f64 / wall,
                sessions_per_s: sessions as f64 / wall,
                mb_per_s: tally.bytes_read as f64 / 1e6 / wall,
            }),
            walk_errors: discovery
                .walk_errors
                .iter()
                .take(20)
                .map(|e| e.message.clone())
                .collect(),
            shards: None,
        }
    }
}

impl EventSummary {
    /// A run's events: its counters, and what the request-body writer made of them. Every
    /// code is listed, so a code that found nothing shows 0 rather than going missing.
    fn of(tally: &Tally, exchange: crate::write::ExchangeCounts, derived: bool) -> EventSummary {
        let mut by_code: BTreeMap<String, u64> = EventCode::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), 0))
            .collect();
        for (code, n) in &tally.events_by_code {
            *by_code.entry(code.as_str().to_owned()).or_default() += n;
        }
        EventSummary {
            derived,
            total: by_code.values().sum(),
            by_code,
            unaddressable_events: tally.unaddressable_events,
            sessions_without_identifiers: tally.sessions_without_identifiers,
            duplicate_event_ids: tally.duplicate_event_ids,
            missing_required: tally
                .missing_required
                .iter()
                .map(|((code, attr), n)| (format!("{}.{}", code.as_str(), attr.name()), *n))
                .collect(),
            ..EventSummary::default()
        }
        .with_outbox(exchange)
    }

    /// The summary with its outbox counters set to what the request-body writer made
    /// (`commit` rebuilds the outbox of its shards, and sets them anew).
    pub fn with_outbox(self, exchange: crate::write::ExchangeCounts) -> EventSummary {
        EventSummary {
            events_in_bodies: exchange.events,
            already_delivered: exchange.already_delivered,
            carried_undelivered: exchange.carried,
            delivered_since_last_run: exchange.delivered_before,
            superseded_undelivered: exchange.superseded,
            unreadable_outbox_lines: exchange.unreadable,
            request_bodies: exchange.bodies,
            individuals: exchange.individuals,
            ..self
        }
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, log lines otherwise.
    #[default]
    Auto,
    /// Nothing.
    Quiet,
}

/// Progress of the full pass, on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    log_every: Option<Duration>,
    last_log: Instant,
    started: Instant,
    total: u64,
}

impl Progress {
    /// Starts reporting for `total` files.
    pub fn start(mode: ProgressMode, total: u64) -> Progress {
        let started = Instant::now();
        let terminal = std::io::stderr().is_terminal();
        let bar = (mode == ProgressMode::Auto && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  {per_sec}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let log_every =
            (mode == ProgressMode::Auto && !terminal).then_some(Duration::from_secs(10));
        Progress {
            bar,
            log_every,
            last_log: started,
            started,
            total,
        }
    }

    /// Reports `done` files processed so far, of which `sessions` sessions and `rejects` rejects.
    pub fn update(&mut self, done: u64, sessions: u64, rejects: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            let rate = sessions as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{rate:.0} sessions/s  {rejects} rejects"));
        } else if let Some(every) = self.log_every {
            if self.last_log.elapsed() >= every {
                self.last_log = Instant::now();
                let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
                eprintln!(
                    "session-etl progress files_done={done} files_total={} sessions={sessions} rejects={rejects} sessions_per_s={:.0}",
                    self.total,
                    sessions as f64 / elapsed
                );
            }
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_counts_list_the_first_keys_and_count_the_rest() {
        let mut a = KeyCounts::default();
        for i in 0..MAX_LISTED_KEYS + 10 {
            a.add(&format!("k{i:05}"), 2);
        }
        a.add("k00000", 1);
        assert_eq!(a.listed.len(), MAX_LISTED_KEYS);
        assert_eq!((a.listed["k00000"], a.unlisted), (3, 20));
        let mut b = KeyCounts::default();
        b.add("k00001", 5);
        b.add("new", 1);
        b.unlisted = 4;
        a.merge(b);
        assert_eq!((a.listed["k00001"], a.unlisted), (7, 25));
        assert!(!a.listed.contains_key("new"));
    }
}
