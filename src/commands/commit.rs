//! The `commit` command: merges the outputs of a sharded run (`run --shard I/N` on N
//! machines) into one published dataset, in one atomic step.
//!
//! Shards hold disjoint sets of sessions (see [`Shard`](crate::select::Shard)), and every
//! file name starts with its shard's run id, so merging is moving files: each shard's Parquet
//! files are hard-linked (copied across file systems) into a staging folder, `_run.json` is
//! the sum of the shards', and the staging folder is published like a run's. Readers see the
//! previous dataset or the merged one, never some shards without the others. Commit refuses
//! an incomplete or mixed set of shards rather than publish a partial dataset.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::derive::ExchangeSettings;
use crate::publish::bucket::{replace_bucket_output, BucketDir, FileSource, Publication, CONTROL};
use crate::publish::manifest::{Manifest, ManifestFile, MANIFEST};
use crate::publish::{self, new_run_id, replace_output, Existing, RUN_SUMMARY, SUCCESS_MARKER};
use crate::report::{EventSummary, FileCounts, RunSummary, SessionCounts, ShardRun, ShardSummary};
use crate::shared::error::{Error, Result};
use crate::shared::guard::{Guards, Result as GuardedResult};
use crate::shared::stop::{PausePoint, StopFlag};
use crate::storage::{BucketPrefix, Location, Storage};
use crate::write::exchange::EXCHANGE_DIR;
use crate::write::{outbox, ExchangeCounts, ExchangeWriter, SessionsTable};

/// What a commit published.
#[derive(Debug)]
pub struct Committed {
    /// The merged `_run.json`.
    pub summary: RunSummary,
    /// Files linked or copied into the output.
    pub files: u64,
}

