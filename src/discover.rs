//! Stage 1 of the data flow: input paths → the sorted list of session files to read.
//!
//! Directories are walked recursively; every `*.json` and `*.json.gz` file is a candidate
//! whatever its naming (`call-<id>.json`, `metadata.json`, dated `YYYY/MM/DD/` folders).
//! Files named explicitly on the command line are always read. Everything else is counted
//! as ignored. The list is sorted by path so that every run sees files in the same order,
//! which makes duplicate resolution and output row order deterministic.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::parse::read::Source;
use crate::shared::error::{Error, Result};
use crate::shared::paths::Identity;
use crate::shared::reject::FileError;
use crate::shared::stop::{PausePoint, StopFlag};
use crate::shared::vocab::Compression;
use crate::storage::objects::{self, Listed};
use crate::storage::{Bodies, BucketPrefix, Location, ObjectRequest, PendingBodies, Storage};

/// One input file, as a view into an [`InputFiles`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputFile<'a> {
    /// Path as found (relative inputs stay relative).
    pub path: &'a Path,
    /// Size on disk at discovery time.
    pub size: u64,
    /// Plain or gzip.
    pub compression: Compression,
    /// Last modification, nanoseconds since the epoch (`None` where the platform has none).
    /// With `size`, it lets an incremental run skip an unchanged file without opening it.
    pub modified_ns: Option<i64>,
    /// On this machine's disk, or an object of a bucket (its `path` is then the object's URL).
    pub origin: Origin,
    /// For an object, a hash of the store's version of its content (ETag, or GCS
    /// generation): with `size`, what tells an incremental run it is unchanged, to the byte
    /// (a modification time in seconds would miss a same-size rewrite within the second).
    pub version: Option<u64>,
}

/// Where an input file is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A local file: `path` is its path.
    #[default]
    Disk,
    /// An object: `path` is its URL, the bucket is the [`InputFiles::bucket`] of this index.
    Bucket(u16),
}

impl<'a> InputFile<'a> {
    /// The file name, used as the last resort to tell calls from chats.
    pub fn file_name(&self) -> &'a str {
        self.path.file_name().and_then(|n| n.to_str()).unwrap_or("")
    }

    /// Where a whole read of the file `index` takes its bytes from: its path, or its object's
    /// body in `bodies` (see [`InputFiles::fetch_whole`]), or why the object could not be
    /// read. An object that was not fetched reads as empty: listed too large, it is refused by
    /// its size unread, as a local file is; otherwise the run is stopping.
    pub fn source(&self, index: u32, bodies: &'a Bodies) -> Result<Source<'a>, &'a FileError> {
        match (self.origin, bodies.get(index)) {
            (Origin::Disk, _) => Ok(Source::Disk(self.path)),
            (_, Some(Ok(body))) => Ok(Source::Fetched(body)),
            (_, Some(Err(error))) => Err(error),
            (_, None) => Ok(Source::Fetched(&[])),
        }
    }
}

/// A list of input files whose paths are packed into one buffer.
///
/// The list lives for the whole run and is the largest structure that grows with the input: a
/// `PathBuf` per file cost about 145 bytes with its allocation and slack (33 MB for 224,490
/// files, scattered among short-lived blocks), the packed form the path's own bytes plus 64.
#[derive(Debug, Default, Clone)]
pub struct InputFiles {
    /// Every path's encoded bytes, back to back, in the order they were added.
    paths: Vec<u8>,
    entries: Vec<Entry>,
    /// The buckets objects come from ([`Origin::Bucket`] indexes it).
    buckets: Vec<BucketPrefix>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The path's bytes in `InputFiles::paths`.
    path_start: usize,
    path_end: usize,
    compression: Compression,
    size: u64,
    modified_ns: Option<i64>,
    origin: Origin,
    version: Option<u64>,
}

impl InputFiles {
    /// The index [`Origin::Bucket`] gives to objects of `bucket`'s bucket.
    pub fn bucket_index(&mut self, bucket: &BucketPrefix) -> Result<u16> {
        let root = BucketPrefix {
            prefix: String::new(),
            ..bucket.clone()
        };
        if let Some(i) = self.buckets.iter().position(|b| *b == root) {
            return Ok(i as u16);
        }
        let index = u16::try_from(self.buckets.len())
            .map_err(|_| Error::Config("more than 65,535 buckets among the inputs".into()))?;
        self.buckets.push(root);
        Ok(index)
    }

