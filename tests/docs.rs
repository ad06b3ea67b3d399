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

#[cfg(target_os = "linux")]
#[test]
fn a_reference_piped_into_head_ends_quietly() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::process::{Command, Stdio};
    for args in [
        ["schema", "--json"],
        ["schema", "--markdown"],
        ["settings", "--markdown"],
    ] {
        // A pipe of one page, made before the child starts: whatever the reference's size,
        // the child is still writing when the reader goes away, as `| head` does.
        let (mut reader, writer) = std::io::pipe().unwrap();
        // SAFETY: resizing a pipe this test owns.
        let resized = unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
        assert!(resized >= 4096, "F_SETPIPE_SZ: {resized}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_session-etl"))
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        reader.read_exact(&mut first).unwrap();
        drop(reader);
        let (status, _) = wait_at_most(&mut child, std::time::Duration::from_secs(30));
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            status.success() || status.code().is_none(),
            "{args:?}: {status:?}"
        );
    }
}
