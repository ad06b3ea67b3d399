//! The schema reference: `session-etl schema` lists every table, and `docs/tables.md` ends with
//! exactly what `schema --markdown` prints, so a stale copy of the docs fails here.

use crate::util::*;

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
