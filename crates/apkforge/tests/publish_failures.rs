//! `apkforge image publish` when things go wrong, against a real Debian
//! `docker-registry`: missing or wrong credentials, an unreachable host,
//! and a registry killed in the middle of a chunked upload (no tag may
//! appear). Also checks chunked uploads end to end.

mod publish_support;

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use publish_support::{
    BASE, PASSWORD, Registry, USER, alpine_config, apkforge, docker_config, fail, non_loopback_ip,
    ok, sha256_hex, skopeo_inspect_raw, tool_output,
};
use testsupport::{FileServer, ServerOptions, fixtures};

/// Tags of `repo` as skopeo lists them (empty when the repository is
/// unknown).
fn tags(host: &str, repo: &str) -> Vec<String> {
    let out = tool_output(Command::new("skopeo").args([
        "list-tags",
        "--tls-verify=false",
        "--creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("docker://{host}/{repo}"),
    ]));
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("404") || err.contains("NAME_UNKNOWN"), "{err}");
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn credential_and_host_errors_are_clear_and_early() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let registry = Registry::start(&d.join("registry"));
    let host = registry.host();
    fs::write(d.join("apko.yaml"), alpine_config(&server, BASE)).unwrap();
    let publish = |docker: &str, tag: &str| {
        apkforge(
            &[
                "image",
                "publish",
                "apko.yaml",
                tag,
                "--cache-dir",
                "cache",
                "--image-refs",
                "refs.txt",
            ],
            d,
            &d.join(docker),
            None,
        )
    };
    let tag = format!("{host}/app:1");

    // No credentials at all.
    fs::create_dir(d.join("none")).unwrap();
    let err = fail(&publish("none", &tag));
    assert!(
        err.contains(&format!("registry {host} requires authentication"))
            && err.contains("apkforge login"),
        "{err}"
    );
    // Credentials are checked before the (long) build starts.
    assert!(!err.contains("==>"), "built before authenticating:\n{err}");

    // A wrong password.
    docker_config(&d.join("wrong"), &host, USER, "nope");
    let err = fail(&publish("wrong", &tag));
    assert!(
        err.contains(&format!(
            "registry {host} rejected the credentials of user u"
        )) && err.contains("401"),
        "{err}"
    );

    // Nothing listens on 127.0.0.1:1.
    let err = fail(&publish("none", "127.0.0.1:1/app:1"));
    assert!(
        err.contains("cannot reach registry 127.0.0.1:1") && err.contains("refused"),
        "{err}"
    );

    // A host name that does not resolve (.invalid is reserved).
    let err = fail(&publish("none", "registry.invalid/app:1"));
    assert!(
        err.contains("cannot reach registry registry.invalid"),
        "{err}"
    );

    // Not a reference.
    let err = fail(&publish("none", "Bad//ref"));
    assert!(err.contains("invalid image reference"), "{err}");

    // Nothing was written and nothing was pushed.
    assert!(!d.join("refs.txt").exists());
    assert!(!d.join("sbom-x86_64.spdx.json").exists());
    assert!(registry.uploads("").is_empty(), "{:?}", registry.requests());
    assert!(tags(&host, "app").is_empty());
}

