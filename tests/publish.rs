//! `session-etl publish`: the outbox of an output is sent to a local stand-in for Exchange
//! (`tests/servers/exchange_server.py`, started by each test on a port the kernel picks),
//! which checks the key and the bodies' shape and injects faults. Every body is delivered
//! once, a rerun sends nothing, and no night's bodies are lost.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{output_within, repo, run_summary, session_etl, wait_at_most, Dir, TestCommand};

const KEY: &str = "test-exchange-key-5f1c";

/// The stand-in server, killed when dropped.
struct ExchangeServer {
    child: Child,
    port: u16,
}

impl Drop for ExchangeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ExchangeServer {
    fn start(fault_rate: f64, refuse: Option<&str>) -> ExchangeServer {
        let python = std::env::var("SESSION_ETL_PYTHON")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "python3".into());
        let mut cmd = Command::new(python);
        cmd.arg(repo().join("tests/servers/exchange_server.py"))
            .args([KEY, &fault_rate.to_string(), "7"])
            .args(refuse)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start exchange_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        ExchangeServer { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn request(&self, method: &str, path: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.request("GET", "/__stats", "")).unwrap()
    }

    /// The bodies accepted, in order.
    fn accepted(&self) -> Vec<String> {
        self.stats()["accepted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().unwrap().to_owned())
            .collect()
    }

    fn set(&self, what: &str, value: f64) {
        self.request("POST", &format!("/__{what}"), &value.to_string());
    }
}

/// `session-etl publish OUT` to `url` with the test key and small, test-sized limits.
fn publish(out: &Path, url: &str, extra: &[&str]) -> TestCommand {
    session_etl(&["publish", "--json", "--exchange-url", url])
        .args([
            "--exchange-concurrency",
            "4",
            "--exchange-deadline-secs",
            "60",
        ])
        .args(extra)
        .arg(out)
        .env("SESSION_ETL_EXCHANGE_KEY", KEY)
}

/// The `--json` report a publish printed.
fn report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The request bodies of the outbox of `out`.
fn outbox(out: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("exchange"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "jsonl"));
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `(identifiers, eventId)` of every event of `bodies`, with how often each occurs.
fn events_of(bodies: &[String]) -> BTreeMap<(String, String), usize> {
    let mut found = BTreeMap::new();
    for body in bodies {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        for event in body["events"].as_array().unwrap() {
            let id = event["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == "eventId")
                .map(|a| a["value"].as_str().unwrap().to_owned())
                .unwrap();
            *found
                .entry((body["identifiers"].to_string(), id))
                .or_insert(0) += 1;
        }
    }
    found
}

fn run_into(out: &Path, inputs: &[&Path], extra: &[&str]) {
    session_etl(&["run", "--quiet", "--max-reject-rate", "1"])
        .args(extra)
        .arg("--output")
        .arg(out)
        .args(inputs)
        .assert_exit(0);
}

#[test]
fn every_body_is_delivered_once_through_faults_and_a_rerun_sends_nothing() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    let bodies = outbox(&out);
    assert!(bodies.len() >= 10, "{}", bodies.len());
    let server = ExchangeServer::start(0.4, None);

    let dry = publish(&out, &server.url(), &["--dry-run"])
        .env_remove("SESSION_ETL_EXCHANGE_KEY")
        .assert_exit(0);
    assert_eq!(report(&dry)["to_send"]["bodies"], bodies.len());
    assert_eq!(server.stats()["requests"], 0, "a dry run sends nothing");

    let sent = publish(&out, &server.url(), &[]).assert_exit(0);
    let first = report(&sent);
    let accepted = server.accepted();
    let unique: BTreeSet<&String> = accepted.iter().collect();
    assert_eq!(unique.len(), accepted.len(), "a body was accepted twice");
    assert_eq!(unique, bodies.iter().collect(), "exactly the outbox");
    assert_eq!(first["ending"], "delivered");
    assert_eq!(first["accepted"]["bodies"], bodies.len());
    let retries: u64 = first["retries"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let faults: u64 = server.stats()["faults"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(kind, _)| *kind != "slow")
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert!(
        faults > 0 && retries == faults,
        "{retries} retries, {faults} faults"
    );
    // The report is also kept in the ledger.
    let kept = out
        .join("exchange/_ledger")
        .join(format!("{}.json", first["publish_id"].as_str().unwrap()));
    assert!(kept.is_file());

    let requests = server.stats()["requests"].clone();
    let again = report(&publish(&out, &server.url(), &[]).assert_exit(0));
    assert_eq!(
        server.stats()["requests"],
        requests,
        "a rerun sends nothing"
    );
    assert_eq!(again["already_answered"]["bodies"], bodies.len());
}

#[test]
fn a_wrong_key_stops_at_once_and_is_never_shown() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    let server = ExchangeServer::start(0.0, None);
    let wrong = "wrong-key-never-shown-9d2e";
    let started = Instant::now();
    let mut cmd = publish(&out, &server.url(), &[])
        .env("SESSION_ETL_EXCHANGE_KEY", wrong)
        .into_command();
    cmd.current_dir(repo());
    let (code, stdout, stderr) = output_within(cmd, Duration::from_secs(30));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("SESSION_ETL_EXCHANGE_KEY"),
        "{stderr}"
    );
    let stats = server.stats();
    assert!(stats["unauthorized"].as_u64().unwrap() <= 4, "{stats}");
    assert!(stats["accepted"].as_array().unwrap().is_empty());
    // The key is nowhere: not in what was printed, not in the output folder.
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    for file in walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
    {
        if file.file_type().is_file() {
            let bytes = std::fs::read(file.path()).unwrap();
            assert!(
                !bytes.windows(wrong.len()).any(|w| w == wrong.as_bytes()),
                "{}",
                file.path().display()
            );
        }
    }
    // Nothing was marked: the right key delivers every body.
    publish(&out, &server.url(), &[]).assert_exit(0);
    assert_eq!(server.accepted().len(), outbox(&out).len());
}

