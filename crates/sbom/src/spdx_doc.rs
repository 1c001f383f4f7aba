//! SPDX 2.3 JSON documents (field order as apko writes them).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::ids::{IdAllocator, purl, uuid_v5};
use crate::license::{ExtractedLicense, NOASSERTION, normalize_license};
use crate::{
    IndexSbomInput, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, SbomInput, SbomPackage, TOOL, oci_arch,
    person_actor, sorted_packages,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    spdx_version: &'static str,
    creation_info: CreationInfo,
    data_license: &'static str,
    document_namespace: String,
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
    #[serde(
        rename = "hasExtractedLicensingInfos",
        skip_serializing_if = "Vec::is_empty"
    )]
    extracted_licensing_infos: Vec<ExtractedLicensingInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    license_list_version: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_concluded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_declared: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    download_location: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    originator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    copyright_text: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_locator: String,
    reference_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicensingInfo {
    license_id: String,
    extracted_text: String,
    name: String,
    comment: &'static str,
}

fn purl_ref(locator: String) -> Vec<ExternalRef> {
    vec![ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_locator: locator,
        reference_type: "purl",
    }]
}

fn relationship(from: &str, kind: &'static str, to: &str) -> Relationship {
    Relationship {
        spdx_element_id: from.to_owned(),
        relationship_type: kind,
        related_spdx_element: to.to_owned(),
    }
}

fn sha256_checksum(digest: &str) -> Vec<Checksum> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            vec![Checksum {
                algorithm: "SHA256",
                checksum_value: hex.to_ascii_lowercase(),
            }]
        }
        _ => Vec::new(),
    }
}

/// A homepage the validator accepts: an http(s) URL without whitespace.
fn homepage(url: &str) -> Option<String> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && url.len() > "https://".len();
    ok.then(|| url.to_owned())
}

fn organization(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        NOASSERTION.to_owned()
    } else {
        format!("Organization: {name}")
    }
}

fn creation_info(created: &str, organization_name: Option<&str>) -> CreationInfo {
    let mut creators = vec![format!("Tool: {TOOL}-{}", env!("CARGO_PKG_VERSION"))];
    if let Some(org) = organization_name.filter(|o| !o.trim().is_empty()) {
        creators.push(format!("Organization: {}", org.trim()));
    }
    CreationInfo {
        created: created.to_owned(),
        creators,
        license_list_version: license_list_version(),
    }
}

/// `3.29` from the `spdx` crate's `3.29.0`: SPDX writes major.minor.
fn license_list_version() -> String {
    let v = spdx::license_version();
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => v.to_owned(),
    }
}

fn namespace_uri(kind: &str, seed: &str) -> String {
    format!(
        "https://spdx.org/spdxdocs/{TOOL}/{}",
        uuid_v5(&format!("{TOOL}:{kind}:{seed}"))
    )
}

fn extracted_infos(all: BTreeSet<ExtractedLicense>) -> Vec<ExtractedLicensingInfo> {
    all.into_iter()
        .map(|e| ExtractedLicensingInfo {
            license_id: e.id,
            name: e.text.clone(),
            extracted_text: e.text,
            comment: "License text as declared in the apk package metadata; not an SPDX license list identifier or expression",
        })
        .collect()
}

fn to_json(doc: &Document) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(doc).expect("SPDX documents always serialize");
    out.push(b'\n');
    out
}

