//! Parquet files for one table: settings chosen for BI readers, files rolled at a row limit,
//! and every table written even when empty so readers can always discover its schema.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::shared::error::{Error, Result};
use crate::shared::vocab::Day;
use crate::write::columns::ColumnDoc;
use crate::write::partition::{self, DayRuns, PartitionBy};

/// Parquet compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// zstd (default): the best size for BI scans at a small CPU cost.
    Zstd,
    /// snappy: faster, larger.
    Snappy,
    /// No compression.
    None,
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Codec::Zstd => "zstd",
            Codec::Snappy => "snappy",
            Codec::None => "none",
        })
    }
}

impl std::str::FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Codec, String> {
        match s.to_ascii_lowercase().as_str() {
            "zstd" => Ok(Codec::Zstd),
            "snappy" => Ok(Codec::Snappy),
            "none" | "uncompressed" => Ok(Codec::None),
            other => Err(format!(
                "unknown compression {other:?} (expected zstd, snappy or none)"
            )),
        }
    }
}

/// The unit of timestamp columns in the Parquet files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimestampUnit {
    /// Microseconds (default): the precision of the exports' fractional seconds.
    #[default]
    Micros,
    /// Milliseconds, for engines that read only those (Athena/Glue, older Hive); finer digits
    /// are truncated.
    Millis,
}

impl std::fmt::Display for TimestampUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimestampUnit::Micros => "micros",
            TimestampUnit::Millis => "millis",
        })
    }
}

impl std::str::FromStr for TimestampUnit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<TimestampUnit, String> {
        match s.to_ascii_lowercase().as_str() {
            "micros" | "us" => Ok(TimestampUnit::Micros),
            "millis" | "ms" => Ok(TimestampUnit::Millis),
            other => Err(format!(
                "unknown timestamp unit {other:?} (expected micros or millis)"
            )),
        }
    }
}

/// How tables are encoded and laid out.
#[derive(Debug, Clone, Serialize)]
pub struct ParquetSettings {
    /// Codec.
    pub codec: Codec,
    /// zstd level (1–22).
    pub zstd_level: i32,
    /// Rows per row group (a row group also closes at `row_group_bytes`).
    pub row_group_rows: usize,
    /// Approximate encoded bytes per row group.
    pub row_group_bytes: usize,
    /// Rows per file before a new file is started.
    pub max_rows_per_file: usize,
    /// Unit of timestamp columns.
    pub timestamp_unit: TimestampUnit,
    /// Folder layout of the session tables.
    pub partition_by: PartitionBy,
    /// Memory for rows waiting for their row group, over all tables (Arrow bytes); above it
    /// the largest waiting partition is written. Bounds memory however many days a run spans.
    pub buffer_bytes: usize,
}

impl ParquetSettings {
    /// Writer properties for a table: dictionary encoding only on its low-cardinality text
    /// columns, page statistics, data page v1 (accepted by every reader we know).
    pub fn properties(&self, columns: &[ColumnDoc]) -> Result<WriterProperties> {
        let compression = match self.codec {
            Codec::Zstd => Compression::ZSTD(
                ZstdLevel::try_new(self.zstd_level)
                    .map_err(|e| Error::Config(format!("zstd_level: {e}")))?,
            ),
            Codec::Snappy => Compression::SNAPPY,
            Codec::None => Compression::UNCOMPRESSED,
        };
        let mut builder = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(compression)
            .set_statistics_enabled(EnabledStatistics::Page)
            // Both are checked when the settings are resolved (`config.rs`).
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_max_row_group_bytes(Some(self.row_group_bytes))
            .set_dictionary_enabled(false)
            .set_created_by(format!("session-etl {}", env!("CARGO_PKG_VERSION")));
        for column in columns.iter().filter(|c| c.dictionary) {
            builder = builder.set_column_dictionary_enabled(ColumnPath::from(column.name), true);
        }
        Ok(builder.build())
    }
}