    /// The bucket of an object, by its [`Origin::Bucket`] index.
    pub fn bucket(&self, index: u16) -> Option<&BucketPrefix> {
        self.buckets.get(usize::from(index))
    }

    /// Starts fetching whole, `read_concurrency` at a time, the bucket objects among the
    /// files at `indices`: all but the plain objects listed larger than `max_file_bytes`,
    /// which are rejected unread as a local file is. Each read stops at `max_file_bytes`.
    pub fn fetch_whole(
        &self,
        indices: impl IntoIterator<Item = usize>,
        storage: &Storage,
        max_file_bytes: u64,
        stop: &StopFlag,
    ) -> Result<PendingBodies> {
        let wanted =
            |f: &InputFile<'_>| f.compression != Compression::None || f.size <= max_file_bytes;
        let requests = self.object_requests(indices, storage, wanted)?;
        storage.read_objects(requests, max_file_bytes, stop)
    }

    /// Requests for the files at `indices` that are bucket objects and that `wanted` keeps.
    pub fn object_requests(
        &self,
        indices: impl IntoIterator<Item = usize>,
        storage: &Storage,
        wanted: impl Fn(&InputFile<'_>) -> bool,
    ) -> Result<Vec<ObjectRequest>> {
        let mut requests = Vec::new();
        for index in indices {
            let Some(file) = self.get(index) else {
                continue;
            };
            let Some((bucket, key)) = self.object_of(&file) else {
                continue;
            };
            if wanted(&file) {
                requests.push(ObjectRequest {
                    index: index as u32,
                    store: storage.store(bucket)?,
                    key: key.to_owned(),
                    size: file.size,
                    compression: file.compression,
                });
            }
        }
        Ok(requests)
    }

    /// The bucket and key of `file` when it is an object.
    pub fn object_of<'f>(&self, file: &InputFile<'f>) -> Option<(&BucketPrefix, &'f str)> {
        let Origin::Bucket(index) = file.origin else {
            return None;
        };
        let bucket = self.bucket(index)?;
        let url = file.path.to_str()?;
        Some((bucket, url.strip_prefix(bucket.root().as_str())?))
    }

    /// Appends a file.
    pub fn push(&mut self, file: InputFile<'_>) {
        let bytes = file.path.as_os_str().as_encoded_bytes();
        let path_start = self.paths.len();
        self.paths.extend_from_slice(bytes);
        self.entries.push(Entry {
            path_start,
            path_end: self.paths.len(),
            compression: file.compression,
            size: file.size,
            modified_ns: file.modified_ns,
            origin: file.origin,
            version: file.version,
        });
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no files.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The file at `index`.
    pub fn get(&self, index: usize) -> Option<InputFile<'_>> {
        self.entries.get(index).map(|entry| self.view(entry))
    }

    /// The files, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = InputFile<'_>> + Clone + '_ {
        self.entries.iter().map(|entry| self.view(entry))
    }

    /// The files, in order, for rayon.
    pub fn par_iter(&self) -> impl IndexedParallelIterator<Item = InputFile<'_>> + '_ {
        self.entries.par_iter().map(|entry| self.view(entry))
    }

    /// The files at `indices`, in that order. Indices come from this list: one out of range
    /// is a bug, and panics rather than shifting every file after it.
    pub fn subset(&self, indices: &[usize]) -> InputFiles {
        let mut subset = InputFiles {
            buckets: self.buckets.clone(),
            ..InputFiles::default()
        };
        for &i in indices {
            subset.push(self.view(&self.entries[i]));
        }
        subset
    }

    fn path(&self, entry: &Entry) -> &Path {
        // Entries are only made by `push`, with the range of the bytes it appended.
        let bytes = &self.paths[entry.path_start..entry.path_end];
        // SAFETY: `bytes` is exactly what `as_encoded_bytes` returned for one whole `OsStr`
        // in `push`, which is what `from_encoded_bytes_unchecked` requires.
        Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(bytes) })
    }

    fn view(&self, entry: &Entry) -> InputFile<'_> {
        InputFile {
            path: self.path(entry),
            size: entry.size,
            compression: entry.compression,
            modified_ns: entry.modified_ns,
            origin: entry.origin,
            version: entry.version,
        }
    }

    /// Sorts by path (the order every run sees files in) and drops repeated paths.
    fn sort_and_dedup(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.par_sort_by(|a, b| self.path(a).cmp(self.path(b)));
        entries.dedup_by(|a, b| self.path(a) == self.path(b));
        entries.shrink_to_fit();
        self.entries = entries;
        self.paths.shrink_to_fit();
    }
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Session files, sorted by path, without repeats.
    pub files: InputFiles,
    /// Files seen under input folders that are not session files (recordings, transcripts,
    /// FIFOs and devices...).
    pub ignored: u64,
    /// Symbolic links under the inputs that lead outside every input folder: not followed
    /// unless asked (`follow_external_links`).
    pub external_links: u64,
    /// Entries the walk could not read, in walk order.
    pub walk_errors: Vec<WalkError>,
}

