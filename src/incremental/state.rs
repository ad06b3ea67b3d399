//! Incremental runs: what the last run knew of each input file, kept in `OUT/_state/` and
//! published with the output it describes (so the two never disagree), and the comparison
//! of that record with what discovery finds now.
//!
//! A file is *unchanged* when its size and modification time match the record (it is not
//! even opened), or when its content hash matches (it is read but not parsed). Everything
//! else is *new* or *changed* and is pre-scanned for its session key. The sessions those
//! files belong to, now or before, and the sessions of *deleted* files are the sessions the
//! run rebuilds; see [`plan_rebuild`].
//!
//! The record is a Parquet table (`_state/files.parquet`, one row per input file), so
//! "which files did last night's run see" is a DuckDB query away, plus `_state/state.json`
//! naming the settings it was built with: a run with other row-shaping settings or another
//! session-etl version starts from scratch rather than mix two kinds of rows.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Date32Type, Int64Type};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::discover::Origin;
use crate::discover::{InputFile, InputFiles};
use crate::normalize::Instant;
use crate::parse::read::{read_file, Source};
use crate::select::{prescan, prescan_fetched, prescan_file};
use crate::shared::error::{Error, Result};
use crate::shared::reject::FileError;
use crate::shared::stop::StopFlag;
use crate::shared::vocab::{Day, FileKey, SessionKey, SessionKind};
use crate::storage::Storage;

/// The state folder inside an output.
pub const STATE_DIR: &str = "_state";
const FILES_TABLE: &str = "files.parquet";
const HEADER: &str = "state.json";
/// Bumped when the meaning of the state files changes: an older state is then ignored.
/// 2: paths are the resolved paths discovery lists (absolute, links followed).
const FORMAT: u32 = 2;

/// What one run knew of one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// The path as discovered (relative inputs stay relative).
    pub path: PathBuf,
    /// Size on disk.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub modified_ns: Option<i64>,
    /// For a bucket object, a hash of its ETag or generation (see
    /// [`InputFile::version`](crate::discover::InputFile::version)).
    pub version: Option<u64>,
    /// XXH3 of the content (decompressed); `None` when the file could not be read, so it is
    /// read again next time.
    pub content_hash: Option<u64>,
    /// The session the file is an export of, and its `updated_at`.
    pub key: FileKey,
    /// The date partition holding the file's session in the output; `None` when the session
    /// is not in the output (every export rejected) or the file has no key.
    pub day: Option<Day>,
}

/// The header of a state folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    format: u32,
    session_etl_version: String,
    /// [`crate::run`]'s fingerprint of the settings that shape rows.
    settings: String,
    run_id: String,
    files: u64,
}

/// The state of a published output.
#[derive(Debug, Clone, Default)]
pub struct InputState {
    /// The settings fingerprint the output was built with.
    pub settings: String,
    /// The run that wrote it.
    pub run_id: String,
    /// One record per input file, sorted by path.
    pub files: Vec<FileRecord>,
}

/// Why an incremental run starts from scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullReason {
    /// `--full-refresh`.
    Asked,
    /// The output does not exist yet or has no state (a plain run or a commit wrote it).
    NoState,
    /// The state was written by another session-etl version or state format.
    OtherVersion,
    /// Row-shaping settings differ from the ones the output was built with.
    SettingsChanged,
}

impl FullReason {
    /// The reason as written in `_run.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            FullReason::Asked => "asked",
            FullReason::NoState => "no_state",
            FullReason::OtherVersion => "other_version",
            FullReason::SettingsChanged => "settings_changed",
        }
    }
}

