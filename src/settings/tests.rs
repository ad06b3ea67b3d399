use std::path::{Path, PathBuf};

use clap::{Args as _, FromArgMatches as _};

use super::*;
use crate::storage::Location;
use crate::write::Codec;

/// The settings of `run` from a command line (no environment variable is set by the tests).
fn flags(args: &[&str]) -> std::result::Result<Layer, String> {
    let command = Flags::<cmd::Run>::augment_args(clap::Command::new("run").no_binary_name(true));
    let matches = command
        .try_get_matches_from(args)
        .map_err(|e| e.to_string())?;
    Flags::<cmd::Run>::from_arg_matches(&matches)
        .map(|f| f.layer)
        .map_err(|e| e.to_string())
}

fn file(text: &str) -> std::result::Result<Layer, String> {
    Layer::from_toml(text, Path::new("/pipelines"))
}

fn resolve(layers: &[&Layer]) -> Result<RunConfig> {
    RunConfig::new(&Settings::resolve(layers)?, Invocation::default())
}

#[test]
fn flags_override_the_file_and_paths_resolve_against_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.toml");
    std::fs::write(
        &path,
        "inputs = [\"in\"]\noutput = \"/abs/out\"\nthreads = 3\n[parquet]\ncompression = \"snappy\"\n",
    )
    .unwrap();
    let file = Layer::load(&path).unwrap();
    assert_eq!(
        file.inputs.as_deref(),
        Some(&[Location::Local(tmp.path().join("in"))][..])
    );
    let config = resolve(&[&flags(&["-j", "1"]).unwrap(), &file]).unwrap();
    assert_eq!((config.threads, config.parquet.codec), (1, Codec::Snappy));
    assert_eq!(config.output, Location::Local(PathBuf::from("/abs/out")));
    let config = resolve(&[&flags(&["--compression", "none"]).unwrap(), &file]).unwrap();
    assert_eq!((config.threads, config.parquet.codec), (3, Codec::None));
}

#[test]
fn a_section_key_may_also_be_written_at_the_top_level_but_not_twice() {
    let nested = file("[parquet]\nzstd_level = 7\n[guards]\nmax_shrink = 0.25\n").unwrap();
    let flat = file("zstd_level = 7\nmax_shrink = 0.25\n").unwrap();
    for layer in [nested, flat] {
        assert_eq!((layer.zstd_level, layer.max_shrink), (Some(7), Some(0.25)));
    }
    let err = file("zstd_level = 7\n[parquet]\nzstd_level = 8\n").unwrap_err();
    assert!(err.contains("`zstd_level` is given twice"), "{err}");
    // [exchange] keys always lived in their section.
    let err = file("channel = \"x\"\n").unwrap_err();
    assert!(err.contains("unknown key `channel`"), "{err}");
    let err = file("parquet = 3\n").unwrap_err();
    assert!(err.contains("`parquet` must be a table"), "{err}");
}

#[test]
fn every_key_can_be_switched_off_or_overridden_on_the_command_line() {
    let file = file("incremental = true\nderive = false\nallow_empty = true\n").unwrap();
    let settings = Settings::resolve(&[
        &flags(&["--no-incremental", "--derive", "--no-allow-empty"]).unwrap(),
        &file,
    ])
    .unwrap();
    assert!(!settings.incremental && settings.derive && !settings.allow_empty);
    // The last of a switch and its `--no-` wins, as in git.
    let layer = flags(&["--incremental", "--no-incremental", "--incremental"]).unwrap();
    assert_eq!(layer.incremental, Some(true));
    let layer = flags(&["--allow-shrink"]).unwrap();
    assert_eq!(layer.max_shrink, Some(1.0));
    assert!(flags(&["--allow-shrink", "--max-shrink", "0.2"]).is_err());
    let layer = flags(&[
        "--exchange-identifier",
        "crm=custom_data.CrmId, end_user.out_contact_id",
        "--exchange-identifier",
        "email=email",
        "--exchange-channel",
        "Call Center",
        "--row-group-bytes",
        "2097152",
    ])
    .unwrap();
    let identifiers = layer.identifiers.as_ref().unwrap();
    assert_eq!(identifiers.len(), 2);
    assert_eq!(
        identifiers[0].show(),
        "crm=custom_data.CrmId,end_user.out_contact_id"
    );
    assert_eq!(layer.channel.as_deref(), Some("Call Center"));
    assert_eq!(layer.row_group_bytes, Some(2 << 20));
    let err = flags(&["--exchange-identifier", "crm"]).unwrap_err();
    assert!(
        err.contains("--exchange-identifier: `crm` is not NAME=SOURCE"),
        "{err}"
    );
    let err = flags(&["--zstd-level", "high"]).unwrap_err();
    assert!(err.contains("--zstd-level: invalid value `high`"), "{err}");
}

