//! Incremental runs (`run --incremental`): after any sequence of them over a growing input,
//! the tables hold exactly the rows of one full run over the final input, and partitions
//! without a rebuilt session keep their files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::{read_table, run_summary, session_etl, Dir};

fn tables() -> Vec<&'static str> {
    session_etl::write::catalog()
        .into_iter()
        .map(|(name, ..)| name)
        .collect()
}

fn run_incremental(input: &Path, output: &Path, extra: &[&str]) -> serde_json::Value {
    session_etl(&["run", "--quiet", "--incremental"])
        .args(extra)
        .arg("--output")
        .arg(output)
        .arg(input)
        .assert_exit(0);
    run_summary(output)
}

/// Asserts that `output` holds the same rows as a plain full run over `input`.
fn assert_equals_a_full_run(dir: &Dir, input: &Path, output: &Path, step: &str) {
    let full = dir.join(&format!("full-{step}"));
    session_etl(&["run", "--quiet", "--output"])
        .arg(&full)
        .arg(input)
        .assert_exit(0);
    for table in tables() {
        let got = read_table(output, table).canonical_rows();
        let expected = read_table(&full, table).canonical_rows();
        if got != expected {
            let (a, b): (BTreeSet<_>, BTreeSet<_>) =
                (got.iter().collect(), expected.iter().collect());
            let extra: Vec<_> = a.difference(&b).take(3).collect();
            let missing: Vec<_> = b.difference(&a).take(3).collect();
            panic!(
                "step {step}: table {table}: {} rows, a full run has {}\nextra: {extra:#?}\nmissing: {missing:#?}",
                got.len(),
                expected.len()
            );
        }
    }
    let (a, b) = (run_summary(output), run_summary(&full));
    assert_eq!(a["rows"], b["rows"], "step {step}: _run.json rows");
    assert_eq!(a["partitions"], b["partitions"], "step {step}: partitions");
    assert_eq!(
        a["reject_rate"], b["reject_rate"],
        "step {step}: reject_rate"
    );
    std::fs::remove_dir_all(full).unwrap();
}

/// Copies the files under `from` to `to`, keeping relative paths.
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The day folders (`YYYY/MM/DD`) of a generated corpus, in order.
fn day_folders(sessions: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(sessions)
        .min_depth(3)
        .max_depth(3)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(sessions).unwrap().to_owned())
        .collect()
}

/// Every Parquet file of the session tables, by path relative to the output, with its inode:
/// an unchanged inode means the file was kept, not rewritten.
#[cfg(unix)]
fn partition_files(output: &Path) -> BTreeMap<PathBuf, u64> {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(output)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| e.path().strip_prefix(output).unwrap().to_owned())
        .filter(|p| {
            let top = p.components().next().unwrap().as_os_str();
            top != "rejects" && top != "_state" && top != "exchange"
        })
        .map(|p| {
            let inode = std::fs::metadata(output.join(&p)).unwrap().ino();
            (p, inode)
        })
        .collect()
}

/// The partition folders (`table/date=...`) whose set of files or inodes differs.
#[cfg(unix)]
fn changed_partitions(
    before: &BTreeMap<PathBuf, u64>,
    after: &BTreeMap<PathBuf, u64>,
) -> BTreeSet<PathBuf> {
    let folders = |files: &BTreeMap<PathBuf, u64>| -> BTreeMap<PathBuf, BTreeSet<(PathBuf, u64)>> {
        let mut by_folder: BTreeMap<PathBuf, BTreeSet<(PathBuf, u64)>> = BTreeMap::new();
        for (path, inode) in files {
            by_folder
                .entry(path.parent().unwrap().to_owned())
                .or_default()
                .insert((path.clone(), *inode));
        }
        by_folder
    };
    let (a, b) = (folders(before), folders(after));
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// A plain `.json` export of the corpus, parsed.
fn a_plain_export(sessions: &Path, day: &Path) -> (PathBuf, serde_json::Value) {
    let folder = sessions.join(day);
    let mut names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for path in names {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap())
        else {
            continue;
        };
        if doc["id"].is_i64() && doc["call_type"].is_string() && doc["created_at"].is_string() {
            return (path, doc);
        }
    }
    panic!("no plain call export in {}", folder.display())
}

