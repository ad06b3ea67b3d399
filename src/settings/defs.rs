//! Every setting, declared once. Adding one is one entry here: the flag, the environment
//! variable, the pipeline key, the range check, `--help`, `session-etl settings` and
//! `docs/settings.md` follow from it; the stage that uses it reads the field of [`Settings`].
//!
//! An entry: doc comment (the first line is the short `--help`), `key: Type = default`, then
//! the section, the flag (the key with dashes unless a section prefixes it), the variable
//! (`SESSION_ETL_` and the path in capitals), the allowed range, and the commands it applies
//! to. Unit tests check those naming rules, so no entry can drift from them.

use std::path::PathBuf;

use super::{Alias, Cmd, Def, Section, SettingValue};
use crate::derive::IdentifierRule;
use crate::storage::Location;
use crate::write::{Codec, PartitionBy, TimestampUnit};

/// At most this many worker threads: beyond it a pool costs seconds to start and memory for
/// nothing (the work is cut into files, and memory in flight grows with threads).
pub const MAX_THREADS: usize = 256;

/// Largest allowed per-file size cap: a file is read whole into memory, by every thread.
const MAX_FILE_BYTES_LIMIT: u64 = 1 << 30;

/// Largest allowed `exchange.max_events_per_body`: one request body is built in memory, and
/// an endpoint that accepts a body of ten thousand events accepts ten bodies of a thousand.
const MAX_EVENTS_PER_BODY: usize = 10_000;

/// `[read]`: how input files are found and read.
pub static READ: Section = Section {
    name: "read",
    doc: "How input files are found and read.",
    top_level_too: true,
};

/// `[guards]`: the checks that keep an obviously broken night from being published.
pub static GUARDS: Section = Section {
    name: "guards",
    doc: "The checks that keep an obviously broken night from being published (exit 3, \
          nothing published, the previous output kept).",
    top_level_too: true,
};

/// `[parquet]`: the tables' encoding and layout.
pub static PARQUET: Section = Section {
    name: "parquet",
    doc: "The tables' encoding and folder layout.",
    top_level_too: true,
};

/// `[exchange]`: the Acoustic Exchange request bodies.
pub static EXCHANGE: Section = Section {
    name: "exchange",
    doc: "The Acoustic Exchange request bodies in `OUT/exchange/`, and how `publish` sends them.",
    top_level_too: false,
};

/// `[storage]`: how buckets are reached.
pub static STORAGE: Section = Section {
    name: "storage",
    doc: "How `gs://` and `s3://` buckets are reached. Credentials are never settings: they \
          come from the clouds' own variables (`AWS_ACCESS_KEY_ID`, \
          `GOOGLE_APPLICATION_CREDENTIALS`...) or the instance's metadata server.",
    top_level_too: false,
};

/// The sections, in the order the docs list them.
pub static SECTIONS: [&Section; 5] = [&READ, &GUARDS, &PARQUET, &EXCHANGE, &STORAGE];

