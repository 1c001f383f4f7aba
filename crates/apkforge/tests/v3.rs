//! Repositories in apk-tools 3's formats (`Packages.adb`, v3 packages),
//! through the binary, on the `alpine-3.19-v3` fixtures served over
//! loopback HTTP.

mod common;

use common::{apkforge, fail, ok, run_image};

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use testsupport::{FileServer, ServerOptions, fixtures};

const V3_KEY: &str = "alpine-3.19-v3/keys/apkforge-fixtures-v3.rsa.pub";
const ALPINE_KEY: &str = "alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub";

fn config(url: &str, key: &str, repo: &str) -> String {
    format!(
        "contents:\n  keyring:\n    - {url}/{key}\n  repositories:\n    - {url}/{repo}\n  packages:\n    - alpine-base\nentrypoint:\n  command: /bin/sh -c \"echo ok\"\narchs:\n  - x86_64\n"
    )
}

/// Layer entries: path -> (type, mode, uid, gid, size, sha256, link).
type Entries = BTreeMap<String, (char, u32, u64, u64, u64, String, String)>;

fn layer_entries(layout: &Path) -> Entries {
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
    };
    let blob = |d: &serde_json::Value| {
        layout
            .join("blobs/sha256")
            .join(d.as_str().unwrap().trim_start_matches("sha256:"))
    };
    let mut doc = json(layout.join("index.json"));
    while doc.get("manifests").is_some() {
        doc = json(blob(&doc["manifests"][0]["digest"]));
    }
    let gz = flate2::read::MultiGzDecoder::new(
        fs::File::open(blob(&doc["layers"][0]["digest"])).unwrap(),
    );
    let mut out = BTreeMap::new();
    for e in tar::Archive::new(gz).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let h = e.header().clone();
        let link = e
            .link_name()
            .unwrap()
            .map(|l| l.display().to_string())
            .unwrap_or_default();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        out.insert(
            path.trim_end_matches('/').to_string(),
            (
                h.entry_type().as_byte() as char,
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                content.len() as u64,
                hex::encode(Sha256::digest(&content)),
                link,
            ),
        );
    }
    out
}

fn build(dir: &Path, name: &str, config: &str) -> PathBuf {
    fs::write(dir.join(format!("{name}.yaml")), config).unwrap();
    let out = dir.join(name);
    fs::create_dir(&out).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            &format!("{name}.yaml"),
            &format!("{name}:latest"),
            &format!("{name}/"),
            "--cache-dir",
            "cache",
        ],
        dir,
    ));
    out
}

/// Paths that differ between the images for reasons that are not the
/// package format: the keys and repository lines the configs give, the
/// installed database (v3 identities, `A:noarch`, sorted dependency lists,
/// v3 installed sizes), and abuild's `.dummy`, which the fixture
/// conversion dropped (apk-tools never installs it).
fn comparable(mut e: Entries) -> Entries {
    e.retain(|p, _| {
        !(p.starts_with("etc/apk/keys/")
            || p == "etc/apk/repositories"
            || p.starts_with("usr/lib/apk/db/")
            || p == ".dummy")
    });
    e
}

