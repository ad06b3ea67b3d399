//! Why a file was not turned into a session: the row shape of the `rejects` table.
//!
//! Every stage that can refuse a file (reading, JSON parsing, normalization) reports a
//! [`FileError`]; the runner adds the path and sends it to the `rejects` table. Kinds are
//! stable strings so that dashboards and alerts can group on them.

use std::fmt;

/// Declares the reject kinds once: the enum, [`RejectKind::ALL`] and the stable
/// `error_kind` strings all come from one list, so a new kind is one line.
macro_rules! reject_kinds {
    ($($(#[doc = $doc:literal])+ $kind:ident => $name:literal,)+) => {
        /// A stable classification of a rejected file.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RejectKind {
            $($(#[doc = $doc])+ $kind,)+
        }

        impl RejectKind {
            /// Every kind, in a stable order (for summaries and docs).
            pub const ALL: &'static [RejectKind] = &[$(RejectKind::$kind),+];

            /// The `error_kind` value written to the `rejects` table.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RejectKind::$kind => $name,)+
                }
            }
        }
    };
}

reject_kinds! {
    /// The file could not be read (permissions, vanished, I/O error, corrupt gzip stream).
    Unreadable => "unreadable",
    /// The file is larger than `max_file_bytes` (after decompression for `.gz`).
    FileTooLarge => "file_too_large",
    /// Zero bytes, or only whitespace.
    EmptyFile => "empty_file",
    /// Bytes that are not UTF-8.
    InvalidUtf8 => "invalid_utf8",
    /// The JSON ends before the document is complete (an interrupted upload).
    TruncatedJson => "truncated_json",
    /// A JSON syntax error.
    MalformedJson => "malformed_json",
    /// Valid JSON whose top level is not an object.
    NotAnObject => "not_an_object",
    /// A required key is absent (`id`, `created_at`).
    MissingField => "missing_field",
    /// A key holds a value of the wrong JSON type.
    InvalidType => "invalid_type",
    /// A timestamp that is not an RFC 3339 instant with an offset, or names an impossible date.
    InvalidTimestamp => "invalid_timestamp",
    /// A duration that is negative or not a number.
    InvalidDuration => "invalid_duration",
    /// The same key appears twice in one object.
    DuplicateField => "duplicate_field",
    /// Neither the document nor the file name says whether it is a call or a chat.
    UnknownKind => "unknown_kind",
    /// The file was rewritten while the run read it, twice: it holds another session each
    /// time it is read.
    ChangedDuringRun => "changed_during_run",
    /// A bucket object that was listed is gone when read (HTTP 404): deleted under the run.
    ObjectNotFound => "object_not_found",
    /// The credentials may list a bucket object but not read it (HTTP 401/403).
    ObjectForbidden => "object_forbidden",
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with one file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The classification.
    pub kind: RejectKind,
    /// JSON path of the offending value (`participants[1].call_duration`), when known.
    pub field: Option<String>,
    /// 1-based line of the problem in the JSON text, when known.
    pub line: Option<u64>,
    /// 1-based column of the problem in the JSON text, when known.
    pub column: Option<u64>,
    /// The problem in words, without the field and position.
    pub detail: String,
}

impl FileError {
    /// An error about the file as a whole.
    pub fn file(kind: RejectKind, detail: impl Into<String>) -> Self {
        FileError {
            kind,
            field: None,
            line: None,
            column: None,
            detail: detail.into(),
        }
    }

    /// An error about one field.
    pub fn field(kind: RejectKind, field: impl Into<String>, detail: impl Into<String>) -> Self {
        FileError {
            kind,
            field: Some(field.into()),
            line: None,
            column: None,
            detail: detail.into(),
        }
    }

    /// Attaches a position in the JSON text.
    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// The full message for the `rejects.message` column: field, problem and position.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.detail)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// The most characters of a quoted value a message repeats: a file read by mistake (a log, a
/// password file) must not have its contents copied into `rejects.message`.
pub const MAX_QUOTED_CHARS: usize = 40;

/// `value` quoted as Rust's `{:?}` quotes it (`"a \"b\""`), cut as [`shorten_quoted`] cuts.
pub fn quote(value: &str) -> String {
    shorten_quoted(&format!("{value:?}"))
}

/// `text` with every quoted part shortened: the content of each `"..."` (Rust `{:?}` escapes,
/// so `\"` does not end it) and each `` `...` `` longer than [`MAX_QUOTED_CHARS`] characters is
/// cut to at most that many, the last being `…`. An escape sequence counts as its characters
/// and is never cut in half. Text outside quotes is kept as it is.
pub fn shorten_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(256));
    let mut rest = text;
    while let Some(open) = rest.find(['"', '`']) {
        out.push_str(&rest[..open]);
        let quote = &rest[open..open + 1];
        let body = &rest[open + 1..];
        let (pieces, close) = if quote == "\"" {
            escaped_pieces(body)
        } else {
            let end = body.find('`');
            let content = &body[..end.unwrap_or(body.len())];
            (
                content
                    .char_indices()
                    .map(|(i, c)| &content[i..i + c.len_utf8()])
                    .collect(),
                end,
            )
        };
        out.push_str(quote);
        let width: usize = pieces.iter().map(|p| p.chars().count()).sum();
        if width <= MAX_QUOTED_CHARS {
            pieces.iter().for_each(|p| out.push_str(p));
        } else {
            let mut kept = 0;
            for piece in &pieces {
                let w = piece.chars().count();
                if kept + w > MAX_QUOTED_CHARS - 1 {
                    break;
                }
                out.push_str(piece);
                kept += w;
            }
            out.push('…');
        }
        match close {
            Some(close) => {
                out.push_str(quote);
                rest = &body[close + 1..];
            }
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// The characters and escape sequences (`\"`, `\\`, `\n`, `\u{202e}`) of a `{:?}`-quoted
/// string up to its closing quote, and the offset of that quote in `body` (`None`: unclosed).
fn escaped_pieces(body: &str) -> (Vec<&str>, Option<usize>) {
    let mut pieces = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '"' => return (pieces, Some(start)),
            '\\' => {
                let mut end = start + 1;
                if let Some((i, next)) = chars.next() {
                    end = i + next.len_utf8();
                    if next == 'u' && chars.peek().is_some_and(|&(_, b)| b == '{') {
                        for (i, d) in chars.by_ref() {
                            end = i + d.len_utf8();
                            if d == '}' {
                                break;
                            }
                        }
                    }
                }
                pieces.push(&body[start..end]);
            }
            _ => pieces.push(&body[start..start + c.len_utf8()]),
        }
    }
    (pieces, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote("2026-02-30T13:12:51Z"), "\"2026-02-30T13:12:51Z\"");
        assert_eq!(quote("say \"hi\""), r#""say \"hi\"""#);
        let forty = "x".repeat(MAX_QUOTED_CHARS);
        assert_eq!(quote(&forty), format!("\"{forty}\""));
    }

    #[test]
    fn long_values_are_cut_to_forty_characters_with_an_ellipsis() {
        let line =
            "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin";
        let quoted = quote(line);
        let content = quoted.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
        assert_eq!(content.chars().count(), MAX_QUOTED_CHARS);
        assert!(content.ends_with('…'), "{quoted}");
        assert!(
            content.starts_with("root:x:0:0:root:/root:/bin/bash\\n"),
            "{quoted}"
        );
        assert!(!quoted.contains("daemon:/usr"), "{quoted}");
        // Multi-byte characters count as one and are never split.
        let quoted = quote(&"é".repeat(100));
        assert_eq!(quoted, format!("\"{}…\"", "é".repeat(39)));
    }

    #[test]
    fn escapes_are_never_cut_in_half() {
        // 38 plain characters, then an escape that does not fit before the ellipsis.
        let value = format!("{}\u{202e}tail-tail-tail", "a".repeat(38));
        let quoted = quote(&value);
        assert_eq!(quoted, format!("\"{}…\"", "a".repeat(38)));
        let value = format!("{}\"quoted\" and more text to cut", "b".repeat(30));
        let quoted = quote(&value);
        assert_eq!(quoted, format!("\"{}\\\"quoted…\"", "b".repeat(30)));
    }

    #[test]
    fn every_quoted_part_of_a_serde_message_is_shortened() {
        let long = "p".repeat(300);
        let serde = format!("invalid type: string {long:?}, expected i64");
        assert_eq!(
            shorten_quoted(&serde),
            format!("invalid type: string \"{}…\", expected i64", "p".repeat(39))
        );
        // `\"` inside the string does not end it: the text after it is cut, not kept.
        let serde = format!(
            "invalid type: string {:?}, expected a string",
            format!("a\"b{}", "c".repeat(100))
        );
        let short = shorten_quoted(&serde);
        assert!(
            short.ends_with(&format!("a\\\"b{}…\", expected a string", "c".repeat(35))),
            "{short}"
        );
        // Backticks too (serde quotes numbers so: `1e300` is written out in 301 digits).
        let number = format!("{}.0", "1".repeat(301));
        let serde = format!("invalid type: floating point `{number}`, expected i64");
        assert_eq!(
            shorten_quoted(&serde),
            format!(
                "invalid type: floating point `{}…`, expected i64",
                "1".repeat(39)
            )
        );
        // Short quoted parts, and text with no quotes, are untouched.
        for text in [
            "missing field `created_at`",
            "invalid type: string \"abc\", expected i64",
            "expected `,` or `}`",
            "no quotes at all",
        ] {
            assert_eq!(shorten_quoted(text), text);
        }
        // An unclosed quote is shortened up to the end.
        let short = shorten_quoted(&format!("bad \"{}", "z".repeat(50)));
        assert_eq!(short, format!("bad \"{}…", "z".repeat(39)));
    }
}
