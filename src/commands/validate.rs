//! The `validate` command: every check a run makes on a file, and nothing written.
//!
//! It answers "which of these files would the nightly run reject, and why?" before a run, or
//! after a producer fix, with the same reading, parsing and normalization code a run uses, so
//! a file it accepts is a file the run accepts. Duplicate resolution is not checked: it
//! concerns sets of files, not a file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::discover::{discover_locations, InputFile};
use crate::normalize::read_and_normalize;
use crate::shared::error::{Error, Result};
use crate::shared::reject::FileError;
use crate::shared::stop::StopFlag;
use crate::storage::{Bodies, Location, Storage};

/// One file a run would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as discovered.
    pub path: PathBuf,
    /// What is wrong with it, and where.
    pub error: FileError,
}

impl Problem {
    /// `path:line:column: kind: field `f`: detail`, the shape editors and `grep` understand.
    pub fn to_line(&self) -> String {
        let e = &self.error;
        let mut out = crate::shared::paths::to_text(&self.path).into_owned();
        if let (Some(line), Some(column)) = (e.line, e.column) {
            out.push_str(&format!(":{line}:{column}"));
        }
        out.push_str(&format!(": {}: ", e.kind));
        if let Some(field) = &e.field {
            out.push_str(&format!("field `{field}`: "));
        }
        out.push_str(&e.detail);
        out
    }

    /// One JSON Lines record (`"type": "problem"`).
    pub fn to_json(&self) -> serde_json::Value {
        let e = &self.error;
        serde_json::json!({
            "type": "problem",
            "file": crate::shared::paths::to_text(&self.path),
            "kind": e.kind.as_str(),
            "field": e.field,
            "line": e.line,
            "column": e.column,
            "message": e.message(),
        })
    }
}

/// What `validate` found.
#[derive(Debug, Default, Serialize)]
pub struct Validation {
    /// Session files checked.
    pub files: u64,
    /// Files a run would accept.
    pub valid: u64,
    /// Files a run would reject.
    pub rejected: u64,
    /// Rejected files per kind.
    pub rejects_by_kind: BTreeMap<String, u64>,
    /// Entries the walk could not read (permissions, symlink loops).
    pub walk_errors: Vec<String>,
    /// Every rejected file, in path order.
    #[serde(skip)]
    pub problems: Vec<Problem>,
}

impl Validation {
    /// True when a run would reject nothing and the walk saw everything.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.walk_errors.is_empty()
    }
}

/// Files checked per batch: the bucket objects of one batch are in memory at once.
const BATCH_FILES: usize = 4096;

/// Checks every session file under `inputs` (local paths and bucket prefixes) on a pool of
/// `threads` threads.
pub fn validate(
    inputs: &[Location],
    max_file_bytes: u64,
    threads: usize,
    storage: &Storage,
) -> Result<Validation> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::ThreadPool(e.to_string()))?;
    let stop = StopFlag::new();
    let discovery =
        pool.install(|| discover_locations(inputs, &Default::default(), storage, &stop))?;
    let files = &discovery.files;
    let mut problems: Vec<Problem> = Vec::new();
    let indices: Vec<usize> = (0..files.len()).collect();
    for batch in indices.chunks(BATCH_FILES) {
        let bodies = files
            .fetch_whole(batch.iter().copied(), storage, max_file_bytes, &stop)?
            .wait(storage)?;
        problems.extend(pool.install(|| {
            batch
                .par_iter()
                .map_init(Vec::new, |buf, &index| {
                    let file = files.get(index)?;
                    check(&file, &bodies, index as u32, max_file_bytes, buf)
                        .err()
                        .map(|error| Problem {
                            path: file.path.to_owned(),
                            error,
                        })
                })
                .flatten()
                .collect::<Vec<_>>()
        }));
    }
    let mut validation = Validation {
        files: discovery.files.len() as u64,
        rejected: problems.len() as u64,
        valid: (discovery.files.len() - problems.len()) as u64,
        walk_errors: discovery
            .walk_errors
            .into_iter()
            .map(|e| e.message)
            .collect(),
        ..Validation::default()
    };
    for problem in &problems {
        *validation
            .rejects_by_kind
            .entry(problem.error.kind.as_str().to_owned())
            .or_default() += 1;
    }
    validation.problems = problems;
    Ok(validation)
}

/// The checks a run makes on one file before it becomes rows.
fn check(
    file: &InputFile<'_>,
    bodies: &Bodies,
    index: u32,
    max_file_bytes: u64,
    buf: &mut Vec<u8>,
) -> Result<(), FileError> {
    let source = file.source(index, bodies).map_err(FileError::clone)?;
    read_and_normalize(file, source, max_file_bytes, buf, |_| {}, |_, _| Ok(()))
}
