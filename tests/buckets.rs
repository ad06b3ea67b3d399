//! Inputs in buckets (`s3://`), against a real local S3 server (moto) and a proxy that fails
//! requests on purpose: the tables equal a local run of the same files, whatever the server
//! does, and what cannot be read becomes a reject row.

use std::path::Path;
use std::time::Duration;

use crate::s3::*;
use crate::util::*;

/// The tables every run writes that hold session rows or rejects.
const TABLES: [&str; 4] = ["sessions", "participants", "events", "rejects"];

/// `table`'s rows with every file path rewritten from `from` to `to`, sorted.
fn rows_with_paths(output: &Path, table: &str, from: &str, to: &str) -> Vec<String> {
    read_table(output, table)
        .canonical_rows()
        .into_iter()
        .map(|row| row.replace(from, to))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The counts of `_run.json` that do not depend on where the files were.
fn file_counts(output: &Path) -> serde_json::Value {
    let summary = run_summary(output);
    let mut files = summary["files"].clone();
    files.as_object_mut().unwrap().retain(|k, _| {
        [
            "seen",
            "read",
            "ignored",
            "rejected",
            "superseded",
            "sessions",
        ]
        .contains(&k.as_str())
    });
    serde_json::json!({ "files": files, "rows": summary["rows"], "rejects": summary["rejects_by_kind"] })
}

/// A generated corpus with bad files, re-exports, gzip files, non-JSON files and a hidden
/// folder, uploaded to `s3://ccaip-in/night/metadata`. Returns the local copy.
fn corpus_in_bucket(server: &S3Server, dir: &Dir, sessions: &str) -> std::path::PathBuf {
    let corpus = dir.generate(&[
        "--sessions",
        sessions,
        "--seed",
        "5",
        "--bad-fraction",
        "0.08",
        "--gzip-fraction",
        "0.3",
    ]);
    let local = corpus.join("sessions");
    std::fs::create_dir_all(local.join(".partial")).unwrap();
    std::fs::write(local.join(".partial/call-999999.json"), b"{\"id\": 999999").unwrap();
    std::fs::write(local.join("README.txt"), b"not a session").unwrap();
    server.create_bucket("ccaip-in");
    server.upload_dir("ccaip-in", "night/metadata", &local);
    local
}

fn assert_same_output(local_out: &Path, local_in: &Path, bucket_out: &Path, bucket_in: &str) {
    let from = format!("{}/", local_in.display());
    let to = format!("{bucket_in}/");
    for table in TABLES {
        let local = rows_with_paths(local_out, table, &from, &to);
        let bucket = rows_with_paths(bucket_out, table, "", "");
        assert!(!local.is_empty(), "{table} is empty");
        assert_eq!(local, bucket, "table {table} differs");
    }
    assert_eq!(file_counts(local_out), file_counts(bucket_out));
}

#[test]
fn a_bucket_input_gives_the_tables_of_the_same_files_on_disk() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    let local = corpus_in_bucket(&server, &dir, "300");
    let (local_out, bucket_out) = (dir.join("local"), dir.join("bucket"));
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2", "-o"])
        .arg(&local_out)
        .arg(&local)
        .assert_exit(0);
    server
        .session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2", "-o"])
        .arg(&bucket_out)
        .arg("s3://ccaip-in/night/metadata")
        .assert_exit(0);
    assert_same_output(
        &local_out,
        &local,
        &bucket_out,
        "s3://ccaip-in/night/metadata",
    );
    let summary = run_summary(&bucket_out);
    assert_eq!(
        summary["inputs"],
        serde_json::json!(["s3://ccaip-in/night/metadata"])
    );
    // The non-JSON file is ignored; the hidden folder is not even counted, as on disk.
    assert_eq!(
        summary["files"]["ignored"],
        run_summary(&local_out)["files"]["ignored"]
    );
    // `validate` reads the bucket the same way: one problem per file the run rejected.
    let out = server
        .session_etl(&["validate", "-j", "2", "s3://ccaip-in/night/metadata"])
        .assert_exit(1);
    let problems = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    assert_eq!(problems, summary["files"]["rejected"].as_u64().unwrap());
}

#[test]
fn bucket_and_local_inputs_mix_and_an_object_can_be_named() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    server.create_bucket("mixed");
    let one = std::fs::read(repo().join("fixtures/good/metadata/call-5002.json")).unwrap();
    server.put("mixed", "exports/one/call-5002.json", one);
    server
        .session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-o"])
        .arg(dir.join("out"))
        .arg("s3://mixed/exports/one/call-5002.json")
        .arg(real())
        .assert_exit(0);
    let sessions = read_table(&dir.join("out"), "sessions");
    let paths = sessions.strs("source_path");
    assert!(
        paths.contains(&Some("s3://mixed/exports/one/call-5002.json".into())),
        "{paths:?}"
    );
    assert!(
        paths.iter().flatten().any(|p| p.starts_with('/')),
        "{paths:?}"
    );
}

