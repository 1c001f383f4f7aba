//! Shared helpers of the publish tests: the binary, a real Debian
//! `docker-registry` on a loopback port with htpasswd (bcrypt) auth and its
//! access log enabled, and the fixture config.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use testsupport::FileServer;

pub const USER: &str = "u";
pub const PASSWORD: &str = "p";

pub const BASE: &[&str] = &[
    "alpine-baselayout",
    "alpine-keys",
    "busybox",
    "busybox-binsh",
    "ca-certificates-bundle",
    "musl-utils",
];

/// Runs the binary in `dir` with `SOURCE_DATE_EPOCH` fixed, `DOCKER_CONFIG`
/// set to `docker` and `stdin` fed to it.
pub fn apkforge(args: &[&str], dir: &Path, docker: &Path, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("DOCKER_CONFIG", docker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn fail(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "unexpected success: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

pub fn tool(cmd: &mut Command) -> String {
    let out = tool_output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn tool_output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}); scripts/test.sh installs it"))
}

pub fn alpine_config(server: &FileServer, packages: &[&str]) -> String {
    let pkgs: String = packages.iter().map(|p| format!("    - {p}\n")).collect();
    format!(
        "contents:\n  keyring:\n    - {url}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n  repositories:\n    - {url}/alpine-3.19\n  packages:\n{pkgs}entrypoint:\n  command: /bin/sh -c \"echo ok\"\narchs:\n  - x86_64\n",
        url = server.url
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `docker/config.json` with basic credentials for `host`.
pub fn docker_config(docker: &Path, host: &str, user: &str, password: &str) {
    fs::create_dir_all(docker).unwrap();
    let auth = base64(format!("{user}:{password}").as_bytes());
    fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

/// Standard base64 (tests only; the binary has its own).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The index digest `image build` printed: `wrote OUT (sha256:...)`.
pub fn printed_digest(stdout: &str) -> String {
    let start = stdout.rfind("(sha256:").expect("no digest printed") + 1;
    let end = start + stdout[start..].find(')').unwrap();
    stdout[start..end].to_string()
}

/// A blob of an OCI layout as JSON.
pub fn layout_json(layout: &Path, digest: &str) -> serde_json::Value {
    serde_json::from_slice(
        &fs::read(
            layout
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap()
}

/// A running `docker-registry serve` with htpasswd auth; killed on drop.
pub struct Registry {
    pub ip: String,
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Registry {
    /// Starts a registry on loopback with htpasswd (bcrypt) auth for
    /// [`USER`] and [`PASSWORD`]; storage, config and log live in `dir`.
    pub fn start(dir: &Path) -> Registry {
        Registry::start_at(dir, "127.0.0.1")
    }

    /// Like [`Registry::start`], listening on `ip`.
    pub fn start_at(dir: &Path, ip: &str) -> Registry {
        fs::create_dir_all(dir).unwrap();
        let htpasswd = tool(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
        fs::write(dir.join("htpasswd"), htpasswd).unwrap();
        let auth = format!(
            "  htpasswd:\n    realm: test-realm\n    path: {}\n",
            dir.join("htpasswd").display()
        );
        Registry::start_full(dir, ip, &auth)
    }

    /// Starts a registry on loopback whose `auth:` section is `auth` (YAML,
    /// indented by two spaces).
    pub fn start_with_auth(dir: &Path, auth: &str) -> Registry {
        Registry::start_full(dir, "127.0.0.1", auth)
    }

    fn start_full(dir: &Path, ip: &str, auth: &str) -> Registry {
        fs::create_dir_all(dir.join("data")).unwrap();
        let port = TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\nhttp:\n  addr: {ip}:{port}\nauth:\n{auth}",
            data = dir.join("data").display(),
        );
        fs::write(dir.join("config.yml"), config).unwrap();
        let mut r = Registry {
            ip: ip.to_string(),
            port,
            dir: dir.to_path_buf(),
            child: None,
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("registry.log"))
            .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.join("config.yml"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run docker-registry ({e}); scripts/test.sh installs it")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if http_get(&self.ip, self.port, "/v2/").0 == 401 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not answer 401 on /v2/:\n{}",
            self.log()
        );
    }

    /// `IP:PORT`.
    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// Kills the registry (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Everything the registry logged.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// Access-log request lines (`METHOD PATH STATUS`).
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once("] \"")?;
                let (request, rest) = rest.split_once('"')?;
                let status = rest.split_whitespace().next()?;
                let mut parts = request.split_whitespace();
                Some(format!("{} {} {status}", parts.next()?, parts.next()?))
            })
            .collect()
    }

    /// Blob upload requests (POST/PATCH/PUT under `/blobs/uploads/`) to
    /// `repo`, or to any repository with `""`.
    pub fn uploads(&self, repo: &str) -> Vec<String> {
        let prefix = format!("/v2/{repo}");
        self.requests()
            .into_iter()
            .filter(|r| {
                let mut p = r.split(' ');
                let method = p.next().unwrap_or("");
                let path = p.next().unwrap_or("");
                ["POST", "PATCH", "PUT"].contains(&method)
                    && path.contains("/blobs/uploads/")
                    && path.starts_with(&prefix)
            })
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain HTTP/1.0 GET: status and body (0 when nothing answers).
pub fn http_get(ip: &str, port: u16, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect((ip, port)) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {ip}:{port}\r\n\r\n").as_bytes())
        .is_err()
    {
        return (0, String::new());
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

/// `skopeo` with the registry's credentials over plain HTTP.
pub fn skopeo_inspect_raw(reference: &str) -> Output {
    tool_output(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("docker://{reference}"),
    ]))
}

/// A local non-loopback IPv4 address (from `hostname -I`), if any.
pub fn non_loopback_ip() -> Option<String> {
    let out = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<std::net::Ipv4Addr>().ok())
        .find(|ip| !ip.is_loopback() && !ip.is_link_local())
        .map(|ip| ip.to_string())
}
