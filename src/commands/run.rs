//! The `run` command: discover → select → (parse → normalize → tables) in parallel → write →
//! publish. This module only orchestrates; each stage lives in its own module.
//!
//! Parallelism: the plan is cut into chunks of `batch_files` files. A wave of chunks (two per
//! thread) is processed on the rayon pool while the previous wave is written to Parquet on
//! the calling thread, so encoding overlaps parsing. Chunks are written in plan order, which
//! makes the output independent of thread timing, and at most two waves are in memory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant as Clock;

use rayon::prelude::*;

use crate::derive::{derive, Derived};
use crate::discover::{
    discover_locations, named_input, Discovery, InputFile, InputFiles, WalkErrorKind, WalkOptions,
};
use crate::incremental::carry::{Carried, CarryOver, Previous};
use crate::incremental::state::{
    self, Change, Comparison, FullReason, InputState, Loaded, Produced, Rebuild,
};
use crate::normalize::{read_and_normalize, Session};
use crate::parse::Parsed;
use crate::publish::bucket::{replace_bucket_output, Base, Publication};
use crate::publish::manifest::{Manifest, ManifestFile};
use crate::publish::{new_run_id, replace_output, resolved, write_json, Existing, RUN_SUMMARY};
use crate::report::{IncrementalSummary, Progress, RunFacts, RunSummary, ShardSummary, Tally};
use crate::select::{prescan_files, select_by_key, Moved, Selection};
use crate::settings::RunConfig;
use crate::shared::error::{Error, Result};
use crate::shared::guard::{Listed, Result as GuardedResult, Stopped};
use crate::shared::memory::FreedMemory;
use crate::shared::reject::{FileError, RejectKind};
use crate::shared::stable_hash::StableHash;
use crate::shared::stop::{PausePoint, StopFlag};
use crate::shared::vocab::{Compression, FileKey};
use crate::storage::{Bodies, Location, PendingBodies, Storage};
use crate::write::exchange::{event_json, identifiers_json, EXCHANGE_DIR};
use crate::write::{Publishable, RejectsTable, SessionTables, SessionsTable, Sink, TableBatch};

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run summary (also in `OUT/_run.json` when published).
    pub summary: RunSummary,
    /// The guard that stopped the run once its tables were complete: nothing was published.
    pub stopped: Option<Stopped>,
}

/// What one chunk of files produced.
struct ChunkOutput {
    batches: Vec<TableBatch>,
    /// Publishable Exchange events, in plan order.
    exchange: Vec<Publishable>,
    tally: Tally,
    /// Files of the chunk that were rejected (candidates for falling back to an older export).
    rejected: Vec<u32>,
    /// The sessions written, by index of their file in the run's file list.
    produced: Vec<Produced>,
    /// Files found holding another session than the pre-scan read in them.
    moved: Vec<Moved>,
}

/// An incremental run's comparison of the input with the previous output's state.
struct IncrementalPlan {
    /// The previous output's state; `None` when the run starts from scratch.
    previous: Option<InputState>,
    /// Why it starts from scratch.
    full_reason: Option<FullReason>,
    comparison: Comparison,
    rebuild: Rebuild,
    /// The fingerprint of the row-shaping settings, stored in the new state.
    settings: String,
}

/// Runs the pipeline and publishes the output atomically. Once `stop` is raised, workers
/// finish the file in hand, nothing is published, and the run returns
/// [`Error::Interrupted`].
pub fn run(config: &RunConfig, stop: &StopFlag) -> Result<RunOutcome> {
    let clock = Clock::now();
    let started_at = chrono::Utc::now();
    // Shards start together on machines with the same pids (containers): the run id, the
    // prefix of every file name, must still differ for `commit` to merge them.
    let shard_suffix = config
        .shard
        .map(|shard| format!("-shard{}of{}", shard.index, shard.count))
        .unwrap_or_default();
    let run_id = new_run_id(started_at, &shard_suffix);
    if config.shard.is_some() && config.keeps_state() {
        return Err(Error::Config(
            "--shard and incremental runs do not combine: shard a full backfill, then run \
             incremental nightly runs on the committed output"
                .into(),
        ));
    }
    // A mistyped input fails before anything, even the lock file, is written; so does one
    // that is neither a file nor a folder.
    let local_inputs: Vec<PathBuf> = config
        .inputs
        .iter()
        .filter_map(|input| input.as_local().map(Path::to_owned))
        .collect();
    for input in &local_inputs {
        named_input(input)?;
    }
    let storage = Storage::new(config.storage.clone());
    let build = |output: &Path, base: Option<&Base<'_>>, staging: &Path, existing: &Existing| {
        let target = Target {
            output,
            base,
            staging,
            existing,
            storage: &storage,
        };
        let outcome = run_into(config, stop, &target, &run_id, started_at, clock)?;
        let publish = outcome.stopped.is_none();
        Ok((outcome, publish))
    };
    match &config.output {
        Location::Local(output) => {
            // Every check on the output compares resolved paths: `./out`, `../x/out` and a
            // link to it are one folder.
            let output = resolved(output)?;
            replace_output(
                &output,
                &local_inputs,
                &run_id,
                stop,
                |staging, existing| build(&output, None, staging, existing),
            )
        }
        Location::Bucket(prefix) => replace_bucket_output(
            &storage,
            prefix,
            &config.inputs,
            &run_id,
            stop,
            |staging, existing, base| {
                let (outcome, publish) = build(staging, Some(base), staging, existing)?;
                let publication = publish
                    .then(|| Publication::staged(staging, &run_id))
                    .transpose()?;
                Ok((outcome, publication))
            },
        ),
    }
}

