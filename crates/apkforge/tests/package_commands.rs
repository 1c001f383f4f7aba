//! melange's repository and recipe commands under `apkforge package`:
//! `keygen`, `sign`, `sign-index`, `index`, `package-version`, `query`,
//! with melange's flag names and defaults, on fixture packages.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{apkforge, fail, ok};
use testsupport::fixtures;

fn alpine_apk(name: &str) -> PathBuf {
    fixtures().join("alpine-3.19/x86_64").join(name)
}

fn copy_apks(dir: &Path, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            fs::copy(alpine_apk(n), dir.join(n)).unwrap();
            n.to_string()
        })
        .collect()
}

/// Index entries as `name-version` in the order of the index.
fn index_entries(dir: &Path, index: &str) -> Vec<String> {
    let out = dir.join("unpacked-index");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir(&out).unwrap();
    common::untar(&dir.join(index), &out, &["APKINDEX"]);
    let text = fs::read_to_string(out.join("APKINDEX")).unwrap();
    let mut names = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("P:") {
            name = n.to_string();
        } else if let Some(v) = line.strip_prefix("V:") {
            names.push(format!("{name}-{v}"));
        }
    }
    names
}

#[test]
fn keygen_sign_and_sign_index_as_melange() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // melange's default name; a PKCS#1 private key and a PKIX public key.
    let out = ok(&apkforge(&["package", "keygen", "--key-size", "2048"], d));
    assert!(out.contains("melange.rsa"), "{out}");
    let private = fs::read_to_string(d.join("melange.rsa")).unwrap();
    assert!(private.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let public = fs::read_to_string(d.join("melange.rsa.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    // A named key; too small a key and an existing key are refused.
    ok(&apkforge(
        &["package", "keygen", "other.rsa", "--key-size", "2048"],
        d,
    ));
    assert!(d.join("other.rsa.pub").is_file());
    let err = fail(&apkforge(
        &["package", "keygen", "small.rsa", "--key-size", "1024"],
        d,
    ));
    assert!(err.contains("2048"), "{err}");
    assert!(!d.join("small.rsa").exists());
    let err = fail(&apkforge(&["package", "keygen", "--key-size", "2048"], d));
    assert!(err.contains("already exists"), "{err}");

    // `sign` re-signs packages in place (here Alpine's, signed by Alpine).
    let apks = copy_apks(d, &["yx-1.0.0-r1.apk", "scanelf-1.3.7-r2.apk"]);
    let mut args = vec!["package", "sign", "--signing-key", "melange.rsa"];
    args.extend(apks.iter().map(String::as_str));
    ok(&apkforge(&args, d));
    let mut verify = vec!["apk", "verify", "-k", "melange.rsa.pub"];
    verify.extend(apks.iter().map(String::as_str));
    ok(&apkforge(&verify, d));
    // Something that is not a package is refused before anything is signed.
    fs::write(d.join("junk.apk"), b"not a package").unwrap();
    let before = fs::read(d.join("yx-1.0.0-r1.apk")).unwrap();
    let err = fail(&apkforge(
        &[
            "package",
            "sign",
            "-k",
            "other.rsa",
            "yx-1.0.0-r1.apk",
            "junk.apk",
        ],
        d,
    ));
    assert!(err.contains("junk.apk"), "{err}");
    assert_eq!(fs::read(d.join("yx-1.0.0-r1.apk")).unwrap(), before);

    // `sign-index`: an unsigned index gets signed; a signed one is left
    // alone unless --force, which replaces the signature.
    let mut args = vec!["package", "index", "-o", "APKINDEX.tar.gz"];
    args.extend(apks.iter().map(String::as_str));
    ok(&apkforge(&args, d));
    let err = fail(&apkforge(
        &["apk", "verify", "-k", "melange.rsa.pub", "APKINDEX.tar.gz"],
        d,
    ));
    assert!(!err.is_empty());
    ok(&apkforge(&["package", "sign-index", "APKINDEX.tar.gz"], d));
    ok(&apkforge(
        &["apk", "verify", "-k", "melange.rsa.pub", "APKINDEX.tar.gz"],
        d,
    ));
    let signed = fs::read(d.join("APKINDEX.tar.gz")).unwrap();
    let out = ok(&apkforge(
        &[
            "package",
            "sign-index",
            "--signing-key",
            "other.rsa",
            "APKINDEX.tar.gz",
        ],
        d,
    ));
    assert!(out.contains("already signed"), "{out}");
    assert_eq!(fs::read(d.join("APKINDEX.tar.gz")).unwrap(), signed);
    ok(&apkforge(
        &[
            "package",
            "sign-index",
            "--signing-key",
            "other.rsa",
            "--force",
            "APKINDEX.tar.gz",
        ],
        d,
    ));
    ok(&apkforge(
        &["apk", "verify", "-k", "other.rsa.pub", "APKINDEX.tar.gz"],
        d,
    ));
    fail(&apkforge(
        &["apk", "verify", "-k", "melange.rsa.pub", "APKINDEX.tar.gz"],
        d,
    ));
}

#[test]
fn index_merges_filters_and_signs_as_melange() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&apkforge(
        &["package", "keygen", "k.rsa", "--key-size", "2048"],
        d,
    ));
    copy_apks(
        d,
        &[
            "yx-1.0.0-r1.apk",
            "scanelf-1.3.7-r2.apk",
            "musl-1.2.4_git20230717-r4.apk",
        ],
    );
    fs::create_dir(d.join("repo")).unwrap();
    ok(&apkforge(
        &[
            "package",
            "index",
            "-o",
            "repo/APKINDEX.tar.gz",
            "yx-1.0.0-r1.apk",
            "scanelf-1.3.7-r2.apk",
        ],
        d,
    ));
    assert_eq!(
        index_entries(d, "repo/APKINDEX.tar.gz"),
        ["yx-1.0.0-r1", "scanelf-1.3.7-r2"],
        "argument order, as melange"
    );
    // --merge keeps the --source index's entries; new packages follow.
    ok(&apkforge(
        &[
            "package",
            "index",
            "-o",
            "repo/APKINDEX.tar.gz",
            "-s",
            "repo/APKINDEX.tar.gz",
            "--merge",
            "--signing-key",
            "k.rsa",
            "musl-1.2.4_git20230717-r4.apk",
            "yx-1.0.0-r1.apk",
        ],
        d,
    ));
    assert_eq!(
        index_entries(d, "repo/APKINDEX.tar.gz"),
        [
            "yx-1.0.0-r1",
            "scanelf-1.3.7-r2",
            "musl-1.2.4_git20230717-r4"
        ]
    );
    ok(&apkforge(
        &["apk", "verify", "-k", "k.rsa.pub", "repo/APKINDEX.tar.gz"],
        d,
    ));
    // --arch skips packages of other architectures, with a warning.
    let out = apkforge(
        &[
            "package",
            "index",
            "-o",
            "arm.tar.gz",
            "--arch",
            "aarch64",
            "yx-1.0.0-r1.apk",
        ],
        d,
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("expecting aarch64"));
    assert!(index_entries(d, "arm.tar.gz").is_empty());
    // A broken package fails the command and leaves no index.
    fs::write(d.join("junk.apk"), b"junk").unwrap();
    let err = fail(&apkforge(
        &["package", "index", "-o", "bad.tar.gz", "junk.apk"],
        d,
    ));
    assert!(err.contains("junk.apk"), "{err}");
    assert!(!d.join("bad.tar.gz").exists());
}