macro_rules! settings {
    (@opt) => { None };
    (@opt $value:expr) => { Some($value) };
    (@note) => { "" };
    (@note $note:literal) => { $note };
    ($(
        $(#[doc = $doc:literal])+
        $key:ident: $ty:ty = $default:expr, {
            section: $section:expr,
            flag: $flag:literal,
            $(short: $short:literal,)?
            $(positional: $positional:literal,)?
            $(env: $env:literal,)?
            value_name: $value_name:literal,
            $(range: ($min:expr, $max:expr $(, $note:literal)?),)?
            $(alias: ($alias_flag:literal = $alias_value:literal, $alias_help:literal),)?
            used_by: [$($cmd:ident),+],
        }
    )*) => {
        /// Every setting, resolved: what a command runs with.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $(
                $(#[doc = $doc])+
                pub $key: $ty,
            )*
        }

        impl Default for Settings {
            fn default() -> Settings {
                Settings { $($key: $default,)* }
            }
        }

        /// Values of some settings from one place: the command line with the environment,
        /// or a pipeline file.
        #[derive(Debug, Clone, Default)]
        pub struct Layer {
            $(
                #[doc = concat!("`", stringify!($key), "`, when given here.")]
                pub $key: Option<$ty>,
            )*
        }

        impl Layer {
            /// Sets `key` from command-line or environment values.
            pub(super) fn set(
                &mut self,
                key: &str,
                values: &[std::ffi::OsString],
            ) -> Result<(), String> {
                match key {
                    $(stringify!($key) => {
                        self.$key = Some(<$ty as SettingValue>::from_args(values)?);
                    })*
                    _ => return Err(format!("no setting `{key}`")),
                }
                Ok(())
            }

            /// Sets `key` from a pipeline file's value; paths are relative to `base`.
            pub(super) fn set_toml(
                &mut self,
                key: &str,
                value: toml::Value,
                base: &std::path::Path,
            ) -> Result<(), String> {
                match key {
                    $(stringify!($key) => {
                        self.$key =
                            Some(<$ty as SettingValue>::from_toml(value)?.relative_to(base));
                    })*
                    _ => return Err(format!("no setting `{key}`")),
                }
                Ok(())
            }
        }

        impl Settings {
            /// Layers settings, first found wins (the command line before the pipeline
            /// file), over the defaults, and checks every value against its range.
            pub fn resolve(layers: &[&Layer]) -> crate::shared::error::Result<Settings> {
                let defaults = Settings::default();
                let settings = Settings {
                    $($key: layers
                        .iter()
                        .find_map(|layer| layer.$key.clone())
                        .unwrap_or(defaults.$key),)*
                };
                $($(
                    super::within(
                        super::def(stringify!($key)),
                        &settings.$key,
                        $min,
                        $max,
                        settings!(@note $($note)?),
                    )?;
                )?)*
                Ok(settings)
            }
        }

        /// Every setting's declaration, in the order of `--help` and the docs.
        pub static DEFS: &[Def] = &[$(
            Def {
                key: stringify!($key),
                section: $section,
                flag: $flag,
                no_flag: concat!("no-", $flag),
                short: settings!(@opt $($short)?),
                env: settings!(@opt $($env)?),
                value_name: $value_name,
                positional: $($positional ||)? false,
                doc: concat!($($doc, "\n"),+),
                shape: <$ty as SettingValue>::SHAPE,
                default: || <$ty as SettingValue>::show(&$default),
                range: settings!(@opt $(|| {
                    let (min, max): ($ty, $ty) = ($min, $max);
                    format!("{min}–{max}{}", settings!(@note $($note)?))
                })?),
                alias: settings!(@opt $(Alias {
                    flag: $alias_flag,
                    value: $alias_value,
                    help: $alias_help,
                })?),
                used_by: &[$(Cmd::$cmd),+],
            },
        )*];
    };
}

