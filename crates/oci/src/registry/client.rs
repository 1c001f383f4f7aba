//! The HTTP side: the [`Client`] and its options, single requests
//! (bodies streamed from files), retries with backoff, URL helpers.
//! Authentication lives in `session.rs`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ureq::SendBody;
use ureq::http::{self, Method};

use super::RegistryError;
use super::credentials::Keychain;
use super::reference::{host_of, is_loopback, normalize_registry};
use super::session::Session;

/// Behaviour of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Registries (`host[:port]`) that may be spoken to over plain HTTP
    /// (HTTPS is still tried first). Loopback hosts always may.
    pub insecure_registries: Vec<String>,
    /// Blobs up to this many bytes are uploaded with a single PUT; larger
    /// ones in chunks (PATCH) of [`ClientOptions::chunk_size`].
    pub monolithic_limit: u64,
    /// Size of one PATCH of a chunked upload.
    pub chunk_size: u64,
    /// How often an idempotent step is retried after a connection failure
    /// or a 5xx/429 answer.
    pub retries: u32,
    /// Wait before the first retry; doubles for each further one.
    pub backoff: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Longest silence: connecting (DNS, TCP, TLS) and every wait for the
    /// registry's next bytes or for it to take ours.
    pub timeout: Duration,
    /// Longest time one step (a request with all its retries and the
    /// waits between them) may take; no retry starts past it.
    pub deadline: Duration,
}

impl Default for ClientOptions {
    /// HTTPS only (but loopback), 32 MiB monolithic limit and chunks,
    /// 3 retries from 250 ms, 30 s of silence, 30 minutes per step.
    fn default() -> Self {
        ClientOptions {
            insecure_registries: Vec::new(),
            monolithic_limit: 32 << 20,
            chunk_size: 32 << 20,
            retries: 3,
            backoff: Duration::from_millis(250),
            user_agent: concat!("apkforge/", env!("CARGO_PKG_VERSION")).to_owned(),
            timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(30 * 60),
        }
    }
}

/// A request body.
pub(crate) enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// `len` bytes of `path` from `offset`.
    File {
        path: &'a Path,
        digest: &'a str,
        offset: u64,
        len: u64,
    },
}

/// One request.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub payload: Payload<'a>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, url: String) -> Call<'a> {
        Call {
            method,
            url,
            headers: Vec::new(),
            payload: Payload::Empty,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn payload(mut self, payload: Payload<'a>) -> Self {
        self.payload = payload;
        self
    }
}

/// What came back.
pub(crate) struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub digest: Option<String>,
    pub range: Option<String>,
    pub challenges: Vec<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A blocking registry client: pushes blobs and manifests over the OCI
/// distribution API. Sessions (scheme, credentials, tokens) are kept per
/// registry host for the client's lifetime.
pub struct Client {
    agent: ureq::Agent,
    pub(super) opts: ClientOptions,
    pub(super) keychain: Box<dyn Keychain>,
    pub(super) sessions: Mutex<HashMap<String, Session>>,
    log: Mutex<Vec<String>>,
}

