//! What a run makes of good session files: one normalized `sessions` row per session, the
//! newest export winning with its own child rows (the one before it when the newest is
//! rejected), every participant, the nested arrays as child tables; on `fixtures/good` and on
//! the real exports in `fixtures/real/`. Expected values come from `fixtures/MANIFEST.md`.

use crate::util::*;
use arrow::datatypes::{DataType, TimeUnit};

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
fn a_rejected_newest_export_falls_back_to_the_previous_one() {
    let dir = Dir::new();
    let older = dir.copy_fixture("good/2026/03/23/call-5001.json", "in/a/call-5001.json");
    // A newer export that is truncated: the session must still come out, from the older file.
    let newer = std::fs::read_to_string(&older)
        .unwrap()
        .replace("13:16:58.000-07:00", "13:40:00.000-07:00");
    dir.create("in/b/call-5001.json", &newer[..newer.len() - 200]);
    let out = dir.join("out");
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "--output"])
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
