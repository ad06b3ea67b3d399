//! Run settings: a pipeline file (TOML) a user keeps under version control, with command-line
//! flags layered on top. Relative paths in a pipeline file are relative to the file itself,
//! so a pipeline runs the same from any working directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::derive::ExchangeSettings;
use crate::error::{Error, Result};
use crate::guard::{Guards, DEFAULT_MAX_REJECT_RATE, DEFAULT_MAX_SHRINK};
use crate::paths::read_small_file;
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
    /// Worker threads; 0 or absent = one per core, at most [`MAX_THREADS`].
    pub threads: Option<usize>,
    /// `zstd` (default), `snappy` or `none`.
    pub compression: Option<Codec>,
    /// zstd level, 1–22 (default 3).
    pub zstd_level: Option<i32>,
    /// Fail the run (exit 3, nothing published) when more than this fraction of files is
    /// rejected (default 0.05).
    pub max_reject_rate: Option<f64>,
    /// Publish a night without any session file, or without any session (default false).
    pub allow_empty: Option<bool>,
    /// Publish although a folder under the inputs could not be read (default false).
    pub allow_unreadable: Option<bool>,
    /// Fail the run when the output would hold more than this fraction fewer sessions than
    /// the output it replaces (default 0.5; 1 allows any shrink).
    pub max_shrink: Option<f64>,
    /// Follow symbolic links that lead outside the input folders (default false: such links
    /// are counted and skipped).
    pub follow_external_links: Option<bool>,
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
        let bytes =
            read_small_file(path, MAX_PIPELINE_FILE_BYTES).map_err(|e| failed(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| failed(e.to_string()))?;
        let mut file: PipelineFile = toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
        // Before paths are joined to the file's folder: `gs://b/o` joined would pass for local.
        for input in file.inputs.iter().flatten() {
            local_path(input, "input")?;
        }
        if let Some(output) = &file.output {
            local_path(output, "output")?;
        }
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

/// Pipeline files are a few KB; anything larger is not one (`--pipeline /dev/zero`).
const MAX_PIPELINE_FILE_BYTES: u64 = 1 << 20;

/// Refuses a path written as a URL (`gs://bucket/out`, `s3://…`, `file://…`): cloud storage is
/// not supported yet, and taken as a local path it would become a folder named `gs:`.
pub fn local_path(path: &Path, what: &str) -> Result<()> {
    let text = path.to_string_lossy();
    if let Some((scheme, _)) = text.split_once("://") {
        let is_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if is_scheme {
            return Err(Error::Config(format!(
                "{what} `{text}` is a URL: only local paths are supported (cloud storage is not \
                 implemented yet)"
            )));
        }
    }
    Ok(())
}

/// At most this many worker threads: beyond it a pool costs seconds to start and memory for
/// nothing (the work is cut into files, and memory in flight grows with threads).
pub const MAX_THREADS: usize = 256;

/// Checks that a numeric setting lies in `min..=max`, naming it as a pipeline key (flags
/// carry the same name with dashes).
fn within<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    min: T,
    max: T,
    note: &str,
) -> Result<T> {
    // Written so that NaN fails too.
    if value >= min && value <= max {
        return Ok(value);
    }
    Err(Error::Config(format!(
        "`{key}` (--{}) must be between {min} and {max}{note}, got {value}",
        key.replace('_', "-")
    )))
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
    /// The checks that keep an obviously broken night from being published.
    pub guards: Guards,
    /// Follow symbolic links that lead outside the input folders.
    pub follow_external_links: bool,
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

/// The thread count asked for (checked against [`MAX_THREADS`]), or one per core when none
/// (or 0) is given.
pub fn threads_or_cores(asked: Option<usize>) -> Result<usize> {
    let asked = within(
        "threads",
        asked.unwrap_or(0),
        0,
        MAX_THREADS,
        " (0: one per core)",
    )?;
    Ok(match asked {
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS),
        n => n,
    })
}