#[test]
fn an_object_deleted_after_listing_is_a_reject_row_and_the_rest_is_written() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    let local = corpus_in_bucket(&server, &dir, "60");
    // A file some session is read from (not a superseded re-export, which is never read
    // whole): what a local run of the same files keeps.
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-o"])
        .arg(dir.join("local"))
        .arg(&local)
        .assert_exit(0);
    let kept = read_table(&dir.join("local"), "sessions").strs("source_path");
    let prefix = format!("{}/", local.display());
    let victim = kept
        .iter()
        .flatten()
        .filter_map(|p| p.strip_prefix(&prefix))
        .min()
        .unwrap()
        .to_owned();
    let resume = dir.join("resume");
    let cmd = server
        .session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2", "-o"])
        .arg(dir.join("out"))
        .arg("s3://ccaip-in/night/metadata")
        .env(session_etl::shared::stop::RESUME_ENV, &resume)
        .into_command();
    let (mut child, stderr) = spawn_paused(cmd, "selected");
    server.delete("ccaip-in", &format!("night/metadata/{victim}"));
    std::fs::write(&resume, b"").unwrap();
    let (status, _) = wait_at_most(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(0), "{}", stderr.lock().unwrap());
    let rejects = read_table(&dir.join("out"), "rejects");
    let url = format!("s3://ccaip-in/night/metadata/{victim}");
    let row = rejects
        .strs("source_path")
        .iter()
        .position(|p| p.as_deref() == Some(url.as_str()))
        .unwrap_or_else(|| panic!("no reject row for {url}"));
    assert_eq!(
        rejects.strs("error_kind")[row].as_deref(),
        Some("object_not_found")
    );
    let written = run_summary(&dir.join("out"))["rows"]["sessions"]
        .as_u64()
        .unwrap();
    let local_written = run_summary(&dir.join("local"))["rows"]["sessions"]
        .as_u64()
        .unwrap();
    // Every other session is written (the deleted one too, when an older export of it exists).
    assert!(
        written + 1 >= local_written,
        "{written} sessions written, {local_written} by the local run"
    );
}

#[test]
fn transient_failures_are_retried_and_the_output_is_exact() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    let local = corpus_in_bucket(&server, &dir, "150");
    let proxy = server.flaky_proxy(7);
    let (local_out, bucket_out) = (dir.join("local"), dir.join("bucket"));
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2", "-o"])
        .arg(&local_out)
        .arg(&local)
        .assert_exit(0);
    let cmd = server
        .env_for(
            session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2", "-o"]),
            &proxy.endpoint(),
        )
        .arg(&bucket_out)
        .arg("s3://ccaip-in/night/metadata")
        .into_command();
    let (code, _, stderr) = output_within(cmd, Duration::from_secs(300));
    assert_eq!(code, Some(0), "{stderr}");
    assert_same_output(
        &local_out,
        &local,
        &bucket_out,
        "s3://ccaip-in/night/metadata",
    );
    let stats = proxy.stats();
    assert!(stats["slow_down"].as_u64().unwrap() > 10, "{stats}");
    assert!(stats["dropped"].as_u64().unwrap() > 10, "{stats}");
}

#[test]
fn the_prescan_costs_one_ranged_get_per_object_and_the_parse_one_get() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    corpus_in_bucket(&server, &dir, "200");
    let proxy = server.flaky_proxy(0);
    let cmd = server
        .env_for(
            session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-o"]),
            &proxy.endpoint(),
        )
        .arg(dir.join("out"))
        .arg("s3://ccaip-in/night/metadata")
        .into_command();
    let (code, _, stderr) = output_within(cmd, Duration::from_secs(300));
    assert_eq!(code, Some(0), "{stderr}");
    let summary = run_summary(&dir.join("out"));
    let files = summary["files"]["seen"].as_u64().unwrap();
    let superseded = summary["files"]["superseded"].as_u64().unwrap();
    let stats = proxy.stats();
    let gets = stats["by_method"]["GET"].as_u64().unwrap();
    let ranged = stats["ranged_gets"].as_u64().unwrap();
    let whole = gets - ranged - 1; // one page of listing
    eprintln!(
        "{files} files: {ranged} ranged GETs, {whole} whole GETs, {:.2} requests per file",
        gets as f64 / files as f64
    );
    // One ranged GET per non-empty object; one whole GET per file parsed: every winner, plus
    // the older export of a session whose newest is rejected. Superseded re-exports are
    // otherwise never fetched whole, and no object is fetched whole twice.
    assert!(ranged <= files && ranged + 20 >= files, "{stats}");
    assert!(whole >= files - superseded && whole <= files, "{stats}");
}

