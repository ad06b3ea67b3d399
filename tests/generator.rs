//! The generator's corpora read back with the pipeline's own file reader, parser and
//! normalizer: every file must be rejected or accepted as `truth.json` says, and the truth's
//! counts must equal what the pipeline's typed view of the winning exports gives. These
//! tests live here, not in the generator crate, because the generator must not depend on
//! the pipeline.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::Path;

use session_etl::normalize::{normalize, Instant, Segment, SegmentKind, Session};
use session_etl::parse::read::{read_file, Source};
use session_etl::parse::{parse, text};
use session_etl::shared::vocab::{Compression, SessionKind};
use session_etl_generator::{
    generate, has_word, is_e164, is_email, utc_seconds, BadKind, Facts, GenerateOptions, Truth,
    EVENT_CODES, RULES,
};

fn options(out: &Path, pretty: bool) -> GenerateOptions {
    GenerateOptions {
        sessions: 300,
        out: out.to_owned(),
        seed: 7,
        bad_fraction: 0.1,
        duplicate_fraction: 0.2,
        chat_fraction: 0.3,
        gzip_fraction: 0.1,
        pretty,
    }
}

/// Every file under `dir`, relative path → bytes, sorted.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            let rel = rel.to_string_lossy().replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn digest(files: &BTreeMap<String, Vec<u8>>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut hasher);
    hasher.finish()
}

/// One good file as the pipeline sees it.
struct Seen {
    path: String,
    key: (SessionKind, i64),
    updated: i64,
    facts: Facts,
    size: usize,
}

/// Parses every file of the corpus with the pipeline's own reader, parser and normalizer,
/// and checks it against the truth.
fn check_against_parser(out: &Path, truth: &Truth, pretty: bool) {
    let seen = read_back(out, truth);
    let (expected, created) = check_dedup(truth, &seen);
    check_sums(truth, &expected, created);
    if pretty {
        check_sizes(&seen);
    }
}

/// Every file read back: bad ones rejected with the truth's kind, good ones parsed without
/// unknown keys, and the file counts of the truth. Returns the good files.
fn read_back(out: &Path, truth: &Truth) -> Vec<Seen> {
    let root = out.join(&truth.corpus);
    let files = tree(&root);
    let mut seen = Vec::new();
    let mut ignored = 0;
    let mut bytes = 0;
    let mut gzip = 0;
    let mut rejects: BTreeMap<String, u64> = BTreeMap::new();
    let mut buf = Vec::new();
    for (rel, content) in &files {
        let Some(compression) = session_etl::discover::session_file_compression(rel) else {
            ignored += 1;
            continue;
        };
        bytes += content.len() as u64;
        gzip += u64::from(compression == Compression::Gzip);
        read_file(
            Source::Disk(&root.join(rel)),
            compression,
            0,
            1 << 26,
            &mut buf,
        )
        .unwrap();
        let name = rel.rsplit('/').next().unwrap();
        let result = parse(&buf).and_then(|parsed| {
            let session = normalize(&parsed.session, name)?;
            Ok((parsed.unknown_fields.len(), session_facts(&session)))
        });
        match (truth.bad_files.get(rel), result) {
            (Some(kind), Err(e)) => {
                assert_eq!(e.kind.as_str(), kind, "{rel}: {e}");
                *rejects.entry(kind.clone()).or_default() += 1;
            }
            (Some(kind), Ok(_)) => panic!("{rel} should be rejected as {kind}"),
            (None, Err(e)) => panic!("{rel} should parse: {e}"),
            (None, Ok((unknown, (key, updated, facts)))) => {
                assert_eq!(unknown, 0, "{rel} has keys the parser does not know");
                seen.push(Seen {
                    path: rel.clone(),
                    key,
                    updated,
                    facts,
                    size: buf.len(),
                });
            }
        }
    }
    assert_eq!(truth.files_seen, (files.len() - ignored) as u64);
    assert_eq!(truth.files_ignored, ignored as u64);
    assert_eq!(truth.bytes, bytes);
    assert_eq!(truth.files_gzip, gzip);
    assert_eq!(truth.rejects_by_kind, rejects);
    assert_eq!(truth.rejected, rejects.values().sum::<u64>());
    seen
}

