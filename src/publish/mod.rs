//! Atomic publication: a run writes into a hidden staging folder beside the output and
//! swaps it into place only once everything, `_run.json` and `_SUCCESS` included, is on disk.
//!
//! On Linux the swap is one `renameat2(RENAME_EXCHANGE)`, so readers see either the previous
//! complete output or the new complete output, never a mixture and never nothing. Elsewhere
//! (or on file systems without exchange support) the old output is renamed aside first, so
//! for an instant the path is absent but never half-written.

pub mod bucket;
pub mod manifest;

use std::fs;
use std::path::{Path, PathBuf};

use crate::shared::error::{Error, Result};
use crate::shared::paths::{read_small_file, Identity, SmallFileError};
use crate::shared::stop::{PausePoint, StopFlag};

/// Marker file written last into a completed output. Spark, Hadoop and Hive write one too:
/// it says "complete", never "session-etl's".
pub const SUCCESS_MARKER: &str = "_SUCCESS";
/// Run summary file; its `tool` key is what marks a folder as session-etl's own.
pub const RUN_SUMMARY: &str = "_run.json";
/// The value of `tool` in `_run.json`.
pub const TOOL: &str = "session-etl";
/// The layout version of an output, `output_format` in `_run.json`: bumped when outputs
/// stop being replaceable by a newer session-etl as they are.
pub const OUTPUT_FORMAT: u64 = 1;
/// `_run.json` files are a few KB (the tallies in them are bounded); a larger file is not one.
const MAX_RUN_SUMMARY_BYTES: u64 = 64 << 20;

/// The staging folder of a run, beside the output folder (same file system, so renames work).
#[derive(Debug)]
pub struct Staging {
    /// Where the run writes.
    pub dir: PathBuf,
    /// Where the result will be published.
    pub output: PathBuf,
    /// An exclusive `flock` on `dir` for as long as the run lives: a later run never removes
    /// the staging folder of a live one as a killed run's leftover, even if `.OUT.lock` was
    /// deleted meanwhile.
    _held: fs::File,
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

/// What stands at an output path before a run.
#[derive(Debug)]
pub enum Existing {
    /// Nothing: the run creates it.
    Absent,
    /// An empty folder: nothing to lose.
    Empty,
    /// A session-etl output; its `_run.json`.
    Ours(serde_json::Value),
}

impl Existing {
    /// The sessions the existing output holds (`rows.sessions` of its `_run.json`).
    pub fn sessions(&self) -> Option<u64> {
        match self {
            Existing::Ours(summary) => summary["rows"]["sessions"].as_u64(),
            _ => None,
        }
    }
}

/// The `_run.json` of `dir` if it marks `dir` as a session-etl output: a JSON object naming
/// `tool = "session-etl"` (or, written before that key existed, carrying both
/// `session_etl_version` and `run_id`) with an `output_format` this version can replace.
/// `Ok(None)` when there is no such file; an error only when reading it fails.
pub fn owned_summary(dir: &Path) -> Result<Option<serde_json::Value>> {
    let path = dir.join(RUN_SUMMARY);
    let bytes = match read_small_file(&path, MAX_RUN_SUMMARY_BYTES) {
        Ok(bytes) => bytes,
        Err(SmallFileError::Io(e)) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io("read", &path)(e))
        }
        // Nothing there, or not a file a run writes: not a marker.
        Err(_) => return Ok(None),
    };
    Ok(summary_if_ours(&bytes))
}

/// The `_run.json` content `bytes` if it marks its output as session-etl's (see
/// [`owned_summary`]).
pub fn summary_if_ours(bytes: &[u8]) -> Option<serde_json::Value> {
    let summary = serde_json::from_slice::<serde_json::Value>(bytes).ok()?;
    let named = summary["tool"] == TOOL
        && summary["output_format"]
            .as_u64()
            .is_some_and(|f| f <= OUTPUT_FORMAT);
    let legacy = summary.get("tool").is_none()
        && summary["session_etl_version"].is_string()
        && summary["run_id"].is_string();
    (named || legacy).then_some(summary)
}