#[test]
fn credentials_never_appear_in_errors_or_outputs() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    server.create_bucket("present");
    server.put(
        "present",
        "m/call-5002.json",
        std::fs::read(repo().join("fixtures/good/metadata/call-5002.json")).unwrap(),
    );
    // A bucket that does not exist: the listing fails, with the server's answer.
    let out = server
        .session_etl(&["run", "--quiet", "-o"])
        .arg(dir.join("out"))
        .arg("s3://no-such-bucket/x")
        .run();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s3://no-such-bucket/x"), "{stderr}");
    assert!(!stderr.contains(SECRET_KEY), "{stderr}");
    // A run that works: nothing it writes holds the secret.
    server
        .session_etl(&["run", "-o"])
        .arg(dir.join("ok"))
        .arg("s3://present/m")
        .assert_exit(0);
    for (path, _) in listing(&dir.join("ok")) {
        if path.is_dir() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET_KEY), "{}", path.display());
    }
}

/// A bucket output: `s3://ccaip-out/analytics`.
const OUT_BUCKET: &str = "ccaip-out";
const OUT_PREFIX: &str = "analytics";

fn out_url() -> String {
    format!("s3://{OUT_BUCKET}/{OUT_PREFIX}")
}

/// The run ids that name the data files under the bucket output.
fn run_ids_in_bucket(server: &S3Server) -> std::collections::BTreeSet<String> {
    server
        .keys(OUT_BUCKET, OUT_PREFIX)
        .iter()
        .filter(|k| k.ends_with(".parquet") || k.ends_with(".jsonl"))
        .map(|k| k.rsplit('/').next().unwrap())
        // `20261202T021110Z-…`: a run's name, not a file someone else put there.
        .filter(|name| name.len() > 16 && name.as_bytes()[8] == b'T' && name.as_bytes()[15] == b'Z')
        .map(|name| name[..16].to_owned())
        .collect()
}

#[test]
fn a_bucket_output_holds_what_a_local_output_holds_and_a_rerun_replaces_it() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    server.create_bucket(OUT_BUCKET);
    let run = |out: &str| {
        server
            .session_etl(&[
                "run",
                "--quiet",
                "--max-reject-rate",
                "1",
                "-j",
                "2",
                "-o",
                out,
            ])
            .arg(repo().join("fixtures/good"))
            .arg(repo().join("fixtures/bad"))
            .assert_exit(0);
    };
    run(dir.join("local").to_str().unwrap());
    run(&out_url());
    let first = run_ids_in_bucket(&server);
    assert_eq!(first.len(), 1, "{first:?}");
    // What a reader that globs the prefix finds is the local output, file for file.
    server.download(OUT_BUCKET, OUT_PREFIX, &dir.join("copy"));
    for table in TABLES {
        assert_eq!(
            read_table(&dir.join("local"), table).canonical_rows(),
            read_table(&dir.join("copy"), table).canonical_rows(),
            "{table}"
        );
    }
    assert!(dir.join("copy/_SUCCESS").exists());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("copy/_manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for path in &listed {
        assert!(
            dir.join("copy").join(path).is_file(),
            "{path} listed, not uploaded"
        );
    }
    assert_eq!(run_summary(&dir.join("copy"))["output"], out_url());
    // Objects someone else put under the prefix are not provably session-etl's: they stay.
    let foreign = [
        format!("{OUT_PREFIX}/README.txt"),
        format!("{OUT_PREFIX}/sessions/part-00000.parquet"),
    ];
    for key in &foreign {
        server.put(OUT_BUCKET, key, "not session-etl's");
    }
    // A second run replaces the first: its files are gone, only the new ones are left.
    std::thread::sleep(Duration::from_millis(1100));
    run(&out_url());
    let second = run_ids_in_bucket(&server);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first, second);
    let keys = server.keys(OUT_BUCKET, OUT_PREFIX);
    for key in &foreign {
        assert!(keys.contains(key), "{key} was deleted");
    }
    let commits: Vec<String> = server
        .keys(OUT_BUCKET, &format!("{OUT_PREFIX}/_session-etl/commits"))
        .into_iter()
        .collect();
    assert_eq!(commits.len(), 2, "{commits:?}");
}