/// Shifts an RFC 3339 field of `doc` by `hours`.
fn shift(doc: &mut serde_json::Value, field: &str, hours: i64) {
    let at = chrono::DateTime::parse_from_rfc3339(doc[field].as_str().unwrap()).unwrap();
    let shifted = at + chrono::Duration::hours(hours);
    doc[field] = shifted
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
        .into();
}

#[cfg(unix)]
#[test]
fn incremental_runs_over_a_growing_input_equal_one_full_run() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "1500", "--seed", "11"]);
    let sessions = corpus.join("sessions");
    let days = day_folders(&sessions);
    assert!(days.len() >= 6, "{days:?}");
    let input = dir.join("input");
    let output = dir.join("output");

    // Night 1: the first third of the days. Night 2: the second third.
    let third = days.len() / 3;
    for day in &days[..third] {
        copy_tree(&sessions.join(day), &input.join(day));
    }
    let first = run_incremental(&input, &output, &[]);
    assert_eq!(first["incremental"]["full_refresh"], "no_state");
    assert_equals_a_full_run(&dir, &input, &output, "1");

    for day in &days[third..2 * third] {
        copy_tree(&sessions.join(day), &input.join(day));
    }
    let second = run_incremental(&input, &output, &[]);
    assert_eq!(second["incremental"]["previous_run"], first["run_id"]);
    assert_eq!(
        second["incremental"]["files_unchanged"],
        first["files"]["seen"]
    );
    assert_equals_a_full_run(&dir, &input, &output, "2");

    // Night 3: a session of day 1 is re-exported with a newer updated_at and a created_at
    // three days later (it moves partition); another is re-delivered with an older
    // updated_at (nothing changes); a file is touched without a change of content.
    let (_, mut newer) = a_plain_export(&input, &days[0]);
    let id = newer["id"].as_i64().unwrap();
    shift(&mut newer, "updated_at", 1);
    shift(&mut newer, "created_at", 72);
    newer["rating"] = 1.into();
    let newer_path = input.join("redelivered/newer.json");
    std::fs::create_dir_all(newer_path.parent().unwrap()).unwrap();
    std::fs::write(&newer_path, serde_json::to_vec_pretty(&newer).unwrap()).unwrap();
    let (_, mut older) = a_plain_export(&input, &days[1]);
    let older_id = older["id"].as_i64().unwrap();
    shift(&mut older, "updated_at", -24 * 30);
    older["rating"] = 2.into();
    std::fs::write(
        input.join("redelivered/older.json"),
        serde_json::to_vec_pretty(&older).unwrap(),
    )
    .unwrap();
    let touched = std::fs::File::options()
        .write(true)
        .open(a_plain_export(&input, &days[2]).0)
        .unwrap();
    touched
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    drop(touched);

    let before = partition_files(&output);
    let third_night = run_incremental(&input, &output, &[]);
    let inc = &third_night["incremental"];
    assert_eq!(inc["files_new"], 2);
    assert_eq!(inc["files_same_content"], 1);
    assert_eq!(inc["files_changed"], 0);
    assert_eq!(inc["sessions_rebuilt"], 2, "{inc}");
    assert_equals_a_full_run(&dir, &input, &output, "3");
    let sessions_table = read_table(&output, "sessions");
    let row = sessions_table.record(sessions_table.row_of("call", id));
    assert_eq!(row["source_path"], newer_path.display().to_string());
    assert_eq!(row["rating"], "1");
    let row = sessions_table.record(sessions_table.row_of("call", older_id));
    assert_ne!(
        row.get("rating").map(String::as_str),
        Some("2"),
        "an older re-delivery changed the row"
    );
    // Only the partitions of the two rebuilt sessions, before and after, changed.
    let changed = changed_partitions(&before, &partition_files(&output));
    let changed_days: BTreeSet<String> = changed
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        (2..=3).contains(&changed_days.len()),
        "partitions rewritten: {changed:?}"
    );
    assert!(
        changed.len() > 2,
        "every table of a session changes with it"
    );

    // Night 4: the rest of the days. Night 5: nothing new.
    for day in &days[2 * third..] {
        copy_tree(&sessions.join(day), &input.join(day));
    }
    run_incremental(&input, &output, &[]);
    assert_equals_a_full_run(&dir, &input, &output, "4");
    let before = partition_files(&output);
    let quiet = run_incremental(&input, &output, &[]);
    let inc = &quiet["incremental"];
    assert_eq!(inc["files_unchanged"], quiet["files"]["seen"]);
    assert_eq!(
        (&inc["files_processed"], &inc["sessions_rebuilt"]),
        (&0.into(), &0.into())
    );
    assert_eq!(quiet["files"]["bytes_read"], 0);
    assert_eq!(
        partition_files(&output),
        before,
        "a no-op run rewrote files"
    );
    assert_equals_a_full_run(&dir, &input, &output, "5");
}

