//! Publishing an output into a bucket prefix, where there is no rename to make it atomic.
//!
//! The run builds its output in a local staging folder exactly as for a local output, then
//! commits it with this protocol (the README's "Cloud storage" section says what readers see):
//!
//! 1. **Look**: list the prefix. It must be empty or session-etl's own (a `_run.json` naming
//!    session-etl, or a commit log under `_session-etl/`); a `_SUCCESS` alone may be Spark's.
//!    The last commit record (`_session-etl/commits/<seq>.json`, highest `seq`) is the
//!    published output; a commit a killed run left half-done is finished first.
//! 2. **Upload** every data file under its run-id name (`sessions/date=…/<run>-00000.parquet`,
//!    `_state/<run>-files.parquet`): no name of the published output is touched, so a reader
//!    of it sees no change. An incremental run's kept partitions are not uploaded at all: the
//!    new manifest lists the published objects again, where they are.
//! 3. **Commit**: create `_session-etl/commits/<seq + 1>.json` (the new manifest and
//!    `_run.json`) with a conditional write (`PutMode::Create`). Only one run can create it:
//!    a run that started from the same output and lost the race fails, publishing nothing.
//!    This one write is the commit point.
//! 4. **Announce**: overwrite `_manifest.json`, then `_run.json`, then `_SUCCESS`.
//! 5. **Clean**: delete what the new manifest does not list and is provably session-etl's: the
//!    previous manifest's files and run-id-named files of killed runs in the table folders.
//!    Anything else under the prefix is left alone. A failed run deletes only what it
//!    uploaded, never an object it kept in place.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::manifest::{Manifest, ManifestFile, MANIFEST};
use super::{summary_if_ours, Existing, OUTPUT_FORMAT, RUN_SUMMARY, SUCCESS_MARKER, TOOL};
use crate::shared::error::{Error, Result};
use crate::shared::stop::{PausePoint, StopFlag};
use crate::storage::{objects, redact, BucketPrefix, Location, Storage};

/// The folder of session-etl's own control objects under a bucket output.
pub const CONTROL: &str = "_session-etl";
/// Where the commit records are, under [`CONTROL`].
const COMMITS: &str = "_session-etl/commits";
/// Where each run marks the prefix as session-etl's before it uploads anything, so that a
/// first run killed before its commit leaves a prefix the next run knows as its own.
const CLAIMS: &str = "_session-etl/runs";
/// Commit records kept: the last few, for a person looking into what happened.
const KEEP_COMMITS: usize = 10;
/// Files uploaded at once; each is sent in parts of [`PART_BYTES`], a few at a time.
const UPLOADS_IN_FLIGHT: usize = 4;
/// Files of the last commit an incremental run fetches at once (its state, the partitions it
/// rewrites).
const DOWNLOADS_IN_FLIGHT: usize = 8;
/// Above this a file goes up as a multipart upload, in parts of this size.
const PART_BYTES: usize = 8 << 20;

/// One commit of a bucket output: what it published, kept under [`COMMITS`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitRecord {
    /// Always `session-etl`.
    pub tool: String,
    /// [`OUTPUT_FORMAT`].
    pub output_format: u64,
    /// 1 for the first commit of the prefix, then one more each time.
    pub seq: u64,
    /// The run that committed.
    pub run_id: String,
    /// Every data file of the output, relative to the prefix.
    pub manifest: Manifest,
    /// The output's `_run.json`.
    pub summary: serde_json::Value,
}

/// What a bucket output holds before a run.
#[derive(Debug)]
struct Published {
    existing: Existing,
    /// The run id of the `_run.json` readers see now.
    announced: Option<String>,
    /// The last commit, if there was one.
    last: Option<CommitRecord>,
    /// Every key under the prefix, relative to it, and its size.
    keys: std::collections::BTreeMap<String, u64>,
}

/// The commit a run into a bucket output builds on, and what the run may fetch of it: an
/// incremental run reads the state and the partitions it rewrites, nothing else.
pub struct Base<'a> {
    dir: &'a BucketDir<'a>,
    /// The last commit, if there is one.
    pub record: Option<&'a CommitRecord>,
    /// Where fetched files go, at their relative paths; removed with the run.
    mirror: tempfile::TempDir,
}

