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
