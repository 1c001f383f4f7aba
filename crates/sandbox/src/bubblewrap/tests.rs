use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::{Bind, capabilities};

/// A root with busybox as `/bin/sh` and the mount points bwrap needs.
fn busybox_root(root: &Path) {
    for d in ["bin", "proc", "dev", "sys", "tmp", "home/build"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("busybox-static is needed (scripts/test.sh installs it)");
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
}

fn spec(root: Root, ws: &Path, script: &str) -> RunSpec {
    RunSpec {
        root,
        binds: vec![Bind {
            source: ws.to_path_buf(),
            target: "/home/build".into(),
            read_only: false,
        }],
        workdir: "/home/build".into(),
        env: vec![("PATH".into(), "/bin".into()), ("X".into(), "y".into())],
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        uid: 1000,
        gid: 1000,
        ..RunSpec::default()
    }
}

fn run(spec: &RunSpec) -> (Outcome, Vec<String>) {
    let mut lines = Vec::new();
    let outcome = Bubblewrap::default()
        .run(spec, &mut |l| lines.push(l.to_string()))
        .unwrap();
    (outcome, lines)
}

#[test]
fn runs_as_the_build_user_with_default_caps_and_no_network() {
    let root = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    busybox_root(root.path());
    let (outcome, lines) = run(&spec(
        Root::Dir(root.path().to_path_buf()),
        ws.path(),
        "busybox id -u; busybox id -g; echo $X; busybox ip link | busybox grep -c ': '; \
         busybox grep CapEff /proc/self/status; echo out > f; exit 3",
    ));
    assert_eq!(outcome, Outcome::Exited(3));
    assert_eq!(lines[..4], ["1000", "1000", "y", "1"], "{lines:?}");
    // Docker's default set: bits 0-8, 10, 13, 18, 29, 31.
    assert_eq!(lines[4], "CapEff:\t00000000a80425fb", "{lines:?}");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("f")).unwrap(),
        "out\n"
    );
}

#[test]
fn steps_give_files_any_owner_and_capabilities_follow_the_recipe() {
    assert!(
        Bubblewrap::default().privileged,
        "the tests run as root (scripts/test.sh)"
    );
    let root = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    busybox_root(root.path());
    let mut s = spec(
        Root::Dir(root.path().to_path_buf()),
        ws.path(),
        "busybox touch a b; busybox chown 65532:65532 a; busybox chown 0:0 b; \
         busybox grep CapEff /proc/self/status; busybox stat -c %u / ",
    );
    s.capabilities = capabilities(&["CAP_SYS_ADMIN".into()], &["CAP_NET_RAW".into()]).unwrap();
    let (outcome, lines) = run(&s);
    assert!(outcome.success(), "{lines:?}");
    use std::os::unix::fs::MetadataExt;
    let a = std::fs::metadata(ws.path().join("a")).unwrap();
    assert_eq!((a.uid(), a.gid()), (65532, 65532));
    // Root inside is the build user's id outside, and the reverse.
    let b = std::fs::metadata(ws.path().join("b")).unwrap();
    assert_eq!((b.uid(), b.gid()), (1000, 1000));
    assert_eq!(lines[0], "CapEff:\t00000000a82405fb", "{lines:?}");
    assert_eq!(
        lines[1], "1000",
        "host root's files belong to the build user"
    );
    assert_eq!(
        capabilities(&["bogus".into()], &[]).unwrap_err(),
        "bogus".to_string()
    );
}

#[test]
fn a_command_past_its_timeout_is_killed_with_its_children() {
    let root = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    busybox_root(root.path());
    let mut s = spec(
        Root::Dir(root.path().to_path_buf()),
        ws.path(),
        "echo started; busybox sleep 30 & busybox sleep 30",
    );
    s.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let (outcome, lines) = run(&s);
    assert_eq!(outcome, Outcome::TimedOut);
    assert_eq!(lines, ["started"]);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_layered_root_keeps_its_lower_directory_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lower = d.join("lower");
    busybox_root(&lower);
    for x in ["upper", "work", "merged", "ws"] {
        std::fs::create_dir(d.join(x)).unwrap();
    }
    let root = Root::Layered {
        lower: lower.clone(),
        upper: d.join("upper"),
        work: d.join("work"),
        merged: d.join("merged"),
    };
    let (outcome, lines) = run(&spec(
        root.clone(),
        &d.join("ws"),
        "echo new > /new; busybox rm /bin/sh.x 2>/dev/null; busybox cat /new",
    ));
    assert!(outcome.success(), "{lines:?}");
    assert_eq!(lines, ["new"]);
    // A second run sees the first one's writes; the lower dir has none.
    let (_, lines) = run(&spec(root, &d.join("ws"), "busybox cat /new"));
    assert_eq!(lines, ["new"]);
    assert!(!lower.join("new").exists());
    assert!(d.join("upper/new").exists());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(d.join("merged").to_str().unwrap()));
}

/// A `bwrap` that fails as bwrap does where unprivileged user namespaces
/// are blocked (Ubuntu's AppArmor restriction).
fn refusing_bwrap(dir: &Path, message: &str) -> Bubblewrap {
    use std::os::unix::fs::PermissionsExt;
    let program = dir.join("bwrap");
    std::fs::write(
        &program,
        format!("#!/bin/sh\necho '{message}' >&2\nexit 1\n"),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    Bubblewrap {
        program,
        ..Bubblewrap::default()
    }
}

#[test]
fn refused_namespaces_say_why_and_suggest_the_docker_runner() {
    let fake = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    busybox_root(root.path());
    let spec = spec(Root::Dir(root.path().to_path_buf()), ws.path(), "true");
    for (privileged, message) in [
        (true, "bwrap: setting up uid map: Permission denied"),
        (false, "bwrap: setting up uid map: Permission denied"),
        (
            false,
            "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.",
        ),
    ] {
        let bwrap = Bubblewrap {
            privileged,
            ..refusing_bwrap(fake.path(), message)
        };
        let err = bwrap.run(&spec, &mut |_| {}).unwrap_err();
        assert!(matches!(err, SandboxError::Namespaces { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(message), "{text}");
        assert!(text.contains("--runner docker"), "{text}");
    }
    // A step's own failure stays a step's failure.
    let bwrap = Bubblewrap {
        privileged: false,
        ..refusing_bwrap(fake.path(), "make: *** [all] Error 1")
    };
    assert_eq!(bwrap.run(&spec, &mut |_| {}).unwrap(), Outcome::Exited(1));
}
