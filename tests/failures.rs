//! How the tool behaves when things go wrong: the reject threshold, outputs it cannot write or
//! must not replace, missing inputs, huge files, runs killed at any point or stopped by a
//! signal, a second run on a locked output, the leftovers of killed runs and hostile inputs.
//! Throughout, a failed run never damages the published output. The cases of issue 14 (never
//! destroy what is not the run's own, never publish a broken night) are in `safety`.

use crate::util::*;

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
    assert_eq!(read_table(&out, "rejects").rows(), 21);
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
    let failed = session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/does-not-exist")
        .assert_exit(1);
    // One line naming the input and the cause, once.
    let said = String::from_utf8_lossy(&failed.stderr);
    assert!(said.contains("input fixtures/does-not-exist"), "{said}");
    assert_eq!(said.matches("(os error 2)").count(), 1, "{said}");
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
    // One file of two rejected: above the default reject rate, which is not what this tests.
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "--output"])
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
    session_etl(&["run", "--quiet", "--max-file-bytes", "2000"])
        .args(ALL_BAD_ALLOWED)
        .arg("--output")
        .arg(&out2)
        .arg("fixtures/good/2026/03/27/chat-7002.json.gz")
        .assert_exit(0);
    assert_eq!(
        read_table(&out2, "rejects").strs("error_kind"),
        vec![Some("file_too_large".to_owned())]
    );
}

/// Everything a reader can see in a published output: each table's rows, and the run id.
fn visible_output(out: &std::path::Path) -> (serde_json::Value, Vec<Vec<String>>) {
    assert!(
        out.join("_SUCCESS").exists(),
        "no _SUCCESS in {}",
        out.display()
    );
    let tables = session_etl::write::catalog()
        .into_iter()
        .map(|(name, ..)| name)
        .chain(["rejects"])
        .map(|name| read_table(out, name).canonical_rows())
        .collect();
    (run_summary(out)["run_id"].clone(), tables)
}

/// Names beside the output (staging folders, lock file...), sorted.
fn siblings(dir: &Dir) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// Linux: elsewhere publication renames the old output aside (`.out.previous-…`) instead of
// swapping, and the leftovers checked below differ.
#[cfg(target_os = "linux")]
#[test]
fn a_run_killed_at_any_point_leaves_a_complete_readable_output_and_the_next_run_finishes() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "2000", "--seed", "5"]);
    let input = corpus.join("sessions");
    // What one complete run over the corpus publishes, for comparison.
    let reference = dir.join("reference");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&reference)
        .arg(&input)
        .assert_exit(0);
    let (_, complete) = visible_output(&reference);

    // Plain runs, and incremental runs (whose new output hard-links files of the old one).
    let modes: [&[&str]; 2] = [&[], &["--incremental"]];
    for (mode, point) in modes
        .into_iter()
        .flat_map(|m| ["writing", "closed", "publishing", "swapped"].map(|p| (m, p)))
    {
        let out = dir.join("out");
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        session_etl(&["run", "--quiet"])
            .args(mode)
            .arg("--output")
            .arg(&out)
            .arg("fixtures/good")
            .assert_exit(0);
        let before = visible_output(&out);

        let mut child = spawn_paused_at(point, &out, &input, mode);
        child.kill().unwrap(); // SIGKILL: no handler runs
        child.wait().unwrap();

        let (_, after) = visible_output(&out);
        if point == "swapped" {
            // The new output was in place when the run died; only the old one's removal was left.
            assert_eq!(after, complete, "killed at {point}");
        } else {
            assert_eq!(
                visible_output(&out),
                before,
                "{mode:?} killed at {point}: the published output changed"
            );
        }
        let leftovers: Vec<_> = siblings(&dir)
            .into_iter()
            .filter(|n| n.starts_with(".out.staging-"))
            .collect();
        assert_eq!(leftovers.len(), 1, "killed at {point}: {leftovers:?}");

        // The next run finishes the job and clears what the killed one left.
        session_etl(&["run", "--quiet"])
            .args(mode)
            .arg("--output")
            .arg(&out)
            .arg(&input)
            .assert_exit(0);
        assert_eq!(
            visible_output(&out).1,
            complete,
            "{mode:?} rerun after a kill at {point}"
        );
        assert_eq!(
            siblings(&dir),
            [".out.lock", ".reference.lock", "corpus", "out", "reference"]
        );
    }
}

#[cfg(unix)]
#[test]
fn sigint_and_sigterm_stop_the_run_publish_nothing_and_exit_130() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "2000", "--seed", "6"]);
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(0);
    let before = visible_output(&out);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = spawn_paused_at("writing", &out, &corpus.join("sessions"), &[]);
        // SAFETY: sending a signal to a child process this test owns.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "signal {signal}");
        assert_eq!(
            visible_output(&out),
            before,
            "signal {signal}: the output changed"
        );
        assert_eq!(
            siblings(&dir),
            [".out.lock", "corpus", "out"],
            "signal {signal}: staging left"
        );
    }
}

#[test]
fn a_second_run_on_the_same_output_is_refused_while_the_first_holds_it() {
    let dir = Dir::new();
    let out = dir.join("out");
    let lock = session_etl::publish::OutputLock::acquire(&out, "held-by-the-test").unwrap();
    let refused = session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg("fixtures/good")
        .assert_exit(4);
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

#[cfg(unix)]
#[test]
fn hostile_inputs_never_write_outside_the_output_and_symlink_loops_end() {
    let dir = Dir::new();
    let input = dir.join("in");
    // Path-like text in every string the tables carry as values, and in the file name.
    let good = std::fs::read_to_string(repo().join("fixtures/good/call-5004.json")).unwrap();
    let hostile = good.replace(
        "\"name\": \"Orders\"",
        "\"name\": \"../../../escaped/Orders\"",
    );
    assert_ne!(hostile, good);
    dir.create("in/call-5004..%2f..%2fx.json", &hostile);
    dir.create(
        "in/sub/call-5005.json",
        good.replace("\"id\": 5004,", "\"id\": 5005,"),
    );
    // A loop: in/sub/back -> in.
    std::os::unix::fs::symlink(&input, input.join("sub/back")).unwrap();
    let out = dir.join("out");
    let input_before = listing(&input);
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg(&input)
        .assert_exit(0);
    assert_eq!(listing(&input), input_before, "the input folder changed");
    let summary = run_summary(&out);
    assert_eq!(summary["files"]["walk_errors"], 1, "{summary}");
    assert_eq!(summary["sessions"]["written"], 2, "{summary}");
    // Everything the run wrote is inside the output (plus the lock file beside it).
    for entry in walkdir::WalkDir::new(dir.path()) {
        let path = entry.unwrap().into_path();
        let inside = path.starts_with(&out)
            || path.starts_with(&input)
            || path == dir.path()
            || path == dir.join(".out.lock");
        assert!(inside, "written outside the output: {}", path.display());
    }
    assert!(!dir.path().join("escaped").exists() && !std::path::Path::new("/tmp/escaped").exists());
}
