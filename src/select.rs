//! Stage 2 of the data flow: one export per session. The platform re-exports a session ~15
//! minutes after it ends, so one session can arrive as several files. Exactly one survives
//! per `(kind, id)`: the newest `updated_at`, ties going to the file whose path sorts last.
//!
//! Choosing *before* the full parse keeps the pipeline single-pass over the data that matters:
//! a light pre-scan reads each file's top-level `id`, `updated_at` and kind keys, usually
//! stopping within the first few hundred bytes, and only the winning export of each session
//! is parsed and normalized. Losing files are never mixed into the tables, so a session's
//! child rows always come from the same export as its `sessions` row. If the winner turns
//! out to be unusable, the runner falls back to the next-newest export (see [`Selection::fallback`]).

use std::collections::{HashMap, HashSet};
use std::fmt;

use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::discover::Origin;
use crate::discover::{InputFile, InputFiles};
use crate::normalize::{kind_of_key, Instant, KindEvidence};
use crate::parse::read::{read_file, read_prefix, Source};
use crate::parse::Str;
use crate::shared::error::{Error, Result};
use crate::shared::stable_hash::fnv1a;
use crate::shared::stop::{PausePoint, StopFlag};
use crate::shared::vocab::SessionKind;
use crate::shared::vocab::{FileKey, SessionKey};
use crate::storage::Storage;

/// One of `count` disjoint parts of the input, for running a big backfill on several
/// machines (`--shard index/count`) and merging the parts with `session-etl commit`.
///
/// A session belongs to the shard its key hashes to, so every export of it lands in the same
/// shard and duplicate resolution stays exact. Files without a readable key go by file name.
/// The hash is [`fnv1a`], not the standard library's, whose hasher may change between Rust
/// releases: machines running different builds must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: u32,
    /// How many shards the input is cut into.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard `{s}`: expected INDEX/COUNT with 0 ≤ INDEX < COUNT, like 0/4");
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    fn owns(&self, bytes: &[u8]) -> bool {
        fnv1a(bytes) % u64::from(self.count) == u64::from(self.index)
    }

    /// True if the session `key` belongs to this shard.
    pub fn owns_session(&self, key: SessionKey) -> bool {
        self.owns(format!("{}:{}", key.kind.as_str(), key.id).as_bytes())
    }

    /// True if the file `name`, whose session is unknown, belongs to this shard.
    pub fn owns_file(&self, name: &str) -> bool {
        self.owns(name.as_bytes())
    }
}

/// A job engine that starts the shards of a job as numbered tasks and tells each task its
/// number in an environment variable: what `--shard auto` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardEngine {
    /// The engine, for messages and the help.
    pub name: &'static str,
    /// The variable holding this task's index, `0 ≤ index < count`.
    pub index_var: &'static str,
    /// The variable holding the number of tasks, if the engine sets one.
    pub count_var: Option<&'static str>,
    /// Where the user finds the count to write `--shard auto/N`.
    pub count_hint: &'static str,
}

/// The engines `--shard auto` knows, the one place their variables are named: the resolver
/// and the `--help` of `--shard` both read it.
pub const SHARD_ENGINES: &[ShardEngine] = &[
    ShardEngine {
        name: "Kubernetes Indexed Job",
        index_var: "JOB_COMPLETION_INDEX",
        count_var: None,
        count_hint: "the Job's completions",
    },
    ShardEngine {
        name: "Cloud Run Jobs",
        index_var: "CLOUD_RUN_TASK_INDEX",
        count_var: Some("CLOUD_RUN_TASK_COUNT"),
        count_hint: "the job's task count",
    },
    ShardEngine {
        name: "AWS Batch array job",
        index_var: "AWS_BATCH_JOB_ARRAY_INDEX",
        count_var: Some("AWS_BATCH_JOB_ARRAY_SIZE"),
        count_hint: "the array size",
    },
];

/// The value of `--shard`: a fixed `INDEX/COUNT`, or `auto` / `auto/COUNT`, whose index (and,
/// for plain `auto`, count) the job engine gives in its environment ([`SHARD_ENGINES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// `INDEX/COUNT`.
    Fixed(Shard),
    /// `auto` (`count: None`: the engine gives it too) or `auto/COUNT`.
    Auto {
        /// The count written on the command line.
        count: Option<u32>,
    },
}

impl std::str::FromStr for ShardSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<ShardSpec, String> {
        let bad = || {
            format!(
                "shard `{s}`: expected INDEX/COUNT with 0 ≤ INDEX < COUNT (like 0/4), auto, \
                 or auto/COUNT"
            )
        };
        if s.trim() == "auto" {
            return Ok(ShardSpec::Auto { count: None });
        }
        if let Some(count) = s.trim().strip_prefix("auto/") {
            return match count.trim().parse::<u32>() {
                Ok(count) if count > 0 => Ok(ShardSpec::Auto { count: Some(count) }),
                _ => Err(bad()),
            };
        }
        s.parse().map(ShardSpec::Fixed).map_err(|_| bad())
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardSpec::Fixed(shard) => write!(f, "{shard}"),
            ShardSpec::Auto { count: None } => write!(f, "auto"),
            ShardSpec::Auto { count: Some(n) } => write!(f, "auto/{n}"),
        }
    }
}

