//! Runners: `--runner docker` runs each build's steps in a container of
//! the build environment through the Docker Engine API (podman's API
//! service here) and gives the same packages, byte for byte, as bubblewrap;
//! a missing or failing engine, and a bubblewrap that cannot create its
//! namespaces, stop the build before it starts with a clear error.

mod common;

use common::{fail, ok};

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output};

use testsupport::fixtures;

/// Steps that record the user, write outside the workspace in one step and
/// read it back in the next, and give a file to another owner.
const PIPELINE: &str = "  - runs: |\n      mkdir -p /usr/local/share/carry\n      echo carried > /usr/local/share/carry/note\n  - runs: |\n      d=${{targets.destdir}}/usr/share/runner\n      mkdir -p $d\n      cat /usr/local/share/carry/note > $d/note\n      cat source.txt > $d/source\n      touch $d/owned && chown 65532:65532 $d/owned\n      ip link | grep -c ': ' > $d/links\n      printf '#!/bin/sh\\necho hi\\n' > $d/hello && chmod 755 $d/hello\n";

/// The tests that count the engine's containers run one at a time.
static ENGINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn setup(d: &Path) {
    let fx = fixtures();
    fs::create_dir(d.join("recipe")).unwrap();
    fs::write(
        d.join("recipe/runner.yaml"),
        format!(
            "package:\n  name: runner\n  version: 1.0.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\nenvironment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n{PIPELINE}",
            fx = fx.display()
        ),
    )
    .unwrap();
    fs::write(d.join("recipe/source.txt"), "from the source dir\n").unwrap();
    ok(&common::apkforge(&["keygen", "test", "--bits", "2048"], d));
}

fn build(d: &Path, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apkforge"));
    cmd.args([
        "package",
        "build",
        "recipe/runner.yaml",
        "--signing-key",
        "test.rsa",
        "--out-dir",
        out,
        "--apk-cache-dir",
        "cache",
    ])
    .args(extra)
    .current_dir(d)
    .env("SOURCE_DATE_EPOCH", "1700000000");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn read(d: &Path, apk: &str, member: &str) -> String {
    let dest = d.join(format!("x-{}", apk.replace('/', "_")));
    fs::create_dir_all(&dest).unwrap();
    common::untar(&d.join(apk), &dest, &[member]);
    fs::read_to_string(dest.join(member))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn docker_and_bubblewrap_runners_make_byte_identical_packages() {
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let engine = testsupport::engine::engine();
    ok(&build(d, "bwrap", &["--runner", "bubblewrap"], &[]));
    let out = build(
        d,
        "docker",
        &["--runner", "docker"],
        &[("DOCKER_HOST", &engine.host)],
    );
    ok(&out);
    let apk = "runner-1.0.0-r0.apk";
    let (a, b) = (
        format!("bwrap/x86_64/{apk}"),
        format!("docker/x86_64/{apk}"),
    );
    // The steps kept their root changes from step to step and had no
    // network, in the container too.
    for p in [&a, &b] {
        assert_eq!(read(d, p, "usr/share/runner/note"), "carried", "{p}");
        assert_eq!(
            read(d, p, "usr/share/runner/source"),
            "from the source dir",
            "{p}"
        );
        // Only the loopback device.
        assert_eq!(read(d, p, "usr/share/runner/links"), "1", "{p}");
    }
    common::assert_same_file(&d.join(&a), &d.join(&b));
    common::assert_same_file(
        &d.join("bwrap/x86_64/APKINDEX.tar.gz"),
        &d.join("docker/x86_64/APKINDEX.tar.gz"),
    );
    // The build's containers are gone; the environment image stays for the
    // next build.
    let left = common::tool(engine.podman().args([
        "ps",
        "-a",
        "--filter",
        "label=dev.apkforge.runner",
        "-q",
    ]));
    assert_eq!(left.trim(), "", "containers left behind");
    let images = common::tool(
        engine
            .podman()
            .args(["images", "--format", "{{.Repository}}"]),
    );
    assert!(images.contains("apkforge/build-environment"), "{images}");
}

/// A unix socket that answers every request with `500`.
fn failing_engine(path: &Path) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut s) = stream else { return };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = r#"{"message":"engine is broken"}"#;
            let _ = write!(
                s,
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    })
}

#[test]
fn a_missing_or_failing_engine_stops_the_docker_runner_before_building() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let missing = format!("unix://{}/nothing.sock", d.display());
    let err = fail(&build(
        d,
        "packages",
        &["--runner", "docker"],
        &[("DOCKER_HOST", &missing)],
    ));
    assert!(err.contains("--runner docker"), "{err}");
    assert!(err.contains("nothing.sock"), "{err}");
    assert!(err.contains("DOCKER_HOST"), "{err}");
    assert!(!d.join("packages").exists());

    let socket = d.join("broken.sock");
    let _server = failing_engine(&socket);
    let broken = format!("unix://{}", socket.display());
    let err = fail(&build(
        d,
        "packages",
        &["--runner", "docker"],
        &[("DOCKER_HOST", &broken)],
    ));
    assert!(err.contains("GET /_ping: 500 engine is broken"), "{err}");
    assert!(!d.join("packages").exists());

    let err = fail(&build(
        d,
        "packages",
        &["--runner", "docker"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:2375")],
    ));
    assert!(err.contains("give unix:///path/to/socket"), "{err}");
    let err = fail(&build(d, "packages", &["--runner", "qemu"], &[]));
    assert!(err.contains("use bubblewrap or docker"), "{err}");
}

