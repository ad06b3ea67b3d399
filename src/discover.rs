//! Stage 1 of the data flow: input paths → the sorted list of session files to read.
//!
//! Directories are walked recursively; every `*.json` and `*.json.gz` file is a candidate
//! whatever its naming (`call-<id>.json`, `metadata.json`, dated `YYYY/MM/DD/` folders).
//! Files named explicitly on the command line are always read. Everything else is counted
//! as ignored. The list is sorted by path so that every run sees files in the same order,
//! which makes duplicate resolution and output row order deterministic.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::source::read::Compression;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Path as found (relative inputs stay relative).
    pub path: PathBuf,
    /// Size on disk at discovery time.
    pub size: u64,
    /// Plain or gzip.
    pub compression: Compression,
    /// Last modification, nanoseconds since the epoch (`None` where the platform has none).
    /// With `size`, it lets an incremental run skip an unchanged file without opening it.
    pub modified_ns: Option<i64>,
}

impl InputFile {
    /// The file name, used as the last resort to tell calls from chats.
    pub fn file_name(&self) -> &str {
        self.path.file_name().and_then(|n| n.to_str()).unwrap_or("")
    }
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Session files, sorted by path, without repeats.
    pub files: Vec<InputFile>,
    /// Files seen under input folders that are not session files (recordings, transcripts...).
    pub ignored: u64,
    /// Entries the walk could not read (permissions, symlink loops...), as messages.
    pub walk_errors: Vec<String>,
}

/// Recognizes session files by name: `*.json` or `*.json.gz`, case-insensitive.
pub fn session_file_compression(name: &str) -> Option<Compression> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Some(Compression::None)
    } else if lower.ends_with(".json.gz") {
        Some(Compression::Gzip)
    } else {
        None
    }
}

/// Walks `inputs`. Paths under any of `exclude` (the output and its staging folders) are
/// skipped, so an output placed inside an input folder is never read back.
pub fn discover(inputs: &[PathBuf], exclude: &[PathBuf]) -> Result<Discovery> {
    let mut found = Discovery::default();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| Error::Input {
            path: input.clone(),
            source,
        })?;
        if meta.is_file() {
            let compression = if input
                .to_string_lossy()
                .to_ascii_lowercase()
                .ends_with(".gz")
            {
                Compression::Gzip
            } else {
                Compression::None
            };
            found.files.push(InputFile {
                path: input.clone(),
                size: meta.len(),
                compression,
                modified_ns: modified_ns(&meta),
            });
            continue;
        }
        let walker = WalkDir::new(input)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| !is_excluded(e.path(), exclude) && !is_hidden(e.path(), input));
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    found.walk_errors.push(e.to_string());
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            match session_file_compression(&name) {
                Some(compression) => {
                    let meta = entry.metadata().ok();
                    found.files.push(InputFile {
                        path: entry.into_path(),
                        size: meta.as_ref().map_or(0, |m| m.len()),
                        compression,
                        modified_ns: meta.as_ref().and_then(modified_ns),
                    });
                }
                None => found.ignored += 1,
            }
        }
    }
    found.files.sort_by(|a, b| a.path.cmp(&b.path));
    found.files.dedup_by(|a, b| a.path == b.path);
    Ok(found)
}

/// The modification time of `meta` in nanoseconds since the epoch.
fn modified_ns(meta: &std::fs::Metadata) -> Option<i64> {
    let modified = meta.modified().ok()?;
    let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_nanos()).ok()
}

fn is_excluded(path: &Path, exclude: &[PathBuf]) -> bool {
    exclude.iter().any(|x| path.starts_with(x))
}

/// Hidden entries (`.staging` folders, editor files) below an input root are skipped.
fn is_hidden(path: &Path, root: &Path) -> bool {
    path != root
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn walks_recursively_sorts_and_counts_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("2026/03/24")).unwrap();
        fs::write(root.join("2026/03/24/call-2.json"), "{}").unwrap();
        fs::write(root.join("chat-1.JSON.gz"), "").unwrap();
        fs::write(root.join("call-2.mp3"), "").unwrap();
        fs::write(root.join(".hidden.json"), "{}").unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        fs::write(root.join("out/x.json"), "{}").unwrap();
        let found = discover(
            &[root.to_owned(), root.join("2026/03/24/call-2.json")],
            &[root.join("out")],
        )
        .unwrap();
        let names: Vec<_> = found
            .files
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("2026/03/24/call-2.json"),
                PathBuf::from("chat-1.JSON.gz")
            ]
        );
        assert_eq!(found.files[1].compression, Compression::Gzip);
        assert_eq!(found.ignored, 1);
    }

    #[test]
    fn a_missing_input_is_an_error() {
        let err = discover(&[PathBuf::from("/nonexistent/session-etl")], &[]).unwrap_err();
        assert!(matches!(err, Error::Input { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_reported_not_followed_forever() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("a")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("a/loop")).unwrap();
        fs::write(tmp.path().join("a/call-1.json"), "{}").unwrap();
        let found = discover(&[tmp.path().to_owned()], &[]).unwrap();
        assert_eq!(found.files.len(), 1);
        assert_eq!(found.walk_errors.len(), 1, "{:?}", found.walk_errors);
    }
}
