//! Writing apk-tools 3's formats through the binary: `index --format v3`
//! against the indexes apk-tools 3.0.6 made, `apk pack --format v3` and
//! `package build --format v3`, and images from what they write.

mod common;

use common::{apkforge, assert_same_file, fail, ok};

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use testsupport::fixtures;

fn v3() -> PathBuf {
    fixtures().join("alpine-3.19-v3")
}

fn apks(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "apk"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// The uncompressed ADB stream of a file (`ADBd` or `ADB.`).
fn inflated(path: &Path) -> Vec<u8> {
    let raw = fs::read(path).unwrap();
    if &raw[..4] == b"ADB." {
        return raw;
    }
    assert_eq!(&raw[..4], b"ADBd", "{}", path.display());
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(&raw[4..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn index_v3_equals_apk_tools_mkndx() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = v3().join("keys/apkforge-fixtures-v3.rsa");
    let key = key.to_str().unwrap();
    // Over the 26 v3 packages, as the fixture's index was made.
    let mut args = vec![
        "index",
        "--format",
        "v3",
        "-o",
        "Packages.adb",
        "--signing-key",
        key,
        "-d",
        "apkforge fixtures: Alpine 3.19.1 alpine-base closure converted to apk v3",
    ];
    let pkgs = apks(&v3().join("x86_64"));
    args.extend(pkgs.iter().map(String::as_str));
    let out = ok(&apkforge(&args, d));
    assert!(out.contains("26 packages"), "{out}");
    let theirs = v3().join("x86_64/Packages.adb");
    assert!(inflated(&d.join("Packages.adb")) == inflated(&theirs));
    // The file itself, compression included, byte for byte.
    assert_same_file(&d.join("Packages.adb"), &theirs);
    // Over the 100 original v2 packages, with a pkgname-spec.
    let mut args = vec![
        "index",
        "--format",
        "v3",
        "-o",
        "v2.adb",
        "--signing-key",
        key,
        "-d",
        "apkforge fixtures: v3 index over the original Alpine 3.19.1 v2 packages",
        "--pkgname-spec",
        "../../../alpine-3.19/x86_64/${name}-${version}.apk",
    ];
    let pkgs = apks(&fixtures().join("alpine-3.19/x86_64"));
    args.extend(pkgs.iter().map(String::as_str));
    ok(&apkforge(&args, d));
    let theirs = v3().join("v2-index/x86_64/Packages.adb");
    assert!(inflated(&d.join("v2.adb")) == inflated(&theirs));
    assert_same_file(&d.join("v2.adb"), &theirs);
    // Uncompressed output is the stream itself.
    let mut args = vec![
        "index",
        "--format",
        "v3",
        "-o",
        "plain.adb",
        "--compression",
        "none",
    ];
    let pkgs = apks(&v3().join("x86_64"));
    args.extend(pkgs.iter().map(String::as_str));
    ok(&apkforge(&args, d));
    assert!(
        fs::read(d.join("plain.adb"))
            .unwrap()
            .starts_with(b"ADB.indx")
    );
    // v3 indexes have no --rewrite-arch.
    let err = fail(&apkforge(
        &[
            "index",
            "--format",
            "v3",
            "-o",
            "x.adb",
            "--rewrite-arch",
            "x86_64",
            &pkgs[0],
        ],
        d,
    ));
    assert!(err.contains("--pkgname-spec"), "{err}");
}

fn write_tree(root: &Path) {
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::create_dir_all(root.join("etc/hello")).unwrap();
    fs::write(
        root.join("usr/bin/hello"),
        "#!/bin/sh\necho hello from v3\n",
    )
    .unwrap();
    fs::write(root.join("etc/hello/empty"), "").unwrap();
    std::os::unix::fs::symlink("hello", root.join("usr/bin/hi")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(
        root.join("usr/bin/hello"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[test]
fn pack_v3_is_reproducible_verifies_and_builds_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&apkforge(&["keygen", "me"], d));
    write_tree(&d.join("tree"));
    fs::write(d.join("post.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    let pack = |out: &str| {
        ok(&apkforge(
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
                "v3 test",
                "--license",
                "MIT",
                "--depend",
                "busybox",
                "--provides",
                "cmd:hello=1.0-r0",
                "--script",
                ".post-install=post.sh",
                "--signing-key",
                "me.rsa",
                "--format",
                "v3",
            ],
            d,
        ))
    };
    fs::create_dir(d.join("repo")).unwrap();
    pack("one.apk");
    pack("repo/hello-1.0-r0.apk");
    assert_same_file(&d.join("one.apk"), &d.join("repo/hello-1.0-r0.apk"));
    assert!(fs::read(d.join("one.apk")).unwrap().starts_with(b"ADBd"));
    ok(&apkforge(
        &["apk", "verify", "-k", "me.rsa.pub", "one.apk"],
        d,
    ));
    let err = fail(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            &v3().join("keys").display().to_string(),
            "one.apk",
        ],
        d,
    ));
    assert!(err.contains("UNTRUSTED signature"), "{err}");
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", "-k", "me.rsa.pub", "one.apk"],
        d,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], "v3");
    assert_eq!(v["signature"], "valid");
    let files: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["type"].as_str().unwrap(),
                f["mode"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        files.contains(&"file 0755 usr/bin/hello".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"symlink 0777 usr/bin/hi".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"file 0644 etc/hello/empty".to_string()),
        "{files:?}"
    );

    // A repository of it, with Alpine's packages beside, and an image.
    fs::create_dir(d.join("repo/x86_64")).unwrap();
    fs::rename(
        d.join("repo/hello-1.0-r0.apk"),
        d.join("repo/x86_64/hello-1.0-r0.apk"),
    )
    .unwrap();
    ok(&apkforge(
        &[
            "index",
            "--format",
            "v3",
            "-o",
            "repo/x86_64/Packages.adb",
            "--signing-key",
            "me.rsa",
            "repo/x86_64/hello-1.0-r0.apk",
        ],
        d,
    ));
    let fx = fixtures();
    fs::write(
        d.join("img.yaml"),
        format!(
            "contents:\n  keyring:\n    - me.rsa.pub\n    - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n  repositories:\n    - {fx}/alpine-3.19\n    - repo\n  packages:\n    - hello\nentrypoint:\n  command: /usr/bin/hi\narchs:\n  - x86_64\n",
            fx = fx.display()
        ),
    )
    .unwrap();
    fs::create_dir(d.join("img")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "img.yaml",
            "hello:latest",
            "img/",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    let out = common::run_image(&d.join("img"), "latest", d, None);
    assert_eq!(out.trim(), "hello from v3");
}

#[test]
fn package_build_v3_writes_v3_packages_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fx = fixtures();
    ok(&apkforge(&["keygen", "me"], d));
    let recipe = format!(
        "package:\n  name: greet\n  version: 2.0.1\n  epoch: 3\n  description: greets in v3\n  copyright:\n    - license: MIT\n  scriptlets:\n    post-install: |\n      #!/bin/sh\n      exit 0\nenvironment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/usr/bin\n      printf '#!/bin/sh\\necho greetings\\n' > ${{{{targets.destdir}}}}/usr/bin/greet\n      chmod 0755 ${{{{targets.destdir}}}}/usr/bin/greet\n",
        fx = fx.display()
    );
    fs::write(d.join("greet.yaml"), recipe).unwrap();
    let build = |out: &str| {
        ok(&apkforge(
            &[
                "package",
                "build",
                "greet.yaml",
                "--out-dir",
                out,
                "--signing-key",
                "me.rsa",
                "--cache-dir",
                "cache",
                "--format",
                "v3",
            ],
            d,
        ))
    };
    build("one");
    build("two");
    let apk = "x86_64/greet-2.0.1-r3.apk";
    assert_same_file(&d.join("one").join(apk), &d.join("two").join(apk));
    assert!(
        fs::read(d.join("one").join(apk))
            .unwrap()
            .starts_with(b"ADBd")
    );
    assert!(!d.join("one/x86_64/APKINDEX.tar.gz").exists());
    ok(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            "me.rsa.pub",
            &format!("one/{apk}"),
            "one/x86_64/Packages.adb",
        ],
        d,
    ));
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", &format!("one/{apk}")],
        d,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["scripts"][0][0], ".post-install");
    assert!(json.contains("usr/bin/greet"), "{json}");
    // The output directory is a v3 repository an image builds from.
    fs::write(
        d.join("img.yaml"),
        format!(
            "contents:\n  keyring:\n    - me.rsa.pub\n    - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n  repositories:\n    - {fx}/alpine-3.19\n    - one\n  packages:\n    - greet\n    - busybox\nentrypoint:\n  command: /usr/bin/greet\narchs:\n  - x86_64\n",
            fx = fx.display()
        ),
    )
    .unwrap();
    let shown = ok(&apkforge(
        &["image", "show-packages", "img.yaml", "--cache-dir", "cache"],
        d,
    ));
    assert!(shown.contains("greet 2.0.1-r3"), "{shown}");
}