/// Written as [`FullReason::as_str`], the one spelling of each reason.
impl Serialize for FullReason {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read back from [`FullReason::as_str`] (a `_run.json` read by `commit`).
impl<'de> Deserialize<'de> for FullReason {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<FullReason, D::Error> {
        const ALL: [FullReason; 4] = [
            FullReason::Asked,
            FullReason::NoState,
            FullReason::OtherVersion,
            FullReason::SettingsChanged,
        ];
        let name = String::deserialize(deserializer)?;
        ALL.into_iter()
            .find(|reason| reason.as_str() == name)
            .ok_or_else(|| {
                serde::de::Error::unknown_variant(
                    &name,
                    &["asked", "no_state", "other_version", "settings_changed"],
                )
            })
    }
}

/// What an output offers an incremental run to build on.
#[derive(Debug)]
pub enum Loaded {
    /// Its state.
    State(InputState),
    /// Nothing usable: the run starts from scratch, for this reason.
    FromScratch(FullReason),
}

impl InputState {
    /// Loads the state of the output at `output`: [`Loaded::FromScratch`] when there is none,
    /// or when it is of another format or version (the reason says which); an error when it
    /// exists but cannot be read, because silently rebuilding would hide a damaged output.
    pub fn load(output: &Path) -> Result<Loaded> {
        let dir = output.join(STATE_DIR);
        let header_path = dir.join(HEADER);
        let header = match std::fs::read(&header_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Loaded::FromScratch(FullReason::NoState))
            }
            Err(e) => return Err(Error::io("read", &header_path)(e)),
        };
        let header: Header = serde_json::from_slice(&header).map_err(|e| Error::State {
            path: header_path.clone(),
            message: e.to_string(),
        })?;
        if header.format != FORMAT || header.session_etl_version != env!("CARGO_PKG_VERSION") {
            return Ok(Loaded::FromScratch(FullReason::OtherVersion));
        }
        let table = dir.join(FILES_TABLE);
        let files = read_records(&table).map_err(|message| Error::State {
            path: table.clone(),
            message,
        })?;
        if files.len() as u64 != header.files {
            return Err(Error::State {
                path: table,
                message: format!("{} records, the header says {}", files.len(), header.files),
            });
        }
        Ok(Loaded::State(InputState {
            settings: header.settings,
            run_id: header.run_id,
            files,
        }))
    }

    /// Writes the state into `output` (a staging folder).
    pub fn write(&self, output: &Path) -> Result<()> {
        let dir = output.join(STATE_DIR);
        std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        let table = dir.join(FILES_TABLE);
        write_records(&table, &self.files)?;
        let header = Header {
            format: FORMAT,
            session_etl_version: env!("CARGO_PKG_VERSION").to_owned(),
            settings: self.settings.clone(),
            run_id: self.run_id.clone(),
            files: self.files.len() as u64,
        };
        let path = dir.join(HEADER);
        crate::publish::write_json(&path, &header)
    }
}

/// How a discovered file compares with the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Same size and modification time: not opened.
    Unchanged,
    /// Modified on disk but with the same content: read, not parsed.
    SameContent,
    /// In the state with other content.
    Changed,
    /// Not in the state.
    New,
}

/// Every discovered file compared with the state.
#[derive(Debug, Default)]
pub struct Comparison {
    /// One record per discovered file, same order; `day` is the previous run's.
    pub records: Vec<FileRecord>,
    /// How each discovered file changed, same order.
    pub changes: Vec<Change>,
    /// Records of files that are gone.
    pub deleted: Vec<FileRecord>,
    /// Records of files that could not be seen because a folder holding them could not be
    /// read (`--allow-unreadable`): not deleted, kept as they were.
    pub unreachable: Vec<FileRecord>,
    /// The sessions changed files were exports of before they changed.
    pub replaced: Vec<SessionKey>,
}

impl Comparison {
    /// Files of each kind of change.
    pub fn count(&self, change: Change) -> u64 {
        self.changes.iter().filter(|&&c| c == change).count() as u64
    }
}