/// A [`ShardSpec`] resolved: the shard, and the variables it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedShard {
    /// The shard to run.
    pub shard: Shard,
    /// The variable that gave the index (`None` for `INDEX/COUNT`).
    pub index_var: Option<&'static str>,
    /// The variable that gave the count (`None` when the command line did).
    pub count_var: Option<&'static str>,
}

impl fmt::Display for ResolvedShard {
    /// `2/4 (from CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.shard)?;
        match (self.index_var, self.count_var) {
            (Some(index), Some(count)) => write!(f, " (from {index} and {count})"),
            (Some(index), None) => write!(f, " (from {index})"),
            _ => Ok(()),
        }
    }
}

impl ShardSpec {
    /// The shard to run. `lookup` reads an environment variable (`std::env::var_os` in the
    /// binary, a map in tests). `auto` needs exactly one engine's index variable: none is
    /// no engine, and two engines' would be a guess that could process the wrong shard.
    pub fn resolve(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ResolvedShard, String> {
        let written = match *self {
            ShardSpec::Fixed(shard) => {
                return Ok(ResolvedShard {
                    shard,
                    index_var: None,
                    count_var: None,
                })
            }
            ShardSpec::Auto { count } => count,
        };
        let found: Vec<(&ShardEngine, String)> = SHARD_ENGINES
            .iter()
            .filter_map(|engine| lookup(engine.index_var).map(|value| (engine, value)))
            .collect();
        let (engine, index) = match found.as_slice() {
            [] => {
                let looked_for: Vec<String> = SHARD_ENGINES
                    .iter()
                    .map(|e| format!("{} ({})", e.index_var, e.name))
                    .collect();
                return Err(format!(
                    "--shard {self}: none of {} is set; outside these job engines, write \
                     --shard INDEX/COUNT",
                    looked_for.join(", ")
                ));
            }
            [one] => one,
            several => {
                let set: Vec<String> = several
                    .iter()
                    .map(|(e, value)| format!("{}={value:?} ({})", e.index_var, e.name))
                    .collect();
                return Err(format!(
                    "--shard {self}: the variables of several job engines are set, {}: \
                     guessing which one runs this process could process the wrong shard; \
                     write --shard INDEX/COUNT",
                    set.join(" and ")
                ));
            }
        };
        let from_engine = match engine.count_var {
            Some(var) => match lookup(var) {
                Some(value) => Some((var, parse_count(self, var, &value)?)),
                None => None,
            },
            None => None,
        };
        let (count, count_var) = match (written, from_engine) {
            (Some(written), Some((var, count))) if written != count => {
                return Err(format!(
                    "--shard {self}, but {var}={count} ({}): the counts differ, so the \
                     shards would not split the input as intended",
                    engine.name
                ))
            }
            (Some(written), _) => (written, None),
            (None, Some((var, count))) => (count, Some(var)),
            (None, None) => {
                let missing = match engine.count_var {
                    Some(var) => format!("{var} is not set"),
                    None => "no variable gives the count".to_owned(),
                };
                return Err(format!(
                    "--shard auto: {}={index:?} ({}) gives the index but {missing}: write \
                     --shard auto/N with N = {}",
                    engine.index_var, engine.name, engine.count_hint
                ));
            }
        };
        let shard = index
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&index| index < count)
            .map(|index| Shard { index, count })
            .ok_or_else(|| {
                format!(
                    "--shard {self}: {}={index:?} ({}) is not a shard index: expected an \
                     integer 0 ≤ index < {count}",
                    engine.index_var, engine.name
                )
            })?;
        Ok(ResolvedShard {
            shard,
            index_var: Some(engine.index_var),
            count_var,
        })
    }

    /// The `--help` of `--shard`, naming the variables of [`SHARD_ENGINES`].
    pub fn help() -> String {
        let engines: Vec<String> = SHARD_ENGINES
            .iter()
            .map(|e| match e.count_var {
                Some(count) => format!("{} and {count} ({})", e.index_var, e.name),
                None => format!("{} ({}, auto/COUNT only)", e.index_var, e.name),
            })
            .collect();
        format!(
            "Process only shard INDEX of COUNT (`0/4`): the sessions whose key hashes to it. \
             Merge the shard outputs with `session-etl commit`. `auto/COUNT` takes INDEX from \
             the job engine's environment, `auto` takes COUNT too: {}",
            engines.join(", ")
        )
    }
}

/// A count from an engine's variable: an integer ≥ 1.
fn parse_count(spec: &ShardSpec, var: &str, value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|&count| count > 0)
        .ok_or_else(|| {
            format!("--shard {spec}: {var}={value:?} is not a shard count: expected an integer ≥ 1")
        })
}

/// The version of one export: newer `updated_at` wins, then the later path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    updated_at_micros: Option<i64>,
    file: u32,
}

