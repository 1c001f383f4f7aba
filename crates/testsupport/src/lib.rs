//! Helpers for tests: the fixtures directory and a real HTTP/1.1 file
//! server on a loopback port (basic auth, ETags, request log, injected
//! failures), so repository code is exercised over real sockets.
#![allow(clippy::print_stderr)]

pub mod engine;
pub mod git;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// The fixtures directory: `$APKFORGE_FIXTURES`, else `shared/fixtures`
/// beside the repository.
pub fn fixtures() -> PathBuf {
    if let Some(p) = std::env::var_os("APKFORGE_FIXTURES") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        p.is_dir(),
        "fixtures not found at {} (set APKFORGE_FIXTURES)",
        p.display()
    );
    p
}

/// Server behaviour.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Require `Authorization: Basic` with these credentials.
    pub basic_auth: Option<(String, String)>,
    /// Resolve `.` and `..` in request paths as nginx and most servers do
    /// (a path climbing above the root is still refused); by default any
    /// `..` is refused.
    pub resolve_dot_segments: bool,
}

struct Shared {
    root: PathBuf,
    opts: ServerOptions,
    log: Mutex<Vec<String>>,
    fail_next: AtomicUsize,
    stop: AtomicBool,
}

/// A file server on `127.0.0.1:<port>`; stops when dropped.
pub struct FileServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Arc<Shared>,
    port: u16,
}

impl FileServer {
    /// Serves `root`.
    pub fn start(root: &Path, opts: ServerOptions) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            opts,
            log: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &s);
                });
            }
        });
        FileServer {
            url: format!("http://127.0.0.1:{port}"),
            shared,
            port,
        }
    }

    /// Requests served so far, as `METHOD path status`.
    pub fn log(&self) -> Vec<String> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Answers the next `n` requests with HTTP 503.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn handle(stream: TcpStream, s: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut out = stream;
    let mut respond = |status: u16,
                       reason: &str,
                       extra: &[(&str, String)],
                       body: &[u8],
                       send_body: bool|
     -> std::io::Result<()> {
        if let Ok(mut log) = s.log.lock() {
            log.push(format!("{method} {target} {status}"));
        }
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        if send_body {
            out.write_all(body)?;
        }
        out.flush()
    };
    if s.fail_next.load(Ordering::SeqCst) > 0 {
        s.fail_next.fetch_sub(1, Ordering::SeqCst);
        return respond(503, "Service Unavailable", &[], b"try later", true);
    }
    if let Some((user, pass)) = &s.opts.basic_auth {
        use base64::Engine as _;
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        if header("authorization").as_deref() != Some(want.as_str()) {
            return respond(
                401,
                "Unauthorized",
                &[("WWW-Authenticate", "Basic realm=\"test\"".into())],
                b"",
                true,
            );
        }
    }
    let rel = target
        .split('?')
        .next()
        .unwrap_or("")
        .trim_start_matches('/');
    let rel = if s.opts.resolve_dot_segments {
        let mut parts: Vec<&str> = Vec::new();
        for c in rel.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return respond(400, "Bad Request", &[], b"", true);
                    }
                }
                c => parts.push(c),
            }
        }
        parts.join("/")
    } else {
        rel.to_string()
    };
    if rel.split('/').any(|c| c == "..") {
        return respond(400, "Bad Request", &[], b"", true);
    }
    let path = s.root.join(&rel);
    let mut body = Vec::new();
    match std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut body)) {
        Ok(_) if path.is_file() => {
            let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
            if header("if-none-match").as_deref() == Some(etag.as_str()) {
                return respond(304, "Not Modified", &[("ETag", etag)], b"", false);
            }
            respond(200, "OK", &[("ETag", etag)], &body, method != "HEAD")
        }
        _ => respond(404, "Not Found", &[], b"not found", true),
    }
}
