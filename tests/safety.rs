//! Issue 14: a nightly run never destroys what is not its own and never publishes a broken
//! night. One test per case of the issue; every one of them failed on 384a772. Tests of
//! failure modes bound their own time (`wait_at_most`, `output_within`), sizes and threads.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// Longest any single command of these tests may take before it is killed.
const LIMIT: Duration = Duration::from_secs(120);

/// Four good sessions, each exported once, under `dir/in`.
fn good_input(dir: &Dir) -> PathBuf {
    for name in [
        "call-5004.json",
        "call-5007.json",
        "call-5008.json",
        "chat-7004.json",
    ] {
        dir.copy_fixture(&format!("good/{name}"), &format!("in/{name}"));
    }
    dir.join("in")
}

/// `session-etl run --quiet -o OUT INPUT... EXTRA...`, expecting `code`; returns stderr.
fn run_expect(out: &Path, inputs: &[&Path], extra: &[&str], code: i32) -> String {
    let out = session_etl(&["run", "--quiet"])
        .args(extra)
        .arg("--output")
        .arg(out)
        .args(inputs)
        .assert_exit(code);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_session-etl"));
    cmd.current_dir(repo());
    cmd
}

// ---- It deletes what is not its own -------------------------------------------------------

#[test]
fn a_spark_output_is_never_replaced_and_a_refused_run_writes_nothing() {
    let dir = Dir::new();
    let input = good_input(&dir);
    dir.create("spark_out/_SUCCESS", "");
    dir.create(
        "spark_out/part-00000-1f2e.snappy.parquet",
        "PAR1 Spark's data",
    );
    let before = listing(dir.path());
    let stderr = run_expect(&dir.join("spark_out"), &[&input], &[], 1);
    assert!(
        stderr.contains("not a session-etl output") && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        listing(dir.path()),
        before,
        "the refused run wrote something (a lock file?)"
    );
}

#[test]
fn roots_homes_the_working_folder_inputs_and_folders_above_them_are_refused() {
    let dir = Dir::new();
    let input = good_input(&dir);
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::create_dir_all(dir.join("cwd")).unwrap();
    let before = listing(dir.path());
    let cases: [(PathBuf, PathBuf, &str); 6] = [
        ("/".into(), dir.path().into(), "root folder"),
        (".".into(), dir.join("cwd"), "working folder"),
        (dir.join("home"), dir.path().into(), "home folder"),
        (input.clone(), dir.path().into(), "is read by the run"),
        (dir.path().into(), dir.path().into(), "is read by the run"),
        (
            "in/sub/../..".into(),
            dir.path().into(),
            "is read by the run",
        ),
    ];
    for (output, cwd, why) in cases {
        let out = session_etl(&["run", "--quiet", "--output"])
            .arg(&output)
            .arg(&input)
            .env("HOME", dir.join("home"))
            .current_dir(&cwd)
            .run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", output.display());
        assert!(stderr.contains(why), "{}: {stderr}", output.display());
    }
    assert_eq!(listing(dir.path()), before, "a refused run wrote something");
}

