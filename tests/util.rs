//! Test helpers in the style of ripgrep's `tests/util.rs`: a fresh folder per test, a command
//! wrapper that prints everything useful when an expectation fails, and Parquet read-back.

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

/// `fixtures/real/`: three real exports (`metadata_*.json`) and the milestone logs Google's
/// code derives from them (`expected_logs_*.json`, not session files); `SOURCE.md` there says
/// where they come from.
pub fn real() -> PathBuf {
    repo().join("fixtures/real")
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

/// Runs the good and the bad fixtures; half of them are bad on purpose, so the reject-rate
/// guard is switched off.
/// Flags for a run over files that are all bad on purpose: the reject-rate and no-sessions
/// guards are off (they are tested on their own).
pub const ALL_BAD_ALLOWED: [&str; 3] = ["--max-reject-rate", "1", "--allow-empty"];

pub fn run_fixtures(out: &Path) {
    session_etl(&["run", "--quiet", "--max-reject-rate", "1", "--output"])
        .arg(out)
        .arg("fixtures/good")
        .arg("fixtures/bad")
        .assert_exit(0);
}

/// `session-etl` with arguments; `run()` executes it.
pub struct TestCommand {
    cmd: Command,
}

impl From<Command> for TestCommand {
    fn from(cmd: Command) -> TestCommand {
        TestCommand { cmd }
    }
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
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }
    /// Runs without `key`, even if this process has it.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }
    /// The command itself, for tests that spawn it their own way.
    pub fn into_command(self) -> Command {
        self.cmd
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

/// Spawns `session-etl run --output OUT INPUT` made to wait at `point` (the
/// `SESSION_ETL_PAUSE_AT` test hook) and returns once it says it is waiting there.
#[cfg(unix)]
pub fn spawn_paused_at(
    point: &str,
    out: &Path,
    input: &Path,
    extra: &[&str],
) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_session-etl"));
    cmd.args(["run", "--quiet", "--batch-files", "100"])
        .args(extra)
        .arg("--output")
        .arg(out)
        .arg(input);
    spawn_paused(cmd, point).0
}

/// Spawns `cmd` made to wait at `point`, and returns once it says it is waiting there, with
/// what it has written to stderr so far (and, in the background, what it writes next).
#[cfg(unix)]
pub fn spawn_paused(
    mut cmd: Command,
    point: &str,
) -> (
    std::process::Child,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    use std::io::BufRead;
    let mut child = cmd
        .env(session_etl::shared::stop::PAUSE_ENV, point)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let expected = format!("session-etl: paused at {point}");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    loop {
        match lines.next() {
            Some(Ok(line)) if line == expected => break,
            Some(Ok(line)) => seen.lock().unwrap().push_str(&format!("{line}\n")),
            other => panic!(
                "the run ended before pausing at {point}: {other:?} {:?}\n{}",
                child.wait(),
                seen.lock().unwrap()
            ),
        }
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    let sink = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    (child, seen)
}

/// Waits for `child` at most `limit`, killing it if it takes longer: a test of a failure
/// mode must not hang the machine. Returns its exit status and the time it took.
pub fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> (std::process::ExitStatus, std::time::Duration) {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let status = child.wait().unwrap();
            panic!("the child ran longer than {limit:?} and was killed ({status:?})");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Runs `cmd` with a time limit; returns its exit code, stdout and stderr.
pub fn output_within(
    mut cmd: Command,
    limit: std::time::Duration,
) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = r.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let (status, _) = wait_at_most(&mut child, limit);
    (status.code(), out.join().unwrap(), err.join().unwrap())
}

/// A way to run session-etl as a user that file permissions apply to: the tests of
/// unreadable inputs need one, and root reads everything. As root, the binary is copied
/// into `dir` and run as `nobody` with setpriv; otherwise it runs as it is. `None` (the
/// caller skips, saying so) when neither is possible.
#[cfg(unix)]
pub struct Unprivileged {
    /// The program to run and its leading arguments.
    pub program: Vec<std::ffi::OsString>,
    /// The uid the program runs as.
    pub uid: u32,
}

#[cfg(unix)]
impl Unprivileged {
    pub fn new(dir: &Path) -> Option<Unprivileged> {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            return Some(Unprivileged {
                program: vec![env!("CARGO_BIN_EXE_session-etl").into()],
                uid: euid,
            });
        }
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        // nobody must be able to reach the binary: a copy in the test's own folder.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).ok()?;
        let binary = dir.join("session-etl");
        std::fs::copy(env!("CARGO_BIN_EXE_session-etl"), &binary).ok()?;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).ok()?;
        let user = Unprivileged {
            program: vec![
                setpriv.into(),
                "--reuid=65534".into(),
                "--regid=65534".into(),
                "--clear-groups".into(),
                "--".into(),
                binary.into(),
            ],
            uid: 65534,
        };
        // A temporary folder mounted noexec, or a setpriv without these options: skip.
        let works = user
            .command(dir, &["--version".as_ref()])
            .output()
            .is_ok_and(|o| o.status.success());
        works.then_some(user)
    }

    /// A folder the unprivileged user can write into.
    pub fn writable(&self, path: &Path) -> PathBuf {
        std::fs::create_dir_all(path).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        unsafe { libc::chown(c.as_ptr(), self.uid, u32::MAX) };
        path.to_owned()
    }

    /// `session-etl ARGS` as that user, in `cwd`.
    pub fn command(&self, cwd: &Path, args: &[&std::ffi::OsStr]) -> Command {
        let mut cmd = Command::new(&self.program[0]);
        cmd.args(&self.program[1..]).args(args).current_dir(cwd);
        cmd
    }
}