impl Client {
    /// A client taking credentials from `keychain`.
    pub fn new(opts: ClientOptions, keychain: Box<dyn Keychain>) -> Client {
        let stall = Some(opts.timeout);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_resolve(stall)
            .timeout_connect(stall)
            .timeout_per_read(stall)
            .timeout_per_write(stall)
            .timeout_global(Some(opts.deadline))
            .user_agent(opts.user_agent.as_str())
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            opts,
            keychain,
            sessions: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Every request made so far as `METHOD URL -> STATUS` (or `-> error`),
    /// for tests and debugging. Never contains credentials.
    pub fn request_log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    /// May `registry` be spoken to over plain HTTP?
    pub(super) fn plain_http_allowed(&self, registry: &str) -> bool {
        is_loopback(registry)
            || self.opts.insecure_registries.iter().any(|r| {
                let r = normalize_registry(r);
                r == registry || r == host_of(registry)
            })
    }

    /// Runs `f` again after connection failures, timeouts and 5xx/429
    /// answers, with exponential backoff, while the deadline allows.
    pub(crate) fn retry<T>(
        &self,
        mut f: impl FnMut() -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            match f() {
                Err(e) if e.is_retryable() && self.may_retry(start, attempt) => {
                    std::thread::sleep(self.opts.backoff * 2u32.saturating_pow(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Is there a retry left after `attempt` failed ones, and time for it
    /// (its backoff ends before the deadline)?
    fn may_retry(&self, start: Instant, attempt: u32) -> bool {
        attempt < self.opts.retries
            && start.elapsed() + self.opts.backoff * 2u32.saturating_pow(attempt)
                < self.opts.deadline
    }

    /// Like [`Client::retry`], and also repeats on 5xx and 429 answers;
    /// after the last attempt the answer is returned as it is, for the
    /// caller to report.
    pub(crate) fn retry_answer(
        &self,
        mut f: impl FnMut() -> Result<Answer, RegistryError>,
    ) -> Result<Answer, RegistryError> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            let result = f();
            let again = match &result {
                Err(e) => e.is_retryable(),
                Ok(a) => a.status >= 500 || a.status == 429,
            };
            if !again || !self.may_retry(start, attempt) {
                return result;
            }
            std::thread::sleep(self.opts.backoff * 2u32.saturating_pow(attempt));
            attempt += 1;
        }
    }

    /// One HTTP exchange, no authentication logic.
    pub(super) fn exchange(
        &self,
        registry: &str,
        call: &Call<'_>,
        authorization: Option<&str>,
    ) -> Result<Answer, RegistryError> {
        let transport = |message: String| RegistryError::Transport {
            registry: registry.to_owned(),
            method: call.method.to_string(),
            url: call.url.clone(),
            message,
        };
        let mut builder = http::Request::builder()
            .method(call.method.clone())
            .uri(call.url.as_str());
        if let Some(a) = authorization {
            builder = builder.header("Authorization", a);
        }
        for (k, v) in &call.headers {
            builder = builder.header(*k, v.as_str());
        }
        let has_body = matches!(call.method, Method::PUT | Method::POST | Method::PATCH);
        let body = match &call.payload {
            Payload::Empty if has_body => {
                builder = builder.header("Content-Length", "0");
                SendBody::from_owned_reader(std::io::empty())
            }
            Payload::Empty => SendBody::none(),
            Payload::Bytes(b) => {
                builder = builder.header("Content-Length", b.len().to_string());
                SendBody::from_owned_reader(std::io::Cursor::new(b.to_vec()))
            }
            Payload::File {
                path,
                digest,
                offset,
                len,
            } => {
                let read_err = |source| RegistryError::ReadBlob {
                    path: path.to_path_buf(),
                    digest: (*digest).to_owned(),
                    source,
                };
                let mut f = File::open(path).map_err(read_err)?;
                f.seek(SeekFrom::Start(*offset)).map_err(read_err)?;
                builder = builder.header("Content-Length", len.to_string());
                SendBody::from_owned_reader(
                    std::io::BufReader::with_capacity(1 << 16, f).take(*len),
                )
            }
        };
        let protocol = |message: String| RegistryError::Protocol {
            registry: registry.to_owned(),
            method: call.method.to_string(),
            url: shown_url(&call.url).to_owned(),
            message,
        };
        let request = builder.body(body).map_err(|e| protocol(e.to_string()))?;
        let request = if has_body {
            // A body cannot be replayed to a redirect target.
            self.agent
                .configure_request(request)
                .max_redirects(0)
                .build()
        } else {
            request
        };
        let shown = shown_url(&call.url);
        let mut response = match self.agent.run(request) {
            Ok(r) => r,
            Err(e) => {
                lock(&self.log).push(format!("{} {shown} -> error", call.method));
                // A malformed URL or header is not worth retrying.
                return Err(match e {
                    ureq::Error::BadUri(_) | ureq::Error::Http(_) => protocol(describe(&e)),
                    _ => transport(self.describe(&e)),
                });
            }
        };
        let status = response.status().as_u16();
        lock(&self.log).push(format!("{} {shown} -> {status}", call.method));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header("location");
        let digest = header("docker-content-digest");
        let range = header("range");
        let challenges = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        let body = if call.method == Method::HEAD {
            Vec::new()
        } else {
            response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .map_err(|e| transport(self.describe(&e)))?
        };
        Ok(Answer {
            status,
            location,
            digest,
            range,
            challenges,
            body,
        })
    }

    /// [`describe`], with timeouts naming the limit that ran out.
    fn describe(&self, e: &ureq::Error) -> String {
        let stall = self.opts.timeout.as_secs_f64();
        match e {
            ureq::Error::Timeout(ureq::Timeout::Global) => format!(
                "timed out: not done within the deadline of {}s",
                self.opts.deadline.as_secs_f64()
            ),
            ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
                format!("timed out: could not connect within {stall}s")
            }
            ureq::Error::Timeout(_) => format!("timed out: no answer within {stall}s"),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                format!("timed out: no answer within {stall}s")
            }
            other => describe(other),
        }
    }
}

/// A ureq error with its I/O cause spelled out; TLS failures say so.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            format!("TLS or protocol error: {io}")
        }
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => format!("TLS error: {e}"),
        other => other.to_string(),
    }
}