#[test]
fn urls_of_other_stores_are_usage_errors_not_local_folders() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let before = listing(dir.path());
    for output in ["az://container/out", "ftp://host/out", "https://host/out"] {
        let out = session_etl(&["run", "--quiet", "--output", output])
            .arg(&input)
            .current_dir(dir.path())
            .assert_exit(2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is not supported"), "{stderr}");
    }
    session_etl(&["run", "--quiet", "--output"])
        .arg(dir.join("out"))
        .arg("http://example.com/ccaip/metadata")
        .assert_exit(2);
    let pipeline = dir.create(
        "p.toml",
        "inputs = [\"in\"]\noutput = \"az://container/out\"\n",
    );
    session_etl(&["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .current_dir(dir.path())
        .assert_exit(2);
    std::fs::remove_file(pipeline).unwrap();
    assert_eq!(
        listing(dir.path()),
        before,
        "a `scheme:` folder was written"
    );
}

#[cfg(unix)]
#[test]
fn an_output_inside_its_input_is_never_read_back_however_it_is_spelled() {
    let dir = Dir::new();
    let input = good_input(&dir);
    std::os::unix::fs::symlink(&input, dir.join("link")).unwrap();
    let first = session_etl(&["run", "--quiet", "--output", "in/out", "in"])
        .current_dir(dir.path())
        .assert_exit(0);
    drop(first);
    for (output, cwd) in [
        (dir.join("link/out"), dir.path().to_owned()),
        (dir.join("in/./out"), dir.path().to_owned()),
        (PathBuf::from("./out"), input.clone()),
        (PathBuf::from("../link/out"), input.clone()),
    ] {
        session_etl(&["run", "--quiet", "--output"])
            .arg(&output)
            .arg(&input)
            .current_dir(&cwd)
            .assert_exit(0);
        let summary = run_summary(&input.join("out"));
        assert_eq!(
            (&summary["files"]["seen"], &summary["files"]["rejected"]),
            (&4.into(), &0.into()),
            "{}: the run read its own output back",
            output.display()
        );
    }
}

// ---- It publishes a broken night ----------------------------------------------------------

#[test]
fn an_empty_or_mis_mounted_landing_folder_never_replaces_a_good_output() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let out = dir.join("out");
    run_expect(&out, &[&input], &[], 0);
    let before = run_summary(&out)["run_id"].clone();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    dir.create("mis-mounted/README.txt", "the share is not mounted");
    for landing in [dir.join("empty"), dir.join("mis-mounted")] {
        let stderr = run_expect(&out, &[&landing], &[], 3);
        assert!(
            stderr.contains("the `no_input` guard") && stderr.contains("--allow-empty"),
            "{stderr}"
        );
        assert_eq!(run_summary(&out)["run_id"], before, "the output changed");
    }
    run_expect(&out, &[&dir.join("empty")], &["--allow-empty"], 0);
    assert_eq!(run_summary(&out)["sessions"]["written"], 0);
}

#[test]
fn a_night_where_every_file_is_rejected_is_not_published() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let out = dir.join("out");
    run_expect(&out, &[&input], &[], 0);
    let before = run_summary(&out)["run_id"].clone();
    let bad = repo().join("fixtures/bad");
    let stderr = run_expect(&out, &[&bad], &[], 3);
    assert!(
        stderr.contains("the `reject_rate` guard") && stderr.contains("--max-reject-rate"),
        "{stderr}"
    );
    assert_eq!(run_summary(&out)["run_id"], before);
    // Zero sessions out of readable files is its own guard, for rates allowed that high.
    let stderr = run_expect(&out, &[&bad], &["--max-reject-rate", "1"], 3);
    assert!(stderr.contains("the `no_sessions` guard"), "{stderr}");
    assert_eq!(run_summary(&out)["run_id"], before);
}

#[test]
fn a_night_with_far_fewer_sessions_than_the_output_it_replaces_is_not_published() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let out = dir.join("out");
    run_expect(&out, &[&input], &[], 0);
    let before = run_summary(&out)["run_id"].clone();
    let one = input.join("call-5004.json");
    let stderr = run_expect(&out, &[&one], &[], 3);
    assert!(
        stderr.contains("the `shrink` guard")
            && stderr.contains("1 sessions where the output it replaces holds 4")
            && stderr.contains("--allow-shrink"),
        "{stderr}"
    );
    assert_eq!(run_summary(&out)["run_id"], before);
    // Half as many is the documented limit, and still allowed.
    run_expect(
        &out,
        &[&one, &input.join("call-5007.json")],
        &["--max-shrink", "0.5"],
        0,
    );
    run_expect(&out, &[&one], &["--allow-shrink"], 0);
    assert_eq!(run_summary(&out)["sessions"]["written"], 1);
}

/// `in/call-5004.json` and `in/sub/call-5008.json`, readable by everyone, and a folder the
/// unprivileged user may write the output into.
#[cfg(unix)]
fn unreadable_setup(dir: &Dir) -> Option<(Unprivileged, PathBuf, PathBuf)> {
    let Some(user) = Unprivileged::new(dir.path()) else {
        eprintln!("SKIPPED: needs a user that file permissions apply to (root without setpriv)");
        return None;
    };
    dir.copy_fixture("good/call-5004.json", "in/call-5004.json");
    dir.copy_fixture("good/call-5008.json", "in/sub/call-5008.json");
    let work = user.writable(&dir.join("work"));
    Some((user, dir.join("in"), work.join("out")))
}

