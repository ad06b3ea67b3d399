//! The `events` table: every row of the README mapping table gives its event on the fixtures
//! (expected values worked out by hand in `fixtures/MANIFEST.md`, "Expected Exchange events"),
//! shapes no fixture has (edited copies of real call 1418), blank values, duplicate event ids,
//! identical events on every rerun, and `--no-derive`.

use super::*;

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
