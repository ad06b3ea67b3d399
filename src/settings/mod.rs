//! Run settings. Each setting is declared once, in [`defs`]: its name, type, default, allowed
//! range, documentation, command-line flag, pipeline key (and section) and environment
//! variable. Everything else is generated from that list: the flags of `run`, `validate` and
//! `commit`, the pipeline-file reader, the range checks, `session-etl settings` and the
//! settings reference in `docs/settings.md`.
//!
//! A value is looked up, first found wins: the command line, the environment
//! (`SESSION_ETL_…`), the pipeline file (TOML, relative paths against the file's folder), the
//! default. Every value is checked before anything runs: out of range is a usage error naming
//! the key, the flag and the range, never silently clamped.

mod defs;
mod value;

use std::marker::PhantomData;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};

pub use defs::{Settings, DEFS, MAX_THREADS};
pub use value::{SettingValue, Shape};

use crate::derive::ExchangeSettings;
use crate::report::ProgressMode;
use crate::select::Shard;
use crate::shared::error::{Error, Result};
use crate::shared::guard::Guards;
use crate::shared::paths::read_small_file;
use crate::storage::{Location, StorageOptions};
use crate::write::ParquetSettings;

/// The commands that take settings; a setting lists those it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// `session-etl run`.
    Run,
    /// `session-etl validate`.
    Validate,
    /// `session-etl commit`.
    Commit,
    /// `session-etl publish`.
    Publish,
}

/// A group of settings: a `[section]` of the pipeline file.
#[derive(Debug)]
pub struct Section {
    /// The table name in the pipeline file.
    pub name: &'static str,
    /// What the section is about (the docs' heading).
    pub doc: &'static str,
    /// Its keys are also accepted at the top level of a pipeline file, as they were written
    /// before sections existed, so older pipeline files keep working.
    pub top_level_too: bool,
}

/// One setting, as declared in [`defs`].
#[derive(Debug)]
pub struct Def {
    /// The pipeline key (and the field of [`Settings`]).
    pub key: &'static str,
    /// Its section of the pipeline file; `None` for the top level.
    pub section: Option<&'static Section>,
    /// The long flag, without dashes.
    pub flag: &'static str,
    /// `no-<flag>`, the flag that turns a switch off.
    pub no_flag: &'static str,
    /// The short flag.
    pub short: Option<char>,
    /// The environment variable; `None` where one variable cannot hold the value well.
    pub env: Option<&'static str>,
    /// Placeholder of the value in `--help`.
    pub value_name: &'static str,
    /// A positional argument (the inputs) rather than a flag.
    pub positional: bool,
    /// What it does and why one would change it; the first line is the short help.
    pub doc: &'static str,
    /// How the value is given.
    pub shape: Shape,
    /// The default, as written in a pipeline file or on the command line.
    pub default: fn() -> String,
    /// The allowed range, when it has one (`1–22`).
    pub range: Option<fn() -> String>,
    /// A switch that sets the setting to a fixed value (`--allow-shrink` = `--max-shrink 1`).
    pub alias: Option<Alias>,
    /// The commands it applies to.
    pub used_by: &'static [Cmd],
}

/// A switch standing for one value of a setting.
#[derive(Debug)]
pub struct Alias {
    /// The flag, without dashes.
    pub flag: &'static str,
    /// The value it stands for.
    pub value: &'static str,
    /// Its help line.
    pub help: &'static str,
}

impl Def {
    /// `section.key`, or `key` at the top level: how messages and the docs name a setting.
    pub fn path(&self) -> String {
        match self.section {
            Some(section) => format!("{}.{}", section.name, self.key),
            None => self.key.to_owned(),
        }
    }

