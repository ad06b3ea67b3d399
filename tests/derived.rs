//! End-to-end: the derived outputs — the `events` table, the Exchange request bodies in
//! `OUT/exchange/`, and the `milestones` table — on `fixtures/` and on the real exports.
//! The mapping being tested is the README's "Derived events and the lifecycle timeline".

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

/// Runs the real exports with a pipeline file holding `toml`; returns the folder (keep it
/// alive) and the output.
fn run_real_exports_with_pipeline(toml: &str) -> (Dir, PathBuf) {
    let dir = Dir::new();
    let out = dir.join("out");
    let pipeline = dir.create("p.toml", toml);
    run(
        &out,
        &real_exports(),
        &["--pipeline", pipeline.to_str().unwrap()],
    );
    (dir, out)
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

/// The README's list of milestones we add beyond Google's derivation.
fn documented_improvements() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("**Deliberate differences from Google's derivation.**")
        .nth(1)
        .expect("README lists the deliberate differences");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn milestones_contain_every_google_milestone_of_the_real_exports() {
    let dir = Dir::new();
    let out = dir.join("out");
    run(&out, &real_exports(), &[]);
    let milestones = read_table(&out, "milestones");
    let names = milestones.strs("milestone");
    let at = milestones.micros("timestamp");
    let improvements = documented_improvements();
    assert!(
        improvements.contains("participant_left"),
        "{improvements:?}"
    );

    let mut added_total = 0;
    for name in REAL {
        let (kind, id) = name.split_once('-').unwrap();
        let id: i64 = id.parse().unwrap();
        // Ours, as a multiset of (name, second).
        let mut ours: BTreeMap<(String, i64), usize> = BTreeMap::new();
        for r in milestones.rows_of(kind, id) {
            let second = at[r].unwrap().div_euclid(1_000_000);
            *ours.entry((names[r].clone().unwrap(), second)).or_default() += 1;
        }
        let logs: Vec<serde_json::Value> = serde_json::from_slice(
            &std::fs::read(real().join(format!("expected_logs_{name}.json"))).unwrap(),
        )
        .unwrap();
        assert!(!logs.is_empty());
        for log in &logs {
            let milestone = log["jsonPayload"]["event"]["name"].as_str().unwrap();
            let second = micros(log["timestamp"].as_str().unwrap()) / 1_000_000;
            let left = ours
                .get_mut(&(milestone.to_owned(), second))
                .filter(|n| **n > 0)
                .unwrap_or_else(|| panic!("{name}: Google's {milestone} at {second} is missing"));
            *left -= 1;
        }
        // What remains is what we add: each one a documented improvement.
        for ((milestone, second), n) in ours.into_iter().filter(|(_, n)| *n > 0) {
            assert!(
                improvements.contains(&milestone),
                "{name}: {n} × {milestone} at {second} is neither Google's nor a documented improvement"
            );
            if milestone == "participant_left" {
                assert_eq!(
                    kind, "chat",
                    "only chat participants are missed by Google's code"
                );
            }
            added_total += n;
        }
    }
    // chat-135: two participants leave; call-1418: one virtual-agent escalation.
    assert_eq!(added_total, 3);
    assert_eq!(milestones.rows(), 39 + 18 + 12 + 3);
}

#[test]
fn milestones_are_a_timeline_with_the_entities_they_concern() {
    let dir = Dir::new();
    let out = dir.join("out");
    run(&out, &real_exports(), &[]);
    let m = read_table(&out, "milestones");
    let rows = m.rows_of("call", 1418);
    let seq = m.i64s("seq");
    let at = m.micros("timestamp");
    // seq numbers the session's moments 0.. in time order.
    let mut by_seq: Vec<(i64, i64)> = rows
        .iter()
        .map(|&r| (seq[r].unwrap(), at[r].unwrap()))
        .collect();
    by_seq.sort();
    assert_eq!(
        by_seq.iter().map(|p| p.0).collect::<Vec<_>>(),
        (0..rows.len() as i64).collect::<Vec<_>>()
    );
    assert!(
        by_seq.windows(2).all(|w| w[0].1 <= w[1].1),
        "seq follows time"
    );

    let find = |name: &str, entity: i64| {
        rows.iter()
            .map(|&r| m.record(r))
            .find(|rec| {
                rec["milestone"] == name
                    && rec.get("entity_id").map(String::as_str) == Some(&entity.to_string())
            })
            .unwrap_or_else(|| panic!("no {name} for {entity}"))
    };
    let left = find("participant_left", 2917);
    assert_eq!(left["entity_type"], "participant");
    assert_eq!(left["participant_type"], "agent");
    assert_eq!(left["agent_id"], "5");
    assert_eq!(
        left["timestamp"],
        micros("2026-03-23T20:15:09Z").to_string()
    );
    let handle = find("agent_handle_completed", 309);
    assert_eq!(handle["entity_type"], "agent_handle");
    assert_eq!(
        handle["timestamp"],
        micros("2026-03-23T20:16:46Z").to_string()
    );
    let transfer = find("session_transfer_connected", 12);
    assert_eq!(transfer["entity_type"], "transfer");
    let escalated = find("virtual_agent_escalated", 449);
    assert_eq!(
        escalated["timestamp"],
        micros("2026-03-23T20:14:38Z").to_string()
    );
    assert_eq!(find("call_created", 1418)["seq"], "0");

    // A moment whose timestamp is null yields no row: call 1418 was never scheduled.
    assert!(!rows
        .iter()
        .any(|&r| m.record(r)["milestone"] == "call_scheduled"));
    // Chats name their session moments chat_*.
    let chat: BTreeSet<String> = m
        .rows_of("chat", 135)
        .into_iter()
        .map(|r| m.record(r)["milestone"].clone())
        .collect();
    assert!(chat.contains("chat_created") && !chat.iter().any(|n| n.starts_with("call_")));
}

#[test]
fn request_bodies_are_valid_exchange_posts() {
    let dir = Dir::new();
    let out = dir.join("out");
    run(&out, &fixtures(), &[]);
    let bodies = bodies(&out);
    assert!(!bodies.is_empty());
    let catalogue_required: BTreeMap<&str, Vec<&str>> = [
        (
            "agentTalk",
            vec![
                "eventName",
                "agentSkill",
                "agentDisposition",
                "subChannel",
                "duration",
                "notes",
                "sentiment",
            ],
        ),
        (
            "messageAnalysis",
            vec!["eventName", "topic", "sentiment", "subChannel", "duration"],
        ),
        (
            "selfService",
            vec![
                "eventName",
                "selfServiceApp",
                "selfServiceSelections",
                "subChannel",
                "deviceType",
            ],
        ),
        ("automationTriggered", vec!["eventName"]),
    ]
    .into();
    let mut events_in_bodies = 0;
    let mut individuals = BTreeSet::new();
    for body in &bodies {
        let keys: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["channel", "events", "identifiers"].into());
        assert_eq!(body["channel"], "Contact Center");
        let identifiers = body["identifiers"].as_array().unwrap();
        assert!(
            !identifiers.is_empty(),
            "an unaddressable session was published"
        );
        for id in identifiers {
            let name = id["name"].as_str().unwrap();
            assert_eq!(name, name.to_lowercase());
            assert!(!id["value"].as_str().unwrap().is_empty());
        }
        assert!(
            individuals.insert(body["identifiers"].to_string()),
            "one individual, one body (under 100 events)"
        );
        let events = body["events"].as_array().unwrap();
        assert!(!events.is_empty() && events.len() <= 100);
        for e in events {
            events_in_bodies += 1;
            let code = e["code"].as_str().unwrap();
            let ts = e["timestamp"].as_str().unwrap();
            assert!(
                ts.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
                "{ts}"
            );
            let attrs: BTreeMap<&str, &serde_json::Value> = e["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    assert!(a["value"].is_string(), "values are strings: {a}");
                    let t = a["type"].as_str().unwrap();
                    assert!(t == "string" || t == "number", "{a}");
                    if t == "number" {
                        a["value"].as_str().unwrap().parse::<f64>().unwrap();
                    }
                    (a["name"].as_str().unwrap(), &a["type"])
                })
                .collect();
            for required in &catalogue_required[code] {
                assert!(
                    attrs.contains_key(required),
                    "{code} without {required}: {e}"
                );
            }
            assert_eq!(
                attrs.get("duration").map(|t| t.as_str().unwrap()),
                if attrs.contains_key("duration") {
                    Some("number")
                } else {
                    None
                }
            );
            assert!(attrs.contains_key("eventId"));
        }
    }
    let summary = run_summary(&out);
    assert_eq!(summary["events"]["published_events"], events_in_bodies);
    assert_eq!(summary["events"]["request_bodies"], bodies.len());
    assert_eq!(
        summary["events"]["total"].as_u64().unwrap()
            - summary["events"]["unaddressable_events"].as_u64().unwrap(),
        events_in_bodies as u64
    );
    assert_eq!(summary["events"]["total"], summary["rows"]["events"]);
}

