//! Lock files, show-config, show-packages, dot and build-minirootfs.

mod common;

use common::{apkforge, fail, ok};

use std::fs;

use std::process::Command;

use testsupport::fixtures;

#[test]
fn lock_matches_apko_and_pins_the_build() {
    let cli = fixtures().join("apko-testdata/internal/cli");
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str| tmp.path().join(name).display().to_string();
    let cache = t("cache");
    ok(&apkforge(
        &[
            "image",
            "lock",
            "testdata/apko.yaml",
            "--output",
            &t("apko.lock.json"),
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    // Byte for byte what apko wrote for the same config and packages.
    common::assert_same_file(
        std::path::Path::new(&t("apko.lock.json")),
        &cli.join("testdata/apko.lock.json"),
    );
    fs::create_dir(t("out")).unwrap();
    let out = t("out");
    ok(&apkforge(
        &[
            "image",
            "build",
            "testdata/apko.yaml",
            "x:1",
            &out,
            "--lockfile",
            &t("apko.lock.json"),
            "--cache-dir",
            &cache,
            "--sbom=false",
        ],
        &cli,
    ));
    // A lock naming another version fails, saying what differs, writing nothing.
    let lock = fs::read_to_string(t("apko.lock.json")).unwrap().replacen(
        "\"version\": \"1.0.0-r0\"",
        "\"version\": \"1.0.1-r0\"",
        1,
    );
    fs::write(t("bad.lock.json"), lock).unwrap();
    fs::create_dir(t("out2")).unwrap();
    let out2 = t("out2");
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "testdata/apko.yaml",
            "x:1",
            &out2,
            "--lockfile",
            &t("bad.lock.json"),
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    assert!(err.contains("1.0.1-r0"), "{err}");
    assert_eq!(fs::read_dir(&out2).unwrap().count(), 0, "nothing written");
    // A lock for another config is refused.
    let other = fs::read_to_string(t("apko.lock.json"))
        .unwrap()
        .replace("sha256-", "sha256-X");
    fs::write(t("other.lock.json"), other).unwrap();
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "testdata/apko.yaml",
            "x:1",
            &out2,
            "--lockfile",
            &t("other.lock.json"),
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    assert!(err.contains("different config"), "{err}");
}

#[test]
fn show_config_packages_dot_and_minirootfs() {
    let cli = fixtures().join("apko-testdata/internal/cli");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache").display().to_string();
    let yaml = ok(&apkforge(
        &["image", "show-config", "testdata/apko.yaml"],
        &cli,
    ));
    assert!(yaml.contains("replayout"), "{yaml}");
    let pkgs = ok(&apkforge(
        &[
            "image",
            "show-packages",
            "testdata/apko.yaml",
            "--arch",
            "x86_64",
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    assert_eq!(
        pkgs.lines().collect::<Vec<_>>(),
        vec!["pretend-baselayout 1.0.0-r0", "replayout 1.0.0-r0"]
    );
    let pkgs = ok(&apkforge(
        &[
            "image",
            "show-packages",
            "testdata/apko.yaml",
            "--arch",
            "aarch64",
            "--format",
            "{{.Name}}={{.Version}} {{.Arch}}",
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    assert!(pkgs.contains("replayout=1.0.0-r0 aarch64"), "{pkgs}");
    let dot = ok(&apkforge(
        &[
            "image",
            "dot",
            "testdata/apko.yaml",
            "--arch",
            "x86_64",
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    assert!(
        dot.starts_with("digraph") && dot.contains("\"world\" -> \"replayout\""),
        "{dot}"
    );
    let out = tmp.path().join("rootfs.tar.gz");
    ok(&apkforge(
        &[
            "image",
            "build-minirootfs",
            "testdata/apko.yaml",
            out.to_str().unwrap(),
            "--build-arch",
            "x86_64",
            "--cache-dir",
            &cache,
        ],
        &cli,
    ));
    let list = Command::new("tar").arg("tzf").arg(&out).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines().any(|l| l == "usr/lib/apk/db/installed"),
        "{list}"
    );
}

fn alpine_yaml(url: &str) -> String {
    format!(
        "contents:\n  keyring:\n    - {url}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n  repositories:\n    - {url}/alpine-3.19\n  packages:\n    - busybox\narchs: [x86_64]\n"
    )
}

#[test]
fn concurrent_builds_share_a_cache_and_offline_uses_it() {
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = testsupport::FileServer::start(&fx, testsupport::ServerOptions::default());
    fs::write(d.join("a.yaml"), alpine_yaml(&server.url)).unwrap();
    // Two builds at once into one (cold) cache.
    let spawn = |out: &str| {
        Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args([
                "image",
                "build",
                "a.yaml",
                "x:1",
                out,
                "--cache-dir",
                "cache",
            ])
            .current_dir(d)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
    };
    let (one, two) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("one.tar").unwrap());
        let b = s.spawn(|| spawn("two.tar").unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    ok(&one);
    ok(&two);
    common::assert_same_file(&d.join("one.tar"), &d.join("two.tar"));
    // With the server gone, --offline builds from the cache alone.
    drop(server);
    ok(&apkforge(
        &[
            "image",
            "build",
            "a.yaml",
            "x:1",
            "three.tar",
            "--cache-dir",
            "cache",
            "--offline",
        ],
        d,
    ));
    common::assert_same_file(&d.join("one.tar"), &d.join("three.tar"));
    // A cold cache offline is a clear error naming what is missing.
    let err = fail(&apkforge(
        &[
            "image",
            "build",
            "a.yaml",
            "x:1",
            "four.tar",
            "--cache-dir",
            "cold",
            "--offline",
        ],
        d,
    ));
    assert!(
        err.contains("--offline") && err.contains("alpine-keys"),
        "{err}"
    );
}

#[test]
fn origin_layering_splits_packages_into_layers_that_run() {
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = testsupport::FileServer::start(&fx, testsupport::ServerOptions::default());
    let cfg = alpine_yaml(&server.url).replace(
        "    - busybox\n",
        "    - busybox\n    - ca-certificates-bundle\n    - zlib\n",
    ) + "layering:\n  strategy: origin\n  budget: 3\nentrypoint:\n  command: /bin/sh -c \"echo layered\"\n";
    fs::write(d.join("l.yaml"), cfg).unwrap();
    fs::create_dir(d.join("out")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "l.yaml",
            "x:latest",
            "out/",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    // budget 3: the two largest origin groups, an overflow layer, the top layer.
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("out/index.json")).unwrap()).unwrap();
    let blob = |digest: &str| {
        d.join("out/blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let mut v = index;
    while v["manifests"][0]["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        v = serde_json::from_slice(
            &fs::read(blob(v["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(blob(v["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        4,
        "{manifest}"
    );
    let out = common::run_image(&d.join("out"), "latest", d, None);
    assert_eq!(out.trim(), "layered");
}

#[test]
fn glibc_style_image_gets_an_ld_so_cache_glibc_can_read() {
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A package with /etc/ld.so.conf and a real shared library (Alpine's zlib).
    let tree = d.join("tree");
    fs::create_dir_all(tree.join("etc")).unwrap();
    fs::create_dir_all(tree.join("usr/lib")).unwrap();
    fs::write(tree.join("etc/ld.so.conf"), "/usr/lib\n").unwrap();
    common::untar(
        &fx.join("alpine-3.19/x86_64/zlib-1.3.1-r0.apk"),
        &tree,
        &["lib/libz.so.1.3.1"],
    );
    fs::rename(
        tree.join("lib/libz.so.1.3.1"),
        tree.join("usr/lib/libz.so.1.3.1"),
    )
    .unwrap();
    fs::remove_dir(tree.join("lib")).unwrap();
    std::os::unix::fs::symlink("libz.so.1.3.1", tree.join("usr/lib/libz.so.1")).unwrap();
    ok(&apkforge(&["keygen", "k", "--bits", "2048"], d));
    fs::create_dir_all(d.join("repo/x86_64")).unwrap();
    ok(&apkforge(
        &[
            "apk",
            "pack",
            "tree",
            "-o",
            "repo/x86_64/libz-glibc-1-r0.apk",
            "--name",
            "libz-glibc",
            "--version",
            "1-r0",
            "--arch",
            "x86_64",
            "--signing-key",
            "k.rsa",
        ],
        d,
    ));
    ok(&apkforge(
        &[
            "index",
            "-o",
            "repo/x86_64/APKINDEX.tar.gz",
            "--signing-key",
            "k.rsa",
            "repo/x86_64/libz-glibc-1-r0.apk",
        ],
        d,
    ));
    fs::write(d.join("g.yaml"), "contents:\n  keyring: [k.rsa.pub]\n  repositories: [repo]\n  packages: [libz-glibc]\narchs: [x86_64]\n").unwrap();
    let out = d.join("rootfs.tar.gz");
    ok(&apkforge(
        &[
            "image",
            "build-minirootfs",
            "g.yaml",
            out.to_str().unwrap(),
            "--build-arch",
            "x86_64",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    fs::create_dir(d.join("root")).unwrap();
    common::untar(&out, &d.join("root"), &["etc/ld.so.cache"]);
    let listing = Command::new("ldconfig")
        .args(["-p", "-C"])
        .arg(d.join("root/etc/ld.so.cache"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("libz.so.1 (libc6,x86-64) => /usr/lib/libz.so.1"),
        "{listing}"
    );
}

#[test]
fn certificate_providers_join_the_bundle() {
    let cli = fixtures().join("apko-testdata/internal/cli");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rootfs.tar.gz");
    let cache = tmp.path().join("cache");
    ok(&apkforge(
        &[
            "image",
            "build-minirootfs",
            "testdata/apko-certs.yaml",
            out.to_str().unwrap(),
            "--build-arch",
            "x86_64",
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &cli,
    ));
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    common::untar(&out, &root, &[]);
    let bundle = fs::read_to_string(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    let mut certs: Vec<_> = fs::read_dir(root.join("usr/local/share/ca-certificates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    certs.sort();
    assert!(certs.len() >= 3, "{certs:?}");
    for c in certs {
        let pem = fs::read_to_string(&c).unwrap();
        assert!(
            bundle.contains(pem.trim()),
            "{} missing from the bundle",
            c.display()
        );
    }
    assert!(
        root.join("etc/ssl/certs/.ca-certificates.crt.sha256")
            .is_file()
    );
}

#[test]
fn vcs_annotations_come_from_the_configs_git_checkout() {
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = testsupport::FileServer::start(&fx, testsupport::ServerOptions::default());
    fs::write(d.join("a.yaml"), alpine_yaml(&server.url)).unwrap();
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        String::from_utf8_lossy(&st.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&[
        "remote",
        "add",
        "origin",
        "git@github.com:example/images.git",
    ]);
    git(&["add", "a.yaml"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "commit",
        "-qm",
        "config",
    ]);
    let head = git(&["rev-parse", "HEAD"]);
    fs::create_dir(d.join("out")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "a.yaml",
            "x:latest",
            "out/",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let index = fs::read_to_string(d.join("out/index.json")).unwrap();
    let blobs = fs::read_dir(d.join("out/blobs/sha256"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let all = format!("{index}\n{blobs}");
    assert!(
        all.contains("git+ssh://git@github.com/example/images.git"),
        "no source annotation"
    );
    assert!(all.contains(&head), "no revision annotation");
    // --vcs=false leaves them out.
    fs::create_dir(d.join("plain")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "a.yaml",
            "x:latest",
            "plain/",
            "--cache-dir",
            "cache",
            "--sbom=false",
            "--vcs=false",
        ],
        d,
    ));
    let plain = fs::read_dir(d.join("plain/blobs/sha256"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!plain.contains(&head));
}

#[test]
fn keys_are_discovered_like_apko_does() {
    use base64::Engine as _;
    let fx = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let srv = d.join("srv");
    fs::create_dir_all(srv.join("alpine/v3.19")).unwrap();
    fs::create_dir_all(srv.join("keys")).unwrap();
    fs::create_dir_all(srv.join("cg")).unwrap();
    std::os::unix::fs::symlink(fx.join("alpine-3.19"), srv.join("alpine/v3.19/main")).unwrap();
    std::os::unix::fs::symlink(fx.join("alpine-3.19/x86_64"), srv.join("cg/x86_64")).unwrap();
    let key = fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub");
    fs::copy(
        &key,
        srv.join("keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
    )
    .unwrap();
    let server = testsupport::FileServer::start(&srv, testsupport::ServerOptions::default());
    let url = &server.url;
    // Alpine: releases.json lists the branch's keys per arch (with the
    // `%20` for `@` that Alpine publishes); deprecated keys are skipped.
    fs::write(
        srv.join("releases.json"),
        format!(
            r#"{{"release_branches":[{{"rel_branch":"v3.19","keys":{{"x86_64":[{{"url":"{url}/keys/alpine-devel%20lists.alpinelinux.org-6165ee59.rsa.pub"}},{{"url":"{url}/keys/gone.rsa.pub","deprecated_since":"2001-01-01"}}]}}}}]}}"#
        ),
    )
    .unwrap();
    let build = |cfg: &str, out: &str| {
        fs::write(d.join("c.yaml"), cfg).unwrap();
        Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args([
                "image",
                "build",
                "c.yaml",
                "x:1",
                out,
                "--cache-dir",
                "cache",
                "--sbom=false",
            ])
            .current_dir(d)
            .env("SOURCE_DATE_EPOCH", "0")
            .env(
                "APKFORGE_ALPINE_RELEASES_URL",
                format!("{url}/releases.json"),
            )
            .output()
            .unwrap()
    };
    ok(&build(
        &format!(
            "contents:\n  repositories: [{url}/alpine/v3.19/main]\n  packages: [busybox]\narchs: [x86_64]\n"
        ),
        "alpine.tar",
    ));
    // Chainguard: <repo>/apk-configuration names a JWKS of RSA keys.
    let modulus = Command::new("openssl")
        .args(["rsa", "-pubin", "-noout", "-modulus", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    let hex_n = String::from_utf8_lossy(&modulus.stdout)
        .trim()
        .trim_start_matches("Modulus=")
        .to_string();
    let n: Vec<u8> = (0..hex_n.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_n[i..i + 2], 16).unwrap())
        .collect();
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n);
    fs::write(
        srv.join("cg/apk-configuration"),
        format!(r#"{{"jwks_uri":"{url}/jwks.json"}}"#),
    )
    .unwrap();
    fs::write(
        srv.join("jwks.json"),
        format!(r#"{{"keys":[{{"kty":"RSA","kid":"alpine-devel@lists.alpinelinux.org-6165ee59","n":"{n}","e":"AQAB"}}]}}"#),
    )
    .unwrap();
    ok(&build(
        &format!("contents:\n  repositories: [{url}/cg]\n  packages: [busybox]\narchs: [x86_64]\n"),
        "cg.tar",
    ));
    // Without any key source the index is refused.
    fs::remove_file(srv.join("cg/apk-configuration")).unwrap();
    let err = fail(&build(
        &format!("contents:\n  repositories: [{url}/cg]\n  packages: [busybox]\narchs: [x86_64]\n"),
        "none.tar",
    ));
    assert!(err.contains("signature"), "{err}");
}

#[test]
fn clean_removes_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    fs::create_dir_all(cache.join("apk-v1")).unwrap();
    fs::write(cache.join("apk-v1/x.apk"), b"x").unwrap();
    let c = cache.to_str().unwrap();
    let out = ok(&apkforge(
        &["image", "clean", "--cache-dir", c, "--dry-run"],
        tmp.path(),
    ));
    assert!(out.contains("would remove") && cache.exists(), "{out}");
    ok(&apkforge(&["image", "clean", "--cache-dir", c], tmp.path()));
    assert!(!cache.exists());
}