/// Compares `files` with `previous` (everything is new without one), reading in parallel
/// only the files whose size or modification time differ (or that have no modification
/// time). A file recorded without a hash (it could not be read: too large, unreadable) is
/// unchanged while its size and modification time are, and keeps its rejects row: touch it,
/// or use `--full-refresh`, once it is readable again.
///
/// A previous file missing from `files` is deleted, unless it is under one of `unreadable`
/// (folders the walk could not list): a folder that cannot be read says nothing about what it
/// holds, so its files are kept as the state records them.
pub fn compare(
    files: &InputFiles,
    previous: Option<&InputState>,
    max_file_bytes: u64,
    unreadable: &[PathBuf],
    storage: &Storage,
    stop: &StopFlag,
) -> Result<Comparison> {
    // Keyed by the path's bytes: hashing a `Path` walks its components, several times slower.
    let known: HashMap<&[u8], &FileRecord> = previous
        .map(|p| p.files.iter().map(|r| (path_bytes(&r.path), r)).collect())
        .unwrap_or_default();
    let before_of = |file: &InputFile<'_>| known.get(path_bytes(file.path)).copied();
    // Local files are compared (and read when they changed) in parallel; a bucket object that
    // changed is left for the second pass, which fetches such objects a batch at a time.
    let mut compared: Vec<Option<(FileRecord, Change)>> = files
        .par_iter()
        .map_init(Vec::new, |buf, file| {
            let before = before_of(&file);
            match (file.origin, before.filter(|b| unchanged(b, &file))) {
                (_, Some(before)) => Some((before.clone(), Change::Unchanged)),
                (Origin::Disk, None) => {
                    let source = Ok(Source::Disk(file.path));
                    Some(compare_file(
                        file,
                        before,
                        source,
                        max_file_bytes,
                        stop,
                        buf,
                    ))
                }
                (Origin::Bucket(_), None) => None,
            }
        })
        .collect();
    let changed_objects: Vec<usize> = (0..compared.len())
        .filter(|&i| compared[i].is_none())
        .collect();
    for batch in changed_objects.chunks(OBJECTS_PER_BATCH) {
        if stop.is_raised() {
            break;
        }
        let bodies = files
            .fetch_whole(batch.iter().copied(), storage, max_file_bytes, stop)?
            .wait(storage)?;
        let results: Vec<(usize, (FileRecord, Change))> = batch
            .par_iter()
            .filter_map(|&i| {
                let file = files.get(i)?;
                let source = file.source(i as u32, &bodies);
                let mut buf = Vec::new();
                let before = before_of(&file);
                Some((
                    i,
                    compare_file(file, before, source, max_file_bytes, stop, &mut buf),
                ))
            })
            .collect();
        for (i, result) in results {
            compared[i] = Some(result);
        }
    }
    if stop.is_raised() {
        return Err(Error::Interrupted);
    }
    let (records, changes): (Vec<FileRecord>, Vec<Change>) = compared
        .into_iter()
        .map(|c| c.ok_or_else(|| Error::Internal("an object was not compared".into())))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let (unreachable, deleted) = missing(files, previous, unreadable);
    let replaced = replaced_sessions(&records, &changes, &known);
    Ok(Comparison {
        records,
        changes,
        deleted,
        unreachable,
        replaced,
    })
}

/// Changed bucket objects fetched at once by the comparison: their bodies are in memory
/// together.
const OBJECTS_PER_BATCH: usize = 2048;

/// True when `file` is what `before` records: the same size and, for an object, the same
/// version (ETag or generation); for a local file, the same modification time.
fn unchanged(before: &FileRecord, file: &InputFile<'_>) -> bool {
    before.size == file.size
        && match file.version {
            Some(version) => before.version == Some(version),
            None => before.modified_ns.is_some() && before.modified_ns == file.modified_ns,
        }
}

/// One discovered file that changed (or is new) against the record of it the last run left,
/// if any, read from `source` (see [`InputFile::source`]); `buf` is the worker's read buffer.
fn compare_file(
    file: InputFile<'_>,
    before: Option<&FileRecord>,
    source: std::result::Result<Source<'_>, &FileError>,
    max_file_bytes: u64,
    stop: &StopFlag,
    buf: &mut Vec<u8>,
) -> (FileRecord, Change) {
    let mut record = FileRecord {
        path: file.path.to_owned(),
        size: file.size,
        modified_ns: file.modified_ns,
        version: file.version,
        content_hash: None,
        key: None,
        day: None,
    };
    if stop.is_raised() {
        return (record, Change::New);
    }
    let read = match source {
        Ok(source) => read_file(source, file.compression, file.size, max_file_bytes, buf),
        Err(e) => Err(e.clone()),
    };
    if read.is_ok() {
        record.content_hash = Some(xxhash_rust::xxh3::xxh3_64(buf));
    }
    // The key exactly as a full run's pre-scan reads it: from the content in hand when
    // it was read whole (the pre-scan's prefix is the start of the same bytes), else by
    // the pre-scan itself (a gzip stream broken further on still has a key in its
    // first few KB).
    let key = |buf: &mut Vec<u8>| match (&read, source) {
        (Ok(_), _) => prescan(buf, file.file_name()),
        (Err(_), Ok(Source::Disk(_))) => prescan_file(&file, max_file_bytes, buf),
        (Err(_), Ok(Source::Fetched(body))) => prescan_fetched(body, &file),
        (Err(_), Err(_)) => None,
    };
    match before {
        Some(b) if record.content_hash.is_some() && b.content_hash == record.content_hash => {
            record.key = b.key;
            record.day = b.day;
            (record, Change::SameContent)
        }
        Some(_) => {
            record.key = key(buf);
            (record, Change::Changed)
        }
        None => {
            record.key = key(buf);
            (record, Change::New)
        }
    }
}

