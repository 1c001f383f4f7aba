//! `package lint` runs melange's linters on built packages: melange's own
//! test packages pass with its defaults (with the warnings melange
//! expects), a package breaking required linters fails naming them, and
//! `--lint-require` / `--lint-warn` move linters between the two sets.
//! `package build` runs them too, before anything is written, as melange
//! does (`checks.disabled` turns a package's required linter into a
//! warning).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{apkforge, fail, ok};
use testsupport::fixtures;

/// A package with a world-writable file, a setuid binary, a libtool
/// archive, a file in /bin and /usr/share/info/dir content.
fn bad_package(d: &Path) -> String {
    let root = d.join("bad");
    for dir in [
        "bin",
        "usr/bin",
        "usr/lib",
        "usr/share/info/dir",
        "usr/share/data",
    ] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    let write = |p: &str, mode: u32| {
        fs::write(root.join(p), b"content\n").unwrap();
        fs::set_permissions(root.join(p), fs::Permissions::from_mode(mode)).unwrap();
    };
    write("bin/tool", 0o755);
    write("usr/bin/su-ish", 0o4755);
    write("usr/lib/libfoo.la", 0o644);
    write("usr/share/info/dir/entry", 0o644);
    write("usr/share/data/shared", 0o666);
    ok(&apkforge(
        &[
            "apk",
            "pack",
            "bad",
            "-o",
            "bad-1.0-r0.apk",
            "--name",
            "bad",
            "--version",
            "1.0-r0",
            "--arch",
            "x86_64",
        ],
        d,
    ));
    "bad-1.0-r0.apk".into()
}