/// Where a run writes, and what it replaces.
struct Target<'a> {
    /// The output, resolved (a bucket output's local staging folder).
    output: &'a Path,
    /// For a bucket output, the commit the run builds on (and what an incremental run
    /// fetches of it).
    base: Option<&'a Base<'a>>,
    /// The run's staging folder.
    staging: &'a Path,
    /// What the output holds now.
    existing: &'a Existing,
    /// The clients of the buckets the run reads.
    storage: &'a Storage,
}

fn run_into(
    config: &RunConfig,
    stop: &StopFlag,
    target: &Target<'_>,
    run_id: &str,
    started_at: chrono::DateTime<chrono::Utc>,
    clock: Clock,
) -> Result<RunOutcome> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .thread_name(|i| format!("session-etl-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool(e.to_string()))?;

    let discovery = walk(config, target, &pool, stop)?;
    let incremental = config
        .keeps_state()
        .then(|| plan_incremental(config, target, &pool, &discovery, stop))
        .transpose()?;
    let Chosen {
        subset,
        mut selection,
        seen_by_shard,
    } = choose(
        config,
        target,
        &pool,
        &discovery.files,
        incremental.as_ref(),
        stop,
    )?;
    let mut sink = Sink::create(target.staging, run_id, &config.parquet, &config.exchange)?;
    // A shard's outbox is never sent: `commit` builds the merged one on the published
    // output's, so a shard output replacing last night's carries nothing of it.
    if config.shard.is_none() {
        carry_outbox(&mut sink, target, stop)?;
    }
    let mut carried = match &incremental {
        Some(plan) => carry_over(&mut sink, target, plan, stop)?,
        None => Carried::default(),
    };
    let kept_in_place = std::mem::take(&mut carried.in_place);
    let pass = Pass {
        pool: &pool,
        storage: target.storage,
        config,
        stop,
        files: subset.as_ref().unwrap_or(&discovery.files),
    };
    let (tally, produced) = parse_all(&pass, &mut selection, &mut sink)?;
    let written = pool.install(|| sink.close())?;
    PausePoint::Closed.pause_here(stop);
    let incremental = incremental
        .map(|plan| finish_incremental(plan, produced, carried, target.staging, run_id))
        .transpose()?;
    let ended = Ended {
        run_id,
        started_at,
        clock,
        discovery: &discovery,
        selection: &selection,
        seen_by_shard,
        incremental,
        tally,
        written,
        kept_in_place,
    };
    seal(config, target, ended)
}

/// What the stages leave for the summary and the guards.
struct Ended<'a> {
    run_id: &'a str,
    started_at: chrono::DateTime<chrono::Utc>,
    clock: Clock,
    discovery: &'a Discovery,
    selection: &'a Selection,
    seen_by_shard: Option<String>,
    incremental: Option<IncrementalSummary>,
    tally: Tally,
    written: crate::write::Written,
    /// Files of the previous output that the new one lists where they are (a bucket's).
    kept_in_place: Vec<ManifestFile>,
}

