//! `session-etl` command line: parses arguments, loads the pipeline file, calls the library,
//! and turns the outcome into an exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use session_etl::report::ProgressMode;
use session_etl::select::ShardSpec;
use session_etl::settings::{cmd, Flags, Invocation, Layer, RunConfig, Settings};
use session_etl::shared::stop::{StopFlag, EXIT_INTERRUPTED};
use session_etl::storage::{Location, Storage};
use session_etl::write::catalog;
use session_etl_generator::GenerateOptions;

/// Exit code for a bad command line or pipeline file (clap uses it for usage errors too).
const EXIT_USAGE: u8 = 2;
/// Exit code when a guard stopped the run (nothing published): see `session_etl::shared::guard`.
const EXIT_GUARD: u8 = 3;
/// Exit code when another run holds the output's lock: retry later, nothing is wrong.
const EXIT_LOCKED: u8 = 4;
/// Exit code of `publish` when Exchange refused some bodies (they are in the dead letters)
/// and accepted every other.
const EXIT_REFUSED: u8 = 5;

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
        /// The shard outputs, every one of them (folders or gs://, s3:// prefixes).
        #[arg(required = true, value_parser = shard_location)]
        shards: Vec<Location>,
        /// Pipeline definition (TOML): its output, guards and `[exchange]` batching apply.
        #[arg(long, short = 'p')]
        pipeline: Option<PathBuf>,
        /// The settings of `commit`: the output, the guards that judge the merged whole, and
        /// how the merged outbox is batched.
        #[command(flatten)]
        settings: Flags<cmd::Commit>,
        /// No summary line.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Send an output's Acoustic Exchange request bodies (its outbox) to Exchange, each once.
    Publish(PublishArgs),
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
    /// Print every setting: pipeline key, flag, environment variable, default and range.
    Settings {
        /// Markdown tables (`docs/settings.md` is generated with this).
        #[arg(long)]
        markdown: bool,
    },
}

/// `run`: the settings (declared in `session_etl::settings`) and what only one invocation
/// decides.
#[derive(clap::Args)]
struct RunArgs {
    /// Pipeline definition (TOML); flags and environment variables given here override it.
    #[arg(long, short = 'p')]
    pipeline: Option<PathBuf>,
    #[command(flatten)]
    settings: Flags<cmd::Run>,
    // The help is built from `select::SHARD_ENGINES`: it names every variable `auto` reads.
    #[arg(
        long,
        value_name = "INDEX/COUNT|auto[/COUNT]",
        help = ShardSpec::help(),
        conflicts_with = "full_refresh"
    )]
    shard: Option<ShardSpec>,
    /// Rebuild everything from the input and write a fresh OUT/_state/ (for the next
    /// --incremental run): after a settings change, or to compact partitions.
    #[arg(long)]
    full_refresh: bool,
    /// Once the output is published, send its Exchange outbox (as `session-etl publish`).
    #[arg(long, conflicts_with = "shard")]
    publish: bool,
    /// No progress bar, no log lines, no summary table.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// `publish`: the output, and the `[exchange]` delivery settings.
#[derive(clap::Args)]
struct PublishArgs {
    /// The output whose `exchange/` outbox is sent.
    #[arg(value_name = "OUT", value_parser = output_location)]
    output: Location,
    /// Pipeline definition (TOML): its `[exchange]` delivery settings apply.
    #[arg(long, short = 'p')]
    pipeline: Option<PathBuf>,
    #[command(flatten)]
    settings: Flags<cmd::Publish>,
    /// Send nothing: say how many bodies would be sent, and to where (no key needed).
    #[arg(long)]
    dry_run: bool,
    /// Send the refused bodies of `exchange/_dead-letter/` again (once what Exchange refused
    /// is fixed) instead of the outbox; those since delivered are not.
    #[arg(long)]
    dead_letters: bool,
    /// The report as JSON on stdout instead of a summary line.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Pipeline definition (TOML): its `inputs`, `threads` and `read.max_file_bytes` apply.
    #[arg(long, short = 'p')]
    pipeline: Option<PathBuf>,
    #[command(flatten)]
    settings: Flags<cmd::Validate>,
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("session-etl: error: {}", described(&e));
                exit_code_of(&e)
            }
        },
        Command::Commit {
            shards,
            pipeline,
            settings,
            quiet,
        } => match commit(&shards, &settings.layer, pipeline.as_ref(), quiet) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("session-etl: error: {}", described(&e));
                exit_code_of(&e)
            }
        },
        Command::Publish(args) => match publish(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("session-etl: error: {}", described(&e));
                exit_code_of(&e)
            }
        },
        Command::Validate(args) => match validate(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("session-etl: error: {}", described(&e));
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
                eprintln!("session-etl: error: {}", described(&e));
                ExitCode::FAILURE
            }
        },
        Command::Schema { json, markdown } => {
            quiet_on_closed_pipe();
            print_schema(json, markdown);
            ExitCode::SUCCESS
        }
        Command::Settings { markdown } => {
            quiet_on_closed_pipe();
            print!("{}", session_etl::settings::reference(markdown));
            ExitCode::SUCCESS
        }
    }
}

