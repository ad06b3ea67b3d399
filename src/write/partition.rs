//! Hive-style date partitions. Rows of the session tables go to `<table>/date=YYYY-MM-DD/` by
//! their session's UTC creation day, so query engines skip whole folders on a date filter,
//! and every table of one session lands under the same date (joins stay within a partition).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::normalize::instant;
use crate::shared::vocab::Day;

/// How the session tables are laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionBy {
    /// `<table>/date=YYYY-MM-DD/<run>-<n>.parquet` (default): the session's UTC creation day.
    #[default]
    Date,
    /// `<table>/<run>-<n>.parquet`: one flat folder per table.
    None,
}

impl std::fmt::Display for PartitionBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PartitionBy::Date => "date",
            PartitionBy::None => "none",
        })
    }
}

impl std::str::FromStr for PartitionBy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<PartitionBy, String> {
        match s.to_ascii_lowercase().as_str() {
            "date" => Ok(PartitionBy::Date),
            "none" => Ok(PartitionBy::None),
            other => Err(format!(
                "unknown partitioning {other:?} (expected date or none)"
            )),
        }
    }
}

/// The name of the partition key in folder names (`date=2026-02-01`). No table has a column
/// of that name, so readers can add it as a column without a clash.
pub const PARTITION_KEY: &str = "date";

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The first and last day an instant the tables hold can fall on: 0001-01-01, 9999-12-31.
const FIRST_DAY: Day = Day::of_unix_micros(instant::MIN_MICROS);
const LAST_DAY: Day = Day::of_unix_micros(instant::MAX_MICROS);

/// The day of a partition folder name (`date=YYYY-MM-DD`), the inverse of [`folder`].
pub fn day_of_folder(name: &str) -> Option<Day> {
    let date = name.strip_prefix(PARTITION_KEY)?.strip_prefix('=')?;
    use chrono::Datelike;
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(Day::from_days_since_epoch(
        date.num_days_from_ce().checked_sub(EPOCH_DAYS_FROM_CE)?,
    ))
}

/// The partition folder of `day`: `date=YYYY-MM-DD`, always with four year digits.
pub fn folder(day: Day) -> String {
    let date = Some(day)
        .filter(|day| (FIRST_DAY..=LAST_DAY).contains(day))
        .and_then(|day| day.days_since_epoch().checked_add(EPOCH_DAYS_FROM_CE))
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt);
    match date {
        Some(date) => format!("{PARTITION_KEY}={}", date.format("%Y-%m-%d")),
        // Outside years 1-9999 (`date=+10000-01-01` would make readers type `date` as
        // text): parsed instants never are (`Instant::parse` bounds them), but a day read
        // back from elsewhere could be, and a folder name must exist.
        None => format!("{PARTITION_KEY}=__HIVE_DEFAULT_PARTITION__"),
    }
}

/// Which rows of a batch belong to which day, as consecutive runs in row order. Sessions
/// arrive in path order, which in dated export folders is nearly date order, so a chunk of
/// files usually has one or two runs per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayRuns {
    /// `(day, end)`: rows from the previous run's end up to `end` (exclusive) are of `day`.
    runs: Vec<(Day, usize)>,
}

impl DayRuns {
    /// Records that every row up to `end` not yet accounted for belongs to `day`.
    pub fn extend_to(&mut self, day: Day, end: usize) {
        match self.runs.last_mut() {
            // No new rows (a session with nothing for this table): no run, not even an empty one.
            Some((_, last_end)) if *last_end >= end => {}
            None if end == 0 => {}
            Some((last_day, last_end)) if *last_day == day => *last_end = end,
            _ => self.runs.push((day, end)),
        }
    }

    /// Rows accounted for.
    pub fn rows(&self) -> usize {
        self.runs.last().map_or(0, |&(_, end)| end)
    }

    /// The row ranges of each day, days in order, ranges in row order.
    pub fn by_day(&self) -> BTreeMap<Day, Vec<Range<usize>>> {
        let mut days: BTreeMap<Day, Vec<Range<usize>>> = BTreeMap::new();
        let mut start = 0;
        for &(day, end) in &self.runs {
            days.entry(day).or_default().push(start..end);
            start = end;
        }
        days
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Instant;

    fn at(rfc3339: &str) -> Instant {
        let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
        Instant {
            micros: t.timestamp_micros(),
            offset_minutes: 0,
        }
    }

    #[test]
    fn the_day_is_the_utc_day() {
        // 23:30 at -07:00 is 06:30 UTC the next day.
        assert_eq!(
            folder(at("2026-02-01T23:30:00-07:00").day()),
            "date=2026-02-02"
        );
        assert_eq!(
            folder(at("1969-12-31T23:59:59.999999Z").day()),
            "date=1969-12-31"
        );
        assert_eq!(folder(at("1970-01-01T00:00:00Z").day()), "date=1970-01-01");
        let day = at("2026-02-01T23:30:00-07:00").day();
        assert_eq!(day_of_folder(&folder(day)), Some(day));
        // The first and last day of the range instants are bounded to, and a step beyond.
        assert_eq!(folder(at("0001-01-01T00:00:00Z").day()), "date=0001-01-01");
        assert_eq!(
            folder(at("9999-12-31T23:59:59.999999Z").day()),
            "date=9999-12-31"
        );
        for beyond in [
            Day::from_days_since_epoch(FIRST_DAY.days_since_epoch() - 1),
            Day::from_days_since_epoch(LAST_DAY.days_since_epoch() + 1),
            Day::from_days_since_epoch(i32::MIN),
            Day::from_days_since_epoch(i32::MAX),
        ] {
            assert_eq!(folder(beyond), "date=__HIVE_DEFAULT_PARTITION__");
        }
        assert_eq!(day_of_folder("date=2026-13-01"), None);
        assert_eq!(day_of_folder("2026-02-01"), None);
    }

    #[test]
    fn runs_group_rows_by_day_in_row_order() {
        let (a, b) = (Day::from_days_since_epoch(1), Day::from_days_since_epoch(2));
        let mut runs = DayRuns::default();
        runs.extend_to(b, 0); // the chunk's first session has no row here
        runs.extend_to(a, 3);
        runs.extend_to(a, 5);
        runs.extend_to(b, 5); // a session with no rows in this table
        runs.extend_to(b, 6);
        runs.extend_to(a, 8);
        let by_day = runs.by_day();
        assert_eq!(by_day[&a], vec![0..5, 6..8]);
        assert_eq!(by_day[&b], vec![5..6]);
        assert_eq!(by_day.len(), 2);
        assert_eq!(runs.rows(), 8);
    }

    #[test]
    fn no_table_has_a_column_named_like_the_partition_key() {
        for (table, _, columns) in crate::write::catalog() {
            assert!(columns.iter().all(|c| c.name != PARTITION_KEY), "{table}");
        }
    }

    #[test]
    fn partitioning_parses_case_insensitively() {
        assert_eq!("DATE".parse::<PartitionBy>(), Ok(PartitionBy::Date));
        assert_eq!("none".parse::<PartitionBy>(), Ok(PartitionBy::None));
        assert!("month".parse::<PartitionBy>().is_err());
    }
}