#[test]
fn a_run_killed_before_its_commit_leaves_the_published_output_and_the_next_run_cleans_up() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    server.create_bucket(OUT_BUCKET);
    let run = || {
        server
            .session_etl(&["run", "--quiet", "-o", &out_url()])
            .arg(repo().join("fixtures/good"))
            .into_command()
    };
    let (code, _, stderr) = output_within(run(), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    let published = run_ids_in_bucket(&server);
    server.download(OUT_BUCKET, OUT_PREFIX, &dir.join("before"));
    // The second run uploads everything, then is killed just before its commit point.
    std::thread::sleep(Duration::from_millis(1100));
    let (mut child, _) = spawn_paused(run(), "publishing");
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = run_ids_in_bucket(&server);
    assert_eq!(
        after_kill.len(),
        2,
        "the killed run's files are there, unreferenced"
    );
    // A reader that follows the manifest sees the first run, whole.
    server.download(OUT_BUCKET, OUT_PREFIX, &dir.join("during"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("during/_manifest.json")).unwrap()).unwrap();
    for file in manifest["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        assert!(
            published.iter().any(|id| path.contains(id.as_str())),
            "{path}"
        );
        let size = std::fs::metadata(dir.join("during").join(path))
            .unwrap()
            .len();
        assert_eq!(size, file["bytes"].as_u64().unwrap(), "{path}");
    }
    assert_eq!(
        run_summary(&dir.join("during"))["run_id"],
        run_summary(&dir.join("before"))["run_id"]
    );
    // The next run publishes and removes the killed run's leftovers.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, _, stderr) = output_within(run(), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    let now = run_ids_in_bucket(&server);
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(now.is_disjoint(&after_kill), "{now:?} {after_kill:?}");
}