/// Default per-file size cap: real exports are 5–20 KB, so 64 MiB is generous.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

/// Largest allowed per-file size cap: a file is read whole into memory, by every thread.
pub const MAX_FILE_BYTES_LIMIT: u64 = 1 << 30;

/// The per-file size cap asked for, or the default, checked.
pub fn max_file_bytes(asked: Option<u64>) -> Result<u64> {
    within(
        "max_file_bytes",
        asked.unwrap_or(DEFAULT_MAX_FILE_BYTES),
        1,
        MAX_FILE_BYTES_LIMIT,
        "",
    )
}

impl RunConfig {
    /// Resolves a run from a pipeline file (optional) and command-line overrides, which win.
    /// Every value is checked here, before anything runs: a bad one is a usage error with
    /// the allowed range, never silently clamped.
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
        for input in &inputs {
            local_path(input, "input")?;
        }
        local_path(&output, "output")?;
        let threads = threads_or_cores(flags.threads.or(file.threads))?;
        let guards = Guards {
            max_reject_rate: within(
                "max_reject_rate",
                flags
                    .max_reject_rate
                    .or(file.max_reject_rate)
                    .unwrap_or(DEFAULT_MAX_REJECT_RATE),
                0.0,
                1.0,
                "",
            )?,
            allow_empty: flags.allow_empty.or(file.allow_empty).unwrap_or(false),
            allow_unreadable: flags
                .allow_unreadable
                .or(file.allow_unreadable)
                .unwrap_or(false),
            max_shrink: within(
                "max_shrink",
                flags
                    .max_shrink
                    .or(file.max_shrink)
                    .unwrap_or(DEFAULT_MAX_SHRINK),
                0.0,
                1.0,
                "",
            )?,
        };
        let defaults = ParquetSettings::default();
        let parquet = ParquetSettings {
            codec: flags
                .compression
                .or(file.compression)
                .unwrap_or(defaults.codec),
            zstd_level: within(
                "zstd_level",
                flags
                    .zstd_level
                    .or(file.zstd_level)
                    .unwrap_or(defaults.zstd_level),
                1,
                22,
                "",
            )?,
            row_group_rows: within(
                "row_group_rows",
                flags
                    .row_group_rows
                    .or(file.row_group_rows)
                    .unwrap_or(defaults.row_group_rows),
                1,
                1 << 30,
                "",
            )?,
            row_group_bytes: within(
                "row_group_bytes",
                flags
                    .row_group_bytes
                    .or(file.row_group_bytes)
                    .unwrap_or(defaults.row_group_bytes),
                1 << 20,
                4 << 30,
                "",
            )?,
            max_rows_per_file: within(
                "max_rows_per_file",
                flags
                    .max_rows_per_file
                    .or(file.max_rows_per_file)
                    .unwrap_or(defaults.max_rows_per_file),
                1,
                1 << 40,
                "",
            )?,
            timestamp_unit: flags
                .timestamp_unit
                .or(file.timestamp_unit)
                .unwrap_or(defaults.timestamp_unit),
            partition_by: flags
                .partition_by
                .or(file.partition_by)
                .unwrap_or(defaults.partition_by),
            buffer_bytes: within(
                "buffer_bytes",
                flags
                    .buffer_bytes
                    .or(file.buffer_bytes)
                    .unwrap_or(defaults.buffer_bytes),
                1,
                64 << 30,
                " (1: write every batch at once)",
            )?,
        };
        let exchange = flags.exchange.or(file.exchange).unwrap_or_default();
        exchange.validate().map_err(Error::Config)?;
        Ok(RunConfig {
            inputs,
            output,
            threads,
            parquet,
            guards,
            follow_external_links: flags
                .follow_external_links
                .or(file.follow_external_links)
                .unwrap_or(false),
            max_file_bytes: max_file_bytes(flags.max_file_bytes.or(file.max_file_bytes))?,
            batch_files: within(
                "batch_files",
                flags.batch_files.or(file.batch_files).unwrap_or(512),
                1,
                1 << 20,
                "",
            )?,
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
    fn every_numeric_setting_is_checked_with_its_allowed_range() {
        let base = || PipelineFile {
            inputs: Some(vec!["x".into()]),
            output: Some("o".into()),
            ..Default::default()
        };
        let cases: Vec<(PipelineFile, &str)> = vec![
            (PipelineFile { threads: Some(100_000_000_000), ..base() }, "`threads` (--threads) must be between 0 and 256 (0: one per core), got 100000000000"),
            (PipelineFile { threads: Some(257), ..base() }, "between 0 and 256"),
            (PipelineFile { batch_files: Some(0), ..base() }, "`batch_files` (--batch-files) must be between 1 and"),
            (PipelineFile { row_group_rows: Some(0), ..base() }, "`row_group_rows`"),
            (PipelineFile { row_group_bytes: Some(1000), ..base() }, "`row_group_bytes`"),
            (PipelineFile { max_rows_per_file: Some(0), ..base() }, "`max_rows_per_file`"),
            (PipelineFile { buffer_bytes: Some(0), ..base() }, "`buffer_bytes`"),
            (PipelineFile { max_file_bytes: Some(0), ..base() }, "`max_file_bytes`"),
            (PipelineFile { max_file_bytes: Some(2 << 30), ..base() }, "`max_file_bytes`"),
            (PipelineFile { zstd_level: Some(0), ..base() }, "`zstd_level` (--zstd-level) must be between 1 and 22, got 0"),
            (PipelineFile { max_reject_rate: Some(1.5), ..base() }, "`max_reject_rate`"),
            (PipelineFile { max_reject_rate: Some(f64::NAN), ..base() }, "`max_reject_rate`"),
            (PipelineFile { max_shrink: Some(-0.1), ..base() }, "`max_shrink`"),
            (PipelineFile { output: Some("gs://bucket/out".into()), ..base() }, "output `gs://bucket/out` is a URL"),
            (PipelineFile { inputs: Some(vec!["s3://b/in".into()]), ..base() }, "input `s3://b/in` is a URL"),
        ];
        for (flags, expected) in cases {
            let err = RunConfig::resolve(PipelineFile::default(), flags, ProgressMode::Quiet)
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            assert!(
                err.to_string().contains(expected),
                "{err}\nexpected: {expected}"
            );
        }
        // The bounds themselves are allowed; `a://` inside a file name is not a URL.
        let edge = PipelineFile {
            threads: Some(MAX_THREADS),
            batch_files: Some(1),
            row_group_rows: Some(1),
            max_reject_rate: Some(1.0),
            max_shrink: Some(0.0),
            inputs: Some(vec!["in/x://y".into()]),
            ..base()
        };
        let config =
            RunConfig::resolve(PipelineFile::default(), edge, ProgressMode::Quiet).unwrap();
        assert_eq!(config.threads, MAX_THREADS);
        let defaults =
            RunConfig::resolve(PipelineFile::default(), base(), ProgressMode::Quiet).unwrap();
        assert_eq!(defaults.guards, Guards::default());
        assert!(defaults.threads >= 1 && defaults.threads <= MAX_THREADS);
    }

    #[cfg(unix)]
    #[test]
    fn a_pipeline_file_must_be_a_small_regular_file() {
        let err = PipelineFile::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("p.toml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = PipelineFile::load(&fifo).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let big = tmp.path().join("big.toml");
        std::fs::write(&big, "#".repeat(2 << 20)).unwrap();
        let err = PipelineFile::load(&big).unwrap_err().to_string();
        assert!(err.contains("more than the 1048576 allowed"), "{err}");
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
            ("[exchange]\nmax_events_per_body = 0\n", "between 1 and 10000, got 0"),
            ("[exchange]\nmax_events_per_body = 10001\n", "between 1 and 10000, got 10001"),
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
