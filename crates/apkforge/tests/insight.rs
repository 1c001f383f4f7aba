//! `image why`, `image size` and `image diff` through the binary, on
//! images built from the Alpine fixtures.

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::path::Path;

use testsupport::fixtures;

const KEY: &str = "alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub";

fn write_config(d: &Path, name: &str, repo: &str, packages: &[&str]) {
    let pkgs: String = packages.iter().map(|p| format!("    - {p}\n")).collect();
    fs::write(
        d.join(name),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}\n  packages:\n{pkgs}archs: [x86_64]\n",
            fixtures().join(KEY).display(),
            fixtures().join(repo).display()
        ),
    )
    .unwrap();
}

#[test]
fn why_names_every_chain_or_the_reason_for_absence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, "base.yaml", "alpine-3.19", &["alpine-base"]);
    let out = ok(&apkforge(
        &[
            "image",
            "why",
            "base.yaml",
            "ifupdown-ng",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    assert!(
        out.starts_with("ifupdown-ng 0.12.1-r4 is in the x86_64 image:"),
        "{out}"
    );
    assert!(
        out.contains("  alpine-base -> openrc -> ifupdown-any -> ifupdown-ng\n"),
        "{out}"
    );
    // A provided name is answered through its provider.
    let out = ok(&apkforge(
        &[
            "image",
            "why",
            "base.yaml",
            "so:libc.musl-x86_64.so.1",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    assert!(
        out.contains("(musl 1.2.4_git20230717-r4 provides it)"),
        "{out}"
    );
    assert!(
        out.contains("alpine-base -> busybox -> so:libc.musl-x86_64.so.1 -> musl"),
        "{out}"
    );
    // Absent but available: exit 1, and why.
    let absent = apkforge(
        &[
            "image",
            "why",
            "base.yaml",
            "tzdata",
            "--cache-dir",
            "cache",
        ],
        d,
    );
    assert_eq!(absent.status.code(), Some(1));
    let text = String::from_utf8_lossy(&absent.stdout);
    assert!(
        text.contains(
            "tzdata is not in the x86_64 image: nothing the config asks for depends on it"
        ) && text.contains("tzdata 2023d-r0"),
        "{text}"
    );
    let absent = apkforge(
        &[
            "image",
            "why",
            "base.yaml",
            "no-such-pkg",
            "--cache-dir",
            "cache",
        ],
        d,
    );
    assert_eq!(absent.status.code(), Some(1));
    let text = String::from_utf8_lossy(&absent.stdout);
    assert!(
        text.contains("could not be") && text.contains("no-such-pkg"),
        "{text}"
    );
}

#[test]
fn size_of_a_config_layout_and_archive_agree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(
        d,
        "app.yaml",
        "alpine-3.19",
        &["busybox", "tzdata", "ca-certificates-bundle"],
    );
    fs::create_dir(d.join("layout")).unwrap();
    for out in ["layout", "app.tar"] {
        ok(&apkforge(
            &[
                "image",
                "build",
                "app.yaml",
                "app:1",
                out,
                "--cache-dir",
                "cache",
                "--sbom=false",
            ],
            d,
        ));
    }
    let report = |input: &str| -> serde_json::Value {
        serde_json::from_str(&ok(&apkforge(
            &["image", "size", input, "--json", "--cache-dir", "cache"],
            d,
        )))
        .unwrap()
    };
    let from_layout = report("layout");
    let from_tar = report("app.tar");
    let from_config = report("app.yaml");
    assert_eq!(from_layout, from_tar);
    assert_eq!(from_layout["packages"], from_config["packages"]);
    let pkgs = from_layout["packages"].as_array().unwrap();
    // Largest first; tzdata is the biggest; generated files last.
    assert_eq!(pkgs[0]["name"], "tzdata");
    assert_eq!(pkgs.last().unwrap()["name"], "(not from a package)");
    let sum: u64 = pkgs.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert_eq!(sum, from_layout["installed_bytes"].as_u64().unwrap());
    assert!(from_layout["package_count"].as_u64().unwrap() >= 4);
    // The compressed size is the layer blob's.
    let tar_len = fs::metadata(d.join("app.tar")).unwrap().len();
    let compressed = from_layout["compressed_bytes"].as_u64().unwrap();
    assert!(compressed > 100_000 && compressed < tar_len, "{compressed}");
    // The table.
    let table = ok(&apkforge(&["image", "size", "layout"], d));
    assert!(table.starts_with("PACKAGE"), "{table}");
    assert!(
        table.contains("x86_64: ") && table.contains(" compressed\n"),
        "{table}"
    );
    let err = fail(&apkforge(
        &["image", "size", "layout", "--arch", "aarch64"],
        d,
    ));
    assert!(err.contains("has no aarch64 image"), "{err}");
}

#[test]
fn diff_of_configs_locks_and_images() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_config(d, "a.yaml", "alpine-3.19", &["busybox"]);
    write_config(d, "b.yaml", "alpine-3.19", &["busybox", "tzdata"]);
    fs::create_dir(d.join("a")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "a.yaml",
            "a:1",
            "a",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    // Layout against config: one package added, with its files.
    let out = ok(&apkforge(
        &[
            "image",
            "diff",
            "a",
            "b.yaml",
            "--files",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    assert!(out.contains("  + tzdata 2023d-r0  (added, +"), "{out}");
    assert!(out.contains("total: 2 -> 3 packages"), "{out}");
    assert!(
        out.contains("  + /usr/share/zoneinfo/Europe/Paris ("),
        "{out}"
    );
    assert!(out.contains("  M /usr/lib/apk/db/installed ("), "{out}");
    let json: serde_json::Value = serde_json::from_str(&ok(&apkforge(
        &[
            "image",
            "diff",
            "b.yaml",
            "a",
            "--json",
            "--cache-dir",
            "cache",
        ],
        d,
    )))
    .unwrap();
    assert_eq!(json["packages"][0]["name"], "tzdata");
    assert_eq!(json["packages"][0]["change"], "removed");
    assert!(json["packages"][0]["size_delta"].as_i64().unwrap() < -100_000);
    // Lock files: a real one (from `image lock`) and an edited copy with
    // musl one release newer.
    ok(&apkforge(
        &["image", "lock", "a.yaml", "--cache-dir", "cache"],
        d,
    ));
    fs::rename(d.join("a.lock.json"), d.join("old.lock.json")).unwrap();
    let newer = fs::read_to_string(d.join("old.lock.json"))
        .unwrap()
        .replace("\"1.2.4_git20230717-r4\"", "\"1.2.4_git20230717-r5\"");
    fs::write(d.join("new.lock.json"), newer).unwrap();
    let out = ok(&apkforge(
        &["image", "diff", "old.lock.json", "new.lock.json"],
        d,
    ));
    assert!(
        out.contains("  ^ musl 1.2.4_git20230717-r4 -> 1.2.4_git20230717-r5  (upgraded)\n"),
        "{out}"
    );
    let out = ok(&apkforge(
        &["image", "diff", "new.lock.json", "old.lock.json"],
        d,
    ));
    assert!(
        out.contains("  v musl ") && out.contains("(downgraded)"),
        "{out}"
    );
    // A lock against an image: versions compare, sizes are unknown.
    let out = ok(&apkforge(&["image", "diff", "old.lock.json", "a"], d));
    assert!(out.contains("packages: no changes"), "{out}");
    let err = fail(&apkforge(
        &["image", "diff", "old.lock.json", "a", "--files"],
        d,
    ));
    assert!(err.contains("lock file lists no files"), "{err}");
}

#[test]
fn size_and_diff_read_images_apko_built() {
    let golden = fixtures().join("apko-testdata/internal/cli/testdata/golden");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report: serde_json::Value = serde_json::from_str(&ok(&apkforge(
        &[
            "image",
            "size",
            golden.to_str().unwrap(),
            "--json",
            "--arch",
            "aarch64",
        ],
        d,
    )))
    .unwrap();
    assert_eq!(report["arch"], "aarch64");
    let names: Vec<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"replayout") && names.contains(&"pretend-baselayout"),
        "{names:?}"
    );
    // apko's image against ours from the same config: same packages.
    let cli = fixtures().join("apko-testdata/internal/cli");
    fs::create_dir(d.join("ours")).unwrap();
    ok(&apkforge(
        &[
            "-C",
            cli.to_str().unwrap(),
            "image",
            "build",
            "testdata/apko.yaml",
            "g:1",
            d.join("ours").to_str().unwrap(),
            "--cache-dir",
            d.join("cache").to_str().unwrap(),
            "--sbom=false",
        ],
        d,
    ));
    let out = ok(&apkforge(
        &["image", "diff", golden.to_str().unwrap(), "ours", "--files"],
        d,
    ));
    assert!(out.contains("packages: no changes"), "{out}");
    assert!(out.contains("/etc/apko.json"), "{out}");
}
