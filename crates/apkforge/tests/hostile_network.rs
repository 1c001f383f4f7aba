//! Servers that accept connections and then never answer, or answer too
//! slowly to ever finish: repositories and registries fail within the
//! limits of `--http-timeout` / `--http-deadline` (or their environment
//! variables), naming the URL, with retries bounded.

mod common;

use common::fail;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use testsupport::fixtures;

/// A loopback server that accepts every connection and then does what
/// `serve` does with it (on its own thread); counts connections.
struct Server {
    host: String,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start(serve: fn(TcpStream)) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || serve(stream));
            }
        });
        Server { host, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads nothing, writes nothing, keeps the connection open.
fn silent(stream: TcpStream) {
    std::thread::sleep(Duration::from_secs(600));
    drop(stream);
}

/// Reads the request, answers `200` with a 1 MB body and sends it one
/// byte every 200 ms: never silent for long, never done.
fn trickle(mut stream: TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
    if stream.write_all(head).is_err() {
        return;
    }
    for _ in 0..1_000_000 {
        if stream.write_all(b"x").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An image config trusting Alpine's key, installing busybox from `repo`.
fn config(dir: &Path, repo: &str) {
    let key = fixtures().join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub");
    fs::write(
        dir.join("apko.yaml"),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {repo}\n  packages:\n    - busybox\narchs:\n  - x86_64\n",
            key.display()
        ),
    )
    .unwrap();
}

/// Runs apkforge in `dir` with `env`, returning its output and how long it took.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("DOCKER_CONFIG", dir.join("docker"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// Far below the 30 s default per attempt (4 attempts: 120 s and more):
/// the limits given were the ones applied.
const BOUND: Duration = Duration::from_secs(25);

#[test]
fn silent_repository_times_out_with_bounded_retries() {
    let server = Server::start(silent);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = format!("http://{}/alpine-3.19", server.host);
    config(d, &repo);
    let (out, took) = run(
        d,
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--cache-dir",
            "cache",
            "--http-timeout",
            "1s",
        ],
        &[],
    );
    let err = fail(&out);
    assert!(
        err.contains(&format!("GET {repo}/")) && err.contains("timed out: no answer within 1s"),
        "{err}"
    );
    assert!(took < BOUND, "took {took:?}:\n{err}");
    // Retried (3 times), no more.
    let n = server.connections();
    assert!((2..=4).contains(&n), "{n} connections");
    assert!(!d.join("out.tar").exists());

    // The same limit from the environment; a bad value is refused.
    let (out, took) = run(
        d,
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--cache-dir",
            "cache",
        ],
        &[("APKFORGE_HTTP_TIMEOUT", "1")],
    );
    let err = fail(&out);
    assert!(err.contains("timed out: no answer within 1s"), "{err}");
    assert!(took < BOUND, "took {took:?}:\n{err}");
    let (out, _) = run(
        d,
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--http-timeout",
            "soon",
        ],
        &[],
    );
    let err = fail(&out);
    assert!(
        err.contains("--http-timeout `soon` is not a positive duration"),
        "{err}"
    );
}

#[test]
fn deadline_ends_a_download_that_never_finishes() {
    let server = Server::start(trickle);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = format!("http://{}/alpine-3.19", server.host);
    config(d, &repo);
    let (out, took) = run(
        d,
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--cache-dir",
            "cache",
            "--http-timeout",
            "2s",
            "--http-deadline",
            "3s",
        ],
        &[],
    );
    let err = fail(&out);
    assert!(
        err.contains(&format!("GET {repo}/"))
            && err.contains("timed out: not done within the deadline of 3s"),
        "{err}"
    );
    assert!(took < BOUND, "took {took:?}:\n{err}");
    // No retry starts past the deadline.
    assert_eq!(server.connections(), 1);
}

#[test]
fn silent_registry_times_out_before_the_build() {
    let server = Server::start(silent);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("docker")).unwrap();
    config(d, &fixtures().join("alpine-3.19").display().to_string());
    let tag = format!("{}/app:1", server.host);
    let (out, took) = run(
        d,
        &[
            "image",
            "publish",
            "apko.yaml",
            &tag,
            "--cache-dir",
            "cache",
        ],
        &[("APKFORGE_HTTP_TIMEOUT", "1s")],
    );
    let err = fail(&out);
    assert!(
        err.contains(&format!("cannot reach registry {}", server.host))
            && err.contains("timed out"),
        "{err}"
    );
    assert!(
        !err.contains("==>"),
        "built before reaching the registry:\n{err}"
    );
    assert!(took < BOUND, "took {took:?}:\n{err}");
    // HTTPS once, then plain HTTP (loopback): a first attempt, then up to
    // four more.
    let n = server.connections();
    assert!((2..=6).contains(&n), "{n} connections:\n{err}");
}

/// A recipe whose only step clones `repo` (busybox environment from the
/// fixtures, so nothing else touches the network).
fn clone_recipe(dir: &Path, repo: &str) {
    let fx = fixtures();
    fs::write(
        dir.join("clone.yaml"),
        format!(
            "package:\n  name: clone\n  version: 1.0.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\nenvironment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n  - uses: git-checkout\n    with:\n      repository: {repo}\n      branch: main\n      max-retries: 1\n      initial-backoff: 0\n",
            fx = fx.display()
        ),
    )
    .unwrap();
}

#[test]
fn git_checkout_from_a_server_that_never_answers_stops_at_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let build = |extra: &[&str]| {
        let mut args = vec![
            "package",
            "build",
            "clone.yaml",
            "--out-dir",
            "out",
            "--apk-cache-dir",
            "apkcache",
        ];
        args.extend_from_slice(extra);
        run(d, &args, &[])
    };
    // Silent: git's transfer stalls for the --http-timeout, each attempt.
    let server = Server::start(silent);
    let repo = format!("http://{}/demo.git", server.host);
    clone_recipe(d, &repo);
    let (out, took) = build(&["--http-timeout", "1s"]);
    let err = fail(&out);
    assert!(
        err.contains(&format!("git-checkout of {repo}")) && err.contains("after 2 attempts"),
        "{err}"
    );
    assert!(took < BOUND, "took {took:?}:\n{err}");
    assert_eq!(server.connections(), 2);
    // Never silent for long, never done: stopped at the --http-deadline,
    // and no retry starts past it.
    let server = Server::start(trickle);
    let repo = format!("http://{}/demo.git", server.host);
    clone_recipe(d, &repo);
    let (out, took) = build(&["--http-timeout", "2s", "--http-deadline", "3s"]);
    let err = fail(&out);
    assert!(
        err.contains(&format!("git-checkout of {repo}"))
            && err.contains("was stopped after 3 s, the network deadline (--http-deadline)"),
        "{err}"
    );
    assert!(took < BOUND, "took {took:?}:\n{err}");
    assert_eq!(server.connections(), 1);
    assert!(!d.join("out/x86_64/clone-1.0.0-r0.apk").exists());
}
