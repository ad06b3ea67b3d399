//! Incremental runs keep the previous output's rows of every session they do not rebuild.
//!
//! A date partition without rows of a rebuilt session keeps its files, neither read nor
//! rewritten: a local output's are hard-linked into the new output; a bucket output's stay
//! where they are and the new manifest lists them again (no copy, no request). A partition
//! that has such rows is read back (a bucket output's files are fetched first, see
//! [`CarryOver::files_to_fetch`]) and written again without them, and the rebuilt rows are
//! added by the run itself, wherever their day now is. The `rejects` table, small and not
//! partitioned, is always rewritten without the rows of files processed again or deleted.
//!
//! The previous output was written with the same row-shaping settings (the run checks the
//! state's fingerprint first), so its files have exactly this run's schemas and layout.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::publish::manifest::{Manifest, ManifestFile};
use crate::publish::parquet_rows;
use crate::shared::error::{Error, Result};
use crate::shared::stop::StopFlag;
use crate::shared::vocab::{Day, SessionKey, SessionKind};
use crate::write::partition;
use crate::write::{Sink, TableId};

/// The output an incremental run builds on.
#[derive(Debug, Clone, Copy)]
pub enum Previous<'a> {
    /// A local output folder: kept files are hard-linked into the new output.
    Folder(&'a Path),
    /// The manifest of a bucket output's last commit: kept files stay where they are. The
    /// files of the partitions to rewrite are fetched into `mirror`, at their relative paths.
    Commit {
        manifest: &'a Manifest,
        mirror: &'a Path,
    },
}

/// What to keep of a previous output.
#[derive(Debug)]
pub struct CarryOver<'a> {
    pub previous: Previous<'a>,
    /// Date partitions holding rows of `drop_sessions`: rewritten without them.
    pub rewrite_days: &'a BTreeSet<Day>,
    /// Sessions the run rebuilds: their previous rows are dropped.
    pub drop_sessions: &'a HashSet<SessionKey>,
    /// Files whose previous `rejects` rows are dropped (processed again, or deleted).
    pub drop_paths: &'a HashSet<String>,
    /// Looked at before each file: a stop ends the carry-over with [`Error::Interrupted`].
    pub stop: &'a StopFlag,
}

/// What was kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Carried {
    /// Files kept unchanged.
    pub files_kept: u64,
    /// Files read back and written again without the rebuilt sessions' rows.
    pub files_rewritten: u64,
    /// The kept files that stay where they are (a bucket output's): the new manifest lists
    /// them beside the files of the staging folder.
    pub in_place: Vec<ManifestFile>,
}

/// One Parquet file of the previous output.
struct PreviousFile {
    table: TableId,
    partition: Option<Day>,
    /// Where it is read from when it is rewritten.
    local: PathBuf,
    rows: u64,
    /// The manifest's entry (a bucket output's files only).
    listed: Option<ManifestFile>,
}

impl CarryOver<'_> {
    /// True when the files of `table`'s `partition` are read back and written again.
    fn rewrites(&self, table: TableId, partition: Option<Day>) -> bool {
        table == TableId::Rejects
            || match partition {
                Some(day) => self.rewrite_days.contains(&day),
                None => !self.drop_sessions.is_empty(),
            }
    }

    /// The files of a bucket output that the carry-over reads back: to fetch into the
    /// mirror folder first. None for a local output.
    pub fn files_to_fetch(&self) -> Result<Vec<ManifestFile>> {
        Ok(self
            .previous_files()?
            .into_iter()
            .filter(|f| f.rows > 0 && self.rewrites(f.table, f.partition))
            .filter_map(|f| f.listed)
            .collect())
    }

    /// The previous output's Parquet files, by table and partition, in name order.
    fn previous_files(&self) -> Result<Vec<PreviousFile>> {
        let mut found = Vec::new();
        match self.previous {
            Previous::Folder(output) => {
                for &table in TableId::ALL {
                    let dir = output.join(table.name());
                    if !dir.is_dir() {
                        continue;
                    }
                    for (partition, files) in partition_files(&dir)? {
                        for local in files {
                            found.push(PreviousFile {
                                table,
                                partition,
                                rows: parquet_rows(&local)? as u64,
                                local,
                                listed: None,
                            });
                        }
                    }
                }
            }
            Previous::Commit { manifest, mirror } => {
                let tables: BTreeMap<&str, TableId> =
                    TableId::ALL.iter().map(|&t| (t.name(), t)).collect();
                for file in &manifest.files {
                    let Some(&table) = file.folder().and_then(|f| tables.get(f)) else {
                        continue;
                    };
                    let unexpected = |message: &str| Error::State {
                        path: PathBuf::from(&file.path),
                        message: format!("{message} (in the manifest of the last commit)"),
                    };
                    let inside = &file.path[table.name().len() + 1..];
                    let partition = match inside.split_once('/') {
                        None => None,
                        Some((folder, name)) if !name.contains('/') => Some(
                            partition::day_of_folder(folder)
                                .ok_or_else(|| unexpected("not a date partition"))?,
                        ),
                        Some(_) => return Err(unexpected("nested too deep for a table")),
                    };
                    if !file.path.ends_with(".parquet") {
                        return Err(unexpected("not a Parquet file"));
                    }
                    found.push(PreviousFile {
                        table,
                        partition,
                        local: Manifest::path_in(mirror, file),
                        rows: file.rows.ok_or_else(|| unexpected("no row count"))?,
                        listed: Some(file.clone()),
                    });
                }
                // The order a folder's listing has: tables, then partitions, then names.
                found.sort_by(|a, b| {
                    (a.table.index(), a.partition, &a.local).cmp(&(
                        b.table.index(),
                        b.partition,
                        &b.local,
                    ))
                });
            }
        }
        Ok(found)
    }
}

