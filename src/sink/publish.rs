//! Atomic publication: a run writes into a hidden staging folder beside the output and
//! swaps it into place only once everything, `_run.json` and `_SUCCESS` included, is on disk.
//!
//! On Linux the swap is one `renameat2(RENAME_EXCHANGE)`, so readers see either the previous
//! complete output or the new complete output, never a mixture and never nothing. Elsewhere
//! (or on file systems without exchange support) the old output is renamed aside first, so
//! for an instant the path is absent but never half-written.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::stop::{PausePoint, StopFlag};

/// Marker file written last into a completed output.
pub const SUCCESS_MARKER: &str = "_SUCCESS";
/// Run summary file.
pub const RUN_SUMMARY: &str = "_run.json";

/// The staging folder of a run, beside the output folder (same file system, so renames work).
#[derive(Debug)]
pub struct Staging {
    /// Where the run writes.
    pub dir: PathBuf,
    /// Where the result will be published.
    pub output: PathBuf,
}

/// The folder holding `output` (`.` for a bare name): where its siblings live.
fn parent_folder(output: &Path) -> &Path {
    output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `.<output name>.<suffix>` beside `output`: same file system (renames work), and hidden.
fn sibling_named(output: &Path, suffix: &str) -> Result<PathBuf> {
    let name = output.file_name().ok_or_else(|| {
        Error::Config(format!(
            "output path {} has no folder name",
            output.display()
        ))
    })?;
    let parent = parent_folder(output);
    Ok(parent.join(format!(".{}.{suffix}", name.to_string_lossy())))
}

fn sibling(output: &Path, tag: &str, run_id: &str) -> Result<PathBuf> {
    sibling_named(output, &format!("{tag}-{run_id}"))
}

/// True if `dir` is a folder a previous run published (or an empty folder).
fn is_replaceable(dir: &Path) -> Result<bool> {
    if dir.join(SUCCESS_MARKER).exists() || dir.join(RUN_SUMMARY).exists() {
        return Ok(true);
    }
    let mut entries = fs::read_dir(dir).map_err(Error::io("list", dir))?;
    Ok(entries.next().is_none())
}

/// An exclusive claim on an output folder for the length of a run, so that two runs never
/// write the same output. It is an advisory `flock` on `.OUT.lock` beside the output: the
/// kernel drops it when the process ends, however it ends, so a killed run never leaves a
/// stale lock behind. The file itself stays, holding the last owner's pid and start time for
/// the message a refused run prints.
#[derive(Debug)]
pub struct OutputLock {
    _file: fs::File,
}

impl OutputLock {
    /// Takes the lock of `output`, or fails at once with [`Error::Locked`] naming the holder.
    pub fn acquire(output: &Path, run_id: &str) -> Result<OutputLock> {
        use std::io::{Read, Seek, Write};
        let parent = parent_folder(output);
        fs::create_dir_all(parent).map_err(Error::io("create output parent folder", parent))?;
        let path = sibling_named(output, "lock")?;
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io("open lock file", &path))?;
        let locked = try_lock_exclusive(&file).map_err(Error::io("lock", &path))?;
        if !locked {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(Error::Locked {
                output: output.to_owned(),
                lock: path,
                holder: holder.trim().replace('\n', ", "),
            });
        }
        let owner = format!(
            "pid {}, run {run_id}, started {}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(owner.as_bytes()))
            .map_err(Error::io("write lock file", &path))?;
        Ok(OutputLock { _file: file })
    }
}

/// Takes an exclusive advisory lock on `file` without waiting: `Ok(false)` if another process
/// holds it, an error if locking itself failed (say, a file system without locks).
#[cfg(unix)]
fn try_lock_exclusive(file: &fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: `file` is an open descriptor for the duration of the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Elsewhere there is no lock: concurrent runs on one output are not detected.
#[cfg(not(unix))]
fn try_lock_exclusive(_: &fs::File) -> std::io::Result<bool> {
    Ok(true)
}

/// Removes what killed runs left beside `output`: staging folders and previous outputs moved
/// aside. Only called with the output's [`OutputLock`] held, so none of them is in use.
fn remove_leftovers(output: &Path) -> Result<()> {
    let Some(name) = output.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(());
    };
    let parent = parent_folder(output);
    let prefixes = [format!(".{name}.staging-"), format!(".{name}.previous-")];
    for entry in fs::read_dir(parent).map_err(Error::io("list", parent))? {
        let entry = entry.map_err(Error::io("list", parent))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| file_name.starts_with(p)) && entry.path().is_dir() {
            fs::remove_dir_all(entry.path())
                .map_err(Error::io("remove a killed run's leftovers", entry.path()))?;
        }
    }
    Ok(())
}

/// Number of rows in a Parquet file of an existing output (a shard, the previous run), from
/// its footer.
pub fn parquet_rows(path: &Path) -> Result<i64> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = fs::File::open(path).map_err(Error::io("open", path))?;
    let reader = SerializedFileReader::new(file).map_err(|source| Error::Parquet {
        table: "(existing output file)",
        source,
    })?;
    Ok(reader.metadata().file_metadata().num_rows())
}

/// Hard-links `from` to `to` (same file system: no copy, no extra space), or copies it.
/// An existing `to` is an error, never overwritten.
pub fn place_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
    }
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::io("link", to)(e)),
        Err(_) => {
            let mut source = fs::File::open(from).map_err(Error::io("open", from))?;
            let mut target = fs::File::options()
                .write(true)
                .create_new(true)
                .open(to)
                .map_err(Error::io("create", to))?;
            std::io::copy(&mut source, &mut target).map_err(Error::io("copy", from))?;
            Ok(())
        }
    }
}

