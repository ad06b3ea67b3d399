//! The `milestones` table: on the real exports it holds every milestone Google's own code
//! derives (`fixtures/real/expected_logs_*.json`) and, beyond them, only the differences the
//! README documents; and it is a timeline, numbered in time order, naming the entity each
//! moment concerns.

use super::*;

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
