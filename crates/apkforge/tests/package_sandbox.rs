//! The sandbox behaves as melange's: steps run as the build user (or
//! `run-as`) with melange's default capabilities and the recipe's
//! `capabilities`, within `package.timeout`; and melange's `build` flags
//! that change the result (`--build-option`, `--vars-file`, `--env-file`,
//! `--generate-index`, `-i`).

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testsupport::fixtures;

fn recipe(name: &str, extra: &str, pipeline: &str) -> String {
    let fx = fixtures();
    format!(
        "package:\n  name: {name}\n  version: 1.0.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\n{extra}environment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\n  environment:\n    GREETING: recipe\npipeline:\n{pipeline}",
        fx = fx.display()
    )
}

fn build(dir: &Path, recipe: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "package",
        "build",
        recipe,
        "--out-dir",
        out,
        "--apk-cache-dir",
        "apkcache",
    ];
    args.extend_from_slice(extra);
    apkforge(&args, dir)
}

const REPORT: &str = "  - runs: |\n      d=${{targets.destdir}}/usr/share/report\n      mkdir -p $d\n      id -u > $d/uid\n      id -g > $d/gid\n      grep CapEff /proc/self/status | cut -f2 > $d/caps\n      echo \"$FROM_ENV_FILE $GREETING ${{vars.who}} ${{vars.tone}}\" > $d/vars\n      touch $d/owned && chown 65532:65532 $d/owned && stat -c %u:%g $d/owned > $d/owner\n";

fn report(dir: &Path, apk: &str) -> Vec<String> {
    let unpacked = dir.join(format!("unpacked-{}", apk.replace('/', "_")));
    fs::create_dir_all(&unpacked).unwrap();
    let names = ["uid", "gid", "caps", "vars", "owner"];
    let members: Vec<String> = names
        .iter()
        .map(|n| format!("usr/share/report/{n}"))
        .collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    common::untar(&dir.join(apk), &unpacked, &members);
    members
        .iter()
        .map(|m| {
            fs::read_to_string(unpacked.join(m))
                .unwrap()
                .trim()
                .to_string()
        })
        .collect()
}

#[test]
fn steps_run_as_the_build_user_with_melanges_capabilities_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("recipe")).unwrap();
    let extra = "capabilities:\n  add:\n    - CAP_SYS_ADMIN\n  drop:\n    - CAP_NET_RAW\nvars:\n  who: nobody\n  tone: calm\noptions:\n  loud:\n    vars:\n      tone: loud\n";
    fs::write(
        d.join("recipe/report.yaml"),
        recipe("report", extra, REPORT),
    )
    .unwrap();
    fs::write(d.join("vars.yaml"), "who: file\n").unwrap();
    fs::write(
        d.join("build.env"),
        "# comment\nexport FROM_ENV_FILE=yes\nGREETING=\"from env file\"\n",
    )
    .unwrap();
    ok(&build(
        d,
        "recipe/report.yaml",
        "out",
        &[
            "--build-option",
            "loud",
            "--vars-file",
            "vars.yaml",
            "--env-file",
            "build.env",
            "--generate-index=false",
        ],
    ));
    assert_eq!(
        report(d, "out/x86_64/report-1.0.0-r0.apk"),
        [
            "1000",
            "1000",
            // Docker's default set, plus CAP_SYS_ADMIN, minus CAP_NET_RAW.
            "00000000a82405fb",
            "yes recipe file loud",
            "65532:65532",
        ]
    );
    assert!(!d.join("out/x86_64/APKINDEX.tar.gz").exists());

    // run-as root; the default capabilities.
    let extra = "vars:\n  who: root\n  tone: plain\n";
    let root = recipe("asroot", extra, REPORT).replace(
        "  environment:\n    GREETING: recipe\n",
        "  environment:\n    GREETING: recipe\n  accounts:\n    run-as: root\n",
    );
    fs::write(d.join("recipe/asroot.yaml"), root).unwrap();
    ok(&build(d, "recipe/asroot.yaml", "out", &[]));
    assert_eq!(
        report(d, "out/x86_64/asroot-1.0.0-r0.apk"),
        [
            "0",
            "0",
            "00000000a80425fb",
            "recipe root plain",
            "65532:65532"
        ]
    );
    assert!(d.join("out/x86_64/APKINDEX.tar.gz").is_file());
}

