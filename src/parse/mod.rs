//! Stage 3 of the data flow: bytes of one file → [`RawSession`], the JSON as written.
//!
//! Parsing is strict about structure and JSON types (a string where the format has an
//! integer rejects the file, naming the field) and lenient about everything the platform
//! varies on: unknown keys are counted, not rejected; absent arrays are empty; leaf values
//! whose representation varies are kept as [`Scalar`]s for `normalize` to interpret.

pub mod locate;
pub mod read;
pub mod scalar;
pub mod types;

use serde::de::IgnoredAny;

use crate::shared::reject::{shorten_quoted, FileError, RejectKind};
pub use scalar::{text, Opaque, Scalar, Str};
pub use types::*;

/// A parsed document and the JSON paths of keys it carried that the format does not define.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The document.
    pub session: RawSession<'a>,
    /// Unknown keys, with array indices elided (`participants[].x_debug`), in document order.
    pub unknown_fields: Vec<String>,
}

/// The UTF-8 byte-order mark some producers put before the JSON; stripped, never rejected.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses one session document. Borrows strings from `bytes` wherever possible.
pub fn parse(bytes: &[u8]) -> Result<Parsed<'_>, FileError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(bytes, e.valid_up_to());
            return Err(FileError::file(
                RejectKind::InvalidUtf8,
                format!(
                    "invalid UTF-8 byte sequence at byte offset {}",
                    e.valid_up_to()
                ),
            )
            .at(line, column));
        }
    };
    let Some(first) = text.trim_start().chars().next() else {
        return Err(FileError::file(RejectKind::EmptyFile, "the file is empty"));
    };
    if first != '{' {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => FileError::file(
                RejectKind::NotAnObject,
                format!(
                    "the top-level JSON value is {}, not an object",
                    json_type_of(first)
                ),
            ),
            Err(e) => json_error(&e, None),
        });
    }

    let mut unknown_fields = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let result =
        serde_ignored::deserialize(&mut de, |path| unknown_fields.push(render_path(&path)))
            .and_then(|session| de.end().map(|()| session));
    match result {
        Ok(session) => Ok(Parsed {
            session,
            unknown_fields,
        }),
        Err(e) if e.is_data() => {
            // Slow path, errors only: parse again tracking the path to the bad value.
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize::<_, RawSession<'_>>(&mut de) {
                Err(tracked) => Err(json_error(
                    tracked.inner(),
                    Some(tracked.path().to_string()),
                )),
                Ok(_) => Err(json_error(&e, None)),
            }
        }
        Err(e) => Err(json_error(&e, None)),
    }
}

/// Adds where `error.field` sits in `bytes` to an error found after parsing (by `normalize`),
/// which knows the field but not the line and column.
pub fn with_position(error: FileError, bytes: &[u8]) -> FileError {
    if error.line.is_some() {
        return error;
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let position = error
        .field
        .as_deref()
        .zip(std::str::from_utf8(bytes).ok())
        .and_then(|(field, text)| locate::locate(text, field));
    match position {
        Some((line, column)) => error.at(line, column),
        None => error,
    }
}

/// Maps a serde_json error to a reject, classifying data errors by serde's stable wording.
fn json_error(e: &serde_json::Error, field: Option<String>) -> FileError {
    use serde_json::error::Category;
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let detail = full.strip_suffix(&position).unwrap_or(&full).to_owned();
    let kind = match e.classify() {
        Category::Eof => RejectKind::TruncatedJson,
        Category::Syntax | Category::Io => RejectKind::MalformedJson,
        Category::Data if detail.starts_with("missing field") => RejectKind::MissingField,
        Category::Data if detail.starts_with("duplicate field") => RejectKind::DuplicateField,
        Category::Data => RejectKind::InvalidType,
    };
    let mut field = field.filter(|f| f != ".");
    if matches!(kind, RejectKind::MissingField | RejectKind::DuplicateField) {
        // serde names the key in the message, in backticks after "missing field " or
        // "duplicate field " (so does `scalar::unique_keys` for a map key, which may hold a
        // backtick itself), and points the path at its parent object.
        let key = ["missing field `", "duplicate field `"]
            .iter()
            .find_map(|prefix| detail.strip_prefix(prefix)?.strip_suffix('`'));
        if let Some(key) = key {
            field = Some(match field {
                Some(parent) => format!("{parent}.{key}"),
                None => key.to_owned(),
            });
        }
    }
    let error = FileError {
        kind,
        field,
        line: None,
        column: None,
        // serde repeats the offending value (`invalid type: string "…", expected i64`).
        detail: shorten_quoted(&detail),
    };
    if e.line() > 0 {
        error.at(e.line() as u64, e.column() as u64)
    } else {
        error
    }
}

fn json_type_of(first: char) -> &'static str {
    match first {
        '[' => "an array",
        '"' => "a string",
        't' | 'f' => "a boolean",
        'n' => "null",
        _ => "a number",
    }
}