/// Merges the shard outputs `shards` into `output` and publishes it atomically. Each shard
/// judged its own reject rate; `guards` decide on the merged whole (no sessions at all, far
/// fewer sessions than the output it replaces). Once `stop` is raised nothing is published
/// and the commit returns [`Error::Interrupted`].
///
/// Shards and output may be local folders or bucket prefixes. Into a bucket, shard files of
/// the output's bucket are copied inside the store (nothing passes through this machine),
/// those of a local folder or another bucket are uploaded; the bucket commit protocol
/// publishes them ([`crate::publish::bucket`]). Into a local folder, bucket shards' files are
/// downloaded into the staging folder and their footers' row counts checked.
pub fn commit(
    shards: &[Location],
    output: &Location,
    guards: &Guards,
    exchange: &ExchangeSettings,
    storage: &Storage,
    stop: &StopFlag,
) -> Result<Committed> {
    let dirs: Vec<ShardDir> = shards
        .iter()
        .map(|s| match s {
            Location::Local(path) => ShardDir::Local(path.clone()),
            Location::Bucket(prefix) => ShardDir::Bucket(prefix.clone()),
        })
        .collect();
    let (parts, manifests) = check_shards(&dirs, storage)?;
    let started_at = chrono::Utc::now();
    let run_id = new_run_id(started_at, "-commit");
    let judge = |summary: &RunSummary, existing: &Existing| {
        guards
            .check_result(GuardedResult {
                files: summary.files.seen,
                rejected: summary.files.rejected,
                sessions: summary.rows.get(SessionsTable::NAME).copied().unwrap_or(0),
                previous_sessions: existing.sessions(),
            })
            .map_err(Error::Guard)
    };
    let prefix = match output {
        Location::Bucket(prefix) => prefix,
        Location::Local(given) => {
            let local: Vec<PathBuf> = shards
                .iter()
                .filter_map(|s| s.as_local().map(Path::to_owned))
                .collect();
            let output = &publish::resolved(given)?;
            // The shards are what the commit reads: the output may be neither one of them nor
            // a folder holding one.
            return replace_output(output, &local, &run_id, stop, |staging, existing| {
                let clock = std::time::Instant::now();
                let mut summary = merged_summary(&parts, &run_id, started_at);
                judge(&summary, existing)?;
                let placed = placements(&manifests);
                // A bucket shard's files are downloaded, one shard's at a time.
                let mut fetch: BTreeMap<usize, Vec<(ManifestFile, String)>> = BTreeMap::new();
                for (shard, file, target) in &placed {
                    match &dirs[*shard] {
                        ShardDir::Local(dir) => {
                            let from = Manifest::path_in(dir, file);
                            let to = Manifest::path_in(
                                staging,
                                &ManifestFile {
                                    path: target.clone(),
                                    ..(*file).clone()
                                },
                            );
                            publish::place_file(&from, &to)?;
                        }
                        ShardDir::Bucket(_) => fetch
                            .entry(*shard)
                            .or_default()
                            .push(((*file).clone(), target.clone())),
                    }
                }
                for (shard, files) in fetch {
                    if let ShardDir::Bucket(prefix) = &dirs[shard] {
                        BucketDir::new(storage, prefix)?.download(files, staging, stop)?;
                    }
                }
                // The footers are read again here: a downloaded file's rows are checked
                // against its shard's manifest.
                let previous =
                    matches!(existing, Existing::Ours(_)).then(|| output.join(EXCHANGE_DIR));
                let outbox = Outbox {
                    dirs: &dirs,
                    manifests: &manifests,
                    exchange,
                    storage,
                    stop,
                };
                let counts = outbox.rebuild(staging, &run_id, previous.as_deref())?;
                summary.events = summary.events.with_outbox(counts);
                let written = Manifest::write(staging)?;
                verify_rows(&written, &placed, &dirs)?;
                summary.output = given.display().to_string();
                summary.wall_time_s = clock.elapsed().as_secs_f64();
                write_summary(&staging.join(RUN_SUMMARY), &summary)?;
                PausePoint::Closed.pause_here(stop);
                let files = placed.len() as u64;
                Ok((Committed { summary, files }, true))
            });
        }
    };
    let clock = std::time::Instant::now();
    replace_bucket_output(
        storage,
        prefix,
        shards,
        &run_id,
        stop,
        |staging, existing, base| {
            let mut summary = merged_summary(&parts, &run_id, started_at);
            judge(&summary, existing)?;
            let previous = match existing {
                Existing::Ours(_) => {
                    base.fetch_folder(EXCHANGE_DIR, stop)?;
                    Some(base.mirror().join(EXCHANGE_DIR))
                }
                _ => None,
            };
            let outbox = Outbox {
                dirs: &dirs,
                manifests: &manifests,
                exchange,
                storage,
                stop,
            };
            let counts = outbox.rebuild(staging, &run_id, previous.as_deref())?;
            summary.events = summary.events.with_outbox(counts);
            let placed = placements(&manifests);
            let mut paired: Vec<(ManifestFile, FileSource)> = Manifest::of(staging)?
                .files
                .into_iter()
                .map(|file| Publication::staged_file(staging, &run_id, file))
                .collect();
            for (shard, file, target) in &placed {
                let source = match &dirs[*shard] {
                    ShardDir::Local(dir) => FileSource::Local(Manifest::path_in(dir, file)),
                    ShardDir::Bucket(shard) => FileSource::Object(shard.join(&file.path)),
                };
                let file = ManifestFile {
                    path: target.clone(),
                    ..(*file).clone()
                };
                paired.push((file, source));
            }
            paired.sort_by(|a, b| a.0.path.cmp(&b.0.path));
            let (files, sources): (Vec<_>, Vec<_>) = paired.into_iter().unzip();
            summary.output = output.to_string();
            summary.wall_time_s = clock.elapsed().as_secs_f64();
            // Keys sorted, as a local commit writes them.
            let sorted = sorted_summary(&summary)?;
            PausePoint::Closed.pause_here(stop);
            let count = files.len() as u64;
            let publication = Publication {
                manifest: Manifest { files },
                sources,
                summary: sorted,
            };
            Ok((
                Committed {
                    summary,
                    files: count,
                },
                Some(publication),
            ))
        },
    )
}

/// The outbox of the merged output, made from the shards' as a whole run makes its own: the
/// shards' events are the run's, built on the outbox of the output the commit replaces. So
/// what was delivered from that output is not sent again, and what it still held undelivered
/// is carried (unless a shard wrote events of the same session again), as after a run.
struct Outbox<'a> {
    dirs: &'a [ShardDir],
    manifests: &'a [Manifest],
    exchange: &'a ExchangeSettings,
    storage: &'a Storage,
    stop: &'a StopFlag,
}

