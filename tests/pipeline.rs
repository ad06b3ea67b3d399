//! End-to-end: the binary on `fixtures/` and on the real exports, read back with the
//! parquet crate. Expected values come from `fixtures/MANIFEST.md`.

use crate::util::*;
use arrow::datatypes::{DataType, TimeUnit};

/// Runs the good and the bad fixtures; half of them are bad on purpose, so the reject-rate
/// guard is switched off.
fn run_fixtures(out: &std::path::Path) {
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "--output"])
        .arg(out)
        .arg("fixtures/good")
        .arg("fixtures/bad")
        .assert_exit(0);
}

#[test]
fn fixtures_give_one_session_per_id_with_normalized_values() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let sessions = read_table(&out, "sessions");
    assert_eq!(sessions.rows(), 15, "10 calls + 5 chats after dedup");
    assert_eq!(
        counts(sessions.strs("kind")),
        [("call".into(), 10), ("chat".into(), 5)].into()
    );

    // Column types BI tools rely on.
    assert_eq!(
        sessions.data_type("created_at"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(sessions.data_type("session_id"), DataType::Int64);
    assert_eq!(sessions.data_type("status"), DataType::Utf8);

    let status = sessions.strs("status");
    let code = sessions.i64s("status_code");
    let created = sessions.micros("created_at");
    let offset = sessions.i64s("created_at_offset_minutes");
    let duration = sessions.i64s("duration_s");

    // A -07:00 created_at lands on the right UTC instant; the offset is kept.
    let r = sessions.row_of("call", 5001);
    assert_eq!(created[r], Some(micros("2026-03-23T20:12:51Z")));
    assert_eq!(offset[r], Some(-420));
    assert_eq!((status[r].as_deref(), code[r]), (Some("finished"), Some(8)));

    // `"status": 8`, numeric-string durations, +05:30.
    let r = sessions.row_of("call", 5006);
    assert_eq!((status[r].as_deref(), code[r]), (Some("finished"), Some(8)));
    assert_eq!(
        (duration[r], sessions.i64s("wait_duration_s")[r]),
        (Some(245), Some(12))
    );
    assert_eq!(
        (created[r], offset[r]),
        (Some(micros("2026-03-01T18:00:00Z")), Some(330))
    );
    assert!(sessions.strs("source_path")[r]
        .as_deref()
        .unwrap()
        .ends_with("exports/call-5006/metadata.json"));

    // `"status": "8"` and the virtual-agent variant of agent_info.
    let r = sessions.row_of("call", 5007);
    assert_eq!((status[r].as_deref(), code[r]), (Some("finished"), Some(8)));
    assert_eq!(sessions.strs("agent_kind")[r].as_deref(), Some("virtual"));
    assert_eq!(sessions.strs("agent_va_alias")[r].as_deref(), Some("Ava"));
    assert_eq!(sessions.i64s("photo_count")[r], Some(2));

    // `"status": 0` and microsecond fractions.
    let r = sessions.row_of("call", 5005);
    assert_eq!(
        (status[r].as_deref(), code[r]),
        (Some("scheduled"), Some(0))
    );
    assert_eq!(created[r], Some(micros("2026-04-01T16:40:12.654321Z")));

    // Other states.
    for (id, name, c) in [
        (5002, "voicemail_received", 81),
        (5003, "deflected", 11),
        (5004, "failed", 9),
    ] {
        let r = sessions.row_of("call", id);
        assert_eq!(
            (status[r].as_deref(), code[r]),
            (Some(name), Some(c)),
            "call {id}"
        );
    }
    let r = sessions.row_of("call", 5004);
    assert_eq!(
        sessions.strs("fail_reason")[r].as_deref(),
        Some("eu_abandoned")
    );
    assert_eq!(sessions.i64s("hold_duration_s")[r], None);

    // An unknown status is kept as written, with a null code.
    let r = sessions.row_of("call", 5008);
    assert_eq!(
        (status[r].as_deref(), code[r]),
        (Some("on_hold_custom"), None)
    );
    assert_eq!(sessions.strs("sub_status")[r].as_deref(), Some("in_queue"));

    // Chats: from gzip, from a BOM file, and one whose kind only its file name gives.
    for id in [7001, 7002, 7003, 7004] {
        sessions.row_of("chat", id);
    }
    let r = sessions.row_of("chat", 7001);
    assert_eq!(
        (created[r], offset[r]),
        (Some(micros("2026-03-23T23:05:12Z")), Some(120))
    );
    assert_eq!(
        sessions.strs("session_type")[sessions.row_of("chat", 7002)].as_deref(),
        Some("Messaging (SMS)")
    );
}

#[test]
fn the_newest_export_wins_with_its_own_child_rows() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let sessions = read_table(&out, "sessions");
    let r = sessions.row_of("call", 5001);
    assert!(sessions.strs("source_path")[r]
        .as_deref()
        .unwrap()
        .ends_with("2026/03/24/call-5001.json"));
    assert_eq!(sessions.i64s("rating")[r], Some(4));
    assert_eq!(
        sessions.strs("feedback")[r].as_deref(),
        Some("quick and helpful")
    );
    assert_eq!(
        sessions.micros("updated_at")[r],
        Some(micros("2026-03-23T20:32:58Z"))
    );
    assert_eq!(sessions.i64s("export_count")[r], Some(3));
    // The newest export has 3 dispositions, the others 2 and 0: only the newest's rows exist.
    assert_eq!(
        read_table(&out, "dispositions").rows_of("call", 5001).len(),
        3
    );
    assert_eq!(
        read_table(&out, "participants").rows_of("call", 5001).len(),
        5
    );
}