impl Discovery {
    /// The first folder that could not be read, and how many could not.
    pub fn unreadable(&self) -> (Option<&str>, u64) {
        let mut unreadable = self
            .walk_errors
            .iter()
            .filter(|e| e.kind == WalkErrorKind::Unreadable);
        let first = unreadable.next().map(|e| e.message.as_str());
        (first, first.map_or(0, |_| 1 + unreadable.count() as u64))
    }
}

/// An entry the walk could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// Why.
    pub kind: WalkErrorKind,
    /// The folder or file, when known.
    pub path: Option<PathBuf>,
    /// What the walk said, naming the path.
    pub message: String,
}

/// Kinds of walk errors: a loop loses nothing (its files are reached by the other path), an
/// unreadable folder loses every file inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkErrorKind {
    /// A symbolic link back to a folder above it: reported, not followed.
    Loop,
    /// A folder (or an input root) that could not be listed: permissions, a stale mount...
    Unreadable,
}

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Folders never to read (the output and its staging folder), however they are spelled.
    pub exclude: Vec<PathBuf>,
    /// Bucket prefixes never to read (an output in a bucket).
    pub exclude_buckets: Vec<BucketPrefix>,
    /// Follow symbolic links that lead outside every input folder.
    pub follow_external_links: bool,
}

/// Checks that a named input exists and is a regular file or a folder (after links): a FIFO
/// would block the run, a device never end. Returns what it is.
pub fn named_input(input: &Path) -> Result<std::fs::Metadata> {
    let error = |source| Error::Input {
        path: input.to_owned(),
        source,
    };
    let meta = std::fs::metadata(input).map_err(error)?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(error(std::io::Error::other(
            "not a regular file or a folder (a FIFO, socket or device): nothing to read",
        )));
    }
    Ok(meta)
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

