//! SBOMs of real package sets, checked by the official validators:
//! `pyspdxtools` (pip `spdx-tools`) for SPDX and the CycloneDX 1.5 JSON
//! schema (pip `cyclonedx-python-lib[json-validation]`). The pip packages
//! are listed in crates/sbom/TEST-DEPS-PIP; a missing one fails the test.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use apk_format::index_archive::read_index_archive;
use apk_format::record::decode_q1;
use sbom::{
    IndexImage, IndexSbomInput, SbomInput, SbomPackage, cyclonedx_json, spdx_index_json, spdx_json,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    match std::env::var_os("APKFORGE_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

/// Every package of an index, as the image builder would describe it.
fn packages(index: &str) -> Vec<SbomPackage> {
    let path = fixtures().join(index);
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let archive = read_index_archive(BufReader::new(file)).unwrap();
    archive
        .entries
        .into_iter()
        .map(|e| {
            let p = e.package;
            SbomPackage {
                checksum_sha1_hex: p.checksum.as_deref().and_then(decode_q1).map(hex::encode),
                name: p.name,
                version: p.version,
                arch: p.arch,
                license: p.license,
                description: p.description,
                url: p.url,
                origin: p.origin.unwrap_or_default(),
                maintainer: p.maintainer,
            }
        })
        .collect()
}

fn alpine_input(packages: Vec<SbomPackage>) -> SbomInput {
    SbomInput {
        document_name:
            "sbom-sha256:1111111111111111111111111111111111111111111111111111111111111111"
                .to_owned(),
        namespace_seed: "alpine-test".to_owned(),
        created: "2024-01-26T12:34:56Z".to_owned(),
        os_id: "alpine".to_owned(),
        os_name: "Alpine Linux".to_owned(),
        os_version: "3.19.1".to_owned(),
        arch: "x86_64".to_owned(),
        image_digest: Some(format!("sha256:{}", "2".repeat(64))),
        image_purl_name: Some("Alpine-Test".to_owned()),
        packages,
        distro: Some("alpine-3.19.1".to_owned()),
        namespace: "alpine".to_owned(),
        organization: Some("apkforge tests".to_owned()),
    }
}

/// Runs `pyspdxtools -i` on the document; fails with its output.
fn assert_spdx_valid(doc: &[u8], name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.spdx.json"));
    std::fs::write(&path, doc).unwrap();
    let out = Command::new("pyspdxtools")
        .arg("-i")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `pyspdxtools` ({e}); install the pip package `spdx-tools` \
                 (crates/sbom/TEST-DEPS-PIP)"
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("ERROR"),
        "pyspdxtools rejected {name} ({}):\n{stderr}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

const CYCLONEDX_CHECK: &str = r#"
import sys
try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError as e:
    print("missing python module (pip install 'cyclonedx-python-lib[json-validation]'):", e)
    sys.exit(2)
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
if error is not None:
    print(error)
    sys.exit(1)
"#;

/// Validates against the CycloneDX 1.5 JSON schema.
fn assert_cyclonedx_valid(doc: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.cdx.json");
    std::fs::write(&path, doc).unwrap();
    let out = Command::new("python3")
        .args(["-c", CYCLONEDX_CHECK])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `python3` ({e})"));
    assert!(
        out.status.success(),
        "CycloneDX schema validation failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn spdx_for_all_alpine_packages_validates() {
    let pkgs = packages("alpine-3.19/x86_64/APKINDEX.tar.gz");
    assert_eq!(pkgs.len(), 100);
    let input = alpine_input(pkgs.clone());
    let doc = spdx_json(&input);
    assert_spdx_valid(&doc, "alpine-3.19");

    let v = json(&doc);
    assert_eq!(v["spdxVersion"], "SPDX-2.3");
    assert_eq!(v["dataLicense"], "CC0-1.0");
    assert_eq!(v["creationInfo"]["created"], "2024-01-26T12:34:56Z");
    assert_eq!(
        v["creationInfo"]["creators"][0],
        format!("Tool: apkforge-{}", env!("CARGO_PKG_VERSION"))
    );
    let packages = v["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 102);
    let image = &packages[0];
    assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(
        image["externalRefs"][0]["referenceLocator"],
        format!(
            "pkg:oci/alpine-test@sha256:{}?arch=amd64&mediaType=application%2Fvnd.oci.image.manifest.v1%2Bjson&os=linux",
            "2".repeat(64)
        )
    );
    assert_eq!(packages[1]["primaryPackagePurpose"], "OPERATING_SYSTEM");

    let ids: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), packages.len(), "SPDX ids are unique");

    let busybox = packages
        .iter()
        .find(|p| p["name"] == "busybox")
        .expect("busybox is listed");
    assert_eq!(busybox["versionInfo"], "1.36.1-r15");
    assert_eq!(busybox["licenseDeclared"], "GPL-2.0-only");
    assert_eq!(busybox["licenseConcluded"], "NOASSERTION");
    assert_eq!(
        busybox["externalRefs"][0]["referenceLocator"],
        "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1"
    );
    assert_eq!(busybox["checksums"][0]["algorithm"], "SHA1");
    assert_eq!(
        busybox["supplier"],
        "Person: Sören Tempel (soeren+alpine@soeren-tempel.net)"
    );
    let expected_sha1 = pkgs
        .iter()
        .find(|p| p.name == "busybox")
        .unwrap()
        .checksum_sha1_hex
        .clone()
        .unwrap();
    assert_eq!(
        busybox["checksums"][0]["checksumValue"],
        expected_sha1.as_str()
    );

    // Every declared LicenseRef is extracted exactly once.
    let extracted: Vec<&str> = v["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["licenseId"].as_str().unwrap())
        .collect();
    assert!(
        extracted.contains(&"LicenseRef-apk-Public-Domain"),
        "{extracted:?}"
    );
    let rels = v["relationships"].as_array().unwrap();
    assert_eq!(rels.len(), 102);
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    assert_eq!(rels[0]["spdxElementId"], "SPDXRef-DOCUMENT");
    assert!(
        rels[1..]
            .iter()
            .all(|r| r["relationshipType"] == "CONTAINS")
    );
}

#[test]
fn spdx_validates_for_every_distinct_license_in_alpine_main_and_community() {
    let mut seen = BTreeSet::new();
    let mut sample = Vec::new();
    for repo in ["main", "community"] {
        for pkg in packages(&format!(
            "alpine-3.19-snapshot/{repo}/x86_64/APKINDEX.tar.gz"
        )) {
            if seen.insert(pkg.license.clone()) {
                sample.push(pkg);
            }
        }
    }
    assert!(sample.len() > 500, "{} distinct licenses", sample.len());
    let doc = spdx_json(&alpine_input(sample));
    assert_spdx_valid(&doc, "alpine-licenses");
}

#[test]
fn spdx_validates_for_wolfi_and_awkward_inputs() {
    let mut pkgs = packages("wolfi/bootstrap-index/x86_64/APKINDEX.tar.gz");
    pkgs.extend([
        SbomPackage {
            name: "c++_weird:name".into(),
            version: "1.0_rc1+git".into(),
            arch: "noarch".into(),
            license: "MIT BSD".into(),
            url: "not a url".into(),
            ..SbomPackage::default()
        },
        SbomPackage {
            name: "empty-license".into(),
            version: "0".into(),
            license: "  ".into(),
            maintainer: Some("<only@email.org>".into()),
            ..SbomPackage::default()
        },
        SbomPackage {
            name: "exception-as-license".into(),
            version: "1".into(),
            license: "Classpath-exception-2.0 OR (mit AND gpl-2.0+)".into(),
            ..SbomPackage::default()
        },
    ]);
    let input = SbomInput {
        document_name: "wolfi test".into(),
        namespace_seed: "wolfi".into(),
        created: "1970-01-01T00:00:00Z".into(),
        os_id: "wolfi".into(),
        os_name: "Wolfi".into(),
        os_version: "20230201".into(),
        arch: "x86_64".into(),
        packages: pkgs,
        namespace: "wolfi".into(),
        ..SbomInput::default()
    };
    let doc = spdx_json(&input);
    assert_spdx_valid(&doc, "wolfi");
    let v = json(&doc);
    let exc = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "exception-as-license")
        .unwrap();
    let declared = exc["licenseDeclared"].as_str().unwrap();
    assert!(
        declared.starts_with("LicenseRef-apk-Classpath-exception-2.0"),
        "{declared}"
    );
    assert!(declared.ends_with(" OR (MIT AND GPL-2.0+)"), "{declared}");

    // Without digest or purl name there is no image checksum or purl.
    assert!(v["packages"][0].get("checksums").is_none());
    assert!(v["packages"][0].get("externalRefs").is_none());
}

#[test]
fn index_spdx_validates() {
    let input = IndexSbomInput {
        document_name: format!("sbom-sha256:{}", "a".repeat(64)),
        namespace_seed: "index".into(),
        created: "1970-01-01T00:00:00Z".into(),
        index_digest: format!("sha256:{}", "a".repeat(64)),
        purl_name: Some("golden".into()),
        images: vec![
            IndexImage {
                digest: format!("sha256:{}", "b".repeat(64)),
                arch: "x86_64".into(),
            },
            IndexImage {
                digest: format!("sha256:{}", "c".repeat(64)),
                arch: "armv7".into(),
            },
        ],
        organization: None,
    };
    let doc = spdx_index_json(&input);
    assert_spdx_valid(&doc, "index");
    let v = json(&doc);
    assert_eq!(v["packages"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["packages"][0]["externalRefs"][0]["referenceLocator"],
        format!(
            "pkg:oci/golden@sha256:{}?mediaType=application%2Fvnd.oci.image.index.v1%2Bjson",
            "a".repeat(64)
        )
    );
    assert_eq!(v["relationships"][2]["relationshipType"], "VARIANT_OF");
    assert!(
        v["packages"][2]["externalRefs"][0]["referenceLocator"]
            .as_str()
            .unwrap()
            .contains("arch=arm%2Fv7")
    );
}

#[test]
fn documents_are_deterministic() {
    let pkgs = packages("alpine-3.19/x86_64/APKINDEX.tar.gz");
    let input = alpine_input(pkgs.clone());
    let mut reversed = pkgs;
    reversed.reverse();
    let shuffled = alpine_input(reversed);
    assert_eq!(spdx_json(&input), spdx_json(&input));
    assert_eq!(spdx_json(&input), spdx_json(&shuffled));
    assert_eq!(cyclonedx_json(&input), cyclonedx_json(&shuffled));

    let other = SbomInput {
        namespace_seed: "another".into(),
        ..input.clone()
    };
    let ns = |doc: &[u8]| json(doc)["documentNamespace"].as_str().unwrap().to_owned();
    assert_ne!(ns(&spdx_json(&input)), ns(&spdx_json(&other)));
    assert!(ns(&spdx_json(&input)).starts_with("https://spdx.org/spdxdocs/apkforge/"));
    let serial = |doc: &[u8]| json(doc)["serialNumber"].as_str().unwrap().to_owned();
    assert_ne!(
        serial(&cyclonedx_json(&input)),
        serial(&cyclonedx_json(&other))
    );
}

#[test]
fn cyclonedx_for_all_alpine_packages_validates() {
    let pkgs = packages("alpine-3.19/x86_64/APKINDEX.tar.gz");
    let doc = cyclonedx_json(&alpine_input(pkgs.clone()));
    assert_cyclonedx_valid(&doc);

    let v = json(&doc);
    assert_eq!(v["bomFormat"], "CycloneDX");
    assert_eq!(v["specVersion"], "1.5");
    assert_eq!(v["version"], 1);
    assert!(v["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"));
    assert_eq!(v["metadata"]["component"]["type"], "container");
    let components = v["components"].as_array().unwrap();
    let libraries: Vec<&Value> = components
        .iter()
        .filter(|c| c["type"] == "library")
        .collect();
    assert_eq!(libraries.len(), pkgs.len());
    let purls: BTreeSet<&str> = libraries
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(purls.len(), pkgs.len());
    assert!(purls.iter().all(|p| p.starts_with("pkg:apk/alpine/")));
    let busybox = libraries.iter().find(|c| c["name"] == "busybox").unwrap();
    assert_eq!(busybox["licenses"][0]["expression"], "GPL-2.0-only");
    let public_domain = libraries
        .iter()
        .find(|c| c["licenses"][0]["license"]["name"] == "Public-Domain");
    assert!(public_domain.is_some());
    assert_eq!(
        v["dependencies"][0]["dependsOn"].as_array().unwrap().len(),
        pkgs.len() + 1
    );
}