#[test]
fn bubblewrap_without_namespaces_says_why_and_suggests_docker() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    // A bwrap that fails as bwrap does under Ubuntu's AppArmor restriction
    // of unprivileged user namespaces.
    let bin = d.join("fake-bin");
    fs::create_dir(&bin).unwrap();
    fs::write(
        bin.join("bwrap"),
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    )
    .unwrap();
    fs::set_permissions(bin.join("bwrap"), fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let err = fail(&build(d, "packages", &[], &[("PATH", &path)]));
    assert!(
        err.contains("bubblewrap cannot create its namespaces on this machine"),
        "{err}"
    );
    assert!(
        err.contains("bwrap: setting up uid map: Permission denied"),
        "{err}"
    );
    assert!(err.contains("--runner docker"), "{err}");
    assert!(!d.join("packages/x86_64/runner-1.0.0-r0.apk").exists());
}

#[test]
fn a_tree_builds_with_the_docker_runner() {
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tree/good");
    fs::create_dir(d.join("tree")).unwrap();
    for e in fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, d.join("tree").join(p.file_name().unwrap())).unwrap();
    }
    let fx = fixtures();
    let engine = testsupport::engine::engine();
    let (repo, key) = (
        fx.join("alpine-3.19"),
        fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args([
            "package",
            "build-tree",
            "tree",
            "--runner",
            "docker",
            "-j",
            "2",
        ])
        .args([
            "--signing-key",
            "test.rsa",
            "--apk-cache-dir",
            "cache",
            "-r",
        ])
        .arg(&repo)
        .arg("-k")
        .arg(&key)
        .current_dir(d)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("DOCKER_HOST", &engine.host)
        .output()
        .unwrap();
    ok(&out);
    let built = fs::read_dir(d.join("packages/x86_64"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".apk")
        })
        .count();
    assert_eq!(built, 9);
    // app's step read what lib installed into its environment.
    assert_eq!(
        read(d, "packages/x86_64/app-1.0.0-r0.apk", "usr/bin/app-data"),
        read(d, "packages/x86_64/lib-1.0.0-r0.apk", "usr/lib/lib/data")
    );
    let left = common::tool(engine.podman().args([
        "ps",
        "-a",
        "--filter",
        "label=dev.apkforge.runner",
        "-q",
    ]));
    assert_eq!(left.trim(), "", "containers left behind");
}

#[test]
fn containers_of_a_killed_build_are_removed_by_the_next() {
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let engine = testsupport::engine::engine();
    let slow = fs::read_to_string(d.join("recipe/runner.yaml"))
        .unwrap()
        .replace("pipeline:\n", "pipeline:\n  - runs: sleep 120\n");
    fs::write(d.join("recipe/slow.yaml"), slow).unwrap();
    let ours = || {
        common::tool(engine.podman().args([
            "ps",
            "-a",
            "--filter",
            "label=dev.apkforge.runner",
            "-q",
        ]))
        .split_whitespace()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(["package", "build", "recipe/slow.yaml", "--runner", "docker"])
        .args(["--apk-cache-dir", "cache", "--out-dir", "slow"])
        .current_dir(d)
        .env("DOCKER_HOST", &engine.host)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let left = loop {
        let now = ours();
        if !now.is_empty() {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "no container started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(ours(), left, "the killed build's container is left");
    // The next build with the Docker runner removes it.
    ok(&build(
        d,
        "packages",
        &["--runner", "docker"],
        &[("DOCKER_HOST", &engine.host)],
    ));
    assert_eq!(ours(), Vec::<String>::new());
}

#[test]
fn a_step_past_the_timeout_is_stopped_in_its_container() {
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let engine = testsupport::engine::engine();
    let slow = fs::read_to_string(d.join("recipe/runner.yaml"))
        .unwrap()
        .replace("pipeline:\n", "pipeline:\n  - runs: sleep 120\n");
    fs::write(d.join("recipe/runner.yaml"), slow).unwrap();
    let started = std::time::Instant::now();
    let err = fail(&build(
        d,
        "packages",
        &["--runner", "docker", "--timeout", "2s"],
        &[("DOCKER_HOST", &engine.host)],
    ));
    assert!(
        err.contains("step `sleep 120` was stopped: the build exceeded its timeout of 2s"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(!d.join("packages/x86_64/runner-1.0.0-r0.apk").exists());
    let left = common::tool(engine.podman().args([
        "ps",
        "-a",
        "--filter",
        "label=dev.apkforge.runner",
        "-q",
    ]));
    assert_eq!(left.trim(), "", "containers left behind");
}

#[test]
fn network_is_the_hosts_when_asked() {
    let _engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let engine = testsupport::engine::engine();
    ok(&build(
        d,
        "packages",
        &["--runner", "docker", "--network"],
        &[("DOCKER_HOST", &engine.host)],
    ));
    let host_links = fs::read_dir("/sys/class/net").unwrap().count();
    assert!(host_links > 1, "the host has only loopback");
    let links = read(
        d,
        "packages/x86_64/runner-1.0.0-r0.apk",
        "usr/share/runner/links",
    );
    assert_eq!(links, host_links.to_string());
}
