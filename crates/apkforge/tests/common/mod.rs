//! Helpers shared by the end-to-end tests: run the binary, check outcomes.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `apkforge` in `dir` with a fixed SOURCE_DATE_EPOCH.
pub fn apkforge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap_or_else(|e| panic!("running apkforge: {e}"))
}

/// Asserts success; returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts failure; returns stderr.
pub fn fail(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "unexpected success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts two files have identical bytes (without dumping them).
pub fn assert_same_file(a: &Path, b: &Path) {
    let (x, y) = (
        std::fs::read(a).unwrap_or_default(),
        std::fs::read(b).unwrap_or_default(),
    );
    assert!(
        x == y,
        "{} ({} bytes) and {} ({} bytes) differ",
        a.display(),
        x.len(),
        b.display(),
        y.len()
    );
}

/// Runs a tool; panics with its output when it fails.
pub fn tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}); scripts/test.sh installs it"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unpacks `layout:tag` with umoci and runs it with runc; returns stdout.
pub fn run_image(layout: &Path, tag: &str, work: &Path, args: Option<&[&str]>) -> String {
    let bundle = work.join(format!("bundle-{}", fs::read_dir(work).unwrap().count()));
    tool(
        Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle),
    );
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&fs::read(&cfg_path).unwrap()).unwrap();
    cfg["process"]["terminal"] = serde_json::Value::Bool(false);
    if let Some(args) = args {
        cfg["process"]["args"] = serde_json::json!(args);
    }
    fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let id = format!(
        "apkforge-{}-{}",
        std::process::id(),
        bundle.file_name().unwrap().to_string_lossy()
    );
    tool(
        Command::new("runc")
            .arg("run")
            .arg(&id)
            .current_dir(&bundle),
    )
}

/// A `podman` command with its own storage under `work/podman` and the
/// settings this machine needs (vfs storage, cgroupfs, file events; see
/// shared/reference/runtimes-on-this-machine.md §5).
pub fn podman(work: &Path) -> Command {
    let w = work.join("podman");
    for d in ["root", "run", "tmp"] {
        let _ = fs::create_dir_all(w.join(d));
    }
    let _ = fs::write(w.join("auth.json"), r#"{"auths":{}}"#);
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(w.join("root"))
        .arg("--runroot")
        .arg(w.join("run"))
        .args([
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ])
        .arg("--tmpdir")
        .arg(w.join("tmp"))
        // Keep the machine's registries/policy/auth files out of it.
        .env("REGISTRY_AUTH_FILE", w.join("auth.json"));
    c
}

/// `podman run` flags that work on this machine.
pub const PODMAN_RUN: &[&str] = &[
    "--runtime",
    "runc",
    "run",
    "--rm",
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// Extracts `members` (all when empty) of the gzip'd tar `archive` into
/// `dest`, failing the test with tar's message when it cannot.
pub fn untar(archive: &Path, dest: &Path, members: &[&str]) {
    let out = Command::new("tar")
        .arg("xzf")
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .args(members)
        .output()
        .unwrap_or_else(|e| panic!("running tar: {e}"));
    assert!(
        out.status.success(),
        "tar xzf {}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