/// `session-etl run --quiet EXTRA... -o OUT INPUT` as `user`, in `cwd`.
#[cfg(unix)]
fn run_as(
    user: &Unprivileged,
    cwd: &Path,
    extra: &[&str],
    out: &Path,
    input: &Path,
) -> (Option<i32>, String, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), "--quiet".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend(["--output".as_ref(), out.as_os_str(), input.as_os_str()]);
    output_within(user.command(cwd, &args), LIMIT)
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn an_input_folder_that_cannot_be_read_stops_the_run() {
    let dir = Dir::new();
    let Some((user, input, out)) = unreadable_setup(&dir) else {
        return;
    };
    let run = |extra: &[&str]| run_as(&user, dir.path(), extra, &out, &input);
    assert_eq!(run(&[]).0, Some(0));
    let before = run_summary(&out)["run_id"].clone();
    for unreadable in [input.join("sub"), input.clone()] {
        chmod(&unreadable, 0o000);
        let (code, _, stderr) = run(&[]);
        chmod(&unreadable, 0o755);
        assert_eq!(code, Some(3), "{}: {stderr}", unreadable.display());
        assert!(
            stderr.contains("the `unreadable_input` guard")
                && stderr.contains("--allow-unreadable"),
            "{stderr}"
        );
        assert_eq!(run_summary(&out)["run_id"], before, "the output changed");
    }
    chmod(&input.join("sub"), 0o000);
    let (code, _, stderr) = run(&["--allow-unreadable"]);
    chmod(&input.join("sub"), 0o755);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(run_summary(&out)["files"]["walk_errors"], 1);
}

#[cfg(unix)]
#[test]
fn incremental_a_folder_that_becomes_unreadable_is_not_a_deletion() {
    let dir = Dir::new();
    let Some((user, input, out)) = unreadable_setup(&dir) else {
        return;
    };
    let run = |extra: &[&str]| {
        let extra: Vec<&str> = ["--incremental"].iter().chain(extra).copied().collect();
        run_as(&user, dir.path(), &extra, &out, &input)
    };
    assert_eq!(run(&[]).0, Some(0));
    let sessions_before = read_table(&out, "sessions").canonical_rows();
    assert_eq!(sessions_before.len(), 2);
    chmod(&input.join("sub"), 0o000);
    let (code, _, stderr) = run(&[]);
    assert_eq!(code, Some(3), "{stderr}");
    let (code, _, stderr) = run(&["--allow-unreadable"]);
    chmod(&input.join("sub"), 0o755);
    assert_eq!(code, Some(0), "{stderr}");
    let inc = &run_summary(&out)["incremental"];
    assert_eq!(
        (
            &inc["files_deleted"],
            &inc["files_unreachable"],
            &inc["sessions_rebuilt"]
        ),
        (&0.into(), &1.into(), &0.into()),
        "{inc}"
    );
    assert_eq!(
        read_table(&out, "sessions").canonical_rows(),
        sessions_before
    );
    // Readable again: the file is where the state left it, nothing to rebuild.
    assert_eq!(run(&[]).0, Some(0));
    let inc = &run_summary(&out)["incremental"];
    assert_eq!(
        (
            &inc["files_deleted"],
            &inc["files_new"],
            &inc["sessions_rebuilt"]
        ),
        (&0.into(), &0.into(), &0.into()),
        "{inc}"
    );
    assert_eq!(
        read_table(&out, "sessions").canonical_rows(),
        sessions_before
    );
}

// ---- It silently corrupts rows ------------------------------------------------------------

