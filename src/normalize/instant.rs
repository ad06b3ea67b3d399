//! Timestamps: RFC 3339 text with any offset → UTC microseconds, keeping the source offset.

use chrono::DateTime;

/// A UTC instant at microsecond precision, with the UTC offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instant {
    /// Microseconds since 1970-01-01T00:00:00Z.
    pub micros: i64,
    /// The offset of the source text, in minutes east of UTC (`-07:00` → `-420`).
    pub offset_minutes: i32,
}

impl Instant {
    /// Parses `2026-03-23T13:12:51.000-07:00`, `2026-03-23T20:12:51Z`, with or without a
    /// fraction. Sub-microsecond digits are truncated. Text without an offset is refused:
    /// its instant would depend on a time zone the file does not state.
    pub fn parse(text: &str) -> Result<Instant, String> {
        match DateTime::parse_from_rfc3339(text) {
            Ok(dt) => Ok(Instant {
                micros: dt.timestamp_micros(),
                offset_minutes: dt.offset().local_minus_utc() / 60,
            }),
            Err(e) => {
                let why = if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .is_ok()
                {
                    "it has no UTC offset (expected `Z` or `±HH:MM`)".to_owned()
                } else {
                    e.to_string()
                };
                Err(format!("invalid timestamp {text:?}: {why}"))
            }
        }
    }

    /// ISO-8601 in UTC with `Z`: `2026-03-23T20:14:37Z`, with a fraction only when there is
    /// one. Instants that parsed always format.
    pub fn to_utc_string(self) -> String {
        chrono::DateTime::from_timestamp_micros(self.micros)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    }

    /// Whole seconds since the epoch (floor), for second-resolution comparisons.
    pub fn unix_seconds(self) -> i64 {
        self.micros.div_euclid(1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_utc_with_z() {
        let t = Instant::parse("2026-03-23T13:14:37.000-07:00").unwrap();
        assert_eq!(t.to_utc_string(), "2026-03-23T20:14:37Z");
        let t = Instant::parse("2026-04-01T16:40:12.654321Z").unwrap();
        assert_eq!(t.to_utc_string(), "2026-04-01T16:40:12.654321Z");
    }

    #[test]
    fn offsets_land_on_the_right_utc_instant() {
        let local = Instant::parse("2026-03-23T13:12:51.000-07:00").unwrap();
        let utc = Instant::parse("2026-03-23T20:12:51Z").unwrap();
        assert_eq!(local.micros, utc.micros);
        assert_eq!(local.offset_minutes, -420);
        assert_eq!(utc.offset_minutes, 0);
        assert_eq!(
            Instant::parse("2026-03-01T23:30:00+05:30")
                .unwrap()
                .offset_minutes,
            330
        );
    }

    #[test]
    fn fractions_keep_microseconds() {
        let t = Instant::parse("2026-04-02T09:15:00.123456789Z").unwrap();
        assert_eq!(t.micros % 1_000_000, 123_456);
        assert_eq!(
            Instant::parse("1969-12-31T23:59:59.5Z")
                .unwrap()
                .unix_seconds(),
            -1
        );
    }

    #[test]
    fn impossible_or_ambiguous_text_is_refused() {
        for bad in [
            "2026-02-30T13:12:51.000-07:00",
            "2026-03-23T25:00:00Z",
            "2026-03-23T13:12:51.000",
            "",
            "yesterday",
        ] {
            let err = Instant::parse(bad).unwrap_err();
            assert!(err.starts_with("invalid timestamp"), "{bad}: {err}");
        }
        assert!(Instant::parse("2026-03-23T13:12:51.000")
            .unwrap_err()
            .contains("no UTC offset"));
    }
}