#[test]
fn typos_and_bad_values_are_refused() {
    let err = file("inputz = [\"in\"]\n").unwrap_err();
    assert!(
        err.contains("unknown key `inputz`: did you mean `inputs`?"),
        "{err}"
    );
    // A typo gets the nearest key; a key in the wrong section gets its own section.
    let err = file("[guards]\nmax_reject_rat = 0.1\n").unwrap_err();
    assert!(
        err.contains("did you mean `guards.max_reject_rate`?"),
        "{err}"
    );
    let err = file("[parquet]\nmax_shrink = 0.1\n").unwrap_err();
    assert!(err.contains("did you mean `guards.max_shrink`?"), "{err}");
    let err = file("channel = \"x\"\n").unwrap_err();
    assert!(err.contains("did you mean `exchange.channel`?"), "{err}");
    // Nothing near: no guess.
    let err = file("[guards]\nqqqqqqqq = 1\n").unwrap_err();
    assert!(!err.contains("did you mean"), "{err}");
    let err = file("[parquet]\nzstd = 3\n").unwrap_err();
    assert!(err.contains("unknown key `parquet.zstd`"), "{err}");
    assert!(
        err.contains("zstd_level"),
        "the known keys are listed: {err}"
    );
    let err = file("threads = \"4\"\n").unwrap_err();
    assert!(err.starts_with("`threads`: "), "{err}");
    let err = file("[parquet]\ncompression = \"lz4\"\n").unwrap_err();
    assert!(
        err.contains("`parquet.compression`: unknown compression"),
        "{err}"
    );
    let err = file("inputs = \"in\"\n").unwrap_err();
    assert!(err.contains("`inputs`: expected an array"), "{err}");
    let base = file("inputs = [\"x\"]\noutput = \"o\"\n").unwrap();
    let bad = flags(&["--zstd-level", "99"]).unwrap();
    assert!(resolve(&[&bad, &base]).is_err());
}

#[test]
fn every_numeric_setting_is_checked_with_its_allowed_range() {
    let base = file("inputs = [\"x\"]\noutput = \"o\"\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--threads", "100000000000"],
            "`threads` (--threads) must be between 0 and 256 (0: one per core), got 100000000000",
        ),
        (&["--threads", "257"], "between 0 and 256"),
        (
            &["--batch-files", "0"],
            "`read.batch_files` (--batch-files) must be between 1 and",
        ),
        (&["--row-group-rows", "0"], "`parquet.row_group_rows`"),
        (&["--row-group-bytes", "1000"], "`parquet.row_group_bytes`"),
        (&["--max-rows-per-file", "0"], "`parquet.max_rows_per_file`"),
        (&["--buffer-bytes", "0"], "`parquet.buffer_bytes`"),
        (&["--max-file-bytes", "0"], "`read.max_file_bytes`"),
        (&["--max-file-bytes", "2147483648"], "`read.max_file_bytes`"),
        (
            &["--zstd-level", "0"],
            "`parquet.zstd_level` (--zstd-level) must be between 1 and 22, got 0",
        ),
        (&["--max-reject-rate", "1.5"], "`guards.max_reject_rate`"),
        (&["--max-reject-rate", "NaN"], "`guards.max_reject_rate`"),
        (&["--max-shrink", "-0.1"], "`guards.max_shrink`"),
        (
            &["--exchange-max-events-per-body", "0"],
            "between 1 and 10000, got 0",
        ),
    ];
    for (args, expected) in cases {
        let err = resolve(&[&flags(args).unwrap(), &base]).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(
            err.to_string().contains(expected),
            "{err}\nexpected: {expected}"
        );
    }
    // The bounds themselves are allowed; `a://` inside a file name is not a URL.
    let edge = flags(&[
        "--threads",
        "256",
        "--batch-files",
        "1",
        "--row-group-rows",
        "1",
        "--max-reject-rate",
        "1",
        "--max-shrink",
        "0",
        "in/x://y",
    ])
    .unwrap();
    let config = resolve(&[&edge, &base]).unwrap();
    assert_eq!(config.threads, MAX_THREADS);
    assert_eq!(config.inputs, [Location::Local(PathBuf::from("in/x://y"))]);
    let defaults = resolve(&[&base]).unwrap();
    assert_eq!(defaults.guards, Settings::default().guards());
    assert!(defaults.threads >= 1 && defaults.threads <= MAX_THREADS);
    // A bucket URL in a pipeline file is not joined to the file's folder; a URL of a store
    // session-etl does not speak is refused where it is written, never taken for a folder.
    let url = file("inputs = [\"gs://b1b/in\"]\noutput = \"o\"\n").unwrap();
    let config = resolve(&[&url]).unwrap();
    assert_eq!(
        config.inputs,
        [Location::parse("gs://b1b/in", "input").unwrap()]
    );
    assert!(config.inputs[0].as_bucket().is_some());
    for text in ["inputs = [\"az://c/in\"]", "output = \"http://host/out\""] {
        let err = file(text).unwrap_err();
        assert!(err.contains("is not supported"), "{err}");
    }
    for args in [&["--output", "az://bucket/out"][..], &["ftp://host/in"][..]] {
        let err = flags(args).map(|_| ()).unwrap_err();
        assert!(err.contains("is not supported"), "{err}");
    }
}

