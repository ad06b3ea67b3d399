//! Parquet files for one table: settings chosen for BI readers, files rolled at a row limit,
//! and every table written even when empty so readers can always discover its schema.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sink::columns::ColumnDoc;
use crate::sink::partition::{Day, DayRuns, PartitionBy};

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
}

impl Default for ParquetSettings {
    fn default() -> Self {
        ParquetSettings {
            codec: Codec::Zstd,
            zstd_level: 3,
            row_group_rows: 1_000_000,
            row_group_bytes: 128 << 20,
            max_rows_per_file: 10_000_000,
            timestamp_unit: TimestampUnit::Micros,
            partition_by: PartitionBy::Date,
        }
    }
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
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(self.row_group_bytes.max(1 << 20)))
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

/// Open files per table that may hold an unfinished row group; the least recently written
/// one's row group is written out first. Each unfinished row group holds a compressor and
/// buffers per column (about 3 MB per file with zstd), so this bounds memory. Inputs in dated
/// folders touch two or three UTC days at a time, so a day's file still gets one row group.
pub const MAX_BUFFERED_ROW_GROUPS_PER_TABLE: usize = 4;

/// One open Parquet file of a table: the whole table, or one date partition of it.
struct OpenFile {
    partition: Option<Day>,
    writer: ArrowWriter<File>,
    rows: usize,
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
    max_rows_per_file: usize,
    partition_by: PartitionBy,
    /// Timestamp columns are cast from the builders' microseconds to milliseconds.
    to_millis: bool,
    open: Vec<OpenFile>,
    /// Files started so far in each partition (`None`: the table folder itself).
    files_started: BTreeMap<Option<Day>, usize>,
    writes: u64,
    rows: u64,
}