impl Published {
    /// Checks that every file `publication` keeps in place is one the last commit lists and
    /// the prefix still holds, at the same size: a kept file that is gone would leave the new
    /// manifest naming a file no reader can read.
    fn still_holds(&self, publication: &Publication, prefix: &BucketPrefix) -> Result<()> {
        let listed: std::collections::BTreeMap<&str, u64> = self
            .last
            .iter()
            .flat_map(|l| &l.manifest.files)
            .map(|f| (f.path.as_str(), f.bytes))
            .collect();
        let kept = publication
            .manifest
            .files
            .iter()
            .zip(&publication.sources)
            .filter(|(_, source)| matches!(source, FileSource::InPlace));
        for (file, _) in kept {
            let held = self.keys.get(&file.path).copied();
            let why = match (listed.get(file.path.as_str()), held) {
                (None, _) => "the last commit does not list it",
                (Some(_), None) => "it is gone from the output",
                (Some(&bytes), Some(size)) if bytes != size || bytes != file.bytes => {
                    "it is not the size the last commit lists"
                }
                _ => continue,
            };
            return Err(Error::Storage {
                url: prefix.url_of(&prefix.key_of(&file.path)),
                message: format!(
                    "cannot keep it in place: {why}; the output was changed by something \
                     else than session-etl: rerun with --full-refresh"
                ),
            });
        }
        Ok(())
    }
}

/// A bucket prefix seen as a folder: an output, or a shard output that `commit` reads.
pub struct BucketDir<'a> {
    storage: &'a Storage,
    prefix: &'a BucketPrefix,
    store: Arc<dyn ObjectStore>,
}

/// What a build publishes into a bucket output.
#[derive(Debug)]
pub struct Publication {
    /// Every data file, relative to the output.
    pub manifest: Manifest,
    /// Where each file of the manifest comes from, in the same order.
    pub sources: Vec<FileSource>,
    /// The output's `_run.json`.
    pub summary: serde_json::Value,
}

/// Where a file to publish is now.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// On this machine (the staging folder, a local shard output).
    Local(std::path::PathBuf),
    /// An object (of a shard output in a bucket): copied inside the store when it is the
    /// output's bucket, else streamed through this machine.
    Object(BucketPrefix),
    /// Already in the output, listed by its last commit (an incremental run's kept
    /// partitions): neither uploaded nor copied, and never deleted by this run.
    InPlace,
}

impl Publication {
    /// What the run `run_id` wrote into its staging folder `dir`: its `_manifest.json`,
    /// `_run.json` and the files they list. A listed file that is not in `dir` is one the
    /// run kept in place; the commit checks that the output still holds it.
    pub fn staged(dir: &Path, run_id: &str) -> Result<Publication> {
        let mut manifest = Manifest::read(dir).map_err(Error::Internal)?;
        let path = dir.join(RUN_SUMMARY);
        let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
        let summary = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Internal(format!("read back {}: {e}", path.display())))?;
        let mut paired: Vec<(ManifestFile, FileSource)> = manifest
            .files
            .drain(..)
            .map(|file| Publication::staged_file(dir, run_id, file))
            .collect();
        // Stamped names sort elsewhere: keep the manifest in path order, each source with
        // its file.
        paired.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let (files, sources) = paired.into_iter().unzip();
        Ok(Publication {
            manifest: Manifest { files },
            sources,
            summary,
        })
    }
}

impl Publication {
    /// The file `file` of the staging folder `dir` of the run `run_id`, under the object name
    /// it is published as, and where it comes from: `dir`, or, when `dir` does not hold it,
    /// the output itself (a file the run kept in place).
    pub fn staged_file(
        dir: &Path,
        run_id: &str,
        mut file: ManifestFile,
    ) -> (ManifestFile, FileSource) {
        let local = Manifest::path_in(dir, &file);
        if local.is_file() {
            file.path = object_name(&file.path, run_id);
            (file, FileSource::Local(local))
        } else {
            (file, FileSource::InPlace)
        }
    }
}

impl Base<'_> {
    /// The output.
    pub fn prefix(&self) -> &BucketPrefix {
        self.dir.prefix
    }

    /// The manifest of the last commit, if there is one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.record.map(|r| &r.manifest)
    }

    /// The local folder fetched files are in.
    pub fn mirror(&self) -> &Path {
        self.mirror.path()
    }

    /// Fetches every file the last commit lists in the top-level `folder` into the mirror,
    /// under the names the run gave them in its staging folder (`_state/files.parquet`, not
    /// the object's `_state/<run>-files.parquet`).
    pub fn fetch_folder(&self, folder: &str, stop: &StopFlag) -> Result<()> {
        let Some(record) = self.record else {
            return Ok(());
        };
        let files: Vec<(ManifestFile, String)> = record
            .manifest
            .files
            .iter()
            .filter(|f| f.folder() == Some(folder))
            .map(|f| (f.clone(), staged_name(&f.path, &record.run_id).into_owned()))
            .collect();
        self.dir
            .download(files, self.mirror(), stop)
            .map_err(rebuild_hint)
    }

    /// Fetches `files` of the last commit into the mirror, at their relative paths.
    pub fn fetch(&self, files: &[ManifestFile], stop: &StopFlag) -> Result<()> {
        let files = files.iter().map(|f| (f.clone(), f.path.clone())).collect();
        self.dir
            .download(files, self.mirror(), stop)
            .map_err(rebuild_hint)
    }
}