/// `session-etl run` over `input` into `out`, paused once its exports are chosen; `change`
/// then rewrites files under it before the parse reads them.
#[cfg(unix)]
fn run_changing_input(dir: &Dir, input: &Path, out: &Path, change: impl FnOnce()) {
    let resume = dir.join("resume");
    let _ = std::fs::remove_file(&resume);
    let mut cmd = bin();
    cmd.args(["run", "--quiet", "--output"])
        .arg(out)
        .arg(input)
        .env(session_etl::shared::stop::RESUME_ENV, &resume);
    let (mut child, stderr) = spawn_paused(cmd, "selected");
    change();
    std::fs::write(&resume, "").unwrap();
    let (status, _) = wait_at_most(&mut child, LIMIT);
    assert_eq!(status.code(), Some(0), "{}", stderr.lock().unwrap());
}

#[cfg(unix)]
#[test]
fn a_file_rewritten_between_the_prescan_and_the_parse_still_gives_one_row_per_session() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let export = std::fs::read_to_string(input.join("call-5004.json")).unwrap();
    // The platform's re-export of call 5004 lands as an empty file, completed meanwhile.
    let reexport = dir.create("in/later/call-5004.json", "");
    let out = dir.join("out");
    run_changing_input(&dir, &input, &out, || {
        let newer = export.replace("08:05:50.000-04:00", "08:25:50.000-04:00");
        assert_ne!(newer, export);
        std::fs::write(&reexport, newer).unwrap();
    });
    let sessions = read_table(&out, "sessions");
    assert_eq!(
        sessions.rows_of("call", 5004).len(),
        1,
        "two rows for one session"
    );
    assert_eq!(
        read_table(&out, "participants").rows_of("call", 5004).len(),
        1
    );
    let files = &run_summary(&out)["files"];
    assert_eq!(
        (
            &files["seen"],
            &files["sessions"],
            &files["superseded"],
            &files["rejected"]
        ),
        (&5.into(), &4.into(), &1.into(), &0.into()),
        "{files}"
    );

    // A winner rewritten into an export of another session: each session keeps one row.
    let out = dir.join("out2");
    let winner = input.join("call-5007.json");
    let other = std::fs::read_to_string(input.join("call-5008.json")).unwrap();
    run_changing_input(&dir, &input, &out, || {
        std::fs::write(&winner, &other).unwrap()
    });
    let sessions = read_table(&out, "sessions");
    assert_eq!(sessions.rows_of("call", 5008).len(), 1);
    assert!(
        sessions.rows_of("call", 5007).is_empty(),
        "no file holds 5007 now"
    );
    let mut keys: Vec<_> = sessions
        .strs("kind")
        .into_iter()
        .zip(sessions.i64s("session_id"))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), sessions.rows(), "a session has two rows");
}

/// Two shards over `input`, committed into `dir/merged` with the expected exit code.
fn commit(dir: &Dir, shards: &[PathBuf], code: i32) -> String {
    let out = session_etl(&["commit", "--output"])
        .arg(dir.join("merged"))
        .args(shards)
        .assert_exit(code);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn shard(input: &Path, out: &Path, which: &str) {
    session_etl(&["run", "--quiet", "--shard", which, "--output"])
        .arg(out)
        .arg(input)
        .assert_exit(0);
}

#[test]
fn commit_refuses_a_shard_whose_files_do_not_match_its_manifest() {
    let dir = Dir::new();
    let input = repo().join("fixtures/good");
    let shards = [dir.join("s0"), dir.join("s1")];
    shard(&input, &shards[0], "0/2");
    shard(&input, &shards[1], "1/2");
    // A Parquet file of the shard lost (a partial copy between machines, a cleanup job).
    let (_, file) = table_files(&shards[1], "sessions").remove(0);
    let saved = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let stderr = commit(&dir, &shards, 2);
    assert!(
        stderr.contains("is damaged") && stderr.contains("missing"),
        "{stderr}"
    );
    assert!(!dir.join("merged").exists());
    // Cut short, or joined by a stray file.
    std::fs::write(&file, &saved[..saved.len() / 2]).unwrap();
    assert!(commit(&dir, &shards, 2).contains("bytes"));
    std::fs::write(&file, &saved).unwrap();
    std::fs::write(shards[1].join("sessions/stray.parquet"), &saved).unwrap();
    assert!(commit(&dir, &shards, 2).contains("not listed"));
    std::fs::remove_file(shards[1].join("sessions/stray.parquet")).unwrap();
    commit(&dir, &shards, 0);
}

#[test]
fn commit_refuses_a_shard_summary_with_a_key_it_does_not_know_and_names_the_file() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let shards = [dir.join("s0"), dir.join("s1")];
    shard(&input, &shards[0], "0/2");
    shard(&input, &shards[1], "1/2");
    // A key renamed (by another version, by hand): refused, not merged as zero.
    let summary = shards[1].join("_run.json");
    let saved = std::fs::read_to_string(&summary).unwrap();
    std::fs::write(&summary, saved.replacen("\"seen\"", "\"files_seen\"", 1)).unwrap();
    let stderr = commit(&dir, &shards, 2);
    assert!(
        stderr.contains(&summary.display().to_string())
            && stderr.contains("files: missing field `seen`"),
        "{stderr}"
    );
    assert!(!dir.join("merged").exists());
    std::fs::write(&summary, saved).unwrap();
    commit(&dir, &shards, 0);
}

