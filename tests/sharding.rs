//! Sharded runs: the outputs of `run --shard i/n`, committed together with `commit`, equal one
//! whole run; an incomplete, repeated or foreign set of shards is refused; and the Kubernetes
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
    let tables: Vec<&str> = session_etl::write::catalog()
        .into_iter()
        .map(|(name, ..)| name)
        .collect();
    for table in tables {
        let expected = read_table(&whole, table).canonical_rows();
        assert!(!expected.is_empty() || table == "media", "{table} is empty");
        assert_eq!(
            read_table(&merged, table).canonical_rows(),
            expected,
            "table {table}"
        );
    }
    let (a, b) = (run_summary(&whole), run_summary(&merged));
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
    assert_eq!(exchange_events(&merged), exchange_events(&whole));
    // Commit never writes into a shard.
    session_etl(&["commit", "--output"])
        .arg(&shards[0])
        .args(&shards)
        .assert_exit(2);
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
    assert!(shards.contains(&format!(
        "--shard \"${{JOB_COMPLETION_INDEX}}/{completions}\""
    )));
    let committed: Vec<&str> = commit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- /data/analytics/shards/"))
        .collect();
    let expected: Vec<String> = (0..completions).map(|i| format!("shard-{i}")).collect();
    assert_eq!(committed, expected);
    assert!(shards.contains("--output \"/data/analytics/shards/shard-${JOB_COMPLETION_INDEX}\""));
}