#[test]
fn a_missing_key_or_a_key_file_others_can_read_is_a_usage_error() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    let server = ExchangeServer::start(0.0, None);
    let missing = publish(&out, &server.url(), &[])
        .env_remove("SESSION_ETL_EXCHANGE_KEY")
        .assert_exit(2);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("SESSION_ETL_EXCHANGE_KEY"));
    let key_file = dir.create("key", format!("{KEY}\n"));
    let key_flag = ["--exchange-key-file", key_file.to_str().unwrap()];
    let loose = publish(&out, &server.url(), &key_flag).assert_exit(2);
    assert!(String::from_utf8_lossy(&loose.stderr).contains("chmod 600"));
    assert_eq!(server.stats()["requests"], 0);
    // A redirect is a wrong URL, not a delivery: nothing is marked, nothing followed.
    let moved = format!("{}/moved", server.url());
    let redirected = publish(&out, &moved, &[]).assert_exit(2);
    let said = String::from_utf8_lossy(&redirected.stderr);
    assert!(said.contains("redirect (HTTP 302"), "{said}");
    assert_eq!(
        report(&redirected)["accepted"]["bodies"],
        0,
        "a redirected POST counted as delivered"
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    publish(&out, &server.url(), &key_flag)
        .env_remove("SESSION_ETL_EXCHANGE_KEY")
        .assert_exit(0);
    // Plain http to anything but a loopback address would send the key in clear.
    let clear = publish(&out, "http://exchange.example.com", &[]).assert_exit(2);
    assert!(String::from_utf8_lossy(&clear.stderr).contains("use https"));
}