/// Deduplication: the newest `updated_at` wins, strictly, and the older copies are the
/// truth's superseded files. Returns the winners' sums and their `created_at` range (µs).
fn check_dedup(truth: &Truth, seen: &[Seen]) -> (Truth, (i64, i64)) {
    let mut by_key: HashMap<(SessionKind, i64), Vec<&Seen>> = HashMap::new();
    for s in seen {
        by_key.entry(s.key).or_default().push(s);
    }
    let mut superseded = Vec::new();
    let mut expected = Truth {
        seed: truth.seed,
        corpus: truth.corpus.clone(),
        ..Truth::default()
    };
    let mut created = (i64::MAX, i64::MIN);
    let mut newer_sorts_first = 0;
    for versions in by_key.values_mut() {
        versions.sort_by_key(|s| s.updated);
        let (winner, older) = versions.split_last().unwrap();
        for o in older {
            assert!(
                o.updated < winner.updated,
                "{} ties {}",
                o.path,
                winner.path
            );
            let gap = (winner.updated - o.updated) / 1_000_000;
            assert!(
                (900..=1200).contains(&gap),
                "{}: re-export {gap} s later",
                o.path
            );
            superseded.push(o.path.clone());
            if winner.path < o.path {
                newer_sorts_first += 1;
            }
        }
        expected.add_session(&winner.facts);
        created = (
            created.0.min(winner.facts.created),
            created.1.max(winner.facts.created),
        );
    }
    superseded.sort();
    assert_eq!(truth.superseded_files, superseded);
    assert_eq!(truth.superseded, superseded.len() as u64);
    assert!(
        newer_sorts_first > 0,
        "no re-export sorts before its older copy"
    );
    (expected, created)
}

/// The truth's sums equal the winners' sums.
fn check_sums(truth: &Truth, expected: &Truth, created: (i64, i64)) {
    assert_eq!(truth.sessions, expected.sessions);
    assert_eq!(truth.calls, expected.calls);
    assert_eq!(truth.chats, expected.chats);
    assert_eq!(truth.sessions_by_status, expected.sessions_by_status);
    assert_eq!(truth.sum_duration_s, expected.sum_duration_s);
    assert_eq!(truth.participants, expected.participants);
    assert_eq!(truth.participants_by_type, expected.participants_by_type);
    assert_eq!(truth.transfers, expected.transfers);
    assert_eq!(truth.dispositions, expected.dispositions);
    assert_eq!(truth.events_by_code, expected.events_by_code);
    assert_eq!(
        truth.sessions_without_identifiers,
        expected.sessions_without_identifiers
    );
    assert_eq!(truth.unaddressable_events, expected.unaddressable_events);
    assert_eq!(truth.events_by_rule, expected.events_by_rule);
    let mut rows = expected.rows.clone();
    rows.insert("rejects".to_owned(), truth.rejected);
    assert_eq!(truth.rows, rows);
    assert_eq!(
        truth.min_created_at,
        Some(utc_seconds(created.0 / 1_000_000))
    );
    assert_eq!(
        truth.max_created_at,
        Some(utc_seconds(created.1 / 1_000_000))
    );
}

/// Pretty files are about the size of the real exports: few under 4 KB, fewer over 17 KB.
fn check_sizes(seen: &[Seen]) {
    let sizes: Vec<usize> = seen.iter().map(|s| s.size).collect();
    let small = sizes.iter().filter(|&&n| n < 4_000).count();
    let large = sizes.iter().filter(|&&n| n > 17_000).count();
    assert!(small * 20 < sizes.len(), "{small} files under 4 KB");
    assert!(large * 100 < sizes.len(), "{large} files over 17 KB");
}

/// The generator's name for the pipeline's session kind.
fn generator_kind(kind: SessionKind) -> session_etl_generator::SessionKind {
    match kind {
        SessionKind::Call => session_etl_generator::SessionKind::Call,
        SessionKind::Chat => session_etl_generator::SessionKind::Chat,
    }
}

