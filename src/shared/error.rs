//! Errors that stop a run. Problems with one input file are not errors: they become rows of
//! the `rejects` table (see [`crate::shared::reject`]).

use std::path::PathBuf;

/// Why a run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file or the command line is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The pipeline file cannot be read or parsed.
    #[error("cannot load pipeline file {path}: {message}")]
    PipelineFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An input path given by the user does not exist or cannot be listed.
    #[error("input {path}: {source}")]
    Input {
        /// The input path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A bucket could not be listed or written, after `object_store`'s retries; or its
    /// client could not be configured. The message never holds a credential.
    #[error("{url}: {message}")]
    Storage {
        /// The bucket prefix or object concerned.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing the output failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`create staging folder`...).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding a table to Parquet failed.
    #[error("writing table `{table}`: {source}")]
    Parquet {
        /// The table.
        table: &'static str,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Reading back a Parquet file of an existing output (the previous run's, a shard's)
    /// failed: it is damaged or not a file this tool wrote.
    #[error("reading {path}: {source}")]
    ReadParquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Building an Arrow batch failed (a bug: the schema and the builders disagree).
    #[error("building a batch of table `{table}`: {source}")]
    Arrow {
        /// The table.
        table: &'static str,
        /// The underlying error.
        source: arrow::error::ArrowError,
    },
    /// The output path is not something this tool may replace (not its own output, a
    /// symbolic link, an input, the home folder...): refused before anything is written.
    #[error("refusing to replace {path}: {why}; nothing was written")]
    ForeignOutput {
        /// The output path.
        path: PathBuf,
        /// Why it may not be replaced.
        why: String,
    },
    /// An incremental run cannot build on the previous output: its state or one of its
    /// table files is damaged or not what this version writes.
    #[error("cannot build on the previous output: {path}: {message}; run with --full-refresh to rebuild the output and its state")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Another run holds the output's lock.
    #[error("another session-etl run is writing {output} ({holder}); wait for it to end. The lock is {lock}: the operating system releases it when its run ends, even if killed")]
    Locked {
        /// The output folder.
        output: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// What the holder wrote into the lock file (pid, start time).
        holder: String,
    },
    /// Two runs built the same bucket output from the same published version, and the
    /// other one committed first: this one published nothing.
    #[error("{output}: {detail}")]
    CommitConflict {
        /// The output prefix.
        output: String,
        /// What happened and what to do.
        detail: String,
    },
    /// An input file changed while the run read it in a way the run cannot make consistent
    /// on its own (a shard found a file now holding another shard's session).
    #[error("input {path} changed while the run read it: {detail}")]
    InputChanged {
        /// The file.
        path: PathBuf,
        /// What changed.
        detail: String,
    },
    /// The worker threads could not be started (the system refused threads or memory).
    #[error("cannot start the worker threads: {0}")]
    ThreadPool(String),
    /// An invariant of session-etl itself broke: a bug, never a problem of the input or the
    /// machine. Nothing was published.
    #[error("internal error (a bug in session-etl, please report it): {0}")]
    Internal(String),
    /// A guard stopped the run before publication: the night looks broken.
    #[error("{0}")]
    Guard(crate::shared::guard::Stopped),
    /// A stop was asked for (`SIGINT`, `SIGTERM`): nothing was published.
    #[error("interrupted: nothing was published; the previous output is unchanged")]
    Interrupted,
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the action and path it concerns.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
