//! Bad files: each file of `fixtures/bad` is one `rejects` row with its kind, field and
//! position (`fixtures/MANIFEST.md` says why each is bad); values outside what the tables hold
//! are rejected, not clamped; reject messages quote only a short piece of a value; and
//! `validate` reports exactly what a run rejects, writing nothing.

use crate::util::*;

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

/// Runs `inputs` (relative to the repository; bad files, on purpose: the reject-rate and
/// no-sessions guards are off); returns the folder (keep it alive), the output and its
/// `rejects` table.
fn run_accepting_rejects(inputs: &[&str]) -> (Dir, std::path::PathBuf, Table) {
    let dir = Dir::new();
    let out = dir.join("out");
    session_etl(&["run", "--quiet"])
        .args(ALL_BAD_ALLOWED)
        .arg("--output")
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
