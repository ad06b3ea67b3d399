//! Test helpers in the style of ripgrep's `tests/util.rs`: a fresh folder per test, a command
//! wrapper that prints everything useful when an expectation fails, and Parquet read-back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The repository root (where `fixtures/` and `pipelines/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/` beside the checkout.
pub fn shared() -> PathBuf {
    repo().join("../shared")
}

/// A temporary folder that lives as long as the test.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }
    /// Writes a file, creating parent folders.
    pub fn create(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }
    /// `session-etl generate --out <dir>/corpus` with `args`; returns the corpus folder
    /// (sessions in `sessions/`, expectations in `truth.json`).
    pub fn generate(&self, args: &[&str]) -> PathBuf {
        let corpus = self.join("corpus");
        let mut cmd = session_etl(&["generate", "--out"]).arg(&corpus);
        for a in args {
            cmd = cmd.arg(a);
        }
        cmd.assert_exit(0);
        corpus
    }

    /// Copies a fixture file into the folder under `name`.
    pub fn copy_fixture(&self, fixture: &str, name: &str) -> PathBuf {
        self.create(
            name,
            std::fs::read(repo().join("fixtures").join(fixture)).unwrap(),
        )
    }
}

/// `session-etl` with arguments; `run()` executes it.
pub struct TestCommand {
    cmd: Command,
}

pub fn session_etl(args: &[&str]) -> TestCommand {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_session-etl"));
    cmd.args(args).current_dir(repo());
    TestCommand { cmd }
}

impl TestCommand {
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }
    pub fn args(mut self, a: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>) -> Self {
        self.cmd.args(a);
        self
    }
    pub fn run(mut self) -> Output {
        self.cmd.output().expect("spawn session-etl")
    }
    /// Runs and asserts the exit code, printing stdout/stderr if it differs.
    pub fn assert_exit(self, code: i32) -> Output {
        let debug = format!("{:?}", self.cmd);
        let out = self.run();
        if out.status.code() != Some(code) {
            panic!(
                "\n{debug}\nexpected exit {code}, got {:?}\n--- stdout\n{}\n--- stderr\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }
}

/// Every path under `dir` with its size, in walk order: compared before and after a command
/// to prove it changed nothing there.
pub fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            (e.path().to_owned(), e.metadata().unwrap().len())
        })
        .collect()
}

/// Every batch of one table, read back with the parquet crate.
pub struct Table {
    pub batches: Vec<RecordBatch>,
}

/// Reads a table the way a Hive-aware reader does: every Parquet file in its folder, or in its
/// `date=YYYY-MM-DD/` partition folders, never both. Files are read in path order.
pub fn read_table(output: &Path, table: &str) -> Table {
    let mut batches = Vec::new();
    for (_, file) in table_files(output, table) {
        batches.extend(Table::read_file(&file).batches);
    }
    Table { batches }
}

/// The Parquet files of a table, each with its partition date (`None` for a flat table).
pub fn table_files(output: &Path, table: &str) -> Vec<(Option<String>, PathBuf)> {
    let dir = output.join(table);
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = entry.path();
        if !entry.file_type().is_file() {
            continue;
        }
        assert!(
            path.extension().is_some_and(|x| x == "parquet"),
            "unexpected file {}",
            path.display()
        );
        let partition = match entry.depth() {
            1 => None,
            2 => {
                let folder = path
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap();
                let date = folder
                    .strip_prefix("date=")
                    .unwrap_or_else(|| panic!("{}: not a date= partition folder", path.display()));
                Some(date.to_owned())
            }
            _ => panic!("{}: nested too deep", path.display()),
        };
        files.push((partition, path.to_owned()));
    }
    assert!(!files.is_empty(), "table {table} has no Parquet file");
    assert!(
        files.iter().all(|(p, _)| p.is_some()) || files.iter().all(|(p, _)| p.is_none()),
        "table {table} mixes partitioned and flat files"
    );
    files
}