/// Sums the run up, applies the guards that judge its result, and, when none stops it,
/// writes `_manifest.json` and `_run.json` into the staging folder (the publish follows).
fn seal(config: &RunConfig, target: &Target<'_>, ended: Ended<'_>) -> Result<RunOutcome> {
    let seen = ended.discovery.files.len() as u64 - ended.selection.other_shards;
    // Rejected files over the whole input. An incremental run counts the output's `rejects`
    // rows (kept and new), which are exactly a full run's, so both decide alike; a quiet night
    // with one bad file among a few new ones is not a format change.
    let rejected_in_output = match &ended.incremental {
        Some(_) => ended
            .written
            .rows
            .get(RejectsTable::NAME)
            .copied()
            .unwrap_or(0),
        None => ended.tally.rejected(),
    };
    let summary = RunSummary::assemble(RunFacts {
        run_id: ended.run_id,
        started_at: ended.started_at,
        wall_time_s: ended.clock.elapsed().as_secs_f64().max(1e-9),
        inputs: &config.inputs,
        output: &config.output,
        shard: config
            .shard
            .zip(ended.seen_by_shard)
            .map(|(shard, fingerprint)| ShardSummary {
                index: shard.index,
                count: shard.count,
                fingerprint,
            }),
        incremental: ended.incremental,
        threads: config.threads,
        seen,
        rejected_in_output,
        superseded: ended.selection.superseded(),
        other_shards: ended.selection.other_shards,
        discovery: ended.discovery,
        tally: ended.tally,
        written: ended.written,
        partition_by: config.parquet.partition_by,
        derived: config.derive,
    });
    let stopped = config
        .guards
        .check_result(GuardedResult {
            files: seen,
            rejected: rejected_in_output,
            sessions: summary.rows.get(SessionsTable::NAME).copied().unwrap_or(0),
            previous_sessions: target.existing.sessions(),
        })
        .err();
    if stopped.is_none() {
        Manifest::write_with(target.staging, ended.kept_in_place)?;
        write_json(&target.staging.join(RUN_SUMMARY), &summary)?;
    }
    Ok(RunOutcome { summary, stopped })
}

/// Walks the inputs on the run's pool (which sorts the file list in parallel) and applies the
/// guards that need only the list.
fn walk(
    config: &RunConfig,
    target: &Target<'_>,
    pool: &rayon::ThreadPool,
    stop: &StopFlag,
) -> Result<Discovery> {
    let walk = WalkOptions {
        exclude: [target.output, target.staging]
            .into_iter()
            .chain(target.base.map(Base::mirror))
            .map(Path::to_owned)
            .collect(),
        exclude_buckets: target
            .base
            .map(|b| b.prefix().clone())
            .into_iter()
            .collect(),
        follow_external_links: config.follow_external_links,
    };
    let discovery =
        pool.install(|| discover_locations(&config.inputs, &walk, target.storage, stop))?;
    let (unreadable, unreadable_count) = discovery.unreadable();
    config
        .guards
        .check_listing(Listed {
            files: discovery.files.len() as u64,
            unreadable,
            unreadable_count,
        })
        .map_err(Error::Guard)?;
    Ok(discovery)
}

/// The files a run parses and the export it keeps of each session.
struct Chosen {
    /// The files of an incremental run's rebuild, when not all of them (indices refer to it).
    subset: Option<InputFiles>,
    selection: Selection,
    /// What a shard saw of the input, for `commit` to compare across shards.
    seen_by_shard: Option<String>,
}

/// Chooses what to parse: every file (pre-scanned for its session), or what an incremental
/// run rebuilds (keyed by its comparison with the state).
fn choose(
    config: &RunConfig,
    target: &Target<'_>,
    pool: &rayon::ThreadPool,
    discovered: &InputFiles,
    incremental: Option<&IncrementalPlan>,
    stop: &StopFlag,
) -> Result<Chosen> {
    let chosen = |subset, selection| Chosen {
        subset,
        selection,
        seen_by_shard: None,
    };
    Ok(match incremental {
        // Starting from scratch rebuilds everything: no copy of the file list.
        Some(plan) if plan.rebuild.files.len() == discovered.len() => {
            let keys = plan.comparison.records.iter().map(|r| r.key).collect();
            chosen(None, select_by_key(discovered, keys, None))
        }
        Some(plan) => {
            let files = discovered.subset(&plan.rebuild.files);
            let keys = plan
                .rebuild
                .files
                .iter()
                .map(|&i| plan.comparison.records[i].key)
                .collect();
            let selection = select_by_key(&files, keys, None);
            chosen(Some(files), selection)
        }
        None => {
            let keys = pool.install(|| {
                prescan_files(discovered, config.max_file_bytes, target.storage, stop)
            })?;
            let seen_by_shard = config
                .shard
                .map(|_| shard_fingerprint(config, discovered, &keys));
            Chosen {
                seen_by_shard,
                ..chosen(None, select_by_key(discovered, keys, config.shard))
            }
        }
    })
}

