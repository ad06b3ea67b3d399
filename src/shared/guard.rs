//! Guards: the checks that stop a run from publishing a night that is obviously broken.
//!
//! A nightly job runs unattended; when the landing folder is empty, mis-mounted or
//! unreadable, or the export format changed so that every file is rejected, the tables it
//! would publish are not "a quiet night", they are yesterday's analytics destroyed. So each
//! such condition stops the run before publication (exit 3, the previous output untouched),
//! says which guard fired, and names the flag and pipeline key that switch it off for a night
//! that really is like that. Every guard is declared here, once: its name, what it checks and
//! how to override it.

use std::fmt;

/// One guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// No session file under the inputs at all.
    NoInput,
    /// A folder under the inputs (or an input root) could not be read: files it holds would
    /// silently be missing from the output.
    UnreadableInput,
    /// More than `max_reject_rate` of the files were rejected (every file, at worst).
    RejectRate,
    /// Files were read but not one session came out of them.
    NoSessions,
    /// The new output holds far fewer sessions than the output it replaces.
    Shrink,
}

impl Guard {
    /// The guard's name, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Guard::NoInput => "no_input",
            Guard::UnreadableInput => "unreadable_input",
            Guard::RejectRate => "reject_rate",
            Guard::NoSessions => "no_sessions",
            Guard::Shrink => "shrink",
        }
    }

    /// How to switch the guard off, as flag and pipeline key.
    pub fn override_hint(self) -> &'static str {
        match self {
            Guard::NoInput | Guard::NoSessions => {
                "--allow-empty (pipeline key `guards.allow_empty = true`)"
            }
            Guard::UnreadableInput => "--allow-unreadable (pipeline key `guards.allow_unreadable = true`)",
            Guard::RejectRate => {
                "a higher --max-reject-rate (pipeline key `guards.max_reject_rate`, 1 allows any)"
            }
            Guard::Shrink => {
                "--allow-shrink, or a higher --max-shrink (pipeline key `guards.max_shrink`, 1 allows any)"
            }
        }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A guard that fired, and what it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    /// Which guard.
    pub guard: Guard,
    /// What it saw, in words (`no session file under the inputs`).
    pub reason: String,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the `{}` guard stopped the run: {}; nothing was published and the previous output \
             is unchanged. If this night is really like that, rerun with {}",
            self.guard,
            self.reason,
            self.guard.override_hint()
        )
    }
}

/// The guard settings of a run (declared, with their defaults, in `settings`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guards {
    /// Stop when more than this fraction of the files is rejected (0–1).
    pub max_reject_rate: f64,
    /// Publish a night without session files or without sessions.
    pub allow_empty: bool,
    /// Publish although a folder under the inputs could not be read.
    pub allow_unreadable: bool,
    /// Stop when the output would hold more than this fraction fewer sessions than the output
    /// it replaces (0–1; 1 allows any shrink).
    pub max_shrink: f64,
}

/// What the guards look at once the walk is done.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    /// Session files found.
    pub files: u64,
    /// The first folder that could not be read, with the error, if any.
    pub unreadable: Option<&'a str>,
    /// How many folders could not be read.
    pub unreadable_count: u64,
}

/// What the guards look at once the tables are complete.
#[derive(Debug, Clone, Copy)]
pub struct Result {
    /// Files this run was responsible for (this shard's, for a shard).
    pub files: u64,
    /// Rejected files counted against `max_reject_rate`.
    pub rejected: u64,
    /// Sessions in the new output.
    pub sessions: u64,
    /// Sessions in the output being replaced, when there is one.
    pub previous_sessions: Option<u64>,
}

impl Guards {
    /// The guards that can decide from the file list alone, before any file is read.
    pub fn check_listing(&self, listed: Listed<'_>) -> std::result::Result<(), Stopped> {
        if let (Some(first), false) = (listed.unreadable, self.allow_unreadable) {
            return Err(Stopped {
                guard: Guard::UnreadableInput,
                reason: format!(
                    "{} folder(s) under the inputs could not be read, the first: {first}; the \
                     files inside would be missing from the output",
                    listed.unreadable_count
                ),
            });
        }
        if listed.files == 0 && !self.allow_empty {
            return Err(Stopped {
                guard: Guard::NoInput,
                reason: "no session file (*.json, *.json.gz) under the inputs: an empty or \
                         unmounted landing folder?"
                    .into(),
            });
        }
        Ok(())
    }

