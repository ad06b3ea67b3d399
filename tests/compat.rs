//! BI compatibility: real clients (DuckDB, pyarrow, Polars, Apache Spark) open every table through
//! its date partitions and agree with each other and with `_run.json`. The Python side is
//! `tests/compat/check_readers.py`.
//!
//! The interpreter comes from `SESSION_ETL_PYTHON` (set by `scripts/test.sh`, which installs
//! the readers into `.venv`). Without it the test says so and passes, so that a bare
//! `cargo test` works offline; `scripts/test.sh` sets `SESSION_ETL_REQUIRE_COMPAT=1`, under
//! which a missing interpreter is a failure.

use std::process::Command;

use crate::util::*;

fn python() -> Option<String> {
    match std::env::var("SESSION_ETL_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("SESSION_ETL_REQUIRE_COMPAT").is_ok_and(|v| v == "1") => {
            panic!("SESSION_ETL_REQUIRE_COMPAT=1 but SESSION_ETL_PYTHON is not set: run scripts/test.sh")
        }
        _ => None,
    }
}

/// What `check_readers.py` checks besides reading `outputs`.
enum Also<'a> {
    /// The aggregates equal a generated corpus's `truth.json`.
    Truth(&'a std::path::Path),
    /// The README's example queries run on the first output.
    ReadmeExamples,
}

/// Runs `check_readers.py` on `outputs` (Spark starts once for all of them).
fn check_with_readers(python: &str, outputs: &[std::path::PathBuf], also: Also<'_>) {
    let mut command = Command::new(python);
    command.arg(repo().join("tests/compat/check_readers.py"));
    match also {
        Also::Truth(truth) => command.arg("--truth").arg(truth),
        Also::ReadmeExamples => command.arg("--readme").arg(repo().join("README.md")),
    };
    let result = command
        .args(outputs)
        .output()
        .expect("run the reader check");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && stdout.contains(", 0 failed"),
        "readers disagree:\n{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // Every reader took part: a silently skipped reader or example must not pass.
    for reader in ["duckdb", "pyarrow", "polars", "spark"] {
        assert!(
            stdout.contains(&format!("ok   {reader}: created_at")),
            "{reader} did not run:\n{stdout}"
        );
    }
    if let Also::ReadmeExamples = also {
        assert!(
            stdout.contains("ok   README example 4 (python)"),
            "{stdout}"
        );
    }
}

#[test]
fn every_reader_reads_every_table_of_the_fixtures_and_real_exports() {
    let Some(python) = python() else {
        eprintln!("skipped: SESSION_ETL_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    let dir = Dir::new();
    let out = dir.join("out");
    let real = real();
    // Half of the fixtures are bad on purpose: the reject-rate guard is off.
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .arg("fixtures/bad")
        .arg(real.join("metadata_call-1418.json"))
        .arg(real.join("metadata_call-987.json"))
        .arg(real.join("metadata_chat-135.json"))
        .assert_exit(0);
    let mut outputs = vec![out];

    // Every codec and both layouts are readable, and an output with no session at all
    // still has every table.
    for (name, flags) in [
        (
            "snappy",
            ["--compression", "snappy", "--partition-by", "date"],
        ),
        ("flat", ["--compression", "none", "--partition-by", "none"]),
    ] {
        let out = dir.join(name);
        session_etl(&["run", "--quiet"])
            .args(flags)
            .arg("--output")
            .arg(&out)
            .arg("fixtures/good")
            .assert_exit(0);
        outputs.push(out);
    }
    // Every file rejected: published only because the guards are told so.
    let empty = dir.join("empty");
    session_etl(&["run", "--quiet"])
        .args(ALL_BAD_ALLOWED)
        .arg("--output")
        .arg(&empty)
        .arg("fixtures/bad")
        .assert_exit(0);
    outputs.push(empty);
    check_with_readers(&python, &outputs, Also::ReadmeExamples);
}

#[test]
fn every_reader_reproduces_the_truth_of_a_generated_corpus() {
    let Some(python) = python() else {
        eprintln!("skipped: SESSION_ETL_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    // 5,000 sessions with 3 % bad files of every kind, re-exports and gzip files.
    let dir = Dir::new();
    let corpus = dir.generate(&[
        "--sessions",
        "5000",
        "--seed",
        "11",
        "--bad-fraction",
        "0.03",
    ]);
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg(corpus.join("sessions"))
        .assert_exit(0);
    check_with_readers(&python, &[out], Also::Truth(&corpus.join("truth.json")));
}