#[test]
fn a_refused_body_is_dead_lettered_and_the_others_are_delivered() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    let bodies = outbox(&out);
    // One individual Exchange does not know.
    let refused = bodies[0].clone();
    let first: serde_json::Value = serde_json::from_str(&refused).unwrap();
    let marker = first["identifiers"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused_bodies: Vec<&String> = bodies.iter().filter(|b| b.contains(&marker)).collect();
    let server = ExchangeServer::start(0.0, Some(&marker));

    let sent = publish(&out, &server.url(), &[]).assert_exit(5);
    let summary = report(&sent);
    assert_eq!(summary["ending"], "some_refused");
    assert_eq!(summary["dead_lettered"]["bodies"], refused_bodies.len());
    assert_eq!(server.accepted().len(), bodies.len() - refused_bodies.len());
    let dead = PathBuf::from(summary["dead_letters"].as_str().unwrap());
    let letters: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), refused_bodies.len());
    assert_eq!(letters[0]["status"], 400);
    assert!(letters[0]["response"]
        .as_str()
        .unwrap()
        .contains("not registered"));
    assert_eq!(
        letters[0]["body"].to_string(),
        serde_json::from_str::<serde_json::Value>(refused_bodies[0])
            .unwrap()
            .to_string()
    );
    // Refused is an answer: the next publish does not send it again.
    let requests = server.stats()["requests"].clone();
    publish(&out, &server.url(), &[]).assert_exit(0);
    assert_eq!(server.stats()["requests"], requests);
    // A full run after it keeps the dead letters, and does not put the refused events back
    // in the outbox: they are sent again from the dead letters, once the cause is fixed.
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    assert!(out
        .join("exchange/_dead-letter")
        .join(dead.file_name().unwrap())
        .is_file());
    let refused_bodies: Vec<String> = refused_bodies.into_iter().cloned().collect();
    let refused_events = events_of(&refused_bodies);
    let outbox_events = events_of(&outbox(&out));
    assert!(refused_events
        .keys()
        .all(|e| !outbox_events.contains_key(e)));

    // Sent again before the cause is fixed: refused again, into a second dead-letter file.
    let dead_letters = ["--dead-letters"];
    publish(&out, &server.url(), &dead_letters).assert_exit(5);
    let letters = out.join("exchange/_dead-letter");
    assert_eq!(std::fs::read_dir(&letters).unwrap().count(), 2);
    // Registered now: each refused body is delivered once, from either file.
    let fixed = ExchangeServer::start(0.0, None);
    let resent = report(&publish(&out, &fixed.url(), &dead_letters).assert_exit(0));
    assert_eq!(resent["accepted"]["bodies"], refused_bodies.len());
    let mut accepted = fixed.accepted();
    accepted.sort();
    let mut expected = refused_bodies.clone();
    expected.sort();
    assert_eq!(accepted, expected);
    publish(&out, &fixed.url(), &dead_letters).assert_exit(0);
    assert_eq!(
        fixed.accepted().len(),
        refused_bodies.len(),
        "sent once only"
    );
    // The next run drops the dead letters since delivered.
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    assert!(!out.join("exchange/_dead-letter").exists());
}