/// A published output's file that cannot be fetched cannot be built on: the way out is to
/// rebuild it whole.
fn rebuild_hint(e: Error) -> Error {
    match e {
        Error::Storage { url, message } => Error::Storage {
            url,
            message: format!("{message}; rerun with --full-refresh to rebuild the output whole"),
        },
        other => other,
    }
}

/// The object name of the file `relative` of the run `run_id`. Every object a run uploads
/// carries its run id, so that no upload overwrites an object of the published output before
/// the commit point: the writers' files are named so already
/// (`sessions/date=…/<run>-00000.parquet`), the others (the incremental state) get it in
/// front (`_state/<run>-files.parquet`).
fn object_name(relative: &str, run_id: &str) -> String {
    let (folder, name) = relative.rsplit_once('/').unwrap_or(("", relative));
    if is_stamped(name) {
        return relative.to_owned();
    }
    match folder {
        "" => format!("{run_id}-{name}"),
        folder => format!("{folder}/{run_id}-{name}"),
    }
}

/// The name a file published as the object `relative` by the run `run_id` had in that run's
/// staging folder: [`object_name`] undone.
fn staged_name<'r>(relative: &'r str, run_id: &str) -> std::borrow::Cow<'r, str> {
    let (folder, name) = relative.rsplit_once('/').unwrap_or(("", relative));
    match name.strip_prefix(run_id).and_then(|n| n.strip_prefix('-')) {
        Some(original) => match folder {
            "" => original.to_owned().into(),
            folder => format!("{folder}/{original}").into(),
        },
        None => relative.into(),
    }
}