#[test]
fn a_committed_output_is_replaced_by_the_next_commit_and_by_a_run() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let shards = [dir.join("s0"), dir.join("s1")];
    shard(&input, &shards[0], "0/2");
    shard(&input, &shards[1], "1/2");
    commit(&dir, &shards, 0);
    assert_eq!(run_summary(&dir.join("merged"))["output_format"], 1);
    commit(&dir, &shards, 0);
    session_etl(&["run", "--quiet", "--output"])
        .arg(dir.join("merged"))
        .arg(&input)
        .assert_exit(0);
}

#[test]
fn commit_refuses_shards_that_saw_the_input_change_between_them() {
    use session_etl::select::Shard;
    use session_etl::shared::vocab::{SessionKey, SessionKind};
    let dir = Dir::new();
    let input = good_input(&dir);
    let owner = |id| {
        (0..2)
            .find(|&index| {
                Shard { index, count: 2 }.owns_session(SessionKey {
                    kind: SessionKind::Call,
                    id,
                })
            })
            .unwrap()
    };
    // Another id of four digits (the file keeps its size) owned by the other shard.
    let moved_to = (5100..5999).find(|&id| owner(id) != owner(5004)).unwrap();
    let (first, second) = (owner(5004), owner(moved_to));
    let shards = [dir.join("s0"), dir.join("s1")];
    // The shard that owns 5004 runs after the change, the other before it: neither writes it.
    let file = input.join("call-5004.json");
    shard(&input, &shards[second as usize], &format!("{second}/2"));
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = text.replacen("\"id\": 5004,", &format!("\"id\": {moved_to},"), 1);
    assert_eq!(changed.len(), text.len());
    std::fs::write(&file, changed).unwrap();
    shard(&input, &shards[first as usize], &format!("{first}/2"));
    let stderr = commit(&dir, &shards, 2);
    assert!(stderr.contains("not parts of one run"), "{stderr}");
}

// ---- Absurd settings and signals ----------------------------------------------------------

#[test]
fn absurd_settings_are_refused_at_start_with_the_allowed_range() {
    let dir = Dir::new();
    let input = good_input(&dir);
    let out = dir.join("out");
    let before = listing(dir.path());
    let flags: [&[&str]; 11] = [
        &["--buffer-bytes", "0"],
        &["--row-group-bytes", "10"],
        &["--max-rows-per-file", "0"],
        &["--threads", "100000000000"],
        &["-j", "5000"],
        &["--batch-files", "0"],
        &["--row-group-rows", "0"],
        &["--zstd-level", "0"],
        &["--max-reject-rate", "2"],
        &["--max-file-bytes", "0"],
        &["--max-shrink", "1.5"],
    ];
    for args in flags {
        let mut cmd = bin();
        cmd.args(["run", "--quiet"])
            .args(args)
            .arg("--output")
            .arg(&out)
            .arg(&input);
        let (code, _, stderr) = output_within(cmd, Duration::from_secs(30));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("must be between"), "{args:?}: {stderr}");
    }
    for key in [
        "threads = 100000",
        "batch_files = 0",
        "row_group_rows = 0",
        "buffer_bytes = 0",
        "row_group_bytes = 10",
        "max_rows_per_file = 0",
    ] {
        let pipeline = dir.create("p.toml", format!("output = \"out\"\n{key}\n"));
        let mut cmd = bin();
        cmd.args(["run", "--quiet", "--pipeline"])
            .arg(&pipeline)
            .arg(&input);
        let (code, _, stderr) = output_within(cmd, Duration::from_secs(30));
        std::fs::remove_file(pipeline).unwrap();
        assert_eq!(code, Some(2), "{key}: {stderr}");
        assert!(stderr.contains("must be between"), "{key}: {stderr}");
    }
    assert_eq!(listing(dir.path()), before);
}