/// Open files per table at most; the least recently written one is finished first. Keeps file
/// descriptors bounded when a run spans many days.
pub const MAX_OPEN_FILES_PER_TABLE: usize = 16;

/// One open Parquet file of a table: the whole table, or one date partition of it.
struct OpenFile {
    partition: Option<Day>,
    writer: ArrowWriter<File>,
    rows: usize,
    last_write: u64,
}

/// Rows of one partition waiting, as Arrow batches, to be written as one row group: when they
/// reach `row_group_rows`, when the sink's memory budget is exceeded (least recently written
/// first, over all tables: in dated input, a day that is complete), or at the end of the run.
/// Memory is thus bounded by the budget, not by the number of days a run spans.
///
/// Rows wait as Arrow data rather than in an open Parquet row group because an unfinished
/// row group costs far more than its rows: the parquet crate gives each column writer its own
/// zstd compressor *and* decompressor (about 160 KB each), measured at 109 MB of a 228 MB heap
/// with four unfinished row groups per table.
struct Pending {
    partition: Option<Day>,
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
    last_write: u64,
}

/// Writes one table's batches as `<prefix>-<n>.parquet` files, under `<table>/` or, for
/// partitioned tables, under `<table>/date=YYYY-MM-DD/`.
pub struct TableWriter {
    table: &'static str,
    dir: PathBuf,
    file_prefix: String,
    schema: SchemaRef,
    properties: WriterProperties,
    row_group_rows: usize,
    max_rows_per_file: usize,
    partition_by: PartitionBy,
    /// Timestamp columns are cast from the builders' microseconds to milliseconds.
    to_millis: bool,
    pending: Vec<Pending>,
    open: Vec<OpenFile>,
    /// Files started so far in each partition (`None`: the table folder itself).
    files_started: BTreeMap<Option<Day>, usize>,
    /// Partitions holding files kept from the previous output (incremental runs).
    adopted: std::collections::BTreeSet<Option<Day>>,
    /// The sink's write sequence number of the latest write: comparable across tables.
    clock: u64,
    rows: u64,
}

impl TableWriter {
    /// Prepares a writer; the folder is created now, files when rows are written.
    pub fn new(
        table: &'static str,
        dir: &Path,
        file_prefix: &str,
        schema: SchemaRef,
        columns: &[ColumnDoc],
        settings: &ParquetSettings,
    ) -> Result<Self> {
        let dir = dir.join(table);
        std::fs::create_dir_all(&dir).map_err(Error::io("create table folder", &dir))?;
        let to_millis = settings.timestamp_unit == TimestampUnit::Millis;
        let schema = if to_millis {
            millis_schema(&schema)
        } else {
            schema
        };
        Ok(TableWriter {
            table,
            dir,
            file_prefix: file_prefix.to_owned(),
            schema,
            to_millis,
            properties: settings.properties(columns)?,
            row_group_rows: settings.row_group_rows.max(1),
            max_rows_per_file: settings.max_rows_per_file.max(1),
            partition_by: settings.partition_by,
            pending: Vec::new(),
            open: Vec::new(),
            files_started: BTreeMap::new(),
            adopted: Default::default(),
            clock: 0,
            rows: 0,
        })
    }

    fn parquet(&self) -> impl FnOnce(parquet::errors::ParquetError) -> Error {
        let table = self.table;
        move |source| Error::Parquet { table, source }
    }

    fn arrow(&self) -> impl FnOnce(arrow::error::ArrowError) -> Error {
        let table = self.table;
        move |source| Error::Arrow { table, source }
    }

