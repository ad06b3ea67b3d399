//! Timestamps: RFC 3339 text with any offset → UTC microseconds, keeping the source offset.

use chrono::DateTime;

use crate::shared::reject::quote;
use crate::shared::vocab::Day;

/// The first instant the tables hold, 0001-01-01T00:00:00Z, in microseconds since the epoch.
///
/// Together with [`MAX_MICROS`] this is the range of Spark's `TimestampType` and of a 4-digit
/// `date=YYYY-MM-DD` partition folder: an instant outside it (`9999-12-31T23:30:00-05:00` is
/// year 10000 in UTC) would give a folder like `date=+10000-01-01`, after which readers type
/// the whole `date` column as text.
pub const MIN_MICROS: i64 = -62_135_596_800_000_000;

/// The last instant the tables hold, 9999-12-31T23:59:59.999999Z (see [`MIN_MICROS`]).
pub const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// The longest time between two instants the tables hold, in microseconds: the bound on
/// durations (`normalize::value`).
pub const SPAN_MICROS: i64 = MAX_MICROS - MIN_MICROS;

/// The range, in words, for error messages and docs.
pub const RANGE_TEXT: &str = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z";

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
    /// its instant would depend on a time zone the file does not state. So is an instant
    /// outside [`MIN_MICROS`]`..=`[`MAX_MICROS`] in UTC: every timestamp of a document is read
    /// here, so none the tables cannot hold gets through. (chrono's RFC 3339 parser takes
    /// exactly four year digits, so only an offset, or a leap second, can leave the range.)
    pub fn parse(text: &str) -> Result<Instant, String> {
        let invalid = |why: &str| format!("invalid timestamp {}: {why}", quote(text));
        match DateTime::parse_from_rfc3339(text) {
            Ok(dt) => {
                let micros = dt.timestamp_micros();
                if !(MIN_MICROS..=MAX_MICROS).contains(&micros) {
                    return Err(invalid(&format!(
                        "it is outside the range the tables hold ({RANGE_TEXT} in UTC)"
                    )));
                }
                Ok(Instant {
                    micros,
                    offset_minutes: dt.offset().local_minus_utc() / 60,
                })
            }
            Err(e) => {
                let why = if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .is_ok()
                {
                    "it has no UTC offset (expected `Z` or `±HH:MM`)".to_owned()
                } else {
                    e.to_string()
                };
                Err(invalid(&why))
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

    /// The UTC day this instant falls on (whatever offset it was written in).
    pub fn day(self) -> Day {
        Day::of_unix_micros(self.micros)
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

    #[test]
    fn the_bounds_are_the_first_and_last_microsecond_of_years_1_to_9999() {
        let micros = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().timestamp_micros();
        assert_eq!(MIN_MICROS, micros("0001-01-01T00:00:00Z"));
        assert_eq!(MAX_MICROS, micros("9999-12-31T23:59:59.999999Z"));
        assert_eq!(
            Instant::parse("0001-01-01T00:00:00Z").unwrap().micros,
            MIN_MICROS
        );
        assert_eq!(
            Instant::parse("9999-12-31T23:59:59.999999999Z")
                .unwrap()
                .micros,
            MAX_MICROS
        );
        // In range in UTC although the local text is not in year 1 or 9999 any more.
        assert!(Instant::parse("0001-01-01T00:30:00-01:00").is_ok());
        assert!(Instant::parse("9999-12-31T23:30:00+05:00").is_ok());
        assert_eq!(RANGE_TEXT, {
            let t = |m| chrono::DateTime::from_timestamp_micros(m).unwrap();
            format!(
                "{} to {}",
                t(MIN_MICROS).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                t(MAX_MICROS).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )
        });
    }

    #[test]
    fn instants_outside_years_1_to_9999_in_utc_are_refused() {
        for bad in [
            // Local 9999, UTC 10000: the offset carries it over.
            "9999-12-31T23:30:00-05:00",
            "9999-12-31T23:59:59.999999-00:01",
            // A leap second at the very end lands on 10000-01-01T00:00:00Z.
            "9999-12-31T23:59:60Z",
            // Local year 1, UTC year 0.
            "0001-01-01T00:30:00+01:00",
            // chrono reads year 0 as a date; the tables cannot hold it.
            "0000-06-15T12:00:00Z",
        ] {
            let err = Instant::parse(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
            assert!(
                err.contains(
                    "outside the range the tables hold (0001-01-01T00:00:00Z to \
                              9999-12-31T23:59:59.999999Z in UTC)"
                ),
                "{bad}: {err}"
            );
        }
        // Five-digit and signed years are not RFC 3339: chrono's parser refuses them itself.
        for bad in [
            "10000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "+2026-03-23T20:12:51Z",
            "-0001-01-01T00:00:00Z",
        ] {
            let err = Instant::parse(bad).unwrap_err();
            assert!(err.starts_with("invalid timestamp"), "{bad}: {err}");
            assert!(!err.contains("outside the range"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_long_text_is_not_repeated_whole() {
        let long = format!("2026-03-23T13:12:51Z{}", "x".repeat(500));
        let err = Instant::parse(&long).unwrap_err();
        assert!(err.len() < 150, "{err}");
        assert!(
            err.contains("\"2026-03-23T13:12:51Zxxxxxxxxxxxxxxxxxxx…\""),
            "{err}"
        );
    }
}
