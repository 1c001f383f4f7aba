//! The client against a real engine: podman's Docker-compatible API.

use std::path::Path;
use std::process::Command;

use docker_engine::{Client, EngineError};

/// A one-layer docker archive of a static busybox, tagged `name`.
fn busybox_archive(dir: &Path, name: &str) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("busybox-static (scripts/test.sh installs it)");
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    let layout = dir.join("layout");
    let run = |c: &mut Command| {
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci")
        .args(["new", "--image"])
        .arg(format!("{}:t", layout.display())));
    run(Command::new("umoci")
        .args(["insert", "--image"])
        .arg(format!("{}:t", layout.display()))
        .arg(&root)
        .arg("/"));
    let archive = dir.join("image.tar");
    run(Command::new("skopeo")
        .args(["copy", "-q"])
        .arg(format!("oci:{}:t", layout.display()))
        .arg(format!("docker-archive:{}:{name}", archive.display())));
    archive
}

#[test]
fn version_load_tag_inspect_remove() {
    let engine = testsupport::engine::engine();
    let client = Client::from_host(&engine.host).unwrap();
    let v = client.version().unwrap();
    assert_eq!(v.os, "linux");
    assert!(!v.version.is_empty() && !v.arch.is_empty(), "{v:?}");
    let dir = tempfile::tempdir().unwrap();
    let archive = busybox_archive(dir.path(), "engine-test/busybox:one");
    let loaded = client.load_image(&archive).unwrap();
    assert!(
        loaded.iter().any(|l| l.contains("engine-test/busybox:one")),
        "{loaded:?}"
    );
    client
        .tag_image("engine-test/busybox:one", "engine-test/busybox", "two")
        .unwrap();
    let info = client.inspect_image("engine-test/busybox:two").unwrap();
    let tags = info["RepoTags"].to_string();
    assert!(
        tags.contains("busybox:one") && tags.contains("busybox:two"),
        "{tags}"
    );
    // Errors carry the engine's message and status.
    match client.inspect_image("engine-test/none:such") {
        Err(EngineError::Api { status, .. }) => assert_eq!(status, 404),
        other => panic!("{other:?}"),
    }
    let id = info["Id"].as_str().unwrap().to_string();
    client.remove_image(&id, true).unwrap();
    assert!(client.inspect_image("engine-test/busybox:one").is_err());
    // A socket nobody listens on.
    let err = Client::new(dir.path().join("none.sock"))
        .version()
        .unwrap_err();
    assert!(err.to_string().contains("none.sock"), "{err}");
}