#[test]
fn events_of_one_individual_share_bodies_of_at_most_the_configured_size() {
    // Calls 1418 and 987 are the same caller (+15550100100): 7 events, one individual.
    let (_dir, out) = run_real_exports_with_pipeline(
        "[exchange]\nchannel = \"Call Center\"\nmax_events_per_body = 3\n",
    );
    let bodies = bodies(&out);
    let caller: Vec<_> = bodies
        .iter()
        .filter(|b| {
            b["identifiers"] == serde_json::json!([{"name": "phone", "value": "+15550100100"}])
        })
        .collect();
    let sizes: Vec<usize> = caller
        .iter()
        .map(|b| b["events"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [3, 3, 1]);
    let ids: BTreeSet<String> = caller
        .iter()
        .flat_map(|b| b["events"].as_array().unwrap().iter())
        .map(|e| attribute(e, "eventId").unwrap().to_owned())
        .collect();
    assert!(
        ids.iter().any(|i| i.starts_with("call-1418:"))
            && ids.iter().any(|i| i.starts_with("call-987:"))
    );
    assert!(bodies.iter().all(|b| b["channel"] == "Call Center"));
    // The chat's customer is known by e-mail only.
    assert!(bodies.iter().any(|b| b["identifiers"]
        == serde_json::json!([{"name": "email", "value": "customer@example.com"}])));
}

#[test]
fn event_ids_and_bodies_are_identical_on_every_rerun() {
    let dir = Dir::new();
    let (a, b) = (dir.join("a"), dir.join("b"));
    run(&a, &fixtures(), &["--threads", "1"]);
    run(&b, &fixtures(), &["--threads", "3", "--batch-files", "2"]);
    let (ea, eb) = (read_table(&a, "events"), read_table(&b, "events"));
    let ids = |t: &Table| {
        t.strs("event_id")
            .into_iter()
            .map(Option::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&ea), ids(&eb));
    assert_eq!(
        ids(&ea).iter().collect::<BTreeSet<_>>().len(),
        ea.rows(),
        "event ids are unique"
    );
    assert_eq!(ea.canonical_rows(), eb.canonical_rows());
    assert_eq!(
        read_table(&a, "milestones").canonical_rows(),
        read_table(&b, "milestones").canonical_rows()
    );
    // Same bodies, in the same order (file names differ only by the run id).
    assert_eq!(bodies(&a), bodies(&b));
}

#[test]
fn no_derive_writes_empty_derived_tables() {
    let dir = Dir::new();
    let out = dir.join("out");
    run(&out, &real_exports(), &["--no-derive"]);
    assert_eq!(read_table(&out, "events").rows(), 0);
    assert_eq!(read_table(&out, "milestones").rows(), 0);
    assert!(bodies(&out).is_empty());
    let summary = run_summary(&out);
    assert_eq!(summary["events"]["derived"], false);
    assert_eq!(summary["events"]["sessions_without_identifiers"], 0);
    assert_eq!(summary["sessions"]["written"], 3);
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

/// One assertion per row of the README mapping table, on the fixtures (expected values are
/// worked out by hand in fixtures/MANIFEST.md, "Expected Exchange events").
#[test]
fn every_mapping_row_gives_its_event_on_the_fixtures() {
    let dir = Dir::new();
    let out = dir.join("out");
    run(&out, &fixtures(), &[]);
    let events = read_table(&out, "events");
    let summary = run_summary(&out);
    assert_eq!(
        summary["events"]["by_code"],
        serde_json::json!({"agentTalk": 10, "messageAnalysis": 6, "selfService": 10, "automationTriggered": 10})
    );
    assert_eq!(events.rows(), 36);

    // agentTalk: a human-handled call with a transfer gives one event per handle segment with
    // talk time; the wrap-up-only segments (500132, 500134) give none.
    assert_event(
        &events,
        "call-5001:agentTalk:handle-500131",
        "2026-03-23T20:14:37Z",
        &[
            ("code", "agentTalk"),
            ("event_name", "Inbound"),
            ("agent_skill", "va-escalation_menu"),
            ("agent_disposition", "Transferred - Billing"),
            ("notes", "Invoice question, transferred to billing"),
            ("duration", "32"),
            ("sentiment", "positive"),
            ("sub_channel", "phone"),
            ("device_type", "phone"),
            ("tags", "call"),
            ("source_entity", "agent_handle"),
            ("source_entity_id", "500131"),
            ("addressable", "true"),
        ],
    );
    assert_event(
        &events,
        "call-5001:agentTalk:handle-500133",
        "2026-03-23T20:15:26Z",
        &[
            ("agent_skill", "billing/invoices_menu-8"),
            ("agent_disposition", "key_1"),
            ("notes", "-"),
            ("duration", "80"),
            ("tags", "call,transfer"),
            ("missing_required", "notes"),
        ],
    );
    let ids: Vec<String> = events.strs("event_id").into_iter().flatten().collect();
    for acw in ["500132", "500134", "500632", "500932"] {
        assert!(
            !ids.iter().any(|i| i.ends_with(&format!("handle-{acw}"))),
            "wrap-up {acw} has no agentTalk"
        );
    }
    // Direction from the session type; no handle segments → the agent participant.
    assert_event(
        &events,
        "call-5009:agentTalk:handle-500931",
        "2026-03-25T15:00:18Z",
        &[
            ("event_name", "Campaign"),
            ("sentiment", "negative"),
            ("duration", "208"),
            ("addressable", "false"),
        ],
    );
    assert_event(
        &events,
        "call-5010:agentTalk:participant-501003",
        "2026-03-25T21:22:53Z",
        &[
            ("event_name", "Callback"),
            ("agent_skill", "Support/Callbacks"),
            ("agent_disposition", "Callback - Resolved"),
            ("duration", "252"),
            ("device_type", "web"),
            ("source_entity", "participant"),
        ],
    );
    // A chat maps subChannel and deviceType from its chat type.
    for (id, sub_channel, device) in [
        ("chat-7001:agentTalk:handle-700131", "chat", "web"),
        ("chat-7002:agentTalk:handle-700231", "sms", "mobile"),
        ("chat-7003:agentTalk:handle-700331", "whatsapp", "mobile"),
        ("chat-7004:agentTalk:handle-700431", "chat", "-"),
        ("chat-7005:agentTalk:handle-700531", "chat", "mobile"),
    ] {
        let row = event(&events, id);
        assert_eq!(row["sub_channel"], sub_channel, "{id}");
        assert_eq!(
            row.get("device_type").map(String::as_str).unwrap_or("-"),
            device,
            "{id}"
        );
    }

    // messageAnalysis: a voicemail, and every virtual-agent conversation.
    assert_event(
        &events,
        "call-5002:messageAnalysis:voicemail",
        "2026-03-24T02:46:32Z",
        &[
            ("event_name", "Voice Message Analysis"),
            ("topic", "Support"),
            ("actionability", "voicemail"),
            ("duration", "82"),
            ("sentiment", "unknown"),
            ("tags", "call,voicemail"),
        ],
    );
    assert_event(
        &events,
        "call-5001:messageAnalysis:va-500151",
        "2026-03-23T20:13:36Z",
        &[
            ("topic", "test_va_escalations"),
            ("sentiment", "neutral"),
            ("actionability", "escalated"),
            ("duration", "50"),
        ],
    );
    assert_event(
        &events,
        "call-5010:messageAnalysis:va-501051",
        "2026-03-25T21:21:08Z",
        &[("sentiment", "negative"), ("actionability", "escalated")],
    );
    assert_event(
        &events,
        "call-5007:messageAnalysis:va-500751",
        "2026-03-26T14:00:07Z",
        &[
            ("sentiment", "positive"),
            ("actionability", "not_escalated"),
        ],
    );

    // selfService: IVR navigation, the web SDK, and a virtual agent that was not escalated.
    assert_event(
        &events,
        "call-5003:selfService:menu-500371",
        "2026-03-22T05:10:05Z",
        &[
            ("self_service_app", "IVR"),
            ("self_service_selections", "Billing/Payments"),
            ("duration", "26"),
            ("device_type", "phone"),
            ("tags", "call,ivr"),
        ],
    );
    assert_event(
        &events,
        "call-5010:selfService:menu-501071",
        "2026-03-25T21:20:00Z",
        &[
            ("self_service_app", "Web SDK"),
            ("self_service_selections", "Support/Callbacks"),
        ],
    );
    assert_event(
        &events,
        "call-5007:selfService:va-500751",
        "2026-03-26T14:00:07Z",
        &[
            ("self_service_app", "billing_va"),
            ("device_type", "mobile"),
            ("duration", "224"),
        ],
    );
    for escalated in [
        "call-5001:selfService:va-500151",
        "call-5010:selfService:va-501051",
        "chat-7005:selfService:va-700551",
    ] {
        assert!(
            !ids.iter().any(|i| i == escalated),
            "{escalated}: an escalated VA is not self service"
        );
    }

    // automationTriggered: deflection, deflected transfer, deflected and plain VA escalations,
    // scheduled and callback calls, a campaign dial, automation redirections.
    let automation = |id: &str, at: &str, action: &str, skill: &str, priority: &str| {
        assert_event(
            &events,
            id,
            at,
            &[
                ("code", "automationTriggered"),
                ("event_name", "Auto Trigger Action"),
                ("action", action),
                ("agent_skill", skill),
                ("priority", priority),
                ("calling_list", "-"),
            ],
        );
    };
    automation(
        "call-5003:automationTriggered:deflection",
        "2026-03-22T05:10:05Z",
        "deflected:after_hours_message_only",
        "Billing/Payments",
        "0",
    );
    automation(
        "call-5009:automationTriggered:transfer-500911",
        "2026-03-25T15:03:44Z",
        "deflected:temp_redirection_queue",
        "Collections/Payment plans",
        "2",
    );
    automation(
        "call-5010:automationTriggered:va-deflected-501021",
        "2026-03-25T21:22:38Z",
        "deflected:temp_redirection_queue",
        "Support/Callbacks",
        "0",
    );
    automation(
        "call-5001:automationTriggered:escalation-500121",
        "2026-03-23T20:14:38Z",
        "escalated_to_agent",
        "va-escalation_menu",
        "0",
    );
    automation(
        "chat-7005:automationTriggered:escalation-700521",
        "2026-03-26T14:32:12Z",
        "escalated_to_agent",
        "App/Orders",
        "-",
    );
    automation(
        "call-5005:automationTriggered:scheduled",
        "2026-04-02T09:15:00.123456Z",
        "call_scheduled",
        "schedule_call",
        "0",
    );
    automation(
        "call-5010:automationTriggered:scheduled",
        "2026-03-25T21:21:00Z",
        "callback_scheduled",
        "Support/Callbacks",
        "0",
    );
    automation(
        "call-5009:automationTriggered:campaign",
        "2026-03-25T15:00:00Z",
        "campaign_dialed",
        "Collections/Outbound reminders",
        "1",
    );
    automation(
        "call-5007:automationTriggered:redirection-0",
        "2026-03-26T14:00:05Z",
        "redirected_to_queue",
        "Redirection Group 1",
        "0",
    );
    assert_eq!(
        event(&events, "call-5007:automationTriggered:redirection-1")["tags"],
        "call,after_hours"
    );

    // Identifiers: 5009 has none; 7005's e-mail comes from end_user.identifier, lower-cased.
    assert_eq!(summary["events"]["sessions_without_identifiers"], 1);
    assert_eq!(summary["events"]["unaddressable_events"], 3);
    let row = event(&events, "chat-7005:agentTalk:handle-700531");
    assert_eq!(
        row["identifiers"],
        r#"[{"name":"email","value":"customer.7005@example.com"}]"#
    );
    let row = event(&events, "call-5005:automationTriggered:scheduled");
    assert_eq!(
        row["identifiers"],
        r#"[{"name":"email","value":"customer.5005@example.com"},{"name":"phone","value":"+15550150005"}]"#
    );
    assert!(!event(&events, "call-5009:automationTriggered:campaign").contains_key("identifiers"));
    let published: Vec<String> = body_events(&out)
        .iter()
        .map(|e| attribute(e, "eventId").unwrap().to_owned())
        .collect();
    assert_eq!(published.len(), 33);
    assert!(
        !published.iter().any(|i| i.starts_with("call-5009:")),
        "unaddressable events stay out of the bodies"
    );

    // Required attributes without a source: empty in the body, null in the table, counted.
    assert_eq!(
        summary["events"]["missing_required"],
        serde_json::json!({"agentTalk.agentDisposition": 3, "agentTalk.notes": 5})
    );
    let body_event = body_events(&out)
        .into_iter()
        .find(|e| attribute(e, "eventId") == Some("chat-7003:agentTalk:handle-700331"))
        .unwrap();
    let disposition = body_event["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "agentDisposition")
        .unwrap()
        .clone();
    assert_eq!(
        disposition,
        serde_json::json!({"name": "agentDisposition", "value": "", "type": "string"})
    );
}

#[test]
fn an_escalated_virtual_agent_without_escalation_records_still_triggers_automation() {
    // No fixture has this shape: call 1418 with its escalations[] entry removed.
    let (_dir, out) = run_edited_call_1418(|call| call["escalations"] = serde_json::json!([]));
    let events = read_table(&out, "events");
    assert_event(
        &events,
        "call-1418:automationTriggered:va-escalated-1069",
        "2026-03-23T20:14:26Z",
        &[
            ("action", "escalated_to_agent"),
            ("agent_skill", "menu-path-test/optional-dispositions_menu-8"),
            ("source_entity", "virtual_agent_session"),
        ],
    );
    let ids: Vec<String> = events.strs("event_id").into_iter().flatten().collect();
    assert!(!ids.iter().any(|i| i.contains(":escalation-")));
    assert_eq!(run_summary(&out)["events"]["duplicate_event_ids"], 0);
}

#[test]
fn a_repeated_entry_id_is_counted_as_a_duplicate_event_id() {
    // An export that lists handle 307 twice gives two events with the same id: counted, so
    // whoever de-duplicates by event id downstream knows.
    let (_dir, out) = run_edited_call_1418(|call| {
        let handle = call["handle_durations"][0].clone();
        call["handle_durations"]
            .as_array_mut()
            .unwrap()
            .push(handle);
    });
    assert_eq!(run_summary(&out)["events"]["duplicate_event_ids"], 1);
}

#[test]
fn identifier_sources_are_configurable() {
    let (_dir, out) = run_real_exports_with_pipeline(
        "[exchange]\nidentifiers = [\n  { name = \"crm\", sources = [\"end_user.out_contact_id\"] },\n  { name = \"app_id\", sources = [\"custom_data.CustomAppID\"] },\n]\n",
    );
    let events = read_table(&out, "events");
    // 1418 and 987 carry a CRM contact id; chat 135 only a custom-data app id.
    assert_eq!(
        event(&events, "call-1418:agentTalk:handle-307")["identifiers"],
        r#"[{"name":"crm","value":"003ak00000ipFq5AAE"}]"#
    );
    assert_eq!(
        event(&events, "chat-135:agentTalk:handle-69")["identifiers"],
        r#"[{"name":"app_id","value":"ccaip-incub-stg"}]"#
    );
    assert_eq!(
        run_summary(&out)["events"]["sessions_without_identifiers"],
        0
    );
}

#[test]
fn blank_values_count_as_missing_and_do_not_stop_fallbacks() {
    // Call 1418 with a blank disposition code and note and a blank handle menu path.
    let (_dir, out) = run_edited_call_1418(|call| {
        call["dispositions"][0]["code"] = "".into();
        call["dispositions"][0]["note"] = " ".into();
        call["handle_durations"][0]["menu_path"] = "".into();
        call["escalations"][0]["to_menu_path"]["name"] = "".into();
    });
    let events = read_table(&out, "events");
    assert_event(
        &events,
        "call-1418:agentTalk:handle-307",
        "2026-03-23T20:14:37Z",
        &[
            ("agent_skill", "menu-path-test/optional-dispositions_menu-8"), // the session's menu path
            ("agent_disposition", "-"),
            ("notes", "-"),
            ("missing_required", "agentDisposition,notes"),
        ],
    );
    // An optional attribute without a value is left out of the body, not sent empty.
    assert_eq!(
        event(&events, "call-1418:automationTriggered:escalation-449").get("agent_skill"),
        None
    );
    let escalation = body_events(&out)
        .into_iter()
        .find(|e| e["code"] == "automationTriggered")
        .unwrap();
    let names: Vec<&str> = escalation["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"agentSkill"), "{names:?}");
    assert_eq!(
        run_summary(&out)["events"]["missing_required"],
        serde_json::json!({"agentTalk.agentDisposition": 1, "agentTalk.notes": 2})
    );
}

#[test]
fn identifiers_and_event_text_with_control_or_bidi_characters_are_not_sent() {
    // Call 1418 (phone +15550100100, no e-mail) with an e-mail address holding U+202E RIGHT-TO-
    // LEFT OVERRIDE, written raw, as a document can carry it; a handle menu path with U+202E
    // and a disposition note with a NUL (`\u0000` in the JSON).
    let edit = |call: &mut serde_json::Value| {
        call["email"] = "customer\u{202e}moc.elpmaxe@example.com".into();
        call["handle_durations"][0]["menu_path"] = "va-escalation\u{202e}_menu_id".into();
        call["dispositions"][0]["note"] = "notes\u{0}".into();
    };
    let phone = r#"[{"name":"phone","value":"+15550100100"}]"#;
    let (_dir, out) = run_edited_call_1418(edit);
    let input = std::fs::read(_dir.join("in/call-1418.json")).unwrap();
    assert!(String::from_utf8(input).unwrap().contains('\u{202e}'));

    // The e-mail is no valid value of `email`, so the individual is known by the phone alone.
    for body in bodies(&out) {
        assert_eq!(body["identifiers"].to_string(), phone);
    }
    let text: String = std::fs::read_dir(out.join("exchange"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert!(!text.is_empty());
    for bad in ["\u{202e}", "\\u202e", "\\u202E", "\\u0000", "\u{0}"] {
        assert!(!text.contains(bad), "{bad:?} in the request bodies");
    }
    let events = read_table(&out, "events");
    assert!(events.rows() > 0);
    assert!(events
        .strs("identifiers")
        .iter()
        .all(|i| i.as_deref() == Some(phone)));

    // The menu path and the note count as no value, like blank ones, in the table and in the
    // body alike: agentSkill falls back to the session's menu path, notes is missing.
    assert_event(
        &events,
        "call-1418:agentTalk:handle-307",
        "2026-03-23T20:14:37Z",
        &[
            ("agent_skill", "menu-path-test/optional-dispositions_menu-8"),
            ("notes", "-"),
            ("missing_required", "notes"),
            (
                "description",
                "Inbound call 1418 handled by agent 5 in menu-path-test/optional-dispositions_menu-8",
            ),
        ],
    );
    let talk = body_events(&out)
        .into_iter()
        .find(|e| attribute(e, "eventId") == Some("call-1418:agentTalk:handle-307"))
        .unwrap();
    assert_eq!(
        attribute(&talk, "agentSkill"),
        Some("menu-path-test/optional-dispositions_menu-8")
    );
    assert_eq!(attribute(&talk, "notes"), Some(""));
    let batches = &events.batches;
    for batch in batches {
        for column in batch.columns() {
            if let Some(strings) = column.as_any().downcast_ref::<arrow::array::StringArray>() {
                for v in strings.iter().flatten() {
                    assert!(
                        !v.chars().any(|c| c == '\u{202e}' || c == '\0'),
                        "{v:?} in the events table"
                    );
                }
            }
        }
    }

    // A rule that lists both sources falls back from the e-mail to the phone.
    let rules = Dir::new();
    let pipeline = rules.create(
        "p.toml",
        "[exchange]\nidentifiers = [{ name = \"contact\", sources = [\"email\", \"end_user.phone_number\"] }]\n",
    );
    let (_dir, out) = run_edited_call_1418_with(&["--pipeline", pipeline.to_str().unwrap()], edit);
    for body in bodies(&out) {
        assert_eq!(
            body["identifiers"].to_string(),
            r#"[{"name":"contact","value":"+15550100100"}]"#
        );
    }
}