    /// The table this writer writes.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The date partitions this writer has rows for, written or waiting.
    pub fn partitions(&self) -> impl Iterator<Item = Day> + '_ {
        let waiting = self.pending.iter().map(|p| p.partition);
        let adopted = self.adopted.iter().copied();
        self.files_started
            .keys()
            .copied()
            .chain(waiting)
            .chain(adopted)
            .flatten()
    }

    /// Approximate memory held by rows waiting for their row group.
    pub fn pending_bytes(&self) -> usize {
        self.pending.iter().map(|p| p.bytes).sum()
    }

    /// Appends a batch. `days` says which session day each row belongs to; without it (the
    /// rejects table) or with `--partition-by none`, rows go to the table folder itself.
    /// `clock` orders writes over all tables (it only grows).
    pub fn write(&mut self, batch: &RecordBatch, days: Option<&DayRuns>, clock: u64) -> Result<()> {
        self.clock = clock;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = if self.to_millis {
            to_schema(batch, &self.schema).map_err(self.arrow())?
        } else {
            batch.clone()
        };
        let by_day = match days.filter(|_| self.partition_by == PartitionBy::Date) {
            // Never drop rows silently: a mismatch is a bug in whoever counted the days.
            Some(days) if days.rows() != batch.num_rows() => {
                return Err(Error::Internal(format!(
                    "{}: {} rows but days recorded for {}",
                    self.table,
                    batch.num_rows(),
                    days.rows()
                )))
            }
            Some(days) => days.by_day(),
            None => return self.buffer(None, batch),
        };
        if by_day.len() == 1 {
            let day = by_day.keys().next().copied();
            return self.buffer(day, batch);
        }
        // Each day's rows are copied out, so a day that waits long does not keep the whole
        // chunk's arrays alive.
        for (day, ranges) in by_day {
            let mut mask = vec![false; batch.num_rows()];
            for range in ranges {
                mask[range].fill(true);
            }
            let rows =
                filter_record_batch(&batch, &BooleanArray::from(mask)).map_err(self.arrow())?;
            self.buffer(Some(day), rows)?;
        }
        Ok(())
    }

    /// Appends rows of `partition` read back from a previous output of the same settings
    /// (incremental runs): no day bookkeeping, and the rows keep the schema they were written
    /// with.
    pub fn write_partition(
        &mut self,
        partition: Option<Day>,
        batch: &RecordBatch,
        clock: u64,
    ) -> Result<()> {
        self.clock = clock;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        // Same types; only the schema object (field metadata) is made the writer's own.
        let batch = to_schema(batch, &self.schema).map_err(self.arrow())?;
        self.buffer(partition, batch)
    }

    /// The folder of `partition`: `<table>/date=YYYY-MM-DD/`, or the table folder itself.
    fn partition_dir(&self, partition: Option<Day>) -> PathBuf {
        match partition {
            Some(day) => self.dir.join(partition::folder(day)),
            None => self.dir.clone(),
        }
    }

    /// Keeps a file of the previous output (incremental runs): it is hard-linked (or copied)
    /// into `partition` under its own name, which holds another run's id and so never
    /// collides with this run's files.
    pub fn adopt(&mut self, partition: Option<Day>, file: &Path, rows: u64) -> Result<()> {
        let name = file
            .file_name()
            .ok_or_else(|| Error::Internal(format!("{}: no file name", file.display())))?;
        // place_file creates the folder.
        crate::publish::place_file(file, &self.partition_dir(partition).join(name))?;
        self.count_kept(partition, rows);
        Ok(())
    }

    /// Counts a file of the previous output that stays where it is (a bucket output's
    /// object, listed again by the new manifest): its rows are the table's, and its partition
    /// needs no placeholder file.
    pub fn count_kept(&mut self, partition: Option<Day>, rows: u64) {
        self.adopted.insert(partition);
        self.rows += rows;
    }

    /// Queues rows of `partition`, writing its row group once it has `row_group_rows` rows.
    fn buffer(&mut self, partition: Option<Day>, batch: RecordBatch) -> Result<()> {
        let index = match self.pending.iter().position(|p| p.partition == partition) {
            Some(i) => i,
            None => {
                self.pending.push(Pending {
                    partition,
                    batches: Vec::new(),
                    rows: 0,
                    bytes: 0,
                    last_write: 0,
                });
                self.pending.len() - 1
            }
        };
        let pending = &mut self.pending[index];
        pending.rows += batch.num_rows();
        pending.bytes += batch.get_array_memory_size();
        pending.last_write = self.clock;
        pending.batches.push(batch);
        if pending.rows >= self.row_group_rows {
            let full = self.pending.swap_remove(index);
            self.write_row_group(full)?;
        }
        Ok(())
    }

    /// The clock of the least recently written waiting partition, if any.
    pub fn oldest_pending(&self) -> Option<u64> {
        self.pending.iter().map(|p| p.last_write).min()
    }

    /// Writes the least recently written waiting partition as a row group (the sink calls
    /// this when all tables together hold more than their memory budget).
    pub fn write_oldest_pending(&mut self) -> Result<()> {
        let oldest = (0..self.pending.len()).min_by_key(|&i| self.pending[i].last_write);
        match oldest {
            Some(i) => {
                let oldest = self.pending.swap_remove(i);
                self.write_row_group(oldest)
            }
            None => Ok(()),
        }
    }

    /// Writes waiting rows as one row group of their partition's open file, starting a file
    /// when there is none or the current one is full.
    fn write_row_group(&mut self, pending: Pending) -> Result<()> {
        let Pending {
            partition,
            batches,
            rows,
            ..
        } = pending;
        let position = self.open.iter().position(|f| f.partition == partition);
        let file = match position {
            Some(i) if self.open[i].rows < self.max_rows_per_file => i,
            Some(i) => {
                self.finish_file(i)?;
                self.start_file(partition)?
            }
            None => self.start_file(partition)?,
        };
        let to_parquet = self.parquet();
        let file = &mut self.open[file];
        batches
            .iter()
            .try_for_each(|b| file.writer.write(b))
            .and_then(|()| file.writer.flush())
            .map_err(to_parquet)?;
        file.rows += rows;
        file.last_write = self.clock;
        self.rows += rows as u64;
        Ok(())
    }

    /// Starts the next file of `partition` (finishing the least recently written open file
    /// if too many are open) and returns its index in `self.open`.
    fn start_file(&mut self, partition: Option<Day>) -> Result<usize> {
        if self.open.len() >= MAX_OPEN_FILES_PER_TABLE {
            let oldest = (0..self.open.len())
                .min_by_key(|&i| self.open[i].last_write)
                .unwrap_or(0);
            self.finish_file(oldest)?;
        }
        let dir = self.partition_dir(partition);
        if partition.is_some() {
            std::fs::create_dir_all(&dir).map_err(Error::io("create partition folder", &dir))?;
        }
        let started = self.files_started.entry(partition).or_default();
        let path = dir.join(format!("{}-{:05}.parquet", self.file_prefix, *started));
        *started += 1;
        // Never truncate an existing file: in an incremental run it may be a hard link to a
        // published file (two runs with one id, however unlikely, must fail, not corrupt).
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(Error::io("create", &path))?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))
            .map_err(self.parquet())?;
        self.open.push(OpenFile {
            partition,
            writer,
            rows: 0,
            last_write: self.clock,
        });
        Ok(self.open.len() - 1)
    }

    /// Writes the footer of an open file and closes it. Durability comes later, in one step
    /// for the whole output before it is published ([`crate::write::Staging::publish`]):
    /// one `fsync` per file costs seconds when a run writes thousands of partition files.
    fn finish_file(&mut self, index: usize) -> Result<()> {
        let OpenFile { writer, .. } = self.open.swap_remove(index);
        writer.close().map_err(self.parquet())?;
        Ok(())
    }

    /// Writes every waiting row group, finishes every open file (writing an empty one in the
    /// table folder if the table has no rows, so readers can discover its schema) and returns
    /// the number of rows written.
    pub fn close(mut self) -> Result<u64> {
        // Partitions in order, so the last row groups land the same way on every run.
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|p| p.partition);
        for p in pending {
            self.write_row_group(p)?;
        }
        if self.files_started.is_empty() && self.adopted.is_empty() {
            self.start_file(None)?;
        }
        while !self.open.is_empty() {
            self.finish_file(self.open.len() - 1)?;
        }
        Ok(self.rows)
    }
}