/// Walks `inputs`. Every path is listed under its input's canonical form (absolute, links
/// resolved), so two spellings of one input (`./in`, `../x/in`, a link to it) give the same
/// paths, in the same order, to the tables and the incremental state. Folders that are one
/// of `options.exclude` are skipped whatever path leads to them, so an output placed inside
/// an input folder is never read back. Symbolic links are followed only while they stay
/// inside the inputs. `stop` is looked at for every entry.
pub fn discover(inputs: &[PathBuf], options: &WalkOptions, stop: &StopFlag) -> Result<Discovery> {
    let roots = inputs
        .iter()
        .map(|input| {
            std::fs::canonicalize(input).map_err(|source| Error::Input {
                path: input.to_owned(),
                source,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let walk = Walk {
        roots: &roots,
        excluded: options
            .exclude
            .iter()
            .filter_map(|p| Identity::of(p))
            .collect(),
        follow_external_links: options.follow_external_links,
        external_links: std::cell::Cell::new(0),
    };
    let mut found = Discovery::default();
    for (input, root) in inputs.iter().zip(&roots) {
        let meta = named_input(input)?;
        if meta.is_file() {
            found.files.push(named_file(input, root, &meta));
        } else {
            walk.folder(root, &mut found, stop)?;
        }
    }
    found.external_links = walk.external_links.get();
    found.files.sort_and_dedup();
    Ok(found)
}

/// Discovers `inputs` wherever they live: local paths as [`discover`] does, bucket prefixes
/// by listing them (recursively, page by page) with the same rules: `*.json` and `*.json.gz`
/// objects are session files, names with a hidden part below the prefix (`.tmp/x.json`) are
/// skipped, the rest is counted as ignored, and an object named as the input is always read.
/// An object's path is its URL (`s3://bucket/key`), which every table and reject shows.
pub fn discover_locations(
    inputs: &[Location],
    options: &WalkOptions,
    storage: &Storage,
    stop: &StopFlag,
) -> Result<Discovery> {
    let local: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|l| l.as_local().map(Path::to_owned))
        .collect();
    let mut found = discover(&local, options, stop)?;
    for bucket in inputs.iter().filter_map(Location::as_bucket) {
        list_bucket(bucket, options, storage, &mut found, stop)?;
    }
    found.files.sort_and_dedup();
    Ok(found)
}

/// Lists one bucket prefix into `found`.
fn list_bucket(
    input: &BucketPrefix,
    options: &WalkOptions,
    storage: &Storage,
    found: &mut Discovery,
    stop: &StopFlag,
) -> Result<()> {
    let store = storage.store(input)?;
    let origin = Origin::Bucket(found.files.bucket_index(input)?);
    let excluded: Vec<String> = options
        .exclude_buckets
        .iter()
        .filter(|b| b.scheme == input.scheme && b.bucket == input.bucket)
        .map(|b| format!("{}/", b.prefix))
        .collect();
    let root = input.root();
    let mut url = String::new();
    storage.block_on(objects::list(store, input, |object: Listed| {
        if stop.is_raised() {
            return Err(Error::Interrupted);
        }
        let named = object.key == input.prefix;
        let below = match input.prefix.as_str() {
            _ if named => "",
            "" => object.key.as_str(),
            prefix => object
                .key
                .strip_prefix(prefix)
                .and_then(|k| k.strip_prefix('/'))
                .unwrap_or(&object.key),
        };
        if excluded.iter().any(|e| object.key.starts_with(e.as_str()))
            || below.split('/').any(|part| part.starts_with('.'))
        {
            return Ok(());
        }
        let compression = match session_file_compression(&object.key) {
            Some(compression) => compression,
            None if named && object.key.to_ascii_lowercase().ends_with(".gz") => Compression::Gzip,
            None if named => Compression::None,
            None => {
                found.ignored += 1;
                return Ok(());
            }
        };
        if found.files.is_empty() {
            PausePoint::Discovering.pause_here(stop);
        }
        url.clear();
        url.push_str(&root);
        url.push_str(&object.key);
        found.files.push(InputFile {
            path: Path::new(&url),
            size: object.size,
            compression,
            modified_ns: object.modified_ns,
            origin,
            version: object
                .version
                .as_deref()
                .map(|v| xxhash_rust::xxh3::xxh3_64(v.as_bytes())),
        });
        Ok(())
    }))?
}

/// A file named as an input: always read, whatever its name (`.gz` by the name given).
fn named_file<'a>(input: &Path, root: &'a Path, meta: &std::fs::Metadata) -> InputFile<'a> {
    let gzip = input
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".gz");
    InputFile {
        path: root,
        size: meta.len(),
        compression: if gzip {
            Compression::Gzip
        } else {
            Compression::None
        },
        modified_ns: modified_ns(meta),
        origin: Origin::Disk,
        version: None,
    }
}

/// What every folder walk of one discovery shares.
struct Walk<'a> {
    /// The inputs, resolved: a link is followed only when it leads inside one of them.
    roots: &'a [PathBuf],
    /// Folders never entered (the output), by identity, however they are spelled.
    excluded: Vec<Identity>,
    follow_external_links: bool,
    /// Links skipped because they lead outside the inputs.
    external_links: std::cell::Cell<u64>,
}

