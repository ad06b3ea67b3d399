//! Why a file was not turned into a session: the row shape of the `rejects` table.
//!
//! Every stage that can refuse a file (reading, JSON parsing, normalization) reports a
//! [`FileError`]; the runner adds the path and sends it to the `rejects` table. Kinds are
//! stable strings so that dashboards and alerts can group on them.

use std::fmt;

/// A stable classification of a rejected file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    /// The file could not be read (permissions, vanished, I/O error, corrupt gzip stream).
    Unreadable,
    /// The file is larger than `max_file_bytes` (after decompression for `.gz`).
    FileTooLarge,
    /// Zero bytes, or only whitespace.
    EmptyFile,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// The JSON ends before the document is complete (an interrupted upload).
    TruncatedJson,
    /// A JSON syntax error.
    MalformedJson,
    /// Valid JSON whose top level is not an object.
    NotAnObject,
    /// A required key is absent (`id`, `created_at`).
    MissingField,
    /// A key holds a value of the wrong JSON type.
    InvalidType,
    /// A timestamp that is not an RFC 3339 instant with an offset, or names an impossible date.
    InvalidTimestamp,
    /// A duration that is negative or not a number.
    InvalidDuration,
    /// The same key appears twice in one object.
    DuplicateField,
    /// Neither the document nor the file name says whether it is a call or a chat.
    UnknownKind,
    /// The file was rewritten while the run read it, twice: it holds another session each
    /// time it is read.
    ChangedDuringRun,
}

impl RejectKind {
    /// Every kind, in a stable order (for summaries and docs).
    pub const ALL: [RejectKind; 14] = [
        RejectKind::Unreadable,
        RejectKind::FileTooLarge,
        RejectKind::EmptyFile,
        RejectKind::InvalidUtf8,
        RejectKind::TruncatedJson,
        RejectKind::MalformedJson,
        RejectKind::NotAnObject,
        RejectKind::MissingField,
        RejectKind::InvalidType,
        RejectKind::InvalidTimestamp,
        RejectKind::InvalidDuration,
        RejectKind::DuplicateField,
        RejectKind::UnknownKind,
        RejectKind::ChangedDuringRun,
    ];

    /// The `error_kind` value written to the `rejects` table.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::Unreadable => "unreadable",
            RejectKind::FileTooLarge => "file_too_large",
            RejectKind::EmptyFile => "empty_file",
            RejectKind::InvalidUtf8 => "invalid_utf8",
            RejectKind::TruncatedJson => "truncated_json",
            RejectKind::MalformedJson => "malformed_json",
            RejectKind::NotAnObject => "not_an_object",
            RejectKind::MissingField => "missing_field",
            RejectKind::InvalidType => "invalid_type",
            RejectKind::InvalidTimestamp => "invalid_timestamp",
            RejectKind::InvalidDuration => "invalid_duration",
            RejectKind::DuplicateField => "duplicate_field",
            RejectKind::UnknownKind => "unknown_kind",
            RejectKind::ChangedDuringRun => "changed_during_run",
        }
    }
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