/// The URL without its query (upload URLs carry long opaque state).
fn shown_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` with `key=value` appended to its query.
pub(crate) fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", encode(value))
}

/// A `Location` header resolved against `base` (`scheme://host`).
pub(crate) fn resolve_location(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        format!("{base}/{location}")
    }
}

/// Locks a mutex, recovering the data if another thread panicked with it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    use super::{Client, ClientOptions, encode, resolve_location, with_query};
    use crate::registry::{Anonymous, RegistryError};

    fn status(code: u16) -> RegistryError {
        RegistryError::Status {
            registry: "r".into(),
            method: "GET".into(),
            url: "u".into(),
            status: code,
            detail: String::new(),
        }
    }

    #[test]
    fn only_connection_failures_5xx_and_429_are_retried_with_backoff() {
        let client = Client::new(
            ClientOptions {
                retries: 3,
                backoff: Duration::from_millis(10),
                ..ClientOptions::default()
            },
            Box::new(Anonymous),
        );
        let calls = Cell::new(0);
        let start = Instant::now();
        let r: Result<(), _> = client.retry(|| {
            calls.set(calls.get() + 1);
            Err(status(503))
        });
        assert!(matches!(r, Err(RegistryError::Status { status: 503, .. })));
        assert_eq!(calls.get(), 4);
        // 10 + 20 + 40 ms of backoff.
        assert!(start.elapsed() >= Duration::from_millis(70));
        for (code, expected) in [(429, 4), (500, 4), (404, 1), (400, 1)] {
            calls.set(0);
            let _ = client.retry(|| -> Result<(), _> {
                calls.set(calls.get() + 1);
                Err(status(code))
            });
            assert_eq!(calls.get(), expected, "HTTP {code}");
        }
        // A reset connection, then success.
        calls.set(0);
        let r = client.retry(|| {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(RegistryError::Transport {
                    registry: "r".into(),
                    method: "PUT".into(),
                    url: "u".into(),
                    message: "Connection reset by peer".into(),
                })
            } else {
                Ok(7)
            }
        });
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.get(), 3);
        // Answers: 5xx repeated, then the final answer handed back.
        calls.set(0);
        let answer = |status| super::Answer {
            status,
            location: None,
            digest: None,
            range: None,
            challenges: Vec::new(),
            body: Vec::new(),
        };
        let r = client.retry_answer(|| {
            calls.set(calls.get() + 1);
            Ok(answer(if calls.get() < 3 { 502 } else { 201 }))
        });
        assert_eq!(r.unwrap().status, 201);
        assert_eq!(calls.get(), 3);
        calls.set(0);
        let r = client.retry_answer(|| {
            calls.set(calls.get() + 1);
            Ok(answer(500))
        });
        assert_eq!(r.unwrap().status, 500);
        assert_eq!(calls.get(), 4);
        calls.set(0);
        let r = client.retry_answer(|| {
            calls.set(calls.get() + 1);
            Ok(answer(404))
        });
        assert_eq!(r.unwrap().status, 404);
        assert_eq!(calls.get(), 1);
        let unauthorized = RegistryError::Unauthorized {
            registry: "r".into(),
            user: String::new(),
            detail: String::new(),
        };
        assert!(!unauthorized.is_retryable());
    }

    #[test]
    fn url_helpers() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(with_query("http://h/t", "a", "b c"), "http://h/t?a=b%20c");
        assert_eq!(with_query("http://h/t?x=1", "a", "b"), "http://h/t?x=1&a=b");
        assert_eq!(
            resolve_location("http://h:1", "/v2/x?s=1"),
            "http://h:1/v2/x?s=1"
        );
        assert_eq!(resolve_location("http://h:1", "https://o/u"), "https://o/u");
    }
}
