//! Run settings: a pipeline file (TOML) a user keeps under version control, with command-line
//! flags layered on top. Relative paths in a pipeline file are relative to the file itself,
//! so a pipeline runs the same from any working directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::derive::ExchangeSettings;
use crate::error::{Error, Result};
use crate::report::ProgressMode;
use crate::sink::{Codec, ParquetSettings, PartitionBy, TimestampUnit};

/// The contents of a pipeline file. Unknown keys are an error: a typo must not silently
/// fall back to a default in a nightly job.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// Input folders and files.
    pub inputs: Option<Vec<PathBuf>>,
    /// Output folder (replaced atomically by each completed run).
    pub output: Option<PathBuf>,
    /// Worker threads; 0 or absent = one per core.
    pub threads: Option<usize>,
    /// `zstd` (default), `snappy` or `none`.
    pub compression: Option<Codec>,
    /// zstd level, 1–22 (default 3).
    pub zstd_level: Option<i32>,
    /// Fail the run (exit 3, nothing published) when more than this fraction of files is rejected.
    pub max_reject_rate: Option<f64>,
    /// Files larger than this (bytes, after decompression) are rejected unread (default 64 MiB).
    pub max_file_bytes: Option<u64>,
    /// Files per unit of parallel work (default 512).
    pub batch_files: Option<usize>,
    /// Rows per Parquet row group (default 1,000,000).
    pub row_group_rows: Option<usize>,
    /// Approximate bytes per Parquet row group (default 128 MiB).
    pub row_group_bytes: Option<usize>,
    /// Rows per Parquet file before a new file starts (default 10,000,000).
    pub max_rows_per_file: Option<usize>,
    /// Memory for rows waiting to be written as row groups, over all tables, in bytes
    /// (default 64 MiB): larger gives bigger row groups on input in no date order.
    pub buffer_bytes: Option<usize>,
    /// Unit of timestamp columns: `micros` (default) or `millis` (Athena/Glue).
    pub timestamp_unit: Option<TimestampUnit>,
    /// Folder layout of the session tables: `date` (default, `<table>/date=YYYY-MM-DD/` by the
    /// session's UTC creation day) or `none` (one flat folder per table).
    pub partition_by: Option<PartitionBy>,
    /// Derive the `events` and `milestones` tables and the Exchange request bodies
    /// (default true; false leaves them empty, e.g. to measure what derivation costs).
    pub derive: Option<bool>,
    /// Keep `OUT/_state/` and process only new, changed and deleted inputs (see `run --incremental`).
    pub incremental: Option<bool>,
    /// Acoustic Exchange settings: channel, identifiers, events per body.
    pub exchange: Option<ExchangeSettings>,
}

impl PipelineFile {
    /// Loads a pipeline file and makes its paths absolute relative to its folder.
    pub fn load(path: &Path) -> Result<PipelineFile> {
        let failed = |message: String| Error::PipelineFile {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let mut file: PipelineFile = toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        };
        file.inputs = file.inputs.map(|v| v.iter().map(resolve).collect());
        file.output = file.output.as_ref().map(resolve);
        Ok(file)
    }
}

/// Everything a run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Input folders and files.
    pub inputs: Vec<PathBuf>,
    /// Output folder.
    pub output: PathBuf,
    /// Worker threads (≥ 1).
    pub threads: usize,
    /// Parquet encoding.
    pub parquet: ParquetSettings,
    /// Reject-rate threshold, if any.
    pub max_reject_rate: Option<f64>,
    /// Per-file size cap.
    pub max_file_bytes: u64,
    /// Files per unit of parallel work.
    pub batch_files: usize,
    /// Progress display.
    pub progress: ProgressMode,
    /// Derive events, milestones and Exchange bodies.
    pub derive: bool,
    /// Acoustic Exchange settings.
    pub exchange: ExchangeSettings,
    /// The part of the input this run processes, for `session-etl commit` to merge.
    pub shard: Option<crate::select::Shard>,
    /// Build on the previous output and its `_state/`, processing only what changed.
    pub incremental: bool,
    /// Ignore the previous output's state and rebuild everything, writing a new state
    /// (implies `incremental`).
    pub full_refresh: bool,
}