#[test]
fn two_runs_on_one_bucket_output_cannot_both_commit() {
    let Some(server) = S3Server::start() else {
        return;
    };
    server.create_bucket(OUT_BUCKET);
    let run = || {
        server
            .session_etl(&["run", "--quiet", "-o", &out_url()])
            .arg(repo().join("fixtures/good"))
    };
    let dir = Dir::new();
    let resume = dir.join("resume");
    // A waits just before its commit point; B starts from the same (empty) output and commits.
    let (mut a, a_stderr) = spawn_paused(
        run()
            .env(session_etl::shared::stop::RESUME_ENV, &resume)
            .into_command(),
        "publishing",
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (code, _, stderr) = output_within(run().into_command(), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    let b = run_ids_in_bucket(&server);
    std::fs::write(&resume, b"").unwrap();
    let (status, _) = wait_at_most(&mut a, Duration::from_secs(120));
    let a_stderr = a_stderr.lock().unwrap().clone();
    assert_eq!(status.code(), Some(4), "{a_stderr}");
    assert!(a_stderr.contains("made by another run"), "{a_stderr}");
    // B's output stands, and A removed what it had uploaded.
    assert_eq!(run_ids_in_bucket(&server), b);
    server.download(OUT_BUCKET, OUT_PREFIX, &dir.join("copy"));
    assert_eq!(
        run_summary(&dir.join("copy"))["rows"]["sessions"].as_u64(),
        Some(read_table(&dir.join("copy"), "sessions").rows() as u64)
    );
}

#[test]
fn a_bucket_prefix_that_is_not_session_etls_is_refused_and_left_alone() {
    let Some(server) = S3Server::start() else {
        return;
    };
    server.create_bucket(OUT_BUCKET);
    server.put(OUT_BUCKET, &format!("{OUT_PREFIX}/_SUCCESS"), "");
    server.put(
        OUT_BUCKET,
        &format!("{OUT_PREFIX}/part-00000.parquet"),
        "spark's",
    );
    let before = server.keys(OUT_BUCKET, OUT_PREFIX);
    let out = server
        .session_etl(&["run", "--quiet", "-o", &out_url()])
        .arg(repo().join("fixtures/good"))
        .run();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Spark"), "{stderr}");
    assert_eq!(server.keys(OUT_BUCKET, OUT_PREFIX), before);
    // The whole bucket, and an output holding the input, are refused before anything.
    for (output, input) in [
        (format!("s3://{OUT_BUCKET}"), "fixtures/good".to_owned()),
        (out_url(), format!("{}/exports", out_url())),
    ] {
        let out = server
            .session_etl(&["run", "--quiet", "-o", &output, &input])
            .run();
        assert_eq!(out.status.code(), Some(2), "{output} {input}: {out:?}");
    }
    assert_eq!(server.keys(OUT_BUCKET, OUT_PREFIX), before);
}

#[test]
fn shards_in_a_bucket_commit_into_a_bucket_output_as_one_whole_run() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    corpus_in_bucket(&server, &dir, "200");
    server.create_bucket(OUT_BUCKET);
    let input = "s3://ccaip-in/night/metadata";
    let run = |out: &str, shard: Option<&str>| {
        let mut cmd = server.session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2"]);
        if let Some(shard) = shard {
            cmd = cmd.args(["--shard", shard]);
        }
        cmd.args(["-o", out, input]).assert_exit(0);
    };
    let whole = dir.join("whole");
    run(whole.to_str().unwrap(), None);
    // One shard writes into the bucket, the other into a local folder: commit takes both,
    // copying the first inside the store and uploading the second.
    let shard0 = format!("s3://{OUT_BUCKET}/shards/shard-0");
    let shard1 = dir.join("shard-1");
    run(&shard0, Some("0/2"));
    run(shard1.to_str().unwrap(), Some("1/2"));
    server
        .session_etl(&["commit", "--quiet", "-o", &out_url(), &shard0])
        .arg(&shard1)
        .assert_exit(0);
    server.download(OUT_BUCKET, OUT_PREFIX, &dir.join("merged"));
    crate::sharding::assert_equals_whole_run(&dir.join("merged"), &whole);
    // The shards are left as they were: deleting them is the operator's call.
    assert!(!server.keys(OUT_BUCKET, "shards/shard-0").is_empty());
    // The same shards into a local output: the bucket shard's files are downloaded.
    server
        .session_etl(&["commit", "--quiet", "-o"])
        .arg(dir.join("local-merge"))
        .arg(&shard0)
        .arg(&shard1)
        .assert_exit(0);
    crate::sharding::assert_equals_whole_run(&dir.join("local-merge"), &whole);
}

/// The argument lists of a job example: the lines after `command:` (and `args:`) that are
/// list items, with a `>-` block folded into one shell command.
fn job_command(yaml: &str) -> Vec<String> {
    let mut argv = Vec::new();
    let mut folded: Option<String> = None;
    for line in yaml.lines().map(str::trim) {
        if let Some(text) = folded.as_mut() {
            if line.is_empty() || line.ends_with(':') || line.starts_with("env:") {
                argv.push(std::mem::take(text).trim().to_owned());
                folded = None;
            } else {
                text.push(' ');
                text.push_str(line);
                continue;
            }
        }
        if line == "- >-" {
            folded = Some(String::new());
        } else if let Some(item) = line.strip_prefix("- ").filter(|i| !i.starts_with('{')) {
            argv.push(item.trim_matches('"').to_owned());
        } else if let Some(list) = line
            .strip_prefix("command: [")
            .and_then(|l| l.strip_suffix(']'))
        {
            argv.extend(list.split(", ").map(|a| a.trim_matches('"').to_owned()));
        }
    }
    argv.retain(|a| !a.starts_with("image:") && !a.starts_with("name:"));
    argv
}

#[test]
fn the_cloud_run_example_backfills_from_a_bucket_into_a_bucket() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "150", "--seed", "9", "--bad-fraction", "0.02"]);
    server.create_bucket("ccaip-exports");
    server.create_bucket("ccaip-analytics");
    server.upload_dir("ccaip-exports", "ccaip/metadata", &corpus.join("sessions"));
    let read = |name: &str| {
        std::fs::read_to_string(repo().join("pipelines/cloud-run").join(name)).unwrap()
    };
    let (shards, commit) = (read("shards-job.yaml"), read("commit-job.yaml"));
    let tasks: usize = shards
        .lines()
        .find_map(|l| l.trim().strip_prefix("taskCount:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("taskCount");
    // The example's own commands, gs:// read as s3:// on the local server (the code path
    // after the URL is the same object_store client interface; GCS itself is not reachable
    // from the tests).
    let to_s3 = |arg: &str| arg.replace("gs://", "s3://");
    let task = job_command(&shards);
    assert_eq!(task[..2], ["/bin/sh", "-c"], "{task:?}");
    let script = to_s3(&task[2]);
    assert!(
        script.starts_with("exec session-etl run --shard auto "),
        "{script}"
    );
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_session-etl"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for index in 0..tasks {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&script)
            .env("PATH", &path)
            .env("CLOUD_RUN_TASK_INDEX", index.to_string())
            .env("CLOUD_RUN_TASK_COUNT", tasks.to_string())
            // A quarter of a small corpus may hold more than 5% of its few bad files.
            .env("SESSION_ETL_GUARDS_MAX_REJECT_RATE", "1")
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
        let cmd = server.env_for(TestCommand::from(cmd), &server.endpoint());
        let (code, _, stderr) = output_within(cmd.into_command(), Duration::from_secs(120));
        assert_eq!(code, Some(0), "task {index}: {stderr}");
    }
    let commit: Vec<String> = job_command(&commit).iter().map(|a| to_s3(a)).collect();
    assert_eq!(commit[0], "session-etl");
    assert_eq!(commit.len(), 4 + tasks, "{commit:?}");
    let args: Vec<&str> = commit[1..].iter().map(String::as_str).collect();
    server.session_etl(&args).assert_exit(0);
    // The committed dataset is one whole run of the same objects.
    let whole = dir.join("whole");
    server
        .session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-o"])
        .arg(&whole)
        .arg("s3://ccaip-exports/ccaip/metadata")
        .assert_exit(0);
    server.download("ccaip-analytics", "ccaip_sessions", &dir.join("merged"));
    crate::sharding::assert_equals_whole_run(&dir.join("merged"), &whole);
}