/// Keeps the previous output's rows that an incremental run does not rebuild.
fn carry_over(
    sink: &mut Sink,
    target: &Target<'_>,
    plan: &IncrementalPlan,
    stop: &StopFlag,
) -> Result<Carried> {
    if plan.previous.is_none() {
        return Ok(Carried::default());
    }
    let previous = match target.base {
        Some(base) => Previous::Commit {
            manifest: base.manifest().ok_or_else(|| {
                Error::Internal("a bucket output's state without its commit".into())
            })?,
            mirror: base.mirror(),
        },
        None => Previous::Folder(target.output),
    };
    let carry = CarryOver {
        previous,
        rewrite_days: &plan.rebuild.days,
        drop_sessions: &plan.rebuild.sessions,
        drop_paths: &plan.rebuild.paths,
        stop,
    };
    if let Some(base) = target.base {
        base.fetch(&carry.files_to_fetch()?, stop)?;
    }
    sink.carry_over(&carry)
}

/// Builds the new Exchange outbox on the previous output's (see
/// [`crate::write::outbox`]): what its publishes answered joins the ledger's history, and
/// its undelivered events are carried unless the run writes events of their session again.
/// A bucket output's `exchange/` is fetched first.
fn carry_outbox(sink: &mut Sink, target: &Target<'_>, stop: &StopFlag) -> Result<()> {
    if !replaces_ours(target) {
        return Ok(());
    }
    let previous = match target.base {
        Some(base) => {
            base.fetch_folder(EXCHANGE_DIR, stop)?;
            base.mirror().join(EXCHANGE_DIR)
        }
        None => target.output.join(EXCHANGE_DIR),
    };
    sink.carry_outbox(&previous)?;
    Ok(())
}

/// Whether the output the run replaces is session-etl's: only then is its outbox one.
fn replaces_ours(target: &Target<'_>) -> bool {
    matches!(target.existing, Existing::Ours(_))
}

/// What every pass over the files reads.
struct Pass<'a> {
    pool: &'a rayon::ThreadPool,
    /// The clients of the buckets the run reads.
    storage: &'a Storage,
    config: &'a RunConfig,
    stop: &'a StopFlag,
    /// The files the plan's indices refer to.
    files: &'a InputFiles,
}

/// What the passes over the files keep between waves.
struct Passes {
    tally: Tally,
    /// The sessions written (incremental runs only).
    produced: Vec<Produced>,
    progress: Progress,
    memory: FreedMemory,
}

/// Parses every planned file and writes its rows, then the fallbacks of rejected exports, then
/// the files found rewritten under the run (see [`Selection::resolve_moved`]).
/// Returns the run's counters and, for incremental runs, the sessions written.
fn parse_all(
    pass: &Pass<'_>,
    selection: &mut Selection,
    sink: &mut Sink,
) -> Result<(Tally, Vec<Produced>)> {
    let mut parsed = Passes {
        tally: Tally::default(),
        produced: Vec::new(),
        progress: Progress::start(pass.config.progress, selection.plan.len() as u64),
        memory: FreedMemory::default(),
    };
    let mut plan = std::mem::take(&mut selection.plan);
    PausePoint::Selected.pause_here(pass.stop);
    // Sessions none of whose exports got a row, and files found rewritten under the run.
    let mut lost = HashSet::new();
    let mut moved = Vec::new();
    let mut second_reads = false;
    while !plan.is_empty() {
        let (rejected, moved_now) = process(pass, &plan, selection, sink, &mut parsed)?;
        // A rejected newest export falls back to the next-newest export of the same session,
        // and so does one found holding another session than the pre-scan read in it.
        plan.clear();
        for file in rejected.into_iter().chain(moved_now.iter().map(|m| m.file)) {
            match selection.fallback(file) {
                Some(next) => plan.push(next),
                None => lost.extend(selection.expected(file)),
            }
        }
        plan.sort_unstable();
        moved.extend(moved_now);
        if plan.is_empty() && !second_reads && !moved.is_empty() {
            // Every planned file is done: now the sessions the rewritten files hold can be
            // told apart from the sessions already written.
            refuse_moves_out_of_shard(pass, &moved)?;
            plan = selection.resolve_moved(std::mem::take(&mut moved), &lost);
            second_reads = true;
        }
    }
    let Passes {
        tally,
        produced,
        progress,
        ..
    } = parsed;
    progress.finish();
    if pass.stop.is_raised() {
        return Err(Error::Interrupted);
    }
    Ok((tally, produced))
}

/// A shard that finds a file rewritten into another shard's session fails: that shard may
/// have read the file before the change, and the session would be in neither.
fn refuse_moves_out_of_shard(pass: &Pass<'_>, moved: &[Moved]) -> Result<()> {
    let Some(shard) = pass.config.shard else {
        return Ok(());
    };
    let Some(m) = moved.iter().find(|m| !shard.owns_session(m.key)) else {
        return Ok(());
    };
    let path = pass.files.get(m.file as usize).map(|f| f.path.to_owned());
    Err(Error::InputChanged {
        path: path.unwrap_or_default(),
        detail: format!(
            "it now holds {} {}, which belongs to another shard; shard a closed set of files \
             and rerun every shard",
            m.key.kind.as_str(),
            m.key.id
        ),
    })
}

