//! The object-store clients of a run: one per bucket, built from the environment the way the
//! clouds' own tools read it, with the `[storage]` settings on top.
//!
//! `object_store` does the signing, the paginated listing and the retries (exponential
//! backoff with jitter on 5xx, 429/SlowDown, timeouts and connection resets); this module only
//! configures it. Its clients are async: one small tokio runtime, made when the first bucket
//! is used, drives them while rayon parses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use super::location::{BucketPrefix, Scheme};
use crate::shared::error::{Error, Result};

/// How the clients connect and retry (the `[storage]` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageOptions {
    /// An S3-compatible server or a GCS emulator instead of the cloud's own endpoint.
    pub endpoint: Option<String>,
    /// The S3 region (else `AWS_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Allow `http://` endpoints.
    pub allow_http: bool,
    /// Requests in flight at once when reading input objects.
    pub read_concurrency: usize,
    /// Retries of one request after a transient error.
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt.
    pub retry_timeout: Duration,
    /// One attempt of one request gives up after this.
    pub request_timeout: Duration,
    /// A GCS service-account key file (else `GOOGLE_APPLICATION_CREDENTIALS`, ...).
    pub google_service_account: Option<String>,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            endpoint: None,
            region: None,
            allow_http: false,
            read_concurrency: 64,
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
            request_timeout: Duration::from_secs(60),
            google_service_account: None,
        }
    }
}

impl StorageOptions {
    fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }

    /// Client settings as `(key, value)`: applied one by one on top of what the builder read
    /// from the environment (`AWS_ALLOW_HTTP`, proxies...), which replacing its whole
    /// `ClientOptions` would drop.
    fn client(&self) -> Vec<(ClientConfigKey, String)> {
        let mut options = vec![
            (
                ClientConfigKey::Timeout,
                format!("{}s", self.request_timeout.as_secs()),
            ),
            (ClientConfigKey::ConnectTimeout, "10s".to_owned()),
            // Enough idle connections to keep every request in flight on its own.
            (
                ClientConfigKey::PoolMaxIdlePerHost,
                self.read_concurrency.max(8).to_string(),
            ),
        ];
        if self.allow_http {
            options.push((ClientConfigKey::AllowHttp, "true".to_owned()));
        }
        options
    }
}

/// The clients of one run, by bucket, and the runtime that drives them.
pub struct Storage {
    options: StorageOptions,
    runtime: OnceLock<tokio::runtime::Runtime>,
    stores: Mutex<HashMap<(Scheme, String), Arc<dyn ObjectStore>>>,
}

/// Names the buckets only: a client's own `Debug` may show the credentials it holds.
impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let buckets: Vec<String> = self
            .stores
            .lock()
            .map(|stores| {
                stores
                    .keys()
                    .map(|(scheme, bucket)| format!("{}://{bucket}", scheme.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        f.debug_struct("Storage")
            .field("options", &self.options)
            .field("buckets", &buckets)
            .finish()
    }
}

impl Storage {
    /// Clients made on first use.
    pub fn new(options: StorageOptions) -> Storage {
        Storage {
            options,
            runtime: OnceLock::new(),
            stores: Mutex::new(HashMap::new()),
        }
    }

    /// The settings the clients are built with.
    pub fn options(&self) -> &StorageOptions {
        &self.options
    }

    /// Runs `future` to completion on the storage runtime. Not from inside it.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output> {
        Ok(self.runtime()?.block_on(future))
    }

    /// Starts `future` on the storage runtime and returns at once.
    pub fn spawn<F>(&self, future: F) -> Result<tokio::task::JoinHandle<F::Output>>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.runtime()?.spawn(future))
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        // Two threads drive thousands of requests: they only wait on sockets. The parsing
        // stays on the rayon pool.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("session-etl-io")
            .enable_all()
            .build()
            .map_err(|e| Error::ThreadPool(format!("cannot start the storage runtime: {e}")))?;
        Ok(self.runtime.get_or_init(|| runtime))
    }

    /// The client of `bucket`'s bucket, built on first use.
    pub fn store(&self, bucket: &BucketPrefix) -> Result<Arc<dyn ObjectStore>> {
        let key = (bucket.scheme, bucket.bucket.clone());
        let mut stores = self
            .stores
            .lock()
            .map_err(|_| Error::Internal("the store cache lock is poisoned".into()))?;
        if let Some(store) = stores.get(&key) {
            return Ok(Arc::clone(store));
        }
        let store = self.build(bucket)?;
        stores.insert(key, Arc::clone(&store));
        Ok(store)
    }

    fn build(&self, bucket: &BucketPrefix) -> Result<Arc<dyn ObjectStore>> {
        let o = &self.options;
        // The settings or the environment are wrong: a usage error (exit 2), like any setting.
        let failed = |e: object_store::Error| {
            Error::Config(redact(&format!(
                "cannot configure the client of {}: {e}",
                bucket.root()
            )))
        };
        Ok(match bucket.scheme {
            Scheme::S3 => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket.bucket)
                    .with_retry(o.retry());
                for (key, value) in o.client() {
                    builder = builder.with_config(AmazonS3ConfigKey::Client(key), value);
                }
                if let Some(endpoint) = &o.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(region) = &o.region {
                    builder = builder.with_region(region);
                }
                Arc::new(builder.build().map_err(failed)?)
            }
            Scheme::Gcs => {
                let mut builder = GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(&bucket.bucket)
                    .with_retry(o.retry());
                for (key, value) in o.client() {
                    builder = builder.with_config(GoogleConfigKey::Client(key), value);
                }
                if let Some(endpoint) = &o.endpoint {
                    builder = builder.with_base_url(endpoint);
                }
                if let Some(path) = &o.google_service_account {
                    builder = builder.with_service_account_path(path);
                }
                Arc::new(builder.build().map_err(failed)?)
            }
        })
    }
}

/// The environment variables that hold secrets: their values never reach output, logs or
/// errors, even if a client library were to repeat them.
const SECRET_VARIABLES: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    EXCHANGE_KEY_VARIABLE,
];

/// The variable that holds the Acoustic Exchange key (`session-etl publish`): declared with
/// the other secrets, so that no message ever shows its value.
pub const EXCHANGE_KEY_VARIABLE: &str = "SESSION_ETL_EXCHANGE_KEY";

/// `text` with the value of every secret variable replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut text = text.to_owned();
    for name in SECRET_VARIABLES {
        if let Ok(secret) = std::env::var(name) {
            // A one-character "secret" would blank the message out; nobody has one.
            if secret.len() >= 4 {
                text = text.replace(&secret, "***");
            }
        }
    }
    text
}
