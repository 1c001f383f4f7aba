//! `include:` merging, the checksum, and yaml.v3's value rules.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::{load_in, scratch};
use image_config::{
    Arch, Config, Entrypoint, LayerFormat, Layering, LayeringStrategy, LoadOptions, PathType,
};
use sha2::{Digest, Sha256};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const BASE: &str = "\
contents:
  keyring: [base-key]
  build_repositories: [base-build]
  runtime_repositories: [base-runtime]
  repositories: [https://base.example/os/]
  runtime_keyring:
    - name: base.rsa.pub
      content: k
  packages: [base-pkg]
entrypoint:
  command: /base/entry
cmd: base-cmd
stop-signal: SIGBASE
work-dir: /base
accounts:
  run-as: base-user
  users:
    - username: base-user
      uid: 1000
  groups:
    - groupname: base-group
      gid: 1000
archs: [x86_64]
environment:
  EXTRA: base
  VAR: base
paths:
  - path: /base
    type: directory
vcs-url: https://base.example/repo@abc
annotations:
  org.extra: base
  org.blah: base
volumes: [/base-vol]
layering:
  strategy: origin
  budget: 3
format: tar
certificates:
  providers: [base-certs]
";

#[test]
fn target_wins_lists_concatenate_maps_union() {
    let top = "\
include: base.yaml
contents:
  keyring: [top-key]
  repositories: [https://top.example/os//]
  packages: [top-pkg]
cmd: top-cmd
accounts:
  users:
    - username: top-user
      uid: 1001
archs: [arm64, aarch64]
environment:
  VAR: top
paths:
  - path: /top
    type: empty-file
annotations:
  org.blah: top
volumes: [/top-vol]
";
    let dir = scratch(&[("base.yaml", BASE), ("top.yaml", top)]);
    let c = load_in(dir.path(), "top.yaml").unwrap().config;

    // Lists: base first.
    assert_eq!(c.contents.keyring, ["base-key", "top-key"]);
    assert_eq!(c.contents.build_repositories, ["base-build"]);
    assert_eq!(c.contents.runtime_repositories, ["base-runtime"]);
    // Trailing slashes trimmed, in every file.
    assert_eq!(
        c.contents.repositories,
        ["https://base.example/os", "https://top.example/os"]
    );
    assert_eq!(c.contents.runtime_keyring[0].name, "base.rsa.pub");
    assert_eq!(c.contents.packages, ["base-pkg", "top-pkg"]);
    let users: Vec<&str> = c
        .accounts
        .users
        .iter()
        .map(|u| u.username.as_str())
        .collect();
    assert_eq!(users, ["base-user", "top-user"]);
    assert_eq!(c.accounts.groups[0].groupname, "base-group");
    let paths: Vec<&str> = c.paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["/base", "/top"]);
    assert_eq!(c.volumes, ["/base-vol", "/top-vol"]);

    // Scalars: top wins where set.
    assert_eq!(c.cmd, "top-cmd");
    assert_eq!(c.stop_signal, "SIGBASE");
    assert_eq!(c.work_dir, "/base");
    assert_eq!(c.accounts.run_as, "base-user");
    assert_eq!(c.entrypoint.command, "/base/entry");
    // archs is one value: the top's list, as written (not deduplicated).
    assert_eq!(c.archs, [Arch::Aarch64, Arch::Aarch64]);
    assert_eq!(c.effective_archs(&[]), [Arch::Aarch64]);
    assert_eq!(
        c.layering,
        Some(Layering {
            strategy: Some(LayeringStrategy::Origin),
            budget: 3
        })
    );
    assert_eq!(c.format, Some(LayerFormat::Tar));
    assert_eq!(c.certificates.as_ref().unwrap().providers, ["base-certs"]);

    // Maps: union, top wins.
    assert_eq!(c.environment, map(&[("EXTRA", "base"), ("VAR", "top")]));
    assert_eq!(
        c.annotations,
        map(&[("org.blah", "top"), ("org.extra", "base")])
    );

    // Not merged by apko.
    assert_eq!(c.vcs_url, "");
    assert_eq!(c.include, "base.yaml");

    // Items remember which file they came from.
    assert_eq!(
        c.paths[0].origin.pos().unwrap().to_string(),
        "base.yaml:28:5"
    );
    assert_eq!(
        c.paths[1].origin.pos().unwrap().to_string(),
        "top.yaml:15:5"
    );
    assert_eq!(c.paths[1].r#type, PathType::EmptyFile);
}

#[test]
fn base_image_is_inherited_and_restricts_the_includer() {
    let dir = scratch(&[
        (
            "base.yaml",
            "contents:\n  baseimage:\n    image: ./img\n    apkindex: ./idx\n",
        ),
        (
            "top.yaml",
            "include: base.yaml\narchs: [amd64]\ncontents:\n  packages: [a]\n",
        ),
        ("bad.yaml", "include: base.yaml\nwork-dir: /x\n"),
    ]);
    let c = load_in(dir.path(), "top.yaml").unwrap().config;
    let base = c.contents.baseimage.unwrap();
    assert_eq!(
        (base.image.as_str(), base.apkindex.as_str()),
        ("./img", "./idx")
    );
    let err = load_in(dir.path(), "bad.yaml").unwrap_err().to_string();
    assert!(err.starts_with("bad.yaml: when using base image"), "{err}");
}

#[test]
fn entrypoint_is_taken_whole() {
    let dir = scratch(&[
        (
            "base.yaml",
            "entrypoint:\n  command: /base\n  services:\n    a: x\n",
        ),
        (
            "top.yaml",
            "include: base.yaml\nentrypoint:\n  shell-fragment: echo hi\n",
        ),
        ("empty.yaml", "include: base.yaml\nentrypoint: {}\n"),
    ]);
    let c = load_in(dir.path(), "top.yaml").unwrap().config;
    assert_eq!(
        c.entrypoint,
        Entrypoint {
            shell_fragment: "echo hi".into(),
            ..Entrypoint::default()
        }
    );
    let c = load_in(dir.path(), "empty.yaml").unwrap().config;
    assert_eq!(c.entrypoint.command, "/base");
    assert_eq!(c.entrypoint.services, map(&[("a", "x")]));
}

/// apko's TestMergeInto "conflict resolution" case, through `merge_base`.
#[test]
fn merge_base_like_apko_test() {
    let mut source = Config::parse_str(
        "contents: {keyring: [foo], build_repositories: [foo], repositories: [foo], packages: [foo]}
cmd: foo
stop-signal: foo
work-dir: foo
accounts:
  run-as: foo
  users: [{username: foo, uid: 1000, gid: 1000, homedir: /home/foo}]
environment: {EXTRA: foo, VAR: foo}
annotations: {org.extra: foo, org.blah: foo}
",
        "source.yaml",
    )
    .unwrap();
    let mut target = Config::parse_str(
        "cmd: bar
stop-signal: bar
work-dir: bar
accounts:
  run-as: bar
  users: [{username: bar, uid: 1001, gid: 1001, homedir: /home/bar}]
environment: {VAR: bar}
annotations: {org.blah: bar}
",
        "target.yaml",
    )
    .unwrap();
    target.merge_base(source.clone());
    assert_eq!(target.contents.keyring, ["foo"]);
    assert_eq!(target.contents.packages, ["foo"]);
    assert_eq!(
        (target.cmd.as_str(), target.stop_signal.as_str()),
        ("bar", "bar")
    );
    assert_eq!(target.work_dir, "bar");
    assert_eq!(target.accounts.run_as, "bar");
    assert_eq!(target.accounts.users.len(), 2);
    assert_eq!(target.accounts.users[0].username, "foo");
    assert_eq!(target.accounts.users[0].gid, Some(1000));
    assert_eq!(target.environment, map(&[("EXTRA", "foo"), ("VAR", "bar")]));
    assert_eq!(
        target.annotations,
        map(&[("org.blah", "bar"), ("org.extra", "foo")])
    );

    // Merging into an empty config copies the source.
    let mut empty = Config::default();
    source.include = String::new();
    empty.merge_base(source.clone());
    assert_eq!(empty, source);
}

#[test]
fn checksum_covers_every_file_in_reading_order() {
    let top = "include: base.yaml\r\ncmd: x\r\n";
    let base = "cmd: y\n";
    let dir = scratch(&[("top.yaml", top), ("base.yaml", base)]);
    let loaded = load_in(dir.path(), "top.yaml").unwrap();
    let mut hasher = Sha256::new();
    hasher.update(top.as_bytes());
    hasher.update(base.as_bytes());
    let want = format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
    );
    assert_eq!(loaded.checksum, want);
    assert_eq!(
        loaded.files,
        [std::path::PathBuf::from("top.yaml"), "base.yaml".into()]
    );

    let single = scratch(&[("a.yaml", base)]);
    let loaded = load_in(single.path(), "a.yaml").unwrap();
    let digest = Sha256::digest(base.as_bytes());
    assert_eq!(
        loaded.checksum,
        format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    );
}

#[test]
fn include_paths_are_searched_in_order() {
    let dir = scratch(&[
        ("first/base.yaml", "cmd: first\n"),
        ("second/base.yaml", "cmd: second\n"),
        ("second/only.yaml", "cmd: only\n"),
        ("top.yaml", "include: base.yaml\n"),
        ("top2.yaml", "include: only.yaml\n"),
        ("base.yaml", "cmd: cwd\n"),
    ]);
    let opts = |paths: &[&str]| LoadOptions {
        cwd: Some(dir.path().to_path_buf()),
        include_paths: paths.iter().map(Into::into).collect(),
    };
    // The working directory comes first.
    let c = Config::load("top.yaml", &opts(&["first", "second"])).unwrap();
    assert_eq!(c.config.cmd, "cwd");
    std::fs::remove_file(dir.path().join("base.yaml")).unwrap();
    let c = Config::load("top.yaml", &opts(&["first", "second"])).unwrap();
    assert_eq!(c.config.cmd, "first");
    assert_eq!(c.files[1], std::path::PathBuf::from("first/base.yaml"));
    let c = Config::load("top2.yaml", &opts(&["first", "second"])).unwrap();
    assert_eq!(c.config.cmd, "only");
    let err = Config::load("top2.yaml", &opts(&["first"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "top2.yaml:1:10: only.yaml: not found (looked in: only.yaml, first/only.yaml)"
    );
}

#[test]
fn values_read_like_yaml_v3() {
    let yaml = "\
contents:
  packages:
cmd:
environment:
accounts:
  users:
    - username: a
      uid: 0x10
      gid:
paths:
  - {path: /a, type: directory, permissions: 0o755}
  - {path: /b, type: directory, permissions: 0755}
  - {path: /c, type: directory, permissions: 493}
  - {path: /d, type: directory, permissions: 755}
  - {path: /e, type: permissions, permissions: 04755, recursive: yes}
  - {path: /f, type: symlink, source: /a, uid: 0}
layering: {}
archs: [all]
";
    let c = Config::parse_str(yaml, "apko.yaml").unwrap();
    assert!(c.contents.packages.is_empty());
    assert_eq!(c.cmd, "");
    assert!(c.environment.is_empty());
    assert_eq!(c.accounts.users[0].uid, 16);
    assert_eq!(c.accounts.users[0].gid, None);
    let perms: Vec<u32> = c.paths.iter().map(|p| p.permissions).collect();
    assert_eq!(perms, [0o755, 0o755, 0o755, 755, 0o4755, 0]);
    assert!(c.paths[4].recursive);
    assert_eq!((c.paths[5].uid, c.paths[5].gid), (Some(0), None));
    assert_eq!(c.layering, Some(Layering::default()));
    assert_eq!(c.archs, Arch::ALL);

    // `archs` keeps apk and OCI spellings apart only until parsed.
    let c = Config::parse_str("archs: [x86, 386, armhf, arm/v7, loongarch64]\n", "a.yaml").unwrap();
    assert_eq!(
        c.archs,
        [
            Arch::X86,
            Arch::X86,
            Arch::ArmV6,
            Arch::ArmV7,
            Arch::Loongarch64
        ]
    );
}
