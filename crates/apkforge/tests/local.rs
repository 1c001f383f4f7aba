//! `image publish --local`: the image loaded into a local engine (podman's
//! Docker API service) under every tag given, and runnable there.

mod common;

use common::{fail, ok, tool};

use std::fs;
use std::process::Command;

use testsupport::fixtures;

#[test]
fn publish_local_loads_and_tags_every_tag() {
    let engine = testsupport::engine::engine();
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("apko.yaml"),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}\n  packages:\n    - busybox\n    - busybox-binsh\nentrypoint:\n  command: /bin/sh -c \"echo loaded-ok\"\narchs: [x86_64]\n",
            fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
                .display(),
            fx.join("alpine-3.19").display()
        ),
    )
    .unwrap();
    let tags = [
        "apkforge-local/app:one",
        "localhost/apkforge-local/app:two",
        "registry.example.com/team/app:3",
    ];
    let publish = |host: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_apkforge"));
        c.args(["image", "publish", "apko.yaml"])
            .args(tags)
            .args(["--local", "--cache-dir", "cache", "--sbom=false"])
            .current_dir(d)
            .env("DOCKER_HOST", host)
            .env("SOURCE_DATE_EPOCH", "1700000000");
        c.output().unwrap()
    };
    let out = ok(&publish(&engine.host));
    let id = out.trim();
    assert!(id.starts_with("sha256:"), "{out}");
    // Every tag is there, read back over the socket with curl.
    let socket = engine.host.trim_start_matches("unix://");
    let list = tool(
        Command::new("curl")
            .args(["-sf", "--unix-socket", socket])
            .arg("http://d/images/json"),
    );
    let images: serde_json::Value = serde_json::from_str(&list).unwrap();
    let ours = images
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["Id"]
                .as_str()
                .is_some_and(|x| id.ends_with(x.trim_start_matches("sha256:")))
        })
        .unwrap_or_else(|| panic!("{id} not loaded: {list}"));
    let repo_tags = ours["RepoTags"].to_string();
    for t in [
        "apkforge-local/app:one",
        "localhost/apkforge-local/app:two",
        "registry.example.com/team/app:3",
    ] {
        assert!(repo_tags.contains(t), "{t} missing: {repo_tags}");
    }
    // It runs in the engine.
    let ran = tool(
        engine
            .podman()
            .args(common::PODMAN_RUN)
            .arg("registry.example.com/team/app:3"),
    );
    assert_eq!(ran.trim(), "loaded-ok");
    let _ = engine.podman().args(["rmi", "-f", id]).output();
    // No engine: said before anything is built.
    let err = fail(&publish(&format!("unix://{}/none.sock", d.display())));
    assert!(
        err.contains("cannot reach the engine") && err.contains("none.sock"),
        "{err}"
    );
    assert!(!err.contains("==>"), "a build started: {err}");
}
