//! `_manifest.json`: every file of an output, with its size and (for Parquet) its row count.
//!
//! Written last before `_run.json`, from what is on disk in the staging folder, so it lists
//! exactly what was published. `commit` checks each shard against its manifest before it
//! merges anything: a shard folder that lost a file, gained one, or holds a file of another
//! size or row count than its run wrote is refused, so the committed tables always agree with
//! the `_run.json` they are published with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::publish::{parquet_rows, RUN_SUMMARY, SUCCESS_MARKER};
use crate::shared::error::{Error, Result};

/// The manifest file inside an output.
pub const MANIFEST: &str = "_manifest.json";

/// Every file of an output but the manifest itself, `_run.json` and `_SUCCESS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// In path order.
    pub files: Vec<ManifestFile>,
}

/// One file of an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to the output, `/`-separated (`sessions/date=2026-03-23/<run>-00000.parquet`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows, from the footer (Parquet files only).
    pub rows: Option<u64>,
}

impl ManifestFile {
    /// The top-level folder the file is in (the table, `exchange`, `_state`), if any.
    pub fn folder(&self) -> Option<&str> {
        self.path.split_once('/').map(|(top, _)| top)
    }
}

impl Manifest {
    /// Lists what is in `dir` now.
    pub fn of(dir: &Path) -> Result<Manifest> {
        Manifest::list(dir, true)
    }

    /// Lists what is in `dir`, reading the row count of Parquet files when `with_rows`.
    fn list(dir: &Path, with_rows: bool) -> Result<Manifest> {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(dir).to_owned();
                Error::io("list", path)(std::io::Error::other(e.to_string()))
            })?;
            if entry.file_type().is_dir() {
                continue;
            }
            let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            let path = relative
                .components()
                .map(|c| crate::shared::paths::to_text(Path::new(c.as_os_str())).into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if [MANIFEST, RUN_SUMMARY, SUCCESS_MARKER].contains(&path.as_str()) {
                continue;
            }
            let bytes = entry
                .metadata()
                .map_err(|e| Error::io("inspect", entry.path())(std::io::Error::other(e)))?
                .len();
            let is_parquet = entry.path().extension().is_some_and(|x| x == "parquet");
            let rows = if is_parquet && with_rows {
                Some(u64::try_from(parquet_rows(entry.path())?).unwrap_or(0))
            } else {
                None
            };
            files.push(ManifestFile { path, bytes, rows });
        }
        Ok(Manifest { files })
    }

    /// Writes the manifest of `dir` into it.
    pub fn write(dir: &Path) -> Result<Manifest> {
        Manifest::write_with(dir, Vec::new())
    }

    /// Writes into `dir` the manifest of `dir` and of `elsewhere`, files of the output that
    /// are not in `dir` (a bucket output's objects that an incremental run keeps in place).
    pub fn write_with(dir: &Path, elsewhere: Vec<ManifestFile>) -> Result<Manifest> {
        let mut manifest = Manifest::of(dir)?;
        manifest.files.extend(elsewhere);
        manifest.files.sort_by(|a, b| a.path.cmp(&b.path));
        let path = dir.join(MANIFEST);
        crate::publish::write_json(&path, &manifest)?;
        Ok(manifest)
    }

    /// Reads the manifest of `dir`; `Err` says why it cannot be used.
    pub fn read(dir: &Path) -> std::result::Result<Manifest, String> {
        let path = dir.join(MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Rows per top-level folder (per table).
    pub fn rows_by_folder(&self) -> BTreeMap<&str, u64> {
        let mut rows = BTreeMap::new();
        for file in &self.files {
            if let (Some(folder), Some(n)) = (file.folder(), file.rows) {
                *rows.entry(folder).or_default() += n;
            }
        }
        rows
    }

    /// Checks that `dir` holds exactly the files of this manifest, with the same sizes and
    /// row counts; returns the first difference.
    pub fn verify(&self, dir: &Path) -> std::result::Result<(), String> {
        // Sizes first: a file cut short has no footer to read rows from.
        let now = Manifest::list(dir, false).map_err(|e| e.to_string())?;
        let found = now
            .files
            .iter()
            .map(|f| (f.path.clone(), f.bytes))
            .collect();
        self.verify_sizes(&found)?;
        let listed: BTreeMap<&str, &ManifestFile> =
            self.files.iter().map(|f| (f.path.as_str(), f)).collect();
        for (path, file) in listed {
            let Some(rows) = file.rows else { continue };
            let on_disk = parquet_rows(&Manifest::path_in(dir, file)).map_err(|e| e.to_string())?;
            if u64::try_from(on_disk).ok() != Some(rows) {
                return Err(format!(
                    "{path} holds {on_disk} rows, the manifest says {rows}"
                ));
            }
        }
        Ok(())
    }

    /// Checks that `found` (relative path → size: a folder's files, a bucket prefix's data
    /// objects) holds exactly the files of this manifest, with the same sizes.
    pub fn verify_sizes(&self, found: &BTreeMap<String, u64>) -> std::result::Result<(), String> {
        let listed: BTreeMap<&str, &ManifestFile> =
            self.files.iter().map(|f| (f.path.as_str(), f)).collect();
        if let Some(missing) = listed.keys().find(|p| !found.contains_key(**p)) {
            return Err(format!("{missing} is listed in {MANIFEST} but missing"));
        }
        if let Some(extra) = found.keys().find(|p| !listed.contains_key(p.as_str())) {
            return Err(format!("{extra} is not listed in {MANIFEST}"));
        }
        for (path, file) in &listed {
            let size = found[*path];
            if size != file.bytes {
                return Err(format!(
                    "{path} has {size} bytes, the manifest says {}",
                    file.bytes
                ));
            }
        }
        Ok(())
    }

    /// The absolute path of `file` inside `dir`.
    pub fn path_in(dir: &Path, file: &ManifestFile) -> PathBuf {
        file.path.split('/').fold(dir.to_owned(), |p, c| p.join(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_sees_a_missing_an_extra_and_a_changed_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("exchange")).unwrap();
        std::fs::write(dir.join("exchange/a.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.join("exchange/b.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.join(RUN_SUMMARY), "{}").unwrap();
        let manifest = Manifest::write(dir).unwrap();
        assert_eq!(
            manifest
                .files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>(),
            ["exchange/a.jsonl", "exchange/b.jsonl"]
        );
        assert_eq!(Manifest::read(dir).unwrap(), manifest);
        manifest.verify(dir).unwrap();
        std::fs::write(dir.join("exchange/b.jsonl"), "{}\n{}\n").unwrap();
        assert!(manifest
            .verify(dir)
            .unwrap_err()
            .contains("exchange/b.jsonl has 6 bytes"));
        std::fs::remove_file(dir.join("exchange/b.jsonl")).unwrap();
        assert!(manifest.verify(dir).unwrap_err().contains("missing"));
        std::fs::write(dir.join("exchange/b.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.join("stray.txt"), "").unwrap();
        assert!(manifest
            .verify(dir)
            .unwrap_err()
            .contains("stray.txt is not listed"));
    }
}
