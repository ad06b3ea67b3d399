//! Parquet files for one table: settings chosen for BI readers, files rolled at a row limit,
//! and every table written even when empty so readers can always discover its schema.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sink::columns::ColumnDoc;

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

/// How tables are encoded.
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

/// Writes one table's batches into `dir` as `<prefix>-<n>.parquet` files.
pub struct TableWriter {
    table: &'static str,
    dir: PathBuf,
    file_prefix: String,
    schema: SchemaRef,
    properties: WriterProperties,
    max_rows_per_file: usize,
    /// Timestamp columns are cast from the builders' microseconds to milliseconds.
    to_millis: bool,
    current: Option<ArrowWriter<File>>,
    rows_in_file: usize,
    files: Vec<PathBuf>,
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
            current: None,
            rows_in_file: 0,
            files: Vec::new(),
            rows: 0,
        })
    }

    fn parquet(&self) -> impl FnOnce(parquet::errors::ParquetError) -> Error {
        let table = self.table;
        move |source| Error::Parquet { table, source }
    }

    fn open_next(&mut self) -> Result<&mut ArrowWriter<File>> {
        self.close_current()?;
        let path = self.dir.join(format!(
            "{}-{:05}.parquet",
            self.file_prefix,
            self.files.len()
        ));
        let file = File::create(&path).map_err(Error::io("create", &path))?;
        let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))
            .map_err(self.parquet())?;
        self.files.push(path);
        self.rows_in_file = 0;
        Ok(self.current.insert(writer))
    }

    /// The table this writer writes.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Appends a batch, starting a new file when the current one is full.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.current.is_none() || self.rows_in_file >= self.max_rows_per_file {
            self.open_next()?;
        }
        let to_parquet = self.parquet();
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
        let writer = self
            .current
            .as_mut()
            .ok_or_else(|| Error::Worker("table writer lost its file".into()))?;
        writer.write(batch).map_err(to_parquet)?;
        self.rows_in_file += batch.num_rows();
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(writer) = self.current.take() {
            let to_parquet = self.parquet();
            let file = writer.into_inner().map_err(to_parquet)?;
            let path = self.files.last().cloned().unwrap_or_default();
            file.sync_all().map_err(Error::io("sync", path))?;
        }
        Ok(())
    }

    /// Finishes the last file (writing an empty one if the table has no rows) and returns
    /// the number of rows written.
    pub fn close(mut self) -> Result<u64> {
        if self.files.is_empty() {
            self.open_next()?;
        }
        self.close_current()?;
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