#[cfg(unix)]
#[test]
fn sigterm_sigint_and_sighup_stop_every_phase_and_leave_nothing_behind() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "300", "--seed", "3"]);
    let out = dir.join("out");
    run_expect(&out, &[&repo().join("fixtures/good")], &[], 0);
    let before = run_summary(&out)["run_id"].clone();
    for (point, signal) in [
        ("discovering", libc::SIGTERM),
        ("prescanning", libc::SIGINT),
        ("selected", libc::SIGHUP),
        ("writing", libc::SIGHUP),
        ("closed", libc::SIGTERM),
    ] {
        let mut cmd = bin();
        cmd.args([
            "run",
            "--quiet",
            "--allow-shrink",
            "--batch-files",
            "20",
            "--output",
        ])
        .arg(&out)
        .arg(corpus.join("sessions"));
        let (mut child, stderr) = spawn_paused(cmd, point);
        // SAFETY: sending a signal to a child process this test owns.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let (status, took) = wait_at_most(&mut child, LIMIT);
        assert_eq!(
            status.code(),
            Some(130),
            "signal {signal} at {point}: {}",
            stderr.lock().unwrap()
        );
        // Generous for a shared machine; the closing note of issue 14 has the figures.
        assert!(took < Duration::from_secs(10), "{point}: {took:?}");
        assert_eq!(
            run_summary(&out)["run_id"],
            before,
            "{point}: the output changed"
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".out.lock", "corpus", "out"], "{point}: left behind");
    }
}

// ---- More from a hostile read -------------------------------------------------------------

#[test]
fn unknown_keys_from_the_data_are_counted_in_bounded_memory() {
    let dir = Dir::new();
    let good = std::fs::read_to_string(repo().join("fixtures/good/call-5004.json")).unwrap();
    for file in 0..3 {
        let keys: String = (0..3000)
            .map(|k| format!("\"x_{file}_{k}\": 1, "))
            .collect();
        let doc = good
            .replacen('{', &format!("{{{keys}"), 1)
            .replace("\"id\": 5004,", &format!("\"id\": {},", 6000 + file));
        dir.create(&format!("in/call-{file}.json"), doc);
    }
    let out = dir.join("out");
    run_expect(&out, &[&dir.join("in")], &[], 0);
    let summary = run_summary(&out);
    assert_eq!(summary["unknown_fields"].as_object().unwrap().len(), 1000);
    assert_eq!(summary["unknown_fields_unlisted"], 8000);
    let size = std::fs::metadata(out.join("_run.json")).unwrap().len();
    assert!(size < 200_000, "_run.json is {size} bytes");
}

