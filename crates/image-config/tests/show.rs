//! `show-config` output, and parse(to_yaml(c)) == c.

mod common;

use std::fs;
use std::path::PathBuf;

use common::fixtures;
use image_config::{Config, LoadOptions};

fn all_fixture_configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "apko-examples",
        "apko-testdata/internal/cli/testdata",
        "apko-testdata/pkg/build/types/testdata",
        "apko-testdata/pkg/build/types/testdata/overlay",
    ] {
        for entry in fs::read_dir(fixtures().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".yaml") && !name.ends_with(".melange.yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn round_trip(config: &Config, what: &str) {
    // apko's show-config rejects repositories of more than one word unless
    // the first is an `@tag` (the overlay test data has "secret repository").
    let odd = config
        .contents
        .repositories
        .iter()
        .chain(&config.contents.build_repositories)
        .any(|r| r.contains(' ') && !r.starts_with('@'));
    if odd {
        let err = config.to_yaml().unwrap_err().to_string();
        assert!(
            err.contains("invalid tag format in repository"),
            "{what}: {err}"
        );
        return;
    }
    let yaml = config.to_yaml().unwrap_or_else(|e| panic!("{what}: {e}"));
    let back =
        Config::parse_str(&yaml, "shown.yaml").unwrap_or_else(|e| panic!("{what}: {e}\n{yaml}"));
    assert_eq!(&back, config, "{what}:\n{yaml}");
    // And printing is stable.
    assert_eq!(back.to_yaml().unwrap(), yaml, "{what}");
}

#[test]
fn every_fixture_round_trips() {
    let files = all_fixture_configs();
    assert!(files.len() >= 30, "{}", files.len());
    for file in files {
        let what = file.display().to_string();
        // Parse each file on its own (includes left unresolved), before and
        // after validation.
        let text = fs::read_to_string(&file).unwrap();
        let mut config = Config::parse_str(&text, &file).unwrap_or_else(|e| panic!("{e}"));
        round_trip(&config, &what);
        config.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
        round_trip(&config, &what);
    }
}

#[test]
fn loaded_configs_round_trip() {
    let dir = fixtures().join("apko-testdata/pkg/build/types");
    let loaded = Config::load(
        "testdata/overlay/overlay_with_package.apko.yaml",
        &LoadOptions {
            cwd: Some(dir),
            include_paths: Vec::new(),
        },
    )
    .unwrap();
    round_trip(&loaded.config, "overlay_with_package");
    let on_top = fixtures().join("apko-testdata/internal/cli/testdata/image_on_top.apko.yaml");
    let loaded = Config::load(on_top, &LoadOptions::default()).unwrap();
    assert!(loaded.config.contents.baseimage.is_some());
    round_trip(&loaded.config, "image_on_top");
}

#[test]
fn show_config_like_apko() {
    let path = fixtures().join("apko-testdata/internal/cli/testdata/apko.yaml");
    let mut config = Config::load(&path, &LoadOptions::default()).unwrap().config;
    config.validate().unwrap();
    assert_eq!(
        config.to_yaml().unwrap(),
        "\
contents:
    repositories:
        - ./testdata/packages
    keyring:
        - ./testdata/melange.rsa.pub
    packages:
        - replayout
entrypoint:
    type: \"\"
    command: /bin/sh -l
    shell-fragment: \"\"
    services: {}
archs:
    - amd64
    - arm64
"
    );
}

#[test]
fn accounts_and_paths_print_every_field_apko_prints() {
    let yaml = "\
accounts:
  run-as: nginx
  users:
    - username: nginx
      uid: 10000
  groups:
    - groupname: nginx
      gid: 10000
paths:
  - path: /run/nginx
    type: directory
    permissions: 0o755
";
    let mut config = Config::parse_str(yaml, "apko.yaml").unwrap();
    config.validate().unwrap();
    assert_eq!(
        config.to_yaml().unwrap(),
        "\
accounts:
    run-as: nginx
    users:
        - username: nginx
          uid: 10000
          shell: \"\"
          homedir: /home/nginx
    groups:
        - groupname: nginx
          gid: 10000
          members: []
paths:
    - path: /run/nginx
      type: directory
      permissions: 493
      source: \"\"
      recursive: false
"
    );
}

#[test]
fn tricky_values_round_trip() {
    let yaml = r##"
contents:
  repositories:
    - "@edge https://dl-cdn.alpinelinux.org/alpine/edge/main"
  packages:
    - "foo@edge"
    - "bar>=1.2"
    - "baz~1"
  runtime_keyring:
    - name: k.rsa.pub
      content: "line one\nline two\n"
entrypoint:
  type: service-bundle
  services:
    b10: x
    b9: "y: z"
    a: "#not a comment"
cmd: "true"
stop-signal: "0755"
work-dir: " leading space"
environment:
  EMPTY: ""
  NULLISH: "~"
  YES: "yes"
  NUM: "1e3"
  QUOTE: "it's \"quoted\""
  TAB: "a\tb"
annotations:
  org.opencontainers.image.title: "Title: with colon"
include: base.yaml
volumes: [/data, "/with space"]
layering:
  strategy: origin
  budget: 2
format: erofs
archs: [riscv64, s390x, ppc64le, loong64, 386, arm/v6, arm/v7]
vcs-url: https://example.com/repo@0123abc
certificates:
  providers: [x]
"##;
    let config = Config::parse_str(yaml, "apko.yaml").unwrap();
    round_trip(&config, "tricky");
    let shown = config.to_yaml().unwrap();
    // yaml.v3 orders b9 before b10.
    assert!(
        shown.find("b9:").unwrap() < shown.find("b10:").unwrap(),
        "{shown}"
    );
}

#[test]
fn credentials_are_redacted() {
    let yaml = "\
contents:
  repositories:
    - https://user:secret@apk.example.com/os
    - \"@tag https://u:p@apk.example.com/other\"
  runtime_repositories:
    - https://user:kept@apk.example.com/rt
  keyring:
    - https://user:secret@apk.example.com/key.rsa.pub
";
    let shown = Config::parse_str(yaml, "apko.yaml")
        .unwrap()
        .to_yaml()
        .unwrap();
    assert!(!shown.contains("secret"), "{shown}");
    assert!(
        shown.contains("https://user:xxxxx@apk.example.com/os"),
        "{shown}"
    );
    assert!(
        shown.contains("@tag https://u:xxxxx@apk.example.com/other"),
        "{shown}"
    );
    // apko does not redact runtime_repositories.
    assert!(shown.contains("user:kept"), "{shown}");

    let bad = Config::parse_str("contents:\n  repositories: [\"a b c\"]\n", "apko.yaml").unwrap();
    assert_eq!(
        bad.to_yaml().unwrap_err().to_string(),
        "cannot render configuration: invalid repository format: a b c (expected either 'url' or '@tag url')"
    );
}