/// 1-based line and column (in bytes) of byte `offset`.
pub fn line_column(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    // Bytes, as serde_json counts the columns of the errors it reports itself: one unit for
    // every position in `rejects` and `validate`.
    let column = (before.len() - line_start) as u64 + 1;
    (line, column)
}

/// Renders a path from `serde_ignored` as `a.b[].c`: indices are dropped so that the same
/// unknown key in every participant counts as one field.
fn render_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    fn walk(path: &Path<'_>, out: &mut String) {
        match path {
            Path::Root => {}
            Path::Seq { parent, .. } => {
                walk(parent, out);
                out.push_str("[]");
            }
            Path::Map { parent, key } => {
                walk(parent, out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut out = String::new();
    walk(path, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(extra: &str) -> String {
        format!(
            r#"{{"id": 7, "call_type": "Voice Outbound", "created_at": "2026-01-01T00:00:00Z"{extra}}}"#
        )
    }

    #[test]
    fn strings_borrow_from_the_input() {
        let text = minimal(r#", "lang": "en""#);
        let parsed = parse(text.as_bytes()).unwrap();
        let lang = parsed.session.lang.unwrap();
        assert!(
            matches!(lang.0, std::borrow::Cow::Borrowed(_)),
            "lang was copied"
        );
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let text = minimal(r#", "feedback": "line\nbreak \u00e9""#);
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.session.feedback.unwrap().as_str(), "line\nbreak é");
    }

    #[test]
    fn unknown_keys_are_reported_without_indices() {
        let text = minimal(
            r#", "x_top": 1, "participants": [{"id": 1, "x_p": true}, {"id": 2, "x_p": false}]"#,
        );
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(
            parsed.unknown_fields,
            vec!["x_top", "participants[].x_p", "participants[].x_p"]
        );
    }

    #[test]
    fn documented_opaque_fields_are_not_unknown() {
        let text =
            minimal(r#", "wait_time_sms": [{"a": 1}], "participants": [{"teams": [{"t": 1}]}]"#);
        assert!(parse(text.as_bytes()).unwrap().unknown_fields.is_empty());
    }

    #[test]
    fn bom_is_stripped() {
        let text = format!("\u{feff}{}", minimal(""));
        assert_eq!(parse(text.as_bytes()).unwrap().session.id, 7);
    }

    #[test]
    fn null_arrays_are_empty() {
        let text = minimal(r#", "participants": null"#);
        let parsed = parse(text.as_bytes()).unwrap();
        assert!(parsed.session.participants.is_empty());
    }

    #[test]
    fn each_failure_gets_its_kind_field_and_position() {
        let cases: &[(&[u8], RejectKind, Option<&str>)] = &[
            (b"", RejectKind::EmptyFile, None),
            (b" \n\t", RejectKind::EmptyFile, None),
            (
                b"{\"id\": 1, \"lang\": \"\xff\"}",
                RejectKind::InvalidUtf8,
                None,
            ),
            (b"{\"id\": 1, \"lang\": ", RejectKind::TruncatedJson, None),
            (
                b"{\"id\": 1 \"lang\": \"en\"}",
                RejectKind::MalformedJson,
                None,
            ),
            (b"[{\"id\": 1}]", RejectKind::NotAnObject, None),
            (b"{\"lang\": \"en\"}", RejectKind::MissingField, Some("id")),
            (b"{\"id\": \"abc\"}", RejectKind::InvalidType, Some("id")),
            (
                b"{\"id\": 1, \"participants\": [{}, {\"id\": true}]}",
                RejectKind::InvalidType,
                Some("participants[1].id"),
            ),
            (
                b"{\"id\": 1, \"id\": 2}",
                RejectKind::DuplicateField,
                Some("id"),
            ),
            (b"{\"id\": 1} trailing", RejectKind::MalformedJson, None),
        ];
        for (input, kind, field) in cases {
            let err = parse(input).unwrap_err();
            assert_eq!(
                err.kind,
                *kind,
                "{:?}: {err}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(err.field.as_deref(), *field, "{err}");
            if !matches!(kind, RejectKind::EmptyFile | RejectKind::NotAnObject) {
                assert!(err.line.is_some(), "{kind:?} has no position: {err}");
            }
        }
    }

    #[test]
    fn a_key_twice_in_any_map_is_a_duplicate_field_below_the_map() {
        for (extra, field, position) in [
            (
                r#", "custom_data_not_secured": {"a": {"value": 1}, "b": {}, "a": {"value": 2}}"#,
                "custom_data_not_secured.a",
                (1, 138),
            ),
            (
                r#", "custom_data_secured": {"x": {}, "x": {}}"#,
                "custom_data_secured.x",
                (1, 115),
            ),
            (
                r#", "sip_headers": {"h": "1", "h": "2"}"#,
                "sip_headers.h",
                (1, 108),
            ),
            (
                r#", "participants": [{}, {"sip_headers": {"h": null, "h": null}}]"#,
                "participants[1].sip_headers.h",
                (1, 131),
            ),
            (
                r#", "participants": [{"virtual_agent_params": {"p": 1, "p": 1}}]"#,
                "participants[0].virtual_agent_params.p",
                (1, 133),
            ),
            (
                r#", "participants": [{"agent_assist": {"k": {}, "k": []}}]"#,
                "participants[0].agent_assist.k",
                (1, 126),
            ),
            // A key holding a backtick is named whole.
            (
                r#", "sip_headers": {"a`b": 1, "a`b": 2}"#,
                "sip_headers.a`b",
                (1, 110),
            ),
        ] {
            let text = minimal(extra);
            let err = parse(text.as_bytes()).unwrap_err();
            assert_eq!(
                (err.kind, err.field.as_deref()),
                (RejectKind::DuplicateField, Some(field)),
                "{extra}: {err}"
            );
            assert_eq!(
                (err.line, err.column),
                (Some(position.0), Some(position.1)),
                "{extra}: {err}"
            );
        }
        // Different keys are fine, and are kept in key order (the `attributes` row order).
        let text = minimal(r#", "sip_headers": {"b": 1, "a": 2}, "custom_data_secured": null"#);
        let parsed = parse(text.as_bytes()).unwrap();
        let keys: Vec<_> = parsed.session.sip_headers.unwrap().into_keys().collect();
        assert_eq!(keys, [Str("a".into()), Str("b".into())]);
        assert!(parsed.session.custom_data_secured.is_none());
        assert!(parsed.session.custom_data_not_secured.is_none());
        // Not an object: a type error, as before.
        let err = parse(minimal(r#", "sip_headers": "x""#).as_bytes()).unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_deref()),
            (RejectKind::InvalidType, Some("sip_headers"))
        );
    }

    #[test]
    fn values_serde_repeats_are_cut_short_in_the_message() {
        let long = "root:x:0:0:root:/root:/bin/bash ".repeat(10);
        let text = format!(r#"{{"id": "{long}", "created_at": "2026-01-01T00:00:00Z"}}"#);
        let err = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_deref()),
            (RejectKind::InvalidType, Some("id"))
        );
        assert_eq!(
            err.detail,
            format!("invalid type: string \"{}…\", expected i64", &long[..39])
        );
        assert!(err.message().chars().count() < 120, "{}", err.message());
        // A duplicate map key is named whole in the field, cut in the words.
        let key = "k".repeat(100);
        let text = minimal(&format!(r#", "sip_headers": {{"{key}": 1, "{key}": 2}}"#));
        let err = parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.field, Some(format!("sip_headers.{key}")));
        assert_eq!(err.detail, format!("duplicate field `{}…`", "k".repeat(39)));
    }

    #[test]
    fn line_column_counts_bytes_like_serde_json() {
        assert_eq!(line_column("ab\ncé\nx".as_bytes(), 7), (3, 1));
        // `é` is two bytes: `x` is at byte column 4, as serde_json would say.
        assert_eq!(line_column("ab\ncéx".as_bytes(), 6), (2, 4));
    }
}