/// Looks at what stands at `output` and refuses anything this tool may not replace: a
/// symbolic link (the swap would replace the link, not the folder it points to), a file, or
/// a folder that is neither empty nor a session-etl output. Reads only.
pub fn inspect_output(output: &Path) -> Result<Existing> {
    let refuse = |why: &str| Error::ForeignOutput {
        path: output.to_owned(),
        why: why.to_owned(),
    };
    let meta = match fs::symlink_metadata(output) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(Error::io("inspect", output)(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "it is a symbolic link; give the folder it points to",
        ));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a folder"));
    }
    if let Some(summary) = owned_summary(output)? {
        return Ok(Existing::Ours(summary));
    }
    let mut entries = fs::read_dir(output).map_err(Error::io("list", output))?;
    if entries.next().is_none() {
        return Ok(Existing::Empty);
    }
    Err(refuse(
        "it is not a session-etl output (no _run.json naming session-etl inside; a _SUCCESS \
         alone may be Spark's or Hadoop's)",
    ))
}

/// The absolute form of `path` with every symbolic link resolved, for paths that may not
/// exist yet: the longest existing ancestor is resolved and the rest appended as written.
pub fn resolved(path: &Path) -> Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map_err(Error::io("read the current folder", path))?
            .join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        match fs::canonicalize(existing) {
            Ok(mut found) => {
                for part in rest.iter().rev() {
                    match part {
                        std::path::Component::ParentDir => {
                            found.pop();
                        }
                        std::path::Component::Normal(name) => found.push(name),
                        _ => {}
                    }
                }
                return Ok(found);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(parent) = existing.parent() else {
                    return Err(Error::io("resolve", path)(e));
                };
                if let Some(last) = existing.components().next_back() {
                    rest.push(last);
                }
                existing = parent;
            }
            Err(e) => return Err(Error::io("resolve", path)(e)),
        }
    }
}

/// Checks that `output` (already [`resolved`]) is a place a run may replace, before anything
/// is written anywhere: never `/`, the home folder or the working folder (unless it is a
/// session-etl output), never one of `reads` (the inputs, the shards of a commit) or a folder
/// holding one of them, and only what [`inspect_output`] accepts.
pub fn check_target(output: &Path, reads: &[PathBuf]) -> Result<Existing> {
    // Pointing the output at one of these is a mistake in the command line or the pipeline
    // file (exit 2), not a folder found in the way.
    let refuse = |why: String| {
        Error::Config(format!(
            "refusing to use {} as the output: {why}; nothing was written",
            output.display()
        ))
    };
    if output.parent().is_none() {
        return Err(refuse("it is the root folder".into()));
    }
    let home = std::env::var_os("HOME").and_then(|h| fs::canonicalize(h).ok());
    if home.as_deref() == Some(output) {
        return Err(refuse("it is the home folder".into()));
    }
    for read in reads {
        let read = resolved(read)?;
        if read.starts_with(output) {
            return Err(refuse(format!(
                "{} is read by the run, and replacing {} would remove it",
                read.display(),
                output.display()
            )));
        }
    }
    let existing = inspect_output(output)?;
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| fs::canonicalize(d).ok());
    if cwd.as_deref() == Some(output) && !matches!(existing, Existing::Ours(_)) {
        return Err(refuse(
            "it is the working folder and not a session-etl output".into(),
        ));
    }
    Ok(existing)
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
    /// Creates the output's parent folder and the lock file: call it only once the run is
    /// known to be allowed ([`check_target`]).
    pub fn acquire(output: &Path, run_id: &str) -> Result<OutputLock> {
        use std::io::Write;
        let parent = parent_folder(output);
        fs::create_dir_all(parent).map_err(Error::io("create output parent folder", parent))?;
        let path = sibling_named(output, "lock")?;
        let file = loop {
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(Error::io("open lock file", &path))?;
            if !try_lock_exclusive(&file).map_err(Error::io("lock", &path))? {
                return Err(Error::Locked {
                    output: output.to_owned(),
                    lock: path.clone(),
                    holder: read_holder(&file),
                });
            }
            // A lock file removed or replaced between our open and our lock is no longer
            // the one other runs open: lock the one at the path now.
            if Identity::still_at(&file, &path) {
                break file;
            }
        };
        let owner = format!(
            "pid {}, run {run_id}, started {}\n",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        // Written over the previous owner's line, then cut to length, so that a refused run
        // reading meanwhile sees one whole line (the old or the new one), never an empty file.
        write_at_start(&file, owner.as_bytes())
            .and_then(|()| file.set_len(owner.len() as u64))
            .and_then(|()| (&file).flush())
            .map_err(Error::io("write lock file", &path))?;
        Ok(OutputLock { _file: file })
    }
}

