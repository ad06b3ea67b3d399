//! The derived outputs, on `fixtures/` and on the real exports in `fixtures/real/`: the `events`
//! table (`events`), the Exchange request bodies in `OUT/exchange/` (`exchange`) and the
//! `milestones` table (`milestones`). The mapping being tested is the README's "Derived events
//! and the lifecycle timeline". This module holds what the three share: runs, and reading the
//! bodies and the events back.

mod events;
mod exchange;
mod milestones;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::*;

const REAL: [&str; 3] = ["call-1418", "call-987", "chat-135"];

/// Runs `inputs` (the fixtures hold bad files on purpose: the reject-rate guard is off).
fn run(out: &Path, inputs: &[PathBuf], extra: &[&str]) {
    let mut cmd = session_etl(&["run", "--quiet", "--max-reject-rate", "1"]);
    for a in extra {
        cmd = cmd.arg(a);
    }
    cmd = cmd.arg("--output").arg(out);
    for i in inputs {
        cmd = cmd.arg(i);
    }
    cmd.assert_exit(0);
}

/// Runs the real call 1418 as `edit` changes it, for shapes no fixture has; returns the
/// folder (keep it alive) and the output.
fn run_edited_call_1418(edit: impl FnOnce(&mut serde_json::Value)) -> (Dir, PathBuf) {
    run_edited_call_1418_with(&[], edit)
}

/// [`run_edited_call_1418`] with more `run` arguments.
fn run_edited_call_1418_with(
    extra: &[&str],
    edit: impl FnOnce(&mut serde_json::Value),
) -> (Dir, PathBuf) {
    let mut call: serde_json::Value =
        serde_json::from_slice(&std::fs::read(real().join("metadata_call-1418.json")).unwrap())
            .unwrap();
    edit(&mut call);
    let dir = Dir::new();
    let input = dir.create("in/call-1418.json", serde_json::to_vec(&call).unwrap());
    let out = dir.join("out");
    run(&out, &[input], extra);
    (dir, out)
}

fn real_exports() -> Vec<PathBuf> {
    REAL.iter()
        .map(|n| real().join(format!("metadata_{n}.json")))
        .collect()
}

fn fixtures() -> Vec<PathBuf> {
    vec![repo().join("fixtures/good"), repo().join("fixtures/bad")]
}

/// Every request body of an output, parsed.
fn bodies(out: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(out.join("exchange"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        assert_eq!(
            file.extension().and_then(|x| x.to_str()),
            Some("jsonl"),
            "only request bodies in exchange/: {}",
            file.display()
        );
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let body = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
            out.push(body);
        }
    }
    out
}

/// The value of attribute `name` of a request-body event.
fn attribute<'a>(event: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    event["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .map(|a| a["value"].as_str().unwrap())
}

/// Every event of every request body of an output.
fn body_events(out: &Path) -> Vec<serde_json::Value> {
    bodies(out)
        .iter()
        .flat_map(|b| b["events"].as_array().unwrap().clone())
        .collect()
}

/// The `events` row with this event id, as column → text.
fn event(events: &Table, id: &str) -> BTreeMap<String, String> {
    let ids = events.strs("event_id");
    let row = ids
        .iter()
        .position(|i| i.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no event {id}; have {ids:?}"));
    events.record(row)
}

/// Asserts `expected` (column, value) pairs; `"-"` means null.
fn assert_event(events: &Table, id: &str, at: &str, expected: &[(&str, &str)]) {
    let row = event(events, id);
    assert_eq!(row["timestamp"], micros(at).to_string(), "{id} timestamp");
    for (column, value) in expected {
        assert_eq!(
            row.get(*column).map(String::as_str).unwrap_or("-"),
            *value,
            "{id}: {column}"
        );
    }
}