impl<'a> BucketDir<'a> {
    /// The prefix `prefix`, through its bucket's client.
    pub fn new(storage: &'a Storage, prefix: &'a BucketPrefix) -> Result<BucketDir<'a>> {
        Ok(BucketDir {
            storage,
            prefix,
            store: storage.store(prefix)?,
        })
    }

    /// The object `relative`, or `None` when there is none.
    pub fn read(&self, relative: &str) -> Result<Option<Bytes>> {
        let path = self.path(relative)?;
        let store = Arc::clone(&self.store);
        let got = self
            .storage
            .block_on(async move { store.get(&path).await?.bytes().await })?;
        match got {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("read", relative)(e)),
        }
    }

    /// Every object under the prefix and its size, by relative key.
    pub fn sizes(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        Ok(self.list_meta()?.into_iter().collect())
    }

    fn path(&self, relative: &str) -> Result<ObjectPath> {
        ObjectPath::parse(self.prefix.key_of(relative)).map_err(|e| Error::Storage {
            url: self.prefix.url_of(&self.prefix.key_of(relative)),
            message: format!("not a valid object name: {e}"),
        })
    }

    fn failed(&self, what: &str, relative: &str) -> impl Fn(object_store::Error) -> Error + '_ {
        let url = self.prefix.url_of(&self.prefix.key_of(relative));
        let what = what.to_owned();
        move |e| Error::Storage {
            url: url.clone(),
            message: redact(&format!("cannot {what}: {e}")),
        }
    }

    fn list(&self) -> Result<BTreeSet<String>> {
        Ok(self.list_meta()?.into_iter().map(|(k, _)| k).collect())
    }

    fn list_meta(&self) -> Result<Vec<(String, u64)>> {
        let store = Arc::clone(&self.store);
        let prefix = self.prefix.clone();
        let listed = self.storage.block_on(async move {
            let mut listed = Vec::new();
            objects::list_under(store.as_ref(), &prefix, |object| {
                listed.push(object);
                Ok(())
            })
            .await
            .map(|()| listed)
        })??;
        let start = match self.prefix.prefix.as_str() {
            "" => 0,
            p => p.len() + 1,
        };
        Ok(listed
            .into_iter()
            .filter_map(|o| Some((o.key.get(start..)?.to_owned(), o.size)))
            .collect())
    }

    /// The object `relative`, which the listing showed: gone since is an error.
    fn get(&self, relative: &str) -> Result<Bytes> {
        self.read(relative)?.ok_or_else(|| Error::Storage {
            url: self.prefix.url_of(&self.prefix.key_of(relative)),
            message: "cannot read: the object is gone".into(),
        })
    }

    fn put(&self, relative: &str, body: Vec<u8>) -> Result<()> {
        self.put_mode(relative, body, PutMode::Overwrite)?
            .map_err(self.failed("write", relative))
    }

    /// A PUT whose store error the caller looks at (a conditional write that lost).
    fn put_mode(
        &self,
        relative: &str,
        body: Vec<u8>,
        mode: PutMode,
    ) -> Result<std::result::Result<(), object_store::Error>> {
        let path = self.path(relative)?;
        let store = Arc::clone(&self.store);
        let options = PutOptions::from(mode);
        let result = self.storage.block_on(async move {
            store.put_opts(&path, PutPayload::from(body), options).await
        })?;
        Ok(result.map(|_| ()))
    }

    fn delete(&self, relatives: Vec<String>) -> Result<u64> {
        let paths = relatives
            .iter()
            .map(|r| self.path(r))
            .collect::<Result<Vec<_>>>()?;
        let store = Arc::clone(&self.store);
        let deleted = self.storage.block_on(async move {
            futures::stream::iter(paths)
                .map(|path| {
                    let store = Arc::clone(&store);
                    async move { store.delete(&path).await }
                })
                .buffer_unordered(16)
                .collect::<Vec<_>>()
                .await
        })?;
        let mut count = 0;
        for (result, relative) in deleted.into_iter().zip(&relatives) {
            match result {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => count += 1,
                Err(e) => return Err(self.failed("delete", relative)(e)),
            }
        }
        Ok(count)
    }

    /// Downloads each `(file, to)` to `into/to`, a few at a time, streaming each body to disk,
    /// and checks its size against the manifest's.
    pub fn download(
        &self,
        files: Vec<(ManifestFile, String)>,
        into: &Path,
        stop: &StopFlag,
    ) -> Result<()> {
        let mut jobs = Vec::with_capacity(files.len());
        for (file, to) in files {
            let local = to.split('/').fold(into.to_owned(), |p, c| p.join(c));
            if let Some(parent) = local.parent() {
                std::fs::create_dir_all(parent).map_err(Error::io("create folder", parent))?;
            }
            jobs.push((self.path(&file.path)?, local, file));
        }
        let store = Arc::clone(&self.store);
        let stop = stop.clone();
        let results = self.storage.block_on(async move {
            futures::stream::iter(jobs)
                .map(|(path, local, file)| {
                    let store = Arc::clone(&store);
                    let stop = stop.clone();
                    async move {
                        if stop.is_raised() {
                            return (file, Ok(None));
                        }
                        let done = download_object(store, &path, &local).await;
                        (file, done.map(Some))
                    }
                })
                .buffer_unordered(DOWNLOADS_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
        })?;
        for (file, result) in results {
            match result {
                Ok(Some(bytes)) if bytes == file.bytes => {}
                Ok(Some(bytes)) => {
                    return Err(Error::Storage {
                        url: self.prefix.url_of(&self.prefix.key_of(&file.path)),
                        message: format!(
                            "holds {bytes} bytes, the manifest that lists it says {}: it was \
                             changed after its run wrote it",
                            file.bytes
                        ),
                    })
                }
                Ok(None) => return Err(Error::Interrupted),
                Err(e) => return Err(self.failed("download", &file.path)(e)),
            }
        }
        Ok(())
    }

    /// Puts every file of `publication` in place under its name, a few at a time: local
    /// files are uploaded (large ones in parts), objects of this bucket copied inside the
    /// store, objects of another bucket streamed through.
    fn upload(&self, publication: &Publication, stop: &StopFlag) -> Result<()> {
        let mut jobs = Vec::with_capacity(publication.sources.len());
        for (file, source) in publication.manifest.files.iter().zip(&publication.sources) {
            let from = match source {
                FileSource::InPlace => continue,
                FileSource::Local(path) => From::Local(path.clone()),
                FileSource::Object(object) => {
                    let path = ObjectPath::parse(&object.prefix).map_err(|e| Error::Storage {
                        url: object.to_string(),
                        message: format!("not a valid object name: {e}"),
                    })?;
                    let same =
                        object.scheme == self.prefix.scheme && object.bucket == self.prefix.bucket;
                    match same {
                        true => From::Copy(path),
                        false => From::Stream(self.storage.store(object)?, path),
                    }
                }
            };
            jobs.push((from, self.path(&file.path)?, file.path.clone()));
        }
        let store = Arc::clone(&self.store);
        let stop = stop.clone();
        let results = self.storage.block_on(async move {
            futures::stream::iter(jobs)
                .map(|(from, to, relative)| {
                    let store = Arc::clone(&store);
                    let stop = stop.clone();
                    async move {
                        if stop.is_raised() {
                            return (relative, Ok(false));
                        }
                        let done = match from {
                            From::Local(local) => upload_file(store, &local, to, PART_BYTES).await,
                            From::Copy(path) => store.copy(&path, &to).await,
                            From::Stream(source, path) => {
                                stream_object(source, &path, store, to).await
                            }
                        };
                        (relative, done.map(|()| true))
                    }
                })
                .buffer_unordered(UPLOADS_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
        })?;
        for (relative, result) in results {
            match result {
                Ok(true) => {}
                Ok(false) => return Err(Error::Interrupted),
                Err(e) => return Err(self.failed("upload", &relative)(e)),
            }
        }
        Ok(())
    }

    /// What the prefix holds, refusing a prefix that is not session-etl's.
    fn inspect(&self) -> Result<Published> {
        let keys = self.sizes()?;
        let commits: Vec<&String> = keys
            .keys()
            .filter(|k| k.starts_with(&format!("{COMMITS}/")) && k.ends_with(".json"))
            .collect();
        let last = match commits.last() {
            Some(key) => {
                let bytes = self.get(key)?;
                let record: CommitRecord =
                    serde_json::from_slice(&bytes).map_err(|e| Error::ForeignOutput {
                        path: self.prefix.to_string().into(),
                        why: format!("its commit record {key} cannot be read: {e}"),
                    })?;
                if record.tool != TOOL || record.output_format > OUTPUT_FORMAT {
                    return Err(Error::ForeignOutput {
                        path: self.prefix.to_string().into(),
                        why: format!("its commit record {key} is not one this version writes"),
                    });
                }
                Some(record)
            }
            None => None,
        };
        let summary = match keys.contains_key(RUN_SUMMARY) {
            true => summary_if_ours(&self.get(RUN_SUMMARY)?),
            false => None,
        };
        let announced = summary
            .as_ref()
            .and_then(|s| s["run_id"].as_str())
            .map(str::to_owned);
        let existing = match (&last, summary) {
            (Some(record), _) => Existing::Ours(record.summary.clone()),
            (None, Some(summary)) => Existing::Ours(summary),
            (None, None) if keys.is_empty() => Existing::Absent,
            // Claimed by a run that has not committed (yet, or ever: killed).
            (None, None) if self.claimed(&keys)? => Existing::Empty,
            (None, None) => {
                return Err(Error::ForeignOutput {
                    path: self.prefix.to_string().into(),
                    why: "it holds objects and no _run.json naming session-etl (a _SUCCESS \
                          alone may be Spark's or Hadoop's)"
                        .into(),
                })
            }
        };
        Ok(Published {
            existing,
            announced,
            last,
            keys,
        })
    }

    /// True when a run's claim marks the prefix as session-etl's.
    fn claimed(&self, keys: &std::collections::BTreeMap<String, u64>) -> Result<bool> {
        let Some(claim) = keys.keys().find(|k| k.starts_with(&format!("{CLAIMS}/"))) else {
            return Ok(false);
        };
        let bytes = self.get(claim)?;
        let claim: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Ok(claim["tool"] == TOOL)
    }

    /// Marks the prefix as session-etl's for the run `run_id`, which builds on commit
    /// `base` (0: none) and so can only ever commit `base + 1`.
    fn claim(&self, run_id: &str, base: u64) -> Result<String> {
        let key = format!("{CLAIMS}/{run_id}.json");
        let body = serde_json::json!({
            "tool": TOOL,
            "run_id": run_id,
            "base_seq": base,
            "started_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        self.put(&key, body.to_string().into_bytes())?;
        Ok(key)
    }

    /// Step 4: the announcement of `record` (again, after a crash).
    fn announce(&self, record: &CommitRecord) -> Result<()> {
        let manifest = serde_json::to_vec_pretty(&record.manifest)
            .map_err(|e| Error::Internal(format!("serialize the manifest: {e}")))?;
        let summary = serde_json::to_vec_pretty(&record.summary)
            .map_err(|e| Error::Internal(format!("serialize _run.json: {e}")))?;
        self.put(MANIFEST, manifest)?;
        self.put(RUN_SUMMARY, summary)?;
        self.put(SUCCESS_MARKER, Vec::new())
    }

    /// Step 5: removes what `record` does not list and is provably session-etl's and dead:
    /// the previous manifest's files, and the files of runs that can no longer commit. A run
    /// can commit only the commit after the one it built on (its claim says which), so the
    /// files of a run that built on an older commit than `record` are a killed or beaten
    /// run's; those of a run that started since `record` (it builds on it) are left alone, and
    /// so is its claim, whatever the machines' clocks say.
    fn clean(&self, record: &CommitRecord, previous: Option<&CommitRecord>) -> Result<u64> {
        let keys = self.list()?;
        let mut live = BTreeSet::new();
        let mut dead_claims = Vec::new();
        for claim in keys.iter().filter(|k| k.starts_with(&format!("{CLAIMS}/"))) {
            let run = claim
                .strip_prefix(&format!("{CLAIMS}/"))
                .and_then(|n| n.strip_suffix(".json"))
                .unwrap_or_default();
            let base = self
                .read(claim)?
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|c| c["base_seq"].as_u64());
            match base {
                Some(base) if base >= record.seq => {
                    live.insert(run.to_owned());
                }
                // Gone meanwhile (its run ended), older, or unreadable: dead.
                _ => dead_claims.push(claim.clone()),
            }
        }
        let listed: BTreeSet<&str> = record
            .manifest
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        let previously: BTreeSet<&str> = previous
            .map(|p| p.manifest.files.iter().map(|f| f.path.as_str()).collect())
            .unwrap_or_default();
        let folders: BTreeSet<&str> = record
            .manifest
            .files
            .iter()
            .chain(previous.iter().flat_map(|p| &p.manifest.files))
            .filter_map(|f| f.folder())
            .collect();
        let mut commits: Vec<&String> = keys
            .iter()
            .filter(|k| k.starts_with(&format!("{COMMITS}/")))
            .collect();
        commits.truncate(commits.len().saturating_sub(KEEP_COMMITS));
        let stale: Vec<String> = keys
            .iter()
            .filter(|k| !listed.contains(k.as_str()))
            .filter(|k| {
                previously.contains(k.as_str())
                    || run_of_file(k, &folders).is_some_and(|run| !live.contains(run))
            })
            .chain(commits)
            .cloned()
            .chain(dead_claims)
            .collect();
        self.delete(stale)
    }
}

/// The run that wrote `relative` when it is a data file a run writes
/// (`<folder>/…/<run id>-<n>.<ext>`) in one of `folders`, the top-level folders session-etl
/// writes into (the tables, `exchange/`, `_state/`: those its manifests list).
fn run_of_file<'k>(relative: &'k str, folders: &BTreeSet<&str>) -> Option<&'k str> {
    let (folder, _) = relative.split_once('/')?;
    let name = relative.rsplit('/').next().unwrap_or("");
    let ours = folders.contains(folder);
    let (run, _) = name.rsplit_once('-')?;
    (ours && is_stamped(name)).then_some(run)
}