impl Walk<'_> {
    /// Whether the walk enters or lists `entry`: not hidden, not a link out of the inputs
    /// (unless asked), not an excluded folder.
    fn keeps(&self, entry: &walkdir::DirEntry, root: &Path) -> bool {
        if entry.depth() == 0 {
            return true;
        }
        if is_hidden(entry.path(), root) {
            return false;
        }
        if entry.path_is_symlink() && !self.follow_external_links {
            let inside = std::fs::canonicalize(entry.path())
                .is_ok_and(|target| self.roots.iter().any(|r| target.starts_with(r)));
            if !inside {
                self.external_links.set(self.external_links.get() + 1);
                return false;
            }
        }
        !(entry.file_type().is_dir()
            && !self.excluded.is_empty()
            && Identity::of(entry.path()).is_some_and(|id| self.excluded.contains(&id)))
    }

    /// Walks one input folder into `found`: session files, ignored files, walk errors.
    fn folder(&self, root: &Path, found: &mut Discovery, stop: &StopFlag) -> Result<()> {
        let walker = WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .filter_entry(|entry| self.keeps(entry, root));
        for entry in walker {
            if stop.is_raised() {
                return Err(Error::Interrupted);
            }
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    found.walk_errors.push(WalkError {
                        kind: if e.loop_ancestor().is_some() {
                            WalkErrorKind::Loop
                        } else {
                            WalkErrorKind::Unreadable
                        },
                        path: e.path().map(Path::to_owned),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            match session_file_compression(&name) {
                // A FIFO or a device named like a session file is not one: reading it would
                // block or never end.
                Some(compression) if entry.file_type().is_file() => {
                    if found.files.is_empty() {
                        PausePoint::Discovering.pause_here(stop);
                    }
                    let meta = entry.metadata().ok();
                    found.files.push(InputFile {
                        path: entry.path(),
                        size: meta.as_ref().map_or(0, |m| m.len()),
                        compression,
                        modified_ns: meta.as_ref().and_then(modified_ns),
                        origin: Origin::Disk,
                        version: None,
                    });
                }
                _ => found.ignored += 1,
            }
        }
        Ok(())
    }
}

/// The modification time of `meta` in nanoseconds since the epoch.
fn modified_ns(meta: &std::fs::Metadata) -> Option<i64> {
    let modified = meta.modified().ok()?;
    let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_nanos()).ok()
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

    fn walk(inputs: &[PathBuf], exclude: &[PathBuf]) -> Result<Discovery> {
        let options = WalkOptions {
            exclude: exclude.to_vec(),
            follow_external_links: false,
            ..Default::default()
        };
        discover(inputs, &options, &StopFlag::new())
    }

    /// The listing is the one structure that grows with the input: an entry stays small,
    /// whether it is a local file or a bucket object.
    #[test]
    fn an_entry_costs_64_bytes_beside_its_path() {
        assert_eq!(std::mem::size_of::<Entry>(), 64);
    }

    #[test]
    fn walks_recursively_sorts_and_counts_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let root = &fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("2026/03/24")).unwrap();
        fs::write(root.join("2026/03/24/call-2.json"), "{}").unwrap();
        fs::write(root.join("chat-1.JSON.gz"), "").unwrap();
        fs::write(root.join("call-2.mp3"), "").unwrap();
        fs::write(root.join(".hidden.json"), "{}").unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        fs::write(root.join("out/x.json"), "{}").unwrap();
        let found = walk(
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
        assert_eq!(found.files.get(1).unwrap().compression, Compression::Gzip);
        assert_eq!(found.ignored, 1);
    }

    #[test]
    fn packed_paths_sort_dedup_and_subset_like_path_bufs() {
        let file = |path: &'static str, size| InputFile {
            path: Path::new(path),
            size,
            compression: Compression::None,
            modified_ns: Some(size as i64),
            origin: Origin::Disk,
            version: None,
        };
        let mut files = InputFiles::default();
        // Path order (by component), not byte order: "a/b" sorts before "a-b". Of a path
        // listed twice, the first listing stays.
        for (path, size) in [
            ("a-b.json", 1),
            ("a/b.json", 2),
            ("z.json", 3),
            ("a/b.json", 9),
        ] {
            files.push(file(path, size));
        }
        files.sort_and_dedup();
        let listed: Vec<_> = files.iter().collect();
        assert_eq!(
            listed,
            vec![file("a/b.json", 2), file("a-b.json", 1), file("z.json", 3)]
        );
        assert_eq!(files.par_iter().collect::<Vec<_>>(), listed);
        let subset = files.subset(&[2, 0]);
        assert_eq!(
            subset.iter().collect::<Vec<_>>(),
            vec![file("z.json", 3), file("a/b.json", 2)]
        );
        assert_eq!(files.get(3), None);
    }

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_keep_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let name = OsStr::from_bytes(b"call-\xff.json");
        let mut files = InputFiles::default();
        files.push(InputFile {
            path: Path::new(name),
            size: 0,
            compression: Compression::None,
            modified_ns: None,
            origin: Origin::Disk,
            version: None,
        });
        assert_eq!(files.get(0).unwrap().path.as_os_str(), name);
    }

    #[test]
    fn a_missing_input_is_an_error() {
        let err = walk(&[PathBuf::from("/nonexistent/session-etl")], &[]).unwrap_err();
        assert!(matches!(err, Error::Input { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn a_named_fifo_is_an_error_and_one_in_a_folder_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("call-1.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = walk(std::slice::from_ref(&fifo), &[]).unwrap_err();
        assert!(
            err.to_string().contains("not a regular file or a folder"),
            "{err}"
        );
        let found = walk(&[tmp.path().to_owned()], &[]).unwrap();
        assert_eq!((found.files.len(), found.ignored), (0, 1));
    }

    #[cfg(unix)]
    #[test]
    fn every_spelling_of_an_input_lists_the_same_paths_and_the_output_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("in/out")).unwrap();
        fs::write(root.join("in/call-1.json"), "{}").unwrap();
        fs::write(root.join("in/out/call-2.json"), "{}").unwrap();
        std::os::unix::fs::symlink(root.join("in"), root.join("link")).unwrap();
        // Another way into the output: a link inside the input.
        std::os::unix::fs::symlink(root.join("in/out"), root.join("in/back")).unwrap();
        let spellings = [root.join("in"), root.join("in/../in/."), root.join("link")];
        for input in spellings {
            let found = walk(std::slice::from_ref(&input), &[root.join("link/out")]).unwrap();
            let paths: Vec<_> = found.files.iter().map(|f| f.path.to_owned()).collect();
            assert_eq!(paths, [root.join("in/call-1.json")], "{}", input.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_leaving_the_inputs_are_skipped_unless_asked_for() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("in")).unwrap();
        fs::create_dir_all(root.join("elsewhere")).unwrap();
        fs::write(root.join("elsewhere/call-9.json"), "{}").unwrap();
        fs::write(root.join("secret.json"), "{}").unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("in/dir")).unwrap();
        std::os::unix::fs::symlink(root.join("secret.json"), root.join("in/call-8.json")).unwrap();
        let found = walk(&[root.join("in")], &[]).unwrap();
        assert_eq!((found.files.len(), found.external_links), (0, 2));
        // Inside another input root, a link is followed.
        let found = walk(&[root.join("in"), root.join("elsewhere")], &[]).unwrap();
        assert_eq!(found.files.len(), 2, "{:?}", found.files);
        let options = WalkOptions {
            exclude: vec![],
            follow_external_links: true,
            ..Default::default()
        };
        let found = discover(&[root.join("in")], &options, &StopFlag::new()).unwrap();
        assert_eq!((found.files.len(), found.external_links), (2, 0));
    }

    #[test]
    fn a_raised_stop_ends_the_walk() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("call-1.json"), "{}").unwrap();
        let stop = StopFlag::new();
        stop.raise();
        let err = discover(&[tmp.path().to_owned()], &WalkOptions::default(), &stop).unwrap_err();
        assert!(matches!(err, Error::Interrupted), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_reported_not_followed_forever() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("a")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("a/loop")).unwrap();
        fs::write(tmp.path().join("a/call-1.json"), "{}").unwrap();
        let found = walk(&[tmp.path().to_owned()], &[]).unwrap();
        assert_eq!(found.files.len(), 1);
        assert_eq!(found.walk_errors.len(), 1, "{:?}", found.walk_errors);
        assert_eq!(found.walk_errors[0].kind, WalkErrorKind::Loop);
        assert_eq!(found.unreadable(), (None, 0));
    }
}
