//! What a new user trips on: bad repository lines, unsafe output paths,
//! invalid references and flags, each refused clearly and before anything
//! is written; plus plain output without a terminal.

mod common;

use common::{apkforge, fail, ok, tool};

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testsupport::fixtures;

const KEY: &str = "alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub";

/// A config over the local Alpine 3.19 fixture repository.
fn config(repo: &str, packages: &[&str], extra: &str) -> String {
    let fx = fixtures();
    let pkgs: String = packages.iter().map(|p| format!("    - {p}\n")).collect();
    format!(
        "contents:\n  keyring:\n    - {key}\n  repositories:\n    - {repo}\n  packages:\n{pkgs}archs:\n  - x86_64\n{extra}",
        key = fx.join(KEY).display()
    )
}

fn repo() -> String {
    fixtures().join("alpine-3.19").display().to_string()
}

fn build(d: &Path, cfg: &str, out: &str, extra: &[&str]) -> std::process::Output {
    fs::write(d.join("apko.yaml"), cfg).unwrap();
    let mut args = vec![
        "image",
        "build",
        "apko.yaml",
        "test:latest",
        out,
        "--cache-dir",
        "cache",
    ];
    args.extend_from_slice(extra);
    apkforge(&args, d)
}

#[test]
fn bad_repository_lines_are_named_with_their_config_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fx = fixtures();
    let cases = [
        (d.join("nowhere").display().to_string(), "does not exist"),
        (
            fx.join("alpine-3.19/x86_64").display().to_string(),
            "architecture directory",
        ),
        (
            fx.join("alpine-3.19/x86_64/APKINDEX.tar.gz")
                .display()
                .to_string(),
            "index file",
        ),
        (
            "http://127.0.0.1:9/alpine/v3.19/main/x86_64".to_string(),
            "architecture directory `x86_64`",
        ),
    ];
    for (line, what) in cases {
        let err = fail(&build(d, &config(&line, &["busybox"], ""), "out.tar", &[]));
        assert!(
            err.contains("apko.yaml:5:7: repository") && err.contains(&line) && err.contains(what),
            "{line}: {err}"
        );
        assert!(!d.join("out.tar").exists());
    }
    // A repository that is not there on a server: the 404 names its line.
    let fx = fixtures();
    let server = testsupport::FileServer::start(&fx, testsupport::ServerOptions::default());
    let missing = format!("{}/no-such-repo", server.url);
    let err = fail(&build(
        d,
        &config(&missing, &["busybox"], ""),
        "out.tar",
        &[],
    ));
    assert!(
        err.contains(&format!("apko.yaml:5:7: repository `{missing}`")) && err.contains("404"),
        "{err}"
    );
    // A directory without any index is not a repository either.
    fs::create_dir(d.join("empty")).unwrap();
    let err = fail(&build(
        d,
        &config("./empty", &["busybox"], ""),
        "out.tar",
        &[],
    ));
    assert!(
        err.contains("apko.yaml:5:7") && err.contains("holds no"),
        "{err}"
    );
    // From the command line: said so.
    let err = fail(&build(
        d,
        &config(&repo(), &["busybox"], ""),
        "out.tar",
        &["-r", "./empty"],
    ));
    assert!(
        err.contains("command line") && err.contains("./empty"),
        "{err}"
    );
}

/// Is `path` still the FIFO it was made as?
fn still_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