    /// The first line of the doc.
    pub fn summary(&self) -> &'static str {
        self.doc.lines().next().unwrap_or_default().trim()
    }

    /// The whole doc, without the doc comments' leading spaces.
    pub fn doc_text(&self) -> String {
        let lines: Vec<&str> = self.doc.trim_end().lines().map(str::trim).collect();
        lines.join("\n")
    }

    /// The default, or `None` when there is nothing to show (no inputs).
    fn shown_default(&self) -> Option<String> {
        Some((self.default)()).filter(|d| !d.is_empty())
    }

    fn applies_to(&self, cmd: Cmd) -> bool {
        self.used_by.contains(&cmd)
    }

    /// The clap arguments of this setting: its flag (or positional), a switch's `--no-` flag,
    /// and its alias.
    fn args(&'static self) -> Vec<Arg> {
        let help = format!("{} {}", self.summary(), self.notes(false));
        let long_help = format!("{}\n\n{}", self.doc_text(), self.notes(true));
        let mut arg = Arg::new(self.key).help(help).long_help(long_help);
        if !self.positional {
            arg = arg.long(self.flag);
        }
        if let Some(short) = self.short {
            arg = arg.short(short);
        }
        if let Some(env) = self.env {
            arg = arg.env(env);
        }
        arg = match self.shape {
            Shape::Switch => {
                // Only a variable gives a switch a value: name it when the value is no switch.
                let env = self.env.unwrap_or(self.key);
                arg.action(ArgAction::SetTrue)
                    .value_parser(clap::builder::ValueParser::new(move |text: &str| {
                        boolish(text).ok_or_else(|| {
                            format!("{env}={text:?}: expected true or false (1/0, yes/no, on/off)")
                        })
                    }))
                    .overrides_with(self.no_flag)
            }
            Shape::One => arg
                .action(ArgAction::Set)
                .allow_negative_numbers(true)
                .value_name(self.value_name)
                .value_parser(clap::builder::ValueParser::os_string()),
            Shape::Many => arg
                .action(ArgAction::Append)
                .num_args(if self.positional { 0.. } else { 1.. })
                .value_name(self.value_name)
                .value_parser(clap::builder::ValueParser::os_string()),
        };
        let mut args = vec![arg];
        if self.shape == Shape::Switch {
            args.push(
                Arg::new(self.no_flag)
                    .long(self.no_flag)
                    .action(ArgAction::SetTrue)
                    .help(format!("Turn --{} off", self.flag))
                    .overrides_with(self.key),
            );
        }
        if let Some(alias) = &self.alias {
            args.push(
                Arg::new(alias.flag)
                    .long(alias.flag)
                    .action(ArgAction::SetTrue)
                    .help(alias.help),
            );
        }
        args
    }

    /// The default, the range and the pipeline key, as `--help` (`long`) and `-h` show them
    /// after the doc; `-h` leaves out a switch's `false` default.
    fn notes(&self, long: bool) -> String {
        let mut notes = Vec::new();
        if let Some(default) = self.shown_default().filter(|d| long || d != "false") {
            notes.push(format!("[default: {default}]"));
        }
        if let Some(range) = self.range {
            notes.push(format!("[allowed: {}]", range()));
        }
        let key = if long { "pipeline key" } else { "key" };
        notes.push(format!("[{key}: {}]", self.path()));
        notes.join(" ")
    }

    /// The values the command line or the environment gave this setting, if any.
    fn given(&self, matches: &ArgMatches) -> std::result::Result<Option<Given>, String> {
        let from = |id: &str| match matches.value_source(id) {
            Some(ValueSource::CommandLine) => Some(Origin::Flag),
            Some(ValueSource::EnvVariable) => Some(Origin::Env),
            _ => None,
        };
        if let Some(alias) = &self.alias {
            if from(alias.flag).is_some() {
                // The alias beats the setting's variable, but not its own flag.
                if let Some(Origin::Flag) = from(self.key) {
                    return Err(format!(
                        "--{} and --{} cannot be used together",
                        alias.flag, self.flag
                    ));
                }
                return Ok(Some(Given {
                    origin: Origin::Flag,
                    values: vec![alias.value.into()],
                }));
            }
        }
        if self.shape == Shape::Switch {
            if from(self.no_flag).is_some() {
                return Ok(Some(Given {
                    origin: Origin::Flag,
                    values: vec!["false".into()],
                }));
            }
            let Some(origin) = from(self.key) else {
                return Ok(None);
            };
            let on = matches
                .try_get_one::<bool>(self.key)
                .map_err(|e| e.to_string())?
                .copied()
                .unwrap_or(false);
            return Ok(Some(Given {
                origin,
                values: vec![on.to_string().into()],
            }));
        }
        let Some(origin) = from(self.key) else {
            return Ok(None);
        };
        let values = matches
            .try_get_raw(self.key)
            .map_err(|e| e.to_string())?
            .into_iter()
            .flatten()
            .map(|v| v.to_owned())
            .collect();
        Ok(Some(Given { origin, values }))
    }

    /// Names where a value came from, for an error about it.
    fn named(&self, origin: Origin) -> String {
        match origin {
            Origin::Flag if self.positional => format!("{} `{}`", self.value_name, self.key),
            Origin::Flag => format!("--{}", self.flag),
            Origin::Env => self.env.unwrap_or(self.key).to_owned(),
        }
    }
}

