//! `session-etl` command line: parses arguments, loads the pipeline file, calls the library,
//! and turns the outcome into an exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use session_etl::config::{PipelineFile, RunConfig};
use session_etl::generate::GenerateOptions;
use session_etl::guard::Guards;
use session_etl::report::ProgressMode;
use session_etl::select::Shard;
use session_etl::sink::{catalog, Codec, PartitionBy, TimestampUnit};
use session_etl::stop::{StopFlag, EXIT_INTERRUPTED};

/// Exit code for a bad command line or pipeline file (clap uses it for usage errors too).
const EXIT_USAGE: u8 = 2;
/// Exit code when a guard stopped the run (nothing published): see `session_etl::guard`.
const EXIT_GUARD: u8 = 3;
/// Exit code when another run holds the output's lock: retry later, nothing is wrong.
const EXIT_LOCKED: u8 = 4;

#[derive(Parser)]
#[command(
    name = "session-etl",
    version,
    about = "CCAI Platform session metadata → Parquet tables"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read session exports and publish the tables atomically into the output folder.
    Run(RunArgs),
    /// Merge the outputs of `run --shard I/N` (all N of them) into one output, atomically.
    Commit {
        /// The shard outputs, every one of them.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output folder, replaced atomically.
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// No summary line.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Publish even when the shards hold no session at all (the `no_sessions` guard).
        #[arg(long)]
        allow_empty: bool,
        /// Publish however few sessions the merged output holds next to the output it
        /// replaces (the `shrink` guard; by default it may hold at most half fewer).
        #[arg(long)]
        allow_shrink: bool,
    },
    /// Check input files as a run would, write nothing; exit 1 if any would be rejected.
    Validate(ValidateArgs),
    /// Write a realistic synthetic corpus (and the truth a correct run must reproduce).
    Generate(GenerateArgs),
    /// Print every table's columns, types and descriptions.
    Schema {
        /// Machine-readable JSON instead of text.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Markdown tables (the README's schema reference is generated with this).
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Folders (walked recursively) and files to read; overrides `inputs` of the pipeline file.
    inputs: Vec<PathBuf>,
    /// Pipeline definition (TOML); flags given here override it.
    #[arg(long, short = 'p')]
    pipeline: Option<PathBuf>,
    /// Output folder, replaced atomically by a completed run.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Parquet compression: zstd (default), snappy or none.
    #[arg(long, value_parser = parse_codec)]
    compression: Option<Codec>,
    /// zstd level, 1–22.
    #[arg(long)]
    zstd_level: Option<i32>,
    /// Fail (exit 3, publish nothing) when more than this fraction of files is rejected
    /// (default 0.05; 1 allows any).
    #[arg(long)]
    max_reject_rate: Option<f64>,
    /// Publish even a night without any session file or session (the `no_input` and
    /// `no_sessions` guards).
    #[arg(long)]
    allow_empty: bool,
    /// Publish even when a folder under the inputs cannot be read (the `unreadable_input`
    /// guard); its files are then missing from a full run, and kept as they were by an
    /// incremental one.
    #[arg(long)]
    allow_unreadable: bool,
    /// Fail (exit 3) when the output would hold more than this fraction fewer sessions than
    /// the output it replaces (default 0.5; the `shrink` guard).
    #[arg(long, value_name = "FRACTION")]
    max_shrink: Option<f64>,
    /// The same as --max-shrink 1: publish however few sessions remain.
    #[arg(long, conflicts_with = "max_shrink")]
    allow_shrink: bool,
    /// Follow symbolic links that lead outside the input folders (by default they are
    /// counted and skipped).
    #[arg(long)]
    follow_external_links: bool,
    /// Reject files larger than this many bytes (after decompression).
    #[arg(long)]
    max_file_bytes: Option<u64>,
    /// Files per unit of parallel work.
    #[arg(long)]
    batch_files: Option<usize>,
    /// Rows per Parquet row group (default 1,000,000).
    #[arg(long)]
    row_group_rows: Option<usize>,
    /// Approximate bytes per Parquet row group (default 128 MiB).
    #[arg(long)]
    row_group_bytes: Option<usize>,
    /// Rows per Parquet file before a new file starts (default 10,000,000).
    #[arg(long)]
    max_rows_per_file: Option<usize>,
    /// Memory for rows waiting to be written as row groups, over all tables, in bytes
    /// (default 64 MiB; 1 writes every batch at once).
    #[arg(long)]
    buffer_bytes: Option<usize>,
    /// Unit of timestamp columns: micros (default) or millis (Athena/Glue).
    #[arg(long, value_parser = parse_timestamp_unit)]
    timestamp_unit: Option<TimestampUnit>,
    /// Folder layout of the session tables: date (default: <table>/date=YYYY-MM-DD/, the
    /// session's UTC creation day) or none (one flat folder per table).
    #[arg(long, value_parser = parse_partition_by)]
    partition_by: Option<PartitionBy>,
    /// Skip the derived outputs: `events`, `milestones` and `exchange/` stay empty.
    #[arg(long)]
    no_derive: bool,
    /// Process only shard INDEX of COUNT (`0/4`): the sessions whose key hashes to it. Merge
    /// the shard outputs with `session-etl commit`.
    #[arg(long, value_name = "INDEX/COUNT", conflicts_with_all = ["incremental", "full_refresh"])]
    shard: Option<Shard>,
    /// Build on the previous output: read only new and changed files (state in OUT/_state/),
    /// rebuild their sessions and the sessions of deleted files, keep everything else.
    /// Also `incremental = true` in the pipeline file.
    #[arg(long)]
    incremental: bool,
    /// Rebuild everything from the input and write a fresh OUT/_state/ (for the next
    /// --incremental run): after a settings change, or to compact partitions.
    #[arg(long)]
    full_refresh: bool,
    /// No progress bar, no log lines, no summary table.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Folders (walked recursively) and files to check; overrides `inputs` of the pipeline file.
    inputs: Vec<PathBuf>,
    /// Pipeline definition (TOML): its `inputs`, `max_file_bytes` and `threads` apply.
    #[arg(long, short = 'p')]
    pipeline: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// Reject files larger than this many bytes (after decompression).
    #[arg(long)]
    max_file_bytes: Option<u64>,
    /// JSON Lines on stdout: one `"type": "problem"` record per rejected file, then one
    /// `"type": "summary"` record.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Distinct sessions to write.
    #[arg(long)]
    sessions: u64,
    /// Folder to write: the corpus goes to OUT/sessions/, the expected results to OUT/truth.json.
    #[arg(long)]
    out: PathBuf,
    /// Seed: the same options give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of files that are bad (one defect each, spread over every reject kind).
    #[arg(long, default_value_t = 0.02)]
    bad_fraction: f64,
    /// Fraction of sessions re-exported later (a second, newer file).
    #[arg(long, default_value_t = 0.10)]
    duplicate_fraction: f64,
    /// Fraction of sessions that are chats.
    #[arg(long, default_value_t = 0.3)]
    chat_fraction: f64,
    /// Fraction of files written as .json.gz.
    #[arg(long, default_value_t = 0.05)]
    gzip_fraction: f64,
    /// Pretty-printed JSON, like the real exports (the default).
    #[arg(long, conflicts_with = "compact")]
    pretty: bool,
    /// Compact JSON.
    #[arg(long)]
    compact: bool,
}