/// Processes `plan` in waves and writes every table; returns the files that were rejected and
/// the files found holding another session than the pre-scan read in them (not written).
fn process(
    pass: &Pass<'_>,
    plan: &[u32],
    selection: &Selection,
    sink: &mut Sink,
    parsed: &mut Passes,
) -> Result<(Vec<u32>, Vec<Moved>)> {
    let Pass {
        pool,
        config,
        stop,
        files,
        ..
    } = *pass;
    let chunks = cut_chunks(plan, files, config.batch_files, config.max_file_bytes);
    let waves = cut_waves(&chunks, config.threads);
    let storage = pass.storage;
    // The bucket objects of a wave are fetched while the wave before it is parsed.
    let fetch = |k: usize| -> Result<PendingBodies> {
        let Some(wave) = waves.get(k) else {
            return Ok(PendingBodies::none());
        };
        let indices = wave.iter().flat_map(|c| c.iter().map(|&i| i as usize));
        files.fetch_whole(indices, storage, config.max_file_bytes, stop)
    };
    // Wave `k`: waits for its objects, starts fetching wave `k + 1`'s, parses it on the pool.
    let compute = |k: usize, pending: PendingBodies| -> Result<(Vec<ChunkOutput>, PendingBodies)> {
        let bodies = pending.wait(storage)?;
        let following = fetch(k + 1)?;
        let outputs = pool.install(|| {
            waves[k]
                .par_iter()
                .map(|chunk| process_chunk(config, stop, files, chunk, selection, &bodies))
                .collect::<Result<Vec<_>>>()
        })?;
        Ok((outputs, following))
    };
    let mut rejected = Vec::new();
    let mut moved = Vec::new();
    let mut waves_written = 0_usize;
    let (mut ready, mut pending) = match waves.is_empty() {
        true => (None, PendingBodies::none()),
        false => {
            let (outputs, pending) = compute(0, fetch(0)?)?;
            (Some(outputs), pending)
        }
    };
    let mut next = 1;
    while let Some(outputs) = ready.take() {
        let taken = std::mem::replace(&mut pending, PendingBodies::none());
        let has_next = next < waves.len();
        // Compute the next wave on the pool while this thread writes the current one.
        let (computed, written) = std::thread::scope(|scope| {
            let handle = has_next.then(|| scope.spawn(move || compute(next, taken)));
            let written = write_outputs(outputs, sink, parsed, &mut rejected, &mut moved);
            waves_written += 1;
            parsed.memory.release_if_grown();
            let tally = &parsed.tally;
            parsed.progress.update(
                tally.files_read,
                tally.calls + tally.chats,
                tally.rejected(),
            );
            let computed = handle.map(|h| {
                h.join()
                    .map_err(|_| Error::Internal("a parse worker panicked".into()))
            });
            (computed, written)
        });
        written?;
        if waves_written == 1 {
            PausePoint::Writing.pause_here(stop);
        }
        if let Some((outputs, following)) = computed.transpose()?.transpose()? {
            ready = Some(outputs);
            pending = following;
        }
        next += 1;
        if stop.is_raised() {
            return Err(Error::Interrupted);
        }
    }
    Ok((rejected, moved))
}

/// Input bytes a chunk of files holds at most (unless one file alone is larger): with
/// `batch_files`, what one worker has in memory at once.
const CHUNK_BYTES: u64 = 8 << 20;
/// Input bytes per thread a wave of chunks holds at most (but always one chunk). Two waves are
/// in memory (one parsed, one written), so whatever the files, the input in memory stays
/// near `2 × threads × 16 MiB` plus one file: a run over 60 MB files holds a few of them,
/// not a chunk of 512.
const WAVE_BYTES_PER_THREAD: u64 = 16 << 20;
/// What a gzip file's content is assumed to weigh per byte on disk (JSON compresses 5–20×).
const GZIP_EXPANSION: u64 = 10;

/// The bytes a file is expected to take in memory once read (at most `max_file_bytes`).
fn weight(file: &InputFile<'_>, max_file_bytes: u64) -> u64 {
    let content = match file.compression {
        Compression::None => file.size,
        Compression::Gzip => file.size.saturating_mul(GZIP_EXPANSION),
    };
    content.clamp(1, max_file_bytes)
}

