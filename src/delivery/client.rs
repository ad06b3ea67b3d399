//! One body to Exchange: `POST {url}/v1/event` with the key as a bearer token, retried on
//! what is transient (429, 5xx, timeouts, dropped connections) with exponential backoff and
//! jitter, honouring `Retry-After`, within a cap per body and the publish's deadline.
//!
//! reqwest is the client object_store already brings (same version, same rustls stack, same
//! tokio runtime), so publishing adds no second HTTP or TLS implementation.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;

use crate::shared::error::{Error, Result};

/// The first backoff; each retry doubles it up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A `Retry-After` longer than this is waited only this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// How much of a refusal's answer is kept for the dead letter.
const MAX_RESPONSE_CHARS: usize = 2_000;

/// The endpoint authentication key. Its `Debug` never shows it.
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

impl ApiKey {
    /// The key from `file` (which must not be readable by group or others, as ssh demands
    /// of a private key) or else from the variable `SESSION_ETL_EXCHANGE_KEY`.
    pub fn load(file: Option<&std::path::Path>) -> Result<ApiKey> {
        let text = match file {
            Some(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path)
                        .map_err(Error::io("read the key file", path))?
                        .permissions()
                        .mode();
                    if mode & 0o077 != 0 {
                        return Err(Error::Config(format!(
                            "the key file {} can be read by others (mode {:o}): chmod 600 it",
                            path.display(),
                            mode & 0o777
                        )));
                    }
                }
                std::fs::read_to_string(path).map_err(Error::io("read the key file", path))?
            }
            None => std::env::var(KEY_VARIABLE).map_err(|_| {
                Error::Config(format!(
                    "no Exchange key: set {KEY_VARIABLE} or exchange.key_file \
                     (--exchange-key-file)"
                ))
            })?,
        };
        let key = text.trim();
        if key.is_empty() || key.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Config(
                "the Exchange key is empty or holds spaces or control characters".into(),
            ));
        }
        Ok(ApiKey(key.to_owned()))
    }

    fn header(&self) -> Result<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| Error::Config("the Exchange key is not a valid header value".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// The variable that holds the key.
pub use crate::storage::store::EXCHANGE_KEY_VARIABLE as KEY_VARIABLE;

/// Where bodies go: `{base}/v1/event`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: reqwest::Url,
}

impl Endpoint {
    /// Checks a base URL: https, or http to a loopback address only (the key is in every
    /// request), with no credentials, query or fragment of its own.
    pub fn parse(base: &str) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::Config(format!(
                "exchange.url {}: {why}",
                redact_userinfo(base.trim())
            ))
        };
        let url = reqwest::Url::parse(base.trim()).map_err(|e| bad(&e.to_string()))?;
        let host = url.host_str().unwrap_or_default();
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(bad("http sends the key in clear: use https")),
            _ => return Err(bad("not an http(s) URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("a URL must not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a base URL has no query or fragment"));
        }
        let mut url = url;
        let path = format!("{}/v1/event", url.path().trim_end_matches('/'));
        url.set_path(&path);
        Ok(Endpoint { url })
    }

    /// The URL bodies are posted to.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// How hard one body is tried.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts at most.
    pub attempts: usize,
    /// One attempt's time limit.
    pub attempt_timeout: Duration,
    /// No attempt starts after this.
    pub deadline: Instant,
}

/// What became of one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx.
    Accepted,
    /// A 4xx that retrying cannot change: the body is refused.
    Refused { status: u16, response: String },
    /// Nothing more should be sent: 401 or 403 (the key is wrong), or a redirect (the URL
    /// is wrong; following one could turn the POST into a bodiless GET that "succeeds").
    Halt { status: u16, problem: String },
    /// Every attempt failed transiently, or the deadline came: the body stays undelivered.
    GaveUp { reason: String },
    /// The publish is stopping (a signal, or another body's 401).
    Stopped,
}

/// Why an attempt was retried (the report counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetryReason {
    TooManyRequests,
    ServerError,
    Timeout,
    Connection,
}

impl RetryReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::TooManyRequests => "429",
            RetryReason::ServerError => "5xx",
            RetryReason::Timeout => "timeout",
            RetryReason::Connection => "connection",
        }
    }
}

/// A pooled client for one endpoint and key.
pub struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    authorization: HeaderValue,
}