/// True for a file name that starts with a run id
/// (`20261202T021110Z-15604-00000.parquet`: a run id starts with its UTC second).
fn is_stamped(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 17
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[..8].iter().all(u8::is_ascii_digit)
}

/// Downloads the object `path` into the new file `local`, a chunk at a time; returns its size.
async fn download_object(
    store: Arc<dyn ObjectStore>,
    path: &ObjectPath,
    local: &Path,
) -> std::result::Result<u64, object_store::Error> {
    use std::io::Write;
    let io = |e: std::io::Error| object_store::Error::Generic {
        store: "local mirror",
        source: Box::new(e),
    };
    let mut file = std::fs::File::create_new(local).map_err(io)?;
    let mut body = store.get(path).await?.into_stream();
    let mut size = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        file.write_all(&chunk).map_err(io)?;
        size += chunk.len() as u64;
    }
    file.flush().map_err(io)?;
    Ok(size)
}

/// How one file gets to its place in the output.
enum From {
    Local(std::path::PathBuf),
    Copy(ObjectPath),
    Stream(Arc<dyn ObjectStore>, ObjectPath),
}

/// Copies an object of another bucket to `path`, part by part.
async fn stream_object(
    source: Arc<dyn ObjectStore>,
    from: &ObjectPath,
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
) -> std::result::Result<(), object_store::Error> {
    use tokio::io::AsyncWriteExt;
    let mut body = source.get(from).await?.into_stream();
    let mut writer = object_store::buffered::BufWriter::with_capacity(store, path, PART_BYTES)
        .with_max_concurrency(2);
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => writer.put(chunk).await?,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e);
            }
        }
    }
    writer
        .shutdown()
        .await
        .map_err(|e| object_store::Error::Generic {
            store: "upload",
            source: Box::new(e),
        })
}

