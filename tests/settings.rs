//! Settings as a user gives them: a sectioned pipeline file, environment variables over it,
//! flags over both, `--no-` switches, and usage errors that name where the bad value came from.

use crate::util::*;

fn run_json(out: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("_run.json")).unwrap()).unwrap()
}

#[test]
fn flags_beat_variables_which_beat_the_pipeline_file() {
    let dir = Dir::new();
    let pipeline = dir.create(
        "p.toml",
        "threads = 3\n[parquet]\npartition_by = \"none\"\n",
    );
    let fixtures = repo().join("fixtures/good");
    for (env, flags, threads) in [
        (None, vec![], 3),
        (Some("2"), vec![], 2),
        (Some("2"), vec!["-j", "1"], 1),
    ] {
        let out = dir.join(&format!("out-{threads}"));
        let mut cmd = session_etl(&["run", "--quiet", "--pipeline"])
            .arg(&pipeline)
            .arg("--output")
            .arg(&out)
            .arg(&fixtures)
            .args(&flags);
        if let Some(value) = env {
            cmd = cmd.env("SESSION_ETL_THREADS", value);
        }
        cmd.assert_exit(0);
        let summary = run_json(&out);
        assert_eq!(summary["threads"], threads, "{env:?} {flags:?}");
        assert_eq!(
            summary["partition_by"], "none",
            "[parquet] partition_by applies"
        );
        assert!(
            !out.join("sessions").read_dir().unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("date=")),
            "flat tables"
        );
    }
}

#[test]
fn no_switches_turn_off_what_the_pipeline_file_turns_on() {
    let dir = Dir::new();
    let pipeline = dir.create("p.toml", "incremental = true\nderive = true\n");
    let out = dir.join("out");
    let run = |extra: &[&str]| {
        session_etl(&["run", "--quiet", "--pipeline"])
            .arg(&pipeline)
            .arg("--output")
            .arg(&out)
            .arg(repo().join("fixtures/good"))
            .args(extra)
            .assert_exit(0);
        run_json(&out)
    };
    // The first incremental run has no state to build on; the second does.
    run(&[]);
    assert!(run(&[])["incremental"].is_object());
    let summary = run(&["--no-incremental", "--no-derive"]);
    assert!(summary["incremental"].is_null(), "{summary}");
    assert_eq!(summary["rows"]["events"], 0, "{summary}");
    // A variable switches too, and a flag beats it.
    let summary = session_etl(&["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .arg("--output")
        .arg(&out)
        .arg(repo().join("fixtures/good"))
        .env("SESSION_ETL_INCREMENTAL", "false")
        .env("SESSION_ETL_DERIVE", "0")
        .arg("--derive")
        .assert_exit(0);
    drop(summary);
    let summary = run_json(&out);
    assert!(summary["incremental"].is_null(), "{summary}");
    assert_ne!(summary["rows"]["events"], 0, "{summary}");
}

#[test]
fn a_bad_value_is_a_usage_error_naming_where_it_came_from() {
    let dir = Dir::new();
    let out = dir.join("out");
    for (var, value, expected) in [
        (
            "SESSION_ETL_THREADS",
            "many",
            "SESSION_ETL_THREADS: invalid value `many`",
        ),
        (
            "SESSION_ETL_PARQUET_ZSTD_LEVEL",
            "99",
            "`parquet.zstd_level` (--zstd-level) must be between 1 and 22, got 99",
        ),
        (
            "SESSION_ETL_DERIVE",
            "maybe",
            "SESSION_ETL_DERIVE=\"maybe\": expected true or false",
        ),
    ] {
        let output = session_etl(&["run", "--quiet", "--output"])
            .arg(&out)
            .arg("fixtures/good")
            .env(var, value)
            .assert_exit(2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
    }
    let pipeline = dir.create("p.toml", "[parquet]\ncompresion = \"zstd\"\n");
    let output = session_etl(&["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .arg("--output")
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown key `parquet.compresion`"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn commit_takes_its_output_and_guards_from_the_same_declarations() {
    let dir = Dir::new();
    let output = session_etl(&["commit", "--max-shrink", "2"])
        .arg(dir.join("shard"))
        .env("SESSION_ETL_OUTPUT", dir.join("out"))
        .assert_exit(2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`guards.max_shrink` (--max-shrink) must be between 0 and 1"),
        "{stderr}"
    );
    let output = session_etl(&["commit"])
        .arg(dir.join("shard"))
        .assert_exit(2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no output"), "{stderr}");
}

#[test]
fn a_flag_beats_a_variable_it_would_conflict_with_as_a_flag() {
    let dir = Dir::new();
    let run = |out: &str, flags: &[&str], env: (&str, &str)| {
        session_etl(&["run", "--quiet", "--output"])
            .arg(dir.join(out))
            .arg("fixtures/good")
            .args(flags)
            .env(env.0, env.1)
            .run()
    };
    // --allow-shrink stands for --max-shrink 1: it overrides the variable, not the flag.
    let out = run(
        "a",
        &["--allow-shrink"],
        ("SESSION_ETL_GUARDS_MAX_SHRINK", "0.2"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run("b", &["--allow-shrink", "--max-shrink", "0.3"], ("X", ""));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--allow-shrink and --max-shrink cannot be used together"),
        "{stderr}"
    );
    // A shard ignores an `incremental` meant for the nightly run, but not the flag.
    let out = run(
        "c",
        &["--shard", "0/2"],
        ("SESSION_ETL_INCREMENTAL", "true"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run_json(&dir.join("c"))["incremental"].is_null());
    let out = run("d", &["--shard", "0/2", "--incremental"], ("X", ""));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--shard and --incremental cannot be used together"),
        "{stderr}"
    );
}
