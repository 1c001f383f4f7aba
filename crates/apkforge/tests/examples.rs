//! The example configs build offline from the fixtures, docs/IMAGE-SIZES.md
//! is what scripts/image-sizes.py makes of them, and the debug variant runs.

mod common;

use common::{ok, run_image};

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

#[test]
fn image_sizes_doc_is_generated_from_the_examples() {
    let out = Command::new("python3")
        .arg("scripts/image-sizes.py")
        .args(["--bin", env!("CARGO_BIN_EXE_apkforge"), "--check"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn distroless_examples_hold_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let build = |example: &str, out: &Path| {
        std::fs::create_dir(out).unwrap();
        ok(&Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args(["image", "build", example, "example:latest"])
            .arg(out)
            .arg("--cache-dir")
            .arg(d.join("cache"))
            .args(["--sbom=false", "--log-level", "warn"])
            .current_dir(repo_root())
            .output()
            .unwrap())
    };
    // static: no libc, no shell.
    build("examples/distroless/static.yaml", &d.join("static"));
    let size = ok(&Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(["image", "size", "--json"])
        .arg(d.join("static"))
        .output()
        .unwrap());
    let report: serde_json::Value = serde_json::from_str(&size).unwrap();
    let names: Vec<&str> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"musl") && !names.contains(&"busybox"),
        "{names:?}"
    );
    assert!(names.contains(&"tzdata") && names.contains(&"ca-certificates-bundle"));
    // The debug variant runs, as nonroot, with time zones and certificates.
    build("examples/distroless/busybox-debug.yaml", &d.join("debug"));
    let out = run_image(
        &d.join("debug"),
        "latest",
        d,
        Some(&[
            "/bin/sh",
            "-c",
            "id -un; test -s /usr/share/zoneinfo/UTC && test -s /etc/ssl/certs/ca-certificates.crt && echo ok",
        ]),
    );
    assert_eq!(out, "nonroot\nok\n");
}

#[test]
fn readme_package_build_works_from_a_fresh_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("examples/hello/build.sh")
        .env("APKFORGE", env!("CARGO_BIN_EXE_apkforge"))
        .env("OUT", dir.path())
        .current_dir(repo_root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("hello-1.0.0-r0.apk"), "{text}");
    assert!(dir.path().join("packages/x86_64/APKINDEX.tar.gz").is_file());
    // The package verifies with the key the script made.
    ok(&Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(["apk", "verify", "-k"])
        .arg(dir.path().join("mykey.rsa.pub"))
        .arg(dir.path().join("packages/x86_64/hello-1.0.0-r0.apk"))
        .output()
        .unwrap());
}