/// For the commands that only print a reference: `session-etl schema | head` ends quietly
/// when `head` has read enough, as Unix tools do, instead of panicking on the closed pipe.
/// (A run keeps Rust's default: a closed log pipe must not kill it mid-write.)
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The settings of a command: its flags and environment variables over the pipeline file.
fn settings(flags: &Layer, pipeline: Option<&PathBuf>) -> anyhow::Result<Settings> {
    let file = match pipeline {
        Some(path) => Layer::load(path)?,
        None => Layer::default(),
    };
    Ok(Settings::resolve(&[flags, &file])?)
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    // A shard is a full run of its part: `--incremental` beside it is a mistake, while an
    // `incremental` from the pipeline file or the environment is for the nightly run and is
    // ignored by the shard.
    if args.shard.is_some() && args.settings.flagged("incremental") {
        return Err(session_etl::Error::Config(
            "--shard and --incremental cannot be used together: shard a full backfill, then \
             run incremental nightly runs on the committed output"
                .into(),
        )
        .into());
    }
    // `--shard auto`: the job engine's variables decide, before anything is read.
    let shard = args
        .shard
        .map(|spec| spec.resolve(env_var))
        .transpose()
        .map_err(session_etl::Error::Config)?;
    let settings = settings(&args.settings.layer, args.pipeline.as_ref())?;
    let invocation = Invocation {
        shard: shard.map(|resolved| resolved.shard),
        full_refresh: args.full_refresh,
        progress: if args.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
    };
    let config = RunConfig::new(&settings, invocation)?;
    // `--publish`: the endpoint and the key are checked before a long run, not after it.
    let delivery = match args.publish {
        true => {
            if config.output.as_local().is_none() {
                return Err(session_etl::Error::Config(format!(
                    "--publish: {} is a bucket output, whose outbox `publish` cannot send yet \
                     (its runs keep it); publish from a local output",
                    config.output
                ))
                .into());
            }
            let delivery = settings.delivery()?;
            session_etl::delivery::ApiKey::load(delivery.key_file.as_deref())?;
            Some(delivery)
        }
        false => None,
    };
    if let Some(resolved) = shard.filter(|r| r.index_var.is_some() && !args.quiet) {
        eprintln!("session-etl: shard {resolved}");
    }
    let stop = StopFlag::on_signals().context("install the SIGINT, SIGTERM and SIGHUP handlers")?;
    let outcome = session_etl::commands::run::run(&config, &stop)
        .with_context(|| format!("run into {}", config.output))?;
    if !args.quiet {
        print!("{}", outcome.summary.to_table());
    }
    if let Some(stopped) = outcome.stopped {
        eprintln!("session-etl: {stopped}");
        return Ok(ExitCode::from(EXIT_GUARD));
    }
    let Some(delivery) = delivery else {
        return Ok(ExitCode::SUCCESS);
    };
    let published = session_etl::commands::publish::publish(
        &config.output,
        &delivery,
        session_etl::delivery::Sending::Outbox,
        false,
        &stop,
    )
    .with_context(|| {
        format!(
            "the output {} is published; sending its Exchange outbox failed (rerun \
                 `session-etl publish {}`)",
            config.output, config.output
        )
    })?;
    Ok(report_publish(&published, args.quiet, false))
}

fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.settings.layer, args.pipeline.as_ref())?;
    let delivery = settings.delivery()?;
    let stop = StopFlag::on_signals().context("install the SIGINT, SIGTERM and SIGHUP handlers")?;
    let sending = match args.dead_letters {
        true => session_etl::delivery::Sending::DeadLetters,
        false => session_etl::delivery::Sending::Outbox,
    };
    let published = session_etl::commands::publish::publish(
        &args.output,
        &delivery,
        sending,
        args.dry_run,
        &stop,
    )
    .with_context(|| format!("publish {}", args.output))?;
    Ok(report_publish(&published, false, args.json))
}

