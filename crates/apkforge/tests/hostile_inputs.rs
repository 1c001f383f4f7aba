//! Hostile recipes, lock files and command lines: refused with the file
//! and line involved, nothing written outside the output or workspace.

mod common;

use common::{apkforge, fail};

use std::fs;
use std::path::Path;

use testsupport::fixtures;

/// Every path below `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A recipe that builds (from the fixture repository) when its version and
/// description are sound.
fn recipe(version: &str, description: &str) -> String {
    let fx = fixtures();
    format!(
        "package:\n  name: hello\n  version: {version}\n  epoch: 0\n  description: {description}\n  copyright:\n    - license: MIT\nenvironment:\n  contents:\n    keyring:\n      - {key}\n    repositories:\n      - {repo}\n    packages:\n      - busybox\npipeline:\n  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/usr/bin\n",
        key = fx
            .join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
            .display(),
        repo = fx.join("alpine-3.19").display(),
    )
}

#[test]
fn recipe_versions_and_metadata_cannot_escape_or_inject() {
    let dir = tempfile::tempdir().unwrap();
    // The workspace is two levels down, so `../..` stays inside the test dir.
    let d = dir.path().join("a/b");
    fs::create_dir_all(&d).unwrap();
    ok_keygen(&d);
    let cases = [
        // (version, description, expected line:column, expected text)
        (
            "x/../../esc",
            "fine",
            "3:12",
            "unable to parse version `x/../../esc`",
        ),
        (
            "\"1.0\\ndepend = evil\"",
            "fine",
            "3:12",
            "unable to parse version `1.0\\ndepend = evil`",
        ),
        (
            "1.0",
            "\"one\\ndepend = evil\"",
            "5:16",
            "package.description must be a single line",
        ),
    ];
    for (i, (version, description, at, text)) in cases.iter().enumerate() {
        let name = format!("r{i}.yaml");
        fs::write(d.join(&name), recipe(version, description)).unwrap();
        let before = listing(dir.path());
        let err = fail(&apkforge(
            &[
                "package",
                "build",
                &name,
                "--signing-key",
                "k.rsa",
                "--out-dir",
                "packages",
                "--cache-dir",
                "cache",
            ],
            &d,
        ));
        assert!(err.contains(&format!("{name}:{at}")), "{name}: {err}");
        assert!(err.contains(text), "{name}: {err}");
        let mut after = listing(dir.path());
        after.retain(|p| !p.ends_with("packages") && !p.contains("cache"));
        assert_eq!(before, after, "{name}: files appeared: {err}");
    }
    // A trailing line break (YAML `|` blocks, as real recipes have) is fine
    // and does not reach .PKGINFO.
    fs::write(d.join("ok.yaml"), recipe("1.0", "|\n    one line")).unwrap();
    common::ok(&apkforge(
        &[
            "package",
            "build",
            "ok.yaml",
            "--signing-key",
            "k.rsa",
            "--out-dir",
            "packages",
            "--cache-dir",
            "cache",
        ],
        &d,
    ));
    let info = common::ok(&apkforge(
        &["apk", "inspect", "packages/x86_64/hello-1.0-r0.apk"],
        &d,
    ));
    assert!(info.contains("one line"), "{info}");
    let index = fs::read(d.join("packages/x86_64/APKINDEX.tar.gz")).unwrap();
    let entries = apk_format::index_archive::read_index_archive(&index[..])
        .unwrap()
        .entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].package.description, "one line");
}

fn ok_keygen(d: &Path) {
    common::ok(&apkforge(&["keygen", "k", "--bits", "2048"], d));
}

#[test]
fn hostile_lock_files_are_refused_naming_the_entry() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lock = fs::read_to_string(fx.join("apko-testdata/internal/cli/testdata/apko.lock.json"))
        .unwrap()
        .replacen("\"version\": \"", "\"version\": \"1/../../../", 2);
    fs::write(d.join("evil.lock.json"), lock).unwrap();
    fs::write(
        d.join("apko.yaml"),
        "contents:\n  packages:\n    - busybox\narchs: [x86_64]\n",
    )
    .unwrap();
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "x:1",
            "out.tar",
            "--lockfile",
            "evil.lock.json",
        ],
        d,
    ));
    assert!(
        err.contains("evil.lock.json")
            && err.contains("contents.packages[0]: version `1/../../../"),
        "{err}"
    );
    assert!(!d.join("out.tar").exists());
}

#[test]
fn apk_pack_refuses_names_and_fields_that_would_inject() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("root/usr")).unwrap();
    let pack = |extra: &[&str]| {
        let mut args = vec!["apk", "pack", "root", "-o", "out.apk"];
        args.extend_from_slice(extra);
        fail(&apkforge(&args, d))
    };
    let err = pack(&["--name", "../x", "--version", "1.0-r0", "--arch", "x86_64"]);
    assert!(err.contains("`../x`") && err.contains("name"), "{err}");
    let err = pack(&["--name", "x", "--version", "1.0-r0", "--arch", "../a"]);
    assert!(
        err.contains("`../a`") && err.contains("architecture"),
        "{err}"
    );
    let err = pack(&[
        "--name",
        "x",
        "--version",
        "1.0-r0",
        "--arch",
        "x86_64",
        "--description",
        "a\ndepend = evil",
    ]);
    assert!(err.contains("`pkgdesc` must be a single line"), "{err}");
    assert!(!d.join("out.apk").exists());
}