/// The previous records of files not discovered now: those under an `unreadable` folder
/// (unreachable), and the others (deleted).
fn missing(
    files: &InputFiles,
    previous: Option<&InputState>,
    unreadable: &[PathBuf],
) -> (Vec<FileRecord>, Vec<FileRecord>) {
    let present: HashSet<&[u8]> = files.iter().map(|f| path_bytes(f.path)).collect();
    previous
        .map(|p| {
            p.files
                .iter()
                .filter(|r| !present.contains(path_bytes(&r.path)))
                .cloned()
                .partition(|r| unreadable.iter().any(|dir| r.path.starts_with(dir)))
        })
        .unwrap_or_default()
}

/// The sessions the changed files were exports of, as the previous run recorded them.
fn replaced_sessions(
    records: &[FileRecord],
    changes: &[Change],
    known: &HashMap<&[u8], &FileRecord>,
) -> Vec<SessionKey> {
    records
        .iter()
        .zip(changes)
        .filter(|(_, &change)| change == Change::Changed)
        .filter_map(|(record, _)| known.get(path_bytes(&record.path))?.key)
        .map(|(key, _)| key)
        .collect()
}

/// What an incremental run redoes.
#[derive(Debug, Default)]
pub struct Rebuild {
    /// Discovered files to process, ascending: every export of a rebuilt session, and the
    /// new or changed files without a session key (they are rejected, with the reason).
    pub files: Vec<usize>,
    /// Sessions whose rows are rebuilt: the sessions of new, changed and deleted files,
    /// before and after the change. Their previous rows are dropped.
    pub sessions: HashSet<SessionKey>,
    /// Files whose previous rejects rows are dropped: the files processed again, and the
    /// deleted ones.
    pub paths: HashSet<String>,
    /// Date partitions holding previous rows of rebuilt sessions: rewritten without them.
    /// Every other partition keeps its files.
    pub days: BTreeSet<Day>,
}

/// Decides what to rebuild from a comparison.
///
/// A session is rebuilt from *all* its current exports, not only the new one, so the
/// export chosen, the fallback when it is rejected, and `export_count` come out exactly as a
/// full run over the same input would make them.
pub fn plan_rebuild(comparison: &Comparison, previous: Option<&InputState>) -> Rebuild {
    let mut rebuild = Rebuild::default();
    for (record, change) in comparison.records.iter().zip(&comparison.changes) {
        if matches!(change, Change::Changed | Change::New) {
            rebuild.sessions.extend(record.key.map(|(k, _)| k));
        }
    }
    rebuild.sessions.extend(comparison.replaced.iter().copied());
    for gone in &comparison.deleted {
        rebuild.sessions.extend(gone.key.map(|(k, _)| k));
        rebuild
            .paths
            .insert(crate::shared::paths::to_text(&gone.path).into_owned());
    }
    for (index, (record, change)) in comparison
        .records
        .iter()
        .zip(&comparison.changes)
        .enumerate()
    {
        let redo = match record.key {
            Some((key, _)) => rebuild.sessions.contains(&key),
            None => matches!(change, Change::Changed | Change::New),
        };
        if redo {
            rebuild.files.push(index);
            // Only a previous output has rejects rows to drop.
            if previous.is_some() {
                rebuild
                    .paths
                    .insert(crate::shared::paths::to_text(&record.path).into_owned());
            }
        }
    }
    if let Some(previous) = previous {
        rebuild.days = previous
            .files
            .iter()
            .filter(|r| r.key.is_some_and(|(k, _)| rebuild.sessions.contains(&k)))
            .filter_map(|r| r.day)
            .collect();
    }
    rebuild
}

/// A session a run wrote, and the file it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// Index of the file among the discovered files.
    pub file: usize,
    /// The session, as normalization read it.
    pub key: SessionKey,
    /// Its `updated_at`, microseconds.
    pub updated_at: Option<i64>,
    /// The partition its rows went to.
    pub day: Day,
}