    /// The guards that decide on the finished tables.
    pub fn check_result(&self, result: Result) -> std::result::Result<(), Stopped> {
        let rate = if result.files == 0 {
            0.0
        } else {
            result.rejected as f64 / result.files as f64
        };
        if rate > self.max_reject_rate {
            return Err(Stopped {
                guard: Guard::RejectRate,
                reason: format!(
                    "{} of {} files were rejected ({:.2}%), above max_reject_rate {:.2}%: has \
                     the export format changed?",
                    result.rejected,
                    result.files,
                    rate * 100.0,
                    self.max_reject_rate * 100.0
                ),
            });
        }
        if result.sessions == 0 && result.files > 0 && !self.allow_empty {
            return Err(Stopped {
                guard: Guard::NoSessions,
                reason: format!("not one session came out of {} files", result.files),
            });
        }
        // An empty output allowed by `allow_empty` is allowed to replace a full one.
        let allowed_empty = result.sessions == 0 && self.allow_empty;
        if let Some(previous) = result
            .previous_sessions
            .filter(|&p| p > 0 && !allowed_empty)
        {
            let fell = previous.saturating_sub(result.sessions) as f64 / previous as f64;
            if fell > self.max_shrink {
                return Err(Stopped {
                    guard: Guard::Shrink,
                    reason: format!(
                        "the output would hold {} sessions where the output it replaces holds \
                         {previous} ({:.1}% fewer, above max_shrink {:.0}%): a missing part of \
                         the input?",
                        result.sessions,
                        fell * 100.0,
                        self.max_shrink * 100.0
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(files: u64, rejected: u64, sessions: u64, previous: Option<u64>) -> Result {
        Result {
            files,
            rejected,
            sessions,
            previous_sessions: previous,
        }
    }

    #[test]
    fn every_guard_is_on_by_default_and_names_its_override() {
        let guards = crate::settings::Settings::default().guards();
        let empty = Listed {
            files: 0,
            unreadable: None,
            unreadable_count: 0,
        };
        let stopped = guards.check_listing(empty).unwrap_err();
        assert_eq!(stopped.guard, Guard::NoInput);
        assert!(stopped.to_string().contains("--allow-empty"), "{stopped}");
        let unreadable = Listed {
            files: 3,
            unreadable: Some("in/sub: Permission denied"),
            unreadable_count: 1,
        };
        assert_eq!(
            guards.check_listing(unreadable).unwrap_err().guard,
            Guard::UnreadableInput
        );
        for (r, guard) in [
            (result(10, 10, 0, None), Guard::RejectRate),
            (result(100, 6, 94, None), Guard::RejectRate),
            (result(4, 0, 0, None), Guard::NoSessions),
            (result(100, 0, 49, Some(100)), Guard::Shrink),
        ] {
            let stopped = guards.check_result(r).unwrap_err();
            assert_eq!(stopped.guard, guard, "{r:?}");
            assert!(stopped.to_string().contains(guard.override_hint()));
        }
        for fine in [
            result(100, 5, 95, None),
            result(100, 0, 50, Some(100)),
            result(0, 0, 0, Some(0)),
            result(0, 0, 0, None),
            result(100, 0, 200, Some(100)),
        ] {
            assert_eq!(guards.check_result(fine), Ok(()), "{fine:?}");
        }
    }

    #[test]
    fn overrides_switch_each_guard_off() {
        let guards = Guards {
            max_reject_rate: 1.0,
            allow_empty: true,
            allow_unreadable: true,
            max_shrink: 1.0,
        };
        let listed = Listed {
            files: 0,
            unreadable: Some("x"),
            unreadable_count: 1,
        };
        assert_eq!(guards.check_listing(listed), Ok(()));
        assert_eq!(guards.check_result(result(10, 10, 0, Some(500))), Ok(()));
    }
}