impl Outbox<'_> {
    /// Writes the outbox into `staging/exchange/` on the replaced output's `exchange/`
    /// folder `previous` (`None`: the output was not session-etl's, or did not exist).
    fn rebuild(
        &self,
        staging: &Path,
        run_id: &str,
        previous: Option<&Path>,
    ) -> Result<ExchangeCounts> {
        let mut writer = ExchangeWriter::create(
            staging,
            run_id,
            &self.exchange.channel,
            self.exchange.max_events_per_body,
            self.exchange.max_body_bytes,
        )?;
        if let Some(previous) = previous {
            writer.carry_outbox(previous)?;
        }
        // A bucket shard's outbox files are fetched first, into a folder of their own.
        let fetched = tempfile::Builder::new()
            .prefix(&format!("session-etl-{run_id}-shard-outboxes-"))
            .tempdir()
            .map_err(Error::io("create a folder", std::env::temp_dir()))?;
        for (shard, (dir, manifest)) in self.dirs.iter().zip(self.manifests).enumerate() {
            let files: Vec<&ManifestFile> = manifest
                .files
                .iter()
                .filter(|f| {
                    f.path
                        .strip_prefix(EXCHANGE_DIR)
                        .and_then(|p| p.strip_prefix('/'))
                        .is_some_and(outbox::is_outbox_name)
                })
                .collect();
            let paths = match dir {
                ShardDir::Local(dir) => files.iter().map(|f| Manifest::path_in(dir, f)).collect(),
                ShardDir::Bucket(prefix) => {
                    let into = fetched.path().join(shard.to_string());
                    let named = files
                        .iter()
                        .map(|f| ((*f).clone(), f.path.clone()))
                        .collect();
                    BucketDir::new(self.storage, prefix)?.download(named, &into, self.stop)?;
                    files.iter().map(|f| Manifest::path_in(&into, f)).collect()
                }
            };
            let paths: Vec<PathBuf> = paths;
            for path in paths {
                if self.stop.is_raised() {
                    return Err(Error::Interrupted);
                }
                writer
                    .take_bodies(&path)
                    .map_err(|e| refusal(format!("{}: {e}; rerun that shard", dir.name())))?;
            }
        }
        writer.close()
    }
}

/// A shard output: a local folder or a bucket prefix.
enum ShardDir {
    Local(PathBuf),
    Bucket(BucketPrefix),
}

impl ShardDir {
    fn name(&self) -> String {
        match self {
            ShardDir::Local(dir) => dir.display().to_string(),
            ShardDir::Bucket(prefix) => prefix.to_string(),
        }
    }

    /// The file `name` at the top of the shard output, `None` when it is not there.
    fn read(&self, storage: &Storage, name: &str) -> Result<Option<Vec<u8>>> {
        match self {
            ShardDir::Local(dir) => {
                let path = dir.join(name);
                match fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io("read", &path)(e)),
                }
            }
            ShardDir::Bucket(prefix) => Ok(BucketDir::new(storage, prefix)?
                .read(name)?
                .map(|b| b.to_vec())),
        }
    }

    /// Checks that the shard holds exactly the files of `manifest`: sizes, and for a local
    /// folder the rows in each Parquet footer too (a bucket shard's footers are not fetched;
    /// its files were written and listed by its own run, and their sizes must match).
    fn verify(
        &self,
        storage: &Storage,
        manifest: &Manifest,
    ) -> Result<std::result::Result<(), String>> {
        Ok(match self {
            ShardDir::Local(dir) => manifest.verify(dir),
            ShardDir::Bucket(prefix) => {
                let mut sizes = BucketDir::new(storage, prefix)?.sizes()?;
                sizes.retain(|k, _| {
                    ![MANIFEST, RUN_SUMMARY, SUCCESS_MARKER].contains(&k.as_str())
                        && !k.starts_with(&format!("{CONTROL}/"))
                });
                manifest.verify_sizes(&sizes)
            }
        })
    }
}

/// Writes a commit's `_run.json` with its keys sorted at every level (as a JSON value has
/// them), the order commit has always written them in, unlike a run's struct order.
fn write_summary(path: &Path, summary: &RunSummary) -> Result<()> {
    publish::write_json(path, &sorted_summary(summary)?)
}

