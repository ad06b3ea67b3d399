//! The Exchange request bodies in `OUT/exchange/`: valid POST bodies (keys, channel, attribute
//! types, the catalogue's required attributes), one individual's events sharing bodies of at
//! most the configured size, configurable identifier sources, and no identifier or text with
//! control or bidi characters sent.

use super::*;

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
    assert_eq!(summary["events"]["events_in_bodies"], events_in_bodies);
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
