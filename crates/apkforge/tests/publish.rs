//! `apkforge login` and `apkforge image publish` against a real Debian
//! `docker-registry` (htpasswd auth) on loopback: the pushed index is what
//! `image build` writes, skopeo and podman read and run it, republishing
//! uploads nothing, several repositories in one call mount blobs.

mod common;
mod publish_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use publish_support::{
    BASE, PASSWORD, Registry, USER, alpine_config, apkforge, fail, layout_json, ok, printed_digest,
    sha256_hex, skopeo_inspect_raw, tool, tool_output,
};
use testsupport::{FileServer, ServerOptions, fixtures};

/// Layer digests of the `amd64` image of an OCI layout written by `image
/// build` (index blob behind `index.json`) or by `skopeo copy` (manifest
/// directly in `index.json`).
fn layers(layout: &Path) -> Vec<String> {
    let top: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut desc = top["manifests"][0].clone();
    while desc["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        let idx = layout_json(layout, desc["digest"].as_str().unwrap());
        desc = idx["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == "amd64")
            .unwrap()
            .clone();
    }
    let manifest = layout_json(layout, desc["digest"].as_str().unwrap());
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// Runs the pushed image with podman; returns its stdout.
fn podman_run(work: &Path, reference: &str) -> String {
    tool(common::podman(work).args([
        "pull",
        "-q",
        "--tls-verify=false",
        "--creds",
        &format!("{USER}:{PASSWORD}"),
        reference,
    ]));
    let out = tool(common::podman(work).args(common::PODMAN_RUN).arg(reference));
    // Leave no image storage behind that a later test could trip over.
    let _ = common::podman(work).args(["rmi", "-a", "-f"]).output();
    out
}

#[test]
fn login_publish_inspect_copy_run_and_republish() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let registry = Registry::start(&d.join("registry"));
    let host = registry.host();
    let docker = d.join("docker");
    fs::write(d.join("apko.yaml"), alpine_config(&server, BASE)).unwrap();

    // A wrong password: refused, naming the registry; nothing written.
    let login = |password: &str| {
        apkforge(
            &["login", &host, "-u", USER, "--password-stdin"],
            d,
            &docker,
            Some(&format!("{password}\n")),
        )
    };
    let err = fail(&login("wrong"));
    assert!(
        err.contains(&host) && err.contains("rejected the credentials of user u"),
        "{err}"
    );
    assert!(!docker.join("config.json").exists());
    // The right one: saved in $DOCKER_CONFIG/config.json, 0600.
    let out = ok(&login(PASSWORD));
    assert_eq!(out.trim(), "Login Succeeded");
    let cfg: serde_json::Value =
        serde_json::from_slice(&fs::read(docker.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["auths"][host.as_str()]["auth"], "dTpw"); // base64("u:p")
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(docker.join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The same config built locally, for comparison.
    fs::create_dir(d.join("built")).unwrap();
    let built = ok(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "app:1",
            "built/",
            "--cache-dir",
            "cache",
        ],
        d,
        &docker,
        None,
    ));
    let index_digest = printed_digest(&built);
    let built_index = layout_json(&d.join("built"), &index_digest);
    let arch_digest = built_index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // Publish with the credentials `login` saved; two tags.
    let publish = |tags: &[String], extra: &[&str]| {
        let mut args = vec!["image", "publish", "apko.yaml"];
        args.extend(tags.iter().map(String::as_str));
        args.extend(["--cache-dir", "cache"]);
        args.extend(extra);
        apkforge(&args, d, &docker, None)
    };
    let tags = [format!("{host}/app:1"), format!("{host}/app:latest")];
    let stdout = ok(&publish(
        &tags,
        &["--image-refs", "refs.txt", "--sbom-path", "sboms"],
    ));
    let index_ref = format!("{host}/app@{index_digest}");
    assert_eq!(stdout.lines().last(), Some(index_ref.as_str()), "{stdout}");
    // apko's --image-refs: each arch image, then the index.
    assert_eq!(
        fs::read_to_string(d.join("refs.txt")).unwrap(),
        format!("{host}/app@{arch_digest}\n{index_ref}\n")
    );
    assert!(d.join("sboms/sbom-x86_64.spdx.json").is_file());
    assert!(d.join("sboms/sbom-index.spdx.json").is_file());

    // skopeo sees exactly the index we built, under both tags and by digest;
    // a single-arch build is still pushed as an index (as apko does).
    let index_bytes = fs::read(
        d.join("built/blobs/sha256")
            .join(index_digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    for r in [tags[0].clone(), tags[1].clone(), index_ref.clone()] {
        let out = skopeo_inspect_raw(&r);
        assert!(
            out.status.success(),
            "{r}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), index_digest);
        assert_eq!(out.stdout, index_bytes);
    }
    // Without credentials the registry refuses skopeo: auth is really on.
    let anon = tool_output(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--no-creds",
        &format!("docker://{}", tags[0]),
    ]));
    assert!(!anon.status.success());

    // skopeo copy to an OCI layout: the same layers as `image build`.
    let copy = d.join("copy");
    tool(Command::new("skopeo").args([
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--src-creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("docker://{}", tags[0]),
        &format!("oci:{}:t", copy.display()),
    ]));
    let pulled = layers(&copy);
    assert_eq!(pulled, layers(&d.join("built")));
    assert!(!pulled.is_empty());

    // podman pulls and runs the pushed tag.
    assert_eq!(podman_run(d, &tags[0]).trim(), "ok");

    // Publishing again uploads no blob (HEAD finds them all).
    let uploads = registry.uploads("").len();
    assert!(uploads >= 2, "{:?}", registry.requests());
    let again = ok(&publish(&tags, &["--sbom=false"]));
    assert_eq!(again.lines().last(), Some(index_ref.as_str()));
    assert_eq!(
        registry.uploads("").len(),
        uploads,
        "{:?}",
        registry.requests()
    );
    assert!(
        registry
            .requests()
            .iter()
            .any(|r| r.starts_with("HEAD /v2/app/blobs/sha256:") && r.ends_with(" 200"))
    );

    // Two new repositories in one call: the second mounts every blob from
    // the first instead of uploading it.
    let two = [format!("{host}/app2:1"), format!("{host}/app3:1")];
    let stdout = ok(&publish(&two, &["--sbom=false"]));
    assert_eq!(
        stdout.lines().last(),
        Some(format!("{host}/app2@{index_digest}").as_str())
    );
    let app3 = registry.uploads("app3/");
    assert_eq!(app3.len(), 2, "layer and config mounted: {app3:?}");
    for r in &app3 {
        assert!(
            r.starts_with("POST /v2/app3/blobs/uploads/?mount=sha256")
                && r.contains("from=app2")
                && r.ends_with(" 201"),
            "{r}"
        );
    }
    let out = skopeo_inspect_raw(&two[1]);
    assert_eq!(out.stdout, index_bytes);
}

#[test]
fn multi_arch_publish_matches_build() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let registry = Registry::start(&d.join("registry"));
    let host = registry.host();
    let docker = d.join("docker");
    publish_support::docker_config(&docker, &host, USER, PASSWORD);
    // apko's own two-arch test config, run from its directory.
    let cli = fx.join("apko-testdata/internal/cli");
    let out = d.join("out");
    fs::create_dir(&out).unwrap();
    let cache = d.join("cache");
    let run = |args: &[&str]| {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--cache-dir", cache.to_str().unwrap(), "--sbom=false"]);
        Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args(&full)
            .current_dir(&cli)
            .env("SOURCE_DATE_EPOCH", "0")
            .env("DOCKER_CONFIG", &docker)
            .output()
            .unwrap()
    };
    let built = ok(&run(&[
        "image",
        "build",
        "testdata/apko.yaml",
        "golden:latest",
        out.to_str().unwrap(),
    ]));
    let index_digest = printed_digest(&built);
    let refs = d.join("refs.txt");
    let tag = format!("{host}/golden:v1");
    let stdout = ok(&run(&[
        "image",
        "publish",
        "testdata/apko.yaml",
        &tag,
        "--image-refs",
        refs.to_str().unwrap(),
    ]));
    let index_ref = format!("{host}/golden@{index_digest}");
    assert_eq!(stdout.lines().last(), Some(index_ref.as_str()));
    let index = layout_json(&out, &index_digest);
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    let mut expected: Vec<String> = manifests
        .iter()
        .map(|m| format!("{host}/golden@{}", m["digest"].as_str().unwrap()))
        .collect();
    expected.push(index_ref);
    assert_eq!(
        fs::read_to_string(&refs).unwrap(),
        expected.join("\n") + "\n"
    );
    let raw = skopeo_inspect_raw(&tag);
    assert!(raw.status.success());
    assert_eq!(format!("sha256:{}", sha256_hex(&raw.stdout)), index_digest);
    // Each per-arch manifest is there by digest, with its platform.
    for m in manifests {
        let r = format!("{host}/golden@{}", m["digest"].as_str().unwrap());
        let got = skopeo_inspect_raw(&r);
        assert!(got.status.success(), "{r}");
        assert_eq!(
            format!("sha256:{}", sha256_hex(&got.stdout)),
            m["digest"].as_str().unwrap()
        );
    }
}