/// A switch's value in a variable, as clap's `BoolishValueParser` reads it.
fn boolish(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Origin {
    Flag,
    Env,
}

struct Given {
    origin: Origin,
    values: Vec<std::ffi::OsString>,
}

/// The declaration of the setting stored in field `key` of [`Settings`].
fn def(key: &str) -> &'static Def {
    // The keys are `stringify!`ed from the same list, so a miss is impossible.
    defs::DEFS
        .iter()
        .find(|d| d.key == key)
        .unwrap_or(&defs::DEFS[0])
}

/// Checks that a value lies in `min..=max`, naming the setting by key and flag.
fn within<T: PartialOrd + std::fmt::Display>(
    def: &Def,
    value: &T,
    min: T,
    max: T,
    note: &str,
) -> Result<()> {
    // Written so that NaN fails too.
    if *value >= min && *value <= max {
        return Ok(());
    }
    Err(Error::Config(format!(
        "`{}` (--{}) must be between {min} and {max}{note}, got {value}",
        def.path(),
        def.flag
    )))
}

/// Values of some settings from one place (the command line and environment, or a pipeline
/// file); [`Settings::resolve`] layers them.
pub use defs::Layer;

impl Layer {
    /// Reads a pipeline file.
    pub fn load(path: &Path) -> Result<Layer> {
        let failed = |message: String| Error::PipelineFile {
            path: path.to_owned(),
            message,
        };
        let bytes =
            read_small_file(path, MAX_PIPELINE_FILE_BYTES).map_err(|e| failed(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| failed(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        Layer::from_toml(&text, base).map_err(failed)
    }

    /// Reads the text of a pipeline file whose folder is `base`. Unknown keys are an error: a
    /// typo must not silently fall back to a default in a nightly job.
    pub fn from_toml(text: &str, base: &Path) -> std::result::Result<Layer, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut layer = Layer::default();
        for def in defs::DEFS {
            if let Some(value) = take(&mut table, def)? {
                layer
                    .set_toml(def.key, value, base)
                    .map_err(|e| format!("`{}`: {e}", def.path()))?;
            }
        }
        refuse_unknown(&table)?;
        Ok(layer)
    }
}

/// Removes a setting's value from a pipeline file's table: from its section, or (for the
/// sections that allow it) from the top level, never both.
fn take(table: &mut toml::Table, def: &Def) -> std::result::Result<Option<toml::Value>, String> {
    let Some(section) = def.section else {
        return Ok(table.remove(def.key));
    };
    let nested = match table.get_mut(section.name) {
        Some(toml::Value::Table(inner)) => inner.remove(def.key),
        Some(_) => {
            return Err(format!(
                "`{}` must be a table: [{}]",
                section.name, section.name
            ))
        }
        None => None,
    };
    let flat = if section.top_level_too {
        table.remove(def.key)
    } else {
        None
    };
    match (nested, flat) {
        (Some(_), Some(_)) => Err(format!(
            "`{}` is given twice: at the top level and in [{}]",
            def.key, section.name
        )),
        (nested, flat) => Ok(nested.or(flat)),
    }
}

/// What is left of a pipeline file's table once every setting was taken is unknown.
fn refuse_unknown(table: &toml::Table) -> std::result::Result<(), String> {
    for (key, value) in table {
        let section = defs::SECTIONS.iter().find(|s| s.name == key);
        match (section, value) {
            (Some(section), toml::Value::Table(inner)) => {
                if let Some(unknown) = inner.keys().next() {
                    let known: Vec<_> = defs::DEFS
                        .iter()
                        .filter(|d| d.section.is_some_and(|s| s.name == section.name))
                        .map(|d| d.key)
                        .collect();
                    return Err(format!(
                        "unknown key `{}.{unknown}`{} (known in [{}]: {})",
                        section.name,
                        did_you_mean(unknown, &format!("{}.{unknown}", section.name)),
                        section.name,
                        known.join(", ")
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "unknown key `{key}`{} (see `session-etl settings` for every key)",
                    did_you_mean(key, key)
                ))
            }
        }
    }
    Ok(())
}

/// `: did you mean `…`?` naming the setting an unknown key (`key`, written as `path`) most
/// likely meant, as clap suggests a flag: the same key in its right section, else the nearest
/// path by Jaro-Winkler similarity (clap's measure), if close enough; empty otherwise.
fn did_you_mean(key: &str, path: &str) -> String {
    let same_key = defs::DEFS.iter().find(|d| d.key == key);
    let nearest = || {
        defs::DEFS
            .iter()
            .map(|d| (strsim::jaro_winkler(path, &d.path()), d))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, d)| d)
    };
    match same_key.or_else(nearest) {
        Some(def) => format!(": did you mean `{}`?", def.path()),
        None => String::new(),
    }
}

/// Pipeline files are a few KB; anything larger is not one (`--pipeline /dev/zero`).
const MAX_PIPELINE_FILE_BYTES: u64 = 1 << 20;

/// The command-line flags and environment variables of the settings of one command, for
/// `#[command(flatten)]` in the binary's argument structs.
pub struct Flags<C: ForCmd> {
    /// What the command line and the environment set.
    pub layer: Layer,
    /// The keys given by a flag (not by a variable): only those conflict with another flag.
    flagged: Vec<&'static str>,
    cmd: PhantomData<C>,
}

impl<C: ForCmd> Flags<C> {
    /// True when `key` was given by its flag on the command line (not by a variable).
    pub fn flagged(&self, key: &str) -> bool {
        self.flagged.contains(&key)
    }
}

/// Names the command a [`Flags`] is for.
pub trait ForCmd {
    /// The command.
    const CMD: Cmd;
}

/// Marker types for [`Flags`].
pub mod cmd {
    /// `run`.
    pub struct Run;
    /// `validate`.
    pub struct Validate;
    /// `commit`.
    pub struct Commit;
    impl super::ForCmd for Run {
        const CMD: super::Cmd = super::Cmd::Run;
    }
    impl super::ForCmd for Validate {
        const CMD: super::Cmd = super::Cmd::Validate;
    }
    impl super::ForCmd for Commit {
        const CMD: super::Cmd = super::Cmd::Commit;
    }
    /// `publish`.
    pub struct Publish;
    impl super::ForCmd for Publish {
        const CMD: super::Cmd = super::Cmd::Publish;
    }
}

impl<C: ForCmd> clap::FromArgMatches for Flags<C> {
    /// Reads the settings of the command from its flags and environment variables.
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut layer = Layer::default();
        let mut flagged = Vec::new();
        let raw_error = |e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, e);
        for def in defs::DEFS.iter().filter(|d| d.applies_to(C::CMD)) {
            let Some(given) = def.given(matches).map_err(raw_error)? else {
                continue;
            };
            layer
                .set(def.key, &given.values)
                .map_err(|e| raw_error(format!("{}: {e}", def.named(given.origin))))?;
            if let Origin::Flag = given.origin {
                flagged.push(def.key);
            }
        }
        Ok(Flags {
            layer,
            flagged,
            cmd: PhantomData,
        })
    }

    fn update_from_arg_matches(
        &mut self,
        matches: &ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<C: ForCmd> clap::Args for Flags<C> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let args = defs::DEFS
            .iter()
            .filter(|d| d.applies_to(C::CMD))
            .flat_map(Def::args);
        cmd.args(args)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl Settings {
    /// The inputs, which every command that reads needs.
    pub fn required_inputs(&self) -> Result<Vec<Location>> {
        if self.inputs.is_empty() {
            return Err(Error::Config(
                "no input: give INPUT paths or `inputs` in the pipeline file".into(),
            ));
        }
        Ok(self.inputs.clone())
    }

    /// The output folder, which `run` and `commit` need.
    pub fn required_output(&self) -> Result<Location> {
        self.output.clone().ok_or_else(|| {
            Error::Config("no output: give --output or `output` in the pipeline file".into())
        })
    }

    /// How buckets are reached.
    pub fn storage(&self) -> StorageOptions {
        StorageOptions {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            allow_http: self.allow_http,
            read_concurrency: self.read_concurrency,
            max_retries: self.max_retries,
            retry_timeout: std::time::Duration::from_secs(self.retry_timeout_secs),
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
            google_service_account: self
                .google_service_account
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        }
    }

    /// The worker threads: the number asked for, or one per core for 0.
    pub fn worker_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS),
            n => n,
        }
    }

    /// The Parquet encoding and layout.
    pub fn parquet(&self) -> ParquetSettings {
        ParquetSettings {
            codec: self.compression,
            zstd_level: self.zstd_level,
            row_group_rows: self.row_group_rows,
            row_group_bytes: self.row_group_bytes,
            max_rows_per_file: self.max_rows_per_file,
            timestamp_unit: self.timestamp_unit,
            partition_by: self.partition_by,
            buffer_bytes: self.buffer_bytes,
        }
    }

    /// The guards of a run.
    pub fn guards(&self) -> Guards {
        Guards {
            max_reject_rate: self.max_reject_rate,
            allow_empty: self.allow_empty,
            allow_unreadable: self.allow_unreadable,
            max_shrink: self.max_shrink,
        }
    }

    /// The guards of `commit`: each shard judged its own input and reject rate, so only the
    /// merged whole is checked, for sessions at all and against the output it replaces.
    pub fn commit_guards(&self) -> Guards {
        Guards {
            max_reject_rate: 1.0,
            allow_unreadable: true,
            ..self.guards()
        }
    }

    /// How `publish` sends the outbox: the endpoint checked now, so a bad URL stops the
    /// command before anything is read (exit 2).
    pub fn delivery(&self) -> Result<crate::delivery::Delivery> {
        Ok(crate::delivery::Delivery {
            endpoint: crate::delivery::Endpoint::parse(&self.url)?,
            key_file: self.key_file.clone(),
            concurrency: self.concurrency,
            attempts: self.attempts,
            attempt_timeout: std::time::Duration::from_secs(self.attempt_timeout_secs),
            deadline: std::time::Duration::from_secs(self.deadline_secs),
        })
    }

    /// The Acoustic Exchange settings.
    pub fn exchange(&self) -> ExchangeSettings {
        ExchangeSettings {
            channel: self.channel.clone(),
            max_events_per_body: self.max_events_per_body,
            max_body_bytes: self.max_body_bytes,
            identifiers: self.identifiers.clone(),
        }
    }
}

