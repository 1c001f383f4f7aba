//! Package builds through the binary: the example recipe is built in a
//! bubblewrap sandbox from the fixtures, its packages verified, installed
//! into an image and run; failures leave no package behind.

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testsupport::{FileServer, ServerOptions, fixtures};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A temp dir with a signing key, a signed repository of the snapshot
/// packages (make, binutils, musl-dev), and the example recipe with
/// absolute fixture paths and the loopback source URL.
struct Setup {
    dir: tempfile::TempDir,
    _server: FileServer,
}

impl Setup {
    fn new() -> Setup {
        let fx = fixtures();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
        let snap = d.join("snap/x86_64");
        fs::create_dir_all(&snap).unwrap();
        let mut args = vec![
            "index".to_string(),
            "-o".into(),
            snap.join("APKINDEX.tar.gz").display().to_string(),
            "--signing-key".into(),
            "test.rsa".into(),
        ];
        for e in fs::read_dir(fx.join("alpine-3.19-snapshot/main/x86_64")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "apk") {
                let target = snap.join(p.file_name().unwrap());
                fs::copy(&p, &target).unwrap();
                args.push(target.display().to_string());
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&apkforge(&args, d));
        let server = FileServer::start(&examples().join("hello"), ServerOptions::default());
        let recipe = fs::read_to_string(examples().join("hello/hello.yaml"))
            .unwrap()
            .replace("../shared/fixtures", fx.to_str().unwrap())
            .replace("http://127.0.0.1:8000", &server.url);
        // Recipes live in their own directory, which is their source
        // directory (copied into the workspace).
        fs::create_dir(d.join("recipe")).unwrap();
        fs::write(d.join("recipe/hello.yaml"), recipe).unwrap();
        Setup {
            dir,
            _server: server,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn build(&self, recipe: &str, out: &str) -> Output {
        apkforge(
            &[
                "package",
                "build",
                recipe,
                "--signing-key",
                "test.rsa",
                "--out-dir",
                out,
                "-r",
                "snap",
                "-k",
                "test.rsa.pub",
                "--apk-cache-dir",
                "cache",
            ],
            self.path(),
        )
    }
}

#[test]
fn example_recipe_builds_verifies_installs_and_runs() {
    let s = Setup::new();
    let d = s.path();
    ok(&s.build("recipe/hello.yaml", "packages"));
    ok(&s.build("recipe/hello.yaml", "again"));
    let apk = |out: &str, name: &str| {
        d.join(out)
            .join("x86_64")
            .join(format!("{name}-1.0.0-r0.apk"))
    };
    for name in ["hello", "hello-doc"] {
        common::assert_same_file(&apk("packages", name), &apk("again", name));
    }
    ok(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            "test.rsa.pub",
            apk("packages", "hello").to_str().unwrap(),
            apk("packages", "hello-doc").to_str().unwrap(),
            "packages/x86_64/APKINDEX.tar.gz",
        ],
        d,
    ));
    let files = |name: &str| {
        let json = ok(&apkforge(
            &[
                "apk",
                "inspect",
                "--json",
                apk("packages", name).to_str().unwrap(),
            ],
            d,
        ));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        (
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
            v,
        )
    };
    let (hello, v) = files("hello");
    assert!(hello.contains(&"usr/bin/hello".to_string()), "{hello:?}");
    assert!(
        !hello.iter().any(|f| f.contains("man1")),
        "man page split off: {hello:?}"
    );
    let pkginfo = v["pkginfo"].as_array().unwrap();
    assert!(
        pkginfo
            .iter()
            .any(|kv| kv[0] == "provides" && kv[1] == "cmd:hello=1.0.0-r0"),
        "{pkginfo:?}"
    );
    assert!(
        pkginfo
            .iter()
            .any(|kv| kv[0] == "depend" && kv[1] == "busybox"),
        "{pkginfo:?}"
    );
    // Each package carries its own SPDX document, which the validator accepts.
    assert!(
        hello.contains(&"var/lib/db/sbom/hello-1.0.0-r0.spdx.json".to_string()),
        "{hello:?}"
    );
    let unpacked = d.join("unpacked");
    fs::create_dir(&unpacked).unwrap();
    common::untar(
        &apk("packages", "hello"),
        &unpacked,
        &["var/lib/db/sbom/hello-1.0.0-r0.spdx.json"],
    );
    let st = Command::new("pyspdxtools")
        .arg("-i")
        .arg(unpacked.join("var/lib/db/sbom/hello-1.0.0-r0.spdx.json"))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}{}",
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
    let (doc, _) = files("hello-doc");
    assert!(
        doc.contains(&"usr/share/man/man1/hello.1".to_string()),
        "{doc:?}"
    );

    // `package test` runs the recipe's test pipeline against the built package.
    let fx = fixtures();
    let alpine = fx.join("alpine-3.19");
    let alpine_key = fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub");
    let out = ok(&apkforge(
        &[
            "package",
            "test",
            "recipe/hello.yaml",
            "--out-dir",
            "packages",
            "--signing-key",
            "test.rsa",
            "-r",
            alpine.to_str().unwrap(),
            "-k",
            alpine_key.to_str().unwrap(),
            "--apk-cache-dir",
            "cache",
        ],
        d,
    ));
    assert!(out.contains("tests of hello passed"), "{out}");

    // The package installs into an image, which runs it.
    let cfg = format!(
        "contents:\n  keyring:\n    - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    - test.rsa.pub\n  repositories:\n    - {fx}/alpine-3.19\n    - packages\n  packages:\n    - hello\nentrypoint:\n  command: hello\narchs: [x86_64]\n",
        fx = fx.display()
    );
    fs::write(d.join("image.yaml"), cfg).unwrap();
    fs::create_dir(d.join("layout")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "image.yaml",
            "hello:latest",
            "layout/",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let out = common::run_image(&d.join("layout"), "latest", d, None);
    assert_eq!(out.trim(), "Hello from apkforge (installed in /usr)");
}

