//! HTTP(S) downloads: retries with backoff, time and size limits, basic
//! auth from `HTTP_AUTH`, conditional requests with ETags.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::location::redact;

/// Error downloading a URL.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered with an error status.
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The URL (credentials redacted).
        url: String,
        /// The status code.
        status: u16,
    },
    /// The server was silent too long, or the download ran past its
    /// deadline.
    #[error("GET {url}: {message}")]
    Timeout {
        /// The URL (credentials redacted).
        url: String,
        /// Which limit, e.g. `no answer within 30s`.
        message: String,
    },
    /// Connection, TLS or protocol failure.
    #[error("GET {url}: {message}")]
    Transport {
        /// The URL (credentials redacted).
        url: String,
        /// What failed.
        message: String,
    },
    /// The body was larger than allowed.
    #[error("GET {url}: response larger than the {limit}-byte limit")]
    TooLarge {
        /// The URL (credentials redacted).
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Writing the body failed.
    #[error("GET {url}: writing the download: {source}")]
    Write {
        /// The URL (credentials redacted).
        url: String,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// Basic credentials for one host (`HTTP_AUTH=basic:HOST:USER:PASS`, as apko).
#[derive(Clone, Debug)]
pub struct BasicAuth {
    /// Host (with port, if any) the credentials are for.
    pub host: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl BasicAuth {
    /// Parses `basic:HOST:USER:PASS`. HOST may carry a port; the user and
    /// password are the last two fields.
    pub fn parse(spec: &str) -> Option<BasicAuth> {
        let rest = spec.strip_prefix("basic:")?;
        let mut fields = rest.rsplitn(3, ':');
        let password = fields.next()?;
        let user = fields.next()?;
        let host = fields.next()?;
        Some(BasicAuth {
            host: host.to_string(),
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    fn header(&self) -> String {
        use base64::Engine as _;
        let raw = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Outcome of a conditional download.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The server said the cached copy is current (HTTP 304).
    NotModified,
    /// The body was written; the new ETag, if any.
    Body {
        /// ETag of the response.
        etag: Option<String>,
        /// Bytes written.
        len: u64,
    },
}

/// Time limits of HTTP requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest silence: connecting (DNS, TCP, TLS) and every wait for the
    /// server's next bytes. A server that accepts connections and never
    /// answers fails each attempt after this long.
    pub stall: Duration,
    /// Longest time one request may take in all: every attempt, the body
    /// and the waits between retries. No retry starts past it.
    pub deadline: Duration,
}

impl Timeouts {
    /// 30 s of silence, 30 minutes in all.
    pub const DEFAULT: Timeouts = Timeouts {
        stall: Duration::from_secs(30),
        deadline: Duration::from_secs(30 * 60),
    };

    /// The limits of clients made by [`HttpClient::new`]: [`Timeouts::DEFAULT`]
    /// unless [`Timeouts::set_process_default`] changed them.
    pub fn process_default() -> Timeouts {
        *PROCESS_TIMEOUTS
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the limits of every client made afterwards by
    /// [`HttpClient::new`] (the command line's `--http-timeout`).
    pub fn set_process_default(timeouts: Timeouts) {
        *PROCESS_TIMEOUTS
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = timeouts;
    }
}

static PROCESS_TIMEOUTS: RwLock<Timeouts> = RwLock::new(Timeouts::DEFAULT);

/// A small blocking HTTP client.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    auth: Vec<BasicAuth>,
    retries: u32,
    backoff: Duration,
    timeouts: Timeouts,
    /// Largest body accepted.
    pub max_response: u64,
}

impl HttpClient {
    /// A client with the process's [`Timeouts`]; `auth` holds credentials
    /// by host.
    pub fn new(auth: Vec<BasicAuth>) -> HttpClient {
        HttpClient::with_timeouts(auth, Timeouts::process_default())
    }

    /// A client with these time limits.
    pub fn with_timeouts(auth: Vec<BasicAuth>, timeouts: Timeouts) -> HttpClient {
        let stall = Some(timeouts.stall);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_resolve(stall)
            .timeout_connect(stall)
            .timeout_per_read(stall)
            .timeout_per_write(stall)
            .user_agent(concat!("apkforge/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpClient {
            agent: ureq::Agent::new_with_config(config),
            auth,
            retries: 3,
            backoff: Duration::from_millis(200),
            timeouts,
            max_response: 8 << 30,
        }
    }

    /// The time limits in use.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Credentials from the `HTTP_AUTH` environment variable.
    pub fn auth_from_env() -> Vec<BasicAuth> {
        std::env::var("HTTP_AUTH")
            .ok()
            .and_then(|v| BasicAuth::parse(&v))
            .into_iter()
            .collect()
    }

    fn auth_for(&self, url: &str) -> Option<&BasicAuth> {
        let host = url.split_once("://")?.1.split('/').next()?;
        let host = host.rsplit('@').next()?;
        self.auth
            .iter()
            .find(|a| a.host == host || host.split(':').next() == Some(a.host.as_str()))
    }

    /// GETs `url` into `out` (truncated first), retrying connection
    /// failures, timeouts and 5xx answers with exponential backoff, all
    /// within the deadline. With `etag`, sends `If-None-Match` and may
    /// return [`Fetched::NotModified`].
    pub fn get(&self, url: &str, etag: Option<&str>, out: &mut File) -> Result<Fetched, HttpError> {
        let shown = redact(url);
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            out.set_len(0)
                .and_then(|()| out.seek(SeekFrom::Start(0)).map(|_| ()))
                .map_err(|source| HttpError::Write {
                    url: shown.clone(),
                    source,
                })?;
            let left = self.timeouts.deadline.saturating_sub(start.elapsed());
            let result = self.try_get(url, &shown, etag, out, left);
            let retryable = matches!(
                result,
                Err(HttpError::Transport { .. }
                    | HttpError::Timeout { .. }
                    | HttpError::Status {
                        status: 500..=599,
                        ..
                    })
            );
            let wait = self.backoff * 2u32.pow(attempt - 1);
            if !retryable || attempt > self.retries {
                return result;
            }
            if start.elapsed() + wait >= self.timeouts.deadline {
                return match result {
                    Err(HttpError::Timeout { url, message }) if !message.contains("deadline") => {
                        Err(HttpError::Timeout {
                            url,
                            message: format!(
                                "{message}; no time left for another attempt within the deadline of {}",
                                human(self.timeouts.deadline)
                            ),
                        })
                    }
                    other => other,
                };
            }
            std::thread::sleep(wait);
        }
    }

    /// One attempt, given `left` of the deadline.
    fn try_get(
        &self,
        url: &str,
        shown: &str,
        etag: Option<&str>,
        out: &mut dyn Write,
        left: Duration,
    ) -> Result<Fetched, HttpError> {
        let failed = |e: ureq::Error| self.failure(shown, e);
        let mut req = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(left))
            .build();
        if let Some(auth) = self.auth_for(url) {
            req = req.header("Authorization", auth.header());
        }
        if let Some(etag) = etag {
            req = req.header("If-None-Match", etag);
        }
        let mut resp = req.call().map_err(failed)?;
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(Fetched::NotModified);
        }
        if !(200..300).contains(&status) {
            return Err(HttpError::Status {
                url: shown.to_string(),
                status,
            });
        }
        let new_etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = self.max_response;
        let mut reader = resp
            .body_mut()
            .with_config()
            .limit(limit.saturating_add(1))
            .reader();
        let mut counted = (&mut reader).take(limit.saturating_add(1));
        let mut buf = vec![0u8; 64 << 10];
        let mut len = 0u64;
        loop {
            let n = match counted.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(match e.downcast::<ureq::Error>() {
                        Ok(inner) => failed(inner),
                        Err(e) => HttpError::Transport {
                            url: shown.to_string(),
                            message: e.to_string(),
                        },
                    });
                }
            };
            out.write_all(&buf[..n])
                .map_err(|source| HttpError::Write {
                    url: shown.to_string(),
                    source,
                })?;
            len += n as u64;
        }
        if len > limit {
            return Err(HttpError::TooLarge {
                url: shown.to_string(),
                limit,
            });
        }
        Ok(Fetched::Body {
            etag: new_etag,
            len,
        })
    }

    /// A ureq error as ours: timeouts say which limit ran out.
    fn failure(&self, shown: &str, e: ureq::Error) -> HttpError {
        let limit = match &e {
            ureq::Error::Timeout(ureq::Timeout::Global) => {
                format!(
                    "not done within the deadline of {}",
                    human(self.timeouts.deadline)
                )
            }
            ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
                format!("could not connect within {}", human(self.timeouts.stall))
            }
            ureq::Error::Timeout(_) => format!("no answer within {}", human(self.timeouts.stall)),
            ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => {
                format!("no answer within {}", human(self.timeouts.stall))
            }
            _ => {
                return HttpError::Transport {
                    url: shown.to_string(),
                    message: e.to_string(),
                };
            }
        };
        HttpError::Timeout {
            url: shown.to_string(),
            message: format!("timed out: {limit}"),
        }
    }
}

/// `1.5s`, `30s`, `2m`, `1h30m`: a duration as the flags take it.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 60_000 && !ms.is_multiple_of(1000) {
        return format!("{}s", d.as_secs_f64());
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}