/// Peak resident memory of a finished child, in bytes (Linux `wait4`).
#[cfg(target_os = "linux")]
fn wait_peak_rss(child: std::process::Child) -> (i32, u64) {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value to be filled by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

/// Peak RSS of a run over `files` files of 12 MB each (one big `feedback` value apiece).
#[cfg(target_os = "linux")]
fn peak_rss_over_big_files(files: usize) -> u64 {
    let dir = Dir::new();
    let good = std::fs::read_to_string(repo().join("fixtures/good/call-5004.json")).unwrap();
    let feedback = "x".repeat(12 << 20);
    for i in 0..files {
        let doc = good
            .replace(
                "\"feedback\": null",
                &format!("\"feedback\": \"{feedback}\""),
            )
            .replace("\"id\": 5004,", &format!("\"id\": {},", 7000 + i));
        dir.create(&format!("in/call-{i}.json"), doc);
    }
    drop(feedback);
    // Rows are written as they come (1 MiB of buffer), so what stays is what is in flight.
    let pipeline = dir.create("p.toml", "buffer_bytes = 1048576\nthreads = 2\n");
    let child = bin()
        .args(["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .arg("--output")
        .arg(dir.join("out"))
        .arg(dir.join("in"))
        .spawn()
        .unwrap();
    let (code, peak) = wait_peak_rss(child);
    assert_eq!(code, 0);
    assert_eq!(read_table(&dir.join("out"), "sessions").rows(), files);
    peak
}

#[cfg(target_os = "linux")]
#[test]
fn memory_in_flight_is_bounded_in_bytes_not_in_files_per_chunk() {
    // Side by side in one test: four times the input must not take four times the memory.
    // (All the files in one chunk of 512 held every one of them at once.)
    let (few, many) = (peak_rss_over_big_files(6), peak_rss_over_big_files(24));
    assert!(
        (many as f64) < 1.5 * few as f64,
        "peak RSS {} MB over 6 files of 12 MB, {} MB over 24",
        few >> 20,
        many >> 20
    );
}

#[cfg(unix)]
#[test]
fn links_that_leave_the_inputs_are_not_followed_unless_asked() {
    let dir = Dir::new();
    let input = dir.join("in");
    dir.copy_fixture("good/call-5004.json", "in/call-5004.json");
    let secret = dir.create(
        "outside/secret.json",
        r#"{"id": "root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin"}"#,
    );
    dir.copy_fixture("good/call-5008.json", "outside/dir/call-5008.json");
    std::os::unix::fs::symlink(&secret, input.join("call-1.json")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside/dir"), input.join("more")).unwrap();
    std::os::unix::fs::symlink("/etc", input.join("etc")).unwrap();
    let out = dir.join("out");
    run_expect(&out, &[&input], &[], 0);
    let files = &run_summary(&out)["files"];
    assert_eq!(
        (&files["seen"], &files["external_links"]),
        (&1.into(), &3.into()),
        "{files}"
    );
    assert_eq!(read_table(&out, "rejects").rows(), 0);
    // Asked for: followed (without /etc, whose files this test cannot know).
    std::fs::remove_file(input.join("etc")).unwrap();
    run_expect(
        &out,
        &[&input],
        &["--follow-external-links", "--max-reject-rate", "1"],
        0,
    );
    assert_eq!(run_summary(&out)["files"]["seen"], 3);
}

#[cfg(unix)]
#[test]
fn named_fifos_and_devices_are_errors_and_a_pipeline_file_must_be_a_regular_file() {
    use std::os::unix::process::CommandExt;
    let dir = Dir::new();
    let fifo = dir.join("call-1.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let limited = |args: &[&std::ffi::OsStr]| {
        let mut cmd = bin();
        cmd.args(args);
        // SAFETY: setrlimit only, between fork and exec: at most 2 GiB of address space, so
        // a run reading /dev/zero cannot take the machine's memory.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 2 << 30,
                    rlim_max: 2 << 30,
                };
                libc::setrlimit(libc::RLIMIT_AS, &limit);
                Ok(())
            });
        }
        output_within(cmd, Duration::from_secs(30))
    };
    let out = dir.join("out");
    for named in [fifo.as_os_str(), "/dev/null".as_ref()] {
        let (code, _, stderr) = limited(&[
            "run".as_ref(),
            "--quiet".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            named,
        ]);
        assert_eq!(code, Some(1), "{named:?}: {stderr}");
        assert!(
            stderr.contains("not a regular file or a folder"),
            "{stderr}"
        );
    }
    for pipeline in ["/dev/zero".as_ref(), fifo.as_os_str()] {
        let (code, _, stderr) = limited(&["run".as_ref(), "--pipeline".as_ref(), pipeline]);
        assert_eq!(code, Some(2), "{pipeline:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn a_dangling_link_as_output_is_refused_and_leaves_nothing() {
    let dir = Dir::new();
    let input = good_input(&dir);
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("out")).unwrap();
    let before = listing(dir.path());
    let stderr = run_expect(&dir.join("out"), &[&input], &[], 1);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(listing(dir.path()), before, "a staging folder was left");
}

#[test]
fn every_run_refused_by_the_lock_names_its_holder() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "1500", "--seed", "9"]);
    let out = dir.join("out");
    let children: Vec<_> = (0..12)
        .map(|_| {
            let mut cmd = bin();
            cmd.args(["run", "--quiet", "--threads", "1", "--max-reject-rate", "1"])
                .arg("--output")
                .arg(&out)
                .arg(corpus.join("sessions"));
            std::thread::spawn(move || output_within(cmd, LIMIT))
        })
        .collect();
    let results: Vec<_> = children.into_iter().map(|c| c.join().unwrap()).collect();
    let published = results.iter().filter(|r| r.0 == Some(0)).count();
    assert!(published >= 1, "{results:?}");
    for (code, _, stderr) in &results {
        match code {
            Some(0) => {}
            Some(4) => assert!(
                stderr.contains("(pid ") && stderr.contains(", run "),
                "no holder details: {stderr}"
            ),
            other => panic!("exit {other:?}: {stderr}"),
        }
    }
}

