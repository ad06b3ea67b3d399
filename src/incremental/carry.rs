//! Incremental runs keep the previous output's rows of every session they do not rebuild.
//!
//! A date partition without rows of a rebuilt session keeps its files: they are hard-linked
//! into the new output, neither read nor rewritten. A partition that has such rows is read
//! back and written again without them, and the rebuilt rows are added by the run itself,
//! wherever their day now is. The `rejects` table, small and not partitioned, is always
//! rewritten without the rows of files processed again or deleted.
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

use crate::publish::parquet_rows;
use crate::shared::error::{Error, Result};
use crate::shared::stop::StopFlag;
use crate::shared::vocab::{Day, SessionKey, SessionKind};
use crate::write::partition;
use crate::write::{Sink, TableId};

/// What to keep of a previous output.
#[derive(Debug)]
pub struct CarryOver<'a> {
    /// The previous output folder.
    pub previous: &'a Path,
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
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Carried {
    /// Files hard-linked unchanged.
    pub files_kept: u64,
    /// Files read back and written again without the rebuilt sessions' rows.
    pub files_rewritten: u64,
}

impl Sink {
    /// Adds to this sink every row of `carry.previous` that the run does not rebuild.
    pub fn carry_over(&mut self, carry: &CarryOver<'_>) -> Result<Carried> {
        let mut carried = Carried::default();
        for &id in TableId::ALL {
            let table = id.name();
            let dir = carry.previous.join(table);
            if !dir.is_dir() {
                continue;
            }
            let rejects = id == TableId::Rejects;
            for (partition, files) in partition_files(&dir)? {
                let rewrite = rejects
                    || match partition {
                        Some(day) => carry.rewrite_days.contains(&day),
                        None => !carry.drop_sessions.is_empty(),
                    };
                for file in files {
                    if carry.stop.is_raised() {
                        return Err(Error::Interrupted);
                    }
                    let rows = parquet_rows(&file)?;
                    if rows == 0 {
                        // An empty table's placeholder: the new run makes its own if needed.
                        continue;
                    }
                    if !rewrite {
                        self.adopt(id, partition, &file, rows as u64)?;
                        carried.files_kept += 1;
                        continue;
                    }
                    carried.files_rewritten += 1;
                    for batch in read_batches(&file)? {
                        let batch = batch?;
                        let keep = if rejects {
                            rows_of_other_files(&batch, carry.drop_paths)
                        } else {
                            rows_of_other_sessions(&batch, carry.drop_sessions)
                        }
                        .map_err(|message| Error::State {
                            path: file.clone(),
                            message,
                        })?;
                        let kept = filter_record_batch(&batch, &keep)
                            .map_err(|source| Error::Arrow { table, source })?;
                        self.write_kept(id, partition, &kept)?;
                    }
                }
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