#[test]
fn participants_keep_every_entry_and_type() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let participants = read_table(&out, "participants");
    assert_eq!(participants.rows(), 31);
    let rows = participants.rows_of("call", 5001);
    let types: Vec<_> = rows
        .iter()
        .map(|&i| participants.strs("participant_type")[i].clone().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "end_user",
            "virtual_agent",
            "agent",
            "agent",
            "task_virtual_agent"
        ]
    );
    // Chats say `finished_at`: it lands in left_at like a call's `ended_at`.
    let left = participants.micros("left_at");
    assert!(participants
        .rows_of("chat", 7001)
        .iter()
        .all(|&i| left[i].is_some()));
    let conversation = participants.strs("virtual_agent_conversation_id");
    assert!(rows.iter().filter(|&&i| conversation[i].is_some()).count() >= 2);
}

#[test]
fn nested_arrays_become_child_tables() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let segments = read_table(&out, "segments");
    let kinds = counts(
        segments
            .rows_of("call", 5001)
            .iter()
            .map(|&i| segments.strs("segment_kind")[i].clone())
            .collect(),
    );
    for kind in [
        "agent_handle",
        "queue",
        "virtual_agent",
        "consumer_handle",
        "consumer_event",
        "consumer_in_menu",
    ] {
        assert!(
            kinds.contains_key(kind),
            "call 5001 has no {kind} segment: {kinds:?}"
        );
    }
    assert_eq!(read_table(&out, "transfers").rows_of("call", 5001).len(), 1);
    assert_eq!(read_table(&out, "transfers").rows_of("chat", 7001).len(), 1);
    let escalations = read_table(&out, "escalations");
    assert_eq!(escalations.rows_of("call", 5001).len(), 1);
    assert_eq!(
        read_table(&out, "deflections").rows_of("call", 5003).len(),
        1
    );
    assert_eq!(read_table(&out, "media").rows_of("call", 5007).len(), 3);
    assert_eq!(
        read_table(&out, "automation_redirections")
            .rows_of("call", 5007)
            .len(),
        2
    );
    assert_eq!(
        read_table(&out, "redactions").rows_of("call", 5001).len(),
        1
    );
    let attributes = read_table(&out, "attributes");
    let sources = counts(
        attributes
            .rows_of("chat", 7001)
            .iter()
            .map(|&i| attributes.strs("source")[i].clone())
            .collect(),
    );
    assert_eq!(sources.get("custom_data_not_secured"), Some(&2));
}

