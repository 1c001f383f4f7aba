//! Errors point at `file:line:column`.

mod common;

use std::path::Path;

use common::{load_in, parse_err, scratch, validate_err};
use image_config::{Config, ConfigError};

#[test]
fn unknown_key_names_its_position() {
    let yaml = "\
contents:
  repositories:
    - https://example.com/os
  pakages:
    - busybox
";
    let err = parse_err(yaml);
    assert!(
        err.starts_with("apko.yaml:4:3: unknown field `pakages`, expected one of "),
        "{err}"
    );
    assert!(err.contains("packages"), "{err}");

    let err = parse_err("contents: {}\nentrypoint:\n  comand: /bin/sh\n");
    assert!(
        err.starts_with("apko.yaml:3:3: unknown field `comand`"),
        "{err}"
    );

    // Top level, and inside list items.
    assert!(
        parse_err("archs: [amd64]\noptions: {}\n")
            .starts_with("apko.yaml:2:1: unknown field `options`")
    );
    let err = parse_err("accounts:\n  users:\n    - username: a\n      uid: 1\n      home: /x\n");
    assert!(
        err.starts_with("apko.yaml:5:7: unknown field `home`"),
        "{err}"
    );
    let err = parse_err("paths:\n  - path: /x\n    type: directory\n    mode: 0o755\n");
    assert!(
        err.starts_with("apko.yaml:4:5: unknown field `mode`"),
        "{err}"
    );
}

#[test]
fn type_errors_name_their_position() {
    let yaml = "\
accounts:
  users:
    - username: nonroot
      uid: abc
";
    let err = parse_err(yaml);
    assert!(err.starts_with("apko.yaml:4:12: "), "{err}");
    assert_eq!(
        err,
        "apko.yaml:4:12: expected a whole number from 0 to 4294967295"
    );

    let err = parse_err("contents:\n  packages: busybox\n");
    assert_eq!(err, "apko.yaml:2:13: expected a list");
    assert_eq!(
        parse_err("accounts: []\n"),
        "apko.yaml:1:11: expected a mapping"
    );
    let err = parse_err("cmd: [a, b]\n");
    assert!(err.starts_with("apko.yaml:1:6: "), "{err}");
    let err = parse_err("paths:\n  - path: /x\n    type: directory\n    recursive: maybe\n");
    assert_eq!(err, "apko.yaml:4:16: expected true or false");
    let err = parse_err("environment:\n  A: [1]\n");
    assert!(err.starts_with("apko.yaml:2:6: "), "{err}");
}