/// The SPDX 2.3 JSON document for one image: the image (purpose
/// `CONTAINER`), its operating system, and every installed apk.
pub fn spdx_json(input: &SbomInput) -> Vec<u8> {
    let mut ids = IdAllocator::default();
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let mut licenses = BTreeSet::new();

    // The image itself.
    let image_name = input
        .image_purl_name
        .clone()
        .unwrap_or_else(|| input.document_name.clone());
    let image_id = match &input.image_digest {
        Some(digest) => ids.id("Package-Image-", digest),
        None => ids.id("Package-Image-", &image_name),
    };
    let image_purl = match (&input.image_digest, &input.image_purl_name) {
        (Some(digest), Some(name)) => purl_ref(purl(
            "oci",
            None,
            &name.to_ascii_lowercase(),
            Some(digest),
            &[
                ("arch", &oci_arch(&input.arch)),
                ("mediaType", MEDIA_TYPE_MANIFEST),
                ("os", "linux"),
            ],
        )),
        _ => Vec::new(),
    };
    packages.push(Package {
        spdx_id: image_id.clone(),
        name: image_name,
        version_info: input.image_digest.clone(),
        description: Some(format!("{TOOL} container image")),
        download_location: NOASSERTION,
        supplier: Some(organization(input.organization.as_deref().unwrap_or(""))),
        primary_package_purpose: Some("CONTAINER"),
        checksums: input
            .image_digest
            .as_deref()
            .map(sha256_checksum)
            .unwrap_or_default(),
        external_refs: image_purl,
        ..Package::default()
    });
    relationships.push(relationship("SPDXRef-DOCUMENT", "DESCRIBES", &image_id));

    // The operating system.
    let os_id = ids.id("OperatingSystem-", &input.os_id);
    packages.push(Package {
        spdx_id: os_id.clone(),
        name: input.os_id.clone(),
        version_info: Some(input.os_version.clone()).filter(|v| !v.is_empty()),
        description: Some("Operating System".to_owned()),
        download_location: NOASSERTION,
        supplier: Some(organization(&input.os_name)),
        primary_package_purpose: Some("OPERATING_SYSTEM"),
        ..Package::default()
    });
    relationships.push(relationship(&image_id, "CONTAINS", &os_id));

    // The apks.
    for pkg in sorted_packages(&input.packages) {
        let (id, package) = apk_package(&mut ids, input, pkg, &mut licenses);
        packages.push(package);
        relationships.push(relationship(&image_id, "CONTAINS", &id));
    }

    to_json(&Document {
        spdx_id: "SPDXRef-DOCUMENT",
        name: input.document_name.clone(),
        spdx_version: "SPDX-2.3",
        creation_info: creation_info(&input.created, input.organization.as_deref()),
        data_license: "CC0-1.0",
        document_namespace: namespace_uri("spdx", &input.namespace_seed),
        packages,
        relationships,
        extracted_licensing_infos: extracted_infos(licenses),
    })
}

/// The SPDX package for one apk (licenses that need extracted text are
/// added to `licenses`).
fn apk_package(
    ids: &mut IdAllocator,
    input: &SbomInput,
    pkg: &SbomPackage,
    licenses: &mut BTreeSet<ExtractedLicense>,
) -> (String, Package) {
    let id = ids.id("Package-apk-", &format!("{}-{}", pkg.name, pkg.version));
    let license = normalize_license(&pkg.license);
    licenses.extend(license.extracted);
    let maintainer = pkg
        .maintainer
        .as_deref()
        .and_then(person_actor)
        .unwrap_or_else(|| NOASSERTION.to_owned());
    let package = Package {
        spdx_id: id.clone(),
        name: pkg.name.clone(),
        version_info: Some(pkg.version.clone()),
        license_concluded: Some(NOASSERTION.to_owned()),
        license_declared: Some(license.expression),
        description: Some(pkg.description.clone()).filter(|d| !d.is_empty()),
        download_location: NOASSERTION,
        homepage: homepage(&pkg.url),
        originator: Some(maintainer.clone()),
        supplier: Some(maintainer),
        source_info: (!pkg.origin.is_empty() && pkg.origin != pkg.name)
            .then(|| format!("built from the {} source package", pkg.origin)),
        copyright_text: Some(NOASSERTION),
        primary_package_purpose: Some("APPLICATION"),
        checksums: pkg
            .checksum_sha1_hex
            .iter()
            .map(|hex| Checksum {
                algorithm: "SHA1",
                checksum_value: hex.to_ascii_lowercase(),
            })
            .collect(),
        external_refs: purl_ref(crate::apk_purl(input, pkg)),
        ..Package::default()
    };
    (id, package)
}