#[test]
fn every_bad_file_is_one_reject_with_kind_field_and_position() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let rejects = read_table(&out, "rejects");
    let paths = rejects.strs("source_path");
    let kinds = rejects.strs("error_kind");
    let fields = rejects.strs("field");
    let messages = rejects.strs("message");
    let lines = rejects.i64s("line");
    let expected = [
        ("truncated.json", "truncated_json", None, Some((333, 0))),
        ("malformed.json", "malformed_json", None, Some((10, 3))),
        ("empty.json", "empty_file", None, None),
        ("whitespace-only.json", "empty_file", None, None),
        ("invalid-utf8.json", "invalid_utf8", None, Some((61, 29))),
        ("not-an-object.json", "not_an_object", None, None),
        (
            "missing-id.json",
            "missing_field",
            Some("id"),
            Some((561, 1)),
        ),
        (
            "missing-created-at.json",
            "missing_field",
            Some("created_at"),
            None,
        ),
        (
            "wrong-type-id.json",
            "invalid_type",
            Some("id"),
            Some((2, 13)),
        ),
        (
            "wrong-type-nested.json",
            "invalid_type",
            Some("participants[1].call_duration"),
            Some((377, 24)),
        ),
        (
            "impossible-timestamp.json",
            "invalid_timestamp",
            Some("participants[0].connected_at"),
            Some((332, 23)),
        ),
        (
            "timestamp-without-offset.json",
            "invalid_timestamp",
            Some("created_at"),
            Some((8, 17)),
        ),
        (
            "negative-duration.json",
            "invalid_duration",
            Some("call_duration"),
            Some((16, 20)),
        ),
        (
            "non-numeric-duration.json",
            "invalid_duration",
            Some("handle_durations[0].acw_duration"),
            Some((152, 23)),
        ),
        ("unknown-kind.json", "unknown_kind", None, None),
        (
            "duplicate-key.json",
            "duplicate_field",
            Some("status"),
            Some((15, 10)),
        ),
        ("corrupt-gzip.json.gz", "unreadable", None, None),
        (
            "timestamp-beyond-year-9999.json",
            "invalid_timestamp",
            Some("created_at"),
            Some((8, 17)),
        ),
        (
            "huge-duration.json",
            "invalid_duration",
            Some("handle_durations[0].call_duration"),
            Some((154, 24)),
        ),
        (
            "duplicate-map-key.json",
            "duplicate_field",
            Some("custom_data_not_secured.OrderNumber"),
            Some((566, 17)),
        ),
        ("long-id.json", "invalid_type", Some("id"), Some((2, 310))),
    ];
    let columns = rejects.i64s("column");
    // Every error inside the JSON text carries its line and column: serde's own errors and,
    // located afterwards, the ones `normalize` raises (impossible dates, negative durations).
    for (file, kind, field, position) in expected {
        let i = (0..rejects.rows())
            .find(|&i| {
                paths[i]
                    .as_deref()
                    .unwrap()
                    .ends_with(&format!("bad/{file}"))
            })
            .unwrap_or_else(|| panic!("{file} was not rejected"));
        assert_eq!(kinds[i].as_deref(), Some(kind), "{file}: {:?}", messages[i]);
        assert_eq!(fields[i].as_deref(), field, "{file}: {:?}", messages[i]);
        let message = messages[i].as_deref().unwrap();
        if let Some(field) = field {
            assert!(
                message.contains(field),
                "{file}: message does not name the field: {message}"
            );
        }
        assert_eq!(
            lines[i].zip(columns[i]),
            position,
            "{file}: position of {message}"
        );
        if let Some((line, column)) = position {
            assert!(
                message.contains(&format!("(line {line}, column {column})")),
                "{file}: no position in {message}"
            );
        }
    }
    let malformed = (0..rejects.rows())
        .find(|&i| kinds[i].as_deref() == Some("malformed_json"))
        .unwrap();
    assert_eq!(
        (lines[malformed], rejects.i64s("column")[malformed]),
        (Some(10), Some(3))
    );
}

/// Runs `inputs` (relative to the repository), accepting any reject rate; returns the folder
/// (keep it alive), the output and its `rejects` table.
/// Runs `inputs` (bad files, on purpose: the reject-rate and no-sessions guards are off).
fn run_accepting_rejects(inputs: &[&str]) -> (Dir, std::path::PathBuf, Table) {
    let dir = Dir::new();
    let out = dir.join("out");
    session_etl(&[
        "run",
        "--quiet",
        "--max-reject-rate",
        "1",
        "--allow-empty",
        "--output",
    ])
    .arg(&out)
    .args(inputs)
    .assert_exit(0);
    let rejects = read_table(&out, "rejects");
    (dir, out, rejects)
}

/// The one `rejects` row of an output: kind, field, line, column, message.
fn only_reject(rejects: &Table) -> (String, Option<String>, i64, i64, String) {
    assert_eq!(rejects.rows(), 1, "{:?}", rejects.strs("message"));
    (
        rejects.strs("error_kind")[0].clone().unwrap(),
        rejects.strs("field")[0].clone(),
        rejects.i64s("line")[0].unwrap(),
        rejects.i64s("column")[0].unwrap(),
        rejects.strs("message")[0].clone().unwrap(),
    )
}