/// What the normalized session contributes, computed from the pipeline's own types.
fn session_facts(s: &Session<'_>) -> ((SessionKind, i64), i64, Facts) {
    let (created, updated) = check_timestamps(s);
    let mut participants_by_type = BTreeMap::new();
    for p in &s.participants {
        let kind = text(&p.raw.participant_type).unwrap_or("").to_owned();
        *participants_by_type.entry(kind).or_default() += 1;
    }
    let n = s.participants.len();
    assert!(
        (1..=6).contains(&n),
        "session {} has {n} participants",
        s.raw.id
    );
    let status = s.status.as_ref().unwrap();
    assert!(status.known, "session {}: status {}", s.raw.id, status.name);
    let status: &'static str = match status.name.as_ref() {
        "finished" => "finished",
        "failed" => "failed",
        "deflected" => "deflected",
        "voicemail_received" => "voicemail_received",
        "scheduled" => "scheduled",
        "canceled" => "canceled",
        other => panic!("unexpected status {other}"),
    };
    let rows: BTreeMap<&'static str, u64> = [
        ("sessions", 1),
        ("participants", n),
        ("transfers", s.transfers.len()),
        ("escalations", s.escalations.len()),
        ("deflections", s.raw.deflection_details.len()),
        ("segments", s.segments.len()),
        ("dispositions", s.raw.dispositions.len()),
        ("recordings", s.recordings.len()),
        ("redactions", s.redactions.len()),
        ("offer_events", s.offer_events.len()),
        ("media", s.raw.photos.len() + s.raw.videos.len()),
        ("attributes", s.attributes.len()),
        (
            "automation_redirections",
            s.raw
                .automation_redirection
                .as_ref()
                .map_or(0, |a| a.redirection_group.len()),
        ),
    ]
    .into_iter()
    .map(|(t, n)| (t, n as u64))
    .collect();
    let (events, addressable) = derived_events(s, status);
    let mut facts = Facts {
        kind: generator_kind(s.kind),
        status,
        created,
        duration: s.duration_s.unwrap_or(0),
        participants_by_type,
        rows,
        events,
        addressable,
    };
    facts.rows.insert("events", events.iter().sum());
    facts.rows.insert("milestones", derived_milestones(s));
    ((s.kind, s.raw.id), updated, facts)
}

/// The session's and its participants' timestamps are in order, before `updated_at`.
/// Returns `created_at` and `updated_at` (µs).
fn check_timestamps(s: &Session<'_>) -> (i64, i64) {
    let created = s.created_at.micros;
    let updated = s.updated_at.map(|t| t.micros).unwrap();
    assert!(created < updated, "session {}", s.raw.id);
    let order = [s.queued_at, s.assigned_at, s.ends_at];
    let mut last = created;
    for t in order.into_iter().flatten().map(|t| t.micros) {
        assert!(
            last <= t && t < updated,
            "session {}: timestamps out of order",
            s.raw.id
        );
        last = t;
    }
    for p in &s.participants {
        if let (Some(a), Some(b)) = (p.connected_at, p.left_at) {
            assert!(
                a.micros <= b.micros && b.micros < updated,
                "session {}",
                s.raw.id
            );
        }
    }
    (created, updated)
}

/// Events per rule and whether the session has an identifier, counted a second way: by
/// the README's rules over the parser's typed view (not the derive code), which catches a
/// misread key in the generator's `events_of` / `has_identifier`.
fn derived_events(s: &Session<'_>, status: &str) -> ([u64; RULES], bool) {
    let raw = s.raw;
    let kind_type = text(&raw.session_type_v2)
        .or(text(&raw.call_type))
        .or(text(&raw.chat_type))
        .or(text(&raw.session_type))
        .unwrap_or("")
        .to_ascii_lowercase();
    let segments = |kind: SegmentKind| {
        s.segments
            .iter()
            .filter(move |g| g.segment_kind == Some(kind))
    };
    let deflected = |d: Option<&str>| d.is_some_and(|d| !d.is_empty() && d != "no_deflection");
    let escalated =
        |g: &&Segment<'_>| g.finish_reason == Some("escalated") || g.escalation_reason.is_some();
    let handles = segments(SegmentKind::AgentHandle).count();
    let talk = segments(SegmentKind::AgentHandle)
        .filter(|g| g.duration_s > Some(0))
        .count();
    let agents = s
        .participants
        .iter()
        .filter(|p| text(&p.raw.participant_type) == Some("agent") && p.duration_s > Some(0))
        .count();
    let voicemail = matches!(status, "voicemail" | "voicemail_received")
        || text(&raw.voicemail_reason).is_some_and(|r| r != "not_voicemail");
    let va = segments(SegmentKind::VirtualAgent).count();
    let va_escalated = segments(SegmentKind::VirtualAgent)
        .filter(escalated)
        .count();
    let escalations = |kind: &str| {
        s.escalations
            .iter()
            .filter(|e| e.escalation_kind.as_str() == kind)
            .count()
    };
    let (handovers, va_deflected) = (escalations("escalation"), escalations("va_deflected"));
    let events = [
        talk,
        if handles == 0 { agents } else { 0 },
        usize::from(voicemail),
        va,
        segments(SegmentKind::ConsumerInMenu).count(),
        va - va_escalated,
        usize::from(deflected(text(&raw.deflection))),
        s.transfers
            .iter()
            .filter(|t| deflected(text(&t.raw.deflection)))
            .count(),
        va_deflected,
        handovers,
        if handovers + va_deflected == 0 {
            va_escalated
        } else {
            0
        },
        usize::from(has_word(&kind_type, "callback") || has_word(&kind_type, "scheduled")),
        usize::from(has_word(&kind_type, "campaign")),
        raw.automation_redirection
            .as_ref()
            .map_or(0, |a| a.redirection_group.len()),
    ]
    .map(|n| n as u64);

    let email = text(&raw.email)
        .into_iter()
        .chain(raw.end_user.as_ref().and_then(|u| text(&u.identifier)))
        .any(is_email);
    let phone = s
        .participants
        .iter()
        .find(|p| text(&p.raw.participant_type) == Some("end_user"))
        .and_then(|p| text(&p.raw.phone_number))
        .is_some_and(is_e164);
    (events, email || phone)
}