/// Uploads one local file to `path`: one PUT when small, a multipart upload in parts of
/// [`PART_BYTES`] otherwise (object_store's `BufWriter` decides), so memory stays at a few
/// parts whatever the file's size.
async fn upload_file(
    store: Arc<dyn ObjectStore>,
    local: &Path,
    path: ObjectPath,
    part_bytes: usize,
) -> std::result::Result<(), object_store::Error> {
    use std::io::Read;
    use tokio::io::AsyncWriteExt;
    let io = |e: std::io::Error| object_store::Error::Generic {
        store: "local staging",
        source: Box::new(e),
    };
    let mut file = std::fs::File::open(local).map_err(io)?;
    let mut left = file.metadata().map_err(io)?.len();
    let mut writer = object_store::buffered::BufWriter::with_capacity(store, path, part_bytes)
        .with_max_concurrency(2);
    loop {
        // A small file takes a buffer of its own size, not a whole part.
        let mut part = vec![
            0;
            usize::try_from(left)
                .unwrap_or(part_bytes)
                .clamp(1, part_bytes)
        ];
        let mut filled = 0;
        while filled < part.len() {
            match file.read(&mut part[filled..]).map_err(io)? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            break;
        }
        part.truncate(filled);
        left = left.saturating_sub(filled as u64);
        if let Err(e) = writer.put(Bytes::from(part)).await {
            let _ = writer.abort().await;
            return Err(e);
        }
    }
    if let Err(e) = writer.shutdown().await {
        let _ = writer.abort().await;
        return Err(object_store::Error::Generic {
            store: "upload",
            source: Box::new(e),
        });
    }
    Ok(())
}