#[test]
fn elf_binary_gets_alpines_so_depends_and_cmd_provides() {
    let s = Setup::new();
    let d = s.path();
    let fx = fixtures();
    // scanelf from Alpine: its index entry says D:so:libc.musl-x86_64.so.1
    // and p:cmd:scanelf=1.3.7-r2.
    let src = d.join("src/usr/bin");
    fs::create_dir_all(&src).unwrap();
    common::untar(
        &fx.join("alpine-3.19/x86_64/scanelf-1.3.7-r2.apk"),
        &d.join("src"),
        &["usr/bin/scanelf"],
    );
    let recipe = format!(
        "package:\n  name: myscan\n  version: 1.3.7\n  epoch: 2\n  description: scanelf repackaged\n  copyright:\n    - license: GPL-2.0-only\n  scriptlets:\n    post-install: |\n      #!/bin/sh\n      exit 0\n    trigger:\n      paths:\n        - /usr/bin\n      script: |\n        #!/bin/sh\n        exit 0\nenvironment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/usr/bin\n      cp usr/bin/scanelf ${{{{targets.destdir}}}}/usr/bin/scanelf\n",
        fx = fx.display()
    );
    fs::write(d.join("myscan.yaml"), recipe).unwrap();
    ok(&apkforge(
        &[
            "package",
            "build",
            "myscan.yaml",
            "--out-dir",
            "out",
            "--source-dir",
            "src",
            "--apk-cache-dir",
            "cache",
            "--dependency-log",
            "deps.json",
        ],
        d,
    ));
    // melange's --dependency-log: what the analysis generated, per arch.
    assert_eq!(
        fs::read_to_string(d.join("deps.json.x86_64")).unwrap(),
        "{\"runtime\":[\"so:libc.musl-x86_64.so.1\"],\"provides\":[\"cmd:scanelf=1.3.7-r2\"]}\n"
    );
    let json = ok(&apkforge(
        &["apk", "inspect", "--json", "out/x86_64/myscan-1.3.7-r2.apk"],
        d,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let field = |k: &str| {
        v["pkginfo"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|kv| kv[0] == k)
            .map(|kv| kv[1].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(field("depend"), vec!["so:libc.musl-x86_64.so.1"]);
    assert_eq!(field("provides"), vec!["cmd:scanelf=1.3.7-r2"]);
    // As melange writes it: each path followed by a space.
    assert_eq!(field("triggers"), vec!["/usr/bin "]);
    let scripts: Vec<&str> = v["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(scripts, vec![".post-install", ".trigger"]);
}

#[test]
fn broken_recipes_fail_precisely_and_leave_no_package() {
    let s = Setup::new();
    let d = s.path();
    let base = fs::read_to_string(d.join("recipe/hello.yaml")).unwrap();
    let attempt = |name: &str, text: String| -> String {
        fs::write(d.join(format!("recipe/{name}.yaml")), text).unwrap();
        let err = fail(&s.build(&format!("recipe/{name}.yaml"), name));
        assert!(
            !d.join(name).join("x86_64/hello-1.0.0-r0.apk").exists(),
            "{name}: package left behind"
        );
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let err = attempt(
        "typo",
        base.replacen(
            "  description: prints a greeting",
            "  descripton: prints a greeting",
            1,
        ),
    );
    assert!(
        err.contains("typo.yaml:8:3") && err.contains("descripton"),
        "{err}"
    );
    let err = attempt(
        "checksum",
        base.replace(
            "e03633e95d22deaf98764ecb879adcd0cf2de60d4baf5658ed6daa58fc7c584c",
            &"0".repeat(64),
        ),
    );
    assert!(
        err.contains("hello-1.0.0.tar.gz") && err.contains("checksum mismatch"),
        "{err}"
    );
    let err = attempt(
        "failing",
        base.replace("runs: make\n", "runs: make no-such-target\n"),
    );
    assert!(err.contains("step `build` failed with exit code"), "{err}");
    // --debug keeps the failed build and says how to enter it.
    let out = apkforge(
        &[
            "package",
            "build",
            "recipe/failing.yaml",
            "--signing-key",
            "test.rsa",
            "--out-dir",
            "dbg",
            "-r",
            "snap",
            "-k",
            "test.rsa.pub",
            "--apk-cache-dir",
            "cache",
            "--debug",
        ],
        d,
    );
    let err = fail(&out);
    assert!(
        err.contains("kept the failed build in") && err.contains("bwrap --bind"),
        "{err}"
    );
    let kept = err
        .lines()
        .find_map(|l| l.split("kept the failed build in ").nth(1))
        .unwrap()
        .trim()
        .to_string();
    assert!(
        Path::new(&kept).join("workspace/config.mk").is_file(),
        "workspace kept at {kept}"
    );
    let _ = fs::remove_dir_all(&kept);
    let err = attempt(
        "missingdep",
        base.replace(
            "      - make\n",
            "      - make\n      - no-such-build-dep\n",
        ),
    );
    assert!(err.contains("no-such-build-dep"), "{err}");
}

#[test]
fn whole_wolfi_corpus_compiles() {
    let fx = fixtures();
    let recipes = fx.join("wolfi-os/recipes");
    let mut files: Vec<PathBuf> = fs::read_dir(&recipes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3393);
    // One recipe through the binary; the whole corpus is compiled by the
    // recipe crate's own test (crates/recipe/tests).
    let out = apkforge(
        &[
            "package",
            "compile",
            files[0].to_str().unwrap(),
            "--arch",
            "x86_64",
            "--pipeline-dir",
            fx.join("wolfi-os/pipelines").to_str().unwrap(),
        ],
        &fx,
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert!(json["package"]["name"].is_string());
}