/// Which files the full pass reads.
#[derive(Debug, Default)]
pub struct Selection {
    /// File indices to parse fully, ascending: the winner of every session plus every file
    /// the pre-scan could not key (those are parsed to produce a precise reject).
    pub plan: Vec<u32>,
    /// For winners of sessions with several exports: the other exports, newest first.
    alternates: HashMap<u32, Vec<u32>>,
    /// Number of exports per winning file (1 for sessions exported once).
    exports: HashMap<u32, u32>,
    /// Files left to the other shards (0 when the run is not sharded).
    pub other_shards: u64,
    /// The session the pre-scan read in each file (same order as the files), which the full
    /// parse must find again: a file rewritten in between holds another session, and writing
    /// it would give that session a second row.
    expected: Vec<Option<SessionKey>>,
    /// The sessions some planned file was chosen for, sorted.
    claimed: Vec<SessionKey>,
    /// Files that changed during the run and are read a second time (see
    /// [`Selection::resolve_moved`]): changed again, they are rejected.
    second_reads: HashSet<u32>,
    /// Changed files that turned out to be one more export of a session already written.
    moved_superseded: u64,
}

/// A file the full parse found holding another session than the pre-scan read in it: the
/// file was rewritten in between (a re-export landing while the run reads the folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// The file.
    pub file: u32,
    /// The session it holds now.
    pub key: SessionKey,
    /// Its `updated_at` now, microseconds.
    pub updated_at: Option<i64>,
}

impl Selection {
    /// How many files were seen for the session whose winner is `file`.
    pub fn export_count(&self, file: u32) -> usize {
        self.exports.get(&file).copied().unwrap_or(1) as usize
    }

    /// Files superseded by a newer export (never parsed fully, or parsed and found to be
    /// one more export of a session already written).
    pub fn superseded(&self) -> u64 {
        self.alternates
            .values()
            .map(|v| v.len() as u64)
            .sum::<u64>()
            + self.moved_superseded
    }

    /// The session the pre-scan read in `file` (`None`: it could not key the file).
    pub fn expected(&self, file: u32) -> Option<SessionKey> {
        self.expected.get(file as usize).copied().flatten()
    }

    /// True when `file` is being read a second time because it changed during the run.
    pub fn is_second_read(&self, file: u32) -> bool {
        self.second_reads.contains(&file)
    }

    /// Decides what becomes of the files that changed between the pre-scan and the parse,
    /// once every planned file and fallback has been processed, so that each session keeps
    /// exactly one row. A file now holding a session that some planned file was chosen for,
    /// and that got its row, is one more export of it: superseded (the next run, seeing
    /// the file changed, picks the newest export again). Of the files now holding a session
    /// without a row (`lost`: every export of it was rejected, or it is new), the newest is
    /// read again with that session expected; the others are superseded. Returns the files
    /// to read again, ascending.
    pub fn resolve_moved(&mut self, moved: Vec<Moved>, lost: &HashSet<SessionKey>) -> Vec<u32> {
        let mut candidates: HashMap<SessionKey, Vec<Version>> = HashMap::new();
        for m in moved {
            let written = self.claimed.binary_search(&m.key).is_ok() && !lost.contains(&m.key);
            if written {
                self.moved_superseded += 1;
                continue;
            }
            candidates.entry(m.key).or_default().push(Version {
                updated_at_micros: m.updated_at,
                file: m.file,
            });
        }
        let mut plan = Vec::new();
        for (key, mut versions) in candidates {
            versions.sort_unstable_by(|a, b| b.cmp(a));
            let newest = versions[0].file;
            self.moved_superseded += versions.len() as u64 - 1;
            if let Some(slot) = self.expected.get_mut(newest as usize) {
                *slot = Some(key);
            }
            self.exports.insert(newest, versions.len() as u32);
            self.second_reads.insert(newest);
            plan.push(newest);
        }
        plan.sort_unstable();
        plan
    }

    /// The winner `file` was rejected: returns the next-newest export of the same session,
    /// which becomes the winner in its place.
    pub fn fallback(&mut self, file: u32) -> Option<u32> {
        let mut rest = self.alternates.remove(&file)?;
        if rest.is_empty() {
            return None;
        }
        let next = rest.remove(0);
        let count = self.exports.remove(&file).unwrap_or(1);
        self.exports.insert(next, count);
        self.alternates.insert(next, rest);
        Some(next)
    }
}

/// Bytes of each file the pre-scan reads first: the header keys sit in the first ~500 bytes of
/// real and generated exports. A file whose header is not complete within them is read whole.
const PREFIX_BYTES: usize = 4096;

/// Pre-scans every local file in parallel and picks the export to keep for each session of
/// `shard` (of every session when `None`).
pub fn select(
    files: &InputFiles,
    max_file_bytes: u64,
    shard: Option<Shard>,
    stop: &StopFlag,
) -> Result<Selection> {
    let storage = Storage::new(Default::default());
    let keys = prescan_files(files, max_file_bytes, &storage, stop)?;
    Ok(select_by_key(files, keys, shard))
}