/// Prints what `publish` did and gives its exit code: 0 all delivered, 5 some refused (in
/// the dead letters), 2 the key refused, 1 some left undelivered, 130 stopped by a signal.
fn report_publish(
    published: &session_etl::commands::publish::Published,
    quiet: bool,
    json: bool,
) -> ExitCode {
    use session_etl::commands::publish::Published;
    use session_etl::delivery::Ending;
    let report = match published {
        Published::DryRun(pending) => {
            if json {
                println!("{}", serde_json::to_string(pending).unwrap_or_default());
            } else {
                println!(
                    "session-etl: would send {} bodies ({} events) from {} files to {}; {} \
                     bodies already answered",
                    pending.to_send.bodies,
                    pending.to_send.events,
                    pending.files,
                    pending.endpoint,
                    pending.already_answered.bodies
                );
            }
            return ExitCode::SUCCESS;
        }
        Published::Sent(report) => report,
    };
    if json {
        println!("{}", serde_json::to_string(report).unwrap_or_default());
    } else if !quiet {
        println!("{}", report.to_line());
    }
    match report.ending {
        Ending::Delivered => ExitCode::SUCCESS,
        Ending::SomeRefused => {
            eprintln!(
                "session-etl: Exchange refused {} bodies: they are in {} with its answers",
                report.dead_lettered.bodies,
                report.dead_letters.as_deref().unwrap_or("the dead letters")
            );
            ExitCode::from(EXIT_REFUSED)
        }
        Ending::Halted => {
            eprintln!(
                "session-etl: error: {}",
                report
                    .first_problem
                    .as_deref()
                    .unwrap_or("Exchange refused the key")
            );
            ExitCode::from(EXIT_USAGE)
        }
        Ending::Incomplete => {
            eprintln!(
                "session-etl: error: {} bodies are still undelivered (the next publish sends \
                 them): {}",
                report.undelivered.bodies,
                report.first_problem.as_deref().unwrap_or("retries ran out")
            );
            ExitCode::FAILURE
        }
        Ending::Interrupted => ExitCode::from(EXIT_INTERRUPTED as u8),
    }
}

/// An environment variable, a value that is not UTF-8 made readable for the error naming it.
fn env_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.settings.layer, args.pipeline.as_ref())?;
    let inputs = settings.required_inputs()?;
    let (max_file_bytes, threads) = (settings.max_file_bytes, settings.worker_threads());
    let storage = Storage::new(settings.storage());
    let found =
        session_etl::commands::validate::validate(&inputs, max_file_bytes, threads, &storage)?;
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

/// An output as written on the command line.
fn output_location(text: &str) -> Result<Location, String> {
    Location::parse(text, "output")
}

/// A shard output as written on the command line.
fn shard_location(text: &str) -> Result<Location, String> {
    Location::parse(text, "shard")
}

fn commit(
    shards: &[Location],
    flags: &Layer,
    pipeline: Option<&PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    let settings = settings(flags, pipeline)?;
    let output = settings.required_output()?;
    let storage = Storage::new(settings.storage());
    let guards = settings.commit_guards();
    let stop = StopFlag::on_signals().context("install the SIGINT, SIGTERM and SIGHUP handlers")?;
    let committed = session_etl::commands::commit::commit(
        shards,
        &output,
        &guards,
        &settings.exchange(),
        &storage,
        &stop,
    )
    .with_context(|| format!("commit into {output}"))?;
    if !quiet {
        println!(
            "session-etl: committed {} shards into {}: {} files, {} sessions, {} rejected",
            shards.len(),
            output,
            committed.files,
            committed.summary.sessions.written,
            committed.summary.files.rejected,
        );
    }
    Ok(())
}

/// An error and its causes on one line, as `{:#}` prints them but without a cause whose text
/// the line already holds: the library's errors name their source in their own message, so
/// `{:#}` alone said "No such file or directory (os error 2)" twice.
fn described(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The exit code for a run that failed: the README's "Exit codes" table.
fn exit_code_of(error: &anyhow::Error) -> ExitCode {
    match error.downcast_ref::<session_etl::Error>() {
        Some(session_etl::Error::Interrupted) => ExitCode::from(EXIT_INTERRUPTED as u8),
        Some(session_etl::Error::Locked { .. } | session_etl::Error::CommitConflict { .. }) => {
            ExitCode::from(EXIT_LOCKED)
        }
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
    let truth = session_etl_generator::generate(&options)
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