/// The SPDX 2.3 JSON document a package carries for itself (melange writes
/// it to `var/lib/db/sbom/<name>-<version>.spdx.json`): it describes the
/// one apk.
pub fn spdx_package_json(input: &SbomInput, pkg: &SbomPackage) -> Vec<u8> {
    let mut ids = IdAllocator::default();
    let mut licenses = BTreeSet::new();
    let (id, package) = apk_package(&mut ids, input, pkg, &mut licenses);
    to_json(&Document {
        spdx_id: "SPDXRef-DOCUMENT",
        name: input.document_name.clone(),
        spdx_version: "SPDX-2.3",
        creation_info: creation_info(&input.created, input.organization.as_deref()),
        data_license: "CC0-1.0",
        document_namespace: namespace_uri("spdx", &input.namespace_seed),
        packages: vec![package],
        relationships: vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", &id)],
        extracted_licensing_infos: extracted_infos(licenses),
    })
}

/// The SPDX 2.3 JSON document for a multi-architecture index: the index
/// (purpose `CONTAINER`) and one package per image, each related to the
/// index by `VARIANT_OF` (as apko does).
pub fn spdx_index_json(input: &IndexSbomInput) -> Vec<u8> {
    let mut ids = IdAllocator::default();
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let supplier = organization(input.organization.as_deref().unwrap_or(""));
    let name = input
        .purl_name
        .clone()
        .unwrap_or_else(|| input.document_name.clone());

    let index_id = ids.id("Package-", &input.index_digest);
    packages.push(Package {
        spdx_id: index_id.clone(),
        name: name.clone(),
        version_info: Some(input.index_digest.clone()),
        description: Some("Multi-arch image index".to_owned()),
        download_location: NOASSERTION,
        supplier: Some(supplier.clone()),
        primary_package_purpose: Some("CONTAINER"),
        checksums: sha256_checksum(&input.index_digest),
        external_refs: input
            .purl_name
            .as_deref()
            .map(|n| {
                purl_ref(purl(
                    "oci",
                    None,
                    &n.to_ascii_lowercase(),
                    Some(&input.index_digest),
                    &[("mediaType", MEDIA_TYPE_INDEX)],
                ))
            })
            .unwrap_or_default(),
        ..Package::default()
    });
    relationships.push(relationship("SPDXRef-DOCUMENT", "DESCRIBES", &index_id));

    for image in &input.images {
        let id = ids.id("Package-", &image.digest);
        let arch = oci_arch(&image.arch);
        packages.push(Package {
            spdx_id: id.clone(),
            name: format!("{name} ({arch})"),
            version_info: Some(image.digest.clone()),
            download_location: NOASSERTION,
            supplier: Some(supplier.clone()),
            primary_package_purpose: Some("CONTAINER"),
            checksums: sha256_checksum(&image.digest),
            external_refs: input
                .purl_name
                .as_deref()
                .map(|n| {
                    purl_ref(purl(
                        "oci",
                        None,
                        &n.to_ascii_lowercase(),
                        Some(&image.digest),
                        &[
                            ("arch", &arch),
                            ("mediaType", MEDIA_TYPE_MANIFEST),
                            ("os", "linux"),
                        ],
                    ))
                })
                .unwrap_or_default(),
            ..Package::default()
        });
        relationships.push(relationship(&index_id, "VARIANT_OF", &id));
    }

    to_json(&Document {
        spdx_id: "SPDXRef-DOCUMENT",
        name: input.document_name.clone(),
        spdx_version: "SPDX-2.3",
        creation_info: creation_info(&input.created, input.organization.as_deref()),
        data_license: "CC0-1.0",
        document_namespace: namespace_uri("spdx-index", &input.namespace_seed),
        packages,
        relationships,
        extracted_licensing_infos: Vec::new(),
    })
}
