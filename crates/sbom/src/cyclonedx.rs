//! CycloneDX 1.5 JSON.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids::{purl, uuid_v5};
use crate::license::normalize_license;
use crate::{MEDIA_TYPE_MANIFEST, SbomInput, TOOL, apk_purl, oci_arch, sorted_packages};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: &'static str,
    spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
}

#[derive(Serialize)]
struct Supplier {
    name: String,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    Expression { expression: String },
    License { license: NamedLicense },
}

#[derive(Serialize)]
struct NamedLicense {
    name: String,
}

#[derive(Serialize)]
struct ExternalReference {
    url: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

fn licenses(raw: &str) -> Vec<LicenseChoice> {
    let normalized = normalize_license(raw);
    if normalized.is_pure_spdx() {
        vec![LicenseChoice::Expression {
            expression: normalized.expression,
        }]
    } else if raw.trim().is_empty() {
        Vec::new()
    } else {
        vec![LicenseChoice::License {
            license: NamedLicense {
                name: raw.trim().to_owned(),
            },
        }]
    }
}

fn website(url: &str) -> Vec<ExternalReference> {
    let ok = !url.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        vec![ExternalReference {
            url: url.to_owned(),
            kind: "website",
        }]
    } else {
        Vec::new()
    }
}

/// The CycloneDX 1.5 JSON document for one image. Deterministic: the
/// `serialNumber` is a v5 UUID derived from the rest of the document.
pub fn cyclonedx_json(input: &SbomInput) -> Vec<u8> {
    let image_name = input
        .image_purl_name
        .clone()
        .unwrap_or_else(|| input.document_name.clone());
    let image_purl = match (&input.image_digest, &input.image_purl_name) {
        (Some(digest), Some(name)) => Some(purl(
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
        _ => None,
    };
    let image_ref = format!(
        "image:{}",
        input.image_digest.as_deref().unwrap_or(&image_name)
    );
    let os_ref = format!("os:{}", input.os_id);

    let mut components = vec![Component {
        kind: "operating-system",
        bom_ref: Some(os_ref.clone()),
        name: input.os_id.clone(),
        version: Some(input.os_version.clone()).filter(|v| !v.is_empty()),
        description: Some(input.os_name.clone()).filter(|v| !v.is_empty()),
        ..Component::default()
    }];
    let mut depends_on = vec![os_ref];
    for pkg in sorted_packages(&input.packages) {
        let purl = apk_purl(input, pkg);
        depends_on.push(purl.clone());
        components.push(Component {
            kind: "library",
            bom_ref: Some(purl.clone()),
            supplier: pkg
                .maintainer
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(|m| Supplier { name: m.to_owned() }),
            name: pkg.name.clone(),
            version: Some(pkg.version.clone()),
            description: Some(pkg.description.clone()).filter(|d| !d.is_empty()),
            hashes: pkg
                .checksum_sha1_hex
                .iter()
                .map(|hex| Hash {
                    alg: "SHA-1",
                    content: hex.to_ascii_lowercase(),
                })
                .collect(),
            licenses: licenses(&pkg.license),
            purl: Some(purl),
            external_references: website(&pkg.url),
        });
    }

    let mut bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.5",
        serial_number: None,
        version: 1,
        metadata: Metadata {
            timestamp: input.created.clone(),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: TOOL.to_owned(),
                    version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                    ..Component::default()
                }],
            },
            component: Component {
                kind: "container",
                bom_ref: Some(image_ref.clone()),
                supplier: input
                    .organization
                    .as_deref()
                    .filter(|o| !o.trim().is_empty())
                    .map(|o| Supplier {
                        name: o.trim().to_owned(),
                    }),
                name: image_name,
                version: input.image_digest.clone(),
                purl: image_purl,
                ..Component::default()
            },
        },
        components,
        dependencies: vec![Dependency {
            reference: image_ref,
            depends_on,
        }],
    };
    let unsigned = serde_json::to_vec(&bom).expect("CycloneDX documents always serialize");
    let content_hash = hex::encode(Sha256::digest(&unsigned));
    bom.serial_number = Some(format!(
        "urn:uuid:{}",
        uuid_v5(&format!(
            "{TOOL}:cyclonedx:{}:{content_hash}",
            input.namespace_seed
        ))
    ));
    let mut out = serde_json::to_vec_pretty(&bom).expect("CycloneDX documents always serialize");
    out.push(b'\n');
    out
}