#[test]
fn deleted_inputs_are_reported_and_their_sessions_rebuilt_from_what_remains() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "300", "--seed", "5"]);
    let input = dir.join("input");
    copy_tree(&corpus.join("sessions"), &input);
    let output = dir.join("output");
    run_incremental(&input, &output, &[]);

    // A session gets a newer export, then that export is deleted again: it falls back to
    // the older one. Another session loses its only file and leaves the output.
    let days = day_folders(&input);
    let (_, mut newer) = a_plain_export(&input, &days[0]);
    let id = newer["id"].as_i64().unwrap();
    shift(&mut newer, "updated_at", 1);
    newer["rating"] = 1.into();
    let newer_path = input.join("late/newer.json");
    std::fs::create_dir_all(newer_path.parent().unwrap()).unwrap();
    std::fs::write(&newer_path, serde_json::to_vec_pretty(&newer).unwrap()).unwrap();
    run_incremental(&input, &output, &[]);
    assert_equals_a_full_run(&dir, &input, &output, "newer");

    // A newer export of another session as a gzip cut short: its header reads, its body does
    // not, so a full run picks it, rejects it and falls back to the older export. And a
    // file no run can read at all. Two rejects in a night of three files: the reject rate is
    // still judged over the whole input, as a full run judges it.
    let (broken_path, broken) = a_plain_export(&input, &days[2]);
    let broken_id = broken["id"].as_i64().unwrap();
    let export_count = |output: &Path| {
        let sessions = read_table(output, "sessions");
        sessions.record(sessions.row_of("call", broken_id))["export_count"].clone()
    };
    let exports_before: u32 = export_count(&output).parse().unwrap();
    // Edited as text, so the header keys stay in the first few KB where the pre-scan reads.
    let mut newer_broken = broken.clone();
    shift(&mut newer_broken, "updated_at", 1);
    let text = std::fs::read_to_string(&broken_path).unwrap().replacen(
        &format!("\"updated_at\": {}", broken["updated_at"]),
        &format!("\"updated_at\": {}", newer_broken["updated_at"]),
        1,
    );
    assert!(text.contains(newer_broken["updated_at"].as_str().unwrap()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    // Cut inside the trailer: all the JSON decompresses, then the stream ends too early.
    std::fs::write(input.join("late/broken.json.gz"), &gz[..gz.len() - 4]).unwrap();
    std::fs::write(input.join("late/garbage.json.gz"), b"not gzip").unwrap();
    let night = run_incremental(&input, &output, &["--max-reject-rate", "0.05"]);
    assert_eq!(night["files"]["rejected"], 2, "{}", night["files"]);
    assert_equals_a_full_run(&dir, &input, &output, "broken gzip");
    assert_eq!(export_count(&output), (exports_before + 1).to_string());
    // Files that cannot be read are not read again while they do not change.
    let quiet = run_incremental(&input, &output, &[]);
    assert_eq!(
        quiet["incremental"]["files_unchanged"],
        quiet["files"]["seen"]
    );

    // A session exported once, in a plain file, other than the one above.
    let sessions = read_table(&output, "sessions");
    let (gone, gone_id) = (0..sessions.rows())
        .map(|row| sessions.record(row))
        .find(|r| {
            r["kind"] == "call"
                && r["export_count"] == "1"
                && r["session_id"] != id.to_string()
                && r["source_path"].ends_with(".json")
        })
        .map(|r| {
            (
                PathBuf::from(&r["source_path"]),
                r["session_id"].parse::<i64>().unwrap(),
            )
        })
        .unwrap();
    std::fs::remove_file(&gone).unwrap();
    std::fs::remove_file(&newer_path).unwrap();
    let summary = run_incremental(&input, &output, &[]);
    let inc = &summary["incremental"];
    assert_eq!(inc["files_deleted"], 2);
    let deleted: BTreeSet<String> = inc["deleted_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from([gone.display().to_string(), newer_path.display().to_string()])
    );
    assert_equals_a_full_run(&dir, &input, &output, "deleted");
    let sessions = read_table(&output, "sessions");
    let row = sessions.record(sessions.row_of("call", id));
    assert_ne!(row.get("rating").map(String::as_str), Some("1"));
    assert!(sessions.rows_of("call", gone_id).is_empty());
}

#[test]
fn full_refresh_settings_changes_and_a_damaged_state_are_handled() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "120", "--seed", "3"]);
    let input = corpus.join("sessions");
    let output = dir.join("output");

    // A plain run keeps no state: the next incremental run starts from scratch.
    session_etl(&["run", "--quiet", "--output"])
        .arg(&output)
        .arg(&input)
        .assert_exit(0);
    assert!(!output.join("_state").exists());
    let summary = run_incremental(&input, &output, &[]);
    assert_eq!(summary["incremental"]["full_refresh"], "no_state");

    let summary = run_incremental(&input, &output, &["--timestamp-unit", "millis"]);
    assert_eq!(summary["incremental"]["full_refresh"], "settings_changed");
    assert_eq!(
        read_table(&output, "sessions").data_type("created_at"),
        arrow::datatypes::DataType::Timestamp(
            arrow::datatypes::TimeUnit::Millisecond,
            Some("UTC".into())
        )
    );
    let summary = run_incremental(&input, &output, &["--timestamp-unit", "millis"]);
    assert_eq!(summary["incremental"]["files_processed"], 0);

    let summary = session_etl(&["run", "--quiet", "--full-refresh", "--output"])
        .arg(&output)
        .arg(&input)
        .assert_exit(0);
    drop(summary);
    let summary = run_summary(&output);
    assert_eq!(summary["incremental"]["full_refresh"], "asked");

    // The pipeline file's `incremental = true` is the flag's equivalent.
    let pipeline = dir.create(
        "nightly.toml",
        format!(
            "inputs = [{:?}]\noutput = {:?}\nincremental = true\n",
            input.display().to_string(),
            output.display().to_string()
        ),
    );
    session_etl(&["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .assert_exit(0);
    assert_eq!(run_summary(&output)["incremental"]["files_processed"], 0);

    // A damaged state stops the run with a pointer to the fix, and publishes nothing.
    std::fs::write(output.join("_state/files.parquet"), "not parquet").unwrap();
    let refused = session_etl(&["run", "--quiet", "--incremental", "--output"])
        .arg(&output)
        .arg(&input)
        .assert_exit(1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("files.parquet") && stderr.contains("--full-refresh"),
        "{stderr}"
    );
    session_etl(&["run", "--quiet", "--full-refresh", "--output"])
        .arg(&output)
        .arg(&input)
        .assert_exit(0);
    run_incremental(&input, &output, &[]);

    // Sharded runs are full backfills; incremental runs build on their committed output.
    session_etl(&[
        "run",
        "--quiet",
        "--incremental",
        "--shard",
        "0/2",
        "--output",
    ])
    .arg(dir.join("shard"))
    .arg(&input)
    .assert_exit(2);
}