/// A new run id: the UTC start second and the process id, then `suffix` (`-shard0of4`,
/// `-commit`). It names the staging folder and prefixes every file the run writes.
pub fn new_run_id(started_at: chrono::DateTime<chrono::Utc>, suffix: &str) -> String {
    format!(
        "{}-{}{suffix}",
        started_at.format("%Y%m%dT%H%M%SZ"),
        std::process::id()
    )
}

/// Builds a new version of `output` and publishes it atomically. Under the output's lock,
/// `build` writes into a fresh staging folder and returns its result and whether to publish.
/// The folder is published only if `build` succeeded, asked for it, and `stop` was not raised
/// meanwhile; otherwise it is removed (and a raised `stop` gives [`Error::Interrupted`]).
pub fn replace_output<T>(
    output: &Path,
    run_id: &str,
    stop: &StopFlag,
    build: impl FnOnce(&Path) -> Result<(T, bool)>,
) -> Result<T> {
    // Held until this function returns: the whole build, publication included.
    let _lock = OutputLock::acquire(output, run_id)?;
    let staging = Staging::create(output, run_id)?;
    match build(&staging.dir) {
        Ok(_) if stop.is_raised() => {
            let _ = staging.discard();
            Err(Error::Interrupted)
        }
        Ok((value, true)) => {
            staging.publish(run_id, stop)?;
            Ok(value)
        }
        Ok((value, false)) => {
            let _ = staging.discard();
            Ok(value)
        }
        Err(e) => {
            let _ = staging.discard();
            Err(e)
        }
    }
}

impl Staging {
    /// Creates a fresh staging folder for `output`, first removing the staging folders of
    /// killed runs. The caller holds the output's [`OutputLock`]. Fails early if `output` exists and is
    /// not something this tool may replace, before any work is done.
    pub fn create(output: &Path, run_id: &str) -> Result<Staging> {
        if output.exists() && (!output.is_dir() || !is_replaceable(output)?) {
            return Err(Error::ForeignOutput(output.to_owned()));
        }
        let parent = parent_folder(output);
        fs::create_dir_all(parent).map_err(Error::io("create output parent folder", parent))?;
        remove_leftovers(output)?;
        let dir = sibling(output, "staging", run_id)?;
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(Error::io("clear staging folder", &dir))?;
        }
        fs::create_dir(&dir).map_err(Error::io("create staging folder", &dir))?;
        Ok(Staging {
            dir,
            output: output.to_owned(),
        })
    }

    /// Writes `_SUCCESS`, then swaps the staging folder into place and removes the previous
    /// output. `stop` only ends the test pauses: once a run is complete it is published.
    pub fn publish(self, run_id: &str, stop: &StopFlag) -> Result<()> {
        let marker = self.dir.join(SUCCESS_MARKER);
        fs::write(&marker, b"").map_err(Error::io("write", &marker))?;
        // Everything the run wrote reaches the disk before the output becomes visible.
        sync_tree(&self.dir)?;
        PausePoint::Publishing.pause_here(stop);
        if self.output.exists() {
            if !is_replaceable(&self.output)? {
                return Err(Error::ForeignOutput(self.output.clone()));
            }
            if exchange(&self.dir, &self.output).is_ok() {
                // `self.dir` now holds the previous output.
                PausePoint::Swapped.pause_here(stop);
                fs::remove_dir_all(&self.dir)
                    .map_err(Error::io("remove previous output", &self.dir))?;
            } else {
                let aside = sibling(&self.output, "previous", run_id)?;
                fs::rename(&self.output, &aside)
                    .map_err(Error::io("move previous output aside", &aside))?;
                fs::rename(&self.dir, &self.output).map_err(Error::io("publish", &self.output))?;
                PausePoint::Swapped.pause_here(stop);
                fs::remove_dir_all(&aside).map_err(Error::io("remove previous output", &aside))?;
            }
        } else {
            fs::rename(&self.dir, &self.output).map_err(Error::io("publish", &self.output))?;
        }
        if let Some(parent) = self.output.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// Removes the staging folder of a run that will not be published.
    pub fn discard(self) -> Result<()> {
        fs::remove_dir_all(&self.dir).map_err(Error::io("remove staging folder", &self.dir))
    }
}

/// Makes every file and folder under `dir` durable. On Linux that is one `syncfs` of the file
/// system holding it (one journal commit instead of one per file); elsewhere each file and
/// folder is synced in turn.
fn sync_tree(dir: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let handle = fs::File::open(dir).map_err(Error::io("open", dir))?;
        // SAFETY: `handle` is an open descriptor for the duration of the call.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(Error::io("sync", dir)(std::io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in walkdir::WalkDir::new(dir) {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(dir).to_owned();
                Error::io("walk", path)(std::io::Error::other(e.to_string()))
            })?;
            fs::File::open(entry.path())
                .and_then(|f| f.sync_all())
                .map_err(Error::io("sync", entry.path()))?;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync folder", dir))
}

/// Atomically exchanges two paths (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no atomic exchange on this platform",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replaces_a_previous_output_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = Staging::create(&out, "r1").unwrap();
        fs::write(first.dir.join("a.txt"), "first").unwrap();
        first.publish("r1", &StopFlag::new()).unwrap();
        let second = Staging::create(&out, "r2").unwrap();
        fs::write(second.dir.join("b.txt"), "second").unwrap();
        second.publish("r2", &StopFlag::new()).unwrap();
        assert!(!out.join("a.txt").exists());
        assert_eq!(fs::read_to_string(out.join("b.txt")).unwrap(), "second");
        assert!(out.join(SUCCESS_MARKER).exists());
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn a_foreign_folder_is_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("precious.txt"), "keep").unwrap();
        let err = Staging::create(tmp.path(), "r1").unwrap_err();
        assert!(matches!(err, Error::ForeignOutput(_)), "{err}");
    }
}
