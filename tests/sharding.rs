//! Sharded runs: the outputs of `run --shard i/n`, committed together with `commit`, equal one
//! whole run; an incomplete, repeated or foreign set of shards is refused; `--shard auto` takes
//! the shard from the job engine's variables, and refuses to guess; and the Kubernetes
//! example in `pipelines/k8s/` runs as many shards as it commits.

use crate::util::*;

/// Every Exchange event of an output's request bodies, with its individual, sorted.
fn exchange_events(out: &std::path::Path) -> Vec<String> {
    let mut events = Vec::new();
    for entry in std::fs::read_dir(out.join("exchange")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let body: serde_json::Value = serde_json::from_str(line).unwrap();
            for event in body["events"].as_array().unwrap() {
                events.push(format!("{} {event}", body["identifiers"]));
            }
        }
    }
    events.sort();
    events
}

/// Asserts that `merged` (committed shards) holds what the whole run `whole` does: every
/// table, the counts of `_run.json` and the Exchange events.
pub fn assert_equals_whole_run(merged: &std::path::Path, whole: &std::path::Path) {
    let tables: Vec<&str> = session_etl::write::catalog()
        .into_iter()
        .map(|(name, ..)| name)
        .collect();
    for table in tables {
        let expected = read_table(whole, table).canonical_rows();
        assert!(!expected.is_empty() || table == "media", "{table} is empty");
        assert_eq!(
            read_table(merged, table).canonical_rows(),
            expected,
            "table {table}"
        );
    }
    let (a, b) = (run_summary(whole), run_summary(merged));
    for key in [
        "files",
        "rejects_by_kind",
        "sessions",
        "rows",
        "partitions",
        "unknown_fields",
    ] {
        let mut expected = a[key].clone();
        if key == "files" {
            expected["other_shards"] = 0.into();
        }
        assert_eq!(b[key], expected, "_run.json {key}");
    }
    assert_eq!(b["events"]["by_code"], a["events"]["by_code"]);
    // The same events reach Exchange; an individual seen in several shards may have one
    // request body per shard instead of one.
    assert_eq!(exchange_events(merged), exchange_events(whole));
}

/// `session-etl` with no job engine variable, whatever the machine running the tests has:
/// the test then sets exactly the ones it means.
fn session_etl_no_engine(args: &[&str]) -> TestCommand {
    let mut cmd = session_etl(args);
    for engine in session_etl::select::SHARD_ENGINES {
        cmd = cmd.env_remove(engine.index_var);
        if let Some(count) = engine.count_var {
            cmd = cmd.env_remove(count);
        }
    }
    cmd
}

#[test]
fn shards_committed_together_equal_one_whole_run() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "3000", "--seed", "7"]);
    let input = corpus.join("sessions");
    let whole = dir.join("whole");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&whole)
        .arg(&input)
        .assert_exit(0);
    let shards: Vec<_> = (0..3).map(|i| dir.join(&format!("shard-{i}"))).collect();
    for (i, shard) in shards.iter().enumerate() {
        session_etl(&["run", "--quiet", "--shard", &format!("{i}/3"), "--output"])
            .arg(shard)
            .arg(&input)
            .assert_exit(0);
        let summary = run_summary(shard);
        assert_eq!(
            (&summary["shard"]["index"], &summary["shard"]["count"]),
            (&i.into(), &3.into())
        );
        assert!(
            summary["files"]["seen"].as_u64().unwrap() > 500,
            "shards are uneven"
        );
    }
    // An incomplete or repeated set of shards is refused, and nothing is published.
    let merged = dir.join("merged");
    let refused = session_etl(&["commit", "--output"])
        .arg(&merged)
        .args(&shards[..2])
        .assert_exit(2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("shard 0 of 3, but 2 shard outputs"));
    session_etl(&["commit", "--output"])
        .arg(&merged)
        .args([&shards[0], &shards[1], &shards[1]])
        .assert_exit(2);
    assert!(!merged.exists());
    // A shard of another run (here: other settings) is refused too.
    let stale = dir.join("stale-shard-2");
    session_etl(&[
        "run",
        "--quiet",
        "--no-derive",
        "--shard",
        "2/3",
        "--output",
    ])
    .arg(&stale)
    .arg(&input)
    .assert_exit(0);
    let refused = session_etl(&["commit", "--output"])
        .arg(&merged)
        .args([&shards[0], &shards[1], &stale])
        .assert_exit(2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not parts of one run"));
    assert!(!merged.exists());

    session_etl(&["commit", "--quiet", "--output"])
        .arg(&merged)
        .args(&shards)
        .assert_exit(0);
    assert_equals_whole_run(&merged, &whole);
    // Commit never writes into a shard.
    session_etl(&["commit", "--output"])
        .arg(&shards[0])
        .args(&shards)
        .assert_exit(2);
}