/// A commit's `_run.json` as a JSON value, whose maps keep their keys sorted.
fn sorted_summary(summary: &RunSummary) -> Result<serde_json::Value> {
    serde_json::to_value(summary)
        .map_err(|e| Error::Internal(format!("serialize {RUN_SUMMARY}: {e}")))
}

/// One shard output's `_run.json`, checked to be a shard's.
struct ShardPart {
    /// Which shard it is.
    shard: ShardSummary,
    /// Its whole summary.
    summary: RunSummary,
}

/// Checks that every placed file holds the rows its shard's manifest says, as `written` (the
/// manifest of the staging folder, read from the footers) found them.
fn verify_rows(
    written: &Manifest,
    placed: &[(usize, &ManifestFile, String)],
    dirs: &[ShardDir],
) -> Result<()> {
    let found: BTreeMap<&str, Option<u64>> = written
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.rows))
        .collect();
    for (shard, file, target) in placed {
        let rows = found.get(target.as_str()).copied().flatten();
        if file.rows.is_some() && rows != file.rows {
            return Err(refusal(format!(
                "{}: {} holds {} rows, the shard's {MANIFEST} says {}",
                dirs[*shard].name(),
                file.path,
                rows.map_or("no".into(), |r| r.to_string()),
                file.rows.unwrap_or(0),
            )));
        }
    }
    Ok(())
}

fn refusal(why: String) -> Error {
    Error::Config(format!("cannot commit: {why}"))
}

/// Reads a shard's `_run.json` as the typed summary a run writes: a key missing, renamed or
/// of another type is refused here, naming the key, rather than merged as zero.
fn read_summary(bytes: &[u8], path: &str) -> Result<RunSummary> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| e.to_string())
        .and_then(|summary| de.end().map(|()| summary).map_err(|e| e.to_string()))
        .map_err(|e| {
            refusal(format!(
                "{path} is not a shard's run summary this version can read: {e}; rerun that shard"
            ))
        })
}

/// Reads every shard's `_run.json` and checks they are the N parts of one sharded run, each
/// holding exactly the files its manifest lists, with the rows its `_run.json` counts.
fn check_shards(shards: &[ShardDir], storage: &Storage) -> Result<(Vec<ShardPart>, Vec<Manifest>)> {
    let mut parts: Vec<ShardPart> = Vec::with_capacity(shards.len());
    let mut manifests = Vec::with_capacity(shards.len());
    let mut seen_index = BTreeMap::new();
    for dir in shards {
        let name = dir.name();
        if dir.read(storage, SUCCESS_MARKER)?.is_none() {
            return Err(refusal(format!(
                "{name} is not a completed shard output (no {SUCCESS_MARKER})"
            )));
        }
        let summary_path = format!("{name}/{RUN_SUMMARY}");
        let bytes = dir
            .read(storage, RUN_SUMMARY)?
            .ok_or_else(|| refusal(format!("{summary_path} is missing; rerun that shard")))?;
        let summary = read_summary(&bytes, &summary_path)?;
        let Some(shard) = summary.shard.clone() else {
            return Err(refusal(format!(
                "{name} was not written by a `run --shard` run"
            )));
        };
        let (index, count) = (shard.index, shard.count);
        if count as usize != shards.len() {
            return Err(refusal(format!(
                "{name} is shard {index} of {count}, but {} shard outputs were given",
                shards.len()
            )));
        }
        if let Some(other) = seen_index.insert(index, name.clone()) {
            return Err(refusal(format!(
                "{other} and {name} are both shard {index}"
            )));
        }
        let damaged = |why: String| {
            refusal(format!(
                "the shard output {name} is damaged: {why}; rerun that shard"
            ))
        };
        let bytes = dir
            .read(storage, MANIFEST)?
            .ok_or_else(|| damaged(format!("{MANIFEST} is missing")))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| damaged(format!("{MANIFEST}: {e}")))?;
        dir.verify(storage, &manifest)?.map_err(damaged)?;
        for (table, rows) in manifest.rows_by_folder() {
            match summary.rows.get(table) {
                Some(&counted) if counted != rows => {
                    return Err(damaged(format!(
                        "its `{table}` files hold {rows} rows, its {RUN_SUMMARY} says {counted}"
                    )));
                }
                _ => {}
            }
        }
        parts.push(ShardPart { shard, summary });
        manifests.push(manifest);
    }
    let fingerprint = &parts[0].shard.fingerprint;
    if let Some(odd) = parts.iter().find(|p| p.shard.fingerprint != *fingerprint) {
        return Err(refusal(format!(
            "the shards are not parts of one run: they saw different input files or settings \
             (fingerprints {} and {}); rerun the stale shards",
            json(fingerprint),
            json(&odd.shard.fingerprint)
        )));
    }
    // Tables must have the same layout to be read as one, and the summary one format.
    agree(&parts, "partition_by", |s| &s.partition_by)?;
    agree(&parts, "session_etl_version", |s| &s.session_etl_version)?;
    agree(&parts, "output_format", |s| &s.output_format)?;
    Ok((parts, manifests))
}

