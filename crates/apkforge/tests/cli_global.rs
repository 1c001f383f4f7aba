//! `show-packages` formats as apko prints them, the global flags
//! (`--log-level`, `-C/--workdir`) and shell completion.

mod common;

use common::{fail, ok};

use std::process::Command;

use testsupport::fixtures;

fn apkforge(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn show_packages_formats_as_apko() {
    let cli = fixtures().join("apko-testdata/internal/cli");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache").display().to_string();
    let show = |extra: &[&str]| {
        let mut args = vec![
            "image",
            "show-packages",
            "testdata/apko.yaml",
            "--cache-dir",
            &cache,
        ];
        args.extend_from_slice(extra);
        apkforge(&args, &cli)
    };
    let out = ok(&show(&["--arch", "x86_64"]));
    assert_eq!(out, "pretend-baselayout 1.0.0-r0\nreplayout 1.0.0-r0\n");
    let out = ok(&show(&["--arch", "x86_64", "--format", "packagelock"]));
    assert_eq!(out, "- pretend-baselayout=1.0.0-r0\n- replayout=1.0.0-r0\n");
    let out = ok(&show(&[
        "--arch",
        "x86_64",
        "--format",
        "name-version-source",
    ]));
    assert!(
        out.contains("replayout 1.0.0-r0 ./testdata/packages/x86_64/replayout-1.0.0-r0.apk\n"),
        "{out}"
    );
    // Go template syntax, with and without spaces.
    let out = ok(&show(&[
        "--arch",
        "aarch64",
        "--format",
        "{{.Name}}|{{ .Version }}|{{ .Arch}}",
    ]));
    assert!(out.contains("replayout|1.0.0-r0|aarch64\n"), "{out}");
    let err = fail(&show(&["--format", "{{ .Nmae }}"]));
    assert!(err.contains("unknown field `.Nmae`"), "{err}");
    // Several architectures: a heading for each on stderr.
    let both = show(&["--format", "packagelock"]);
    let stdout = ok(&both);
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(
        stderr.contains("packages for x86_64") && stderr.contains("packages for aarch64"),
        "{stderr}"
    );
}

#[test]
fn workdir_log_level_and_completion() {
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layout");
    std::fs::create_dir(&out).unwrap();
    // -C: the config and its relative repository resolve from there.
    let build = |level: &str| {
        Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .arg("-C")
            .arg(fx.join("apko-testdata/internal/cli"))
            .args([
                "image",
                "build",
                "testdata/apko.yaml",
                "t:1",
                "--arch",
                "x86_64",
            ])
            .arg(&out)
            .arg("--cache-dir")
            .arg(tmp.path().join("cache"))
            .args(["--sbom=false", "--log-level", level])
            .output()
            .unwrap()
    };
    let info = build("info");
    ok(&info);
    assert!(String::from_utf8_lossy(&info.stderr).contains("==> resolving packages"));
    let quiet = build("warn");
    ok(&quiet);
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let err = fail(&build("loud"));
    assert!(err.contains("loud") && err.contains("debug"), "{err}");
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&apkforge(&["completion", shell], tmp.path()));
        assert!(script.contains("show-packages"), "{shell}: {script}");
    }
    // bash accepts the script.
    let script = ok(&apkforge(&["completion", "bash"], tmp.path()));
    std::fs::write(tmp.path().join("c.bash"), script).unwrap();
    common::tool(
        Command::new("bash")
            .arg("-c")
            .arg(". ./c.bash && complete -p apkforge")
            .current_dir(tmp.path()),
    );
}

/// A reader that goes away (`apkforge ... | head -1`) ends the command
/// quietly with the status of a SIGPIPE death (141), as apko and coreutils
/// end: no panic message, no error text.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let repo = fixtures().join("alpine-3.19");
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.yaml");
    std::fs::write(
        &cfg,
        format!(
            "contents:\n  keyring: [{}]\n  repositories: [{}]\n  packages: [alpine-base]\narchs: [x86_64]\n",
            fixtures()
                .join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
                .display(),
            repo.display()
        ),
    )
    .unwrap();
    let apk = repo.join("x86_64/busybox-1.36.1-r15.apk");
    for args in [
        vec!["apk", "inspect", apk.to_str().unwrap()],
        vec![
            "image",
            "show-packages",
            cfg.to_str().unwrap(),
            "--cache-dir",
            "cache",
        ],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args(&args)
            .current_dir(tmp.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before the command writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
}