settings! {
    /// Folders (walked recursively), files and bucket prefixes (gs://, s3://) to read.
    ///
    /// Every `*.json` and `*.json.gz` file under a folder or prefix is read, whatever its
    /// name; files named explicitly are always read. Given on the command line, they replace
    /// the pipeline file's list. No variable: one cannot hold a list of paths unambiguously.
    inputs: Vec<Location> = Vec::new(), {
        section: None,
        flag: "inputs",
        positional: true,
        value_name: "INPUT",
        used_by: [Run, Validate],
    }

    /// Output folder or bucket prefix, replaced atomically by each completed run.
    ///
    /// Must be a folder session-etl owns (its `_run.json` says so), or empty, or absent.
    /// In a bucket (gs://, s3://) the run commits with the protocol the README describes.
    output: Option<Location> = None, {
        section: None,
        flag: "output",
        short: 'o',
        env: "SESSION_ETL_OUTPUT",
        value_name: "OUT",
        used_by: [Run, Commit],
    }

    /// Worker threads (0: one per core).
    threads: usize = 0, {
        section: None,
        flag: "threads",
        short: 'j',
        env: "SESSION_ETL_THREADS",
        value_name: "N",
        range: (0, MAX_THREADS, " (0: one per core)"),
        used_by: [Run, Validate],
    }

    /// Build on the previous output: read only new, changed and deleted files.
    ///
    /// The state is kept in `OUT/_state/`; the sessions of changed and deleted files are
    /// rebuilt and every other partition keeps its files. `--shard` runs (backfills) ignore
    /// it; `--full-refresh` rebuilds everything once.
    incremental: bool = false, {
        section: None,
        flag: "incremental",
        env: "SESSION_ETL_INCREMENTAL",
        value_name: "BOOL",
        used_by: [Run],
    }

    /// Derive the `events` and `milestones` tables and the Exchange request bodies.
    ///
    /// Off, they are written empty (e.g. to measure what derivation costs).
    derive: bool = true, {
        section: None,
        flag: "derive",
        env: "SESSION_ETL_DERIVE",
        value_name: "BOOL",
        used_by: [Run],
    }

    /// Reject files larger than this many bytes (after decompression) unread.
    ///
    /// Real exports are 5–20 KB; a file is read whole into memory.
    max_file_bytes: u64 = 64 << 20, {
        section: Some(&READ),
        flag: "max-file-bytes",
        env: "SESSION_ETL_READ_MAX_FILE_BYTES",
        value_name: "BYTES",
        range: (1, MAX_FILE_BYTES_LIMIT),
        used_by: [Run, Validate],
    }

    /// Files per unit of parallel work.
    batch_files: usize = 512, {
        section: Some(&READ),
        flag: "batch-files",
        env: "SESSION_ETL_READ_BATCH_FILES",
        value_name: "N",
        range: (1, 1 << 20),
        used_by: [Run],
    }

    /// Follow symbolic links that lead outside the input folders.
    ///
    /// Off, such links are counted and skipped.
    follow_external_links: bool = false, {
        section: Some(&READ),
        flag: "follow-external-links",
        env: "SESSION_ETL_READ_FOLLOW_EXTERNAL_LINKS",
        value_name: "BOOL",
        used_by: [Run],
    }

    /// Stop (exit 3, publish nothing) when more than this fraction of files is rejected.
    ///
    /// 1 allows any; more than a few percent usually means the export format changed
    /// upstream.
    max_reject_rate: f64 = 0.05, {
        section: Some(&GUARDS),
        flag: "max-reject-rate",
        env: "SESSION_ETL_GUARDS_MAX_REJECT_RATE",
        value_name: "FRACTION",
        range: (0.0, 1.0),
        used_by: [Run],
    }

    /// Publish even a night without any session file or session.
    ///
    /// The `no_input` and `no_sessions` guards.
    allow_empty: bool = false, {
        section: Some(&GUARDS),
        flag: "allow-empty",
        env: "SESSION_ETL_GUARDS_ALLOW_EMPTY",
        value_name: "BOOL",
        used_by: [Run, Commit],
    }

    /// Publish even when a folder under the inputs cannot be read.
    ///
    /// The `unreadable_input` guard: its files are then missing from a full run, and kept as
    /// they were by an incremental one.
    allow_unreadable: bool = false, {
        section: Some(&GUARDS),
        flag: "allow-unreadable",
        env: "SESSION_ETL_GUARDS_ALLOW_UNREADABLE",
        value_name: "BOOL",
        used_by: [Run],
    }

    /// Stop when the output would hold more than this fraction fewer sessions than before.
    ///
    /// The `shrink` guard, against the output being replaced: a landing folder that expires
    /// old exports loses a few percent a night; losing half is a mount, a path or a
    /// retention policy gone wrong. 1 allows any shrink.
    max_shrink: f64 = 0.5, {
        section: Some(&GUARDS),
        flag: "max-shrink",
        env: "SESSION_ETL_GUARDS_MAX_SHRINK",
        value_name: "FRACTION",
        range: (0.0, 1.0),
        alias: ("allow-shrink" = "1", "The same as --max-shrink 1: publish however few sessions remain"),
        used_by: [Run, Commit],
    }

    /// Parquet compression: zstd, snappy or none.
    compression: Codec = Codec::Zstd, {
        section: Some(&PARQUET),
        flag: "compression",
        env: "SESSION_ETL_PARQUET_COMPRESSION",
        value_name: "CODEC",
        used_by: [Run],
    }

    /// zstd level.
    zstd_level: i32 = 3, {
        section: Some(&PARQUET),
        flag: "zstd-level",
        env: "SESSION_ETL_PARQUET_ZSTD_LEVEL",
        value_name: "LEVEL",
        range: (1, 22),
        used_by: [Run],
    }

    /// Rows per Parquet row group (a row group also closes at `row_group_bytes`).
    row_group_rows: usize = 1_000_000, {
        section: Some(&PARQUET),
        flag: "row-group-rows",
        env: "SESSION_ETL_PARQUET_ROW_GROUP_ROWS",
        value_name: "ROWS",
        range: (1, 1 << 30),
        used_by: [Run],
    }

    /// Approximate encoded bytes per Parquet row group.
    row_group_bytes: usize = 128 << 20, {
        section: Some(&PARQUET),
        flag: "row-group-bytes",
        env: "SESSION_ETL_PARQUET_ROW_GROUP_BYTES",
        value_name: "BYTES",
        range: (1 << 20, 4 << 30),
        used_by: [Run],
    }

    /// Rows per Parquet file before a new file starts.
    max_rows_per_file: usize = 10_000_000, {
        section: Some(&PARQUET),
        flag: "max-rows-per-file",
        env: "SESSION_ETL_PARQUET_MAX_ROWS_PER_FILE",
        value_name: "ROWS",
        range: (1, 1 << 40),
        used_by: [Run],
    }

    /// Memory for rows waiting to be written as row groups, over all tables, in bytes.
    ///
    /// Above it the largest waiting day of a table is written: more gives bigger row groups
    /// on input in no date order, and bounds memory however many days a run spans.
    buffer_bytes: usize = 64 << 20, {
        section: Some(&PARQUET),
        flag: "buffer-bytes",
        env: "SESSION_ETL_PARQUET_BUFFER_BYTES",
        value_name: "BYTES",
        range: (1, 64 << 30, " (1: write every batch at once)"),
        used_by: [Run],
    }

    /// Unit of timestamp columns: micros or millis (Athena/Glue).
    ///
    /// Millis truncates finer digits, for engines that read only milliseconds.
    timestamp_unit: TimestampUnit = TimestampUnit::Micros, {
        section: Some(&PARQUET),
        flag: "timestamp-unit",
        env: "SESSION_ETL_PARQUET_TIMESTAMP_UNIT",
        value_name: "UNIT",
        used_by: [Run],
    }

    /// Folder layout of the session tables: date or none.
    ///
    /// `date` writes `<table>/date=YYYY-MM-DD/` by the session's UTC creation day, so engines
    /// prune by date; `none` keeps one flat folder per table. `rejects` is never partitioned.
    partition_by: PartitionBy = PartitionBy::Date, {
        section: Some(&PARQUET),
        flag: "partition-by",
        env: "SESSION_ETL_PARQUET_PARTITION_BY",
        value_name: "LAYOUT",
        used_by: [Run],
    }

    /// The envelope's `channel`.
    channel: String = "Contact Center".to_owned(), {
        section: Some(&EXCHANGE),
        flag: "exchange-channel",
        env: "SESSION_ETL_EXCHANGE_CHANNEL",
        value_name: "CHANNEL",
        used_by: [Run, Commit],
    }

    /// Events per `POST v1/event` request body.
    max_events_per_body: usize = 100, {
        section: Some(&EXCHANGE),
        flag: "exchange-max-events-per-body",
        env: "SESSION_ETL_EXCHANGE_MAX_EVENTS_PER_BODY",
        value_name: "N",
        range: (1, MAX_EVENTS_PER_BODY),
        used_by: [Run, Commit],
    }

    /// About this many bytes per request body at most (an event larger alone gets its own).
    ///
    /// Acoustic publishes no limit; 1 MB keeps every body far below the usual gateway caps.
    max_body_bytes: usize = 1_000_000, {
        section: Some(&EXCHANGE),
        flag: "exchange-max-body-bytes",
        env: "SESSION_ETL_EXCHANGE_MAX_BODY_BYTES",
        value_name: "BYTES",
        range: (4_096, 64 << 20),
        used_by: [Run, Commit],
    }

    /// The Exchange base URL bodies are sent to (`POST {url}/v1/event`).
    ///
    /// Each Acoustic account is assigned its own base URL. https only, but for a loopback
    /// address (a local test server): the key goes in every request.
    url: String = "https://api-exchange-us-1.goacoustic.com".to_owned(), {
        section: Some(&EXCHANGE),
        flag: "exchange-url",
        env: "SESSION_ETL_EXCHANGE_URL",
        value_name: "URL",
        used_by: [Run, Publish],
    }

    /// A file holding the endpoint authentication key (else `SESSION_ETL_EXCHANGE_KEY`).
    ///
    /// Like ssh with a private key, the file must not be readable by group or others
    /// (`chmod 600`). The key itself is never a setting, never printed, never logged.
    key_file: Option<PathBuf> = None, {
        section: Some(&EXCHANGE),
        flag: "exchange-key-file",
        env: "SESSION_ETL_EXCHANGE_KEY_FILE",
        value_name: "FILE",
        used_by: [Run, Publish],
    }

    /// Bodies in flight at once while publishing.
    concurrency: usize = 8, {
        section: Some(&EXCHANGE),
        flag: "exchange-concurrency",
        env: "SESSION_ETL_EXCHANGE_CONCURRENCY",
        value_name: "N",
        range: (1, 256),
        used_by: [Run, Publish],
    }

    /// Attempts per body before it is left undelivered for the next publish.
    ///
    /// A 429, a 5xx, a timeout or a dropped connection is retried with exponential backoff
    /// and jitter (0.25 s doubling to 30 s), waiting what a `Retry-After` asks (at most 5 min).
    attempts: usize = 8, {
        section: Some(&EXCHANGE),
        flag: "exchange-attempts",
        env: "SESSION_ETL_EXCHANGE_ATTEMPTS",
        value_name: "N",
        range: (1, 100),
        used_by: [Run, Publish],
    }

    /// One attempt gives up after this many seconds without an answer.
    attempt_timeout_secs: u64 = 30, {
        section: Some(&EXCHANGE),
        flag: "exchange-attempt-timeout-secs",
        env: "SESSION_ETL_EXCHANGE_ATTEMPT_TIMEOUT_SECS",
        value_name: "SECONDS",
        range: (1, 600),
        used_by: [Run, Publish],
    }

    /// No body is sent or retried later than this many seconds after the publish started.
    ///
    /// What is left stays in the outbox for the next publish (exit 1).
    deadline_secs: u64 = 3_600, {
        section: Some(&EXCHANGE),
        flag: "exchange-deadline-secs",
        env: "SESSION_ETL_EXCHANGE_DEADLINE_SECS",
        value_name: "SECONDS",
        range: (1, 86_400),
        used_by: [Run, Publish],
    }

    /// Identifiers of the individual: NAME=SOURCE[,SOURCE…], first valid source wins.
    ///
    /// Names are lower case. Sources: email, end_user.identifier_email, end_user.identifier,
    /// end_user.phone_number, end_user.out_contact_id, end_user.id, custom_data.<key>. In a
    /// pipeline file: `identifiers = [{ name = "crm", sources = ["custom_data.CrmId"] }]`;
    /// repeat the flag for several.
    identifiers: Vec<IdentifierRule> = IdentifierRule::defaults(), {
        section: Some(&EXCHANGE),
        flag: "exchange-identifier",
        value_name: "NAME=SOURCES",
        used_by: [Run],
    }
    /// Requests in flight at once when reading input objects from a bucket.
    ///
    /// Each request is small (a 4 KB ranged GET for the pre-scan, one GET per session file),
    /// so throughput is latency-bound: 64 keeps a 2-core worker busy at ~20 ms per request.
    read_concurrency: usize = 64, {
        section: Some(&STORAGE),
        flag: "storage-read-concurrency",
        env: "SESSION_ETL_STORAGE_READ_CONCURRENCY",
        value_name: "N",
        range: (1, 1024),
        used_by: [Run, Validate, Commit],
    }

    /// An S3-compatible server (MinIO, Ceph...) or GCS emulator URL instead of the cloud's.
    ///
    /// Else `AWS_ENDPOINT_URL` (S3) or `GOOGLE_BASE_URL` (GCS), else the cloud's endpoint.
    endpoint: Option<String> = None, {
        section: Some(&STORAGE),
        flag: "storage-endpoint",
        env: "SESSION_ETL_STORAGE_ENDPOINT",
        value_name: "URL",
        used_by: [Run, Validate, Commit],
    }

    /// The S3 region (else `AWS_REGION`, else us-east-1).
    region: Option<String> = None, {
        section: Some(&STORAGE),
        flag: "storage-region",
        env: "SESSION_ETL_STORAGE_REGION",
        value_name: "REGION",
        used_by: [Run, Validate, Commit],
    }

    /// Allow plain http:// endpoints (a local S3-compatible server); else `AWS_ALLOW_HTTP`.
    allow_http: bool = false, {
        section: Some(&STORAGE),
        flag: "storage-allow-http",
        env: "SESSION_ETL_STORAGE_ALLOW_HTTP",
        value_name: "BOOL",
        used_by: [Run, Validate, Commit],
    }

    /// Retries of one request after a transient error (5xx, 429/SlowDown, timeout, reset).
    ///
    /// Backoff is exponential with jitter, from 100 ms to 15 s between attempts.
    max_retries: usize = 10, {
        section: Some(&STORAGE),
        flag: "storage-max-retries",
        env: "SESSION_ETL_STORAGE_MAX_RETRIES",
        value_name: "N",
        range: (0, 100),
        used_by: [Run, Validate, Commit],
    }

    /// No retry of a request starts later than this many seconds after its first attempt.
    retry_timeout_secs: u64 = 180, {
        section: Some(&STORAGE),
        flag: "storage-retry-timeout-secs",
        env: "SESSION_ETL_STORAGE_RETRY_TIMEOUT_SECS",
        value_name: "SECONDS",
        range: (1, 3600),
        used_by: [Run, Validate, Commit],
    }

    /// One attempt of one request gives up after this many seconds.
    request_timeout_secs: u64 = 60, {
        section: Some(&STORAGE),
        flag: "storage-request-timeout-secs",
        env: "SESSION_ETL_STORAGE_REQUEST_TIMEOUT_SECS",
        value_name: "SECONDS",
        range: (1, 3600),
        used_by: [Run, Validate, Commit],
    }

    /// A GCS service-account key file (else `GOOGLE_APPLICATION_CREDENTIALS`, else the
    /// metadata server on GCE, GKE and Cloud Run).
    google_service_account: Option<PathBuf> = None, {
        section: Some(&STORAGE),
        flag: "storage-google-service-account",
        env: "SESSION_ETL_STORAGE_GOOGLE_SERVICE_ACCOUNT",
        value_name: "FILE",
        used_by: [Run, Validate, Commit],
    }
}
