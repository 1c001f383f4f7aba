//! A small client for the Docker Engine API over a unix socket, as Docker
//! and podman's API service (`podman system service`) serve it.
//!
//! It speaks plain HTTP/1.1 on [`std::os::unix::net::UnixStream`], one
//! connection per request, on the unversioned API paths (both engines
//! route them to their newest version). What it covers is what apkforge
//! uses: [`Client::ping`], [`Client::version`], [`Client::load_image`] (`docker load`),
//! [`Client::tag_image`], [`Client::inspect_image`] and
//! [`Client::remove_image`] for images; for the containers package builds
//! run their steps in, [`Client::create_container`],
//! [`Client::start_container`], [`Client::exec`] (create, start with the
//! output streamed, inspect), [`Client::kill_container`],
//! [`Client::remove_container`] and [`Client::list_containers`]. One method per endpoint.
//!
//! The socket comes from `DOCKER_HOST` (`unix:///path`), else
//! `/var/run/docker.sock` ([`Client::from_env`]).
#![deny(missing_docs)]

pub mod http;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::http::{Body, Response};

/// Errors talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `DOCKER_HOST` names something other than a unix socket.
    #[error("DOCKER_HOST `{0}` is not supported: give unix:///path/to/socket")]
    UnsupportedHost(String),
    /// The socket cannot be reached or the connection failed.
    #[error("{}: {source}", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A file to send could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The engine answered with an error.
    #[error("{request}: {status} {message}")]
    Api {
        /// `METHOD /path`.
        request: String,
        /// HTTP status.
        status: u16,
        /// The engine's message.
        message: String,
    },
    /// The answer was not what the API documents.
    #[error("{request}: unexpected answer: {reason}")]
    Protocol {
        /// `METHOD /path`.
        request: String,
        /// What was wrong.
        reason: String,
    },
}

/// A container's labels.
pub type Labels = serde_json::Map<String, serde_json::Value>;

/// `GET /version`, the fields apkforge uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Engine version (`28.2.2`, `4.3.1`).
    pub version: String,
    /// API version.
    pub api_version: String,
    /// `linux`.
    pub os: String,
    /// Go architecture name (`amd64`, `arm64`).
    pub arch: String,
}

/// A client for one engine socket.
#[derive(Clone, Debug)]
pub struct Client {
    socket: PathBuf,
}

