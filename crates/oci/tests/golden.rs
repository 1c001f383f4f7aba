//! apko's golden OCI layout (`internal/cli/testdata/golden` in the fixtures),
//! rebuilt from its own layer blobs: every file must come out byte for byte.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{fixtures, tree};
use oci::{Authorship, ImageConfig, Layer, Platform, build_image, write_oci_layout};

const GOLDEN: &str = "apko-testdata/internal/cli/testdata/golden";

#[test]
fn apko_golden_layout_is_reproduced_byte_for_byte() {
    let golden = fixtures().join(GOLDEN);
    let blobs = golden.join("blobs/sha256");
    let annotations = BTreeMap::from([
        (
            "org.opencontainers.image.title".to_owned(),
            "Title".to_owned(),
        ),
        (
            "org.opencontainers.image.vendor".to_owned(),
            "Vendor".to_owned(),
        ),
    ]);
    let mut images = Vec::new();
    for (arch, layer_hex, diff_id) in [
        (
            "amd64",
            "c7557730da0e2d7fb242d8d1ac6dcf7e3a2439732aa5981270b4f3a02454b738",
            "sha256:20f698463c2755b6dc42b7d07e959ed7455a06e7367d507e829a315898f21a01",
        ),
        (
            "arm64",
            "7e0f9d62f6cab4785e18a55f17d03f20ffb776881f1f46258efd9458f7cdaf08",
            "sha256:ca5e16c7c944d764863cb1a4286e668e72d6d87ef9ddd82337b19d87715bae7e",
        ),
    ] {
        let layer = Layer::from_gzip_file(blobs.join(layer_hex)).unwrap();
        assert_eq!(layer.digest, format!("sha256:{layer_hex}"));
        assert_eq!(layer.diff_id, diff_id);
        let config = ImageConfig {
            platform: Platform::linux(arch, None),
            created: "1970-01-01T00:00:00Z".to_owned(),
            entrypoint: vec!["/bin/sh".into(), "-l".into()],
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin".into(),
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".into(),
            ],
            annotations: annotations.clone(),
            authorship: Authorship::apko(),
            ..ImageConfig::default()
        };
        images.push(build_image(&config, vec![layer]));
    }
    // Listed arm64 first: the index must sort them.
    images.reverse();

    let mut index_annotations = annotations.clone();
    index_annotations.insert(
        "org.opencontainers.image.created".to_owned(),
        "1970-01-01T00:00:00Z".to_owned(),
    );
    let out = tempfile::tempdir().unwrap();
    let index = write_oci_layout(out.path(), &images, &index_annotations, None).unwrap();
    assert_eq!(
        index.digest,
        "sha256:b5f05e6fc882c97d61c1daee566954ae6fc09924f8e152293e2b97a06092069f"
    );

    let mut expected = tree(&golden);
    expected.retain(|path, _| !path.starts_with("sboms/"));
    let actual = tree(out.path());
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &expected {
        assert!(
            actual[path] == *bytes,
            "{path} differs:\n ours:   {}\n golden: {}",
            String::from_utf8_lossy(&actual[path]),
            String::from_utf8_lossy(bytes)
        );
    }

    // Writing again over the same directory changes nothing.
    write_oci_layout(out.path(), &images, &index_annotations, None).unwrap();
    assert_eq!(tree(out.path()), actual);
    assert!(
        fs::read_dir(out.path().join("blobs/sha256"))
            .unwrap()
            .all(|e| {
                !e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
    );
}