/// `schema` with every microsecond timestamp column turned into milliseconds (same zone,
/// nullability and metadata).
fn millis_schema(schema: &SchemaRef) -> SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, tz) => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(TimeUnit::Millisecond, tz.clone())),
            _ => f.as_ref().clone(),
        })
        .collect();
    std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Casts the columns of `batch` whose type differs from `schema`'s (the timestamp columns).
fn to_schema(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                arrow::compute::cast(column, field.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::normalize::Instant;

    fn day(n: i64) -> Day {
        Instant {
            micros: n * 86_400_000_000,
            offset_minutes: 0,
        }
        .day()
    }

    /// A writer of table `table` with one int64 column `v`.
    fn int_writer(dir: &Path, table: &'static str, settings: &ParquetSettings) -> TableWriter {
        TableWriter::new(table, dir, "run", int_schema(), &[], settings).unwrap()
    }

    fn int_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]))
    }

    fn int_batch(values: Vec<i64>) -> RecordBatch {
        RecordBatch::try_new(int_schema(), vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    /// Every file under `dir` → (partition folder, values of column `v`).
    fn read_back(dir: &Path) -> Vec<(String, Vec<i64>)> {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let folder = entry.path().parent().unwrap().file_name().unwrap();
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(File::open(entry.path()).unwrap())
                    .unwrap()
                    .build()
                    .unwrap();
            let values = reader
                .flat_map(|b| {
                    b.unwrap()
                        .column(0)
                        .as_primitive::<Int64Type>()
                        .values()
                        .to_vec()
                })
                .collect();
            files.push((folder.to_string_lossy().into_owned(), values));
        }
        files
    }

    /// Two batches, each with rows `d*10 + round*2 + {0, 1}` of every day `d` in `0..days`.
    fn write_two_rounds(writer: &mut TableWriter, days: i64) {
        for round in 0..2 {
            let values: Vec<i64> = (0..days)
                .flat_map(|d| [d * 10 + round * 2, d * 10 + round * 2 + 1])
                .collect();
            let mut runs = DayRuns::default();
            for d in 0..days {
                runs.extend_to(day(d), (d as usize + 1) * 2);
            }
            writer
                .write(&int_batch(values), Some(&runs), round as u64)
                .unwrap();
            assert!(writer.open.len() <= MAX_OPEN_FILES_PER_TABLE);
        }
    }

    fn row_groups(dir: &Path) -> Vec<usize> {
        walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let file = File::open(e.path()).unwrap();
                let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
                reader.metadata().num_row_groups()
            })
            .collect()
    }

    #[test]
    fn rows_wait_so_each_day_gets_one_file_with_one_row_group() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = int_writer(
            tmp.path(),
            "t",
            &crate::settings::Settings::default().parquet(),
        );
        let days = (MAX_OPEN_FILES_PER_TABLE + 4) as i64;
        write_two_rounds(&mut writer, days);
        assert!(writer.pending_bytes() > 0, "rows wait until the end");
        assert_eq!(writer.close().unwrap(), days as u64 * 4);
        let files = read_back(&tmp.path().join("t"));
        assert_eq!(files.len(), days as usize);
        for (d, (folder, values)) in files.iter().enumerate() {
            let d = d as i64;
            assert_eq!(*folder, partition::folder(day(d)));
            assert_eq!(*values, vec![d * 10, d * 10 + 1, d * 10 + 2, d * 10 + 3]);
        }
        assert!(row_groups(&tmp.path().join("t")).iter().all(|&n| n == 1));
    }

    #[test]
    fn full_row_groups_are_written_and_files_roll_over_with_open_files_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let settings = ParquetSettings {
            row_group_rows: 2,
            max_rows_per_file: 2,
            ..crate::settings::Settings::default().parquet()
        };
        let mut writer = int_writer(tmp.path(), "t", &settings);
        let days = (MAX_OPEN_FILES_PER_TABLE + 4) as i64;
        write_two_rounds(&mut writer, days);
        assert_eq!(
            writer.pending_bytes(),
            0,
            "every day reached row_group_rows"
        );
        assert_eq!(writer.close().unwrap(), days as u64 * 4);
        let files = read_back(&tmp.path().join("t"));
        assert_eq!(
            files.len(),
            days as usize * 2,
            "each day: two files of one row group"
        );
        for d in 0..days {
            let folder = partition::folder(day(d));
            let mine: Vec<i64> = files
                .iter()
                .filter(|(f, _)| *f == folder)
                .flat_map(|(_, v)| v.clone())
                .collect();
            assert_eq!(mine, vec![d * 10, d * 10 + 1, d * 10 + 2, d * 10 + 3]);
        }
        assert!(files.iter().all(|(_, v)| v.len() == 2));
    }

    #[test]
    fn the_least_recently_written_day_is_written_first() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = int_writer(
            tmp.path(),
            "t",
            &crate::settings::Settings::default().parquet(),
        );
        let one_day = |d: i64, rows: usize| {
            let mut runs = DayRuns::default();
            runs.extend_to(day(d), rows);
            runs
        };
        writer
            .write(&int_batch((0..1000).collect()), Some(&one_day(1, 1000)), 1)
            .unwrap();
        writer
            .write(&int_batch(vec![7]), Some(&one_day(2, 1)), 2)
            .unwrap();
        assert_eq!(writer.oldest_pending(), Some(1));
        let before = writer.pending_bytes();
        writer.write_oldest_pending().unwrap();
        assert!(writer.pending_bytes() > 0 && writer.pending_bytes() < before / 10);
        assert_eq!(writer.oldest_pending(), Some(2));
        assert_eq!(
            writer.files_started.keys().collect::<Vec<_>>(),
            vec![&Some(day(1))]
        );
        writer.close().unwrap();
    }

    #[test]
    fn rows_without_a_day_are_an_error_not_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = int_writer(
            tmp.path(),
            "t",
            &crate::settings::Settings::default().parquet(),
        );
        let mut runs = DayRuns::default();
        runs.extend_to(day(1), 1);
        let err = writer
            .write(&int_batch(vec![1, 2]), Some(&runs), 1)
            .unwrap_err();
        assert!(
            err.to_string().contains("2 rows but days recorded for 1"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_table_still_has_one_file_in_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let writer = int_writer(
            tmp.path(),
            "t",
            &crate::settings::Settings::default().parquet(),
        );
        assert_eq!(writer.close().unwrap(), 0);
        assert_eq!(
            read_back(&tmp.path().join("t")),
            vec![("t".to_owned(), vec![])]
        );
    }

    #[test]
    fn without_days_or_with_partition_by_none_rows_stay_flat() {
        let tmp = tempfile::tempdir().unwrap();
        let batch = int_batch(vec![1, 2]);
        let mut runs = DayRuns::default();
        runs.extend_to(day(1), 2);
        let flat = ParquetSettings {
            partition_by: PartitionBy::None,
            ..crate::settings::Settings::default().parquet()
        };
        let mut a = int_writer(tmp.path(), "a", &flat);
        a.write(&batch, Some(&runs), 1).unwrap();
        a.close().unwrap();
        let mut b = int_writer(
            tmp.path(),
            "b",
            &crate::settings::Settings::default().parquet(),
        );
        b.write(&batch, None, 1).unwrap();
        b.close().unwrap();
        for t in ["a", "b"] {
            assert_eq!(
                read_back(&tmp.path().join(t)),
                vec![(t.to_owned(), vec![1, 2])]
            );
        }
    }
}