/// Every file of `out/x86_64` with its bytes.
fn repository(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir.join("out/x86_64"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = if e.file_type().unwrap().is_file() {
                fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_step_past_the_timeout_and_an_unknown_option_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("recipe")).unwrap();
    // A repository with a package and its index already in it: failed
    // builds must leave it exactly as it was (no package, no temp file, the
    // index untouched).
    fs::write(
        d.join("recipe/good.yaml"),
        recipe(
            "good",
            "",
            "  - runs: mkdir -p ${{targets.destdir}}/usr/share/good\n",
        ),
    )
    .unwrap();
    ok(&build(d, "recipe/good.yaml", "out", &[]));
    let before = repository(d);
    let names: Vec<&str> = before
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names, ["APKINDEX.tar.gz", "good-1.0.0-r0.apk"]);

    // A step that outlives the timeout, with a subpackage that would have
    // been written after it.
    let slow = recipe(
        "slow",
        "",
        "  - runs: mkdir -p ${{targets.destdir}}/usr/share/slow\n  - runs: echo started; sleep 60\n",
    )
    .replace("  epoch: 0\n", "  epoch: 0\n  timeout: 3s\n")
        + "subpackages:\n  - name: slow-doc\n    pipeline:\n      - runs: mkdir -p ${{targets.contextdir}}/usr/share/doc\n";
    fs::write(d.join("recipe/slow.yaml"), slow).unwrap();
    let started = Instant::now();
    let err = fail(&build(d, "recipe/slow.yaml", "out", &[]));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        err.contains(
            "step `echo started; sleep 60` was stopped: the build exceeded its timeout of 3s"
        ),
        "{err}"
    );
    assert_eq!(repository(d), before);
    // --timeout replaces the recipe's.
    let err = fail(&build(d, "recipe/slow.yaml", "out", &["--timeout", "1s"]));
    assert!(err.contains("timeout of 1s"), "{err}");
    assert_eq!(repository(d), before);

    fs::write(
        d.join("recipe/opts.yaml"),
        recipe(
            "opts",
            "options:\n  loud:\n    vars:\n      tone: loud\n",
            "  - runs: true\n",
        ),
    )
    .unwrap();
    let err = fail(&build(
        d,
        "recipe/opts.yaml",
        "out",
        &["--build-option", "quiet"],
    ));
    assert!(
        err.contains("build option `quiet` is not defined by recipe/opts.yaml (it defines: loud)"),
        "{err}"
    );
    assert_eq!(repository(d), before);
    // Into a fresh output directory: not even the directory is made.
    fail(&build(
        d,
        "recipe/opts.yaml",
        "fresh",
        &["--build-option", "quiet"],
    ));
    assert!(!d.join("fresh").exists());

    let err = fail(&build(d, "recipe/opts.yaml", "out", &["--timeout", "soon"]));
    assert!(err.contains("--timeout `soon` is not a duration"), "{err}");
    assert_eq!(repository(d), before);
}

#[test]
fn interactive_opens_a_shell_in_the_failed_steps_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir(d.join("recipe")).unwrap();
    fs::write(
        d.join("recipe/broken.yaml"),
        recipe(
            "broken",
            "",
            "  - working-directory: src\n    runs: |\n      echo made > made.txt\n      false\n",
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args([
            "package",
            "build",
            "recipe/broken.yaml",
            "--out-dir",
            "out",
            "--apk-cache-dir",
            "apkcache",
            "-i",
        ])
        .current_dir(d)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo \"inside $(id -u) $(pwd) $(cat made.txt)\"\nexit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("inside 1000 /home/build/src made"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_package_sbom_is_never_written_through_a_link_the_steps_made() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("victim.txt"), "keep").unwrap();
    fs::create_dir(d.join("hostdir")).unwrap();
    let cases = [
        (
            format!(
                "  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/var/lib/db/sbom\n      ln -s {} ${{{{targets.destdir}}}}/var/lib/db/sbom/esc-1.0.0-r0.spdx.json\n",
                d.join("victim.txt").display()
            ),
            "var/lib/db/sbom/esc-1.0.0-r0.spdx.json` in the package is a symbolic link",
        ),
        (
            format!(
                "  - runs: |\n      mkdir -p ${{{{targets.destdir}}}}/var/lib/db\n      ln -s {} ${{{{targets.destdir}}}}/var/lib/db/sbom\n",
                d.join("hostdir").display()
            ),
            "var/lib/db/sbom` in the package is a symbolic link",
        ),
    ];
    for (pipeline, want) in cases {
        fs::write(d.join("esc.yaml"), recipe("esc", "", &pipeline)).unwrap();
        let err = fail(&build(d, "esc.yaml", "out", &[]));
        assert!(err.contains(want), "{err}");
        assert_eq!(fs::read_to_string(d.join("victim.txt")).unwrap(), "keep");
        assert_eq!(fs::read_dir(d.join("hostdir")).unwrap().count(), 0);
        assert!(!d.join("out/x86_64/esc-1.0.0-r0.apk").exists());
    }
}

#[test]
fn build_logs_given_as_fifos_are_refused_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(
        d.join("good.yaml"),
        recipe(
            "good",
            "",
            "  - runs: mkdir -p ${{targets.destdir}}/usr/share/good\n",
        ),
    )
    .unwrap();
    let fifo = |name: &str| {
        let status = Command::new("mkfifo").arg(d.join(name)).status().unwrap();
        assert!(status.success());
    };
    let is_fifo = |name: &str| {
        use std::os::unix::fs::FileTypeExt;
        fs::symlink_metadata(d.join(name))
            .unwrap()
            .file_type()
            .is_fifo()
    };
    fifo("packages.log");
    let err = fail(&build(d, "good.yaml", "out", &["--create-build-log"]));
    assert!(
        err.contains("packages.log") && err.contains("FIFO"),
        "{err}"
    );
    assert!(is_fifo("packages.log"));
    fifo("deps.x86_64");
    let err = fail(&build(d, "good.yaml", "out", &["--dependency-log", "deps"]));
    assert!(err.contains("deps.x86_64") && err.contains("FIFO"), "{err}");
    assert!(is_fifo("deps.x86_64"));
}

#[test]
fn pkginfo_triggers_line_is_written_as_melange_writes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(
        d.join("trig.yaml"),
        recipe(
            "trig",
            "  scriptlets:\n    trigger:\n      paths:\n        - /usr/lib\n        - /usr/share/trig\n      script: |\n        #!/bin/sh\n        true\n",
            "  - runs: mkdir -p ${{targets.destdir}}/usr/share/trig\n",
        ),
    )
    .unwrap();
    ok(&build(d, "trig.yaml", "out", &[]));
    let out = Command::new("tar")
        .args(["-xzOf", "out/x86_64/trig-1.0.0-r0.apk", ".PKGINFO"])
        .current_dir(d)
        .output()
        .unwrap();
    let pkginfo = String::from_utf8(out.stdout).unwrap();
    // One line, each path followed by a space.
    assert!(
        pkginfo.contains("\ntriggers = /usr/lib /usr/share/trig \ndatahash = "),
        "{pkginfo}"
    );
}
