//! Acoustic Exchange request bodies: `OUT/exchange/<run-id>-NNNNN.jsonl`, one valid
//! `POST v1/event` body per line, every event of one individual batched together.
//!
//! Batching by individual across a whole run would need every event in memory. Instead each
//! event line is appended, as it is written, to one of [`BUCKETS`] spill files chosen by a
//! stable hash of the individual's identifiers. At the end each bucket (about 1/64th of the
//! events) is grouped in memory and written as bodies. Spill order is plan order, so the
//! output is identical on every run of the same input, whatever the thread count.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::derive::{ExchangeEvent, Identifier};
use crate::error::{Error, Result};

/// The folder of request bodies in the output.
pub const EXCHANGE_DIR: &str = "exchange";

/// Spill files per run; the peak memory of [`ExchangeWriter::close`] is one bucket.
pub const BUCKETS: usize = 64;

/// The identifiers as a JSON array (`[{"name":"email","value":"…"}]`); `None` when empty.
pub fn identifiers_json(identifiers: &[Identifier<'_>]) -> Option<String> {
    if identifiers.is_empty() {
        return None;
    }
    serde_json::to_string(identifiers).ok()
}

/// One event of a request body as JSON: every attribute that has a value, and every
/// required attribute (empty string when it has none), in catalogue order.
///
/// Written by hand rather than through a `Serialize` tree: this runs for every event of the
/// corpus, and only the string values need JSON escaping.
pub fn event_json(event: &ExchangeEvent<'_>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"code\":\"");
    out.push_str(event.code.as_str());
    out.push_str("\",\"timestamp\":\"");
    out.push_str(&event.timestamp.to_utc_string());
    out.push_str("\",\"attributes\":[");
    let mut first = true;
    for spec in event.code.attributes() {
        let value = match event.value(spec.attr) {
            Some(v) => v,
            None if spec.required => Cow::Borrowed(""),
            None => continue,
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str("{\"name\":");
        push_json_str(&mut out, spec.attr.name());
        out.push_str(",\"value\":");
        push_json_str(&mut out, &value);
        out.push_str(",\"type\":\"");
        out.push_str(spec.data_type.as_str());
        out.push_str("\"}");
    }
    out.push_str("]}");
    out
}

/// Appends `s` as a JSON string literal: quoted, with `"`, `\\` and control characters
/// escaped (RFC 8259 §7); everything else is valid inside a JSON string as it is.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// The publishable events of one addressable session.
#[derive(Debug, Clone)]
pub struct Publishable {
    /// [`identifiers_json`] of the session: the batching key.
    pub identifiers: String,
    /// [`event_json`] of each event.
    pub events: Vec<String>,
}

/// What the request-body writer produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExchangeCounts {
    /// Events in request bodies.
    pub events: u64,
    /// Request bodies (lines).
    pub bodies: u64,
    /// Distinct individuals (identifier lists).
    pub individuals: u64,
    /// `.jsonl` files.
    pub files: u64,
}

/// Buckets events by individual while the run goes; writes the bodies on [`close`](Self::close).
pub struct ExchangeWriter {
    dir: PathBuf,
    spill_dir: PathBuf,
    file_prefix: String,
    channel_json: String,
    max_events_per_body: usize,
    buckets: Vec<Option<BufWriter<File>>>,
}

impl ExchangeWriter {
    /// A writer whose bodies go to `out/exchange/`, named after `file_prefix` (the run id).
    pub fn create(
        out: &Path,
        file_prefix: &str,
        channel: &str,
        max_events_per_body: usize,
    ) -> Result<ExchangeWriter> {
        let dir = out.join(EXCHANGE_DIR);
        let spill_dir = dir.join(".spill");
        std::fs::create_dir_all(&spill_dir).map_err(Error::io("create", &spill_dir))?;
        Ok(ExchangeWriter {
            dir,
            spill_dir,
            file_prefix: file_prefix.to_owned(),
            channel_json: serde_json::to_string(channel).unwrap_or_default(),
            max_events_per_body: max_events_per_body.max(1),
            buckets: (0..BUCKETS).map(|_| None).collect(),
        })
    }

    /// Appends a session's events to its individual's bucket.
    pub fn write(&mut self, session: &Publishable) -> Result<()> {
        if session.events.is_empty() {
            return Ok(());
        }
        let bucket = (fnv1a(session.identifiers.as_bytes()) % BUCKETS as u64) as usize;
        let path = self.spill_path(bucket);
        let slot = &mut self.buckets[bucket];
        if slot.is_none() {
            let file = File::create(&path).map_err(Error::io("create", &path))?;
            *slot = Some(BufWriter::with_capacity(32 << 10, file));
        }
        if let Some(w) = slot {
            // JSON text never contains a raw tab or newline, so both are safe separators.
            (|| {
                for event in &session.events {
                    w.write_all(session.identifiers.as_bytes())?;
                    w.write_all(b"\t")?;
                    w.write_all(event.as_bytes())?;
                    w.write_all(b"\n")?;
                }
                Ok::<(), std::io::Error>(())
            })()
            .map_err(Error::io("write", &path))?;
        }
        Ok(())
    }

    fn spill_path(&self, bucket: usize) -> PathBuf {
        self.spill_dir.join(format!("bucket-{bucket:02}"))
    }

    /// Groups each bucket by individual and writes the bodies; removes the spill files.
    pub fn close(mut self) -> Result<ExchangeCounts> {
        let mut counts = ExchangeCounts::default();
        let buckets = std::mem::take(&mut self.buckets);
        for (bucket, writer) in buckets.into_iter().enumerate() {
            let Some(writer) = writer else { continue };
            let spill = self.spill_path(bucket);
            let file = writer
                .into_inner()
                .map_err(|e| Error::io("write", &spill)(e.into_error()))?;
            drop(file);
            self.write_bodies(bucket, &spill, &mut counts)?;
            std::fs::remove_file(&spill).map_err(Error::io("remove", &spill))?;
        }
        std::fs::remove_dir(&self.spill_dir).map_err(Error::io("remove", &self.spill_dir))?;
        Ok(counts)
    }

    fn write_bodies(&self, bucket: usize, spill: &Path, counts: &mut ExchangeCounts) -> Result<()> {
        let reader = BufReader::new(File::open(spill).map_err(Error::io("open", spill))?);
        let mut lines = Vec::new();
        for line in reader.lines() {
            let line = line.map_err(Error::io("read", spill))?;
            if let Some(tab) = line.find('\t') {
                lines.push((tab, line));
            }
        }
        // Stable: one individual's events keep their run order.
        lines.sort_by(|(a, x), (b, y)| x[..*a].cmp(&y[..*b]));

        let path = self
            .dir
            .join(format!("{}-{bucket:05}.jsonl", self.file_prefix));
        let file = File::create(&path).map_err(Error::io("create", &path))?;
        let mut out = BufWriter::with_capacity(256 << 10, file);
        let mut write = |body: &[u8]| out.write_all(body).map_err(Error::io("write", &path));
        let mut start = 0;
        while start < lines.len() {
            let key = &lines[start].1[..lines[start].0];
            let end = start
                + lines[start..]
                    .iter()
                    .take_while(|(tab, line)| &line[..*tab] == key)
                    .count();
            counts.individuals += 1;
            for batch in lines[start..end].chunks(self.max_events_per_body) {
                let mut body =
                    String::with_capacity(64 + batch.iter().map(|(_, l)| l.len()).sum::<usize>());
                body.push_str("{\"channel\":");
                body.push_str(&self.channel_json);
                body.push_str(",\"identifiers\":");
                body.push_str(key);
                body.push_str(",\"events\":[");
                for (i, (tab, line)) in batch.iter().enumerate() {
                    if i > 0 {
                        body.push(',');
                    }
                    body.push_str(&line[tab + 1..]);
                }
                body.push_str("]}\n");
                write(body.as_bytes())?;
                counts.bodies += 1;
                counts.events += batch.len() as u64;
            }
            start = end;
        }
        out.flush().map_err(Error::io("write", &path))?;
        out.get_ref().sync_all().map_err(Error::io("sync", &path))?;
        counts.files += 1;
        Ok(())
    }
}

/// FNV-1a, 64-bit: a hash that is the same on every machine and every run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(who: &str, n: usize) -> Publishable {
        Publishable {
            identifiers: format!(r#"[{{"name":"email","value":"{who}@example.com"}}]"#),
            events: vec![format!(
                r#"{{"code":"agentTalk","timestamp":"2026-03-23T20:14:37Z","attributes":[{{"name":"eventId","value":"{n}","type":"string"}}]}}"#
            )],
        }
    }

    #[test]
    fn batches_each_individual_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ExchangeWriter::create(dir.path(), "run", "Contact Center", 2).unwrap();
        for (n, who) in ["a", "b", "a", "a", "c", "a"].iter().enumerate() {
            writer.write(&line(who, n)).unwrap();
        }
        let counts = writer.close().unwrap();
        assert_eq!(counts.events, 6);
        assert_eq!(counts.individuals, 3);
        assert_eq!(counts.bodies, 4, "a: 4 events → 2 bodies; b, c: 1 each");
        let mut bodies = Vec::new();
        for entry in std::fs::read_dir(dir.path().join(EXCHANGE_DIR)).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(path.extension().unwrap(), "jsonl", "spill folder removed");
            for l in std::fs::read_to_string(&path).unwrap().lines() {
                bodies.push(serde_json::from_str::<serde_json::Value>(l).unwrap());
            }
        }
        let of_a: Vec<Vec<String>> = bodies
            .iter()
            .filter(|b| b["identifiers"][0]["value"] == "a@example.com")
            .map(|b| {
                assert_eq!(b["channel"], "Contact Center");
                b["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["attributes"][0]["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .collect();
        assert_eq!(of_a, [vec!["0", "2"], vec!["3", "5"]], "run order kept");
    }

    #[test]
    fn event_json_escapes_and_sends_required_attributes_empty() {
        use crate::derive::{Attributes, EventCode};
        use crate::normalize::Instant;
        let event = ExchangeEvent {
            code: EventCode::AgentTalk,
            event_id: "call-1:agentTalk:handle-2".into(),
            timestamp: Instant::parse("2026-03-23T13:14:37-07:00").unwrap(),
            source_entity: "agent_handle",
            source_entity_id: Some(2),
            attributes: Attributes {
                notes: Some("said \"hi\"\nthen left \u{e9}"),
                duration: Some(245),
                ..Attributes::default()
            },
        };
        let json: serde_json::Value = serde_json::from_str(&event_json(&event)).unwrap();
        assert_eq!(json["code"], "agentTalk");
        assert_eq!(json["timestamp"], "2026-03-23T20:14:37Z");
        let attrs: Vec<(String, String, String)> = json["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let s = |k: &str| a[k].as_str().unwrap().to_owned();
                (s("name"), s("value"), s("type"))
            })
            .collect();
        let t = |n: &str, v: &str, ty: &str| (n.to_owned(), v.to_owned(), ty.to_owned());
        assert_eq!(
            attrs,
            [
                t("eventId", "call-1:agentTalk:handle-2", "string"),
                t("eventName", "", "string"),
                t("agentSkill", "", "string"),
                t("agentDisposition", "", "string"),
                t("subChannel", "", "string"),
                t("duration", "245", "number"),
                t("notes", "said \"hi\"\nthen left \u{e9}", "string"),
                t("sentiment", "", "string"),
            ]
        );
    }

    #[test]
    fn json_strings_escape_what_json_requires() {
        for s in [
            "plain",
            "",
            "quote \" and \\ back",
            "tab\tnl\ncr\r",
            "bell\u{7} nul\u{0}",
            "é → 🎧",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s, "{out}");
            assert!(!out[1..out.len() - 1].contains(|c: char| c < ' '), "{out}");
        }
    }

    #[test]
    fn the_bucket_hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
