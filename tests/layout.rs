//! How an output is laid out, and what does not change it: session tables partitioned by the
//! UTC day a session was created, the flat layout (`--partition-by none`), millisecond
//! timestamps (`--timestamp-unit millis`), the same tables whatever the threads, batches and
//! buffers, and runs from a pipeline file.

use crate::util::*;
use arrow::datatypes::{DataType, TimeUnit};

#[test]
fn session_tables_are_partitioned_by_the_utc_creation_day() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let tables: Vec<String> = run_summary(&out)["rows"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let utc_day = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };

    // Every session sits under the UTC day of its created_at, not its local day.
    let mut day_of = std::collections::BTreeMap::new();
    for (date, file) in table_files(&out, "sessions") {
        let date = date.expect("sessions are partitioned");
        let t = Table::read_file(&file);
        let keys = t.strs("kind").into_iter().zip(t.i64s("session_id"));
        for ((kind, id), created) in keys.zip(t.micros("created_at")) {
            assert_eq!(utc_day(created.unwrap()), date, "{}", file.display());
            day_of.insert((kind.unwrap(), id.unwrap()), date.clone());
        }
    }
    assert_eq!(day_of.len(), 15);
    // 22:10 at -07:00 is the next UTC day; 01:05 at +02:00 the previous one.
    assert_eq!(day_of[&("call".to_owned(), 5003)], "2026-03-22");
    assert_eq!(day_of[&("call".to_owned(), 5002)], "2026-03-24");
    assert_eq!(day_of[&("chat".to_owned(), 7001)], "2026-03-23");
    let days: std::collections::BTreeSet<String> =
        day_of.values().map(|d| format!("date={d}")).collect();
    let summary = run_summary(&out);
    assert_eq!(summary["partition_by"], "date");
    assert_eq!(
        summary["partitions"],
        serde_json::json!(days.into_iter().collect::<Vec<_>>())
    );

    // Every child row sits under its session's day; rejects have no session and no day.
    for table in tables.iter().filter(|t| *t != "sessions") {
        for (date, file) in table_files(&out, table) {
            if table == "rejects" {
                assert_eq!(date, None, "rejects are not partitioned");
                continue;
            }
            let date = date.unwrap_or_else(|| panic!("{table} is not partitioned"));
            let t = Table::read_file(&file);
            for key in t.strs("kind").into_iter().zip(t.i64s("session_id")) {
                let key = (key.0.unwrap(), key.1.unwrap());
                assert_eq!(day_of[&key], date, "{table}: {key:?} in {}", file.display());
            }
        }
    }

    // `--partition-by none` writes the same rows into flat folders.
    let flat = dir.join("flat");
    session_etl(&[
        "run",
        "--quiet",
        "--partition-by",
        "none",
        "--max-reject-rate",
        "1",
    ])
    .arg("--output")
    .arg(&flat)
    .arg("fixtures/good")
    .arg("fixtures/bad")
    .assert_exit(0);
    for table in &tables {
        assert!(table_files(&flat, table).iter().all(|(d, _)| d.is_none()));
        assert_eq!(
            read_table(&flat, table).canonical_rows(),
            read_table(&out, table).canonical_rows(),
            "{table}"
        );
    }
    // No partition file is empty, and the files do not depend on how the input is chunked;
    // a 1-byte buffer (every batch written at once) changes row groups, never contents.
    let layout = |out: &std::path::Path| {
        let mut files = Vec::new();
        for table in &tables {
            for (date, file) in table_files(out, table) {
                let rows = Table::read_file(&file).rows();
                assert!(date.is_none() || rows > 0, "empty {}", file.display());
                let name = file.file_name().unwrap().to_string_lossy();
                let index = name.rsplit('-').next().unwrap().to_owned();
                files.push((table.clone(), date, index, rows));
            }
        }
        files
    };
    let small_chunks = dir.join("small-chunks");
    session_etl(&[
        "run",
        "--quiet",
        "--batch-files",
        "1",
        "--max-reject-rate",
        "1",
    ])
    .arg("--output")
    .arg(&small_chunks)
    .arg("fixtures/good")
    .arg("fixtures/bad")
    .assert_exit(0);
    assert_eq!(layout(&small_chunks), layout(&out));
    let pipeline = dir.create(
        "tiny-buffer.toml",
        format!(
            "output = {:?}\nbuffer_bytes = 1\nbatch_files = 1\nmax_reject_rate = 1\n",
            dir.join("tiny-buffer")
        ),
    );
    session_etl(&["run", "--quiet", "--pipeline"])
        .arg(&pipeline)
        .arg("fixtures/good")
        .arg("fixtures/bad")
        .assert_exit(0);
    for table in &tables {
        assert_eq!(
            read_table(&dir.join("tiny-buffer"), table).canonical_rows(),
            read_table(&out, table).canonical_rows(),
            "{table}"
        );
    }

    session_etl(&["run", "--quiet", "--partition-by", "month", "--output"])
        .arg(dir.join("bad"))
        .arg("fixtures/good")
        .assert_exit(2);
}