/// Cuts `plan` into chunks of at most `batch_files` files and [`CHUNK_BYTES`] of input.
fn cut_chunks<'p>(
    plan: &'p [u32],
    files: &InputFiles,
    batch_files: usize,
    max_file_bytes: u64,
) -> Vec<(&'p [u32], u64)> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0_u64);
    for (i, &file) in plan.iter().enumerate() {
        let w = files
            .get(file as usize)
            .map_or(1, |f| weight(&f, max_file_bytes));
        if i > start && (i - start == batch_files || bytes + w > CHUNK_BYTES) {
            chunks.push((&plan[start..i], bytes));
            (start, bytes) = (i, 0);
        }
        bytes += w;
    }
    if start < plan.len() {
        chunks.push((&plan[start..], bytes));
    }
    chunks
}

/// Groups chunks into waves of at most two per thread and `threads ×`
/// [`WAVE_BYTES_PER_THREAD`] of input.
fn cut_waves<'p>(chunks: &[(&'p [u32], u64)], threads: usize) -> Vec<Vec<&'p [u32]>> {
    let budget = WAVE_BYTES_PER_THREAD.saturating_mul(threads as u64);
    let mut waves: Vec<Vec<&[u32]>> = Vec::new();
    let mut bytes = 0_u64;
    for &(chunk, w) in chunks {
        match waves.last_mut() {
            Some(wave) if wave.len() < threads * 2 && bytes + w <= budget => {
                wave.push(chunk);
                bytes += w;
            }
            _ => {
                waves.push(vec![chunk]);
                bytes = w;
            }
        }
    }
    waves
}

fn write_outputs(
    outputs: Vec<ChunkOutput>,
    sink: &mut Sink,
    parsed: &mut Passes,
    rejected: &mut Vec<u32>,
    moved: &mut Vec<Moved>,
) -> Result<()> {
    for output in outputs {
        parsed.produced.extend(output.produced);
        moved.extend(output.moved);
        for rows in &output.batches {
            sink.write(rows)?;
        }
        sink.write_exchange(&output.exchange)?;
        parsed.tally.merge(output.tally);
        rejected.extend(output.rejected);
    }
    Ok(())
}

/// Reads, parses and normalizes one chunk of files into record batches. Bucket objects come
/// from `bodies`, fetched beforehand; local files are read here.
fn process_chunk(
    config: &RunConfig,
    stop: &StopFlag,
    files: &InputFiles,
    chunk: &[u32],
    selection: &Selection,
    bodies: &Bodies,
) -> Result<ChunkOutput> {
    let mut out = ChunkBuilder::new(config, selection, chunk.len());
    let mut buf = Vec::with_capacity(64 << 10);
    for &index in chunk {
        if stop.is_raised() {
            // The chunk's output is dropped: an interrupted run publishes nothing.
            break;
        }
        let Some(file) = files.get(index as usize) else {
            continue;
        };
        let path = crate::shared::paths::to_text(file.path);
        let source = match file.source(index, bodies) {
            Ok(source) => source,
            Err(error) => {
                out.add_reject(index, &path, file.size, error);
                continue;
            }
        };
        let mut bytes_read = None;
        let outcome = read_and_normalize(
            &file,
            source,
            config.max_file_bytes,
            &mut buf,
            |bytes| bytes_read = Some(bytes),
            |parsed, session| out.add_session(index, &path, parsed, &session),
        );
        if let Some(bytes) = bytes_read {
            out.tally.files_read += 1;
            out.tally.bytes_read += bytes;
        }
        if let Err(error) = outcome {
            out.add_reject(index, &path, file.size, &error);
        }
    }
    out.finish()
}

/// What one chunk has produced so far.
struct ChunkBuilder<'a> {
    config: &'a RunConfig,
    selection: &'a Selection,
    tables: SessionTables,
    rejects: RejectsTable,
    tally: Tally,
    rejected: Vec<u32>,
    exchange: Vec<Publishable>,
    produced: Vec<Produced>,
    moved: Vec<Moved>,
}

impl<'a> ChunkBuilder<'a> {
    fn new(config: &'a RunConfig, selection: &'a Selection, files: usize) -> Self {
        ChunkBuilder {
            config,
            selection,
            tables: SessionTables::with_capacity(files),
            rejects: RejectsTable::with_capacity(0),
            tally: Tally::default(),
            rejected: Vec::new(),
            exchange: Vec::new(),
            produced: Vec::new(),
            moved: Vec::new(),
        }
    }