impl Table {
    /// One Parquet file.
    pub fn read_file(path: &Path) -> Table {
        let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        Table {
            batches: reader.map(|b| b.unwrap()).collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    pub fn data_type(&self, col: &str) -> DataType {
        self.batches[0]
            .schema()
            .field_with_name(col)
            .unwrap()
            .data_type()
            .clone()
    }

    fn columns(&self, col: &str) -> Vec<&dyn Array> {
        self.batches
            .iter()
            .map(|b| {
                b.column_by_name(col)
                    .unwrap_or_else(|| panic!("no column {col}"))
                    .as_ref()
            })
            .collect()
    }

    pub fn i64s(&self, col: &str) -> Vec<Option<i64>> {
        self.columns(col)
            .into_iter()
            .flat_map(|a| a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>())
            .collect()
    }

    pub fn micros(&self, col: &str) -> Vec<Option<i64>> {
        self.columns(col)
            .into_iter()
            .flat_map(|a| {
                a.as_primitive::<TimestampMicrosecondType>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn millis(&self, col: &str) -> Vec<Option<i64>> {
        self.columns(col)
            .into_iter()
            .flat_map(|a| {
                a.as_primitive::<arrow::datatypes::TimestampMillisecondType>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn strs(&self, col: &str) -> Vec<Option<String>> {
        self.columns(col)
            .into_iter()
            .flat_map(|a| {
                a.as_string::<i32>()
                    .iter()
                    .map(|s| s.map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn bools(&self, col: &str) -> Vec<Option<bool>> {
        self.columns(col)
            .into_iter()
            .flat_map(|a| a.as_boolean().iter().collect::<Vec<_>>())
            .collect()
    }

    /// Row index of the session `(kind, id)`.
    pub fn row_of(&self, kind: &str, id: i64) -> usize {
        let kinds = self.strs("kind");
        let ids = self.i64s("session_id");
        (0..self.rows())
            .find(|&i| kinds[i].as_deref() == Some(kind) && ids[i] == Some(id))
            .unwrap_or_else(|| panic!("no row for {kind} {id}"))
    }

    /// Rows of the session `(kind, id)`.
    pub fn rows_of(&self, kind: &str, id: i64) -> Vec<usize> {
        let kinds = self.strs("kind");
        let ids = self.i64s("session_id");
        (0..self.rows())
            .filter(|&i| kinds[i].as_deref() == Some(kind) && ids[i] == Some(id))
            .collect()
    }

    /// Row `row` (over all batches) as column → text; nulls are left out. Timestamps are
    /// rendered as their i64 micros.
    pub fn record(&self, mut row: usize) -> BTreeMap<String, String> {
        for batch in &self.batches {
            if row >= batch.num_rows() {
                row -= batch.num_rows();
                continue;
            }
            let mut out = BTreeMap::new();
            for (c, field) in batch.schema().fields().iter().enumerate() {
                let column = match batch.column(c).data_type() {
                    DataType::Timestamp(..) => {
                        arrow::compute::cast(batch.column(c), &DataType::Int64).unwrap()
                    }
                    _ => batch.column(c).clone(),
                };
                if column.is_null(row) {
                    continue;
                }
                let text = arrow::util::display::ArrayFormatter::try_new(
                    column.as_ref(),
                    &Default::default(),
                )
                .unwrap()
                .value(row)
                .to_string();
                out.insert(field.name().clone(), text);
            }
            return out;
        }
        panic!("no row {row}")
    }

    /// Every row rendered as text, sorted: compares table contents independently of files.
    pub fn canonical_rows(&self) -> Vec<String> {
        let mut rows = Vec::new();
        for batch in &self.batches {
            // Timestamps are compared as their i64 micros (formatting a "UTC" zone needs chrono-tz).
            let columns: Vec<_> = (0..batch.num_columns())
                .map(|c| match batch.column(c).data_type() {
                    DataType::Timestamp(..) => {
                        arrow::compute::cast(batch.column(c), &DataType::Int64).unwrap()
                    }
                    _ => batch.column(c).clone(),
                })
                .collect();
            for r in 0..batch.num_rows() {
                let cells: Vec<String> = columns
                    .iter()
                    .map(|a| {
                        arrow::util::display::ArrayFormatter::try_new(
                            a.as_ref(),
                            &Default::default(),
                        )
                        .unwrap()
                        .value(r)
                        .to_string()
                    })
                    .collect();
                rows.push(cells.join("|"));
            }
        }
        rows.sort();
        rows
    }
}

/// Microseconds since the epoch of an RFC 3339 instant.
pub fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

/// `_run.json` of an output.
pub fn run_summary(output: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(output.join("_run.json")).unwrap()).unwrap()
}

/// Counts of `column` values.
pub fn counts(values: Vec<Option<String>>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for v in values {
        *out.entry(v.unwrap_or_else(|| "<null>".into())).or_default() += 1;
    }
    out
}
