//! `package test` as melange's `test`: the main package's and every
//! subpackage's tests, each in a fresh environment holding the package
//! under test, `--test-package-append` packages in all of them, and the
//! optional package argument replacing the main package.

mod common;

use std::fs;
use std::path::Path;

use common::{apkforge, fail, ok};
use testsupport::fixtures;

fn recipe() -> String {
    let fx = fixtures();
    format!(
        r#"package:
  name: greet
  version: 1.0.0
  epoch: 0
  description: says hello
  copyright:
    - license: MIT
environment:
  contents:
    keyring:
      - {key}
    repositories:
      - {repo}
    packages:
      - busybox
pipeline:
  - runs: |
      mkdir -p ${{{{targets.destdir}}}}/usr/bin
      printf '#!/bin/sh\necho hello\n' > ${{{{targets.destdir}}}}/usr/bin/greet
      chmod 0755 ${{{{targets.destdir}}}}/usr/bin/greet
subpackages:
  - name: greet-extra
    description: extra words
    pipeline:
      - runs: |
          mkdir -p ${{{{targets.subpkgdir}}}}/usr/share/greet
          echo more > ${{{{targets.subpkgdir}}}}/usr/share/greet/words
    test:
      environment:
        contents:
          packages:
            - busybox
      pipeline:
        - name: words are there, the main package is not
          runs: |
            grep -q more /usr/share/greet/words
            test ! -e /usr/bin/greet
        - name: appended package
          runs: scanelf -V
test:
  environment:
    contents:
      packages:
        - busybox
  pipeline:
    - name: greets
      runs: |
        greet | grep -q hello
        test ! -e /usr/share/greet/words
        scanelf -V
"#,
        key = fx
            .join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
            .display(),
        repo = fx.join("alpine-3.19").display(),
    )
}

/// `package test` with the fixtures' Alpine repository (test environments
/// do not inherit the build's repositories, as in melange).
fn test_cmd(extra: &[&str]) -> Vec<String> {
    let fx = fixtures();
    let mut args: Vec<String> = [
        "package",
        "test",
        "greet.yaml",
        "--signing-key",
        "k.rsa",
        "--apk-cache-dir",
        "cache",
        "-r",
    ]
    .map(String::from)
    .to_vec();
    args.push(fx.join("alpine-3.19").display().to_string());
    args.push("-k".into());
    args.push(
        fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
            .display()
            .to_string(),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(args: &[String], d: &Path) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    apkforge(&args, d)
}

fn setup(d: &Path) {
    ok(&apkforge(&["keygen", "k", "--bits", "2048"], d));
    fs::write(d.join("greet.yaml"), recipe()).unwrap();
    ok(&apkforge(
        &[
            "package",
            "build",
            "greet.yaml",
            "--signing-key",
            "k.rsa",
            "--apk-cache-dir",
            "cache",
        ],
        d,
    ));
}

#[test]
fn main_and_subpackage_tests_run_in_their_own_environments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // Both tests need scanelf, which only --test-package-append provides.
    let err = fail(&run(&test_cmd(&[]), d));
    assert!(err.contains("step `greets` failed"), "{err}");
    let out = ok(&run(&test_cmd(&["--test-package-append", "scanelf"]), d));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["tests of greet passed", "tests of greet-extra passed"]
    );
    // The package argument names what the main test installs.
    ok(&run(
        &test_cmd(&["greet=1.0.0-r0", "--test-package-append", "scanelf"]),
        d,
    ));
    let err = fail(&run(
        &test_cmd(&["greet=9.9-r0", "--test-package-append", "scanelf"]),
        d,
    ));
    assert!(err.contains("greet=9.9-r0"), "{err}");
}

#[test]
fn a_recipe_without_tests_has_nothing_to_test() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = recipe();
    let text = &text[..text.find("subpackages:").unwrap()];
    fs::write(d.join("greet.yaml"), text).unwrap();
    let out = apkforge(
        &["package", "test", "greet.yaml", "--apk-cache-dir", "cache"],
        d,
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no tests"));
}

#[test]
fn tests_run_with_the_docker_runner_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let engine = testsupport::engine::engine();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(test_cmd(&[
            "--test-package-append",
            "scanelf",
            "--runner",
            "docker",
        ]))
        .current_dir(d)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("DOCKER_HOST", &engine.host)
        .output()
        .unwrap();
    assert_eq!(
        ok(&out).lines().collect::<Vec<_>>(),
        ["tests of greet passed", "tests of greet-extra passed"]
    );
}
