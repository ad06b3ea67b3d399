//! Bad files: one defect each, of a kind the pipeline must reject with a precise reason.
//!
//! Every bad file starts as a valid finished session with its own id and then gets exactly
//! one defect, either in the tree (a missing key, a wrong type, an impossible date...) or in
//! the written bytes (cut short, a comma removed, a byte that is not UTF-8).

use crate::json::{self, s, string, V};
use crate::rng::Rng;
use crate::session::strip_kind_keys;

/// The defects the generator plants, named like the pipeline's `error_kind` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    TruncatedJson,
    MalformedJson,
    EmptyFile,
    InvalidUtf8,
    NotAnObject,
    MissingField,
    InvalidType,
    InvalidTimestamp,
    InvalidDuration,
    UnknownKind,
    DuplicateField,
}

impl BadKind {
    /// Every kind, in the order bad files cycle through them.
    pub const ALL: [BadKind; 11] = [
        BadKind::TruncatedJson,
        BadKind::MalformedJson,
        BadKind::EmptyFile,
        BadKind::InvalidUtf8,
        BadKind::NotAnObject,
        BadKind::MissingField,
        BadKind::InvalidType,
        BadKind::InvalidTimestamp,
        BadKind::InvalidDuration,
        BadKind::UnknownKind,
        BadKind::DuplicateField,
    ];

    /// The `error_kind` the pipeline must report (session-etl's `RejectKind::as_str`).
    pub fn as_str(self) -> &'static str {
        match self {
            BadKind::TruncatedJson => "truncated_json",
            BadKind::MalformedJson => "malformed_json",
            BadKind::EmptyFile => "empty_file",
            BadKind::InvalidUtf8 => "invalid_utf8",
            BadKind::NotAnObject => "not_an_object",
            BadKind::MissingField => "missing_field",
            BadKind::InvalidType => "invalid_type",
            BadKind::InvalidTimestamp => "invalid_timestamp",
            BadKind::InvalidDuration => "invalid_duration",
            BadKind::UnknownKind => "unknown_kind",
            BadKind::DuplicateField => "duplicate_field",
        }
    }

    /// Whether the file may be gzip-compressed (an empty file stays 0 bytes on disk).
    pub(crate) fn may_gzip(self) -> bool {
        self != BadKind::EmptyFile
    }
}

/// Writes the bad version of `doc` (a valid finished session) into `out`.
///
/// `buf` is scratch space for the JSON text. Defects of the bytes are made in the written
/// text; the others change the tree before it is written.
pub(crate) fn write_bad(
    rng: &mut Rng,
    kind: BadKind,
    doc: V,
    pretty: bool,
    buf: &mut String,
    out: &mut Vec<u8>,
) {
    out.clear();
    buf.clear();
    match kind {
        BadKind::EmptyFile => {
            if rng.chance(0.3) {
                out.extend_from_slice(b"\n  \n");
            }
        }
        BadKind::TruncatedJson => truncate(rng, &doc, pretty, buf, out),
        BadKind::MalformedJson => remove_a_comma(rng, &doc, pretty, buf, out),
        BadKind::InvalidUtf8 => insert_invalid_byte(rng, &doc, pretty, buf, out),
        _ => {
            let doc = break_tree(rng, kind, doc);
            json::write(&doc, pretty, buf);
            out.extend_from_slice(buf.as_bytes());
        }
    }
}

/// Cut short: 30–80 % of the text, on a line boundary for a pretty file like an interrupted
/// upload.
fn truncate(rng: &mut Rng, doc: &V, pretty: bool, buf: &mut String, out: &mut Vec<u8>) {
    json::write(doc, pretty, buf);
    let bytes = buf.as_bytes();
    let mut cut = bytes.len() * rng.range(30, 80) as usize / 100;
    if pretty {
        while cut < bytes.len() && bytes[cut] != b'\n' {
            cut += 1;
        }
    } else {
        while !buf.is_char_boundary(cut) {
            cut += 1;
        }
    }
    out.extend_from_slice(&bytes[..cut]);
}

/// The comma before one top-level key removed.
fn remove_a_comma(rng: &mut Rng, doc: &V, pretty: bool, buf: &mut String, out: &mut Vec<u8>) {
    json::write(doc, pretty, buf);
    let key = rng.pick(&["\"status\":", "\"created_at\":", "\"updated_at\":"]);
    // Top-level keys precede every nested object, so the first match is top-level.
    if let Some(at) = buf.find(key) {
        if let Some(comma) = buf[..at].rfind(',') {
            buf.remove(comma);
        }
    }
    out.extend_from_slice(buf.as_bytes());
}

/// A `0xFF` byte inside the first identifier, name or language string.
fn insert_invalid_byte(rng: &mut Rng, doc: &V, pretty: bool, buf: &mut String, out: &mut Vec<u8>) {
    json::write(doc, pretty, buf);
    out.extend_from_slice(buf.as_bytes());
    for key in ["\"identifier\":", "\"name\":", "\"lang\":"] {
        if let Some(at) = string_value_start(buf, key) {
            let skip = rng.range(1, 5) as usize;
            let mut pos = at + skip;
            while !buf.is_char_boundary(pos) {
                pos += 1;
            }
            out.insert(pos, 0xFF);
            break;
        }
    }
}