/// The state after a run: `comparison`'s records, with the day of every rebuilt session
/// taken from `produced` (the others keep theirs).
///
/// A file that produced a session is recorded under the key normalization read, with its
/// day, even if the comparison keyed it otherwise: a file still being written when it was
/// hashed may have had no key then. Recording what is really in the output lets the next
/// run, which sees the file changed, remove exactly those rows.
pub fn next_state(
    comparison: Comparison,
    rebuild: &Rebuild,
    produced: &[Produced],
    settings: String,
    run_id: &str,
) -> InputState {
    let rebuilt_days: HashMap<SessionKey, Day> = produced.iter().map(|p| (p.key, p.day)).collect();
    let mut files = comparison.records;
    for record in &mut files {
        if let Some((key, _)) = record.key {
            if rebuild.sessions.contains(&key) {
                record.day = rebuilt_days.get(&key).copied();
            }
        }
    }
    for p in produced {
        if let Some(record) = files.get_mut(p.file) {
            record.key = Some((p.key, p.updated_at));
            record.day = Some(p.day);
        }
    }
    if !comparison.unreachable.is_empty() {
        files.extend(comparison.unreachable);
        files.sort_by(|a, b| a.path.cmp(&b.path));
    }
    InputState {
        settings,
        run_id: run_id.to_owned(),
        files,
    }
}

crate::table! {
    /// `_state/files.parquet`: one row per input file the output was built from, what the run
    /// knew of it. A table like the others (`SELECT * FROM 'OUT/_state/files.parquet'`).
    pub struct StateFilesTable("files", r: &FileRecord) {
        path: Bytes, "The file's resolved path, as bytes (file names need not be UTF-8).", required => path_bytes(&r.path);
        size_bytes: I64, "Size on disk when the run saw it.", required => i64::try_from(r.size).unwrap_or(i64::MAX);
        modified_ns: I64, "Modification time, nanoseconds since the epoch." => r.modified_ns;
        object_version: I64, "For a bucket object, XXH3 of its ETag or generation (64 bits as a signed integer): with the size, what says it is unchanged; null for local files." => r.version.map(|v| v as i64);
        content_xxh3: I64, "XXH3 of the content (decompressed), its 64 bits as a signed integer; null when the file could not be read." => r.content_hash.map(|h| h as i64);
        kind: Text, "`call` or `chat`: the session the file is an export of." => r.key.map(|(k, _)| k.kind.as_str());
        session_id: I64, "The id of that session." => r.key.map(|(k, _)| k.id);
        updated_at: Timestamp, "The export's `updated_at` (UTC)." => r.key.and_then(|(_, u)| u).map(|micros| Instant { micros, offset_minutes: 0 });
        date: Date, "The date partition holding the session in the output; null when it is not there." => r.day;
    }
}

fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

fn write_records(path: &Path, records: &[FileRecord]) -> Result<()> {
    let error = |source| Error::Parquet {
        table: "_state/files",
        source,
    };
    let file = std::fs::File::create(path).map_err(Error::io("create", path))?;
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, StateFilesTable::schema(), Some(properties))
            .map_err(error)?;
    for chunk in records.chunks(64 * 1024) {
        let mut rows = StateFilesTable::with_capacity(chunk.len());
        for r in chunk {
            rows.append(r);
        }
        let batch = rows.finish().map_err(|source| Error::Arrow {
            table: "_state/files",
            source,
        })?;
        writer.write(&batch).map_err(error)?;
    }
    writer.close().map_err(error)?;
    Ok(())
}

