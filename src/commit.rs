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

use serde_json::Value;

use crate::error::{Error, Result};
use crate::guard::{Guards, Result as GuardedResult};
use crate::sink::exchange::EXCHANGE_DIR;
use crate::sink::manifest::Manifest;
use crate::sink::publish::{self, new_run_id, replace_output, RUN_SUMMARY, SUCCESS_MARKER};
use crate::stop::StopFlag;

/// What a commit published.
#[derive(Debug)]
pub struct Committed {
    /// The merged `_run.json`.
    pub summary: Value,
    /// Files linked or copied into the output.
    pub files: u64,
}

/// Merges the shard outputs `shards` into `output` and publishes it atomically. Each shard
/// judged its own reject rate; `guards` decide on the merged whole (no sessions at all, far
/// fewer sessions than the output it replaces).
pub fn commit(shards: &[PathBuf], output: &Path, guards: &Guards) -> Result<Committed> {
    for shard in shards {
        crate::settings::local_path(shard, "shard")?;
    }
    crate::settings::local_path(output, "output")?;
    let (summaries, manifests) = check_shards(shards)?;
    let given = output;
    let output = &publish::resolved(output)?;
    let started_at = chrono::Utc::now();
    let run_id = new_run_id(started_at, "-commit");
    // The shards are what the commit reads: the output may be neither one of them nor a
    // folder holding one.
    replace_output(
        output,
        shards,
        &run_id,
        &StopFlag::new(),
        |staging, existing| {
            let clock = std::time::Instant::now();
            let mut summary = merged_summary(&summaries, &run_id, started_at);
            let count = |v: &Value| v.as_u64().unwrap_or(0);
            guards
                .check_result(GuardedResult {
                    files: count(&summary["files"]["seen"]),
                    rejected: count(&summary["files"]["rejected"]),
                    sessions: count(&summary["rows"]["sessions"]),
                    previous_sessions: existing.sessions(),
                })
                .map_err(Error::Guard)?;
            let files = link_shard_files(shards, &manifests, staging)?;
            Manifest::write(staging)?;
            summary["output"] = given.display().to_string().into();
            summary["wall_time_s"] = clock.elapsed().as_secs_f64().into();
            let path = staging.join(RUN_SUMMARY);
            publish::write_json(&path, &summary)?;
            Ok((Committed { summary, files }, true))
        },
    )
}

/// Reads every shard's `_run.json` and checks they are the N parts of one sharded run, each
/// holding exactly the files its manifest lists, with the rows its `_run.json` counts.
fn check_shards(shards: &[PathBuf]) -> Result<(Vec<Value>, Vec<Manifest>)> {
    let refuse = |why: String| Error::Config(format!("cannot commit: {why}"));
    let mut summaries = Vec::with_capacity(shards.len());
    let mut manifests = Vec::with_capacity(shards.len());
    let mut seen_index = BTreeMap::new();
    for dir in shards {
        if !dir.join(SUCCESS_MARKER).exists() {
            return Err(refuse(format!(
                "{} is not a completed shard output (no {SUCCESS_MARKER})",
                dir.display()
            )));
        }
        let path = dir.join(RUN_SUMMARY);
        let bytes = fs::read(&path).map_err(Error::io("read", &path))?;
        let summary: Value = serde_json::from_slice(&bytes)
            .map_err(|e| refuse(format!("{}: {e}", path.display())))?;
        let shard = &summary["shard"];
        let (Some(index), Some(count)) = (shard["index"].as_u64(), shard["count"].as_u64()) else {
            return Err(refuse(format!(
                "{} was not written by a `run --shard` run",
                dir.display()
            )));
        };
        if count != shards.len() as u64 {
            return Err(refuse(format!(
                "{} is shard {index} of {count}, but {} shard outputs were given",
                dir.display(),
                shards.len()
            )));
        }
        if let Some(other) = seen_index.insert(index, dir) {
            return Err(refuse(format!(
                "{} and {} are both shard {index}",
                other.display(),
                dir.display()
            )));
        }
        let damaged = |why: String| {
            refuse(format!(
                "the shard output {} is damaged: {why}; rerun that shard",
                dir.display()
            ))
        };
        let manifest = Manifest::read(dir).map_err(damaged)?;
        manifest.verify(dir).map_err(damaged)?;
        for (table, rows) in manifest.rows_by_folder() {
            let counted = summary["rows"][table].as_u64();
            if counted.is_some_and(|n| n != rows) {
                return Err(damaged(format!(
                    "its `{table}` files hold {rows} rows, its {RUN_SUMMARY} says {}",
                    counted.unwrap_or(0)
                )));
            }
        }
        summaries.push(summary);
        manifests.push(manifest);
    }
    if let Some(odd) = summaries
        .iter()
        .find(|s| s["shard"]["fingerprint"] != summaries[0]["shard"]["fingerprint"])
    {
        return Err(refuse(format!(
            "the shards are not parts of one run: they saw different input files or settings \
             (fingerprints {} and {}); rerun the stale shards",
            summaries[0]["shard"]["fingerprint"], odd["shard"]["fingerprint"]
        )));
    }
    // Tables must have the same layout to be read as one.
    for key in ["partition_by", "session_etl_version"] {
        if let Some(odd) = summaries.iter().find(|s| s[key] != summaries[0][key]) {
            return Err(refuse(format!(
                "the shards disagree on `{key}` ({} and {})",
                summaries[0][key], odd[key]
            )));
        }
    }
    Ok((summaries, manifests))
}