#[test]
fn v3_repository_builds_the_v2_image_and_it_runs() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = &server.url;
    let v2 = build(d, "v2", &config(url, ALPINE_KEY, "alpine-3.19"));
    let v3 = build(
        d,
        "v3",
        &config(url, V3_KEY, "alpine-3.19-v3/x86_64/Packages.adb"),
    );
    // A v3 index over the original v2 packages, found by its pkgname-spec.
    let mixed = build(
        d,
        "mixed",
        &config(url, V3_KEY, "alpine-3.19-v3/v2-index/x86_64/Packages.adb"),
    );
    let (e2, e3, em) = (
        layer_entries(&v2),
        layer_entries(&v3),
        layer_entries(&mixed),
    );
    assert!(e3.contains_key("etc/apk/keys/apkforge-fixtures-v3.rsa.pub"));
    let (c2, c3, cm) = (comparable(e2), comparable(e3), comparable(em));
    assert!(c3.len() > 700, "{}", c3.len());
    // Same file tree: paths, types, modes, owners, contents, link targets.
    assert_eq!(c2, c3);
    assert_eq!(c2, cm);
    // The v3 packages' files were fetched through the index, by identity.
    let log = server.log();
    assert!(
        log.iter()
            .any(|l| l.contains("/alpine-3.19-v3/x86_64/busybox-1.36.1-r15.apk 200")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("/alpine-3.19/x86_64/busybox-1.36.1-r15.apk 200")),
        "{log:?}"
    );

    // The installed database: what the v2 image's resolution says, with
    // owners resolved by name (etc/shadow is root:shadow = 0:42).
    let db = |layout: &Path| {
        run_image(
            layout,
            "latest",
            d,
            Some(&[
                "/bin/sh",
                "-c",
                "apk info 2>/dev/null | sort | tr '\\n' ' '; echo; apk audit --system 2>/dev/null; echo audit=$?; grep -A1 '^R:shadow$' /usr/lib/apk/db/installed",
            ]),
        )
    };
    let in_v3 = db(&v3);
    assert_eq!(in_v3, db(&v2));
    assert!(in_v3.contains("alpine-base alpine-baselayout "), "{in_v3}");
    assert_eq!(in_v3.lines().next().unwrap().split_whitespace().count(), 25);
    assert!(in_v3.contains("audit=0"), "{in_v3}");
    assert!(in_v3.contains("a:0:42:0640"), "{in_v3}");
    let out = run_image(&v3, "latest", d, None);
    assert_eq!(out.trim(), "ok");
    // The database's C: of a v3 package is its identity cut to 20 bytes.
    let installed = run_image(
        &v3,
        "latest",
        d,
        Some(&[
            "/bin/sh",
            "-c",
            "grep -B1 '^P:busybox$' /usr/lib/apk/db/installed",
        ]),
    );
    assert!(installed.starts_with("C:Q1"), "{installed}");
}

#[test]
fn v3_repository_forms_and_commands() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = &server.url;
    // A base directory: no APKINDEX.tar.gz, so its <arch>/Packages.adb.
    for (name, repo) in [
        ("base", "alpine-3.19-v3".to_string()),
        ("ndx", "alpine-3.19-v3/x86_64/Packages.adb".to_string()),
        (
            "local",
            format!(
                "{}",
                fx.join("alpine-3.19-v3/x86_64/Packages.adb").display()
            ),
        ),
    ] {
        let cfg = if name == "local" {
            format!(
                "contents:\n  keyring:\n    - {}\n  repositories:\n    - {repo}\n  packages:\n    - alpine-base\narchs:\n  - x86_64\n",
                fx.join(V3_KEY).display()
            )
        } else {
            config(url, V3_KEY, &repo)
        };
        fs::write(d.join(format!("{name}.yaml")), cfg).unwrap();
        let shown = ok(&apkforge(
            &[
                "image",
                "show-packages",
                &format!("{name}.yaml"),
                "--cache-dir",
                "cache",
            ],
            d,
        ));
        assert!(shown.contains("busybox-suid 1.36.1-r15"), "{name}: {shown}");
        assert_eq!(shown.lines().count(), 25, "{name}: {shown}");
        ok(&apkforge(
            &[
                "image",
                "lock",
                &format!("{name}.yaml"),
                "--output",
                &format!("{name}.lock.json"),
                "--cache-dir",
                "cache",
            ],
            d,
        ));
        let lock = fs::read_to_string(d.join(format!("{name}.lock.json"))).unwrap();
        assert!(lock.contains("\"checksum\": \"Q2"), "{lock}");
        let dot = ok(&apkforge(
            &[
                "image",
                "dot",
                &format!("{name}.yaml"),
                "--cache-dir",
                "cache",
            ],
            d,
        ));
        assert!(dot.contains("busybox"), "{dot}");
    }
    // The lock file builds the same packages.
    fs::create_dir(d.join("locked")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "ndx.yaml",
            "t:1",
            "locked/",
            "--lockfile",
            "ndx.lock.json",
            "--cache-dir",
            "cache",
        ],
        d,
    ));

    // Untrusted: the index is signed by a key not in the keyring.
    fs::write(
        d.join("untrusted.yaml"),
        config(url, ALPINE_KEY, "alpine-3.19-v3/x86_64/Packages.adb"),
    )
    .unwrap();
    let err = fail(&apkforge(
        &[
            "image",
            "show-packages",
            "untrusted.yaml",
            "--cache-dir",
            "cache2",
        ],
        d,
    ));
    assert!(
        err.contains("Packages.adb") && err.contains("failed signature verification"),
        "{err}"
    );

    // The index limits apply to Packages.adb as to APKINDEX.tar.gz.
    let limited = |var: &str, value: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args([
                "image",
                "show-packages",
                "ndx.yaml",
                "--cache-dir",
                "cache3",
            ])
            .current_dir(d)
            .env(var, value)
            .output()
            .unwrap()
    };
    let err = fail(&limited("APKFORGE_INDEX_MAX_ENTRIES", "10"));
    assert!(
        err.contains("alpine-3.19-v3/x86_64/Packages.adb")
            && err.contains("more than 10, the limit for indexes"),
        "{err}"
    );
    let err = fail(&limited("APKFORGE_INDEX_MAX_BYTES", "4096"));
    assert!(
        err.contains("alpine-3.19-v3/x86_64/Packages.adb")
            && err.contains("larger than the allowed 4096 bytes"),
        "{err}"
    );
    ok(&limited("APKFORGE_INDEX_MAX_ENTRIES", "100000"));
}

