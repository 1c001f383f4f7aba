//! A real compiler end to end: a small C library project (its own
//! `./configure` and `Makefile`; a shared library with a soname, a static
//! library, a program linked against the shared library) is served from a
//! loopback git server and built by a recipe shaped like Wolfi's C recipes,
//! with `zig cc` (PyPI's `ziglang` wheel, packaged as an apk once per test
//! run) as the build environment's compiler.

mod common;

use common::{apkforge, ok};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use testsupport::fixtures;
use testsupport::git::{GitServer, Repo};

const ZIG_VERSION: &str = "0.17.1";
/// SHA-256 of `ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl`.
const ZIG_WHEEL_SHA256: &str = "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54";

/// What the tests of one run share: the zig package in a signed
/// repository, the snapshot repository (make, binutils), and the caches
/// (apk packages, environments, zig's libc builds).
struct Shared {
    dir: PathBuf,
}

impl Shared {
    /// Made once per test run (per target directory), under a lock.
    fn get() -> Shared {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apkforge-zig");
        fs::create_dir_all(&dir).unwrap();
        let lock = fs::File::create(dir.join(".lock")).unwrap();
        lock.lock().unwrap();
        if !dir.join("ready").exists() {
            prepare(&dir);
            fs::write(dir.join("ready"), "").unwrap();
        }
        Shared { dir }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads the zig wheel from PyPI, checks it, packages it as
/// `zig-<version>-r0` (zig under /usr/lib/zig, `cc`/`c++` wrappers that
/// target musl), and indexes it and the snapshot packages.
fn prepare(dir: &Path) {
    let dl = dir.join("download");
    run(Command::new("python3").args([
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        &format!("ziglang=={ZIG_VERSION}"),
        "-d",
        dl.to_str().unwrap(),
    ]));
    let wheel = fs::read_dir(&dl)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("the ziglang wheel");
    assert_eq!(sha256_hex(&wheel), ZIG_WHEEL_SHA256, "{}", wheel.display());
    let unpacked = dir.join("unpacked");
    let _ = fs::remove_dir_all(&unpacked);
    run(Command::new("python3").args([
        "-c",
        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        wheel.to_str().unwrap(),
        unpacked.to_str().unwrap(),
    ]));
    let pkg = dir.join("pkg");
    let _ = fs::remove_dir_all(&pkg);
    fs::create_dir_all(pkg.join("usr/lib")).unwrap();
    fs::create_dir_all(pkg.join("usr/bin")).unwrap();
    let zig = pkg.join("usr/lib/zig");
    fs::rename(unpacked.join("ziglang"), &zig).unwrap();
    for py in ["__init__.py", "__main__.py", "__pycache__"] {
        let _ = fs::remove_file(zig.join(py));
        let _ = fs::remove_dir_all(zig.join(py));
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(zig.join("zig"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("../lib/zig/zig", pkg.join("usr/bin/zig")).unwrap();
    for (name, mode) in [("cc", "cc"), ("c++", "c++")] {
        let p = pkg.join("usr/bin").join(name);
        fs::write(
            &p,
            format!("#!/bin/sh\nexec /usr/bin/zig {mode} -target x86_64-linux-musl \"$@\"\n"),
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    ok(&apkforge(&["keygen", "zig", "--bits", "2048"], dir));
    let repo = dir.join("zig-repo/x86_64");
    fs::create_dir_all(&repo).unwrap();
    let apk = repo.join(format!("zig-{ZIG_VERSION}-r0.apk"));
    ok(&apkforge(
        &[
            "apk",
            "pack",
            pkg.to_str().unwrap(),
            "-o",
            apk.to_str().unwrap(),
            "--name",
            "zig",
            "--version",
            &format!("{ZIG_VERSION}-r0"),
            "--arch",
            "x86_64",
            "--license",
            "MIT",
            "--description",
            "zig, a C compiler (from PyPI's ziglang wheel)",
            "--provides",
            "cmd:cc",
            "--signing-key",
            "zig.rsa",
        ],
        dir,
    ));
    let snap = dir.join("snap/x86_64");
    fs::create_dir_all(&snap).unwrap();
    let mut args = vec![
        "index".to_string(),
        "-o".into(),
        snap.join("APKINDEX.tar.gz").display().to_string(),
        "--signing-key".into(),
        "zig.rsa".into(),
    ];
    for e in fs::read_dir(fixtures().join("alpine-3.19-snapshot/main/x86_64")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "apk") {
            let target = snap.join(p.file_name().unwrap());
            fs::copy(&p, &target).unwrap();
            args.push(target.display().to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&apkforge(&args, dir));
    ok(&apkforge(
        &[
            "index",
            "-o",
            repo.join("APKINDEX.tar.gz").to_str().unwrap(),
            "--signing-key",
            "zig.rsa",
            apk.to_str().unwrap(),
        ],
        dir,
    ));
    let _ = fs::remove_dir_all(&pkg);
    let _ = fs::remove_dir_all(&unpacked);
    fs::create_dir_all(dir.join("melange-cache")).unwrap();
}

/// Commits the libgreet project to a repository below `dir`, tags it
/// v1.0.0 and returns the commit.
fn libgreet_repo(dir: &Path) -> String {
    let repo = Repo::new(dir, "libgreet");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libgreet");
    for e in fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, repo.work.join(p.file_name().unwrap())).unwrap();
    }
    let commit = repo.commit("libgreet 1.0.0", &[]);
    repo.tag("v1.0.0", Some("libgreet 1.0.0"));
    commit
}

fn recipe(url: &str, commit: &str, shared: &Path) -> String {
    let fx = fixtures();
    format!(
        r#"package:
  name: libgreet
  version: 1.0.0
  epoch: 0
  description: a small greeting library
  copyright:
    - license: MIT

environment:
  contents:
    keyring:
      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub
      - {shared}/zig.rsa.pub
    repositories:
      - {fx}/alpine-3.19
      - {shared}/snap
      - {shared}/zig-repo
    packages:
      - busybox
      - binutils
      - make
      - zig
  environment:
    ZIG_GLOBAL_CACHE_DIR: /var/cache/melange/zig
    ZIG_LOCAL_CACHE_DIR: /var/cache/melange/zig

pipeline:
  - uses: git-checkout
    with:
      repository: {url}/libgreet.git
      tag: v${{{{package.version}}}}
      expected-commit: {commit}

  - uses: autoconf/configure

  - uses: autoconf/make

  - uses: autoconf/make-install

  - uses: strip

subpackages:
  - name: libgreet-static
    description: libgreet static library
    pipeline:
      - uses: split/static
"#,
        fx = fx.display(),
        shared = shared.display()
    )
}

/// For scripts/bench-package.sh, which reads the timings from stdout.
#[allow(clippy::print_stdout)]
fn report(line: &str) {
    println!("{line}");
}

fn pkginfo(dir: &Path, apk: &Path, key: &str) -> Vec<String> {
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", apk.to_str().unwrap()],
        dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["pkginfo"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|kv| kv[0] == key)
        .map(|kv| kv[1].as_str().unwrap().to_string())
        .collect()
}

fn files(dir: &Path, apk: &Path) -> Vec<String> {
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", apk.to_str().unwrap()],
        dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_c_library_builds_with_a_real_compiler_and_runs_in_an_image() {
    let shared = Shared::get();
    let s = &shared.dir;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repos = d.join("repos");
    fs::create_dir(&repos).unwrap();
    let commit = libgreet_repo(&repos);
    let server = GitServer::start(&repos);
    fs::create_dir(d.join("recipe")).unwrap();
    fs::write(
        d.join("recipe/libgreet.yaml"),
        recipe(&server.url, &commit, s),
    )
    .unwrap();
    ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
    let build = |out: &str| {
        let o = apkforge(
            &[
                "package",
                "build",
                "recipe/libgreet.yaml",
                "--signing-key",
                "test.rsa",
                "--out-dir",
                out,
                "--apk-cache-dir",
                s.join("apk-cache").to_str().unwrap(),
                "--cache-dir",
                s.join("melange-cache").to_str().unwrap(),
            ],
            d,
        );
        ok(&o);
        let log = String::from_utf8_lossy(&o.stderr).into_owned();
        let timing = log
            .lines()
            .find(|l| l.contains("timing:"))
            .unwrap_or_default()
            .trim()
            .to_string();
        report(&format!("libgreet build ({out}): {timing}"));
        log
    };
    let log = build("packages");
    assert!(
        log.contains("configured libgreet for /usr with cc"),
        "{log}"
    );
    build("again");
    let apk = |out: &str, name: &str| d.join(out).join(format!("x86_64/{name}-1.0.0-r0.apk"));
    for name in ["libgreet", "libgreet-static"] {
        common::assert_same_file(&apk("packages", name), &apk("again", name));
    }
    ok(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            "test.rsa.pub",
            apk("packages", "libgreet").to_str().unwrap(),
            apk("packages", "libgreet-static").to_str().unwrap(),
            "packages/x86_64/APKINDEX.tar.gz",
        ],
        d,
    ));
    // SCA: the library's soname is provided, the program needs musl.
    let main = apk("packages", "libgreet");
    let provides = pkginfo(d, &main, "provides");
    assert!(
        provides.iter().any(|p| p.starts_with("so:libgreet.so.1=")),
        "{provides:?}"
    );
    assert!(
        provides.iter().any(|p| p.starts_with("cmd:greet=")),
        "{provides:?}"
    );
    let depends = pkginfo(d, &main, "depend");
    assert!(
        depends.contains(&"so:libc.musl-x86_64.so.1".to_string()),
        "{depends:?}"
    );
    let main_files = files(d, &main);
    for f in [
        "usr/bin/greet",
        "usr/lib/libgreet.so.1.0.0",
        "usr/lib/libgreet.so.1",
    ] {
        assert!(main_files.contains(&f.to_string()), "{main_files:?}");
    }
    assert!(!main_files.contains(&"usr/lib/libgreet.a".to_string()));
    let static_files = files(d, &apk("packages", "libgreet-static"));
    assert!(
        static_files.contains(&"usr/lib/libgreet.a".to_string()),
        "{static_files:?}"
    );
    // The program runs in an image built with the package.
    let fx = fixtures();
    let cfg = format!(
        "contents:\n  keyring:\n    - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    - test.rsa.pub\n  repositories:\n    - {fx}/alpine-3.19\n    - packages\n  packages:\n    - libgreet\nentrypoint:\n  command: greet apkforge\narchs: [x86_64]\n",
        fx = fx.display()
    );
    fs::write(d.join("image.yaml"), cfg).unwrap();
    fs::create_dir(d.join("layout")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "image.yaml",
            "greet:latest",
            "layout/",
            "--cache-dir",
            s.join("apk-cache").to_str().unwrap(),
            "--sbom=false",
        ],
        d,
    ));
    let out = common::run_image(&d.join("layout"), "latest", d, None);
    assert_eq!(out.trim(), "Hello, apkforge, from libgreet 1.0.0");
}