#[test]
fn auto_shards_from_the_engine_variables_equal_one_whole_run() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "1200", "--seed", "11"]);
    let input = corpus.join("sessions");
    let whole = dir.join("whole");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&whole)
        .arg(&input)
        .assert_exit(0);
    // Cloud Run Jobs: index and count from the environment.
    let cloud_run: Vec<_> = (0..2)
        .map(|i| dir.join(&format!("cloud-run-{i}")))
        .collect();
    for (i, shard) in cloud_run.iter().enumerate() {
        session_etl_no_engine(&["run", "--quiet", "--shard", "auto", "--output"])
            .env("CLOUD_RUN_TASK_INDEX", i.to_string())
            .env("CLOUD_RUN_TASK_COUNT", "2")
            .arg(shard)
            .arg(&input)
            .assert_exit(0);
        let summary = run_summary(shard);
        assert_eq!(
            (&summary["shard"]["index"], &summary["shard"]["count"]),
            (&i.into(), &2.into())
        );
    }
    // Kubernetes: the index from the environment, the count from the command line; the run
    // says where its shard came from (not with --quiet).
    let kubernetes = dir.join("kubernetes-1");
    let out = session_etl_no_engine(&["run", "--shard", "auto/2", "--output"])
        .env("JOB_COMPLETION_INDEX", "1")
        .arg(&kubernetes)
        .arg(&input)
        .assert_exit(0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("session-etl: shard 1/2 (from JOB_COMPLETION_INDEX)"),
        "{stderr}"
    );
    // The shards of `auto` are the shards of `INDEX/COUNT`: any mix of them commits into one
    // whole run.
    for (name, shards) in [
        ("merged", [&cloud_run[0], &cloud_run[1]]),
        ("mixed", [&cloud_run[0], &kubernetes]),
    ] {
        let merged = dir.join(name);
        session_etl(&["commit", "--quiet", "--output"])
            .arg(&merged)
            .args(shards)
            .assert_exit(0);
        assert_equals_whole_run(&merged, &whole);
    }
}