#[test]
fn an_instant_beyond_year_9999_in_utc_is_rejected_and_every_folder_has_a_four_digit_year() {
    // `9999-12-31T23:30:00-05:00` is 10000-01-01T04:30:00Z: it used to give the partition
    // `date=+10000-01-01`, after which DuckDB types the whole `date` column as text.
    let (_dir, out, rejects) = run_accepting_rejects(&[
        "fixtures/good",
        "fixtures/bad/timestamp-beyond-year-9999.json",
    ]);
    let (kind, field, line, column, message) = only_reject(&rejects);
    assert_eq!(
        (kind.as_str(), field.as_deref(), line, column),
        ("invalid_timestamp", Some("created_at"), 8, 17)
    );
    assert_eq!(
        message,
        "field `created_at`: invalid timestamp \"9999-12-31T23:30:00.000-05:00\": it is outside \
         the range the tables hold (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z in UTC) \
         (line 8, column 17)"
    );
    let four_digit_day = |name: &str| {
        let b = name.as_bytes();
        name.len() == "date=YYYY-MM-DD".len()
            && name.starts_with("date=")
            && b[9] == b'-'
            && b[12] == b'-'
            && [5, 6, 7, 8, 10, 11, 13, 14]
                .iter()
                .all(|&i| b[i].is_ascii_digit())
    };
    let mut folders = 0;
    for table in std::fs::read_dir(&out).unwrap() {
        let table = table.unwrap().path();
        if !table.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&table).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with("date=") {
                assert!(four_digit_day(&name), "{}/{name}", table.display());
                folders += 1;
            }
        }
    }
    assert!(folders > 0);
    let summary = run_summary(&out);
    let partitions = summary["partitions"].as_array().unwrap();
    assert!(!partitions.is_empty());
    assert!(partitions
        .iter()
        .all(|p| four_digit_day(p.as_str().unwrap())));
    assert_eq!(summary["sessions"]["written"], 15);
}

#[test]
fn a_duration_beyond_the_span_of_the_timestamps_is_rejected_not_clamped() {
    // `1e30` seconds used to be written as 9223372036854775807 (a saturating cast).
    let (_dir, out, rejects) = run_accepting_rejects(&["fixtures/bad/huge-duration.json"]);
    let (kind, field, line, column, message) = only_reject(&rejects);
    assert_eq!(
        (kind.as_str(), field.as_deref(), line, column),
        (
            "invalid_duration",
            Some("handle_durations[0].call_duration"),
            154,
            24
        )
    );
    assert_eq!(
        message,
        "field `handle_durations[0].call_duration`: a duration cannot exceed 315537897599 \
         seconds (the time the timestamp columns span), found 1e30 (line 154, column 24)"
    );
    assert_eq!(read_table(&out, "sessions").rows(), 0);
    assert_eq!(read_table(&out, "segments").rows(), 0);
}

#[test]
fn a_key_twice_in_a_map_is_a_duplicate_field_naming_the_key() {
    // `custom_data_not_secured` holds `OrderNumber` twice (lines 558 and 566): a map used to
    // keep the second value silently.
    let (_dir, out, rejects) = run_accepting_rejects(&["fixtures/bad/duplicate-map-key.json"]);
    let (kind, field, line, column, message) = only_reject(&rejects);
    assert_eq!(
        (kind.as_str(), field.as_deref(), line, column),
        (
            "duplicate_field",
            Some("custom_data_not_secured.OrderNumber"),
            566,
            17
        )
    );
    assert_eq!(
        message,
        "field `custom_data_not_secured.OrderNumber`: duplicate field `OrderNumber` \
         (line 566, column 17)"
    );
    assert_eq!(read_table(&out, "attributes").rows(), 0);
    let text = session_etl(&["validate", "fixtures/bad/duplicate-map-key.json"]).assert_exit(1);
    let resolved =
        std::fs::canonicalize(repo().join("fixtures/bad/duplicate-map-key.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        format!(
            "{}:566:17: duplicate_field: {message}\n",
            resolved.display()
        )
        .replace(" (line 566, column 17)", "")
    );
}