#[test]
fn timestamps_can_be_written_in_milliseconds() {
    // For engines that read only millisecond timestamps (Athena/Glue): same instants,
    // truncated to the millisecond, in every table.
    let dir = Dir::new();
    let (micro, milli) = (dir.join("us"), dir.join("ms"));
    for (out, extra) in [(&micro, None), (&milli, Some("millis"))] {
        let mut cmd = session_etl(&["run", "--quiet", "--output"]).arg(out);
        if let Some(unit) = extra {
            cmd = cmd.arg("--timestamp-unit").arg(unit);
        }
        cmd.arg("fixtures/good").assert_exit(0);
    }
    let (us, ms) = (
        read_table(&micro, "sessions"),
        read_table(&milli, "sessions"),
    );
    assert_eq!(
        ms.data_type("created_at"),
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    let ms_values = ms.millis("created_at");
    for (a, b) in us.micros("created_at").iter().zip(&ms_values) {
        assert_eq!(a.map(|v| v.div_euclid(1000)), *b);
    }
    // 5005 was created at …12.654321Z: the sub-millisecond digits are dropped.
    assert_eq!(
        ms_values[ms.row_of("call", 5005)],
        Some(micros("2026-04-01T16:40:12.654Z") / 1000)
    );
    for table in ["events", "milestones", "segments"] {
        let t = read_table(&milli, table);
        let field = t.batches[0].schema();
        assert!(
            !field
                .fields()
                .iter()
                .any(|f| matches!(f.data_type(), DataType::Timestamp(TimeUnit::Microsecond, _))),
            "{table} still has microsecond columns"
        );
        assert_eq!(t.rows(), read_table(&micro, table).rows());
    }
    let bad = session_etl(&["run", "--timestamp-unit", "nanos", "-o"])
        .arg(dir.join("x"))
        .arg("fixtures/good")
        .assert_exit(2);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected micros or millis"));
}

#[test]
fn reruns_give_identical_tables() {
    let dir = Dir::new();
    let (a, b) = (dir.join("a"), dir.join("b"));
    run_fixtures(&a);
    session_etl(&[
        "run",
        "--quiet",
        "--threads",
        "1",
        "--batch-files",
        "3",
        "--max-reject-rate",
        "1",
        "--output",
    ])
    .arg(&b)
    .arg("fixtures/good")
    .arg("fixtures/bad")
    .assert_exit(0);
    for table in [
        "sessions",
        "participants",
        "segments",
        "dispositions",
        "attributes",
        "rejects",
    ] {
        assert_eq!(
            read_table(&a, table).canonical_rows(),
            read_table(&b, table).canonical_rows(),
            "{table}"
        );
    }
}

#[test]
fn pipeline_file_runs_and_flags_override_it() {
    let dir = Dir::new();
    let out = dir.join("demo");
    session_etl(&[
        "run",
        "--quiet",
        "--pipeline",
        "pipelines/demo.toml",
        "--output",
    ])
    .arg(&out)
    .assert_exit(0);
    assert_eq!(read_table(&out, "sessions").rows(), 15);
    assert_eq!(run_summary(&out)["files"]["rejected"], 21);
}