/// Reads the key of every file from the first few KB of each: local files in parallel on the
/// rayon pool, bucket objects with one ranged GET each, `read_concurrency` in flight (an
/// object whose header is longer than the prefix is then read whole; real exports never
/// are). Once `stop` is raised the remaining files are skipped and the scan ends with
/// [`Error::Interrupted`].
pub fn prescan_files(
    files: &InputFiles,
    max_file_bytes: u64,
    storage: &Storage,
    stop: &StopFlag,
) -> Result<Vec<FileKey>> {
    let mut keys: Vec<FileKey> = files
        .par_iter()
        .enumerate()
        .map_init(Vec::new, |buf, (i, file)| {
            if i == 0 {
                PausePoint::Prescanning.pause_here(stop);
            }
            if stop.is_raised() || file.origin != Origin::Disk {
                return None;
            }
            prescan_file(&file, max_file_bytes, buf)
        })
        .collect();
    if stop.is_raised() {
        return Err(Error::Interrupted);
    }
    // Objects too large are rejected unread by the full pass.
    let objects = files.object_requests(0..files.len(), storage, |f| f.size <= max_file_bytes)?;
    if objects.is_empty() {
        return Ok(keys);
    }
    let scanned = storage.scan_prefixes(objects, PREFIX_BYTES as u64, stop, |object, prefix| {
        let prefix = prefix.ok()?;
        let name = file_name_of(&object.key);
        Some(key_of_fetched(
            &prefix,
            object.compression,
            object.size,
            name,
        ))
    })?;
    let mut longer = Vec::new();
    for (index, scanned) in scanned {
        match scanned {
            Some(Ok(key)) => keys[index as usize] = key,
            Some(Err(HeaderCut)) => longer.push(index as usize),
            None => {}
        }
    }
    if !longer.is_empty() {
        let requests = files.object_requests(longer.iter().copied(), storage, |_| true)?;
        let bodies = storage
            .read_objects(requests, max_file_bytes, stop)?
            .wait(storage)?;
        let mut buf = Vec::new();
        for index in longer {
            let Some(Ok(body)) = bodies.get(index as u32) else {
                continue;
            };
            let Some(file) = files.get(index) else {
                continue;
            };
            if read_file(
                Source::Fetched(body),
                file.compression,
                file.size,
                max_file_bytes,
                &mut buf,
            )
            .is_ok()
            {
                keys[index] = prescan(&buf, file.file_name());
            }
        }
    }
    Ok(keys)
}

/// The key in the first bytes of an object as fetched (at most [`PREFIX_BYTES`] of it), or
/// [`HeaderCut`] when the header goes on past them.
fn key_of_fetched(
    prefix: &[u8],
    compression: crate::shared::vocab::Compression,
    size: u64,
    file_name: &str,
) -> std::result::Result<FileKey, HeaderCut> {
    let mut buf = Vec::new();
    let prefix = &prefix[..prefix.len().min(PREFIX_BYTES)];
    let Ok(whole) = read_prefix(Source::Fetched(prefix), compression, PREFIX_BYTES, &mut buf)
    else {
        return Ok(None);
    };
    key_of_prefix(&buf, whole && prefix.len() as u64 >= size, file_name)
}

/// The key of an object whose whole `body` is in hand but cannot be read whole (a gzip
/// stream broken further on): what a full run's pre-scan reads in its first few KB.
pub fn prescan_fetched(body: &[u8], file: &InputFile<'_>) -> FileKey {
    key_of_fetched(body, file.compression, file.size, file.file_name()).unwrap_or(None)
}

/// The last part of an object key: what tells calls from chats when the document does not.
fn file_name_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The header of a file ends beyond the prefix read: the file must be read whole.
struct HeaderCut;

/// Reads the key of one local file from its first few KB (all of it when the header is
/// longer). The one definition of a file's key: incremental runs key new files with it too
/// (or, for a file they have just read whole, with [`prescan`] on that content, which reads
/// the same bytes up to where this scan stops), so that they choose exports exactly as a
/// full run does.
pub fn prescan_file(file: &InputFile<'_>, max_file_bytes: u64, buf: &mut Vec<u8>) -> FileKey {
    if file.size > max_file_bytes {
        return None; // rejected unread by the full pass
    }
    let whole = read_prefix(Source::Disk(file.path), file.compression, PREFIX_BYTES, buf).ok()?;
    if let Ok(key) = key_of_prefix(buf, whole, file.file_name()) {
        return key;
    }
    read_file(
        Source::Disk(file.path),
        file.compression,
        file.size,
        max_file_bytes,
        buf,
    )
    .ok()?;
    prescan(buf, file.file_name())
}

/// The key in the first bytes of a file (`whole`: they are all of it), or [`HeaderCut`] when
/// the header goes on past them.
fn key_of_prefix(
    buf: &[u8],
    whole: bool,
    file_name: &str,
) -> std::result::Result<FileKey, HeaderCut> {
    // A prefix can end inside a number (`"id": 123|456`), which the scan would read as a
    // whole one: scan only up to the last byte that cannot belong to a number or a literal.
    // (A cut string is an error to the scan, never a value.)
    let scanned = if whole {
        buf
    } else {
        let end = buf
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || b"+-.".contains(b)))
            .map_or(0, |i| i + 1);
        &buf[..end]
    };
    let (key, complete) = scan_header(scanned, file_name);
    if complete || whole {
        Ok(key)
    } else {
        Err(HeaderCut)
    }
}