#[test]
fn melanges_test_packages_pass_with_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let testdata = fixtures().join("melange-testdata/pkg/linter/testdata");
    let hello = testdata.join("hello-wolfi-2.12.1-r1.apk");
    let kubeflow = testdata.join("kubeflow-pipelines-2.1.3-r7.apk");
    let out = apkforge(
        &[
            "package",
            "lint",
            hello.to_str().unwrap(),
            kubeflow.to_str().unwrap(),
            "--persist-lint-results",
            "--out-dir",
            "results",
        ],
        d,
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[maninfo] hello-wolfi contains 1 man/info file"),
        "{err}"
    );
    // The findings, as melange persists them (hello-wolfi is aarch64).
    let json: serde_json::Value = serde_json::from_slice(
        &fs::read(d.join("results/aarch64/lint-hello-wolfi-2.12.1-r1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["package_name"], "hello-wolfi-2.12.1-r1");
    let maninfo = &json["findings"]["maninfo"][0];
    assert!(maninfo["message"].as_str().unwrap().contains("man/info"));
    assert!(!maninfo["explain"].as_str().unwrap().is_empty());
    assert_eq!(maninfo["details"]["paths"][0], "usr/share/info/hello.info");
}

#[test]
fn required_linters_fail_and_the_sets_can_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let apk = bad_package(d);
    let err = fail(&apkforge(&["package", "lint", &apk], d));
    for linter in [
        "worldwrite",
        "setuidgid",
        "libtool/la-files",
        "usrmerge",
        "infodir",
    ] {
        assert!(err.contains(&format!("[{linter}]")), "{linter}: {err}");
    }
    assert!(
        err.contains("required linters failed") && err.contains("bad-1.0-r0.apk"),
        "{err}"
    );
    assert!(err.contains("usr/share/data/shared"), "{err}");
    // Only `dev` required, the rest warnings: the package passes.
    let out = apkforge(
        &[
            "package",
            "lint",
            &apk,
            "--lint-require",
            "dev",
            "--lint-warn",
            "worldwrite,setuidgid",
        ],
        d,
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[worldwrite]") && !err.contains("[usrmerge]"),
        "{err}"
    );
    // Unknown linters are named, with the list of known ones.
    let err = fail(&apkforge(
        &["package", "lint", &apk, "--lint-require", "nosuch"],
        d,
    ));
    assert!(
        err.contains("`nosuch`") && err.contains("worldwrite"),
        "{err}"
    );
    // Not a package.
    fs::write(d.join("junk.apk"), b"junk").unwrap();
    let err = fail(&apkforge(&["package", "lint", "junk.apk"], d));
    assert!(err.contains("junk.apk"), "{err}");
}

#[test]
fn builds_run_the_linters_before_writing_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fx = fixtures();
    let recipe = |checks: &str| {
        format!(
            "package:\n  name: tmpfiles\n  version: 1.0.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\n{checks}environment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/tmp ${{{{targets.destdir}}}}/usr/local/bin\n      echo x > ${{{{targets.destdir}}}}/tmp/leftover\n      echo x > ${{{{targets.destdir}}}}/usr/local/bin/tool\n",
            fx = fx.display()
        )
    };
    fs::write(d.join("tmpfiles.yaml"), recipe("")).unwrap();
    let build = |extra: &[&str]| {
        let mut args = vec![
            "package",
            "build",
            "tmpfiles.yaml",
            "--apk-cache-dir",
            "apkcache",
        ];
        args.extend_from_slice(extra);
        apkforge(&args, d)
    };
    // melange's defaults: tempdir is required, usrlocal a warning.
    let out = build(&[]);
    let err = fail(&out);
    assert!(
        err.contains("required linters failed (no package written): tmpfiles: [tempdir]"),
        "{err}"
    );
    assert!(
        err.contains("warning: tmpfiles: [usrlocal] tmpfiles contains /usr/local path"),
        "{err}"
    );
    assert!(!d.join("packages/x86_64").exists());
    // An unknown linter is refused before building.
    let err = fail(&build(&["--lint-require", "tempdir,nosuch"]));
    assert!(
        err.contains("--lint-require: unknown linter `nosuch`"),
        "{err}"
    );
    // The recipe's checks.disabled makes it a warning.
    fs::write(
        d.join("tmpfiles.yaml"),
        recipe("  checks:\n    disabled:\n      - tempdir\n"),
    )
    .unwrap();
    let out = build(&["--persist-lint-results"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: tmpfiles: [tempdir]"), "{err}");
    assert!(d.join("packages/x86_64/tmpfiles-1.0.0-r0.apk").is_file());
    // --persist-lint-results: melange's JSON beside the packages.
    let saved: serde_json::Value = serde_json::from_slice(
        &fs::read(d.join("packages/x86_64/lint-tmpfiles-1.0.0-r0.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["package_name"], "tmpfiles-1.0.0-r0");
    let linters: Vec<&String> = saved["findings"].as_object().unwrap().keys().collect();
    assert_eq!(linters, ["tempdir", "usrlocal"]);
    // And the flags choose the sets: nothing required, nothing warned.
    fs::write(d.join("tmpfiles.yaml"), recipe("")).unwrap();
    let out = build(&["--lint-require=", "--lint-warn="]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("[usrlocal]") && !err.contains("[tempdir]"),
        "{err}"
    );
}

#[test]
fn build_tree_passes_the_lint_flags_to_each_build() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fx = fixtures();
    fs::create_dir(d.join("tree")).unwrap();
    fs::write(
        d.join("tree/tmpfiles.yaml"),
        format!(
            "package:\n  name: tmpfiles\n  version: 1.0.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\nenvironment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/tmp\n      echo x > ${{{{targets.destdir}}}}/tmp/leftover\n",
            fx = fx.display()
        ),
    )
    .unwrap();
    ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
    let build_tree = |extra: &[&str]| {
        let mut args = vec![
            "package",
            "build-tree",
            "tree",
            "--signing-key",
            "test.rsa",
            "--apk-cache-dir",
            "apkcache",
        ];
        args.extend_from_slice(extra);
        apkforge(&args, d)
    };
    // An unknown linter is refused before anything is built.
    let err = fail(&build_tree(&["--lint-warn", "nosuch"]));
    assert!(
        err.contains("--lint-warn: unknown linter `nosuch`"),
        "{err}"
    );
    // melange's defaults: tempdir is required, so the build fails.
    fail(&build_tree(&[]));
    let log = fs::read_to_string(d.join("packages/x86_64/buildlogs/tmpfiles.log")).unwrap();
    assert!(log.contains("required linters failed"), "{log}");
    assert!(!d.join("packages/x86_64/tmpfiles-1.0.0-r0.apk").exists());
    // With tempdir only a warning, it builds and the findings are saved.
    ok(&build_tree(&[
        "--lint-require=",
        "--lint-warn",
        "tempdir",
        "--persist-lint-results",
    ]));
    assert!(d.join("packages/x86_64/tmpfiles-1.0.0-r0.apk").is_file());
    let saved: serde_json::Value = serde_json::from_slice(
        &fs::read(d.join("packages/x86_64/lint-tmpfiles-1.0.0-r0.json")).unwrap(),
    )
    .unwrap();
    let linters: Vec<&String> = saved["findings"].as_object().unwrap().keys().collect();
    assert_eq!(linters, ["tempdir"]);
}