#[test]
fn invalid_values_name_their_position() {
    let err = parse_err("contents:\n  packages:\n    - busybox\n    - foo>=\n");
    assert_eq!(
        err,
        "apko.yaml:4:7: invalid package `foo>=`: dependency `foo>=` has an operator but no version"
    );
    let err = parse_err("contents:\n  packages:\n    - glibc=not a version\n");
    assert!(
        err.starts_with("apko.yaml:3:7: invalid package `glibc=not a version`"),
        "{err}"
    );
    let err = parse_err("contents:\n  packages:\n    - glibc=2.x.y\n");
    assert!(
        err.starts_with("apko.yaml:3:7: invalid package `glibc=2.x.y`"),
        "{err}"
    );

    let err = parse_err("archs:\n  - amd64\n  - sparc\n");
    assert!(
        err.starts_with("apko.yaml:3:5: unknown architecture `sparc`"),
        "{err}"
    );

    let err = parse_err("paths:\n  - path: /x\n    type: fifo\n");
    assert!(err.starts_with("apko.yaml:3:11: "), "{err}");
    assert!(err.contains("fifo"), "{err}");

    let err = parse_err("entrypoint:\n  type: systemd\n");
    assert_eq!(
        err,
        "apko.yaml:2:9: unsupported entrypoint type `systemd`, the only type is `service-bundle`"
    );
    let err = parse_err("format: squashfs\n");
    assert_eq!(
        err,
        "apko.yaml:1:9: invalid layer format \"squashfs\" (must be \"tar\" or \"erofs\")"
    );
    let err = parse_err("layering:\n  strategy: size\n");
    assert!(
        err.starts_with("apko.yaml:2:13: unrecognized layering strategy \"size\""),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_their_position() {
    let err = parse_err("contents:\n  packages: [a, b\n");
    assert!(err.starts_with("apko.yaml:2:"), "{err}");
    let err = parse_err("cmd: x\ncmd: y\n");
    assert!(err.starts_with("apko.yaml:2:1: "), "{err}");
    assert!(err.contains("duplicate"), "{err}");
    let err = parse_err("");
    assert_eq!(err, "apko.yaml: the configuration is empty");
    let err = parse_err("# nothing but a comment\n");
    assert_eq!(err, "apko.yaml: the configuration is empty");
    assert_eq!(
        parse_err("just a string\n"),
        "apko.yaml:1:1: expected a mapping"
    );
    assert_eq!(parse_err("- a\n- b\n"), "apko.yaml:1:1: expected a mapping");

    // A byte-order mark and a trailing document marker are fine.
    let c = Config::parse_str("\u{feff}cmd: x\n---\n", "apko.yaml").unwrap();
    assert_eq!(c.cmd, "x");
    // Anchors, aliases and merge keys work as in yaml.v3.
    let c = Config::parse_str(
        "environment: &env {A: '1'}\nannotations:\n  <<: *env\n  B: '2'\n",
        "apko.yaml",
    )
    .unwrap();
    assert_eq!(c.annotations.len(), 2);
}

#[test]
fn validation_errors_name_the_item() {
    let err = validate_err(
        "accounts:\n  users:\n    - username: a\n      uid: 1\n    - username: root2\n      uid: 0\n",
    );
    assert_eq!(
        err,
        "apko.yaml:5:7: configured user `root2` has UID 0 (to run as root, use `run-as: 0`)"
    );
    let err = validate_err("accounts:\n  users:\n    - uid: 5\n");
    assert_eq!(
        err,
        "apko.yaml:3:7: configured user with UID 5 has no configured user name"
    );
    let err = validate_err("accounts:\n  groups:\n    - gid: 5\n");
    assert_eq!(
        err,
        "apko.yaml:3:7: configured group with GID 5 has no configured group name"
    );

    let err = validate_err(
        "certificates:\n  additional:\n    - name: ok\n      content: x\n    - name: ../etc/passwd\n      content: x\n",
    );
    assert_eq!(
        err,
        "apko.yaml:5:7: configured additional certificate \"../etc/passwd\" has an invalid name, it must match ^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$"
    );
    let err = validate_err("certificates:\n  additional:\n    - content: x\n");
    assert_eq!(
        err,
        "apko.yaml:3:7: configured additional certificate has no name"
    );

    let keyring = "contents:\n  runtime_keyring:\n    - name: a.rsa.pub\n      content: x\n    - name: a.rsa.pub\n      content: y\n";
    assert_eq!(
        validate_err(keyring),
        "apko.yaml:5:7: runtime_keyring entry \"a.rsa.pub\" is a duplicate"
    );
    assert_eq!(
        validate_err("contents:\n  runtime_keyring:\n    - name: a.rsa.pub\n"),
        "apko.yaml:3:7: runtime_keyring entry \"a.rsa.pub\" has no content"
    );
    assert_eq!(
        validate_err("contents:\n  runtime_keyring:\n    - content: x\n"),
        "apko.yaml:3:7: configured runtime_keyring entry has no name"
    );
    assert_eq!(
        validate_err("contents:\n  runtime_keyring:\n    - name: .hidden\n      content: x\n"),
        "apko.yaml:3:7: runtime_keyring entry \".hidden\" has an invalid name, it must match ^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$"
    );

    assert_eq!(
        validate_err("format: erofs\nlayering: {}\n"),
        "layering is not supported with format \"erofs\" yet (use one or the other)"
    );
    assert!(validate_err("layering:\n  budget: 3\n").starts_with("unrecognized layering strategy"));
    assert_eq!(
        validate_err("entrypoint:\n  command: /bin/sh -c 'echo\n"),
        "unable to parse entrypoint command: EOF found when expecting closing quote"
    );

    // Packages added after parsing (--package-append) are checked too.
    let mut config = Config::parse_str("contents:\n  packages: [busybox]\n", "apko.yaml").unwrap();
    config.contents.packages.push("bad atom".into());
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("invalid package `bad atom`")
    );
}

#[test]
fn base_image_allows_only_contents_archs_include() {
    let yaml = "contents:\n  baseimage:\n    image: ./base\n    apkindex: ./idx\ncmd: /bin/sh\n";
    let err = Config::parse_str(yaml, "top.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "top.yaml: when using base image, the only supported image specification are: contents, archs and includes"
    );
    assert!(
        Config::parse_str(
            "contents:\n  baseimage:\n    image: ./b\narchs: [amd64]\n",
            "t.yaml"
        )
        .is_ok()
    );
}

#[test]
fn errors_in_included_files_name_them() {
    let dir = scratch(&[
        ("top.yaml", "include: base/base.yaml\ncmd: x\n"),
        (
            "base/base.yaml",
            "contents:\n  packages:\n    - ok\n  keyrings: []\n",
        ),
    ]);
    let err = load_in(dir.path(), "top.yaml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("base/base.yaml:4:3: unknown field `keyrings`"),
        "{err}"
    );
    assert_eq!(err.path(), Some(Path::new("base/base.yaml")));
    let at = err.location().unwrap();
    assert_eq!((at.line, at.column), (4, 3));
}

#[test]
fn missing_files() {
    let dir = scratch(&[("top.yaml", "cmd: x\ninclude: nowhere.yaml\n")]);
    let err = load_in(dir.path(), "top.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "top.yaml:2:10: nowhere.yaml: not found (looked in: nowhere.yaml)"
    );
    let err = load_in(dir.path(), "absent.yaml").unwrap_err();
    assert!(
        matches!(err, ConfigError::NotFound { at: None, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "absent.yaml: not found (looked in: absent.yaml)"
    );
}

#[test]
fn include_cycles_are_reported() {
    let dir = scratch(&[
        ("a.yaml", "include: b.yaml\n"),
        ("b.yaml", "include: c.yaml\n"),
        ("c.yaml", "include: a.yaml\ncmd: x\n"),
        ("self.yaml", "include: self.yaml\n"),
    ]);
    let err = load_in(dir.path(), "a.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "include cycle: a.yaml, b.yaml, c.yaml, a.yaml"
    );
    let err = load_in(dir.path(), "self.yaml").unwrap_err();
    assert_eq!(err.to_string(), "include cycle: self.yaml, self.yaml");
}