/// Refuses shards whose summaries disagree on `key`, read by `value`.
fn agree<T: PartialEq + Serialize>(
    parts: &[ShardPart],
    key: &str,
    value: impl Fn(&RunSummary) -> &T,
) -> Result<()> {
    let first = value(&parts[0].summary);
    match parts
        .iter()
        .map(|p| value(&p.summary))
        .find(|v| *v != first)
    {
        Some(odd) => Err(refusal(format!(
            "the shards disagree on `{key}` ({} and {})",
            json(first),
            json(odd)
        ))),
        None => Ok(()),
    }
}

/// A value as it is written in `_run.json`, for messages.
fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Where every file of every shard's manifest goes in the merged output: `(shard, file,
/// path in the output)`.
fn placements(manifests: &[Manifest]) -> Vec<(usize, &ManifestFile, String)> {
    // Per table folder, a zero-row file to keep if no shard has rows for that table.
    let mut empty: BTreeMap<&str, (usize, &ManifestFile)> = BTreeMap::new();
    let mut has_rows: BTreeSet<&str> = BTreeSet::new();
    let mut placed = Vec::new();
    for (shard, manifest) in manifests.iter().enumerate() {
        for file in &manifest.files {
            // Only the tables are merged; `_state/` is an incremental run's, never a shard's.
            // The outbox is rebuilt from the shards' (see [`Outbox`]).
            let Some(top) = file
                .folder()
                .filter(|t| !t.starts_with('_') && *t != EXCHANGE_DIR)
            else {
                continue;
            };
            // A table with no rows is one zero-row file in its folder; beside another shard's
            // date partitions it would confuse Hive-style readers, so such files are kept
            // only for tables empty in every shard.
            if file.rows == Some(0) {
                empty.entry(top).or_insert((shard, file));
                continue;
            }
            has_rows.insert(top);
            placed.push((shard, file, file.path.clone()));
        }
    }
    for (table, (shard, file)) in empty {
        if !has_rows.contains(table) {
            let name = file.path.rsplit('/').next().unwrap_or(&file.path);
            placed.push((shard, file, format!("{table}/{name}")));
        }
    }
    placed
}