#[test]
fn no_command_replaces_a_fifo_given_as_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo");
    tool(Command::new("mkfifo").arg(&fifo));
    fs::write(
        d.join("apko.yaml"),
        config(&repo(), &["alpine-baselayout-data"], ""),
    )
    .unwrap();
    fs::create_dir(d.join("files")).unwrap();
    fs::write(d.join("files/hello"), "hi").unwrap();
    ok(&apkforge(&["keygen", "key", "--bits", "2048"], d));
    let pack = [
        "apk",
        "pack",
        "files",
        "--name",
        "hello",
        "--version",
        "1-r0",
        "--arch",
        "x86_64",
    ];
    ok(&apkforge(
        &[&pack[..], &["-o", "hello-1-r0.apk"]].concat(),
        d,
    ));
    let cases: Vec<Vec<&str>> = vec![
        [&pack[..], &["-o", "fifo"]].concat(),
        vec!["index", "-o", "fifo", "hello-1-r0.apk"],
        vec!["package", "index", "-o", "fifo", "hello-1-r0.apk"],
        vec![
            "image",
            "lock",
            "apko.yaml",
            "--output",
            "fifo",
            "--cache-dir",
            "cache",
        ],
        vec![
            "image",
            "build-minirootfs",
            "apko.yaml",
            "fifo",
            "--cache-dir",
            "cache",
        ],
        vec!["sign", "--signing-key", "key.rsa", "fifo"],
        vec!["package", "sign", "--signing-key", "key.rsa", "fifo"],
        vec!["package", "sign-index", "--signing-key", "key.rsa", "fifo"],
    ];
    for args in cases {
        let err = fail(&apkforge(&args, d));
        assert!(
            err.contains("fifo") && err.contains("FIFO"),
            "{args:?}: {err}"
        );
        assert!(still_fifo(&fifo), "{args:?} replaced the FIFO");
    }
    // The key generators refuse any existing file, a FIFO included.
    fs::rename(&fifo, d.join("k2.rsa.pub")).unwrap();
    let err = fail(&apkforge(&["keygen", "k2", "--bits", "2048"], d));
    assert!(err.contains("k2.rsa.pub"), "{err}");
    assert!(still_fifo(&d.join("k2.rsa.pub")));
    fs::rename(d.join("k2.rsa.pub"), d.join("k3.pub")).unwrap();
    let err = fail(&apkforge(
        &["package", "keygen", "k3", "--key-size", "2048"],
        d,
    ));
    assert!(err.contains("k3.pub"), "{err}");
    assert!(still_fifo(&d.join("k3.pub")));
    // image build: an SBOM's name in --sbom-path is a FIFO.
    fs::create_dir(d.join("sboms")).unwrap();
    let sbom = d.join("sboms/sbom-x86_64.spdx.json");
    fs::rename(d.join("k3.pub"), &sbom).unwrap();
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "t:latest",
            "out.tar",
            "--cache-dir",
            "cache",
            "--sbom-path",
            "sboms",
        ],
        d,
    ));
    assert!(err.contains("FIFO"), "{err}");
    assert!(still_fifo(&sbom));
}

#[test]
fn output_paths_are_checked_and_never_replaced_unsafely() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(&repo(), &["alpine-baselayout-data"], "");
    // A FIFO is refused.
    tool(Command::new("mkfifo").arg(d.join("fifo")));
    let err = fail(&build(d, &cfg, "fifo", &[]));
    assert!(err.contains("is a FIFO"), "{err}");
    // A directory that is not an OCI layout is refused and left alone.
    fs::create_dir(d.join("notes")).unwrap();
    fs::write(d.join("notes/todo.txt"), "keep me").unwrap();
    let err = fail(&build(d, &cfg, "notes", &[]));
    assert!(err.contains("not an OCI layout"), "{err}");
    assert_eq!(fs::read_dir(d.join("notes")).unwrap().count(), 1);
    // A dangling symlink is refused, not replaced.
    std::os::unix::fs::symlink("missing.tar", d.join("dangling.tar")).unwrap();
    let err = fail(&build(d, &cfg, "dangling.tar", &[]));
    assert!(err.contains("symbolic link"), "{err}");
    assert!(
        fs::symlink_metadata(d.join("dangling.tar"))
            .unwrap()
            .is_symlink()
    );
    // A symlink to a file is written through: the link stays a link.
    fs::create_dir(d.join("real")).unwrap();
    fs::write(d.join("real/image.tar"), "old").unwrap();
    std::os::unix::fs::symlink("real/image.tar", d.join("link.tar")).unwrap();
    ok(&build(d, &cfg, "link.tar", &["--sbom=false"]));
    assert!(
        fs::symlink_metadata(d.join("link.tar"))
            .unwrap()
            .is_symlink()
    );
    let through = fs::read(d.join("real/image.tar")).unwrap();
    assert!(through.len() > 1024, "the target was not written");
    // `-` is standard output: the same bytes as a file, loadable by podman.
    ok(&build(d, &cfg, "file.tar", &["--sbom=false"]));
    let out = build(d, &cfg, "-", &["--sbom=false"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, fs::read(d.join("file.tar")).unwrap());
    assert_eq!(through, out.stdout);
    assert!(!d.join("-").exists());
    let mut load = common::podman(d)
        .args(["load", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(load.stdin.as_mut().unwrap(), &out.stdout).unwrap();
    drop(load.stdin.take());
    let loaded = load.wait_with_output().unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("test:latest"),
        "{}",
        String::from_utf8_lossy(&loaded.stdout)
    );
    let _ = common::podman(d).args(["rmi", "-a", "-f"]).output();
}

#[test]
fn building_into_a_layout_keeps_its_other_tags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("layout")).unwrap();
    let cfg = config(&repo(), &["alpine-baselayout-data"], "");
    fs::write(d.join("apko.yaml"), &cfg).unwrap();
    for tag in ["app:one", "app:two", "app:one"] {
        ok(&apkforge(
            &[
                "image",
                "build",
                "apko.yaml",
                tag,
                "layout",
                "--cache-dir",
                "cache",
                "--sbom=false",
            ],
            d,
        ));
    }
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("layout/index.json")).unwrap()).unwrap();
    let mut names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["one", "two"]);
    for tag in ["one", "two"] {
        tool(
            Command::new("skopeo")
                .arg("inspect")
                .arg(format!("oci:{}:{tag}", d.join("layout").display())),
        );
    }
}