/// Picks the export to keep for each session of `shard` (every session when `None`), given
/// the key of each of `files` (same order).
pub fn select_by_key(files: &InputFiles, keys: Vec<FileKey>, shard: Option<Shard>) -> Selection {
    // The best version per session; the others only for sessions exported more than once,
    // so the common case costs one small map entry per session.
    let mut plan = Vec::new();
    let mut other_shards = 0;
    let mut best: HashMap<SessionKey, Version> = HashMap::with_capacity(files.len());
    let mut others: HashMap<SessionKey, Vec<Version>> = HashMap::new();
    let keys_of_files = keys.iter().map(|k| k.map(|(session, _)| session)).collect();
    for (index, key) in keys.into_iter().enumerate() {
        if let Some(shard) = shard {
            let owned = match key {
                Some((session, _)) => shard.owns_session(session),
                None => shard.owns_file(files.get(index).map_or("", |f| f.file_name())),
            };
            if !owned {
                other_shards += 1;
                continue;
            }
        }
        let Some((session, updated_at_micros)) = key else {
            plan.push(index as u32);
            continue;
        };
        let version = Version {
            updated_at_micros,
            file: index as u32,
        };
        match best.entry(session) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(version);
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let loser = if version > *slot.get() {
                    slot.insert(version)
                } else {
                    version
                };
                others.entry(session).or_default().push(loser);
            }
        }
    }
    let mut selection = Selection {
        expected: keys_of_files,
        ..Selection::default()
    };
    selection.claimed = best.keys().copied().collect();
    selection.claimed.sort_unstable();
    for (session, winner) in best {
        plan.push(winner.file);
        if let Some(mut rest) = others.remove(&session) {
            rest.sort_unstable_by(|a, b| b.cmp(a));
            selection.exports.insert(winner.file, rest.len() as u32 + 1);
            selection
                .alternates
                .insert(winner.file, rest.iter().map(|v| v.file).collect());
        }
    }
    plan.sort_unstable();
    selection.plan = plan;
    selection.other_shards = other_shards;
    selection
}

/// Reads the session key and `updated_at` of one document, or `None` if the document is not
/// a keyable session (the full parse will then say precisely why).
pub fn prescan(bytes: &[u8], file_name: &str) -> FileKey {
    scan_header(bytes, file_name).0
}

/// [`prescan`], and whether the header was complete before the end of `bytes` (so a prefix of
/// the document gave the same answer as the whole would).
fn scan_header(bytes: &[u8], file_name: &str) -> (Option<(SessionKey, Option<i64>)>, bool) {
    let bytes = bytes.strip_prefix(crate::parse::UTF8_BOM).unwrap_or(bytes);
    let mut found = Header::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // `Err` is expected: the scan aborts itself as soon as it has what it needs.
    let _ = HeaderSeed(&mut found).deserialize(&mut de);
    let evidence = KindEvidence {
        call_keys: found.call_keys,
        chat_keys: found.chat_keys,
        session_type: found.session_type.as_ref().map(|s| s.as_str()),
    };
    let key = evidence.decide(file_name).ok().and_then(|kind| {
        Some((
            SessionKey {
                kind,
                id: found.id?,
            },
            found.updated_at,
        ))
    });
    (key, found.complete)
}

#[derive(Default)]
struct Header<'a> {
    id: Option<i64>,
    updated_at: Option<i64>,
    call_keys: bool,
    chat_keys: bool,
    type_key_seen: bool,
    session_type: Option<Str<'a>>,
    /// Every key the scan needs was seen: the rest of the document cannot change the answer.
    complete: bool,
}

struct HeaderSeed<'h, 'a>(&'h mut Header<'a>);

/// Marker error: the scan has everything it needs.
const DONE: &str = "session-etl: header complete";