/// The shards' `_run.json` files added up: counts and per-key maps are summed (`threads` too:
/// the threads of all machines), lists joined, rates recomputed; what the input walk found and
/// what every shard shares (tool, format, version, layout) is taken once; each shard's own run
/// id, start, wall time and throughput stay under `shards`. `output` and `wall_time_s` are
/// the caller's to set.
fn merged_summary(
    parts: &[ShardPart],
    run_id: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) -> RunSummary {
    let first = &parts[0].summary;
    let all = || parts.iter().map(|p| &p.summary);
    let total = |count: fn(&RunSummary) -> u64| all().map(count).sum::<u64>();
    let files = FileCounts {
        seen: total(|s| s.files.seen),
        sessions: total(|s| s.files.sessions),
        rejected: total(|s| s.files.rejected),
        superseded: total(|s| s.files.superseded),
        // Every shard walks the whole input: what the walk found is counted once, not N times.
        ignored: first.files.ignored,
        walk_errors: first.files.walk_errors,
        external_links: first.files.external_links,
        bytes_read: total(|s| s.files.bytes_read),
        other_shards: 0,
    };
    RunSummary {
        tool: first.tool.clone(),
        output_format: first.output_format,
        session_etl_version: first.session_etl_version.clone(),
        run_id: run_id.to_owned(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        wall_time_s: 0.0,
        inputs: joined(all().map(|s| &s.inputs)),
        output: first.output.clone(),
        shard: None,
        // A shard is never an incremental run.
        incremental: None,
        threads: all().map(|s| s.threads).sum(),
        reject_rate: if files.seen == 0 {
            0.0
        } else {
            files.rejected as f64 / files.seen as f64
        },
        files,
        rejects_by_kind: summed(all().map(|s| &s.rejects_by_kind)),
        sessions: SessionCounts {
            written: total(|s| s.sessions.written),
            calls: total(|s| s.sessions.calls),
            chats: total(|s| s.sessions.chats),
        },
        duplicates_collapsed: total(|s| s.duplicates_collapsed),
        rows: summed(all().map(|s| &s.rows)),
        partition_by: first.partition_by,
        partitions: joined(all().map(|s| &s.partitions)),
        unknown_statuses: summed(all().map(|s| &s.unknown_statuses)),
        unknown_statuses_unlisted: total(|s| s.unknown_statuses_unlisted),
        unknown_fields: summed(all().map(|s| &s.unknown_fields)),
        unknown_fields_unlisted: total(|s| s.unknown_fields_unlisted),
        events: EventSummary {
            derived: first.events.derived,
            by_code: summed(all().map(|s| &s.events.by_code)),
            total: total(|s| s.events.total),
            unaddressable_events: total(|s| s.events.unaddressable_events),
            sessions_without_identifiers: total(|s| s.events.sessions_without_identifiers),
            missing_required: summed(all().map(|s| &s.events.missing_required)),
            duplicate_event_ids: total(|s| s.events.duplicate_event_ids),
            // The outbox's counters are the rebuilt outbox's: see [`Outbox::rebuild`].
            ..EventSummary::default()
        },
        throughput: None,
        walk_errors: first.walk_errors.clone(),
        shards: Some(
            parts
                .iter()
                .map(|p| ShardRun {
                    shard: p.shard.clone(),
                    run_id: p.summary.run_id.clone(),
                    started_at: p.summary.started_at.clone(),
                    wall_time_s: p.summary.wall_time_s,
                    throughput: p.summary.throughput.clone(),
                })
                .collect(),
        ),
    }
}

/// Per-key counts summed key by key.
fn summed<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
    let mut sum = BTreeMap::new();
    for map in maps {
        for (key, n) in map {
            *sum.entry(key.clone()).or_default() += n;
        }
    }
    sum
}