#[cfg(unix)]
#[test]
fn a_removed_lock_file_never_lets_a_second_run_remove_a_live_runs_staging() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "300", "--seed", "4"]);
    let out = dir.join("out");
    let resume = dir.join("resume");
    let mut cmd = bin();
    cmd.args([
        "run",
        "--quiet",
        "--batch-files",
        "20",
        "--max-reject-rate",
        "1",
    ])
    .arg("--output")
    .arg(&out)
    .arg(corpus.join("sessions"))
    .env(session_etl::shared::stop::RESUME_ENV, &resume);
    let (mut first, stderr) = spawn_paused(cmd, "writing");
    std::fs::remove_file(dir.join(".out.lock")).unwrap();
    let second = run_expect(
        &out,
        &[&corpus.join("sessions")],
        &["--max-reject-rate", "1"],
        4,
    );
    assert!(second.contains("a live run is writing"), "{second}");
    std::fs::write(&resume, "").unwrap();
    let (status, _) = wait_at_most(&mut first, LIMIT);
    assert_eq!(status.code(), Some(0), "{}", stderr.lock().unwrap());
    assert!(run_summary(&out)["sessions"]["written"].as_u64() > Some(250));
}

#[test]
fn the_incremental_state_does_not_depend_on_how_paths_are_spelled() {
    let dir = Dir::new();
    good_input(&dir);
    let pipeline = dir.create(
        "sub/p.toml",
        "inputs = [\"../in\"]\noutput = \"../out\"\nincremental = true\n",
    );
    session_etl(&["run", "--quiet", "--pipeline", "../sub/p.toml"])
        .current_dir(dir.join("sub"))
        .assert_exit(0);
    session_etl(&["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .current_dir("/")
        .assert_exit(0);
    let inc = &run_summary(&dir.join("out"))["incremental"];
    assert_eq!(
        (
            &inc["files_deleted"],
            &inc["files_new"],
            &inc["sessions_rebuilt"]
        ),
        (&0.into(), &0.into(), &0.into()),
        "{inc}"
    );
}

#[cfg(unix)]
#[test]
fn two_file_names_that_are_not_utf8_keep_two_source_paths() {
    use std::os::unix::ffi::OsStrExt;
    let dir = Dir::new();
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let good = std::fs::read_to_string(repo().join("fixtures/good/call-5004.json")).unwrap();
    for (byte, id) in [(0xff_u8, 8001), (0xfe, 8002)] {
        let name = [b"call-".as_slice(), &[byte], b".json"].concat();
        let path = input.join(std::ffi::OsStr::from_bytes(&name));
        std::fs::write(
            path,
            good.replace("\"id\": 5004,", &format!("\"id\": {id},")),
        )
        .unwrap();
    }
    let out = dir.join("out");
    run_expect(&out, &[&input], &[], 0);
    let mut paths: Vec<String> = read_table(&out, "sessions")
        .strs("source_path")
        .into_iter()
        .flatten()
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.iter().all(|p| !p.contains('\u{fffd}')), "{paths:?}");
    assert!(paths[0].ends_with("call-\\xFE.json"), "{paths:?}");
}