/// `milestones` rows counted from the normalized session's instants.
fn derived_milestones(s: &Session<'_>) -> u64 {
    let session = [
        s.queued_at,
        s.assigned_at,
        s.connected_at,
        s.ends_at,
        s.scheduled_at,
        s.updated_at,
    ];
    let mut all: Vec<Option<Instant>> = vec![Some(s.created_at)];
    all.extend(session);
    for p in &s.participants {
        all.extend([p.connected_at, p.left_at]);
    }
    for g in &s.segments {
        all.extend([g.started_at, g.ended_at]);
    }
    for t in &s.transfers {
        all.extend([t.created_at, t.connected_at]);
    }
    all.extend(s.escalations.iter().map(|e| e.escalated_at));
    for r in &s.recordings {
        all.extend([r.started_at, r.ended_at]);
    }
    all.iter().flatten().count() as u64
}

#[test]
fn generate_is_deterministic_and_matches_the_parser() {
    for pretty in [true, false] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let truth_a = generate(&options(a.path(), pretty)).unwrap();
        let truth_b = generate(&options(b.path(), pretty)).unwrap();
        assert_eq!(truth_a, truth_b);
        let (tree_a, tree_b) = (tree(a.path()), tree(b.path()));
        assert_eq!(digest(&tree_a), digest(&tree_b));
        assert_eq!(
            tree_a.keys().collect::<Vec<_>>(),
            tree_b.keys().collect::<Vec<_>>()
        );

        let on_disk: Truth =
            serde_json::from_slice(&std::fs::read(a.path().join("truth.json")).unwrap()).unwrap();
        assert_eq!(on_disk, truth_a);
        assert_eq!(truth_a.sessions, 300);
        assert_eq!(truth_a.chats, 90);
        assert_eq!(truth_a.superseded, 60);
        assert_eq!(truth_a.rejects_by_kind.len(), BadKind::ALL.len());
        check_against_parser(a.path(), &truth_a, pretty);
    }
}

#[test]
fn the_corpus_exercises_every_event_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(tmp.path(), false);
    opts.sessions = 3000;
    opts.seed = 11;
    let truth = generate(&opts).unwrap();
    assert_eq!(truth.events_by_rule.len(), RULES);
    for (rule, n) in &truth.events_by_rule {
        assert!(*n > 0, "no {rule} event in {} sessions", truth.sessions);
    }
    assert_eq!(truth.events_by_code.len(), EVENT_CODES.len());
    let events = truth.rows["events"];
    assert_eq!(truth.events_by_code.values().sum::<u64>(), events);
    assert_eq!(truth.events_by_rule.values().sum::<u64>(), events);
    assert!(truth.rows["milestones"] > 20 * truth.sessions);
    let share = truth.sessions_without_identifiers as f64 / truth.sessions as f64;
    assert!(
        (0.10..=0.20).contains(&share),
        "{share} without identifiers"
    );
    assert!(0 < truth.unaddressable_events && truth.unaddressable_events < events / 5);
    check_against_parser(tmp.path(), &truth, false);
}