#[test]
fn a_publish_killed_mid_way_is_finished_by_the_next_resending_at_most_what_was_in_flight() {
    let dir = Dir::new();
    let corpus = dir.generate(&["--sessions", "400", "--bad-fraction", "0"]);
    let out = dir.join("out");
    run_into(&out, &[&corpus.join("sessions")], &[]);
    let bodies = outbox(&out);
    assert!(bodies.len() > 100, "{}", bodies.len());
    let server = ExchangeServer::start(0.0, None);
    server.set("delay", 0.02);

    let mut child = publish(&out, &server.url(), &[])
        .into_command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while server.accepted().len() < 20 {
        assert!(start.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    wait_at_most(&mut child, Duration::from_secs(10));
    let before = server.accepted().len();
    assert!(
        before < bodies.len(),
        "the publish finished before the kill"
    );

    server.set("delay", 0.0);
    publish(&out, &server.url(), &[]).assert_exit(0);
    let accepted = server.accepted();
    let unique: BTreeSet<&String> = accepted.iter().collect();
    assert_eq!(unique, bodies.iter().collect(), "every body delivered");
    let resent = accepted.len() - unique.len();
    assert!(
        resent <= 4,
        "{resent} bodies sent twice: more than the 4 in flight"
    );
}

#[test]
fn sigterm_stops_a_publish_at_once_and_the_next_sends_the_rest() {
    let dir = Dir::new();
    let out = dir.join("out");
    run_into(&out, &[&repo().join("fixtures/good")], &[]);
    let bodies = outbox(&out);
    let server = ExchangeServer::start(0.0, None);
    server.set("delay", 0.5);
    let child = publish(&out, &server.url(), &[])
        .into_command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while server.accepted().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The requests now in flight would wait a minute for their answer: the stop must not.
    server.set("delay", 60.0);
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let stopped = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
    assert_eq!(report(&output)["ending"], "interrupted");

    server.set("delay", 0.0);
    publish(&out, &server.url(), &[]).assert_exit(0);
    let accepted = server.accepted();
    let unique: BTreeSet<&String> = accepted.iter().collect();
    assert_eq!(unique, bodies.iter().collect());
    assert!(accepted.len() - unique.len() <= 4);
}

#[test]
fn nights_whose_publish_failed_are_sent_with_the_next_and_delivered_events_never_again() {
    let dir = Dir::new();
    let input = dir.join("input");
    let good = repo().join("fixtures/good");
    // Night 1: half the files.
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&good)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_owned())
        .collect();
    files.sort();
    let copy = |files: &[PathBuf]| {
        for file in files {
            let to = input.join(file.strip_prefix(&good).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(file, to).unwrap();
        }
    };
    let half = files.len() / 2;
    copy(&files[..half]);
    let out = dir.join("out");
    run_into(&out, &[&input], &["--incremental"]);
    let night1 = events_of(&outbox(&out));
    assert!(!night1.is_empty());

    // Its publish finds no server: every body stays undelivered.
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let failed = publish(
        &out,
        &closed,
        &[
            "--exchange-attempts",
            "2",
            "--exchange-attempt-timeout-secs",
            "2",
        ],
    )
    .assert_exit(1);
    assert_eq!(report(&failed)["ending"], "incomplete");

    // Night 2: the other half arrives; night 1's bodies are still in the outbox.
    copy(&files[half..]);
    run_into(&out, &[&input], &["--incremental"]);
    let summary = run_summary(&out);
    assert!(summary["events"]["carried_undelivered"].as_u64().unwrap() > 0);
    let night2 = events_of(&outbox(&out));
    for event in night1.keys() {
        assert!(night2.contains_key(event), "night 1's {event:?} was lost");
    }
    // Retention removes night 1's first files before anything was sent: their sessions
    // leave the tables, but their undelivered events stay in the outbox, to be sent.
    for file in &files[..half.min(3)] {
        std::fs::remove_file(input.join(file.strip_prefix(&good).unwrap())).unwrap();
    }
    run_into(&out, &[&input], &["--incremental"]);
    let aged_out = night1
        .keys()
        .filter(|(_, id)| id.starts_with("call-5001:"))
        .count();
    assert!(aged_out > 0, "the files removed held events of call-5001");
    let after = events_of(&outbox(&out));
    for event in night1.keys() {
        assert!(
            after.contains_key(event),
            "{event:?} lost when its file aged out"
        );
    }

    let server = ExchangeServer::start(0.25, None);
    publish(&out, &server.url(), &[]).assert_exit(0);
    let delivered = events_of(&server.accepted());
    assert!(
        delivered.values().all(|n| *n == 1),
        "an event delivered twice"
    );
    // Everything a full run of the final input would send, and both nights', once.
    let full = dir.join("full");
    run_into(&full, &[&input], &[]);
    let full_events = events_of(&outbox(&full));
    let sent: BTreeSet<_> = delivered.keys().collect();
    assert!(full_events.keys().all(|e| sent.contains(e)));
    assert!(night1.keys().all(|e| sent.contains(e)));
    assert!(night2.keys().all(|e| sent.contains(e)));

    // A full refresh rebuilds every session, and sends none of them again.
    let requests = server.stats()["requests"].clone();
    run_into(&out, &[&input], &["--incremental", "--full-refresh"]);
    let summary = run_summary(&out);
    assert_eq!(
        summary["events"]["events_in_bodies"], 0,
        "{}",
        summary["events"]
    );
    assert_eq!(
        summary["events"]["already_delivered"].as_u64().unwrap() as usize,
        full_events.len()
    );
    assert!(outbox(&out).is_empty());
    publish(&out, &server.url(), &[]).assert_exit(0);
    assert_eq!(server.stats()["requests"], requests);
}

#[test]
fn run_publish_sends_the_outbox_once_the_output_is_published() {
    let dir = Dir::new();
    let out = dir.join("out");
    let server = ExchangeServer::start(0.0, None);
    let ran = session_etl(&["run", "--publish", "--exchange-url", &server.url()])
        .arg("--output")
        .arg(&out)
        .arg(repo().join("fixtures/good"))
        .env("SESSION_ETL_EXCHANGE_KEY", KEY)
        .assert_exit(0);
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(stdout.contains("accepted by"), "{stdout}");
    let (mut accepted, mut bodies) = (server.accepted(), outbox(&out));
    accepted.sort();
    bodies.sort();
    assert_eq!(accepted, bodies);
    // The nightly example's delivery settings load, and the key is never among them.
    let dry = session_etl(&[
        "publish",
        "--dry-run",
        "--pipeline",
        "pipelines/nightly.toml",
    ])
    .arg(&out)
    .assert_exit(0);
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(
        said.contains("to https://api-exchange-us-1.goacoustic.com/v1/event"),
        "{said}"
    );
    // Without a key the run does not start: found before hours of work, not after.
    let before = std::fs::read(out.join("_run.json")).unwrap();
    session_etl(&["run", "--publish", "--exchange-url", &server.url()])
        .arg("--output")
        .arg(&out)
        .arg(repo().join("fixtures/good"))
        .env_remove("SESSION_ETL_EXCHANGE_KEY")
        .assert_exit(2);
    assert_eq!(std::fs::read(out.join("_run.json")).unwrap(), before);
    // Nor into a bucket output, whose outbox cannot be sent yet: refused before reading.
    let refused = session_etl(&["run", "--publish", "--output", "s3://bucket/out"])
        .arg(repo().join("fixtures/good"))
        .assert_exit(2);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("whose outbox `publish` cannot send yet")
    );
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn publish_writes_nothing_into_a_folder_that_is_not_a_session_etl_output() {
    let dir = Dir::new();
    let foreign = dir.join("spark-output");
    dir.create("spark-output/_SUCCESS", "");
    dir.create(
        "spark-output/exchange/part-0000.jsonl",
        "{\"channel\":\"x\"}\n",
    );
    // Beside it too: not even a lock file.
    let before = crate::util::listing(dir.path());
    let server = ExchangeServer::start(0.0, None);
    // Exit 1 as for a run: "an output folder that is not ours".
    let refused = publish(&foreign, &server.url(), &[]).assert_exit(1);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a session-etl output"));
    assert_eq!(
        crate::util::listing(dir.path()),
        before,
        "something was written"
    );
    assert_eq!(server.stats()["requests"], 0);
}

/// `run --shard i/2` of `input` into `shards[i]`, then `commit` of both into `out`.
fn sharded_night(out: &Path, shards: &[PathBuf; 2], input: &Path) {
    for (i, shard) in shards.iter().enumerate() {
        session_etl(&["run", "--quiet", "--max-reject-rate", "1"])
            .args(["--shard", &format!("{i}/2"), "--output"])
            .arg(shard)
            .arg(input)
            .assert_exit(0);
    }
    session_etl(&["commit", "--quiet", "--output"])
        .arg(out)
        .args(shards)
        .assert_exit(0);
}

#[test]
fn sharded_nights_build_on_the_published_outbox_and_send_nothing_twice() {
    let dir = Dir::new();
    let input = dir.join("input");
    let good = repo().join("fixtures/good");
    for entry in walkdir::WalkDir::new(&good)
        .into_iter()
        .filter_map(Result::ok)
    {
        let to = input.join(entry.path().strip_prefix(&good).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    let (out, whole) = (dir.join("out"), dir.join("whole"));
    let shards = [dir.join("shard-0"), dir.join("shard-1")];
    sharded_night(&out, &shards, &input);
    run_into(&whole, &[&input], &[]);
    let night1 = events_of(&outbox(&out));
    assert_eq!(night1, events_of(&outbox(&whole)), "a whole run's events");

    // Night 2, unpublished: call-5001's files are gone. Its undelivered events are carried
    // by the commit, not lost, and the shards (whose folders held night 1's) carry nothing.
    let gone: Vec<PathBuf> = walkdir::WalkDir::new(&input)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("5001"))
        .map(|e| e.path().to_owned())
        .collect();
    assert!(!gone.is_empty());
    gone.iter().for_each(|f| std::fs::remove_file(f).unwrap());
    sharded_night(&out, &shards, &input);
    for shard in &shards {
        assert_eq!(run_summary(shard)["events"]["carried_undelivered"], 0);
    }
    let summary = run_summary(&out);
    assert!(
        summary["events"]["carried_undelivered"].as_u64().unwrap() > 0,
        "{}",
        summary["events"]
    );
    assert_eq!(events_of(&outbox(&out)), night1, "an event lost or doubled");

    // Published through faults: every event once. The next sharded night sends nothing.
    let server = ExchangeServer::start(0.25, None);
    publish(&out, &server.url(), &[]).assert_exit(0);
    let delivered = events_of(&server.accepted());
    assert_eq!(delivered, night1);
    sharded_night(&out, &shards, &input);
    let summary = run_summary(&out);
    assert_eq!(
        summary["events"]["events_in_bodies"], 0,
        "{}",
        summary["events"]
    );
    assert!(summary["events"]["already_delivered"].as_u64().unwrap() > 0);
    assert!(outbox(&out).is_empty());
    let requests = server.stats()["requests"].clone();
    publish(&out, &server.url(), &[]).assert_exit(0);
    assert_eq!(server.stats()["requests"], requests, "history sent again");
}
