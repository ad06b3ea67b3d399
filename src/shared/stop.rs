//! Stopping a run early without publishing anything: Ctrl-C at a terminal, `SIGTERM` from a
//! scheduler (systemd, Kubernetes, Airflow) that wants its slot back, `SIGHUP` when the ssh
//! session or tmux window the run was started from goes away.
//!
//! A signal only raises a flag. Workers look at it before each file, so they finish the file
//! in hand and stop; the run then discards its staging folder and returns
//! [`Error::Interrupted`](crate::Error::Interrupted), and the published output stays what it
//! was. A second signal while the first is being honoured ends the process at once: the
//! output is still safe (publication is one rename), only the staging folder is left for the
//! next run to remove.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit code of a run stopped by a signal, as shells report a process ended by `SIGINT`.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Raised when the run should stop early; cheap to clone and to check.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag nothing raises except [`StopFlag::raise`] (library callers, tests).
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// A flag raised by `SIGINT`, `SIGTERM` and `SIGHUP`; a second signal exits with
    /// [`EXIT_INTERRUPTED`] immediately.
    #[cfg(unix)]
    pub fn on_signals() -> std::io::Result<StopFlag> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let stop = StopFlag::new();
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                EXIT_INTERRUPTED,
                Arc::clone(&stop.0),
            )?;
            signal_hook::flag::register(signal, Arc::clone(&stop.0))?;
        }
        Ok(stop)
    }

    /// Elsewhere signals are left to their default action.
    #[cfg(not(unix))]
    pub fn on_signals() -> std::io::Result<StopFlag> {
        Ok(StopFlag::new())
    }

    /// Asks the run to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Name of the environment variable that makes a run wait at one [`PausePoint`].
///
/// A test hook: crash-safety tests set it, wait for the `paused at …` line on stderr, and
/// kill the process there with `SIGKILL`, which no handler can intercept. Unset, it costs one
/// environment lookup per run.
pub const PAUSE_ENV: &str = "SESSION_ETL_PAUSE_AT";

/// Name of the environment variable naming a file whose appearance ends a [`PausePoint`]
/// wait: a test that changes the input while the run is paused creates it to let the run go
/// on.
pub const RESUME_ENV: &str = "SESSION_ETL_PAUSE_RESUME";

/// Moments of a run at which a crash must leave the published output intact, or at which a
/// test changes the input under the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausePoint {
    /// The walk has found its first session file.
    Discovering,
    /// The pre-scan has begun (one worker waits on its first file; the others go on).
    Prescanning,
    /// Every file was pre-scanned and the export of each session chosen; nothing is parsed
    /// yet.
    Selected,
    /// The first wave of files is written: Parquet files are open in the staging folder.
    Writing,
    /// Every table is closed in the staging folder; nothing is published yet.
    Closed,
    /// `_SUCCESS` is written and synced, just before the swap into place.
    Publishing,
    /// The new output is in place; the previous one waits for removal beside it.
    Swapped,
}

impl PausePoint {
    fn as_str(self) -> &'static str {
        match self {
            PausePoint::Discovering => "discovering",
            PausePoint::Prescanning => "prescanning",
            PausePoint::Selected => "selected",
            PausePoint::Writing => "writing",
            PausePoint::Closed => "closed",
            PausePoint::Publishing => "publishing",
            PausePoint::Swapped => "swapped",
        }
    }

    /// If [`PAUSE_ENV`] names this point, says so on stderr and waits (up to a minute, until
    /// `stop` is raised, or until the file [`RESUME_ENV`] names exists) for the test to act.
    pub fn pause_here(self, stop: &StopFlag) {
        if std::env::var(PAUSE_ENV).ok().as_deref() != Some(self.as_str()) {
            return;
        }
        eprintln!("session-etl: paused at {}", self.as_str());
        let resume = std::env::var_os(RESUME_ENV).map(std::path::PathBuf::from);
        for _ in 0..600 {
            if stop.is_raised() || resume.as_ref().is_some_and(|r| r.exists()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_flag_is_seen_by_its_clones() {
        let stop = StopFlag::new();
        let seen_by_worker = stop.clone();
        assert!(!seen_by_worker.is_raised());
        stop.raise();
        assert!(seen_by_worker.is_raised());
    }
}