/// The holder's line of a lock file. The holder writes it just after taking the lock, so a
/// run refused in that instant waits a little for it rather than print nothing.
fn read_holder(file: &fs::File) -> String {
    use std::io::{Read, Seek};
    for _ in 0..50 {
        let mut text = String::new();
        let mut reader = file;
        let read = reader
            .rewind()
            .and_then(|()| reader.read_to_string(&mut text));
        if let (Ok(_), Some((line, _))) = (read, text.split_once('\n')) {
            return line.trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    "holder details not written yet".to_owned()
}

#[cfg(unix)]
fn write_at_start(file: &fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, 0)
}

#[cfg(not(unix))]
fn write_at_start(file: &fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    let mut file = file;
    file.rewind()?;
    file.write_all(bytes)
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
/// aside. Only called with the output's [`OutputLock`] held. A staging folder whose run is
/// still alive (it holds the folder's lock: its `.OUT.lock` was removed under it) is never
/// removed: that run is refused instead.
fn remove_leftovers(output: &Path) -> Result<()> {
    let Some(name) = output.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(());
    };
    let parent = parent_folder(output);
    let staging = format!(".{name}.staging-");
    let previous = format!(".{name}.previous-");
    for entry in fs::read_dir(parent).map_err(Error::io("list", parent))? {
        let entry = entry.map_err(Error::io("list", parent))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || !(file_name.starts_with(&staging) || file_name.starts_with(&previous)) {
            continue;
        }
        if file_name.starts_with(&staging) {
            let dir = fs::File::open(&path).map_err(Error::io("open", &path))?;
            if !try_lock_exclusive(&dir).map_err(Error::io("lock", &path))? {
                return Err(Error::Locked {
                    output: output.to_owned(),
                    lock: path.clone(),
                    holder: format!(
                        "a live run is writing {} although the lock file beside the output \
                         was removed",
                        path.display()
                    ),
                });
            }
        }
        fs::remove_dir_all(&path).map_err(Error::io("remove a killed run's leftovers", &path))?;
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `path` (a run's `_run.json`, `_manifest.json`, the state
/// header). Serializing the tool's own types cannot fail but on a bug.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("serialize {}: {e}", path.display())))?;
    fs::write(path, json).map_err(Error::io("write", path))
}

/// Number of rows in a Parquet file of an existing output (a shard, the previous run), from
/// its footer.
pub fn parquet_rows(path: &Path) -> Result<i64> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = fs::File::open(path).map_err(Error::io("open", path))?;
    let reader = SerializedFileReader::new(file).map_err(|source| Error::ReadParquet {
        path: path.to_owned(),
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

/// Builds a new version of `output` and publishes it atomically. `output` must be
/// [`resolved`]; `reads` are the paths the build reads (they must not be inside what is
/// replaced). Nothing is written anywhere, not even the lock file, before `output` is known
/// to be replaceable. Under the output's lock, `build` writes into a fresh staging folder,
/// given what the output held before, and returns its result and whether to publish. The
/// folder is published only if `build` succeeded, asked for it, and `stop` was not raised
/// meanwhile; otherwise it is removed (and a raised `stop` gives [`Error::Interrupted`]).
pub fn replace_output<T>(
    output: &Path,
    reads: &[PathBuf],
    run_id: &str,
    stop: &StopFlag,
    build: impl FnOnce(&Path, &Existing) -> Result<(T, bool)>,
) -> Result<T> {
    check_target(output, reads)?;
    // Held until this function returns: the whole build, publication included.
    let _lock = OutputLock::acquire(output, run_id)?;
    // Looked at again under the lock: another run may have published meanwhile.
    let existing = inspect_output(output)?;
    let staging = Staging::create(output, run_id)?;
    if stop.is_raised() {
        let _ = staging.discard();
        return Err(Error::Interrupted);
    }
    match build(&staging.dir, &existing) {
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
    /// killed runs. The caller holds the output's [`OutputLock`] and has checked `output`.
    pub fn create(output: &Path, run_id: &str) -> Result<Staging> {
        remove_leftovers(output)?;
        let dir = sibling(output, "staging", run_id)?;
        fs::create_dir(&dir).map_err(Error::io("create staging folder", &dir))?;
        let held = fs::File::open(&dir).map_err(Error::io("open staging folder", &dir))?;
        if !try_lock_exclusive(&held).map_err(Error::io("lock", &dir))? {
            return Err(Error::Internal(format!(
                "the new staging folder {} is locked by another process",
                dir.display()
            )));
        }
        Ok(Staging {
            dir,
            output: output.to_owned(),
            _held: held,
        })
    }

    /// Writes `_SUCCESS`, then swaps the staging folder into place and removes the previous
    /// output. `stop` only ends the test pauses: once a run is complete it is published. If
    /// the swap cannot be made, the staging folder is removed and the output left as it was.
    pub fn publish(self, run_id: &str, stop: &StopFlag) -> Result<()> {
        let marker = self.dir.join(SUCCESS_MARKER);
        let prepared = fs::write(&marker, b"")
            .map_err(Error::io("write", &marker))
            .and_then(|()| sync_tree(&self.dir));
        if let Err(e) = prepared {
            let _ = self.discard();
            return Err(e);
        }
        PausePoint::Publishing.pause_here(stop);
        let existing = match inspect_output(&self.output) {
            Ok(existing) => existing,
            Err(e) => {
                let _ = self.discard();
                return Err(e);
            }
        };
        if matches!(existing, Existing::Absent) {
            if let Err(e) = fs::rename(&self.dir, &self.output) {
                let error = Error::io("publish", &self.output)(e);
                let _ = self.discard();
                return Err(error);
            }
        } else if exchange(&self.dir, &self.output).is_ok() {
            // `self.dir` now holds the previous output.
            PausePoint::Swapped.pause_here(stop);
            fs::remove_dir_all(&self.dir)
                .map_err(Error::io("remove previous output", &self.dir))?;
        } else {
            let aside = sibling(&self.output, "previous", run_id)?;
            if let Err(e) = fs::rename(&self.output, &aside) {
                let _ = self.discard();
                return Err(Error::io("move previous output aside", &aside)(e));
            }
            if let Err(e) = fs::rename(&self.dir, &self.output) {
                // Put the previous output back before giving up.
                let _ = fs::rename(&aside, &self.output);
                let error = Error::io("publish", &self.output)(e);
                let _ = self.discard();
                return Err(error);
            }
            PausePoint::Swapped.pause_here(stop);
            fs::remove_dir_all(&aside).map_err(Error::io("remove previous output", &aside))?;
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

    /// A `_run.json` as a run writes it, as far as ownership goes.
    fn mark_ours(dir: &Path) {
        fs::write(
            dir.join(RUN_SUMMARY),
            format!(r#"{{"tool": "{TOOL}", "output_format": {OUTPUT_FORMAT}, "rows": {{"sessions": 7}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn publish_replaces_a_previous_output_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = Staging::create(&out, "r1").unwrap();
        fs::write(first.dir.join("a.txt"), "first").unwrap();
        mark_ours(&first.dir);
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
    fn only_a_run_summary_naming_session_etl_makes_a_folder_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(matches!(
            inspect_output(&dir.join("absent")),
            Ok(Existing::Absent)
        ));
        assert!(matches!(inspect_output(dir), Ok(Existing::Empty)));
        // What Spark leaves: a _SUCCESS and part files.
        fs::write(dir.join(SUCCESS_MARKER), "").unwrap();
        fs::write(dir.join("part-00000-1.snappy.parquet"), "PAR1").unwrap();
        let err = inspect_output(dir).unwrap_err();
        assert!(matches!(err, Error::ForeignOutput { .. }), "{err}");
        assert!(err.to_string().contains("Spark"), "{err}");
        // A _run.json of someone else's tool, or not JSON at all, does not count either.
        for other in [
            r#"{"tool": "dbt", "run_id": "x"}"#,
            "not json",
            r#"{"tool": "session-etl", "output_format": 99}"#,
        ] {
            fs::write(dir.join(RUN_SUMMARY), other).unwrap();
            assert!(inspect_output(dir).is_err(), "{other}");
        }
        // Ours, and outputs of versions that wrote no `tool` key.
        mark_ours(dir);
        let existing = inspect_output(dir).unwrap();
        assert_eq!(existing.sessions(), Some(7));
        fs::write(
            dir.join(RUN_SUMMARY),
            r#"{"session_etl_version": "0.1.0", "run_id": "r"}"#,
        )
        .unwrap();
        assert!(matches!(inspect_output(dir), Ok(Existing::Ours(_))));
    }

    #[cfg(unix)]
    #[test]
    fn links_files_roots_homes_and_inputs_are_refused_as_outputs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        mark_ours(&root.join("out"));
        std::os::unix::fs::symlink(root.join("out"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
        fs::write(root.join("file"), "x").unwrap();
        fs::create_dir_all(root.join("data/in")).unwrap();
        for (output, why) in [
            (root.join("link"), "symbolic link"),
            (root.join("dangling"), "symbolic link"),
            (root.join("file"), "not a folder"),
            (PathBuf::from("/"), "root folder"),
            (root.join("data"), "is read by the run"),
            (root.join("data/in"), "is read by the run"),
        ] {
            let err = check_target(&output, &[root.join("data/in")]).unwrap_err();
            assert!(err.to_string().contains(why), "{}: {err}", output.display());
        }
        // An output inside an input is fine (the walk skips it).
        check_target(&root.join("data/in/out"), &[root.join("data/in")]).unwrap();
        if let Some(home) = std::env::var_os("HOME").and_then(|h| fs::canonicalize(h).ok()) {
            let err = check_target(&home, &[]).unwrap_err();
            assert!(err.to_string().contains("home folder"), "{err}");
        }
    }

    #[test]
    fn resolved_paths_are_absolute_and_follow_existing_links_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(
            resolved(&root.join("a/./b/../b")).unwrap(),
            root.join("a/b")
        );
        assert_eq!(
            resolved(&root.join("a/new/x/../y")).unwrap(),
            root.join("a/new/y")
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a/b"), root.join("l")).unwrap();
            assert_eq!(resolved(&root.join("l/out")).unwrap(), root.join("a/b/out"));
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_live_runs_staging_folder_is_never_removed_as_a_leftover() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let live = Staging::create(&out, "live").unwrap();
        // Its `.out.lock` removed under it: the next run takes a lock of its own...
        let err = Staging::create(&out, "second").unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
        assert!(live.dir.exists());
        // ...and once the live run is gone, its folder is a leftover like any other.
        let dir = live.dir.clone();
        drop(live);
        Staging::create(&out, "third").unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn a_refused_run_reads_the_holders_line() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let _held = OutputLock::acquire(&out, "first").unwrap();
        match OutputLock::acquire(&out, "second") {
            #[cfg(unix)]
            Err(Error::Locked { holder, .. }) => {
                assert!(
                    holder.starts_with(&format!("pid {}, run first, started ", std::process::id())),
                    "{holder}"
                );
            }
            other => {
                #[cfg(unix)]
                panic!("{other:?}");
                #[cfg(not(unix))]
                drop(other);
            }
        }
    }
}
