//! The built-in pipelines melange has and apkforge added (`go/bump`,
//! `go/covdata`, `llvm/covreport`, `maven/configure-mirror`,
//! `maven/pombump`) and the `autoreconf` fallback of `autoconf/configure`
//! run in a real build. The tools they call come from packages this test
//! makes (`apk pack`): scripts that record how they were called, so the
//! test checks what each pipeline passes them.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{apkforge, fail, ok};
use testsupport::fixtures;

/// Packs `name` holding executable `files` (path, script) into `repo`.
fn stub_package(d: &Path, name: &str, files: &[(&str, &str)]) -> String {
    let root = d.join("stubs").join(name);
    for (path, script) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, script).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let apk = format!("repo/x86_64/{name}-1.0-r0.apk");
    ok(&apkforge(
        &[
            "apk",
            "pack",
            root.to_str().unwrap(),
            "-o",
            &apk,
            "--name",
            name,
            "--version",
            "1.0-r0",
            "--arch",
            "x86_64",
            "--signing-key",
            "k.rsa",
        ],
        d,
    ));
    apk
}

/// A stub that appends its name and arguments to `$HOME/calls`.
fn recorder(tool: &str, extra: &str) -> String {
    format!("#!/bin/sh\necho \"{tool} $*\" >> \"$HOME/calls\"\n{extra}")
}

fn recipe() -> String {
    let fx = fixtures();
    format!(
        r#"package:
  name: piped
  version: 1.0.0
  epoch: 0
  description: exercises built-in pipelines
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
      - autoconf
pipeline:
  - uses: autoconf/configure
    with:
      opts: --enable-piped
  - uses: go/bump
    with:
      deps: golang.org/x/net@v0.30.0 golang.org/x/text@v0.19.0
      modroot: mod
      replaces: example.org/a=example.org/b@v1.0.0
  - uses: maven/pombump
    with:
      dependencies: org.example:lib@1.2
  - uses: maven/configure-mirror
  - uses: go/covdata
  - uses: llvm/covreport
    with:
      object: /usr/bin/llvm-cov
  - runs: |
      mkdir -p ${{{{targets.destdir}}}}/results
      cp calls configured pom.xml .m2/settings.xml ${{{{targets.destdir}}}}/results/
"#,
        key = fx
            .join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
            .display(),
        repo = fx.join("alpine-3.19").display(),
    )
}

#[test]
fn new_pipelines_call_their_tools_as_melanges_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&apkforge(&["keygen", "k", "--bits", "2048"], d));
    fs::create_dir_all(d.join("repo/x86_64")).unwrap();
    let apks = [
        // `autoreconf` makes a configure script that records its options.
        stub_package(
            d,
            "autoconf",
            &[(
                "usr/bin/autoreconf",
                &recorder(
                    "autoreconf",
                    "printf '#!/bin/sh\\necho \"$*\" > configured\\n' > configure\nchmod +x configure\n",
                ),
            )],
        ),
        stub_package(d, "gobump", &[("usr/bin/gobump", &recorder("gobump", ""))]),
        stub_package(d, "git", &[("usr/bin/git", &recorder("git", ""))]),
        stub_package(
            d,
            "pombump",
            &[(
                "usr/bin/pombump",
                &recorder("pombump", "sed 's/1.0/1.2/' \"$1\"\n"),
            )],
        ),
        stub_package(d, "jq", &[("usr/bin/jq", &recorder("jq", ""))]),
        stub_package(
            d,
            "go",
            &[(
                "usr/bin/go",
                &recorder(
                    "go",
                    "printf 'example.org/x/main.go:3:\\tmain\\t100.0%%\\ntotal:\\t(statements)\\t87.5%%\\n'\n",
                ),
            )],
        ),
        stub_package(
            d,
            "llvm-19",
            &[
                ("usr/bin/llvm-profdata", &recorder("llvm-profdata", "")),
                (
                    "usr/bin/llvm-cov",
                    &recorder(
                        "llvm-cov",
                        "printf 'Filename Regions\\nTOTAL 10 2 80.00%% 5 1 91.3%%\\n'\n",
                    ),
                ),
            ],
        ),
    ];
    let mut args = vec![
        "index",
        "-o",
        "repo/x86_64/APKINDEX.tar.gz",
        "--signing-key",
        "k.rsa",
    ];
    args.extend(apks.iter().map(String::as_str));
    ok(&apkforge(&args, d));
    let src = d.join("src");
    fs::create_dir_all(src.join("mod")).unwrap();
    fs::write(src.join("mod/go.mod"), "module example.org/piped\n").unwrap();
    fs::write(src.join("configure.ac"), "AC_INIT([piped], [1.0])\n").unwrap();
    fs::write(src.join("pom.xml"), "<version>1.0</version>\n").unwrap();
    fs::write(src.join("default_1.profraw"), "").unwrap();
    fs::write(d.join("piped.yaml"), recipe()).unwrap();
    let build = |extra: &[&str]| {
        let mut args = vec![
            "package",
            "build",
            "piped.yaml",
            "--source-dir",
            "src",
            "--apk-cache-dir",
            "cache",
            "-r",
            "repo",
            "-k",
            "k.rsa.pub",
            "--cache-dir",
            "srccache",
        ];
        args.extend_from_slice(extra);
        apkforge(&args, d)
    };
    fs::create_dir(d.join("srccache")).unwrap();
    let out = build(&[]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(&out);
    assert!(log.contains("Statements coverage: 87.5%"), "{log}");
    assert!(log.contains("Statements coverage: 91.3%"), "{log}");
    let results = d.join("unpacked");
    fs::create_dir(&results).unwrap();
    common::untar(&d.join("packages/x86_64/piped-1.0.0-r0.apk"), &results, &[]);
    let r = |f: &str| fs::read_to_string(results.join("results").join(f)).unwrap();
    let calls = r("calls");
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines[0], "autoreconf -vfi");
    assert_eq!(
        lines[1],
        "gobump --packages golang.org/x/net@v0.30.0 golang.org/x/text@v0.19.0 \
         --replaces example.org/a=example.org/b@v1.0.0 --tidy=true --show-diff=false \
         --go-version= --compat= --work=false"
    );
    assert_eq!(
        lines[2],
        "pombump pom.xml --dependencies org.example:lib@1.2"
    );
    assert_eq!(lines[3], "go tool covdata func -i /home/build");
    assert_eq!(
        lines[4],
        "llvm-profdata merge --sparse default_1.profraw --output default.profdata"
    );
    assert!(
        lines[5].starts_with("llvm-cov report --ignore-filename-regex="),
        "{calls}"
    );
    assert!(
        lines[5].contains("--object /usr/bin/llvm-cov --summary-only"),
        "{calls}"
    );
    assert!(
        r("configured").contains("--prefix=/usr") && r("configured").contains("--enable-piped")
    );
    assert_eq!(r("pom.xml"), "<version>1.2</version>\n");
    assert!(r("settings.xml").contains("maven-central.storage-download.googleapis.com"));
    // The Maven repository lives in the source cache.
    assert!(d.join("srccache/m2repository").is_dir());

    // Without autoreconf in the environment, the missing configure script
    // is reported as such.
    let text = recipe().replace(
        "  - uses: autoconf/configure\n",
        "  - uses: autoconf/configure\n    environment:\n      PATH: /bin:/usr/sbin:/sbin\n",
    );
    fs::write(d.join("piped.yaml"), text).unwrap();
    let err = fail(&build(&["--out-dir", "second"]));
    assert!(
        err.contains("./configure is missing and autoreconf is not installed"),
        "{err}"
    );
}