#[test]
fn auto_without_one_engine_variable_is_a_usage_error() {
    let dir = Dir::new();
    let out = dir.join("out");
    // No engine: every variable looked for is named.
    let refused = session_etl_no_engine(&["run", "--shard", "auto", "--output"])
        .arg(&out)
        .arg("fixtures")
        .assert_exit(2);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for engine in session_etl::select::SHARD_ENGINES {
        assert!(stderr.contains(engine.index_var), "{stderr}");
    }
    // Two engines: a guess could process the wrong shard.
    let refused = session_etl_no_engine(&["run", "--shard", "auto/2", "--output"])
        .env("JOB_COMPLETION_INDEX", "0")
        .env("AWS_BATCH_JOB_ARRAY_INDEX", "1")
        .arg(&out)
        .arg("fixtures")
        .assert_exit(2);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("JOB_COMPLETION_INDEX=\"0\"")
            && stderr.contains("AWS_BATCH_JOB_ARRAY_INDEX=\"1\""),
        "{stderr}"
    );
    // Kubernetes gives no count, and a count that disagrees with the command line.
    let refused = session_etl_no_engine(&["run", "--shard", "auto", "--output"])
        .env("JOB_COMPLETION_INDEX", "0")
        .arg(&out)
        .arg("fixtures")
        .assert_exit(2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--shard auto/N"));
    let refused = session_etl_no_engine(&["run", "--shard", "auto/3", "--output"])
        .env("CLOUD_RUN_TASK_INDEX", "0")
        .env("CLOUD_RUN_TASK_COUNT", "2")
        .arg(&out)
        .arg("fixtures")
        .assert_exit(2);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("auto/3") && stderr.contains("CLOUD_RUN_TASK_COUNT=2"),
        "{stderr}"
    );
    // Nothing was written.
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_kubernetes_example_runs_as_many_shards_as_it_commits() {
    let shards = std::fs::read_to_string(repo().join("pipelines/k8s/shards-job.yaml")).unwrap();
    let commit = std::fs::read_to_string(repo().join("pipelines/k8s/commit-job.yaml")).unwrap();
    let completions: usize = shards
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions:"))
        .and_then(|v| v.split('#').next())
        .map(|v| v.trim().parse().unwrap())
        .expect("completions");
    // The command line, one list item per argument (no shell).
    let argv: Vec<&str> = shards
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    let after = |flag: &str| argv.windows(2).find(|w| w[0] == flag).map(|w| w[1]);
    let shard = format!("auto/{completions}");
    assert_eq!(after("--shard"), Some(shard.as_str()));
    let committed: Vec<&str> = commit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- gs://ccaip-analytics/shards/"))
        .collect();
    let expected: Vec<String> = (0..completions).map(|i| format!("shard-{i}")).collect();
    assert_eq!(committed, expected);
    assert_eq!(
        after("--output"),
        Some("gs://ccaip-analytics/shards/shard-$(JOB_COMPLETION_INDEX)")
    );
    assert!(!shards.contains("/bin/sh"));
    // Exit codes a retry cannot change (usage 2, guard 3) end the index or the job at once;
    // finished Jobs do not pile up.
    for (manifest, action) in [(&shards, "FailIndex"), (&commit, "FailJob")] {
        let rule = manifest
            .lines()
            .position(|l| l.trim().starts_with(&format!("- action: {action}")))
            .map(|i| manifest.lines().nth(i + 1).unwrap_or_default())
            .expect(action);
        assert!(rule.contains("values: [2, 3]"), "{rule}");
        assert!(manifest.contains("ttlSecondsAfterFinished:"));
    }
}

#[test]
fn the_readme_names_every_variable_of_shard_auto() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for engine in session_etl::select::SHARD_ENGINES {
        let row = format!("| {} | `{}` |", engine.name, engine.index_var);
        assert!(readme.contains(&row), "README.md: no row {row}");
        if let Some(count) = engine.count_var {
            assert!(readme.contains(&format!("`{count}`")), "README.md: {count}");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_signal_stops_a_commit_before_it_publishes() {
    let dir = Dir::new();
    let shards: Vec<std::path::PathBuf> = (0..2).map(|i| dir.join(&format!("shard-{i}"))).collect();
    for (i, shard) in shards.iter().enumerate() {
        session_etl_no_engine(&["run", "--quiet", "--shard", &format!("{i}/2"), "-o"])
            .arg(shard)
            .arg(repo().join("fixtures/good"))
            .assert_exit(0);
    }
    let out = dir.join("out");
    let mut cmd = session_etl(&["commit", "--quiet", "-o"])
        .arg(&out)
        .args(&shards)
        .into_command();
    cmd.env_remove(session_etl::shared::stop::RESUME_ENV);
    // Every file is placed in the staging folder; nothing is published yet.
    let (mut child, stderr) = spawn_paused(cmd, "closed");
    // SAFETY: sending a signal to a child process this test owns.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let (status, _) = wait_at_most(&mut child, std::time::Duration::from_secs(60));
    assert_eq!(status.code(), Some(130), "{}", stderr.lock().unwrap());
    assert!(
        !out.exists(),
        "a stopped commit published {}",
        out.display()
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let shard_files = [
        ".out.lock",
        ".shard-0.lock",
        ".shard-1.lock",
        "shard-0",
        "shard-1",
    ];
    assert_eq!(left, shard_files, "left behind");
}