impl RunConfig {
    /// True when the run reads or writes `OUT/_state/` (`incremental` or `full_refresh`).
    pub fn keeps_state(&self) -> bool {
        self.incremental || self.full_refresh
    }
}

/// The thread count asked for, or one per core when none (or 0) is given.
pub fn threads_or_cores(asked: Option<usize>) -> usize {
    match asked.unwrap_or(0) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Default per-file size cap: real exports are 5–20 KB, so 64 MiB is generous.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

impl RunConfig {
    /// Resolves a run from a pipeline file (optional) and command-line overrides, which win.
    pub fn resolve(
        file: PipelineFile,
        flags: PipelineFile,
        progress: ProgressMode,
    ) -> Result<RunConfig> {
        let inputs = match flags.inputs.filter(|v| !v.is_empty()).or(file.inputs) {
            Some(v) if !v.is_empty() => v,
            _ => {
                return Err(Error::Config(
                    "no input: give INPUT paths or `inputs` in the pipeline file".into(),
                ))
            }
        };
        let output = flags.output.or(file.output).ok_or_else(|| {
            Error::Config("no output: give --output or `output` in the pipeline file".into())
        })?;
        let threads = threads_or_cores(flags.threads.or(file.threads));
        let max_reject_rate = flags.max_reject_rate.or(file.max_reject_rate);
        if let Some(rate) = max_reject_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::Config(format!(
                    "max_reject_rate must be between 0 and 1, got {rate}"
                )));
            }
        }
        let defaults = ParquetSettings::default();
        let parquet = ParquetSettings {
            codec: flags
                .compression
                .or(file.compression)
                .unwrap_or(defaults.codec),
            zstd_level: flags
                .zstd_level
                .or(file.zstd_level)
                .unwrap_or(defaults.zstd_level),
            row_group_rows: flags
                .row_group_rows
                .or(file.row_group_rows)
                .unwrap_or(defaults.row_group_rows)
                .max(1),
            row_group_bytes: flags
                .row_group_bytes
                .or(file.row_group_bytes)
                .unwrap_or(defaults.row_group_bytes),
            max_rows_per_file: flags
                .max_rows_per_file
                .or(file.max_rows_per_file)
                .unwrap_or(defaults.max_rows_per_file),
            timestamp_unit: flags
                .timestamp_unit
                .or(file.timestamp_unit)
                .unwrap_or(defaults.timestamp_unit),
            partition_by: flags
                .partition_by
                .or(file.partition_by)
                .unwrap_or(defaults.partition_by),
            buffer_bytes: flags
                .buffer_bytes
                .or(file.buffer_bytes)
                .unwrap_or(defaults.buffer_bytes),
        };
        parquet.properties(&[])?; // validates the zstd level now rather than mid-run
        let exchange = flags.exchange.or(file.exchange).unwrap_or_default();
        exchange.validate().map_err(Error::Config)?;
        Ok(RunConfig {
            inputs,
            output,
            threads,
            parquet,
            max_reject_rate,
            max_file_bytes: flags
                .max_file_bytes
                .or(file.max_file_bytes)
                .unwrap_or(DEFAULT_MAX_FILE_BYTES),
            batch_files: flags.batch_files.or(file.batch_files).unwrap_or(512).max(1),
            progress,
            derive: flags.derive.or(file.derive).unwrap_or(true),
            exchange,
            shard: None,
            incremental: flags.incremental.or(file.incremental).unwrap_or(false),
            full_refresh: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_paths_resolve_against_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.toml");
        std::fs::write(
            &path,
            "inputs = [\"in\"]\noutput = \"/abs/out\"\nthreads = 3\ncompression = \"snappy\"\n",
        )
        .unwrap();
        let file = PipelineFile::load(&path).unwrap();
        assert_eq!(file.inputs.as_deref(), Some(&[tmp.path().join("in")][..]));
        let flags = PipelineFile {
            threads: Some(1),
            ..Default::default()
        };
        let config = RunConfig::resolve(file, flags, ProgressMode::Quiet).unwrap();
        assert_eq!((config.threads, config.parquet.codec), (1, Codec::Snappy));
        assert_eq!(config.output, PathBuf::from("/abs/out"));
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.toml");
        std::fs::write(&path, "inputz = [\"in\"]\n").unwrap();
        assert!(PipelineFile::load(&path)
            .unwrap_err()
            .to_string()
            .contains("inputz"));
        let flags = PipelineFile {
            inputs: Some(vec!["x".into()]),
            output: Some("o".into()),
            zstd_level: Some(99),
            ..Default::default()
        };
        assert!(RunConfig::resolve(PipelineFile::default(), flags, ProgressMode::Quiet).is_err());
    }

    #[test]
    fn bundled_pipelines_load_and_nightly_states_the_defaults() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
        for name in ["demo.toml", "nightly.toml"] {
            let file = PipelineFile::load(&dir.join(name)).unwrap();
            RunConfig::resolve(file, PipelineFile::default(), ProgressMode::Quiet).unwrap();
        }
        let nightly = PipelineFile::load(&dir.join("nightly.toml")).unwrap();
        assert_eq!(nightly.exchange, Some(ExchangeSettings::default()));
        assert_eq!(nightly.derive, Some(true));
        assert_eq!(nightly.incremental, Some(true));
        let stated = RunConfig::resolve(nightly, PipelineFile::default(), ProgressMode::Quiet)
            .unwrap()
            .parquet;
        let defaults = ParquetSettings::default();
        assert_eq!(
            (
                stated.codec,
                stated.zstd_level,
                stated.timestamp_unit,
                stated.partition_by
            ),
            (
                defaults.codec,
                defaults.zstd_level,
                defaults.timestamp_unit,
                defaults.partition_by
            )
        );
        assert_eq!(
            (
                stated.row_group_rows,
                stated.max_rows_per_file,
                stated.buffer_bytes
            ),
            (
                defaults.row_group_rows,
                defaults.max_rows_per_file,
                defaults.buffer_bytes
            )
        );
    }

    #[test]
    fn exchange_settings_default_and_are_validated() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.toml");
        let load = |text: &str| {
            std::fs::write(
                &path,
                format!("inputs = [\"in\"]\noutput = \"out\"\n{text}"),
            )
            .unwrap();
            PipelineFile::load(&path).and_then(|file| {
                RunConfig::resolve(file, PipelineFile::default(), ProgressMode::Quiet)
            })
        };
        let config = load("").unwrap();
        assert!(config.derive);
        assert_eq!(config.exchange, ExchangeSettings::default());
        assert_eq!(config.exchange.channel, "Contact Center");
        assert_eq!(config.exchange.max_events_per_body, 100);

        let config = load(
            "derive = false\n[exchange]\nchannel = \"Call Center\"\nidentifiers = [{ name = \"crm\", sources = [\"custom_data.CrmId\", \"end_user.out_contact_id\"] }]\n",
        )
        .unwrap();
        assert!(!config.derive);
        assert_eq!(config.exchange.channel, "Call Center");
        assert_eq!(
            config.exchange.max_events_per_body, 100,
            "unset keys keep their default"
        );
        assert_eq!(config.exchange.identifiers[0].sources.len(), 2);

        for (text, why) in [
            ("[exchange]\nmax_events_per_body = 0\n", "at least 1"),
            (
                "[exchange]\nidentifiers = [{ name = \"Email\", sources = [\"email\"] }]\n",
                "lower-case",
            ),
            (
                "[exchange]\nidentifiers = [{ name = \"x\", sources = [\"phone\"] }]\n",
                "unknown identifier source `phone`",
            ),
            ("[exchange]\nchanel = \"x\"\n", "chanel"),
            ("[exchange]\nchannel = \" \"\n", "channel must not be empty"),
            ("[exchange]\nidentifiers = []\n", "at least one identifier"),
            ("[exchange]\nidentifiers = [{ name = \"x\", sources = [] }]\n", "has no sources"),
            ("[exchange]\nidentifiers = [{ name = \"x\", sources = [\"email\"] }, { name = \"x\", sources = [\"end_user.id\"] }]\n", "listed twice"),
        ] {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
