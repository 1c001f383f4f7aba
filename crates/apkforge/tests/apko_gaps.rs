//! apko behaviours closed late: busybox applet links for old busybox
//! packages, per-layer partial databases with `layering:`, Java
//! truststores, `contents.baseimage`.

mod common;

use common::{apkforge, ok};

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use testsupport::fixtures;

/// path -> (type byte, link target, content) of every entry of a gzip'd
/// layer tar.
fn entries(blob: &Path) -> BTreeMap<String, (u8, String, Vec<u8>)> {
    let gz = flate2::read::MultiGzDecoder::new(fs::File::open(blob).unwrap());
    let mut ar = tar::Archive::new(gz);
    let mut out = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let kind = e.header().entry_type().as_byte();
        let link = e
            .link_name()
            .unwrap()
            .map(|l| l.display().to_string())
            .unwrap_or_default();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        out.insert(path, (kind, link, content));
    }
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The layer blobs (bottom first) of the only image of a layout we wrote.
fn layers(layout: &Path) -> Vec<PathBuf> {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut index = json(&layout.join("index.json"));
    while index["manifests"][0]["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        index = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    }
    let manifest = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l["digest"].as_str().unwrap()))
        .collect()
}

#[test]
fn old_busybox_gets_its_applet_links_from_the_table() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("apko.yaml"),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}\n  packages:\n    - busybox\narchs: [aarch64]\n",
            fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-58199dcc.rsa.pub")
                .display(),
            fx.join("alpine-3.13-aarch64").display()
        ),
    )
    .unwrap();
    fs::create_dir(d.join("out")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "bb:1",
            "out",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let layer = &layers(&d.join("out"))[0];
    let e = entries(layer);
    assert!(
        !e.contains_key("etc/busybox-paths.d"),
        "the package has no list"
    );
    for applet in [
        "bin/cat",
        "bin/ls",
        "bin/uname",
        "bin/sh",
        "usr/bin/wc",
        "sbin/ifconfig",
    ] {
        let (kind, link, _) = e.get(applet).unwrap_or_else(|| panic!("{applet} missing"));
        assert_eq!((*kind, link.as_str()), (b'2', "/bin/busybox"), "{applet}");
    }
}