    /// Adds the rows of the session file `index` holds, unless it holds another session than
    /// the pre-scan read in it (see [`Selection::resolve_moved`]).
    fn add_session(
        &mut self,
        index: u32,
        path: &str,
        parsed: &Parsed<'_>,
        session: &Session<'_>,
    ) -> std::result::Result<(), FileError> {
        let (config, selection) = (self.config, self.selection);
        // The session as read now, not as the pre-scan read it: a file rewritten in between
        // must not give a session a second row.
        let key = session.key();
        let updated_at = session.updated_at.map(|at| at.micros);
        if selection.expected(index) != Some(key) {
            if selection.is_second_read(index) {
                return Err(FileError::file(
                    RejectKind::ChangedDuringRun,
                    format!(
                        "the file changed twice while the run read it; it now holds {} {}",
                        key.kind.as_str(),
                        key.id
                    ),
                ));
            }
            self.moved.push(Moved {
                file: index,
                key,
                updated_at,
            });
            return Ok(());
        }
        self.tally.count_session(parsed, session);
        // Only the next state needs this, one entry per session: a plain run skips it.
        if config.keeps_state() {
            self.produced.push(Produced {
                file: index as usize,
                key,
                updated_at,
                day: session.created_at.day(),
            });
        }
        let derived = if config.derive {
            derive(session, &config.exchange)
        } else {
            Derived::default()
        };
        let identifiers = identifiers_json(&derived.identifiers);
        if config.derive {
            self.tally.count_events(&derived);
        }
        self.tables.append(
            session,
            &derived,
            &config.exchange.channel,
            identifiers.as_deref(),
            selection.export_count(index),
            path,
        );
        if let Some(identifiers) = identifiers {
            self.exchange.push(Publishable {
                session: key,
                identifiers,
                events: derived.events.iter().map(event_json).collect(),
            });
        }
        Ok(())
    }

    /// Adds the `rejects` row of the file `index`.
    fn add_reject(&mut self, index: u32, path: &str, size: u64, error: &FileError) {
        *self
            .tally
            .rejects_by_kind
            .entry(error.kind.as_str().to_owned())
            .or_default() += 1;
        self.rejects.append(path, i64::try_from(size).ok(), error);
        self.rejected.push(index);
    }

    fn finish(mut self) -> Result<ChunkOutput> {
        // The builders are declared with their schema, so these fail only on a bug.
        let mut batches = self.tables.finish()?;
        batches.push(self.rejects.finish_batch()?);
        Ok(ChunkOutput {
            batches,
            exchange: self.exchange,
            tally: self.tally,
            rejected: self.rejected,
            produced: self.produced,
            moved: self.moved,
        })
    }
}

/// Compares the input with the previous output's state and decides what to rebuild.
fn plan_incremental(
    config: &RunConfig,
    target: &Target<'_>,
    pool: &rayon::ThreadPool,
    discovery: &Discovery,
    stop: &StopFlag,
) -> Result<IncrementalPlan> {
    let discovered = &discovery.files;
    let unreadable: Vec<PathBuf> = discovery
        .walk_errors
        .iter()
        .filter(|e| e.kind == WalkErrorKind::Unreadable)
        .filter_map(|e| e.path.clone())
        .collect();
    let unreadable = unreadable.as_slice();
    let settings = settings_fingerprint(config);
    let (previous, full_reason) = if config.full_refresh {
        (None, Some(FullReason::Asked))
    } else {
        let state_of = match target.base {
            Some(base) => {
                base.fetch_folder(state::STATE_DIR, stop)?;
                base.mirror()
            }
            None => target.output,
        };
        match InputState::load(state_of)? {
            Loaded::State(state) if state.settings == settings => (Some(state), None),
            Loaded::State(_) => (None, Some(FullReason::SettingsChanged)),
            Loaded::FromScratch(reason) => (None, Some(reason)),
        }
    };
    let comparison = pool.install(|| {
        state::compare(
            discovered,
            previous.as_ref(),
            config.max_file_bytes,
            unreadable,
            target.storage,
            stop,
        )
    })?;
    let rebuild = state::plan_rebuild(&comparison, previous.as_ref());
    Ok(IncrementalPlan {
        previous,
        full_reason,
        comparison,
        rebuild,
        settings,
    })
}

/// Writes the new state into `staging` and sums up what the incremental run did.
/// `produced` indexes files in the run's file list, `plan.rebuild.files`.
fn finish_incremental(
    plan: IncrementalPlan,
    mut produced: Vec<Produced>,
    carried: Carried,
    staging: &Path,
    run_id: &str,
) -> Result<IncrementalSummary> {
    let IncrementalPlan {
        previous,
        full_reason,
        comparison,
        rebuild,
        settings,
    } = plan;
    for p in &mut produced {
        p.file = rebuild.files.get(p.file).copied().unwrap_or(usize::MAX);
    }
    let summary = IncrementalSummary {
        previous_run: previous.as_ref().map(|p| p.run_id.clone()),
        full_refresh: full_reason,
        files_unchanged: comparison.count(Change::Unchanged),
        files_same_content: comparison.count(Change::SameContent),
        files_changed: comparison.count(Change::Changed),
        files_new: comparison.count(Change::New),
        files_deleted: comparison.deleted.len() as u64,
        files_unreachable: comparison.unreachable.len() as u64,
        deleted_paths: comparison
            .deleted
            .iter()
            .take(20)
            .map(|r| r.path.display().to_string())
            .collect(),
        sessions_rebuilt: rebuild.sessions.len() as u64,
        files_processed: rebuild.files.len() as u64,
        partitions_rewritten: rebuild.days.len() as u64,
        files_kept: carried.files_kept,
        files_rewritten: carried.files_rewritten,
    };
    state::next_state(comparison, &rebuild, &produced, settings, run_id).write(staging)?;
    Ok(summary)
}