/// What one invocation of `run` adds to its settings: things that differ from one call to
/// the next by nature, so they are flags only, never pipeline keys.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// `--shard I/N`: this worker's part of the input.
    pub shard: Option<Shard>,
    /// `--full-refresh`: a one-off rebuild.
    pub full_refresh: bool,
    /// `--quiet` or not.
    pub progress: ProgressMode,
}

/// Everything a run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Input folders, files and bucket prefixes.
    pub inputs: Vec<Location>,
    /// Output folder or bucket prefix.
    pub output: Location,
    /// How buckets are reached.
    pub storage: StorageOptions,
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
    pub shard: Option<Shard>,
    /// Build on the previous output and its `_state/`, processing only what changed.
    pub incremental: bool,
    /// Ignore the previous output's state and rebuild everything, writing a new state
    /// (implies `incremental`).
    pub full_refresh: bool,
}

impl RunConfig {
    /// A run from resolved settings and its invocation flags.
    pub fn new(settings: &Settings, invocation: Invocation) -> Result<RunConfig> {
        let exchange = settings.exchange();
        exchange.validate().map_err(Error::Config)?;
        Ok(RunConfig {
            inputs: settings.required_inputs()?,
            output: settings.required_output()?,
            storage: settings.storage(),
            threads: settings.worker_threads(),
            parquet: settings.parquet(),
            guards: settings.guards(),
            follow_external_links: settings.follow_external_links,
            max_file_bytes: settings.max_file_bytes,
            batch_files: settings.batch_files,
            progress: invocation.progress,
            derive: settings.derive,
            exchange,
            // A shard is a full run of its part (a backfill): the pipeline file's
            // `incremental` is for the nightly run. The flags themselves conflict with
            // --shard (clap).
            incremental: settings.incremental && invocation.shard.is_none(),
            shard: invocation.shard,
            full_refresh: invocation.full_refresh,
        })
    }