/// `P:` names of an installed database.
fn db_names(db: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(db)
        .lines()
        .filter_map(|l| l.strip_prefix("P:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn layering_writes_a_partial_database_into_each_package_layer() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("apko.yaml"),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}\n  packages:\n    - busybox\n    - ca-certificates-bundle\n    - zlib\n    - tzdata\narchs: [x86_64]\nlayering:\n  strategy: origin\n  budget: 3\n",
            fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
                .display(),
            fx.join("alpine-3.19").display()
        ),
    )
    .unwrap();
    fs::create_dir(d.join("out")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "l:1",
            "out",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let blobs = layers(&d.join("out"));
    assert_eq!(blobs.len(), 4);
    let db = "usr/lib/apk/db/installed";
    let top = entries(blobs.last().unwrap());
    let full = db_names(&top[db].2);
    assert_eq!(full.len(), 5, "{full:?}");
    let mut seen = Vec::new();
    for blob in &blobs[..3] {
        let e = entries(blob);
        let (kind, _, content) = e.get(db).expect("a partial database in each package layer");
        assert_eq!(*kind, b'0');
        let names = db_names(content);
        assert!(!names.is_empty());
        // Its records are those of the packages whose files it holds.
        let text = String::from_utf8_lossy(content);
        for line in text.lines().filter_map(|l| l.strip_prefix("R:")).take(3) {
            assert!(
                e.keys().any(|p| p.ends_with(&format!("/{line}"))),
                "{line} listed but not in the layer"
            );
        }
        // Parents come first, as apko writes them.
        assert!(e.contains_key("usr/lib/apk/db"));
        seen.extend(names);
    }
    seen.sort();
    let mut all = full.clone();
    all.sort();
    assert_eq!(seen, all, "every package in exactly one partial database");
    // The tzdata layer's partial database is exactly tzdata's record.
    let tz = blobs[..3]
        .iter()
        .map(|b| entries(b))
        .find(|e| e.contains_key("usr/share/zoneinfo/UTC"))
        .unwrap();
    assert_eq!(db_names(&tz[db].2), ["tzdata"]);
}

/// A self-signed certificate (PEM) made by openssl.
fn certificate(d: &Path, name: &str) -> PathBuf {
    let pem = d.join(format!("{name}.pem"));
    common::tool(
        std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", &format!("/CN={name}")])
            .arg("-keyout")
            .arg(d.join(format!("{name}.key")))
            .arg("-out")
            .arg(&pem),
    );
    pem
}

#[test]
fn certificates_join_the_java_truststore() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A package holding a JKS truststore made by Java's keytool.
    let store_dir = d.join("root/etc/ssl/certs/java");
    fs::create_dir_all(&store_dir).unwrap();
    let original = certificate(d, "original-ca");
    common::tool(
        std::process::Command::new("keytool")
            .args([
                "-importcert",
                "-noprompt",
                "-alias",
                "original",
                "-storetype",
                "JKS",
            ])
            .args(["-storepass", "changeit", "-keystore"])
            .arg(store_dir.join("cacerts"))
            .arg("-file")
            .arg(&original),
    );
    ok(&apkforge(&["keygen", "repo", "--bits", "2048"], d));
    fs::create_dir_all(d.join("repo/x86_64")).unwrap();
    ok(&apkforge(
        &[
            "apk",
            "pack",
            "root",
            "-o",
            "repo/x86_64/java-cacerts-1.0-r0.apk",
            "--name",
            "java-cacerts",
            "--version",
            "1.0-r0",
            "--arch",
            "x86_64",
            "--signing-key",
            "repo.rsa",
        ],
        d,
    ));
    ok(&apkforge(
        &[
            "index",
            "-o",
            "repo/x86_64/APKINDEX.tar.gz",
            "--signing-key",
            "repo.rsa",
            "repo/x86_64/java-cacerts-1.0-r0.apk",
        ],
        d,
    ));
    let added = certificate(d, "corp-ca");
    let pem = fs::read_to_string(&added).unwrap();
    let indented: String = pem.lines().map(|l| format!("        {l}\n")).collect();
    fs::write(
        d.join("apko.yaml"),
        format!(
            "contents:\n  keyring:\n    - {}\n    - repo.rsa.pub\n  repositories:\n    - {}\n    - ./repo\n  packages:\n    - ca-certificates-bundle\n    - java-cacerts\narchs: [x86_64]\ncertificates:\n  additional:\n    - name: corp\n      content: |\n{indented}",
            fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
                .display(),
            fx.join("alpine-3.19").display()
        ),
    )
    .unwrap();
    fs::create_dir(d.join("out")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "j:1",
            "out",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let e = entries(&layers(&d.join("out"))[0]);
    let store = &e["etc/ssl/certs/java/cacerts"].2;
    fs::write(d.join("cacerts"), store).unwrap();
    // Java reads it with the default password (the integrity check passes)
    // and trusts both certificates.
    let list = common::tool(
        std::process::Command::new("keytool")
            .args(["-list", "-storepass", "changeit", "-keystore"])
            .arg(d.join("cacerts")),
    );
    assert!(list.contains("Your keystore contains 2 entries"), "{list}");
    assert!(list.contains("original,"), "{list}");
    assert!(list.contains("corp-"), "{list}");
    // A checksum sidecar beside it, as beside the CA bundle.
    let sidecar = String::from_utf8(e["etc/ssl/certs/java/.cacerts.sha256"].2.clone()).unwrap();
    use sha2::Digest;
    assert_eq!(
        sidecar,
        format!("{}  cacerts\n", hex_of(&sha2::Sha256::digest(store)))
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Layer blobs and config of the `arch` (OCI name) image of a layout.
fn image_of(layout: &Path, arch: &str) -> (Vec<PathBuf>, serde_json::Value) {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut index = json(&layout.join("index.json"));
    while index["manifests"][0]["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        index = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    }
    let m = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == arch)
        .unwrap()
        .clone();
    let manifest = json(&blob(m["digest"].as_str().unwrap()));
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l["digest"].as_str().unwrap()))
        .collect();
    (
        layers,
        json(&blob(manifest["config"]["digest"].as_str().unwrap())),
    )
}

#[test]
fn baseimage_puts_new_packages_on_top_of_the_base_layers() {
    let cli = fixtures().join("apko-testdata/internal/cli");
    let golden = cli.join("testdata/top_image");
    let dir = tempfile::tempdir().unwrap();
    // apko's own case, and the same without `apkindex:` (the database is
    // then read from the base image itself).
    let plain = fs::read_to_string(cli.join("testdata/image_on_top.apko.yaml"))
        .unwrap()
        .replace("    apkindex: ./testdata/base_image/metadata/\n", "");
    fs::write(dir.path().join("no-apkindex.yaml"), plain).unwrap();
    for (case, config) in [
        ("apko", cli.join("testdata/image_on_top.apko.yaml")),
        ("no-apkindex", dir.path().join("no-apkindex.yaml")),
    ] {
        let out = dir.path().join(case);
        fs::create_dir(&out).unwrap();
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args(["image", "build"])
            .arg(&config)
            .arg("top:latest")
            .arg(&out)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(["--sbom=false"])
            // apko insists on a lock for base images; we accept one.
            .args(if case == "apko" {
                &["--lockfile", "testdata/image_on_top.apko.lock.json"][..]
            } else {
                &[][..]
            })
            .current_dir(&cli)
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
            .unwrap();
        ok(&run);
        for arch in ["amd64", "arm64"] {
            let (ours, config) = image_of(&out, arch);
            let (theirs, want) = image_of(&golden, arch);
            assert_eq!(ours.len(), 2, "{case} {arch}: base layer + ours");
            // The base layer is the base image's blob, byte for byte.
            assert_eq!(ours[0].file_name(), theirs[0].file_name(), "{case} {arch}");
            assert_eq!(
                config["rootfs"]["diff_ids"][0],
                want["rootfs"]["diff_ids"][0]
            );
            assert_eq!(config["history"].as_array().unwrap().len(), 2);
            assert_eq!(config["config"]["Entrypoint"], want["config"]["Entrypoint"]);
            assert_eq!(config["config"]["Env"], want["config"]["Env"]);
            // Our layer holds what apko's holds (the database, apko.json and
            // the world differ on purpose: docs/IMAGE-DIFFERENCES.md).
            let (got, exp) = (entries(&ours[1]), entries(&theirs[1]));
            assert_eq!(
                String::from_utf8_lossy(&got["etc/apk/world"].2),
                "package-x=1.0.0-r0\npackage-y=1.0.0-r0\npretend-baselayout=1.0.0-r0\nreplayout=1.0.0-r0\n"
            );
            for (path, e) in &exp {
                if ["etc/apko.json", "usr/lib/apk/db/installed", "etc/apk/world"]
                    .contains(&path.as_str())
                {
                    continue;
                }
                assert_eq!(got.get(path), Some(e), "{case} {arch}: {path}");
            }
            let extra: Vec<&String> = got.keys().filter(|p| !exp.contains_key(*p)).collect();
            assert!(extra.is_empty(), "{case} {arch}: extra {extra:?}");
            assert_eq!(
                db_names(&got["usr/lib/apk/db/installed"].2),
                ["pretend-baselayout", "package-x", "package-y", "replayout"]
            );
        }
    }
}