#[test]
fn a_commit_cleaning_up_leaves_the_files_of_a_run_that_started_after_it() {
    let Some(server) = S3Server::start() else {
        return;
    };
    server.create_bucket(OUT_BUCKET);
    let dir = Dir::new();
    let run = |resume: &Path| {
        server
            .session_etl(&["run", "--quiet", "-o", &out_url()])
            .arg(repo().join("fixtures/good"))
            .env(session_etl::shared::stop::RESUME_ENV, resume)
            .into_command()
    };
    let (resume_a, resume_b) = (dir.join("resume-a"), dir.join("resume-b"));
    // A commits, then waits before its clean-up; B starts from A's commit and uploads.
    let (mut a, a_stderr) = spawn_paused(run(&resume_a), "swapped");
    std::thread::sleep(Duration::from_millis(1100));
    let (mut b, b_stderr) = spawn_paused(run(&resume_b), "publishing");
    let both = run_ids_in_bucket(&server);
    assert_eq!(both.len(), 2, "{both:?}");
    // A cleans up: B's files are a live run's, not leftovers.
    std::fs::write(&resume_a, b"").unwrap();
    let (status, _) = wait_at_most(&mut a, Duration::from_secs(120));
    assert_eq!(status.code(), Some(0), "{}", a_stderr.lock().unwrap());
    assert_eq!(run_ids_in_bucket(&server), both);
    // B commits on top of A, and its output is whole.
    std::fs::write(&resume_b, b"").unwrap();
    let (status, _) = wait_at_most(&mut b, Duration::from_secs(120));
    assert_eq!(status.code(), Some(0), "{}", b_stderr.lock().unwrap());
    let now = run_ids_in_bucket(&server);
    assert_eq!(now.len(), 1, "{now:?}");
    server.download(OUT_BUCKET, OUT_PREFIX, &dir.join("copy"));
    let summary = run_summary(&dir.join("copy"));
    assert!(now.contains(&summary["run_id"].as_str().unwrap()[..16]));
    assert_eq!(
        summary["rows"]["sessions"].as_u64(),
        Some(read_table(&dir.join("copy"), "sessions").rows() as u64)
    );
}

#[test]
fn an_incremental_night_on_a_bucket_input_equals_a_full_run() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    let local = corpus_in_bucket(&server, &dir, "120");
    let input = "s3://ccaip-in/night/metadata";
    let run = |out: &Path, extra: &[&str]| {
        server
            .session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2"])
            .args(extra)
            .arg("-o")
            .arg(out)
            .arg(input)
            .assert_exit(0);
    };
    let nightly = dir.join("nightly");
    run(&nightly, &["--incremental"]);
    // The next night: new exports land in a dated folder, one export is rewritten, one is
    // deleted, and the rest is left as it was.
    let next = dir.join("next");
    session_etl(&["generate", "--sessions", "15", "--seed", "77", "--out"])
        .arg(&next)
        .assert_exit(0);
    let added = server.upload_dir("ccaip-in", "night/metadata/next", &next.join("sessions"));
    let kept = read_table(&nightly, "sessions").strs("source_path");
    let prefix = format!("{input}/");
    let mut objects = kept
        .iter()
        .flatten()
        .filter_map(|p| p.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect::<Vec<_>>();
    objects.sort();
    let (rewritten, deleted) = (&objects[0], &objects[1]);
    let mut body = std::fs::read(local.join(rewritten)).unwrap();
    body.extend_from_slice(b"\n");
    server.put("ccaip-in", &format!("night/metadata/{rewritten}"), body);
    server.delete("ccaip-in", &format!("night/metadata/{deleted}"));
    run(&nightly, &["--incremental"]);
    let incremental = &run_summary(&nightly)["incremental"];
    assert_eq!(
        incremental["files_new"].as_u64(),
        Some(added as u64),
        "{incremental}"
    );
    assert_eq!(
        incremental["files_deleted"].as_u64(),
        Some(1),
        "{incremental}"
    );
    let rewritten_count = incremental["files_changed"].as_u64().unwrap()
        + incremental["files_same_content"].as_u64().unwrap();
    assert_eq!(rewritten_count, 1, "{incremental}");
    // A full run of the bucket as it is now holds the same rows.
    let full = dir.join("full");
    run(&full, &[]);
    for table in TABLES {
        assert_eq!(
            read_table(&nightly, table).canonical_rows(),
            read_table(&full, table).canonical_rows(),
            "{table}"
        );
    }
    // A night with nothing new reads no object whole: the listing says they are unchanged.
    let proxy = server.flaky_proxy(0);
    server
        .env_for(
            session_etl(&[
                "run",
                "--quiet",
                "--max-reject-rate",
                "1",
                "--incremental",
                "-o",
            ]),
            &proxy.endpoint(),
        )
        .arg(&nightly)
        .arg(input)
        .assert_exit(0);
    let stats = proxy.stats();
    assert_eq!(stats["by_method"]["GET"].as_u64(), Some(1), "{stats}");
}

