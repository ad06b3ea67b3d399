//! The references: `session-etl schema` lists every table and `session-etl settings` every
//! setting; `docs/tables.md` and `docs/settings.md` end with exactly what their `--markdown`
//! prints, so a stale copy of the docs fails here.

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

#[test]
fn the_settings_reference_in_docs_is_up_to_date() {
    let out = session_etl(&["settings", "--markdown"]).assert_exit(0);
    let generated = String::from_utf8(out.stdout).unwrap();
    let docs = std::fs::read_to_string(repo().join("docs/settings.md")).unwrap();
    assert!(
        docs.ends_with(&generated),
        "docs/settings.md is stale: regenerate it with `cargo run -- settings --markdown` (see its header)"
    );
}

/// Every pipeline key is a flag (and a variable) of each command it applies to, and no
/// command shows a setting that does not apply to it.
#[test]
fn every_setting_is_a_flag_of_the_commands_it_applies_to() {
    use session_etl::settings::{Cmd, DEFS};
    for (cmd, name) in [
        (Cmd::Run, "run"),
        (Cmd::Validate, "validate"),
        (Cmd::Commit, "commit"),
    ] {
        // Wide enough that clap never wraps a help line.
        let out = session_etl(&[name, "-h"])
            .env("COLUMNS", "1000")
            .assert_exit(0);
        let help = String::from_utf8(out.stdout).unwrap();
        for def in DEFS {
            let shown = help.contains(&format!("[key: {}]", def.path()));
            assert_eq!(shown, def.used_by.contains(&cmd), "{name}: {}", def.path());
            if shown && !def.positional {
                assert!(
                    help.contains(&format!("--{} ", def.flag))
                        || help.contains(&format!("--{}\n", def.flag)),
                    "{name}: --{}",
                    def.flag
                );
            }
            if let (true, Some(env)) = (shown, def.env) {
                assert!(help.contains(env), "{name}: {env}");
            }
        }
    }
}