impl Client {
    pub fn new(endpoint: Endpoint, key: &ApiKey, concurrency: usize) -> Result<Client> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency)
            .user_agent(concat!("session-etl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            endpoint,
            authorization: key.header()?,
        })
    }

    /// Sends `body` under `policy` until it is answered for good; `stopping` is asked
    /// before each attempt and while waiting. Returns the answer and the retries made.
    pub async fn send(
        &self,
        body: Bytes,
        policy: Policy,
        seed: u64,
        stopping: &(dyn Fn() -> bool + Sync),
    ) -> (Answer, Vec<RetryReason>) {
        let mut retries = Vec::new();
        let mut jitter = Jitter(seed | 1);
        for attempt in 1..=policy.attempts {
            if stopping() {
                return (Answer::Stopped, retries);
            }
            if Instant::now() >= policy.deadline {
                return (
                    Answer::GaveUp {
                        reason: "the publish deadline (exchange.deadline_secs) passed".into(),
                    },
                    retries,
                );
            }
            // A stop abandons the attempt in flight: its body is sent again next time.
            let sending = std::pin::pin!(self.attempt(body.clone(), policy));
            let watch = std::pin::pin!(until(stopping));
            let attempted = match futures::future::select(sending, watch).await {
                futures::future::Either::Left((attempted, _)) => attempted,
                futures::future::Either::Right(_) => return (Answer::Stopped, retries),
            };
            let (reason, wait, detail) = match attempted {
                Attempted::Answer(answer) => return (answer, retries),
                Attempted::Retry {
                    reason,
                    retry_after,
                    detail,
                } => (reason, retry_after, detail),
            };
            if attempt == policy.attempts {
                return (
                    Answer::GaveUp {
                        reason: format!("{detail} after {attempt} attempts (exchange.attempts)"),
                    },
                    retries,
                );
            }
            retries.push(reason);
            let backoff = FIRST_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            // Equal jitter: half the backoff, plus a random part of the other half, so that
            // bodies failed together do not come back together.
            let delay = wait
                .map(|w| w.min(MAX_RETRY_AFTER))
                .unwrap_or_else(|| backoff / 2 + backoff.mul_f64(jitter.next() / 2.0));
            if Instant::now() + delay > policy.deadline {
                return (
                    Answer::GaveUp {
                        reason: format!("{detail}; the next attempt would pass the deadline"),
                    },
                    retries,
                );
            }
            if !pause(delay, stopping).await {
                return (Answer::Stopped, retries);
            }
        }
        (
            Answer::GaveUp {
                reason: "no attempt allowed".into(),
            },
            retries,
        )
    }

    async fn attempt(&self, body: Bytes, policy: Policy) -> Attempted {
        let request = self
            .http
            .post(self.endpoint.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(policy.attempt_timeout)
            .body(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return transport_error(&e),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if status.is_success() {
            // The answer's body is read so the connection goes back to the pool.
            let _ = response.bytes().await;
            return Attempted::Answer(Answer::Accepted);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Attempted::Answer(Answer::Halt {
                status: status.as_u16(),
                problem: format!(
                    "Exchange refused the key (HTTP {status}): check {KEY_VARIABLE} or \
                     exchange.key_file, and that the key belongs to the account of {}",
                    self.endpoint.as_str()
                ),
            });
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(crate::storage::redact)
                .unwrap_or_default();
            return Attempted::Answer(Answer::Halt {
                status: status.as_u16(),
                problem: format!(
                    "{} answered a redirect (HTTP {status}) to {to:?}: set exchange.url to \
                     the account's base URL (redirects are not followed: a POST would arrive \
                     as a GET without its body)",
                    self.endpoint.as_str()
                ),
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT {
            return Attempted::Retry {
                reason: RetryReason::TooManyRequests,
                retry_after,
                detail: format!("HTTP {status}"),
            };
        }
        if status.is_server_error() {
            return Attempted::Retry {
                reason: RetryReason::ServerError,
                retry_after,
                detail: format!("HTTP {status}"),
            };
        }
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => format!("(the answer could not be read: {e})"),
        };
        Attempted::Answer(Answer::Refused {
            status: status.as_u16(),
            response: text.chars().take(MAX_RESPONSE_CHARS).collect(),
        })
    }
}

enum Attempted {
    Answer(Answer),
    Retry {
        reason: RetryReason,
        retry_after: Option<Duration>,
        detail: String,
    },
}

/// A failure before any answer: every one of them is transient (the body may not have
/// arrived, and if it did, it is sent again: delivery is at least once).
fn transport_error(e: &reqwest::Error) -> Attempted {
    let reason = if e.is_timeout() {
        RetryReason::Timeout
    } else {
        RetryReason::Connection
    };
    // reqwest's message names the URL, never the headers.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    Attempted::Retry {
        reason,
        retry_after: None,
        detail,
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Waits `delay`, looking at `stopping` every 50 ms; false when it stopped.
async fn pause(delay: Duration, stopping: &(dyn Fn() -> bool + Sync)) -> bool {
    let end = tokio::time::Instant::now() + delay;
    loop {
        if stopping() {
            return false;
        }
        let now = tokio::time::Instant::now();
        if now >= end {
            return true;
        }
        tokio::time::sleep((end - now).min(Duration::from_millis(50))).await;
    }
}

/// Returns once `stopping` says so, looking every 50 ms.
async fn until(stopping: &(dyn Fn() -> bool + Sync)) {
    while !stopping() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// xorshift64: enough randomness to spread retries, with no dependency.
struct Jitter(u64);

impl Jitter {
    /// A number in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_https_or_loopback_http_and_gets_the_event_path() {
        let ok = |u: &str| Endpoint::parse(u).unwrap().as_str().to_owned();
        assert_eq!(
            ok("https://api-exchange-us-1.goacoustic.com"),
            "https://api-exchange-us-1.goacoustic.com/v1/event"
        );
        assert_eq!(
            ok("https://h.example/base/"),
            "https://h.example/base/v1/event"
        );
        assert_eq!(
            ok("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/v1/event"
        );
        assert_eq!(ok("http://localhost:1"), "http://localhost:1/v1/event");
        for bad in [
            "http://api.example.com",
            "ftp://127.0.0.1",
            "https://user:secret@h.example",
            "https://h.example/?a=1",
            "not a url",
        ] {
            let err = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(err.contains("exchange.url"), "{bad}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused_and_the_key_never_shows() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "s3cr3t-key\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ApiKey::load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("chmod 600") && !err.contains("s3cr3t"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let key = ApiKey::load(Some(&path)).unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(…)");
        assert_eq!(key.header().unwrap().to_str().unwrap(), "Bearer s3cr3t-key");
    }

    #[test]
    fn jitter_stays_in_its_range() {
        let mut j = Jitter(42);
        for _ in 0..1000 {
            let x = j.next();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