#[test]
fn package_version_and_query_read_recipes_as_melange() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let crane = fixtures().join("melange-testdata/pkg/build/testdata/build_configs/crane.yaml");
    let crane = crane.to_str().unwrap();
    // No trailing newline, as melange's template output.
    assert_eq!(
        ok(&apkforge(&["package", "package-version", crane], d)),
        "crane-0.20.2-r1"
    );
    let out = ok(&apkforge(
        &[
            "package",
            "query",
            crane,
            "{{ .Package.Name }}:{{ range .Package.Dependencies.Runtime }}{{ . }}{{ end }}:\
             {{ index .Environment.Environment \"CGO_ENABLED\" }}:{{ (index .Pipeline 0).Uses }}:\
             {{ len .Test.Pipeline }}:{{ .Update.GitHubMonitor.Identifier }}",
        ],
        d,
    ));
    assert_eq!(
        out,
        "crane:ca-certificates-bundle:0:git-checkout:5:google/go-containerregistry"
    );
    let err = fail(&apkforge(
        &["package", "query", crane, "{{ .Package.Name "],
        d,
    ));
    assert!(err.contains("unclosed action"), "{err}");
    let err = fail(&apkforge(
        &["package", "query", crane, "{{ nosuch .Package }}"],
        d,
    ));
    assert!(err.contains("nosuch"), "{err}");
    let err = fail(&apkforge(
        &["package", "package-version", "missing.yaml"],
        d,
    ));
    assert!(err.contains("missing.yaml"), "{err}");
}

#[test]
fn bump_edits_version_epoch_checksums_and_commit_in_place() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let served = d.join("served");
    fs::create_dir(&served).unwrap();
    fs::write(served.join("hello-1.2.0.tar.gz"), b"new release").unwrap();
    let server = testsupport::FileServer::start(&served, testsupport::ServerOptions::default());
    let recipe = format!(
        "# hello, the greeter\npackage:\n  name: hello\n  version: 1.0.0 # upstream version\n  epoch: 3\n  description: hi\n  copyright:\n    - license: MIT\npipeline:\n  - uses: fetch\n    with:\n      uri: {url}/hello-${{{{package.version}}}}.tar.gz\n      expected-sha256: {old}\n  - uses: git-checkout\n    with:\n      repository: https://example.org/hello\n      tag: v${{{{package.version}}}}\n      expected-commit: {old_commit}\n  - runs: echo done\n",
        url = server.url,
        old = "0".repeat(64),
        old_commit = "a".repeat(40),
    );
    fs::write(d.join("hello.yaml"), &recipe).unwrap();
    let commit = "b".repeat(40);
    let out = ok(&apkforge(
        &[
            "package",
            "bump",
            "hello.yaml",
            "1.2.0",
            "--expected-commit",
            &commit,
        ],
        d,
    ));
    assert!(out.contains("1.2.0-r0"), "{out}");
    let sha = hex_lower(&Sha256::digest(b"new release"));
    assert_eq!(
        fs::read_to_string(d.join("hello.yaml")).unwrap(),
        recipe
            .replace("version: 1.0.0 #", "version: \"1.2.0\" #")
            .replace("epoch: 3", "epoch: 0")
            .replace(&"0".repeat(64), &sha)
            .replace(&"a".repeat(40), &commit)
    );
    assert_eq!(
        ok(&apkforge(&["package", "package-version", "hello.yaml"], d)),
        "hello-1.2.0-r0"
    );
    // A release that cannot be downloaded: named with the recipe line,
    // and the recipe is left as it was.
    let before = fs::read(d.join("hello.yaml")).unwrap();
    let err = fail(&apkforge(&["package", "bump", "hello.yaml", "9.9.9"], d));
    assert!(
        err.contains("hello-9.9.9.tar.gz") && err.contains("hello.yaml:12:"),
        "{err}"
    );
    assert_eq!(fs::read(d.join("hello.yaml")).unwrap(), before);
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
