//! The run summary, `_run.json`: it accounts for every file of the fixtures, and on a
//! generated corpus it reproduces the corpus's own `truth.json` (files, sessions, rejects by
//! kind, rows, events by code and by mapping rule), as the tables do.

use crate::util::*;

#[test]
fn run_summary_accounts_for_every_file() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    assert!(out.join("_SUCCESS").exists());
    let summary = run_summary(&out);
    let files = &summary["files"];
    assert_eq!(files["seen"], 38);
    assert_eq!(files["sessions"], 15);
    assert_eq!(files["rejected"], 21);
    assert_eq!(files["superseded"], 2);
    assert_eq!(files["ignored"], 3);
    assert_eq!(summary["duplicates_collapsed"], 2);
    assert_eq!(summary["sessions"]["calls"], 10);
    assert_eq!(summary["sessions"]["chats"], 5);
    assert_eq!(summary["rejects_by_kind"]["empty_file"], 2);
    assert_eq!(summary["unknown_statuses"]["on_hold_custom"], 1);
    assert_eq!(summary["unknown_fields"]["x_tenant_region"], 1);
    assert_eq!(summary["unknown_fields"]["participants[].x_debug"], 1);
    assert_eq!(summary["rows"]["participants"], 31);
    assert_eq!(summary["rows"]["events"], 36);
    assert_eq!(summary["rows"]["milestones"], 246);
    assert_eq!(summary["rows"]["rejects"], 21);
    assert!(summary["throughput"]["files_per_s"].as_f64().unwrap() > 0.0);
    // Nothing but the output and its lock file is left beside it.
    let mut siblings: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    siblings.sort();
    assert_eq!(siblings, [".out.lock", "out"].map(std::ffi::OsString::from));
}

#[test]
fn a_generated_corpus_reproduces_its_truth() {
    let dir = Dir::new();
    let corpus = dir.generate(&[
        "--sessions",
        "1500",
        "--seed",
        "7",
        "--bad-fraction",
        "0.05",
    ]);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join("truth.json")).unwrap()).unwrap();
    let out = dir.join("out");
    // A twentieth of the sessions are bad on purpose: above the default reject rate.
    session_etl(&[
        "run",
        "--quiet",
        "--batch-files",
        "64",
        "--max-reject-rate",
        "1",
    ])
    .arg("--output")
    .arg(&out)
    .arg(corpus.join("sessions"))
    .assert_exit(0);
    let summary = run_summary(&out);
    assert_eq!(summary["files"]["seen"], truth["files_seen"]);
    assert_eq!(summary["files"]["ignored"], truth["files_ignored"]);
    assert_eq!(summary["files"]["superseded"], truth["superseded"]);
    assert_eq!(summary["sessions"]["written"], truth["sessions"]);
    assert_eq!(summary["sessions"]["calls"], truth["calls"]);
    assert_eq!(summary["sessions"]["chats"], truth["chats"]);
    assert_eq!(summary["rejects_by_kind"], truth["rejects_by_kind"]);
    assert_eq!(summary["rows"], truth["rows"]);

    let sessions = read_table(&out, "sessions");
    let by_status: serde_json::Value =
        serde_json::to_value(counts(sessions.strs("status"))).unwrap();
    assert_eq!(by_status, truth["sessions_by_status"]);
    let sum: i64 = sessions.i64s("duration_s").into_iter().flatten().sum();
    assert_eq!(serde_json::json!(sum), truth["sum_duration_s"]);
    let participants = read_table(&out, "participants");
    let by_type: serde_json::Value =
        serde_json::to_value(counts(participants.strs("participant_type"))).unwrap();
    assert_eq!(by_type, truth["participants_by_type"]);

    // Derived events, by code and by mapping rule (the event id's source without its entry id).
    assert_eq!(summary["events"]["by_code"], truth["events_by_code"]);
    assert_eq!(
        summary["events"]["sessions_without_identifiers"],
        truth["sessions_without_identifiers"]
    );
    assert_eq!(
        summary["events"]["unaddressable_events"],
        truth["unaddressable_events"]
    );
    let mut by_rule: std::collections::BTreeMap<String, u64> = truth["events_by_rule"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (k.clone(), 0))
        .collect();
    for id in read_table(&out, "events").strs("event_id") {
        let id = id.unwrap();
        let mut parts = id.splitn(3, ':').skip(1);
        let (code, source) = (parts.next().unwrap(), parts.next().unwrap());
        let rule = source.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '#');
        *by_rule.entry(format!("{code}:{rule}")).or_default() += 1;
    }
    assert_eq!(
        serde_json::to_value(by_rule).unwrap(),
        truth["events_by_rule"]
    );
    // Every superseded file is absent from the output, every bad file is in rejects.
    let sources = sessions.strs("source_path");
    for superseded in truth["superseded_files"].as_array().unwrap() {
        let name = superseded.as_str().unwrap();
        assert!(
            !sources
                .iter()
                .any(|s| s.as_deref().unwrap().ends_with(name)),
            "{name} was kept"
        );
    }
    let rejects = read_table(&out, "rejects");
    let (paths, kinds) = (rejects.strs("source_path"), rejects.strs("error_kind"));
    for (file, kind) in truth["bad_files"].as_object().unwrap() {
        let i =
            (0..rejects.rows()).find(|&i| paths[i].as_deref().unwrap().ends_with(file.as_str()));
        let i = i.unwrap_or_else(|| panic!("{file} not rejected"));
        assert_eq!(kinds[i].as_deref(), kind.as_str(), "{file}");
    }
}