impl TableWriter {
    /// Prepares a writer; the folder is created now, files on the first batch.
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
            max_rows_per_file: settings.max_rows_per_file.max(1),
            partition_by: settings.partition_by,
            open: Vec::new(),
            files_started: BTreeMap::new(),
            writes: 0,
            rows: 0,
        })
    }

    fn parquet(&self) -> impl FnOnce(parquet::errors::ParquetError) -> Error {
        let table = self.table;
        move |source| Error::Parquet { table, source }
    }

    /// The table this writer writes.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The date partitions this writer has written to so far.
    pub fn partitions(&self) -> impl Iterator<Item = Day> + '_ {
        self.files_started.keys().filter_map(|p| *p)
    }

    /// Appends a batch. `days` says which session day each row belongs to; without it (the
    /// rejects table) or with `--partition-by none`, rows go to the table folder itself.
    pub fn write(&mut self, batch: &RecordBatch, days: Option<&DayRuns>) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let cast;
        let batch = if self.to_millis {
            cast = to_schema(batch, &self.schema).map_err(|source| Error::Arrow {
                table: self.table,
                source,
            })?;
            &cast
        } else {
            batch
        };
        match days.filter(|_| self.partition_by == PartitionBy::Date) {
            None => self.write_to(None, batch),
            Some(days) => {
                for (day, ranges) in days.by_day() {
                    let slices: Vec<RecordBatch> = ranges
                        .iter()
                        .map(|r| batch.slice(r.start, r.end - r.start))
                        .collect();
                    let rows = match slices.as_slice() {
                        [one] => one.clone(),
                        many => {
                            concat_batches(&self.schema, many).map_err(|source| Error::Arrow {
                                table: self.table,
                                source,
                            })?
                        }
                    };
                    self.write_to(Some(day), &rows)?;
                }
                Ok(())
            }
        }
    }

    /// Appends rows to the open file of `partition`, starting one when there is none or the
    /// current one is full.
    fn write_to(&mut self, partition: Option<Day>, batch: &RecordBatch) -> Result<()> {
        self.writes += 1;
        let position = self.open.iter().position(|f| f.partition == partition);
        let index = match position {
            Some(i) if self.open[i].rows < self.max_rows_per_file => i,
            Some(i) => {
                self.finish_file(i)?;
                self.start_file(partition)?
            }
            None => self.start_file(partition)?,
        };
        let to_parquet = self.parquet();
        let file = &mut self.open[index];
        file.writer.write(batch).map_err(to_parquet)?;
        file.rows += batch.num_rows();
        file.last_write = self.writes;
        self.rows += batch.num_rows() as u64;
        self.limit_buffered_row_groups()
    }

    /// Writes out the row groups of the least recently written files until at most
    /// [`MAX_BUFFERED_ROW_GROUPS_PER_TABLE`] remain in memory.
    fn limit_buffered_row_groups(&mut self) -> Result<()> {
        loop {
            let buffered = self.open.iter().filter(|f| f.writer.in_progress_rows() > 0);
            if buffered.clone().count() <= MAX_BUFFERED_ROW_GROUPS_PER_TABLE {
                return Ok(());
            }
            let Some(oldest) = buffered.min_by_key(|f| f.last_write).map(|f| f.partition) else {
                return Ok(());
            };
            let to_parquet = self.parquet();
            if let Some(file) = self.open.iter_mut().find(|f| f.partition == oldest) {
                file.writer.flush().map_err(to_parquet)?;
            }
        }
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
        let dir = match partition {
            Some(day) => {
                let dir = self.dir.join(day.folder());
                std::fs::create_dir_all(&dir)
                    .map_err(Error::io("create partition folder", &dir))?;
                dir
            }
            None => self.dir.clone(),
        };
        let started = self.files_started.entry(partition).or_default();
        let path = dir.join(format!("{}-{:05}.parquet", self.file_prefix, *started));
        *started += 1;
        let file = File::create(&path).map_err(Error::io("create", &path))?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))
            .map_err(self.parquet())?;
        self.open.push(OpenFile {
            partition,
            writer,
            rows: 0,
            last_write: self.writes,
        });
        Ok(self.open.len() - 1)
    }

    /// Writes the footer of an open file and closes it. Durability comes later, in one step
    /// for the whole output before it is published ([`crate::sink::Staging::publish`]):
    /// one `fsync` per file costs seconds when a run writes thousands of partition files.
    fn finish_file(&mut self, index: usize) -> Result<()> {
        let OpenFile { writer, .. } = self.open.swap_remove(index);
        writer.close().map_err(self.parquet())?;
        Ok(())
    }

    /// Finishes every open file (writing an empty one in the table folder if the table has
    /// no rows, so readers can discover its schema) and returns the number of rows written.
    pub fn close(mut self) -> Result<u64> {
        if self.files_started.is_empty() {
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
        Day::of(Instant {
            micros: n * 86_400_000_000,
            offset_minutes: 0,
        })
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

    #[test]
    fn rows_land_in_their_day_with_open_files_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let settings = ParquetSettings {
            max_rows_per_file: 3,
            ..ParquetSettings::default()
        };
        let mut writer = int_writer(tmp.path(), "t", &settings);
        // Rows of 20 days, each day's rows spread over two batches: more days than open files.
        let days = (MAX_OPEN_FILES_PER_TABLE + 4) as i64;
        for round in 0..2 {
            let values: Vec<i64> = (0..days)
                .flat_map(|d| [d * 10 + round * 2, d * 10 + round * 2 + 1])
                .collect();
            let mut runs = DayRuns::default();
            for d in 0..days {
                runs.extend_to(day(d), (d as usize + 1) * 2);
            }
            writer.write(&int_batch(values), Some(&runs)).unwrap();
            assert!(writer.open.len() <= MAX_OPEN_FILES_PER_TABLE);
            let buffered = writer
                .open
                .iter()
                .filter(|f| f.writer.in_progress_rows() > 0);
            assert!(buffered.count() <= MAX_BUFFERED_ROW_GROUPS_PER_TABLE);
        }
        assert_eq!(writer.close().unwrap(), days as u64 * 4);

        let files = read_back(&tmp.path().join("t"));
        for d in 0..days {
            let folder = day(d).folder();
            let mine: Vec<i64> = files
                .iter()
                .filter(|(f, _)| *f == folder)
                .flat_map(|(_, v)| v.clone())
                .collect();
            let mut sorted = mine.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                vec![d * 10, d * 10 + 1, d * 10 + 2, d * 10 + 3],
                "{folder}"
            );
        }
        assert!(
            files.iter().all(|(_, v)| v.len() <= 3),
            "max_rows_per_file holds per partition"
        );
        assert!(
            files.len() > days as usize,
            "evicted days start a second file"
        );
    }

    #[test]
    fn an_empty_table_still_has_one_file_in_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let writer = int_writer(tmp.path(), "t", &ParquetSettings::default());
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
            ..ParquetSettings::default()
        };
        let mut a = int_writer(tmp.path(), "a", &flat);
        a.write(&batch, Some(&runs)).unwrap();
        a.close().unwrap();
        let mut b = int_writer(tmp.path(), "b", &ParquetSettings::default());
        b.write(&batch, None).unwrap();
        b.close().unwrap();
        for t in ["a", "b"] {
            assert_eq!(
                read_back(&tmp.path().join(t)),
                vec![(t.to_owned(), vec![1, 2])]
            );
        }
    }
}