impl Sink {
    /// Adds to this sink every row of `carry.previous` that the run does not rebuild.
    pub fn carry_over(&mut self, carry: &CarryOver<'_>) -> Result<Carried> {
        let mut carried = Carried::default();
        for file in carry.previous_files()? {
            if carry.stop.is_raised() {
                return Err(Error::Interrupted);
            }
            let PreviousFile {
                table: id,
                partition,
                local,
                rows,
                listed,
            } = file;
            if rows == 0 {
                // An empty table's placeholder: the new run makes its own if needed.
                continue;
            }
            if !carry.rewrites(id, partition) {
                carried.files_kept += 1;
                match listed {
                    Some(listed) => {
                        self.count_kept(id, partition, rows);
                        carried.in_place.push(listed);
                    }
                    None => self.adopt(id, partition, &local, rows)?,
                }
                continue;
            }
            carried.files_rewritten += 1;
            let table = id.name();
            for batch in read_batches(&local)? {
                let batch = batch?;
                let keep = if id == TableId::Rejects {
                    rows_of_other_files(&batch, carry.drop_paths)
                } else {
                    rows_of_other_sessions(&batch, carry.drop_sessions)
                }
                .map_err(|message| Error::State {
                    path: local.clone(),
                    message,
                })?;
                let kept = filter_record_batch(&batch, &keep)
                    .map_err(|source| Error::Arrow { table, source })?;
                self.write_kept(id, partition, &kept)?;
            }
        }
        Ok(carried)
    }
}

/// The Parquet files of a table folder by partition (`None`: the folder itself), in name
/// order. Anything else (a foreign file, a folder that is not `date=YYYY-MM-DD`) is an error:
/// keeping it or dropping it silently would both be wrong.
fn partition_files(dir: &Path) -> Result<BTreeMap<Option<Day>, Vec<PathBuf>>> {
    let mut partitions: BTreeMap<Option<Day>, Vec<PathBuf>> = BTreeMap::new();
    let list = |dir: &Path| -> Result<Vec<std::fs::DirEntry>> {
        let mut entries = std::fs::read_dir(dir)
            .map_err(Error::io("list", dir))?
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(Error::io("list", dir))?;
        entries.sort_by_key(|e| e.file_name());
        Ok(entries)
    };
    let unexpected = |path: PathBuf| Error::State {
        message: "not a file this tool writes in a table folder".into(),
        path,
    };
    for entry in list(dir)? {
        let path = entry.path();
        let is_parquet = path.extension().is_some_and(|x| x == "parquet");
        if path.is_file() && is_parquet {
            partitions.entry(None).or_default().push(path);
            continue;
        }
        let day = partition::day_of_folder(&entry.file_name().to_string_lossy());
        let Some(day) = day.filter(|_| path.is_dir()) else {
            return Err(unexpected(path));
        };
        for file in list(&path)? {
            let file = file.path();
            if !(file.is_file() && file.extension().is_some_and(|x| x == "parquet")) {
                return Err(unexpected(file));
            }
            partitions.entry(Some(day)).or_default().push(file);
        }
    }
    Ok(partitions)
}

fn read_batches(file: &Path) -> Result<impl Iterator<Item = Result<RecordBatch>> + '_> {
    let failed = |source| Error::ReadParquet {
        path: file.to_owned(),
        source,
    };
    let handle = std::fs::File::open(file).map_err(Error::io("open", file))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(handle)
        .and_then(|b| b.build())
        .map_err(failed)?;
    Ok(reader.map(move |batch| {
        batch.map_err(|e| failed(parquet::errors::ParquetError::ArrowError(e.to_string())))
    }))
}

/// True for rows whose `(kind, session_id)` is not in `drop`.
fn rows_of_other_sessions(
    batch: &RecordBatch,
    drop: &HashSet<SessionKey>,
) -> std::result::Result<BooleanArray, String> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| format!("no column `{name}`"))
    };
    let kinds = column("kind")?
        .as_string_opt::<i32>()
        .ok_or("`kind` is not a string column")?;
    let ids = column("session_id")?
        .as_primitive_opt::<Int64Type>()
        .ok_or("`session_id` is not an int64 column")?;
    (0..batch.num_rows())
        .map(|row| {
            let kind = SessionKind::from_name(kinds.value(row))
                .ok_or_else(|| format!("row {row}: unknown kind {:?}", kinds.value(row)))?;
            let key = SessionKey {
                kind,
                id: ids.value(row),
            };
            Ok(Some(!drop.contains(&key)))
        })
        .collect()
}

/// True for rows whose `source_path` is not in `drop`.
fn rows_of_other_files(
    batch: &RecordBatch,
    drop: &HashSet<String>,
) -> std::result::Result<BooleanArray, String> {
    let paths = batch
        .column_by_name("source_path")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or("no string column `source_path`")?;
    Ok((0..batch.num_rows())
        .map(|row| Some(paths.is_null(row) || !drop.contains(paths.value(row))))
        .collect())
}