/// The data files `manifest` (an output's `_manifest.json`) lists whose name carries `run`.
fn listed_of_run(manifest: &serde_json::Value, run: &str) -> Vec<String> {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .filter(|p| p.rsplit('/').next().unwrap().starts_with(run))
        .collect()
}

#[test]
fn incremental_nights_into_a_bucket_output_leave_the_partitions_they_keep_in_place() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    server.create_bucket(OUT_BUCKET);
    let corpus = dir.generate(&["--sessions", "120", "--seed", "5", "--bad-fraction", "0.05"]);
    let input = corpus.join("sessions");
    let run = |endpoint: &str, out: &str| {
        let cmd = session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-j", "2"]);
        server
            .env_for(cmd, endpoint)
            .args(["--incremental", "-o", out])
            .arg(&input)
            .assert_exit(0);
    };
    run(&server.endpoint(), &out_url());
    let night1 = dir.join("night1");
    server.download(OUT_BUCKET, OUT_PREFIX, &night1);
    let first = run_summary(&night1)["run_id"].as_str().unwrap().to_owned();
    // The state is published under the run's name, like every object a run uploads.
    let keys = server.keys(OUT_BUCKET, &format!("{OUT_PREFIX}/_state"));
    assert_eq!(
        keys,
        [
            format!("{OUT_PREFIX}/_state/{first}-files.parquet"),
            format!("{OUT_PREFIX}/_state/{first}-state.json"),
        ],
        "{keys:?}"
    );

    // The next night one export is rewritten and one deleted: a few partitions change.
    let sources = read_table(&night1, "sessions").strs("source_path");
    let mut sources: Vec<&str> = sources.iter().flatten().map(String::as_str).collect();
    sources.sort();
    let mut body = std::fs::read(sources[0]).unwrap();
    body.extend_from_slice(b"\n");
    std::fs::write(sources[0], body).unwrap();
    std::fs::remove_file(sources[1]).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let proxy = server.flaky_proxy(0);
    run(&proxy.endpoint(), &out_url());
    let night2 = dir.join("night2");
    server.download(OUT_BUCKET, OUT_PREFIX, &night2);
    let summary = run_summary(&night2);
    let second = summary["run_id"].as_str().unwrap().to_owned();
    let incremental = &summary["incremental"];
    assert_eq!(incremental["previous_run"], first.as_str(), "{incremental}");
    assert_eq!(incremental["files_processed"], 1, "{incremental}");
    // The tables are a full run's of the files as they are now.
    let full = dir.join("full");
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "-o"])
        .arg(&full)
        .arg(&input)
        .assert_exit(0);
    for table in TABLES {
        assert_eq!(
            read_table(&night2, table).canonical_rows(),
            read_table(&full, table).canonical_rows(),
            "{table}"
        );
    }
    // The kept partitions are the first night's objects, listed again where they are: not
    // uploaded, not copied. Everything the run wrote carries its own name.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(night2.join("_manifest.json")).unwrap()).unwrap();
    let kept = listed_of_run(&manifest, &first);
    assert_eq!(
        kept.len() as u64,
        incremental["files_kept"].as_u64().unwrap()
    );
    assert!(kept.len() > 20, "{kept:?}");
    assert!(incremental["partitions_rewritten"].as_u64().unwrap() >= 1);
    for path in &kept {
        assert_eq!(
            std::fs::read(night1.join(path)).unwrap(),
            std::fs::read(night2.join(path)).unwrap(),
            "{path}"
        );
    }
    let stats = proxy.stats();
    assert_eq!(stats["copies"], serde_json::json!([]), "{stats}");
    let data_puts: Vec<&str> = stats["puts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .filter(|p| !p.contains("/_session-etl/"))
        .filter(|p| {
            !["_manifest.json", "_run.json", "_SUCCESS"]
                .iter()
                .any(|c| p.ends_with(c))
        })
        .collect();
    let written = listed_of_run(&manifest, &second);
    assert_eq!(data_puts.len(), written.len(), "{data_puts:?} {written:?}");
    for path in &written {
        let key = format!("/{OUT_BUCKET}/{OUT_PREFIX}/{path}");
        assert!(data_puts.contains(&key.as_str()), "{key} not uploaded");
    }
    // Nothing of the first night is left that the new manifest does not list.
    let listed: std::collections::BTreeSet<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{OUT_PREFIX}/{}", f["path"].as_str().unwrap()))
        .collect();
    for key in server.keys(OUT_BUCKET, OUT_PREFIX) {
        let name = key.rsplit('/').next().unwrap();
        if name.starts_with(&first) {
            assert!(listed.contains(&key), "{key} left behind");
        }
    }

    // A night with nothing new uploads its state and the small rejects table, nothing else.
    std::thread::sleep(Duration::from_millis(1100));
    let quiet = server.flaky_proxy(0);
    run(&quiet.endpoint(), &out_url());
    let night3 = dir.join("night3");
    server.download(OUT_BUCKET, OUT_PREFIX, &night3);
    let incremental = &run_summary(&night3)["incremental"];
    assert_eq!(incremental["files_processed"], 0, "{incremental}");
    assert_eq!(incremental["partitions_rewritten"], 0, "{incremental}");
    let uploaded: Vec<String> = quiet.stats()["puts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .filter(|p| p.ends_with(".parquet"))
        .collect();
    assert_eq!(uploaded.len(), 2, "{uploaded:?}");
    assert!(
        uploaded.iter().any(|p| p.contains("/_state/")),
        "{uploaded:?}"
    );
    assert!(
        uploaded.iter().any(|p| p.contains("/rejects/")),
        "{uploaded:?}"
    );
    for table in TABLES {
        assert_eq!(
            read_table(&night3, table).canonical_rows(),
            read_table(&full, table).canonical_rows(),
            "{table}"
        );
    }
}

#[test]
fn an_incremental_run_that_loses_the_commit_race_deletes_nothing_it_kept_in_place() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let dir = Dir::new();
    server.create_bucket(OUT_BUCKET);
    let input = dir.copy_fixture("good/call-5004.json", "in/call-5004.json");
    let input = input.parent().unwrap().to_owned();
    for fixture in ["good/chat-7004.json", "good/call-5007.json"] {
        let name = fixture.rsplit('/').next().unwrap();
        dir.copy_fixture(fixture, &format!("in/{name}"));
    }
    let run = || {
        server
            .session_etl(&["run", "--quiet", "--incremental", "-o", &out_url()])
            .arg(&input)
    };
    let (code, _, stderr) = output_within(run().into_command(), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    // One session changes; A and B both keep the other partitions in place.
    let mut body = std::fs::read(input.join("call-5004.json")).unwrap();
    body.extend_from_slice(b"\n");
    std::fs::write(input.join("call-5004.json"), body).unwrap();
    let resume = dir.join("resume");
    std::thread::sleep(Duration::from_millis(1100));
    let (mut a, a_stderr) = spawn_paused(
        run()
            .env(session_etl::shared::stop::RESUME_ENV, &resume)
            .into_command(),
        "publishing",
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (code, _, stderr) = output_within(run().into_command(), Duration::from_secs(120));
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::write(&resume, b"").unwrap();
    let (status, _) = wait_at_most(&mut a, Duration::from_secs(120));
    let a_stderr = a_stderr.lock().unwrap().clone();
    assert_eq!(status.code(), Some(4), "{a_stderr}");
    // B's output is whole: every file its manifest lists is there, at its size.
    let copy = dir.join("copy");
    server.download(OUT_BUCKET, OUT_PREFIX, &copy);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("_manifest.json")).unwrap()).unwrap();
    let summary = run_summary(&copy);
    assert!(
        summary["incremental"]["files_kept"].as_u64().unwrap() > 0,
        "{summary}"
    );
    for file in manifest["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let size = std::fs::metadata(copy.join(path)).map(|m| m.len()).ok();
        assert_eq!(size, file["bytes"].as_u64(), "{path}");
    }
    assert_eq!(read_table(&copy, "sessions").rows(), 3);
}