/// Lists joined: the first one whole, then the values of the others it does not hold yet,
/// sorted.
fn joined<'a>(lists: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for (i, list) in lists.enumerate() {
        for value in list {
            if i == 0 || !all.contains(value) {
                all.push(value.clone());
            }
        }
    }
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_file_must_hold_the_rows_its_shards_manifest_says() {
        let file = |rows| ManifestFile {
            path: "sessions/date=2026-03-23/r-shard0of2-00000.parquet".into(),
            bytes: 10,
            rows,
        };
        let listed = file(Some(4));
        let dirs = [ShardDir::Bucket(BucketPrefix {
            scheme: crate::storage::Scheme::S3,
            bucket: "b".into(),
            prefix: "shard-0".into(),
        })];
        let placed = [(0, &listed, listed.path.clone())];
        let written = |rows| Manifest {
            files: vec![file(rows)],
        };
        assert!(verify_rows(&written(Some(4)), &placed, &dirs).is_ok());
        for found in [Some(3), None] {
            let err = verify_rows(&written(found), &placed, &dirs)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("s3://b/shard-0") && err.contains("says 4"),
                "{err}"
            );
        }
    }

    /// Shard `index` of 2 as a run writes its `_run.json`, with `seen` files.
    fn part(index: u32, seen: u64, partitions: &[&str]) -> ShardPart {
        let summary: RunSummary = serde_json::from_value(serde_json::json!({
            "tool": "session-etl", "output_format": 1, "session_etl_version": "0.1.0",
            "run_id": format!("r{index}"), "started_at": "2026-02-01T00:00:00Z",
            "wall_time_s": 1.5, "inputs": ["/in/b", "/in/a"], "output": format!("/s{index}"),
            "shard": {"index": index, "count": 2, "fingerprint": "f"}, "incremental": null,
            "threads": 2,
            "files": {"seen": seen, "sessions": seen - 1, "rejected": 1, "superseded": 0,
                      "ignored": 4, "walk_errors": 0, "external_links": 0, "bytes_read": 10,
                      "other_shards": 9},
            "rejects_by_kind": {"empty_file": 1}, "reject_rate": 0.5,
            "sessions": {"written": seen - 1, "calls": seen - 1, "chats": 0},
            "duplicates_collapsed": 0, "rows": {"sessions": seen - 1, "events": index},
            "partition_by": "date", "partitions": partitions,
            "unknown_statuses": {}, "unknown_statuses_unlisted": 0,
            "unknown_fields": {"x": 1}, "unknown_fields_unlisted": 0,
            "events": {"derived": true, "by_code": {"agentTalk": 2}, "total": 2,
                       "unaddressable_events": 0, "sessions_without_identifiers": 0,
                       "missing_required": {}, "duplicate_event_ids": 0, "events_in_bodies": 2,
                       "request_bodies": 1, "individuals": 1},
            "throughput": {"files_per_s": 2.0, "sessions_per_s": 1.0, "mb_per_s": 0.5},
            "walk_errors": []
        }))
        .unwrap();
        ShardPart {
            shard: summary.shard.clone().unwrap(),
            summary,
        }
    }

    #[test]
    fn summaries_add_up_key_by_key_and_shared_facts_are_taken_once() {
        let parts = [
            part(0, 3, &["date=b", "date=a"]),
            part(1, 5, &["date=c", "date=a"]),
        ];
        let started = chrono::DateTime::parse_from_rfc3339("2026-02-02T00:00:00Z").unwrap();
        let merged = merged_summary(&parts, "c", started.into());
        assert_eq!((merged.files.seen, merged.files.rejected), (8, 2));
        assert_eq!((merged.files.ignored, merged.files.other_shards), (4, 0));
        assert_eq!(
            merged.rows,
            BTreeMap::from([("events".into(), 1), ("sessions".into(), 6)])
        );
        assert_eq!(merged.partitions, ["date=a", "date=b", "date=c"]);
        assert_eq!(merged.inputs, ["/in/a", "/in/b"]);
        assert_eq!((merged.reject_rate, merged.threads), (0.25, 4));
        assert_eq!(
            (
                merged.unknown_fields["x"],
                merged.events.by_code["agentTalk"]
            ),
            (2, 4)
        );
        // What every shard shares is not summed: an output_format of 2 would make the merged
        // output one no later run may replace.
        assert_eq!((merged.output_format, merged.events.derived), (1, true));
        assert!(merged.shard.is_none() && merged.throughput.is_none());
        let shards = merged.shards.as_deref().unwrap();
        assert_eq!(
            (shards[1].run_id.as_str(), shards[1].shard.index),
            ("r1", 1)
        );
        // Written with the keys sorted at every level, `shards` among them and no
        // `throughput` of the whole.
        let value = serde_json::to_value(&merged).unwrap();
        let json = serde_json::to_string(&value).unwrap();
        assert!(
            json.starts_with(
                r#"{"duplicates_collapsed":0,"events":{"already_delivered":0,"by_code""#
            ),
            "{json}"
        );
        assert!(value["shard"].is_null() && value.get("throughput").is_none());
    }

    #[test]
    fn a_shard_summary_that_is_not_a_run_summary_is_refused_naming_file_and_key() {
        let name = "s3://b1b/shards/0/_run.json";
        let good = serde_json::to_string(&part(0, 3, &[]).summary).unwrap();
        let read = |text: String| read_summary(text.as_bytes(), name);
        let err = read(good.replace("\"seen\"", "\"seen_files\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains(name), "{err}");
        assert!(err.contains("files: missing field `seen`"), "{err}");
        let err = read(good.replace("\"threads\":2", "\"threads\":\"2\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("threads: invalid type: string"), "{err}");
        assert!(read(format!("{good} {{}}"))
            .unwrap_err()
            .to_string()
            .contains("trailing"));
        assert_eq!(read(good).unwrap().files.seen, 3);
    }
}