fn copy_repo(fx: &Path, to: &Path) {
    fs::create_dir_all(to.join("x86_64")).unwrap();
    for e in fs::read_dir(fx.join("alpine-3.19-v3/x86_64")).unwrap() {
        let p = e.unwrap().path();
        let target = to.join("x86_64").join(p.file_name().unwrap());
        fs::copy(&p, &target).unwrap();
    }
}

/// Flips one bit of the file at `offset` of its decompressed ADB stream:
/// the file is rewritten uncompressed (`ADB.`), as apk-tools accepts too.
fn tamper(path: &Path, offset: usize) {
    let raw = fs::read(path).unwrap();
    assert_eq!(&raw[..4], b"ADBd");
    let mut plain = Vec::new();
    flate2::read::DeflateDecoder::new(&raw[4..])
        .read_to_end(&mut plain)
        .unwrap();
    plain[offset] ^= 1;
    fs::write(path, plain).unwrap();
}

#[test]
fn tampered_v3_files_are_rejected() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = |repo: &Path| {
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}/x86_64/Packages.adb\n  packages:\n    - busybox-suid\narchs:\n  - x86_64\n",
            fx.join(V3_KEY).display(),
            repo.display()
        )
    };
    let attempt = |name: &str, mutate: &dyn Fn(&Path)| -> String {
        let repo = d.join(name);
        copy_repo(&fx, &repo);
        mutate(&repo);
        fs::write(d.join(format!("{name}.yaml")), cfg(&repo)).unwrap();
        fs::create_dir(d.join(format!("{name}-out"))).unwrap();
        let err = fail(&apkforge(
            &[
                "image",
                "build",
                &format!("{name}.yaml"),
                "t:1",
                &format!("{name}-out/"),
                "--cache-dir",
                &format!("{name}-cache"),
            ],
            d,
        ));
        assert!(
            fs::read_dir(d.join(format!("{name}-out")))
                .unwrap()
                .next()
                .is_none(),
            "{name}: output left behind"
        );
        err
    };
    // A flipped byte in a file's content: the package's identity still
    // matches, but the file does not match its SHA-256.
    let bb_suid = "x86_64/busybox-suid-1.36.1-r15.apk";
    let err = attempt("data", &|r| tamper(&r.join(bb_suid), 976));
    assert!(
        err.contains("busybox-suid-1.36.1-r15.apk")
            && err.contains("file integrity error")
            && err.contains("bin/bbsuid"),
        "{err}"
    );
    // A flipped byte in the package's ADB block: its identity no longer
    // matches the signed index.
    let err = attempt("schema", &|r| tamper(&r.join(bb_suid), 574));
    assert!(err.contains("does not match the index"), "{err}");
    // A flipped byte in the index's ADB block or its signature.
    let err = attempt("index", &|r| tamper(&r.join("x86_64/Packages.adb"), 600));
    assert!(err.contains("failed signature verification"), "{err}");
    let len = {
        let raw = fs::read(fx.join("alpine-3.19-v3/x86_64/Packages.adb")).unwrap();
        let mut plain = Vec::new();
        flate2::read::DeflateDecoder::new(&raw[4..])
            .read_to_end(&mut plain)
            .unwrap();
        plain.len()
    };
    let err = attempt("sig", &|r| tamper(&r.join("x86_64/Packages.adb"), len - 10));
    assert!(
        err.contains("failed signature verification") && err.contains("signature does not match"),
        "{err}"
    );
}