fn read_records(path: &Path) -> std::result::Result<Vec<FileRecord>, String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        // By name, as declared in `StateFilesTable`, and checked for their type: a damaged
        // state is an error, never a panic.
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("no column `{name}`"))
        };
        let wrong = |name: &str| format!("column `{name}` has an unexpected type");
        let int64 = |name: &str| {
            column(name)?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| wrong(name))
        };
        let paths = column("path")?
            .as_binary_opt::<i32>()
            .ok_or_else(|| wrong("path"))?;
        let sizes = int64("size_bytes")?;
        let modified = int64("modified_ns")?;
        // Absent from states written before buckets were read: no object in them.
        let versions = batch
            .column_by_name("object_version")
            .map(|c| {
                c.as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| wrong("object_version"))
            })
            .transpose()?;
        let hashes = int64("content_xxh3")?;
        let kinds = column("kind")?
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong("kind"))?;
        let ids = int64("session_id")?;
        let updated = column("updated_at")?
            .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()
            .ok_or_else(|| wrong("updated_at"))?;
        let days = column("date")?
            .as_primitive_opt::<Date32Type>()
            .ok_or_else(|| wrong("date"))?;
        let get = |a: &arrow::array::PrimitiveArray<Int64Type>, i: usize| {
            a.is_valid(i).then(|| a.value(i))
        };
        for i in 0..batch.num_rows() {
            let kind = match kinds.is_valid(i).then(|| kinds.value(i)) {
                None => None,
                Some(name) => Some(
                    SessionKind::from_name(name)
                        .ok_or_else(|| format!("row {i}: unknown kind {name:?}"))?,
                ),
            };
            let key = match (kind, get(ids, i)) {
                (Some(kind), Some(id)) => Some((
                    SessionKey { kind, id },
                    updated.is_valid(i).then(|| updated.value(i)),
                )),
                _ => None,
            };
            records.push(FileRecord {
                path: path_from_bytes(paths.value(i)),
                size: u64::try_from(sizes.value(i)).unwrap_or(0),
                modified_ns: get(modified, i),
                version: versions.and_then(|v| get(v, i)).map(|v| v as u64),
                content_hash: get(hashes, i).map(|h| h as u64),
                key,
                day: days
                    .is_valid(i)
                    .then(|| Day::from_days_since_epoch(days.value(i))),
            });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discover(dir: &Path) -> InputFiles {
        crate::discover::discover(&[dir.to_owned()], &Default::default(), &StopFlag::new())
            .unwrap()
            .files
    }

    fn call(id: i64, updated: &str) -> String {
        format!(r#"{{"id": {id}, "call_type": "Voice Outbound", "updated_at": "{updated}"}}"#)
    }

    fn set_mtime(path: &Path, seconds: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
            .unwrap();
    }

    #[test]
    fn unchanged_files_are_not_read_and_rewritten_ones_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = &std::fs::canonicalize(tmp.path()).unwrap();
        for (name, id) in [("a.json", 1), ("b.json", 2), ("c.json", 3), ("d.json", 4)] {
            std::fs::write(dir.join(name), call(id, "2026-03-01T10:00:00Z")).unwrap();
            set_mtime(&dir.join(name), 1_000);
        }
        let first = compare(
            &discover(dir),
            None,
            1 << 20,
            &[],
            &Storage::new(Default::default()),
            &StopFlag::new(),
        )
        .unwrap();
        assert!(first.changes.iter().all(|&c| c == Change::New));
        let state = InputState {
            settings: "s".into(),
            run_id: "r".into(),
            files: first.records,
        };

        // b: same bytes, new mtime. c: new content. d: deleted. e: new.
        set_mtime(&dir.join("b.json"), 2_000);
        // c is now an export of session 33: sessions 3 (before) and 33 (after) are rebuilt.
        std::fs::write(dir.join("c.json"), call(33, "2026-03-02T10:00:00Z")).unwrap();
        std::fs::remove_file(dir.join("d.json")).unwrap();
        std::fs::write(dir.join("e.json"), "{ not json").unwrap();
        // a gets other bytes of the same length and its old mtime back: an unchanged size
        // and mtime must mean the file is not read (the record still says session 1).
        std::fs::write(dir.join("a.json"), call(9, "2026-03-01T10:00:00Z")).unwrap();
        set_mtime(&dir.join("a.json"), 1_000);
        let now = compare(
            &discover(dir),
            Some(&state),
            1 << 20,
            &[],
            &Storage::new(Default::default()),
            &StopFlag::new(),
        )
        .unwrap();
        assert_eq!(
            now.changes,
            [
                Change::Unchanged,
                Change::SameContent,
                Change::Changed,
                Change::New
            ]
        );
        assert_eq!(now.records[0], state.files[0]);
        assert_eq!(now.records[2].key.unwrap().1, Some(1_772_445_600_000_000));
        assert_eq!(now.records[3].key, None);
        assert!(now.records[3].content_hash.is_some());
        assert_eq!(now.deleted.len(), 1);
        assert_eq!(now.deleted[0].path, dir.join("d.json"));

        let rebuild = plan_rebuild(&now, Some(&state));
        let ids: BTreeSet<i64> = rebuild.sessions.iter().map(|k| k.id).collect();
        assert_eq!(ids, BTreeSet::from([3, 4, 33]));
        assert_eq!(now.replaced.len(), 1);
        assert_eq!(now.replaced[0].id, 3);
        assert_eq!(rebuild.files, vec![2, 3], "c (session 33) and e (no key)");
        assert!(rebuild
            .paths
            .contains(&dir.join("d.json").to_string_lossy().into_owned()));
    }

    #[test]
    fn a_rebuilt_session_takes_all_its_exports_and_its_old_days() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = &std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::write(dir.join("a.json"), call(1, "2026-03-01T10:00:00Z")).unwrap();
        std::fs::write(dir.join("z.json"), call(2, "2026-03-01T10:00:00Z")).unwrap();
        let mut first = compare(
            &discover(dir),
            None,
            1 << 20,
            &[],
            &Storage::new(Default::default()),
            &StopFlag::new(),
        )
        .unwrap();
        first.records[0].day = Some(Day::from_days_since_epoch(20_000));
        first.records[1].day = Some(Day::from_days_since_epoch(20_001));
        let state = InputState {
            files: first.records,
            ..InputState::default()
        };
        // A re-export of session 1 arrives.
        std::fs::write(dir.join("b.json"), call(1, "2026-03-01T11:00:00Z")).unwrap();
        let now = compare(
            &discover(dir),
            Some(&state),
            1 << 20,
            &[],
            &Storage::new(Default::default()),
            &StopFlag::new(),
        )
        .unwrap();
        let rebuild = plan_rebuild(&now, Some(&state));
        assert_eq!(rebuild.files, vec![0, 1], "a and b, not z");
        assert_eq!(
            rebuild.days,
            BTreeSet::from([Day::from_days_since_epoch(20_000)])
        );
        let (key, updated_at) = now.records[1].key.unwrap();
        let produced = [Produced {
            file: 1,
            key,
            updated_at,
            day: Day::from_days_since_epoch(20_005),
        }];
        let next = next_state(now, &rebuild, &produced, "s".into(), "r2");
        let by_name: Vec<_> = next.files.iter().map(|r| r.day).collect();
        assert_eq!(
            by_name,
            [20_005, 20_005, 20_001].map(|d| Some(Day::from_days_since_epoch(d)))
        );
    }

    #[test]
    fn a_file_is_recorded_under_the_session_it_produced() {
        let tmp = tempfile::tempdir().unwrap();
        // Still being written when compared: no key yet.
        std::fs::write(tmp.path().join("a.json"), "{").unwrap();
        let now = compare(
            &discover(tmp.path()),
            None,
            1 << 20,
            &[],
            &Storage::new(Default::default()),
            &StopFlag::new(),
        )
        .unwrap();
        assert_eq!(now.records[0].key, None);
        let rebuild = plan_rebuild(&now, None);
        let key = SessionKey {
            kind: SessionKind::Call,
            id: 7,
        };
        let produced = [Produced {
            file: 0,
            key,
            updated_at: Some(1),
            day: Day::from_days_since_epoch(3),
        }];
        let next = next_state(now, &rebuild, &produced, "s".into(), "r");
        assert_eq!(next.files[0].key, Some((key, Some(1))));
        assert_eq!(next.files[0].day, Some(Day::from_days_since_epoch(3)));
    }

    #[test]
    fn the_state_round_trips_through_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let state = InputState {
            settings: "fingerprint".into(),
            run_id: "20261130T000000Z-1".into(),
            files: vec![
                FileRecord {
                    path: PathBuf::from("in/2026/03/01/call-1.json"),
                    size: 10,
                    modified_ns: Some(1_700_000_000_123_456_789),
                    version: None,
                    content_hash: Some(u64::MAX - 1),
                    key: Some((
                        SessionKey {
                            kind: SessionKind::Chat,
                            id: 1,
                        },
                        Some(5),
                    )),
                    day: Some(Day::from_days_since_epoch(20_512)),
                },
                FileRecord {
                    path: PathBuf::from("in/bad.json"),
                    size: 0,
                    modified_ns: None,
                    version: None,
                    content_hash: None,
                    key: None,
                    day: None,
                },
            ],
        };
        assert!(matches!(
            InputState::load(tmp.path()).unwrap(),
            Loaded::FromScratch(FullReason::NoState)
        ));
        state.write(tmp.path()).unwrap();
        let Loaded::State(loaded) = InputState::load(tmp.path()).unwrap() else {
            panic!("no state loaded");
        };
        assert_eq!(loaded.files, state.files);
        assert_eq!(loaded.settings, "fingerprint");

        std::fs::write(tmp.path().join(STATE_DIR).join(FILES_TABLE), "garbage").unwrap();
        let err = InputState::load(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("files.parquet"), "{err}");
    }
}