impl<'de: 'a, 'a> DeserializeSeed<'de> for HeaderSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for HeaderSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let h = self.0;
        let mut updated_seen = false;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match key.as_str() {
                "id" => h.id = Some(map.next_value::<i64>()?),
                "updated_at" => {
                    updated_seen = true;
                    h.updated_at = map
                        .next_value::<Option<Str<'de>>>()?
                        .and_then(|t| Instant::parse(t.as_str()).ok())
                        .map(|t| t.micros);
                }
                "session_type_v2" => {
                    if let Some(t) = map.next_value::<Option<Str<'de>>>()? {
                        h.session_type = Some(t);
                    }
                }
                "session_type" => {
                    let t = map.next_value::<Option<Str<'de>>>()?;
                    if h.session_type.is_none() {
                        h.session_type = t;
                    }
                }
                other => match kind_of_key(other) {
                    Some(kind) => {
                        let present = map.next_value::<Option<IgnoredAny>>()?.is_some();
                        match kind {
                            SessionKind::Call => h.call_keys |= present,
                            SessionKind::Chat => h.chat_keys |= present,
                        }
                        h.type_key_seen = true;
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
            // `*_uuid` keys can follow `*_type`; stopping at the first type key is safe
            // because a document with both kinds' keys is rejected by the full parse, which
            // then falls back to the next export.
            if h.id.is_some() && updated_seen && h.type_key_seen && (h.call_keys || h.chat_keys) {
                h.complete = true;
                return Err(de::Error::custom(DONE));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--shard SPEC` resolved in an environment holding only `vars`.
    fn resolve(spec: &str, vars: &[(&str, &str)]) -> Result<ResolvedShard, String> {
        let spec: ShardSpec = spec.parse()?;
        spec.resolve(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn shard(index: u32, count: u32) -> Shard {
        Shard { index, count }
    }

    #[test]
    fn shard_specs_parse_fixed_and_auto_forms() {
        assert_eq!("1/4".parse(), Ok(ShardSpec::Fixed(shard(1, 4))));
        assert_eq!("auto".parse(), Ok(ShardSpec::Auto { count: None }));
        assert_eq!("auto/4".parse(), Ok(ShardSpec::Auto { count: Some(4) }));
        for bad in [
            "4/4", "1", "a/4", "1/0", "-1/4", "1/4/2", "auto/0", "auto/", "auto/x", "autox",
            "AUTO", "auto/4/1", "",
        ] {
            let err = bad.parse::<ShardSpec>().unwrap_err();
            assert!(
                err.contains("INDEX/COUNT") && err.contains("auto/COUNT"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_fixed_shard_ignores_the_environment() {
        let all = [
            ("JOB_COMPLETION_INDEX", "3"),
            ("CLOUD_RUN_TASK_INDEX", "2"),
            ("CLOUD_RUN_TASK_COUNT", "9"),
        ];
        assert_eq!(
            resolve("1/4", &all),
            Ok(ResolvedShard {
                shard: shard(1, 4),
                index_var: None,
                count_var: None
            })
        );
        assert_eq!(resolve("1/4", &all).unwrap().to_string(), "1/4");
    }

    #[test]
    fn auto_reads_each_engines_variables() {
        // Kubernetes: the index only, the count from the command line.
        let k8s = resolve("auto/4", &[("JOB_COMPLETION_INDEX", "3")]).unwrap();
        assert_eq!(k8s.shard, shard(3, 4));
        assert_eq!(k8s.to_string(), "3/4 (from JOB_COMPLETION_INDEX)");
        // Cloud Run: both, or the index with a count that agrees.
        let cloud_run = [("CLOUD_RUN_TASK_INDEX", "2"), ("CLOUD_RUN_TASK_COUNT", "4")];
        let resolved = resolve("auto", &cloud_run).unwrap();
        assert_eq!(resolved.shard, shard(2, 4));
        assert_eq!(
            resolved.to_string(),
            "2/4 (from CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT)"
        );
        let resolved = resolve("auto/4", &cloud_run).unwrap();
        assert_eq!(resolved.shard, shard(2, 4));
        assert_eq!(resolved.to_string(), "2/4 (from CLOUD_RUN_TASK_INDEX)");
        // AWS Batch.
        let aws = [
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "3"),
        ];
        assert_eq!(resolve("auto", &aws).unwrap().shard, shard(0, 3));
        assert_eq!(
            resolve("auto/3", &[("AWS_BATCH_JOB_ARRAY_INDEX", "2")])
                .unwrap()
                .shard,
            shard(2, 3)
        );
        // A count variable without its engine's index variable is no engine.
        assert!(resolve("auto", &[("CLOUD_RUN_TASK_COUNT", "4")]).is_err());
    }

    #[test]
    fn auto_without_an_engine_names_every_variable_looked_for() {
        for spec in ["auto", "auto/4"] {
            let err = resolve(spec, &[("UNRELATED", "1")]).unwrap_err();
            for engine in SHARD_ENGINES {
                assert!(err.contains(engine.index_var), "{err}");
            }
            assert!(err.contains(&format!("--shard {spec}:")), "{err}");
        }
    }

    #[test]
    fn auto_refuses_to_guess_between_two_engines() {
        let err = resolve(
            "auto/4",
            &[("JOB_COMPLETION_INDEX", "1"), ("CLOUD_RUN_TASK_INDEX", "2")],
        )
        .unwrap_err();
        assert!(
            err.contains("JOB_COMPLETION_INDEX=\"1\"")
                && err.contains("CLOUD_RUN_TASK_INDEX=\"2\""),
            "{err}"
        );
        // Even when they agree: which engine runs the process is still unknown.
        let err = resolve(
            "auto",
            &[
                ("CLOUD_RUN_TASK_INDEX", "1"),
                ("CLOUD_RUN_TASK_COUNT", "2"),
                ("AWS_BATCH_JOB_ARRAY_INDEX", "1"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "2"),
            ],
        )
        .unwrap_err();
        assert!(
            err.contains("CLOUD_RUN_TASK_INDEX") && err.contains("AWS_BATCH_JOB_ARRAY_INDEX"),
            "{err}"
        );
    }

    #[test]
    fn auto_needs_a_count_that_agrees() {
        // Kubernetes gives no count: plain `auto` asks for `auto/N`.
        let err = resolve("auto", &[("JOB_COMPLETION_INDEX", "1")]).unwrap_err();
        assert!(
            err.contains("auto/N") && err.contains("completions"),
            "{err}"
        );
        // An engine that should give one but did not.
        let err = resolve("auto", &[("AWS_BATCH_JOB_ARRAY_INDEX", "1")]).unwrap_err();
        assert!(
            err.contains("AWS_BATCH_JOB_ARRAY_SIZE is not set") && err.contains("auto/N"),
            "{err}"
        );
        // The command line and the engine disagree: both values are named.
        let err = resolve(
            "auto/4",
            &[("CLOUD_RUN_TASK_INDEX", "1"), ("CLOUD_RUN_TASK_COUNT", "3")],
        )
        .unwrap_err();
        assert!(
            err.contains("auto/4") && err.contains("CLOUD_RUN_TASK_COUNT=3"),
            "{err}"
        );
    }

    #[test]
    fn auto_refuses_bad_values_naming_the_variable_and_its_value() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (
                "auto/4",
                &[("JOB_COMPLETION_INDEX", "4")],
                "JOB_COMPLETION_INDEX=\"4\"",
            ),
            (
                "auto/4",
                &[("JOB_COMPLETION_INDEX", "-1")],
                "JOB_COMPLETION_INDEX=\"-1\"",
            ),
            (
                "auto/4",
                &[("JOB_COMPLETION_INDEX", "")],
                "JOB_COMPLETION_INDEX=\"\"",
            ),
            (
                "auto/4",
                &[("JOB_COMPLETION_INDEX", "one")],
                "JOB_COMPLETION_INDEX=\"one\"",
            ),
            (
                "auto",
                &[("CLOUD_RUN_TASK_INDEX", "5"), ("CLOUD_RUN_TASK_COUNT", "5")],
                "CLOUD_RUN_TASK_INDEX=\"5\"",
            ),
            (
                "auto",
                &[("CLOUD_RUN_TASK_INDEX", "0"), ("CLOUD_RUN_TASK_COUNT", "0")],
                "CLOUD_RUN_TASK_COUNT=\"0\"",
            ),
            (
                "auto/2",
                &[
                    ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
                    ("AWS_BATCH_JOB_ARRAY_SIZE", "two"),
                ],
                "AWS_BATCH_JOB_ARRAY_SIZE=\"two\"",
            ),
        ];
        for (spec, vars, named) in cases {
            let err = resolve(spec, vars).unwrap_err();
            assert!(err.contains(named), "{spec} {vars:?}: {err}");
        }
    }

    #[test]
    fn the_help_of_shard_names_every_variable() {
        let help = ShardSpec::help();
        for engine in SHARD_ENGINES {
            assert!(help.contains(engine.index_var), "{help}");
            if let Some(count) = engine.count_var {
                assert!(help.contains(count), "{help}");
            }
        }
    }

    #[test]
    fn shards_parse_and_split_sessions_exactly_and_evenly() {
        assert_eq!("1/4".parse(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/4", "1/0", "-1/4", "1/4/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        let mut sizes = [0; 4];
        for id in 0..4000 {
            for kind in [SessionKind::Call, SessionKind::Chat] {
                let key = SessionKey { kind, id };
                let owners: Vec<_> = shards.iter().filter(|s| s.owns_session(key)).collect();
                assert_eq!(owners.len(), 1, "{key:?}");
                sizes[owners[0].index as usize] += 1;
            }
        }
        assert!(
            sizes.iter().all(|&n| (1800..2200).contains(&n)),
            "{sizes:?}"
        );
        // Fixed across builds and machines (FNV-1a of `call:1418` is 0x9e7d289baac154c5):
        // a change here would re-shard every deployment mid-backfill.
        let owner = |kind, id| {
            shards
                .iter()
                .position(|s| s.owns_session(SessionKey { kind, id }))
        };
        assert_eq!(owner(SessionKind::Call, 1418), Some(1));
        assert_eq!(owner(SessionKind::Chat, 135), Some(2));
    }

    #[test]
    fn prescan_reads_the_header_and_stops_early() {
        let doc = br#"{"id": 1418, "call_type": "Voice Inbound (IVR)", "updated_at": "2026-03-23T13:16:58.000-07:00", "rest": [ this is not even JSON"#;
        let (key, updated) = prescan(doc, "x.json").unwrap();
        assert_eq!(
            key,
            SessionKey {
                kind: SessionKind::Call,
                id: 1418
            }
        );
        assert_eq!(
            updated,
            Some(Instant::parse("2026-03-23T20:16:58Z").unwrap().micros)
        );
    }

    #[test]
    fn prescan_falls_back_to_the_file_name_and_tolerates_a_missing_updated_at() {
        let (key, updated) = prescan(br#"{"id": 7, "status": "finished"}"#, "chat-7.json").unwrap();
        assert_eq!((key.kind, key.id, updated), (SessionKind::Chat, 7, None));
        assert!(prescan(br#"{"status": "finished"}"#, "chat-7.json").is_none());
        assert!(prescan(b"", "chat-7.json").is_none());
    }

    /// Writes `body` to `dir/name` and lists it as discovery would.
    fn add(files: &mut InputFiles, dir: &std::path::Path, name: &str, body: String) {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        files.push(InputFile {
            path: &path,
            size: 0,
            compression: crate::shared::vocab::Compression::None,
            modified_ns: None,
            origin: Origin::Disk,
            version: None,
        });
    }

    #[test]
    fn the_newest_export_wins_and_the_rest_are_alternates() {
        let tmp = tempfile::tempdir().unwrap();
        let mut files = InputFiles::default();
        let mut write = |name: &str, id: i64, updated: &str| {
            let body = format!(
                r#"{{"id": {id}, "call_type": "Voice Outbound", "updated_at": "{updated}"}}"#
            );
            add(&mut files, tmp.path(), name, body)
        };
        write("a.json", 1, "2026-01-01T00:10:00Z");
        write("b.json", 1, "2026-01-01T00:30:00+00:00");
        write("c.json", 1, "2026-01-01T01:30:00+01:00"); // same instant as b: later path wins
        write("d.json", 2, "2026-01-01T00:00:00Z");
        let mut selection = select(&files, 1 << 20, None, &StopFlag::new()).unwrap();
        assert_eq!(selection.plan, vec![2, 3]);
        assert_eq!(selection.export_count(2), 3);
        assert_eq!(selection.superseded(), 2);
        assert_eq!(selection.fallback(2), Some(1));
        assert_eq!(selection.export_count(1), 3);
        assert_eq!(selection.fallback(1), Some(0));
        assert_eq!(selection.fallback(0), None);
    }

    #[test]
    fn files_rewritten_under_the_run_never_give_a_session_a_second_row() {
        let key = |id| SessionKey {
            kind: SessionKind::Call,
            id,
        };
        let mut files = InputFiles::default();
        for name in ["a", "b", "c", "d", "e"] {
            files.push(InputFile {
                path: std::path::Path::new(name),
                size: 1,
                compression: crate::shared::vocab::Compression::None,
                modified_ns: None,
                origin: Origin::Disk,
                version: None,
            });
        }
        // a: session 1; b: unkeyed (empty at pre-scan); c: session 2 (all its exports will be
        // rejected); d, e: unkeyed.
        let keys = vec![Some((key(1), None)), None, Some((key(2), None)), None, None];
        let mut selection = select_by_key(&files, keys, None);
        assert_eq!(selection.plan, [0, 1, 2, 3, 4]);
        assert_eq!(selection.expected(0), Some(key(1)));
        assert_eq!(selection.expected(1), None);
        let lost: HashSet<SessionKey> = [key(2)].into();
        let moved = |file, id, at| Moved {
            file,
            key: key(id),
            updated_at: Some(at),
        };
        // b now holds session 1, which a wrote: superseded. d and e now hold session 2, which
        // has no row: the newer of them is read again, the other superseded. Nothing else.
        let again =
            selection.resolve_moved(vec![moved(1, 1, 5), moved(3, 2, 9), moved(4, 2, 7)], &lost);
        assert_eq!(again, [3]);
        assert!(selection.is_second_read(3) && !selection.is_second_read(4));
        assert_eq!(selection.expected(3), Some(key(2)));
        assert_eq!(selection.export_count(3), 2);
        assert_eq!(selection.superseded(), 2);
    }

    #[test]
    fn a_number_cut_by_the_prefix_is_read_from_the_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let head = r#"{"call_type": "Voice", "updated_at": "2026-01-01T00:10:00Z", "pad": ""#;
        let before_cut = r#"", "id": 123"#;
        let padding = "x".repeat(PREFIX_BYTES - head.len() - before_cut.len());
        // The first 4 KB end after "123": the id is 123456.
        let body = format!("{head}{padding}{before_cut}456}}");
        let mut files = InputFiles::default();
        add(&mut files, tmp.path(), "call-123456.json", body);
        let file = files.get(0).unwrap();
        let key = prescan_file(&file, 1 << 20, &mut Vec::new()).unwrap();
        assert_eq!(key.0.id, 123456);
    }

    #[test]
    fn a_header_beyond_the_prefix_is_read_from_the_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let padding = "x".repeat(PREFIX_BYTES);
        let mut files = InputFiles::default();
        // The newer export names its updated_at only after 4 KB: a prefix scan alone would
        // see no updated_at and make it the older one.
        add(
            &mut files,
            tmp.path(),
            "a.json",
            r#"{"id": 7, "call_type": "Voice", "updated_at": "2026-01-01T00:10:00Z"}"#.into(),
        );
        add(
            &mut files,
            tmp.path(),
            "b.json",
            format!(
                r#"{{"id": 7, "call_type": "Voice", "pad": "{padding}", "updated_at": "2026-01-02T00:00:00Z"}}"#
            ),
        );
        let selection = select(&files, 1 << 20, None, &StopFlag::new()).unwrap();
        assert_eq!(selection.plan, vec![1]);
        assert_eq!(selection.export_count(1), 2);
    }
}