/// The tree with a defect of `kind` (one that well-formed JSON can carry).
fn break_tree(rng: &mut Rng, kind: BadKind, mut doc: V) -> V {
    // The file kind decides the duration key name, read from the document itself.
    let duration_key = if doc.get("call_duration").is_some() {
        "call_duration"
    } else {
        "chat_duration"
    };
    match kind {
        BadKind::NotAnObject => return V::Arr(vec![doc]),
        BadKind::MissingField => {
            doc.remove(if rng.chance(0.5) { "id" } else { "created_at" });
        }
        BadKind::InvalidType => {
            if rng.chance(0.5) {
                doc.set("id", s("abc"));
            } else if let Some(V::Arr(participants)) = doc.get_mut("participants") {
                if let Some(p) = participants.get_mut(1) {
                    p.set(duration_key, V::Bool(true));
                }
            }
        }
        BadKind::InvalidTimestamp => break_a_timestamp(rng, &mut doc),
        BadKind::InvalidDuration => break_a_duration(rng, &mut doc, duration_key),
        BadKind::UnknownKind => strip_kind_keys(&mut doc),
        BadKind::DuplicateField => {
            let (key, value) = match rng.below(3) {
                0 => ("status", s("queued")),
                1 => ("lang", s("fr")),
                _ => ("rating", V::Int(rng.range(1, 5))),
            };
            doc.insert_after("updated_at", key, value);
        }
        // Defects of the bytes, made by `write_bad` itself.
        BadKind::EmptyFile
        | BadKind::TruncatedJson
        | BadKind::MalformedJson
        | BadKind::InvalidUtf8 => {}
    }
    doc
}

/// `created_at`, the first participant's `connected_at` or the first handle segment's
/// `started_at` on February 30th (mostly) or without its offset.
fn break_a_timestamp(rng: &mut Rng, doc: &mut V) {
    let impossible = rng.chance(0.7);
    let target = match rng.pick(&["created_at", "participants", "handle_durations"]) {
        // A few sessions have no handle segments: break a participant instead.
        "handle_durations" if doc.len_of("handle_durations") == 0 => "participants",
        target => target,
    };
    let slot = match target {
        "created_at" => doc.get_mut("created_at"),
        array => match doc.get_mut(array) {
            Some(V::Arr(items)) => items.first_mut().and_then(|item| {
                let key = if array == "participants" {
                    "connected_at"
                } else {
                    "started_at"
                };
                item.get_mut(key)
            }),
            _ => None,
        },
    };
    if let Some(slot) = slot {
        if let V::Local(secs, offset) = *slot {
            *slot = string(broken_timestamp(secs, offset, impossible));
        }
    }
}

/// A negative session duration, a text `acw_duration`, or a participant duration with a unit.
fn break_a_duration(rng: &mut Rng, doc: &mut V, duration_key: &'static str) {
    match rng.below(3) {
        // (A session without handle segments gets the negative duration instead.)
        1 if doc.len_of("handle_durations") == 0 => {
            doc.set(duration_key, V::Int(-rng.range(1, 300)));
        }
        0 => {
            doc.set(duration_key, V::Int(-rng.range(1, 300)));
        }
        1 => {
            if let Some(V::Arr(items)) = doc.get_mut("handle_durations") {
                if let Some(first) = items.first_mut() {
                    first.set("acw_duration", s("abc"));
                }
            }
        }
        _ => {
            if let Some(V::Arr(items)) = doc.get_mut("participants") {
                if let Some(first) = items.first_mut() {
                    first.set(duration_key, string(format!("{}s", rng.range(5, 90))));
                }
            }
        }
    }
}

/// Byte offset of the first character inside the string value of the first `key`.
fn string_value_start(text: &str, key: &str) -> Option<usize> {
    let at = text.find(key)? + key.len();
    let rest = &text[at..];
    let trimmed = rest.trim_start();
    if !trimmed.starts_with('"') {
        return None;
    }
    Some(at + (rest.len() - trimmed.len()) + 1)
}

/// The local timestamp of `secs`, moved to February 30th (`impossible`) or without its offset.
fn broken_timestamp(secs: i64, offset: i32, impossible: bool) -> String {
    let mut text = String::new();
    json::write_local(secs, offset, &mut text);
    if impossible {
        // `YYYY-MM-DD...` → `YYYY-02-30...`
        text.replace_range(5..10, "02-30");
    } else {
        // Drop the offset: `...:51.000-07:00` / `...:51.000Z` → `...:51.000`.
        text.truncate(23);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_timestamps_look_right() {
        let secs = json::days_from_civil(2026, 3, 23) * 86_400 + 20 * 3600;
        assert_eq!(
            broken_timestamp(secs, -420, true),
            "2026-02-30T13:00:00.000-07:00"
        );
        assert_eq!(broken_timestamp(secs, 0, false), "2026-03-23T20:00:00.000");
        assert_eq!(
            string_value_start(r#"{"identifier": "abc"}"#, "\"identifier\":"),
            Some(16)
        );
        assert_eq!(
            string_value_start(r#"{"identifier":null}"#, "\"identifier\":"),
            None
        );
    }
}
