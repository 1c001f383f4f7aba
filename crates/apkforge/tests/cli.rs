//! End-to-end tests through the `apkforge` binary, on the real fixtures.

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::path::{Path, PathBuf};

use apk_format::index_archive::read_index_archive;
use testsupport::fixtures;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn version_comparisons() {
    let dir = tempfile::tempdir().unwrap();
    for (a, b, want) in [
        ("1.0", "1.0_rc1", ">"),
        ("1.0-r1", "1.0-r1", "="),
        ("1.2.3_alpha", "1.2.3", "<"),
        ("2.10", "2.9", ">"),
        ("1.01", "1.1", "<"),
    ] {
        assert_eq!(
            ok(&apkforge(&["apk", "version", a, b], dir.path())).trim(),
            want,
            "{a} {b}"
        );
    }
    let err = fail(&apkforge(&["apk", "version", "1.0bc", "1"], dir.path()));
    assert!(err.contains("`1.0bc` is not a valid apk version"), "{err}");
}

#[test]
fn verify_real_packages_and_name_failing_checks() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let alpine_keys = fx.join("alpine-keys");
    let mut args = vec!["apk", "verify", "-k", s(&alpine_keys)];
    let apks: Vec<PathBuf> = fs::read_dir(fx.join("alpine-3.19/x86_64"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "apk"))
        .collect();
    assert_eq!(apks.len(), 100);
    args.extend(apks.iter().map(|p| s(p)));
    let out = ok(&apkforge(&args, dir.path()));
    assert_eq!(out.lines().filter(|l| l.starts_with("OK: ")).count(), 100);

    // Tampered Wolfi packages: signature and datahash both named.
    let tampered = fx.join("wolfi/apks-tampered/neon-4604-r0.apk");
    let wolfi_keys = fx.join("wolfi/keys");
    let err = fail(&apkforge(
        &["apk", "verify", "-k", s(&wolfi_keys), s(&tampered)],
        dir.path(),
    ));
    assert!(
        err.contains("neon-4604-r0.apk: signature check failed: signature does not match"),
        "{err}"
    );
    assert!(err.contains("datahash check failed"), "{err}");

    // One flipped byte in the data section of a real package.
    let original = fs::read(fx.join("alpine-3.19/x86_64/zlib-1.3.1-r0.apk")).unwrap();
    let mut flipped = original.clone();
    let n = flipped.len();
    flipped[n - 100] ^= 1;
    let bad = dir.path().join("zlib-flipped.apk");
    fs::write(&bad, &flipped).unwrap();
    let err = fail(&apkforge(
        &["apk", "verify", "-k", s(&alpine_keys), s(&bad)],
        dir.path(),
    ));
    assert!(err.contains("zlib-flipped.apk"), "{err}");
    assert!(
        err.contains("datahash") || err.contains("data section"),
        "{err}"
    );

    // Unknown key.
    let musl = fx.join("alpine-3.19/x86_64/musl-1.2.4_git20230717-r4.apk");
    let err = fail(&apkforge(
        &["apk", "verify", "-k", s(&wolfi_keys), s(&musl)],
        dir.path(),
    ));
    assert!(
        err.contains("unknown key alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
        "{err}"
    );

    // Truncated and garbage files fail cleanly.
    let trunc = dir.path().join("trunc.apk");
    fs::write(&trunc, &original[..original.len() / 2]).unwrap();
    let err = fail(&apkforge(
        &["apk", "verify", "-k", s(&alpine_keys), s(&trunc)],
        dir.path(),
    ));
    assert!(
        err.contains("trunc.apk") && err.contains("data section"),
        "{err}"
    );
    let garbage = dir.path().join("garbage.apk");
    fs::write(&garbage, b"this is not a package at all").unwrap();
    let err = fail(&apkforge(
        &["apk", "verify", "-k", s(&alpine_keys), s(&garbage)],
        dir.path(),
    ));
    assert!(err.contains("garbage.apk: unreadable"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn inspect_shows_metadata_files_and_signature() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let apk = fx.join("alpine-3.19/x86_64/busybox-1.36.1-r15.apk");
    let keys = fx.join("alpine-keys");
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", "-k", s(&keys), s(&apk)],
        dir.path(),
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["name"], "busybox");
    assert_eq!(v["version"], "1.36.1-r15");
    assert_eq!(v["signature"]["status"], "valid");
    assert_eq!(v["datahash"]["ok"], true);
    assert_eq!(v["checksum"], "Q1AYNx2pLOAHRYZQgv3nM8TNtvRWY=");
    let files = v["files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "bin/busybox" && f["type"] == "file" && f["mode"] == "0755")
    );
    let scripts = v["scripts"].as_array().unwrap();
    assert!(scripts.iter().any(|s| s["name"] == ".trigger"));
    let text = ok(&apkforge(&["apk", "inspect", s(&apk)], dir.path()));
    assert!(text.contains("signature          unchecked"), "{text}");
}

#[test]
fn keygen_pack_sign_index_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
    assert!(out.contains("test.rsa.pub"), "{out}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(d.join("test.rsa"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let err = fail(&apkforge(&["keygen", "test", "--bits", "2048"], d));
    assert!(err.contains("already exists"), "{err}");

    // A small tree packed twice gives identical bytes.
    let tree = d.join("tree");
    fs::create_dir_all(tree.join("usr/bin")).unwrap();
    fs::write(tree.join("usr/bin/hello"), "#!/bin/sh\necho hello\n").unwrap();
    fs::set_permissions(
        tree.join("usr/bin/hello"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("hello", tree.join("usr/bin/hi")).unwrap();
    fs::write(d.join("post.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    let pack = |out: &str| {
        apkforge(
            &[
                "apk",
                "pack",
                "tree",
                "-o",
                out,
                "--name",
                "hello",
                "--version",
                "1.0-r0",
                "--arch",
                "x86_64",
                "--description",
                "hello world",
                "--license",
                "MIT",
                "--depend",
                "/bin/sh",
                "--provides",
                "cmd:hello=1.0-r0",
                "--script",
                ".post-install=post.sh",
                "--signing-key",
                "test.rsa",
            ],
            d,
        )
    };
    ok(&pack("a.apk"));
    ok(&pack("b.apk"));
    common::assert_same_file(&d.join("a.apk"), &d.join("b.apk"));
    let out = ok(&apkforge(
        &["apk", "verify", "-k", "test.rsa.pub", "a.apk"],
        d,
    ));
    assert!(out.contains("OK: a.apk"), "{out}");
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", "-k", "test.rsa.pub", "a.apk"],
        d,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["signature"]["status"], "valid");
    assert_eq!(v["signature"]["algorithms"][0], "SIGN.RSA256");
    assert!(
        v["pkginfo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|kv| kv[0] == "builddate" && kv[1] == "1700000000")
    );

    // Bad input to pack: invalid version, bad dependency, unknown script.
    let err = fail(&apkforge(
        &[
            "apk",
            "pack",
            "tree",
            "-o",
            "x.apk",
            "--name",
            "x",
            "--version",
            "1.x",
            "--arch",
            "x86_64",
        ],
        d,
    ));
    assert!(err.contains("--version `1.x`"), "{err}");
    let err = fail(&apkforge(
        &[
            "apk",
            "pack",
            "tree",
            "-o",
            "x.apk",
            "--name",
            "x",
            "--version",
            "1",
            "--arch",
            "x86_64",
            "--depend",
            "foo>=",
        ],
        d,
    ));
    assert!(err.contains("--depend `foo>=`"), "{err}");
    assert!(!d.join("x.apk").exists(), "nothing half-written");

    // Re-sign a real Alpine package with our key: ours verifies, Alpine's no longer.
    let fx = fixtures();
    fs::copy(
        fx.join("alpine-3.19/x86_64/zlib-1.3.1-r0.apk"),
        d.join("zlib.apk"),
    )
    .unwrap();
    ok(&apkforge(
        &["sign", "--signing-key", "test.rsa", "zlib.apk"],
        d,
    ));
    ok(&apkforge(
        &["apk", "verify", "-k", "test.rsa.pub", "zlib.apk"],
        d,
    ));
    let alpine_keys = fx.join("alpine-keys");
    fail(&apkforge(
        &["apk", "verify", "-k", s(&alpine_keys), "zlib.apk"],
        d,
    ));

    // Index: signed, verifiable, merge keeps old entries.
    ok(&apkforge(
        &[
            "index",
            "-o",
            "APKINDEX.tar.gz",
            "--signing-key",
            "test.rsa",
            "-d",
            "test repo",
            "a.apk",
        ],
        d,
    ));
    ok(&apkforge(
        &["apk", "verify", "-k", "test.rsa.pub", "APKINDEX.tar.gz"],
        d,
    ));
    let err = fail(&apkforge(
        &["apk", "verify", "-k", s(&alpine_keys), "APKINDEX.tar.gz"],
        d,
    ));
    assert!(
        err.contains("index signature check failed: signed by unknown key test.rsa.pub"),
        "{err}"
    );
    ok(&apkforge(
        &[
            "index",
            "-o",
            "APKINDEX.tar.gz",
            "--merge",
            "APKINDEX.tar.gz",
            "--signing-key",
            "test.rsa",
            "zlib.apk",
        ],
        d,
    ));
    let idx = read_index_archive(&fs::read(d.join("APKINDEX.tar.gz")).unwrap()[..]).unwrap();
    let names: Vec<_> = idx
        .entries
        .iter()
        .map(|e| e.package.name.as_str())
        .collect();
    assert_eq!(names, vec!["hello", "zlib"]);
    assert_eq!(idx.signatures.len(), 1);
    // A package replaces the entry of the same name and version, whether
    // it comes from --merge or from the arguments.
    ok(&apkforge(
        &[
            "index",
            "-o",
            "again.tar.gz",
            "--merge",
            "APKINDEX.tar.gz",
            "zlib.apk",
            "a.apk",
            "zlib.apk",
        ],
        d,
    ));
    let again = read_index_archive(&fs::read(d.join("again.tar.gz")).unwrap()[..]).unwrap();
    assert_eq!(again.entries, idx.entries);
    // An unsigned index can be signed afterwards.
    ok(&apkforge(&["index", "-o", "plain.tar.gz", "a.apk"], d));
    fail(&apkforge(
        &["apk", "verify", "-k", "test.rsa.pub", "plain.tar.gz"],
        d,
    ));
    ok(&apkforge(
        &["sign", "--signing-key", "test.rsa", "plain.tar.gz"],
        d,
    ));
    ok(&apkforge(
        &["apk", "verify", "-k", "test.rsa.pub", "plain.tar.gz"],
        d,
    ));
}

#[test]
fn index_of_alpine_packages_matches_original_index() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let repo = fx.join("alpine-3.19/x86_64");
    let mut args = vec![
        "index",
        "-o",
        "APKINDEX.tar.gz",
        "--rewrite-arch",
        "x86_64",
        "-d",
        "3.19.1",
    ];
    let mut apks: Vec<PathBuf> = fs::read_dir(&repo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "apk"))
        .collect();
    apks.reverse(); // argument order must not matter
    args.extend(apks.iter().map(|p| s(p)));
    ok(&apkforge(&args, dir.path()));
    let ours =
        read_index_archive(&fs::read(dir.path().join("APKINDEX.tar.gz")).unwrap()[..]).unwrap();
    let orig = read_index_archive(&fs::read(repo.join("APKINDEX.tar.gz")).unwrap()[..]).unwrap();
    assert_eq!(ours.entries.len(), 100);
    assert_eq!(ours.description.as_deref(), Some("3.19.1"));
    for (o, a) in orig.entries.iter().zip(&ours.entries) {
        assert_eq!(a.package, o.package, "{}", o.package.name);
    }
    // Alpine's original index text comes out byte for byte.
    let text =
        |a: &apk_format::index_archive::IndexArchive| apk_format::index::write_index(&a.entries);
    assert_eq!(text(&ours), text(&orig));
}

#[test]
fn bad_signing_key_fails_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.rsa"), "not a key").unwrap();
    let fx = fixtures();
    let apk = fx.join("alpine-3.19/x86_64/zlib-1.3.1-r0.apk");
    let err = fail(&apkforge(
        &[
            "index",
            "-o",
            "idx.tar.gz",
            "--signing-key",
            "bad.rsa",
            s(&apk),
        ],
        dir.path(),
    ));
    assert!(err.contains("bad.rsa"), "{err}");
    assert!(!dir.path().join("idx.tar.gz").exists());
    let err = fail(&apkforge(
        &["index", "-o", "idx.tar.gz", "/nonexistent/x.apk"],
        dir.path(),
    ));
    assert!(err.contains("/nonexistent/x.apk"), "{err}");
}

#[test]
fn pkginfo_lists_install_if_on_one_line_and_each_dependency_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("tree/usr/share/doc/hello")).unwrap();
    fs::write(d.join("tree/usr/share/doc/hello/README"), "hi\n").unwrap();
    ok(&apkforge(
        &[
            "apk",
            "pack",
            "tree",
            "-o",
            "hello-doc-1.0-r0.apk",
            "--name",
            "hello-doc",
            "--version",
            "1.0-r0",
            "--arch",
            "x86_64",
            "--depend",
            "hello=1.0-r0",
            "--depend",
            "so:libc.musl-x86_64.so.1",
            "--provides",
            "hello-docs=1.0-r0",
            "--install-if",
            "hello=1.0-r0",
            "--install-if",
            "docs",
        ],
        d,
    ));
    let out = std::process::Command::new("tar")
        .args(["-xzOf", "hello-doc-1.0-r0.apk", ".PKGINFO"])
        .current_dir(d)
        .output()
        .unwrap();
    let pkginfo = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = pkginfo.lines().collect();
    assert!(
        lines.contains(&"install_if = hello=1.0-r0 docs"),
        "{pkginfo}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("install_if")).count(),
        1,
        "{pkginfo}"
    );
    assert!(lines.contains(&"depend = hello=1.0-r0"), "{pkginfo}");
    assert!(
        lines.contains(&"depend = so:libc.musl-x86_64.so.1"),
        "{pkginfo}"
    );
    assert!(lines.contains(&"provides = hello-docs=1.0-r0"), "{pkginfo}");
    // The index carries every atom of the line.
    ok(&apkforge(
        &["index", "-o", "APKINDEX.tar.gz", "hello-doc-1.0-r0.apk"],
        d,
    ));
    let out = std::process::Command::new("tar")
        .args(["-xzOf", "APKINDEX.tar.gz", "APKINDEX"])
        .current_dir(d)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\ni:hello=1.0-r0 docs\n"), "{text}");
}
