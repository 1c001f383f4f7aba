//! Builds an Alpine image from the fixtures served over loopback HTTP and
//! runs it with umoci + runc.

use std::path::Path;
use std::process::Command;

use image::{BuildOptions, BuildRequest, Quiet, build};
use testsupport::{FileServer, ServerOptions, fixtures};

fn request(server: &FileServer) -> BuildRequest {
    BuildRequest {
        archs: vec!["x86_64".into()],
        repositories: vec![format!("{}/alpine-3.19", server.url)],
        keyring: vec![format!(
            "{}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub",
            server.url
        )],
        packages: vec![
            "alpine-baselayout".into(),
            "busybox".into(),
            "ca-certificates-bundle".into(),
        ],
        entrypoint: vec!["/bin/sh".into(), "-c".into()],
        cmd: vec!["echo ok".into()],
        env: vec!["PATH=/usr/sbin:/sbin:/usr/bin:/bin".into()],
        ..Default::default()
    }
}

fn options(cache: &Path, work: &Path) -> BuildOptions {
    BuildOptions {
        cache_dir: cache.to_path_buf(),
        offline: false,
        ignore_signatures: false,
        source_date_epoch: Some(1_700_000_000),
        compression_level: 6,
        jobs: 4,
        work_dir: work.to_path_buf(),
        lock: None,
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn alpine_image_runs() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = build(
        &request(&server),
        &options(&tmp.path().join("cache"), &tmp.path().join("work")),
        &Quiet,
    )
    .unwrap();
    assert_eq!(out.archs.len(), 1);
    let names: Vec<_> = out.archs[0]
        .installed
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert!(
        names.contains(&"musl") && names.contains(&"busybox"),
        "{names:?}"
    );
    let layout = tmp.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    let images: Vec<_> = out.archs.iter().map(|a| a.image.clone()).collect();
    oci::write_oci_layout(&layout, &images, &out.index_annotations, Some("latest")).unwrap();
    let inspect = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:latest", layout.display())));
    assert!(inspect.contains("amd64"), "{inspect}");
    let bundle = tmp.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:latest", layout.display()))
        .arg(&bundle));
    let cfg = bundle.join("config.json");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("\"terminal\": true", "\"terminal\": false");
    std::fs::write(&cfg, text).unwrap();
    let id = format!("apkforge-test-{}", std::process::id());
    let stdout = run(Command::new("runc")
        .arg("run")
        .arg(&id)
        .current_dir(&bundle));
    assert_eq!(stdout.trim(), "ok");
}

#[test]
fn layer_cache_reuses_and_survives_corruption() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let digest = |work: &str| {
        let out = build(
            &request(&server),
            &options(&cache, &tmp.path().join(work)),
            &Quiet,
        )
        .unwrap();
        out.archs[0].image.layers[0].digest.clone()
    };
    let first = digest("w1");
    assert_eq!(digest("w2"), first, "cached layer is the same blob");
    // Corrupt every cached blob: the next build notices and recompresses.
    for e in std::fs::read_dir(cache.join("layers-v2/blobs")).unwrap() {
        std::fs::write(e.unwrap().path(), b"corrupt").unwrap();
    }
    assert_eq!(digest("w3"), first);
}