    /// True when the run reads or writes `OUT/_state/` (`incremental` or `full_refresh`).
    pub fn keeps_state(&self) -> bool {
        self.incremental || self.full_refresh
    }
}

/// The settings reference: every section and setting with its flag, variable, default and
/// range, as Markdown (`docs/settings.md` ends with it) or as text.
pub fn reference(markdown: bool) -> String {
    let mut out = String::new();
    let top = Section {
        name: "",
        doc: "What to read, where to write, and what a run does.",
        top_level_too: false,
    };
    let groups = std::iter::once(&top).chain(defs::SECTIONS.iter().copied());
    for section in groups {
        let members: Vec<&Def> = defs::DEFS
            .iter()
            .filter(|d| d.section.map_or("", |s| s.name) == section.name)
            .collect();
        let title = if section.name.is_empty() {
            "top level".to_owned()
        } else {
            format!("[{}]", section.name)
        };
        if markdown {
            out.push_str(&format!("### `{title}`\n\n{}\n\n", section.doc));
            out.push_str(
                "| key | flag | environment | default | allowed | commands | description |\n",
            );
            out.push_str("|---|---|---|---|---|---|---|\n");
        } else {
            out.push_str(&format!("{title}: {}\n", section.doc));
        }
        for def in members {
            let flag = match (def.positional, def.shape) {
                (true, _) => format!("{}…", def.value_name),
                (false, Shape::Switch) => format!("--{}, --{}", def.flag, def.no_flag),
                (false, _) => format!("--{} {}", def.flag, def.value_name),
            };
            let flag = match &def.alias {
                Some(alias) => format!("{flag}, --{}", alias.flag),
                None => flag,
            };
            let env = def.env.unwrap_or("—");
            let range = def.range.map_or_else(|| "—".to_owned(), |r| r());
            let default = (def.default)();
            let commands: Vec<&str> = def
                .used_by
                .iter()
                .map(|c| match c {
                    Cmd::Run => "run",
                    Cmd::Validate => "validate",
                    Cmd::Commit => "commit",
                    Cmd::Publish => "publish",
                })
                .collect();
            let commands = commands.join(", ");
            if markdown {
                let doc = def.doc.split_whitespace().collect::<Vec<_>>().join(" ");
                let default = if default.is_empty() {
                    "—".to_owned()
                } else {
                    format!("`{default}`")
                };
                out.push_str(&format!(
                    "| `{}` | `{flag}` | `{env}` | {default} | {range} | {commands} | {} |\n",
                    def.key,
                    doc.replace('|', "\\|")
                ));
            } else {
                let default = if default.is_empty() { "—" } else { &default };
                out.push_str(&format!(
                    "  {:<24} {flag}\n  {:<24} env {env}, default {default}, allowed {range}, for {commands}\n  {:<24} {}\n",
                    def.path(),
                    "",
                    "",
                    def.summary()
                ));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