#[cfg(unix)]
#[test]
fn a_pipeline_file_must_be_a_small_regular_file() {
    let err = Layer::load(Path::new("/dev/zero")).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("p.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let err = Layer::load(&fifo).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let big = tmp.path().join("big.toml");
    std::fs::write(&big, "#".repeat(2 << 20)).unwrap();
    let err = Layer::load(&big).unwrap_err().to_string();
    assert!(err.contains("more than the 1048576 allowed"), "{err}");
}

#[test]
fn bundled_pipelines_load_and_nightly_states_the_defaults() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    for name in ["demo.toml", "nightly.toml"] {
        let file = Layer::load(&dir.join(name)).unwrap();
        resolve(&[&file]).unwrap();
    }
    let nightly = Settings::resolve(&[&Layer::load(&dir.join("nightly.toml")).unwrap()]).unwrap();
    // What nightly.toml sets on purpose; every other key it writes states the default.
    let defaults = Settings {
        inputs: nightly.inputs.clone(),
        output: nightly.output.clone(),
        incremental: true,
        max_reject_rate: 0.01,
        ..Settings::default()
    };
    assert_eq!(nightly, defaults);
}

#[test]
fn exchange_settings_default_and_are_validated() {
    let load = |text: &str| {
        let layer = file(&format!("inputs = [\"in\"]\noutput = \"out\"\n{text}"))
            .map_err(|e| Error::Config(e.to_string()))?;
        resolve(&[&layer])
    };
    let config = load("").unwrap();
    assert!(config.derive);
    assert_eq!(config.exchange, Settings::default().exchange());
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

/// The naming rules the declarations promise: a flag is its key with dashes (prefixed by
/// its section for `[exchange]`, whose keys are generic words), a variable is
/// `SESSION_ETL_` and the path in capitals, and keys are unique across sections.
#[test]
fn every_declaration_follows_the_naming_rules() {
    for def in defs::DEFS {
        let dashed = def.key.replace('_', "-");
        let flag = match def.section {
            Some(section) if !section.top_level_too => format!("{}-{dashed}", section.name),
            _ => dashed,
        };
        let flag = flag.trim_end_matches('s');
        assert!(
            def.flag.trim_end_matches('s') == flag,
            "{}: flag --{}",
            def.key,
            def.flag
        );
        if let Some(env) = def.env {
            let expected = format!("SESSION_ETL_{}", def.path().replace('.', "_")).to_uppercase();
            assert_eq!(env, expected, "{}", def.key);
        } else {
            assert_eq!(
                def.shape,
                Shape::Many,
                "{}: only lists go without a variable",
                def.key
            );
        }
        assert_eq!(
            defs::DEFS.iter().filter(|d| d.key == def.key).count(),
            1,
            "{} declared twice",
            def.key
        );
        assert!(!def.summary().is_empty(), "{} has no doc", def.key);
        // The default passes its own range.
        Settings::resolve(&[]).unwrap();
    }
}

#[test]
fn the_reference_lists_every_setting_with_its_flag() {
    let text = reference(true);
    for def in defs::DEFS {
        assert!(text.contains(&format!("| `{}` |", def.key)), "{}", def.key);
        if !def.positional {
            assert!(text.contains(&format!("--{}", def.flag)), "{}", def.flag);
        }
    }
    assert!(text.contains("| `buffer_bytes` | `--buffer-bytes BYTES` | `SESSION_ETL_PARQUET_BUFFER_BYTES` | `67108864` | 1–68719476736 (1: write every batch at once) | run |"));
}

#[test]
fn storage_settings_come_from_the_file_and_flags_and_never_hold_a_key() {
    let base = file(
        "inputs = [\"s3://ccaip-exports/m\"]\noutput = \"gs://ccaip-analytics/out\"\n\
         [storage]\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"eu-west-1\"\n\
         allow_http = true\nread_concurrency = 16\ngoogle_service_account = \"sa.json\"\n",
    )
    .unwrap();
    let config = resolve(&[&flags(&["--storage-max-retries", "3"]).unwrap(), &base]).unwrap();
    let storage = &config.storage;
    assert_eq!(storage.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(storage.region.as_deref(), Some("eu-west-1"));
    assert!(storage.allow_http);
    assert_eq!((storage.read_concurrency, storage.max_retries), (16, 3));
    // A key file's path is relative to the pipeline file, like every path.
    assert_eq!(
        storage.google_service_account.as_deref(),
        Some("/pipelines/sa.json")
    );
    assert!(config.output.as_bucket().is_some() && config.inputs[0].as_bucket().is_some());
    // Credentials themselves are not settings: a key in the file is an unknown key.
    for key in ["secret_access_key", "access_key_id", "service_account_key"] {
        let err = file(&format!("[storage]\n{key} = \"x\"\n")).unwrap_err();
        assert!(err.contains(key), "{err}");
    }
    let err = flags(&["--storage-read-concurrency", "0"])
        .map(|l| resolve(&[&l]).map(|_| ()))
        .map_err(|e| e.to_string());
    assert!(format!("{err:?}").contains("between 1 and 1024"), "{err:?}");
}
