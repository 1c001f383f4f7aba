//! `package lint` runs melange's linters on built packages: melange's own
//! test packages pass with its defaults (with the warnings melange
//! expects), a package breaking required linters fails naming them, and
//! `--lint-require` / `--lint-warn` move linters between the two sets.

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
