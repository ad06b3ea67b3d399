//! A real S3-compatible server on 127.0.0.1 for the bucket tests: `moto_server` from PyPI
//! (installed into `.venv` by `scripts/test.sh`), started by each test and killed when it
//! ends; and a proxy in front of it that fails requests on purpose and counts them
//! (`tests/servers/flaky_proxy.py`). Nothing here reaches a real cloud.
//!
//! Like the BI readers, the server is optional under plain `cargo test` (the bucket tests
//! say they are skipped) and required under `scripts/test.sh` (`SESSION_ETL_REQUIRE_COMPAT=1`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::util::*;

/// The credentials the tests give: moto accepts any.
pub const ACCESS_KEY: &str = "AKIATESTSESSIONETL";
pub const SECRET_KEY: &str = "session-etl-test-secret-Zq81";

/// The virtualenv's `bin/`, from `SESSION_ETL_PYTHON`.
fn venv_bin() -> Option<PathBuf> {
    let python = std::env::var("SESSION_ETL_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    let required = std::env::var("SESSION_ETL_REQUIRE_COMPAT").is_ok_and(|v| v == "1");
    let bin = python.map(|p| PathBuf::from(p).parent().unwrap().to_owned());
    match bin {
        Some(bin) if bin.join("moto_server").exists() => Some(bin),
        _ if required => panic!(
            "SESSION_ETL_REQUIRE_COMPAT=1 but moto_server is not in the venv of \
             SESSION_ETL_PYTHON: run scripts/test.sh"
        ),
        _ => {
            eprintln!("skipped: no moto_server (run scripts/test.sh for the bucket tests)");
            None
        }
    }
}

/// A free port on 127.0.0.1 (free when asked; the server binds it next), never the same
/// twice in this test binary: two tests starting servers at once could otherwise both be
/// given a port the kernel saw free, and one test would talk to the other's server.
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until something accepts connections on `port`, at most 30 s.
fn wait_listening(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    while !accepts(port) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a server accepts connections on `port`. A connect to a loopback port nobody
/// listens on can succeed by connecting the socket to itself (TCP simultaneous open, when the
/// kernel picks the same ephemeral port as the source), so such a connection does not count.
fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A local S3 server, running while this value lives.
pub struct S3Server {
    _child: Killed,
    pub port: u16,
    runtime: tokio::runtime::Runtime,
    bin: PathBuf,
}

impl S3Server {
    /// Starts `moto_server` on a free port; `None` when it is not installed (and not required).
    pub fn start() -> Option<S3Server> {
        let bin = venv_bin()?;
        let port = free_port();
        let mut child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_listening(port, &mut child, "moto_server");
        Some(S3Server {
            _child: Killed(child),
            port,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            bin,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket` (an unsigned `PUT /bucket`, which moto accepts).
    pub fn create_bucket(&self, bucket: &str) {
        // Seen twice in CI on a fresh clone: the server accepted a connection, then refused
        // the next one for a moment. Retried for at most 10 s rather than failing at once.
        let start = Instant::now();
        let mut stream = loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(stream) => break stream,
                Err(e) if start.elapsed() < Duration::from_secs(10) => {
                    eprintln!("moto_server refused a connection ({e}); retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("moto_server on {}: {e}", self.port),
            }
        };
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "create bucket: {answer}"
        );
    }

    fn store(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_bucket_name(bucket)
                .with_access_key_id(ACCESS_KEY)
                .with_secret_access_key(SECRET_KEY)
                .build()
                .unwrap(),
        )
    }

    /// Writes one object.
    pub fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        let store = self.store(bucket);
        let payload = PutPayload::from(body.into());
        self.runtime
            .block_on(store.put(&ObjectPath::from(key), payload))
            .unwrap();
    }

    /// Deletes one object.
    pub fn delete(&self, bucket: &str, key: &str) {
        let store = self.store(bucket);
        self.runtime
            .block_on(store.delete(&ObjectPath::from(key)))
            .unwrap();
    }

    /// The keys under `prefix`, sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        let store = self.store(bucket);
        let prefix = ObjectPath::from(prefix);
        let mut keys: Vec<String> = self
            .runtime
            .block_on(store.list(Some(&prefix)).try_collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|m| m.location.to_string())
            .collect();
        keys.sort();
        keys
    }

    /// Copies every object under `prefix` into `dir`, keeping relative paths: what a reader
    /// that globs the prefix sees.
    pub fn download(&self, bucket: &str, prefix: &str, dir: &Path) {
        let store = self.store(bucket);
        for key in self.keys(bucket, prefix) {
            let relative = key.strip_prefix(&format!("{prefix}/")).unwrap();
            let body = self
                .runtime
                .block_on(async {
                    store
                        .get(&ObjectPath::from(key.as_str()))
                        .await?
                        .bytes()
                        .await
                })
                .unwrap();
            let path = dir.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
    }

    /// Uploads every file under `dir` to `bucket` under `prefix`, keeping relative paths;
    /// returns how many.
    pub fn upload_dir(&self, bucket: &str, prefix: &str, dir: &Path) -> usize {
        use futures::StreamExt;
        let store = self.store(bucket);
        let files: Vec<(String, PathBuf)> = walkdir::WalkDir::new(dir)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let relative = e.path().strip_prefix(dir).unwrap().to_string_lossy();
                (format!("{prefix}/{relative}"), e.path().to_owned())
            })
            .collect();
        let count = files.len();
        self.runtime.block_on(async {
            futures::stream::iter(files)
                .map(|(key, path)| {
                    let store = Arc::clone(&store);
                    async move {
                        let body = std::fs::read(&path).unwrap();
                        store
                            .put(&ObjectPath::from(key.as_str()), PutPayload::from(body))
                            .await
                            .unwrap();
                    }
                })
                .buffer_unordered(16)
                .collect::<Vec<()>>()
                .await
        });
        count
    }

    /// `cmd` with the credentials and endpoint of this server (or of `endpoint`), the way a
    /// user's environment gives them.
    pub fn env_for(&self, cmd: TestCommand, endpoint: &str) -> TestCommand {
        cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }

    /// `session-etl ARGS` against this server.
    pub fn session_etl(&self, args: &[&str]) -> TestCommand {
        self.env_for(session_etl(args), &self.endpoint())
    }

    /// Starts a [`FlakyProxy`] in front of this server that fails every `fail_every`-th
    /// request (0: none, only counting).
    pub fn flaky_proxy(&self, fail_every: u32) -> FlakyProxy {
        let port = free_port();
        let mut child = Command::new(self.bin.join("python"))
            .arg(repo().join("tests/servers/flaky_proxy.py"))
            .args([
                port.to_string(),
                self.port.to_string(),
                fail_every.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the proxy");
        wait_listening(port, &mut child, "flaky_proxy.py");
        FlakyProxy {
            _child: Killed(child),
            port,
        }
    }
}

/// The failing, counting proxy of [`S3Server::flaky_proxy`].
pub struct FlakyProxy {
    _child: Killed,
    pub port: u16,
}

impl FlakyProxy {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What it counted: `requests`, `by_method`, `ranged_gets`, `slow_down`, `dropped`.
    pub fn stats(&self) -> serde_json::Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "GET /__proxy_stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(body).unwrap()
    }
}
