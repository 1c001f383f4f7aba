//! HTTP(S) downloads: retries with backoff, size limits, basic auth from
//! `HTTP_AUTH`, conditional requests with ETags.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::Duration;

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

/// A small blocking HTTP client.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    auth: Vec<BasicAuth>,
    retries: u32,
    backoff: Duration,
    /// Largest body accepted.
    pub max_response: u64,
}

impl HttpClient {
    /// A client; `auth` holds credentials by host.
    pub fn new(auth: Vec<BasicAuth>) -> HttpClient {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .user_agent(concat!("apkforge/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpClient {
            agent: ureq::Agent::new_with_config(config),
            auth,
            retries: 3,
            backoff: Duration::from_millis(200),
            max_response: 8 << 30,
        }
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
    /// failures and 5xx answers with exponential backoff. With `etag`, sends
    /// `If-None-Match` and may return [`Fetched::NotModified`].
    pub fn get(&self, url: &str, etag: Option<&str>, out: &mut File) -> Result<Fetched, HttpError> {
        let shown = redact(url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            out.set_len(0)
                .and_then(|()| out.seek(SeekFrom::Start(0)).map(|_| ()))
                .map_err(|source| HttpError::Write {
                    url: shown.clone(),
                    source,
                })?;
            match self.try_get(url, &shown, etag, out) {
                Err(
                    e @ (HttpError::Transport { .. }
                    | HttpError::Status {
                        status: 500..=599, ..
                    }),
                ) if attempt <= self.retries => {
                    let _ = e;
                    std::thread::sleep(self.backoff * 2u32.pow(attempt - 1));
                }
                other => return other,
            }
        }
    }

    fn try_get(
        &self,
        url: &str,
        shown: &str,
        etag: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<Fetched, HttpError> {
        let mut req = self.agent.get(url);
        if let Some(auth) = self.auth_for(url) {
            req = req.header("Authorization", auth.header());
        }
        if let Some(etag) = etag {
            req = req.header("If-None-Match", etag);
        }
        let mut resp = req.call().map_err(|e| HttpError::Transport {
            url: shown.to_string(),
            message: e.to_string(),
        })?;
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
        let len = io::copy(&mut counted, out).map_err(|e| {
            if e.kind() == io::ErrorKind::Other || e.kind() == io::ErrorKind::InvalidData {
                HttpError::Transport {
                    url: shown.to_string(),
                    message: e.to_string(),
                }
            } else {
                HttpError::Write {
                    url: shown.to_string(),
                    source: e,
                }
            }
        })?;
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
}