impl Client {
    /// A client for the socket at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Client {
        Client {
            socket: socket.into(),
        }
    }

    /// The socket from `DOCKER_HOST` (`unix:///path`), else
    /// `/var/run/docker.sock`.
    pub fn from_env() -> Result<Client, EngineError> {
        match std::env::var("DOCKER_HOST") {
            Ok(host) if !host.is_empty() => Client::from_host(&host),
            _ => Ok(Client::new("/var/run/docker.sock")),
        }
    }

    /// A client for a `DOCKER_HOST` value.
    pub fn from_host(host: &str) -> Result<Client, EngineError> {
        match host.strip_prefix("unix://") {
            Some(path) if path.starts_with('/') => Ok(Client::new(path)),
            _ => Err(EngineError::UnsupportedHost(host.to_string())),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn call(&self, method: &str, path: &str, body: Body<'_>) -> Result<Response, EngineError> {
        let response = http::request(&self.socket, method, path, body).map_err(|e| match e {
            http::HttpError::Io(source) => EngineError::Connect {
                socket: self.socket.clone(),
                source,
            },
            http::HttpError::Protocol(reason) => EngineError::Protocol {
                request: format!("{method} {path}"),
                reason,
            },
        })?;
        if response.status >= 400 {
            return Err(EngineError::Api {
                request: format!("{method} {path}"),
                status: response.status,
                message: error_message(&response.body),
            });
        }
        Ok(response)
    }

    fn json(&self, method: &str, path: &str) -> Result<serde_json::Value, EngineError> {
        let r = self.call(method, path, Body::Empty)?;
        serde_json::from_slice(&r.body).map_err(|e| EngineError::Protocol {
            request: format!("{method} {path}"),
            reason: format!("not JSON: {e}"),
        })
    }

    fn call_json(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, EngineError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let r = self.call(
            method,
            path,
            Body::Stream {
                content_type: "application/json",
                len: bytes.len() as u64,
                reader: &mut bytes.as_slice(),
            },
        )?;
        if r.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&r.body).map_err(|e| EngineError::Protocol {
            request: format!("{method} {path}"),
            reason: format!("not JSON: {e}"),
        })
    }

    /// `POST /containers/create` with a container config (Docker's
    /// `ContainerCreateRequest`: `Image`, `Cmd`, `HostConfig`, …); returns
    /// the container's id.
    pub fn create_container(
        &self,
        name: Option<&str>,
        config: &serde_json::Value,
    ) -> Result<String, EngineError> {
        let path = match name {
            Some(n) => format!("/containers/create?name={}", escape_query(n)),
            None => "/containers/create".to_string(),
        };
        let v = self.call_json("POST", &path, config)?;
        v["Id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| EngineError::Protocol {
                request: format!("POST {path}"),
                reason: "no `Id` in the answer".into(),
            })
    }

    /// `GET /containers/json?all=true` filtered by `label` (`key=value`):
    /// each container's id and labels.
    pub fn list_containers(&self, label: &str) -> Result<Vec<(String, Labels)>, EngineError> {
        let filters = serde_json::json!({ "label": [label] }).to_string();
        let path = format!(
            "/containers/json?all=true&filters={}",
            escape_query(&filters)
        );
        let v = self.json("GET", &path)?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        let id = c["Id"].as_str()?.to_string();
                        let labels = c["Labels"].as_object().cloned().unwrap_or_default();
                        Some((id, labels))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `POST /containers/{id}/start`.
    pub fn start_container(&self, id: &str) -> Result<(), EngineError> {
        let path = format!("/containers/{}/start", escape_path(id));
        self.call("POST", &path, Body::Empty).map(drop)
    }

    /// `POST /containers/{id}/kill` (SIGKILL).
    pub fn kill_container(&self, id: &str) -> Result<(), EngineError> {
        let path = format!("/containers/{}/kill?signal=KILL", escape_path(id));
        self.call("POST", &path, Body::Empty).map(drop)
    }

    /// `DELETE /containers/{id}?force=true&v=true`: stops and removes it
    /// with its anonymous volumes.
    pub fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        let path = format!("/containers/{}?force=true&v=true", escape_path(id));
        self.call("DELETE", &path, Body::Empty).map(drop)
    }

    /// Runs a command in a running container: `POST
    /// /containers/{id}/exec` with `config` (Docker's `ExecConfig`: `Cmd`,
    /// `Env`, `User`, `WorkingDir`; output attached, no TTY), `POST
    /// /exec/{exec}/start` with the output handed to `output` frame by
    /// frame as it comes (stream 1 stdout, 2 stderr), then `GET
    /// /exec/{exec}/json` for the exit code. `started` gets the exec's id
    /// first (to kill what it runs from elsewhere).
    pub fn exec(
        &self,
        container: &str,
        config: &serde_json::Value,
        started: &mut dyn FnMut(&str),
        output: &mut dyn FnMut(u8, &[u8]),
    ) -> Result<i64, EngineError> {
        let path = format!("/containers/{}/exec", escape_path(container));
        let v = self.call_json("POST", &path, config)?;
        let exec = v["Id"].as_str().ok_or_else(|| EngineError::Protocol {
            request: format!("POST {path}"),
            reason: "no `Id` in the answer".into(),
        })?;
        started(exec);
        let path = format!("/exec/{}/start", escape_path(exec));
        let request = format!("POST {path}");
        let body = serde_json::to_vec(&serde_json::json!({"Detach": false, "Tty": false}))
            .unwrap_or_default();
        let mut r = http::request_streaming(
            &self.socket,
            "POST",
            &path,
            Body::Stream {
                content_type: "application/json",
                len: body.len() as u64,
                reader: &mut body.as_slice(),
            },
        )
        .map_err(|e| self.http_error(&request, e))?;
        if r.status >= 400 {
            let mut text = Vec::new();
            let _ = r.body.by_ref().take(1 << 20).read_to_end(&mut text);
            return Err(EngineError::Api {
                request,
                status: r.status,
                message: error_message(&text),
            });
        }
        demultiplex(&mut r.body, output).map_err(|e| EngineError::Protocol {
            request: request.clone(),
            reason: format!("reading the output: {e}"),
        })?;
        let path = format!("/exec/{}/json", escape_path(exec));
        // The exit code is recorded once the process is reaped.
        for _ in 0..200 {
            let v = self.json("GET", &path)?;
            if v["Running"].as_bool() != Some(true)
                && let Some(code) = v["ExitCode"].as_i64()
            {
                return Ok(code);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Err(EngineError::Protocol {
            request: format!("GET {path}"),
            reason: "the command's output ended but it is still running".into(),
        })
    }

    fn http_error(&self, request: &str, e: http::HttpError) -> EngineError {
        match e {
            http::HttpError::Io(source) => EngineError::Connect {
                socket: self.socket.clone(),
                source,
            },
            http::HttpError::Protocol(reason) => EngineError::Protocol {
                request: request.to_string(),
                reason,
            },
        }
    }

    /// `GET /_ping`: whether the engine answers (cheaper than
    /// [`Client::version`], which podman gathers system facts for).
    pub fn ping(&self) -> Result<(), EngineError> {
        self.call("GET", "/_ping", Body::Empty).map(drop)
    }

    /// `GET /version`.
    pub fn version(&self) -> Result<Version, EngineError> {
        let v = self.json("GET", "/version")?;
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok(Version {
            version: field("Version"),
            api_version: field("ApiVersion"),
            os: field("Os"),
            arch: field("Arch"),
        })
    }

    /// `POST /images/load` with a docker archive (`docker save` format);
    /// returns what the engine reports loading (`Loaded image: ...` lines,
    /// without the prefix). An error in the progress stream is an error.
    pub fn load_image(&self, archive: &Path) -> Result<Vec<String>, EngineError> {
        let read_err = |source| EngineError::Read {
            path: archive.to_path_buf(),
            source,
        };
        let file = File::open(archive).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let path = "/images/load?quiet=1";
        let r = self.call(
            "POST",
            path,
            Body::Stream {
                content_type: "application/x-tar",
                len,
                reader: &mut reader,
            },
        )?;
        let mut loaded = Vec::new();
        for message in json_stream(&r.body) {
            if let Some(err) = message.get("error").and_then(|e| e.as_str()) {
                return Err(EngineError::Api {
                    request: format!("POST {path}"),
                    status: r.status,
                    message: err.to_string(),
                });
            }
            if let Some(text) = message.get("stream").and_then(|s| s.as_str()) {
                for line in text.lines() {
                    let line = line.trim();
                    for prefix in ["Loaded image: ", "Loaded image ID: ", "Loaded image(s): "] {
                        if let Some(name) = line.strip_prefix(prefix) {
                            loaded.extend(name.split(',').map(|n| n.trim().to_string()));
                        }
                    }
                }
            }
        }
        Ok(loaded)
    }

    /// `POST /images/{image}/tag?repo=REPO&tag=TAG`.
    pub fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError> {
        let path = format!(
            "/images/{}/tag?repo={}&tag={}",
            escape_path(image),
            escape_query(repo),
            escape_query(tag)
        );
        self.call("POST", &path, Body::Empty).map(drop)
    }

    /// `GET /images/{image}/json`.
    pub fn inspect_image(&self, image: &str) -> Result<serde_json::Value, EngineError> {
        self.json("GET", &format!("/images/{}/json", escape_path(image)))
    }

    /// `DELETE /images/{image}` (`force` also removes it from every tag).
    pub fn remove_image(&self, image: &str, force: bool) -> Result<(), EngineError> {
        let path = format!("/images/{}?force={force}", escape_path(image));
        self.call("DELETE", &path, Body::Empty).map(drop)
    }
}

/// Splits Docker's multiplexed output stream (8-byte headers: stream,
/// three zeros, big-endian length) into frames for `output`, to its end.
/// A stream that does not start with such a header is raw output (a TTY
/// or an engine that does not multiplex) and goes to `output` as stream 1.
fn demultiplex(body: &mut dyn Read, output: &mut dyn FnMut(u8, &[u8])) -> std::io::Result<()> {
    let mut head = [0u8; 8];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut got = 0;
        while got < head.len() {
            let n = body.read(&mut head[got..])?;
            if n == 0 {
                if got > 0 {
                    output(1, &head[..got]);
                }
                return Ok(());
            }
            got += n;
        }
        if head[0] > 2 || head[1..4] != [0, 0, 0] {
            output(1, &head);
            loop {
                let n = body.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                output(1, &buf[..n]);
            }
        }
        let mut left = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        while left > 0 {
            let want = left.min(buf.len());
            let n = body.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            output(head[0], &buf[..n]);
            left -= n;
        }
    }
}