/// Builds a new version of the bucket output `prefix` and commits it with the protocol above.
/// `reads` are the inputs (none may lie under the prefix). `build` may write into a local
/// staging folder; given what the output held and the commit it builds on, it returns its
/// result and what to publish (`None`: nothing).
pub fn replace_bucket_output<T>(
    storage: &Storage,
    prefix: &BucketPrefix,
    reads: &[Location],
    run_id: &str,
    stop: &StopFlag,
    build: impl FnOnce(&Path, &Existing, &Base<'_>) -> Result<(T, Option<Publication>)>,
) -> Result<T> {
    if prefix.prefix.is_empty() {
        return Err(Error::Config(format!(
            "refusing to use the whole bucket {prefix} as the output: give a prefix \
             ({prefix}analytics/sessions); nothing was written"
        )));
    }
    for read in reads.iter().filter_map(Location::as_bucket) {
        if prefix.contains(read) {
            return Err(Error::Config(format!(
                "refusing to use {prefix} as the output: {read} is read by the run, and \
                 replacing {prefix} would remove it; nothing was written"
            )));
        }
    }
    let output = BucketDir::new(storage, prefix)?;
    let published = output.inspect()?;
    // A run killed between its commit and its announcement: finish it first.
    if let Some(last) = &published.last {
        if published.announced.as_deref() != Some(last.run_id.as_str())
            || !published.keys.contains_key(SUCCESS_MARKER)
        {
            output.announce(last)?;
        }
    }
    let base = published.last.as_ref().map_or(0, |l| l.seq);
    let claim = output.claim(run_id, base)?;
    let result = build_and_commit(&output, &published, run_id, stop, build);
    // Committed or not, this run's claim goes (`clean` has removed it after a commit).
    let _ = output.delete(vec![claim]);
    result
}

/// Steps 2 to 5, once the prefix is claimed.
fn build_and_commit<T>(
    output: &BucketDir<'_>,
    published: &Published,
    run_id: &str,
    stop: &StopFlag,
    build: impl FnOnce(&Path, &Existing, &Base<'_>) -> Result<(T, Option<Publication>)>,
) -> Result<T> {
    let prefix = output.prefix;
    let staging = tempfile::Builder::new()
        .prefix(&format!("session-etl-{run_id}-"))
        .tempdir()
        .map_err(Error::io("create staging folder", std::env::temp_dir()))?;
    let base = Base {
        dir: output,
        record: published.last.as_ref(),
        mirror: tempfile::Builder::new()
            .prefix(&format!("session-etl-{run_id}-previous-"))
            .tempdir()
            .map_err(Error::io("create a folder", std::env::temp_dir()))?,
    };
    let (value, publication) = build(staging.path(), &published.existing, &base)?;
    drop(base);
    if stop.is_raised() {
        return Err(Error::Interrupted);
    }
    let Some(publication) = publication else {
        return Ok(value);
    };
    published.still_holds(&publication, prefix)?;
    let uploaded = output.upload(&publication, stop);
    let Publication {
        manifest,
        summary,
        sources,
    } = publication;
    let seq = published.last.as_ref().map_or(1, |l| l.seq + 1);
    let record = CommitRecord {
        tool: TOOL.to_owned(),
        output_format: OUTPUT_FORMAT,
        seq,
        run_id: run_id.to_owned(),
        manifest,
        summary,
    };
    // What this run put there: never what it kept in place, which is the published output's.
    let own_files = || {
        record
            .manifest
            .files
            .iter()
            .zip(&sources)
            .filter(|(_, source)| !matches!(source, FileSource::InPlace))
            .map(|(f, _)| f.path.clone())
            .collect()
    };
    if let Err(e) = uploaded {
        // Best effort: the next run removes what is left.
        let _ = output.delete(own_files());
        return Err(e);
    }
    PausePoint::Publishing.pause_here(stop);
    if stop.is_raised() {
        let _ = output.delete(own_files());
        return Err(Error::Interrupted);
    }
    let body = serde_json::to_vec_pretty(&record)
        .map_err(|e| Error::Internal(format!("serialize the commit record: {e}")))?;
    let key = format!("{COMMITS}/{seq:020}.json");
    match output.put_mode(&key, body, PutMode::Create) {
        Ok(Ok(())) => {}
        Ok(Err(object_store::Error::AlreadyExists { .. })) => {
            let _ = output.delete(own_files());
            return Err(Error::CommitConflict {
                output: prefix.to_string(),
                detail: format!(
                    "commit {seq} was made by another run while this one ran; nothing of \
                     this run was published: rerun it"
                ),
            });
        }
        Ok(Err(e)) => {
            let _ = output.delete(own_files());
            return Err(output.failed("commit", &key)(e));
        }
        Err(e) => {
            let _ = output.delete(own_files());
            return Err(e);
        }
    }
    output.announce(&record)?;
    PausePoint::Swapped.pause_here(stop);
    output.clean(&record, published.last.as_ref())?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_goes_up_whole_in_parts_or_in_one_put() {
        let tmp = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        // 3.5 parts, exactly one part, a small file and an empty one.
        for (name, len) in [
            ("big", 3_500_000),
            ("one", 1 << 20),
            ("small", 10),
            ("empty", 0),
        ] {
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let local = tmp.path().join(name);
            std::fs::write(&local, &body).unwrap();
            let path = ObjectPath::from(name);
            let store = Arc::clone(&store);
            let back = runtime.block_on(async move {
                upload_file(Arc::clone(&store), &local, path.clone(), 1 << 20).await?;
                store.get(&path).await?.bytes().await
            });
            assert_eq!(back.unwrap().as_ref(), &body[..], "{name}");
        }
    }

    #[test]
    fn every_uploaded_object_carries_its_run_id_and_the_state_gets_its_name_back() {
        let run = "20261202T021110Z-15604";
        for (staged, object) in [
            (
                "sessions/date=2026-03-23/20261202T021110Z-15604-00000.parquet",
                "sessions/date=2026-03-23/20261202T021110Z-15604-00000.parquet",
            ),
            (
                "_state/files.parquet",
                "_state/20261202T021110Z-15604-files.parquet",
            ),
            (
                "_state/state.json",
                "_state/20261202T021110Z-15604-state.json",
            ),
        ] {
            assert_eq!(object_name(staged, run), object, "{staged}");
        }
        for (object, staged) in [
            (
                "_state/20261202T021110Z-15604-files.parquet",
                "_state/files.parquet",
            ),
            // Another run's object keeps its name.
            (
                "_state/20261201T021110Z-15604-files.parquet",
                "_state/20261201T021110Z-15604-files.parquet",
            ),
        ] {
            assert_eq!(staged_name(object, run), staged, "{object}");
        }
        // The state's objects are the run's files: the clean-up knows whose they are.
        let folders = BTreeSet::from(["_state"]);
        assert_eq!(
            run_of_file("_state/20261202T021110Z-15604-files.parquet", &folders),
            Some(run)
        );
    }

    #[test]
    fn a_file_kept_in_place_must_be_the_last_commits_and_still_there() {
        let file = |path: &str, bytes| ManifestFile {
            path: path.into(),
            bytes,
            rows: Some(1),
        };
        let kept = "sessions/date=2026-03-23/20261201T000000Z-1-00000.parquet";
        let published = |held: Option<u64>| Published {
            existing: Existing::Absent,
            announced: None,
            last: Some(CommitRecord {
                tool: TOOL.into(),
                output_format: OUTPUT_FORMAT,
                seq: 1,
                run_id: "20261201T000000Z-1".into(),
                manifest: Manifest {
                    files: vec![file(kept, 100)],
                },
                summary: serde_json::Value::Null,
            }),
            keys: held
                .map(|size| (kept.to_owned(), size))
                .into_iter()
                .collect(),
        };
        let keeping = |bytes| Publication {
            manifest: Manifest {
                files: vec![file(kept, bytes)],
            },
            sources: vec![FileSource::InPlace],
            summary: serde_json::Value::Null,
        };
        let prefix = BucketPrefix {
            scheme: crate::storage::Scheme::S3,
            bucket: "b".into(),
            prefix: "out".into(),
        };
        assert!(published(Some(100))
            .still_holds(&keeping(100), &prefix)
            .is_ok());
        for (held, bytes, why) in [
            (None, 100, "gone"),
            (Some(99), 100, "not the size"),
            (Some(100), 99, "not the size"),
        ] {
            let err = published(held)
                .still_holds(&keeping(bytes), &prefix)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why) && err.contains("--full-refresh"), "{err}");
        }
    }

    #[test]
    fn only_run_id_named_files_of_session_etl_folders_belong_to_a_run() {
        let run = "20261202T021110Z-15604";
        let folders = BTreeSet::from(["sessions", "rejects", "exchange"]);
        for (path, expected) in [
            (
                "sessions/date=2026-03-23/20261202T021110Z-15604-00000.parquet",
                Some(run),
            ),
            ("exchange/20261202T021110Z-15604-00003.jsonl", Some(run)),
            (
                "rejects/20261202T021110Z-15604-shard0of4-00000.parquet",
                Some("20261202T021110Z-15604-shard0of4"),
            ),
            ("sessions/part-00000.parquet", None),
            ("spark/20261202T021110Z-15604-00000.parquet", None),
            ("20261202T021110Z-15604-00000.parquet", None),
            ("_SUCCESS", None),
        ] {
            assert_eq!(run_of_file(path, &folders), expected, "{path}");
        }
    }
}
