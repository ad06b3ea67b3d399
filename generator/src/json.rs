//! An ordered JSON tree and its writer.
//!
//! Real exports have a fixed key order (and the bad-file kinds need duplicate keys), which
//! `serde_json::Value` cannot express without the `preserve_order` feature, so documents are
//! built as a [`V`] tree and written by hand: 2-space pretty printing byte-identical to
//! `serde_json::to_string_pretty`, or compact. Timestamps stay numbers until they are written.

use std::borrow::Cow;
use std::fmt::Write;

/// A JSON value whose objects keep insertion order and may repeat keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A non-negative amount in hundredths, written with two decimals (`2.94`).
    Cents(i64),
    /// A string.
    Str(Cow<'static, str>),
    /// A local timestamp: UTC seconds and the offset in minutes, written like the platform
    /// does: `"2026-03-23T13:12:51.000-07:00"` (`Z` for offset 0).
    Local(i64, i32),
    /// A UTC instant in milliseconds, written `"2026-03-23T20:15:35.473Z"`.
    UtcMs(i64),
    /// An array.
    Arr(Vec<V>),
    /// An object.
    Obj(Vec<(&'static str, V)>),
}

impl V {
    /// The first value under `key`, if this is an object holding it.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Obj(pairs) => pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Mutable access to the first value under `key`.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        match self {
            V::Obj(pairs) => pairs.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Replaces the value under `key` (keeping its position); false if the key is absent.
    pub(crate) fn set(&mut self, key: &str, value: V) -> bool {
        match self.get_mut(key) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Removes every entry under `key`; returns how many were removed.
    pub(crate) fn remove(&mut self, key: &str) -> usize {
        match self {
            V::Obj(pairs) => {
                let before = pairs.len();
                pairs.retain(|(k, _)| *k != key);
                before - pairs.len()
            }
            _ => 0,
        }
    }

    /// Inserts `key: value` right after the first entry named `after` (at the end if absent).
    pub(crate) fn insert_after(&mut self, after: &str, key: &'static str, value: V) {
        if let V::Obj(pairs) = self {
            let at = pairs
                .iter()
                .position(|(k, _)| *k == after)
                .map_or(pairs.len(), |i| i + 1);
            pairs.insert(at, (key, value));
        }
    }

    /// The items of an array (empty for anything else).
    pub(crate) fn items(&self) -> &[V] {
        match self {
            V::Arr(items) => items,
            _ => &[],
        }
    }

    /// The number of entries of an object (0 for anything else, `null` included).
    pub(crate) fn entries(&self) -> usize {
        match self {
            V::Obj(pairs) => pairs.len(),
            _ => 0,
        }
    }

    /// The length of the array under `key` (0 when absent or not an array).
    pub(crate) fn len_of(&self, key: &str) -> usize {
        self.get(key).map_or(0, |v| v.items().len())
    }

    /// The text of a string value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Builds a [`V::Obj`] from `"key" => value` pairs, in order.
macro_rules! obj {
    ($($key:expr => $value:expr),* $(,)?) => {
        $crate::json::V::Obj(vec![$(($key, $value)),*])
    };
}
pub(crate) use obj;

/// A borrowed string value.
pub(crate) fn s(text: &'static str) -> V {
    V::Str(Cow::Borrowed(text))
}

/// An owned string value.
pub(crate) fn string(text: String) -> V {
    V::Str(Cow::Owned(text))
}

/// An integer or `null`.
pub(crate) fn opt_int(value: Option<i64>) -> V {
    value.map_or(V::Null, V::Int)
}

/// A local timestamp or `null`.
pub(crate) fn opt_ts(value: Option<i64>, offset_minutes: i32) -> V {
    value.map_or(V::Null, |t| V::Local(t, offset_minutes))
}

/// Writes `value` to `out`: pretty (2-space indent, `"key": value`) or compact.
pub(crate) fn write(value: &V, pretty: bool, out: &mut String) {
    write_value(value, pretty, 0, out);
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_value(value: &V, pretty: bool, depth: usize, out: &mut String) {
    match value {
        V::Null => out.push_str("null"),
        V::Bool(true) => out.push_str("true"),
        V::Bool(false) => out.push_str("false"),
        V::Int(n) => {
            let _ = write!(out, "{n}");
        }
        V::Cents(c) => {
            let _ = write!(out, "{}.{:02}", c / 100, (c % 100).abs());
        }
        V::Str(text) => write_str(text, out),
        V::Local(secs, offset) => {
            out.push('"');
            write_local(*secs, *offset, out);
            out.push('"');
        }
        V::UtcMs(ms) => {
            out.push('"');
            write_utc_ms(*ms, out);
            out.push('"');
        }
        V::Arr(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    newline(out, depth + 1);
                }
                write_value(item, pretty, depth + 1, out);
            }
            if pretty {
                newline(out, depth);
            }
            out.push(']');
        }
        V::Obj(pairs) => {
            if pairs.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    newline(out, depth + 1);
                }
                write_str(key, out);
                out.push_str(if pretty { ": " } else { ":" });
                write_value(item, pretty, depth + 1, out);
            }
            if pretty {
                newline(out, depth);
            }
            out.push('}');
        }
    }
}

fn write_str(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS` of the given (already shifted) seconds.
fn write_date_time(secs: i64, out: &mut String) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

/// `±HH:MM`, or `Z` for offset 0.
pub(crate) fn write_offset(offset_minutes: i32, out: &mut String) {
    if offset_minutes == 0 {
        out.push('Z');
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.abs();
        let _ = write!(out, "{sign}{:02}:{:02}", abs / 60, abs % 60);
    }
}

/// `2026-03-23T13:12:51.000-07:00`: the instant `secs` (UTC) in local time at `offset_minutes`.
pub(crate) fn write_local(secs: i64, offset_minutes: i32, out: &mut String) {
    write_date_time(secs + i64::from(offset_minutes) * 60, out);
    out.push_str(".000");
    write_offset(offset_minutes, out);
}

/// `2026-03-23T20:15:35.473Z`.
fn write_utc_ms(ms: i64, out: &mut String) {
    write_date_time(ms.div_euclid(1000), out);
    let _ = write!(out, ".{:03}Z", ms.rem_euclid(1000));
}

/// `2026-03-23T20:12:51Z`: an instant in UTC, second precision (truth file).
pub fn utc_seconds(secs: i64) -> String {
    let mut out = String::with_capacity(20);
    write_date_time(secs, &mut out);
    out.push('Z');
    out
}

/// The local calendar date of `secs` at `offset_minutes`, in days since the epoch.
pub(crate) fn local_day(secs: i64, offset_minutes: i32) -> i64 {
    (secs + i64::from(offset_minutes) * 60).div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_output_matches_serde_json() {
        let doc = obj! {
            "id" => V::Int(1418),
            "name" => s("Zoë \"quoted\"\n"),
            "empty" => V::Arr(vec![]),
            "none" => V::Obj(vec![]),
            "nested" => V::Arr(vec![obj! { "a" => V::Null, "b" => V::Bool(true) }, V::Int(2)]),
            "ratio" => V::Cents(294),
        };
        let mut ours = String::new();
        write(&doc, true, &mut ours);
        let parsed: serde_json::Value = serde_json::from_str(&ours).unwrap();
        // serde_json sorts keys without preserve_order, so compare the layout on a sorted doc.
        let mut sorted = String::new();
        let mut pairs = match doc {
            V::Obj(p) => p,
            _ => unreachable!(),
        };
        pairs.sort_by_key(|(k, _)| *k);
        write(&V::Obj(pairs), true, &mut sorted);
        assert_eq!(sorted, serde_json::to_string_pretty(&parsed).unwrap());
        let mut compact = String::new();
        write(
            &V::Obj(vec![("a", V::Arr(vec![V::Int(1)]))]),
            false,
            &mut compact,
        );
        assert_eq!(compact, r#"{"a":[1]}"#);
    }

    #[test]
    fn timestamps_are_written_like_the_platform() {
        // 2026-03-23T20:12:51Z
        let secs = days_from_civil(2026, 3, 23) * 86_400 + 20 * 3600 + 12 * 60 + 51;
        let mut out = String::new();
        write_local(secs, -420, &mut out);
        assert_eq!(out, "2026-03-23T13:12:51.000-07:00");
        out.clear();
        write_local(secs, 330, &mut out);
        assert_eq!(out, "2026-03-24T01:42:51.000+05:30");
        out.clear();
        write_local(secs, 0, &mut out);
        assert_eq!(out, "2026-03-23T20:12:51.000Z");
        out.clear();
        write_utc_ms(secs * 1000 + 473, &mut out);
        assert_eq!(out, "2026-03-23T20:12:51.473Z");
        assert_eq!(utc_seconds(secs), "2026-03-23T20:12:51Z");
        for days in [-1000, 0, 59, 20_000, 20_535] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