/// The `message` of an error answer, else its text.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string())
}

/// The JSON objects of a progress stream (concatenated or one per line).
fn json_stream(body: &[u8]) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<serde_json::Value>()
        .map_while(Result::ok)
        .collect()
}

/// Percent-encodes what may not appear in a path segment (`/` and `:` of
/// image names are allowed by both engines' routers).
fn escape_path(s: &str) -> String {
    escape(s, |b| b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b))
}

fn escape_query(s: &str) -> String {
    escape(s, |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn escape(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_escapes() {
        assert_eq!(
            Client::from_host("unix:///run/x.sock").unwrap().socket(),
            Path::new("/run/x.sock")
        );
        assert!(Client::from_host("tcp://127.0.0.1:2375").is_err());
        assert_eq!(
            escape_query("registry.example/app"),
            "registry.example%2Fapp"
        );
        assert_eq!(escape_path("localhost/app:1"), "localhost/app:1");
        let mut frames = Vec::new();
        let muxed = b"\x01\0\0\0\0\0\0\x03out\x02\0\0\0\0\0\0\x04err\n";
        demultiplex(&mut &muxed[..], &mut |s, b| frames.push((s, b.to_vec()))).unwrap();
        assert_eq!(frames, [(1, b"out".to_vec()), (2, b"err\n".to_vec())]);
        frames.clear();
        demultiplex(&mut &b"plain text"[..], &mut |s, b| {
            frames.push((s, b.to_vec()))
        })
        .unwrap();
        let raw: Vec<u8> = frames.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(raw, b"plain text");
        let stream = b"{\"stream\":\"a\"}\r\n{\"error\":\"b\"}";
        assert_eq!(json_stream(stream).len(), 2);
        assert_eq!(
            error_message(b"{\"message\":\"no such image\"}"),
            "no such image"
        );
    }
}