/// Links every file of every shard's manifest into `staging`; returns how many it placed.
fn link_shard_files(shards: &[PathBuf], manifests: &[Manifest], staging: &Path) -> Result<u64> {
    // Per table folder, a zero-row file to keep if no shard has rows for that table.
    let mut empty: BTreeMap<&str, (PathBuf, &str)> = BTreeMap::new();
    let mut has_rows: BTreeSet<&str> = BTreeSet::new();
    let mut files = 0;
    for (shard, manifest) in shards.iter().zip(manifests) {
        for file in &manifest.files {
            // Only the tables are merged; `_state/` is an incremental run's, never a shard's.
            let Some(top) = file.folder().filter(|t| !t.starts_with('_')) else {
                continue;
            };
            let from = Manifest::path_in(shard, file);
            if top != EXCHANGE_DIR {
                // A table with no rows is one zero-row file in its folder; beside another
                // shard's date partitions it would confuse Hive-style readers, so such files
                // are kept only for tables empty in every shard.
                if file.rows == Some(0) {
                    empty.entry(top).or_insert((from, file.path.as_str()));
                    continue;
                }
                has_rows.insert(top);
            }
            publish::place_file(&from, &Manifest::path_in(staging, file))?;
            files += 1;
        }
    }
    for (table, (from, relative)) in empty {
        if !has_rows.contains(table) {
            let name = relative.rsplit('/').next().unwrap_or(relative);
            publish::place_file(&from, &staging.join(table).join(name))?;
            files += 1;
        }
    }
    Ok(files)
}

/// The shards' `_run.json` files added up: counts and per-key maps are summed (`threads` too:
/// the threads of all machines), lists joined, rates recomputed; what the input walk found is
/// taken once; each shard's own run id, wall time and throughput stay under `shards`.
fn merged_summary(
    summaries: &[Value],
    run_id: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let mut merged = Value::Null;
    for summary in summaries {
        let mut counts = summary.clone();
        if let Some(object) = counts.as_object_mut() {
            for per_run in ["run_id", "started_at", "wall_time_s", "throughput", "shard"] {
                object.remove(per_run);
            }
        }
        merged = add(merged, counts);
    }
    let seen = merged["files"]["seen"].as_u64().unwrap_or(0);
    let rejected = merged["files"]["rejected"].as_u64().unwrap_or(0);
    merged["reject_rate"] = if seen == 0 {
        0.0.into()
    } else {
        (rejected as f64 / seen as f64).into()
    };
    merged["files"]["other_shards"] = 0.into();
    // Every shard walks the whole input: what the walk found is counted once, not N times.
    merged["files"]["ignored"] = summaries[0]["files"]["ignored"].clone();
    merged["files"]["walk_errors"] = summaries[0]["files"]["walk_errors"].clone();
    merged["files"]["external_links"] = summaries[0]["files"]["external_links"].clone();
    merged["walk_errors"] = summaries[0]["walk_errors"].clone();
    merged["run_id"] = run_id.into();
    merged["started_at"] = started_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .into();
    merged["shard"] = Value::Null;
    merged["shards"] = summaries
        .iter()
        .map(|s| {
            serde_json::json!({
                "shard": s["shard"],
                "run_id": s["run_id"],
                "started_at": s["started_at"],
                "wall_time_s": s["wall_time_s"],
                "throughput": s["throughput"],
            })
        })
        .collect();
    merged
}

/// `a + b` for run summaries: numbers add, objects merge key by key, arrays join without
/// repeats (sorted when they hold strings), and anything else keeps the first value.
fn add(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Null, b) => b,
        (Value::Number(x), Value::Number(y)) => match (x.as_u64(), y.as_u64()) {
            (Some(x), Some(y)) => (x + y).into(),
            _ => (x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0)).into(),
        },
        (Value::Object(mut x), Value::Object(y)) => {
            for (key, value) in y {
                let sum = add(x.remove(&key).unwrap_or(Value::Null), value);
                x.insert(key, sum);
            }
            Value::Object(x)
        }
        (Value::Array(mut x), Value::Array(y)) => {
            for value in y {
                if !x.contains(&value) {
                    x.push(value);
                }
            }
            if x.iter().all(Value::is_string) {
                x.sort_by(|p, q| p.as_str().cmp(&q.as_str()));
            }
            Value::Array(x)
        }
        (a, _) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_add_up_key_by_key() {
        let a = serde_json::json!({"files": {"seen": 3}, "rows": {"sessions": 2}, "partitions": ["b", "a"], "derived": true, "rate": 0.5});
        let b = serde_json::json!({"files": {"seen": 4}, "rows": {"sessions": 1, "events": 5}, "partitions": ["c", "a"], "derived": true, "rate": 0.25});
        assert_eq!(
            add(add(Value::Null, a), b),
            serde_json::json!({"files": {"seen": 7}, "rows": {"sessions": 3, "events": 5}, "partitions": ["a", "b", "c"], "derived": true, "rate": 0.75})
        );
    }
}