#[test]
fn chunked_upload_and_registry_killed_mid_push() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut registry = Registry::start(&d.join("registry"));
    let host = registry.host();
    let docker = d.join("docker");
    docker_config(&docker, &host, USER, PASSWORD);
    fs::write(d.join("apko.yaml"), alpine_config(&server, BASE)).unwrap();

    // Chunked: 64 KiB PATCHes for the layer, one PUT for the small config.
    let tag = format!("{host}/chunked:1");
    let stdout = ok(&apkforge(
        &[
            "image",
            "publish",
            "apko.yaml",
            &tag,
            "--cache-dir",
            "cache",
            "--sbom=false",
            "--upload-chunk-size",
            "65536",
        ],
        d,
        &docker,
        None,
    ));
    let index_ref = stdout.lines().last().unwrap().to_string();
    let digest = index_ref.split_once('@').unwrap().1;
    let raw = skopeo_inspect_raw(&tag);
    assert_eq!(format!("sha256:{}", sha256_hex(&raw.stdout)), digest);
    let uploads = registry.uploads("chunked/");
    let patches = uploads.iter().filter(|r| r.starts_with("PATCH ")).count();
    assert!(patches > 10, "{uploads:?}");
    assert!(uploads.iter().all(|r| !r.ends_with(" 416")), "{uploads:?}");
    // The chunked blob pulls back intact (skopeo verifies digests).
    let out = tool_output(Command::new("skopeo").args([
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--src-creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("docker://{tag}"),
        &format!("oci:{}:t", d.join("pulled").display()),
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Killed mid-push: tiny chunks make the upload long; kill the registry
    // once the first PATCH to the new repository shows in its log.
    let mut child = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args([
            "image",
            "publish",
            "apko.yaml",
            &format!("{host}/killed:1"),
            "--cache-dir",
            "cache",
            "--sbom=false",
            "--upload-chunk-size",
            "2048",
        ])
        .current_dir(d)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("DOCKER_CONFIG", &docker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while !registry
        .uploads("killed/")
        .iter()
        .any(|r| r.starts_with("PATCH "))
    {
        assert!(
            Instant::now() < deadline,
            "no PATCH seen:\n{}",
            registry.log()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "publish ended before the registry was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    registry.kill();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = fail(&out);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?} to give up",
        started.elapsed()
    );
    assert!(
        err.contains(&host) && err.contains("killed:1") && err.contains("connection"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Back on the same storage: the half-pushed image has no tag.
    registry.restart();
    assert!(tags(&host, "killed").is_empty());
    let missing = skopeo_inspect_raw(&format!("{host}/killed:1"));
    assert!(!missing.status.success());
    // And publishing again now completes it.
    let stdout = ok(&apkforge(
        &[
            "image",
            "publish",
            "apko.yaml",
            &format!("{host}/killed:1"),
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
        &docker,
        None,
    ));
    assert_eq!(
        stdout.lines().last().unwrap(),
        format!("{host}/killed@{digest}")
    );
    assert_eq!(tags(&host, "killed"), vec!["1".to_string()]);
}

#[test]
#[allow(clippy::print_stderr)] // says why it is skipped
fn plain_http_only_for_loopback_or_insecure_registry() {
    // The registry must be reached through an address that is not loopback.
    let Some(ip) = non_loopback_ip() else {
        eprintln!("SKIPPED: this machine has no non-loopback IPv4 address");
        return;
    };
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let registry = Registry::start_at(&d.join("registry"), &ip);
    let host = registry.host();
    let docker = d.join("docker");
    docker_config(&docker, &host, USER, PASSWORD);
    fs::write(d.join("apko.yaml"), alpine_config(&server, BASE)).unwrap();
    let tag = format!("{host}/plain:1");
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "image",
            "publish",
            "apko.yaml",
            &tag,
            "--cache-dir",
            "cache",
            "--sbom=false",
        ];
        args.extend(extra);
        apkforge(&args, d, &docker, None)
    };
    // HTTPS only: the TLS handshake with a plain-HTTP server fails, and
    // the error says how to allow it. Not one HTTP request reaches it.
    let before = registry.requests().len();
    let err = fail(&publish(&[]));
    assert!(
        err.contains(&format!("cannot reach registry {host}"))
            && err.contains(&format!("https://{host}/v2/"))
            && err.contains(&format!("--insecure-registry {host}"))
            && !err.contains(&format!("http://{host}")),
        "{err}"
    );
    assert_eq!(
        registry.requests().len(),
        before,
        "{:?}",
        registry.requests()
    );
    // Allowed: HTTPS is tried, then plain HTTP works.
    let stdout = ok(&publish(&["--insecure-registry", &host]));
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with(&format!("{host}/plain@sha256:")),
        "{stdout}"
    );
    assert!(skopeo_inspect_raw(&tag).status.success());
}