fn parse_codec(s: &str) -> Result<Codec, String> {
    s.parse()
}

fn parse_timestamp_unit(s: &str) -> Result<TimestampUnit, String> {
    s.parse()
}

fn parse_partition_by(s: &str) -> Result<PartitionBy, String> {
    s.parse()
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("session-etl: error: {e:#}");
                exit_code_of(&e)
            }
        },
        Command::Commit {
            shards,
            output,
            quiet,
            allow_empty,
            allow_shrink,
        } => match session_etl::commit::commit(
            &shards,
            &output,
            &Guards::for_commit(allow_empty, allow_shrink),
        )
        .with_context(|| format!("commit into {}", output.display()))
        {
            Ok(committed) => {
                if !quiet {
                    println!(
                        "session-etl: committed {} shards into {}: {} files, {} sessions, {} rejected",
                        shards.len(),
                        output.display(),
                        committed.files,
                        committed.summary.sessions.written,
                        committed.summary.files.rejected,
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("session-etl: error: {e:#}");
                exit_code_of(&e)
            }
        },
        Command::Validate(args) => match validate(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("session-etl: error: {e:#}");
                // `validate` answers "would these files pass?": 1 is "no", so a path that
                // does not exist is a usage error.
                match e.downcast_ref::<session_etl::Error>() {
                    Some(session_etl::Error::Input { .. }) => ExitCode::from(EXIT_USAGE),
                    _ => exit_code_of(&e),
                }
            }
        },
        Command::Generate(args) => match generate(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("session-etl: error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Schema { json, markdown } => {
            print_schema(json, markdown);
            ExitCode::SUCCESS
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.pipeline {
        Some(path) => PipelineFile::load(path)?,
        None => PipelineFile::default(),
    };
    let flags = PipelineFile {
        inputs: Some(args.inputs),
        output: args.output,
        threads: args.threads,
        compression: args.compression,
        zstd_level: args.zstd_level,
        max_reject_rate: args.max_reject_rate,
        allow_empty: args.allow_empty.then_some(true),
        allow_unreadable: args.allow_unreadable.then_some(true),
        max_shrink: if args.allow_shrink {
            Some(1.0)
        } else {
            args.max_shrink
        },
        follow_external_links: args.follow_external_links.then_some(true),
        max_file_bytes: args.max_file_bytes,
        batch_files: args.batch_files,
        row_group_rows: args.row_group_rows,
        row_group_bytes: args.row_group_bytes,
        max_rows_per_file: args.max_rows_per_file,
        buffer_bytes: args.buffer_bytes,
        timestamp_unit: args.timestamp_unit,
        partition_by: args.partition_by,
        derive: args.no_derive.then_some(false),
        incremental: args.incremental.then_some(true),
        ..PipelineFile::default()
    };
    let progress = if args.quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    };
    let mut config = RunConfig::resolve(file, flags, progress)?;
    config.shard = args.shard;
    config.full_refresh = args.full_refresh;
    if config.shard.is_some() {
        // A shard is a full run of its part (a backfill): the pipeline file's `incremental`
        // is for the nightly run. The flags themselves conflict with --shard (clap).
        config.incremental = false;
    }
    let stop = StopFlag::on_signals().context("install the SIGINT, SIGTERM and SIGHUP handlers")?;
    let outcome = session_etl::run::run(&config, &stop)
        .with_context(|| format!("run into {}", config.output.display()))?;
    if !args.quiet {
        print!("{}", outcome.summary.to_table());
    }
    match outcome.stopped {
        None => Ok(ExitCode::SUCCESS),
        Some(stopped) => {
            eprintln!("session-etl: {stopped}");
            Ok(ExitCode::from(EXIT_GUARD))
        }
    }
}

fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.pipeline {
        Some(path) => PipelineFile::load(path)?,
        None => PipelineFile::default(),
    };
    let inputs = Some(args.inputs)
        .filter(|v| !v.is_empty())
        .or(file.inputs)
        .filter(|v| !v.is_empty())
        .context("no input: give INPUT paths or `inputs` in the pipeline file")?;
    for input in &inputs {
        session_etl::config::local_path(input, "input")?;
    }
    let max_file_bytes =
        session_etl::config::max_file_bytes(args.max_file_bytes.or(file.max_file_bytes))?;
    let threads = session_etl::config::threads_or_cores(args.threads.or(file.threads))?;
    let found = session_etl::validate::validate(&inputs, max_file_bytes, threads)?;
    let mut stdout = std::io::stdout().lock();
    for problem in &found.problems {
        let line = if args.json {
            problem.to_json().to_string()
        } else {
            problem.to_line()
        };
        writeln!(stdout, "{line}")?;
    }
    if args.json {
        let mut summary = serde_json::to_value(&found)?;
        summary["type"] = "summary".into();
        writeln!(stdout, "{summary}")?;
    } else {
        for error in &found.walk_errors {
            eprintln!("session-etl: cannot walk: {error}");
        }
        let kinds: Vec<String> = found
            .rejects_by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        eprintln!(
            "session-etl: {} files checked, {} valid, {} would be rejected{}",
            found.files,
            found.valid,
            found.rejected,
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" ({})", kinds.join(", "))
            }
        );
    }
    Ok(if found.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The exit code for a run that failed: the README's "Exit codes" table.
fn exit_code_of(error: &anyhow::Error) -> ExitCode {
    match error.downcast_ref::<session_etl::Error>() {
        Some(session_etl::Error::Interrupted) => ExitCode::from(EXIT_INTERRUPTED as u8),
        Some(session_etl::Error::Locked { .. }) => ExitCode::from(EXIT_LOCKED),
        Some(session_etl::Error::Guard(_)) => ExitCode::from(EXIT_GUARD),
        Some(session_etl::Error::Config(_) | session_etl::Error::PipelineFile { .. }) => {
            ExitCode::from(EXIT_USAGE)
        }
        _ => ExitCode::FAILURE,
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let options = GenerateOptions {
        sessions: args.sessions,
        out: args.out,
        seed: args.seed,
        bad_fraction: args.bad_fraction,
        duplicate_fraction: args.duplicate_fraction,
        chat_fraction: args.chat_fraction,
        gzip_fraction: args.gzip_fraction,
        pretty: !args.compact,
    };
    let truth = session_etl::generate::generate(&options)
        .with_context(|| format!("generate into {}", options.out.display()))?;
    println!(
        "wrote {} files ({} sessions, {} superseded re-exports, {} bad, {} ignored; {:.1} MB) to {}",
        truth.files_seen,
        truth.sessions,
        truth.superseded,
        truth.rejected,
        truth.files_ignored,
        truth.bytes as f64 / 1e6,
        options.out.join("sessions").display()
    );
    Ok(())
}

fn print_schema(json: bool, markdown: bool) {
    let tables = catalog();
    if json {
        let value: Vec<_> = tables
            .iter()
            .map(|(name, row, columns)| serde_json::json!({"table": name, "row": row, "columns": columns}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return;
    }
    for (name, row, columns) in tables {
        if markdown {
            println!("### `{name}`\n\nRows: {row}.\n\n| column | type | null | description |\n|---|---|---|---|");
            for c in columns {
                let null = if c.nullable { "yes" } else { "no" };
                println!(
                    "| `{}` | {} | {null} | {} |",
                    c.name,
                    c.type_name,
                    c.description.replace('|', "\\|")
                );
            }
            println!();
        } else {
            println!("{name}: {row}");
            for c in columns {
                let null = if c.nullable { "" } else { " not null" };
                println!(
                    "  {:<36} {:<20} {}{null}",
                    c.name, c.type_name, c.description
                );
            }
        }
    }
}
