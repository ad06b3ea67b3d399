//! How the tool behaves when things go wrong: thresholds, unwritable outputs, huge files,
//! and the guarantee that a failed run never damages the published output.

mod util;

use util::*;

#[test]
fn exceeding_the_reject_threshold_publishes_nothing_and_keeps_the_previous_output() {
    let dir = Dir::new();
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(0);
    let before = run_summary(&out)["run_id"].clone();
    let run = session_etl(&["run", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .arg("fixtures/bad")
        .arg("--max-reject-rate")
        .arg("0.1")
        .assert_exit(3);
    assert!(String::from_utf8_lossy(&run.stderr).contains("nothing was published"));
    assert_eq!(
        run_summary(&out)["run_id"],
        before,
        "the previous output must stay in place"
    );
    assert_eq!(read_table(&out, "rejects").rows(), 0);
    // Below the threshold the same input publishes.
    session_etl(&["run", "--quiet", "--max-reject-rate", "0.6", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .arg("fixtures/bad")
        .assert_exit(0);
    assert_eq!(read_table(&out, "rejects").rows(), 17);
}

#[test]
fn an_unwritable_output_fails_with_a_clear_error() {
    let dir = Dir::new();
    let blocker = dir.create("file", "not a folder");
    let out = session_etl(&["run", "--quiet", "--output"])
        .arg(blocker.join("out"))
        .arg("fixtures/good")
        .assert_exit(1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_folder_that_is_not_an_output_is_never_replaced() {
    let dir = Dir::new();
    let precious = dir.create("mine/notes.txt", "keep me");
    let out = session_etl(&["run", "--quiet", "--output"])
        .arg(dir.join("mine"))
        .arg("fixtures/good")
        .assert_exit(1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to replace"));
    assert_eq!(std::fs::read_to_string(precious).unwrap(), "keep me");
}

#[test]
fn a_missing_input_fails_before_anything_is_written() {
    let dir = Dir::new();
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/does-not-exist")
        .assert_exit(1);
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "staging folder left behind"
    );
}

#[test]
fn huge_files_are_rejected_unread_and_the_rest_is_kept() {
    let dir = Dir::new();
    let input = dir.join("in");
    dir.copy_fixture("good/call-5004.json", "in/call-5004.json");
    // 65 MiB, above the default 64 MiB limit; sparse, so the test stays fast.
    let huge = std::fs::File::create(input.join("call-9999.json")).unwrap();
    huge.set_len(65 << 20).unwrap();
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg(&input)
        .assert_exit(0);
    let rejects = read_table(&out, "rejects");
    assert_eq!(
        rejects.strs("error_kind"),
        vec![Some("file_too_large".to_owned())]
    );
    assert_eq!(rejects.i64s("file_size_bytes"), vec![Some(65 << 20)]);
    assert_eq!(read_table(&out, "sessions").rows(), 1);
    // The limit is configurable, and applies to gzip content after decompression.
    let out2 = dir.join("out2");
    session_etl(&["run", "--quiet", "--max-file-bytes", "2000", "--output"])
        .arg(&out2)
        .arg("fixtures/good/2026/03/27/chat-7002.json.gz")
        .assert_exit(0);
    assert_eq!(
        read_table(&out2, "rejects").strs("error_kind"),
        vec![Some("file_too_large".to_owned())]
    );
}

#[test]
fn a_rejected_newest_export_falls_back_to_the_previous_one() {
    let dir = Dir::new();
    let older = dir.copy_fixture("good/2026/03/23/call-5001.json", "in/a/call-5001.json");
    // A newer export that is truncated: the session must still come out, from the older file.
    let newer = std::fs::read_to_string(&older)
        .unwrap()
        .replace("13:16:58.000-07:00", "13:40:00.000-07:00");
    dir.create("in/b/call-5001.json", &newer[..newer.len() - 200]);
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg(dir.join("in"))
        .assert_exit(0);
    let sessions = read_table(&out, "sessions");
    assert_eq!(sessions.rows(), 1);
    assert!(sessions.strs("source_path")[0]
        .as_deref()
        .unwrap()
        .ends_with("a/call-5001.json"));
    assert_eq!(
        read_table(&out, "rejects").strs("error_kind"),
        vec![Some("truncated_json".to_owned())]
    );
    let summary = run_summary(&out);
    assert_eq!(
        (
            summary["files"]["superseded"].as_u64(),
            summary["files"]["rejected"].as_u64()
        ),
        (Some(0), Some(1))
    );
}

#[test]
fn schema_command_lists_every_table() {
    let out = session_etl(&["schema", "--json"]).assert_exit(0);
    let tables: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = tables
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap().to_owned())
        .collect();
    for required in [
        "sessions",
        "participants",
        "transfers",
        "segments",
        "dispositions",
        "rejects",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} missing from {names:?}"
        );
    }
}

#[test]
fn the_schema_reference_in_docs_is_up_to_date() {
    let out = session_etl(&["schema", "--markdown"]).assert_exit(0);
    let generated = String::from_utf8(out.stdout).unwrap();
    let docs = std::fs::read_to_string(repo().join("docs/tables.md")).unwrap();
    assert!(
        docs.ends_with(&generated),
        "docs/tables.md is stale: regenerate it with `cargo run -- schema --markdown` (see its header)"
    );
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_the_published_output_intact() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "4000"]);
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(0);
    let before = read_table(&out, "sessions").canonical_rows();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_session-etl"))
        .args(["run", "--quiet", "--threads", "1", "--output"])
        .arg(&out)
        .arg(corpus.join("sessions"))
        .spawn()
        .unwrap();
    // Kill (SIGKILL) as soon as the run has started writing its staging folder.
    let started = std::time::Instant::now();
    while !std::fs::read_dir(dir.path()).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".out.staging")
    }) {
        assert!(started.elapsed().as_secs() < 30, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(out.join("_SUCCESS").exists());
    assert_eq!(
        read_table(&out, "sessions").canonical_rows(),
        before,
        "the published output changed"
    );
    // The next run completes and replaces it.
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg(corpus.join("sessions"))
        .assert_exit(0);
    assert_eq!(read_table(&out, "sessions").rows(), 4000);
}

#[test]
fn a_second_run_on_the_same_output_is_refused_while_the_first_holds_it() {
    let dir = Dir::new();
    let out = dir.join("out");
    let lock = session_etl::sink::publish::OutputLock::acquire(&out, "held-by-the-test").unwrap();
    let refused = session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("another session-etl run is writing")
            && stderr.contains(&format!("pid {}", std::process::id()))
            && stderr.contains("held-by-the-test"),
        "{stderr}"
    );
    assert!(!out.exists(), "a refused run writes nothing");
    // The lock goes with its holder (the kernel drops it even when the holder is killed).
    drop(lock);
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(0);
}

#[test]
fn the_leftovers_of_a_killed_run_are_removed_by_the_next_run() {
    let dir = Dir::new();
    let out = dir.join("out");
    // What a run killed while writing, or between moving the old output aside and the new
    // one into place, leaves behind.
    dir.create(
        ".out.staging-20260101T000000Z-4242/sessions/half.parquet",
        "half",
    );
    dir.create(".out.previous-20260101T000000Z-4242/_SUCCESS", "");
    dir.create(".other.staging-20260101T000000Z-1/keep", "not ours");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(0);
    let mut siblings: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    siblings.sort();
    assert_eq!(
        siblings,
        [".other.staging-20260101T000000Z-1", ".out.lock", "out"]
    );
}