#[test]
fn reject_messages_repeat_at_most_a_short_piece_of_a_value() {
    // `id` holds 300 characters of something that is not an id (what a file read by mistake
    // gives): serde quotes the whole value in its message, and it used to reach
    // `rejects.message` and `validate` whole.
    let fixture = std::fs::read_to_string(repo().join("fixtures/bad/long-id.json")).unwrap();
    let value = fixture
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("  \"id\": \""))
        .and_then(|l| l.strip_suffix("\","))
        .unwrap();
    assert_eq!(value.chars().count(), 300);
    let (_dir, _out, rejects) = run_accepting_rejects(&["fixtures/bad/long-id.json"]);
    let (kind, field, line, column, message) = only_reject(&rejects);
    assert_eq!(
        (kind.as_str(), field.as_deref(), line, column),
        ("invalid_type", Some("id"), 2, 310)
    );
    assert_eq!(
        message,
        format!(
            "field `id`: invalid type: string \"{}…\", expected i64 (line 2, column 310)",
            &value[..39]
        )
    );
    assert!(!message.contains(&value[39..60]), "{message}");
    let text = session_etl(&["validate", "fixtures/bad/long-id.json"]).assert_exit(1);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.len() < 160, "{text}");
    assert!(
        text.contains("field `id`: invalid type: string \""),
        "{text}"
    );
    assert!(!text.contains(&value[39..60]), "{text}");
}

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
fn real_exports_give_three_sessions() {
    let dir = Dir::new();
    let out = dir.join("out");
    let real = real();
    session_etl(&["run", "--quiet", "--output"])
        .arg(&out)
        .arg(real.join("metadata_call-1418.json"))
        .arg(real.join("metadata_call-987.json"))
        .arg(real.join("metadata_chat-135.json"))
        .assert_exit(0);
    let sessions = read_table(&out, "sessions");
    assert_eq!(sessions.rows(), 3);
    let r = sessions.row_of("call", 1418);
    assert_eq!(
        sessions.micros("created_at")[r],
        Some(micros("2026-03-23T20:12:51Z"))
    );
    assert_eq!(sessions.i64s("duration_s")[r], Some(126));
    sessions.row_of("call", 987);
    sessions.row_of("chat", 135);
    assert_eq!(
        read_table(&out, "participants").rows_of("call", 1418).len(),
        5
    );
    assert_eq!(read_table(&out, "rejects").rows(), 0);
    assert_eq!(
        run_summary(&out)["unknown_fields"],
        serde_json::json!({}),
        "the real exports use only known keys"
    );
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
fn validate_reports_exactly_what_a_run_rejects_and_writes_nothing() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_fixtures(&out);
    let rejects = read_table(&out, "rejects");
    let mut rejected: Vec<String> = (0..rejects.rows())
        .map(|i| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?}",
                rejects.strs("source_path")[i],
                rejects.strs("error_kind")[i],
                rejects.strs("field")[i],
                rejects.i64s("line")[i],
                rejects.i64s("column")[i],
                rejects.strs("message")[i],
            )
        })
        .collect();
    rejected.sort();

    let fixtures_before = listing(&repo().join("fixtures"));
    let checked =
        session_etl(&["validate", "--json", "fixtures/good", "fixtures/bad"]).assert_exit(1);
    assert_eq!(listing(&repo().join("fixtures")), fixtures_before);
    let records: Vec<serde_json::Value> = String::from_utf8(checked.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, problems) = records.split_last().unwrap();
    let mut reported: Vec<String> = problems
        .iter()
        .map(|p| {
            assert_eq!(p["type"], "problem");
            let s = |k: &str| p[k].as_str().map(str::to_owned);
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?}",
                s("file"),
                s("kind"),
                s("field"),
                p["line"].as_i64(),
                p["column"].as_i64(),
                s("message")
            )
        })
        .collect();
    reported.sort();
    assert_eq!(reported, rejected, "validate and run disagree");
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        (&summary["files"], &summary["valid"], &summary["rejected"]),
        (&38.into(), &17.into(), &21.into())
    );
    assert_eq!(
        summary["rejects_by_kind"],
        run_summary(&out)["rejects_by_kind"]
    );

    // The text form: one `path:line:column: kind: ...` line per problem, the path resolved
    // (absolute, links followed) as in the tables.
    let text = session_etl(&["validate", "fixtures/bad/negative-duration.json"]).assert_exit(1);
    let resolved =
        std::fs::canonicalize(repo().join("fixtures/bad/negative-duration.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        format!(
            "{}:16:20: invalid_duration: field `call_duration`: a duration cannot be negative, \
             found -5\n",
            resolved.display()
        )
    );
    let clean = session_etl(&["validate", "fixtures/good"]).assert_exit(0);
    assert!(clean.stdout.is_empty());
    assert!(String::from_utf8_lossy(&clean.stderr)
        .contains("17 files checked, 17 valid, 0 would be rejected"));
    session_etl(&["validate", "fixtures/no-such-folder"]).assert_exit(2);
}

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
    let tables: Vec<&str> = session_etl::sink::catalog()
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