/// The settings that shape rows: outputs built with different ones must not be mixed.
fn settings_fingerprint(config: &RunConfig) -> String {
    format!(
        "{:?}|{:?}|{}|{}|{:?}",
        config.parquet.timestamp_unit,
        config.parquet.partition_by,
        config.derive,
        config.max_file_bytes,
        config.exchange,
    )
}

/// What every shard of one sharded run has in common: the settings that shape rows, and what
/// it read of the input: every file's resolved path, size and modification time, and the
/// session the pre-scan found in it (every shard pre-scans every file to learn which are its
/// own). A file that changed between two shards' runs, even to the same size, gives them
/// different fingerprints, and `commit` refuses them rather than lose the session that the
/// change moved from one shard to another. All shards must see the input at the same path
/// (one mount point).
fn shard_fingerprint(config: &RunConfig, files: &InputFiles, keys: &[FileKey]) -> String {
    let mut hash = StableHash::default();
    hash.write(settings_fingerprint(config).as_bytes());
    for (file, key) in files.iter().zip(keys) {
        hash.write(file.path.as_os_str().as_encoded_bytes())
            .write(&[0])
            .write(&file.size.to_le_bytes())
            .write(&file.modified_ns.unwrap_or(i64::MIN).to_le_bytes());
        match key {
            Some((session, updated_at)) => hash
                .write(session.kind.as_str().as_bytes())
                .write(&session.id.to_le_bytes())
                .write(&updated_at.unwrap_or(i64::MIN).to_le_bytes()),
            None => hash.write(b"-"),
        };
    }
    format!("{:016x}", hash.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::Origin;
    use std::path::PathBuf;

    fn listed(sizes: &[(u64, Compression)]) -> (Vec<PathBuf>, InputFiles) {
        let paths: Vec<PathBuf> = (0..sizes.len())
            .map(|i| PathBuf::from(format!("f{i}")))
            .collect();
        let mut files = InputFiles::default();
        for (path, &(size, compression)) in paths.iter().zip(sizes) {
            files.push(InputFile {
                path,
                size,
                compression,
                modified_ns: None,
                origin: Origin::Disk,
                version: None,
            });
        }
        (paths, files)
    }

    #[test]
    fn chunks_and_waves_are_bounded_in_bytes_as_well_as_files() {
        const MB: u64 = 1 << 20;
        let small = (8 << 10, Compression::None);
        // 1,000 small files: chunks of `batch_files`, waves of two chunks per thread.
        let (_p, files) = listed(&vec![small; 1000]);
        let plan: Vec<u32> = (0..1000).collect();
        let chunks = cut_chunks(&plan, &files, 300, 64 * MB);
        let lens: Vec<usize> = chunks.iter().map(|(c, _)| c.len()).collect();
        assert_eq!(lens, [300, 300, 300, 100]);
        assert_eq!(
            cut_waves(&chunks, 1)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            [2, 2]
        );
        // 24 files of 60 MB: one per chunk, one chunk per wave on two threads (not 24 files
        // in one chunk of 512); a gzip file weighs its likely content.
        let (_p, files) = listed(&vec![(60 * MB, Compression::None); 24]);
        let plan: Vec<u32> = (0..24).collect();
        let chunks = cut_chunks(&plan, &files, 512, 64 * MB);
        assert_eq!(chunks.len(), 24);
        let waves = cut_waves(&chunks, 2);
        assert!(waves.iter().all(|w| w.len() == 1), "{waves:?}");
        let (_p, files) = listed(&[(2 * MB, Compression::Gzip), small, small]);
        let chunks = cut_chunks(&[0, 1, 2], &files, 512, 64 * MB);
        assert_eq!(
            chunks.iter().map(|(c, _)| c.len()).collect::<Vec<_>>(),
            [1, 2]
        );
        // Every file is in exactly one chunk, in plan order.
        let flat: Vec<u32> = chunks.iter().flat_map(|(c, _)| c.iter().copied()).collect();
        assert_eq!(flat, [0, 1, 2]);
    }
}