#[test]
fn invalid_references_and_flags_are_refused_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The repository does not exist: a reference error must come first.
    fs::write(
        d.join("apko.yaml"),
        config("./no-such-repo", &["busybox"], ""),
    )
    .unwrap();
    for reference in ["UPPER:latest", "a:b:c", ":latest"] {
        let err = fail(&apkforge(
            &["image", "build", "apko.yaml", reference, "out.tar"],
            d,
        ));
        assert!(
            err.contains(&format!("`{reference}` is not a valid image reference")),
            "{reference}: {err}"
        );
    }
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--arch",
            "x86-64",
        ],
        d,
    ));
    assert!(
        err.contains("x86-64") && err.contains("amd64, arm64"),
        "{err}"
    );
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--compression-level",
            "11",
        ],
        d,
    ));
    assert!(err.contains("11") && err.contains("1..=9"), "{err}");
    // package build lists the architectures too.
    fs::write(
        d.join("r.yaml"),
        "package:\n  name: r\n  version: 1\n  epoch: 0\npipeline:\n  - runs: true\n",
    )
    .unwrap();
    let err = fail(&apkforge(
        &["package", "build", "r.yaml", "--arch", "foo"],
        d,
    ));
    assert!(
        err.contains("`foo`") && err.contains("x86_64, aarch64"),
        "{err}"
    );
    // apk pack: names and architectures apk would choke on.
    fs::create_dir(d.join("tree")).unwrap();
    let pack = |name: &str, arch: &str| {
        apkforge(
            &[
                "apk",
                "pack",
                "tree",
                "-o",
                "p.apk",
                "--name",
                name,
                "--version",
                "1.0-r0",
                "--arch",
                arch,
            ],
            d,
        )
    };
    let err = fail(&pack("bad name", "x86_64"));
    assert!(
        err.contains("`bad name` is not a valid package name"),
        "{err}"
    );
    let err = fail(&pack("good", "x86-64"));
    assert!(
        err.contains("`x86-64`") && err.contains("x86_64, aarch64"),
        "{err}"
    );
    assert!(!d.join("p.apk").exists());
    ok(&pack("good", "x86_64"));
    assert!(!d.join("out.tar").exists());
}

#[test]
fn decimal_permissions_warn_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(
        &repo(),
        &["alpine-baselayout-data"],
        "paths:\n  - path: /app\n    type: directory\n    permissions: 755\n",
    );
    let out = build(d, &cfg, "out.tar", &["--sbom=false"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: apko.yaml:13:18: `permissions: 755` of `/app`"),
        "{err}"
    );
}

#[test]
fn minirootfs_honours_arch_and_owns_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fx = fixtures();
    fs::write(
        d.join("apko.yaml"),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}\n  packages:\n    - alpine-baselayout\n",
            fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-58199dcc.rsa.pub")
                .display(),
            fx.join("alpine-3.13-aarch64").display()
        ),
    )
    .unwrap();
    for _ in 0..2 {
        ok(&apkforge(
            &[
                "image",
                "build-minirootfs",
                "apko.yaml",
                "root.tar.gz",
                "--arch",
                "aarch64",
                "--cache-dir",
                "cache",
            ],
            d,
        ));
    }
    // The second build came from the layer cache; the output is its own file.
    assert_eq!(fs::metadata(d.join("root.tar.gz")).unwrap().nlink(), 1);
    let x = d.join("x");
    fs::create_dir(&x).unwrap();
    common::untar(&d.join("root.tar.gz"), &x, &["etc/apk/arch"]);
    assert_eq!(
        fs::read_to_string(x.join("etc/apk/arch")).unwrap(),
        "aarch64\n"
    );
}

#[test]
fn output_without_a_terminal_is_plain() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(&repo(), &["alpine-baselayout-data"], "");
    fs::write(d.join("apko.yaml"), cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args([
            "image",
            "build",
            "apko.yaml",
            "t:1",
            "o.tar",
            "--cache-dir",
            "c",
        ])
        .current_dir(d)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(
        err.contains("x86_64: loading 1 repository index\n"),
        "{err}"
    );
    assert!(err.contains("(1 package)"), "{err}");
    let _ = PathBuf::new();
}
