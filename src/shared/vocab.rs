//! The vocabulary every stage shares: what identifies a session, a file's key, a UTC day,
//! call or chat, how an input file is stored.
//!
//! These types are named by several stages (the pre-scan keys files by [`SessionKey`], the
//! incremental state records each file's [`FileKey`] and [`Day`], `write` partitions by
//! [`Day`] and carries rows over by [`SessionKey`], the report counts by [`SessionKind`]).
//! Living in one of those stages, they made every other one depend on its internals; here,
//! below the stages, each stage depends on this module and never on another stage for them.
//!
//! What belongs here: plain keys and values with no behaviour beyond their spelling and
//! arithmetic. How they are *decided* stays with the stage that decides: the kind evidence
//! in `normalize::kind`, a file's key in `select::prescan`, the partition folder of a day in
//! `write::partition`. This module depends on no other module of the crate.

use std::fmt;

/// The two kinds of session the platform exports. Ids are unique per kind only: call 135
/// and chat 135 are different sessions, so every table keys sessions by `(kind, session_id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionKind {
    /// A voice session.
    Call,
    /// A messaging session (web, mobile, SMS, WhatsApp...).
    Chat,
}

impl SessionKind {
    /// `call` or `chat`, as written to the `kind` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Call => "call",
            SessionKind::Chat => "chat",
        }
    }

    /// The kind written as `name` in a `kind` column, the inverse of [`SessionKind::as_str`].
    pub fn from_name(name: &str) -> Option<SessionKind> {
        match name {
            "call" => Some(SessionKind::Call),
            "chat" => Some(SessionKind::Chat),
            _ => None,
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of a session across exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// Call or chat.
    pub kind: SessionKind,
    /// The platform id.
    pub id: i64,
}

/// What the pre-scan learns of one file: its session and `updated_at` (microseconds), or
/// `None` when the file has no readable key (the full parse then says precisely why).
pub type FileKey = Option<(SessionKey, Option<i64>)>;

/// A UTC calendar day, counted in days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Day {
    /// The UTC day of the instant `micros` microseconds after 1970-01-01T00:00:00Z.
    pub const fn of_unix_micros(micros: i64) -> Day {
        let days = micros.div_euclid(MICROS_PER_DAY);
        Day(if days < i32::MIN as i64 {
            i32::MIN
        } else if days > i32::MAX as i64 {
            i32::MAX
        } else {
            days as i32
        })
    }

    /// The day `days` days after 1970-01-01 (Arrow's `Date32`).
    pub const fn from_days_since_epoch(days: i32) -> Day {
        Day(days)
    }

    /// Days since 1970-01-01 (Arrow's `Date32`).
    pub const fn days_since_epoch(self) -> i32 {
        self.0
    }
}

/// Whether an input file is plain JSON or gzip-compressed JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `*.json`
    None,
    /// `*.json.gz`
    Gzip,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_utc_midnight() {
        assert_eq!(Day::of_unix_micros(0).days_since_epoch(), 0);
        assert_eq!(
            Day::of_unix_micros(MICROS_PER_DAY - 1).days_since_epoch(),
            0
        );
        assert_eq!(Day::of_unix_micros(MICROS_PER_DAY).days_since_epoch(), 1);
        assert_eq!(Day::of_unix_micros(-1).days_since_epoch(), -1);
        assert_eq!(
            Day::of_unix_micros(i64::MIN).days_since_epoch(),
            -106_751_992
        );
    }

    #[test]
    fn kinds_read_back_as_written() {
        for kind in [SessionKind::Call, SessionKind::Chat] {
            assert_eq!(SessionKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(SessionKind::from_name("Call"), None);
    }
}
