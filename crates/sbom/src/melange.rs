//! The SPDX 2.3 document melange puts in each package it builds
//! (`/var/lib/db/sbom/<name>-<version>.spdx.json`): the distribution as
//! operating system, the package itself (license, purl, CPE), the recipe it
//! was built from, and the upstream sources its `fetch` and `git-checkout`
//! steps brought in.

use serde::Serialize;

use crate::ids::purl_encode;
use crate::license::NOASSERTION;

/// Everything that goes into one package's document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageDocument {
    /// Package name.
    pub name: String,
    /// Full version (`1.2.3-r0`).
    pub version: String,
    /// apk architecture.
    pub arch: String,
    /// The distribution (`--namespace`: `wolfi`, `alpine`; melange's
    /// default is `unknown`): the operating system, the supplier, and the
    /// purl namespace.
    pub namespace: String,
    /// The license expression ([`license_expression`]); empty for
    /// `NOASSERTION`.
    pub license: String,
    /// Copyright attestations, one per line; empty for `NOASSERTION`.
    pub copyright: String,
    /// `cpe:2.3:…`, when the recipe names a vendor and product.
    pub cpe: Option<String>,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Upstream sources of a subpackage's own pipeline (listed before the
    /// recipe, as melange lists them).
    pub own_sources: Vec<UpstreamSource>,
    /// The recipe file, when its repository and commit are known.
    pub recipe: Option<RecipeSource>,
    /// Upstream sources of the main pipeline, in order.
    pub sources: Vec<UpstreamSource>,
    /// `LicenseRef-…` ids with the text they stand for.
    pub licensing_infos: Vec<(String, String)>,
}

/// The recipe a package was built from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipeSource {
    /// The recipe's path as given on the command line.
    pub path: String,
    /// Commit of its repository.
    pub commit: String,
    /// URL of its repository.
    pub repository: String,
    /// The recipe's own license (`--license`); empty for `NOASSERTION`.
    pub license: String,
}

/// Source code a step brought in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamSource {
    /// Parts of the SPDX id after `Source` (melange's `IDComponents`).
    pub id_parts: Vec<String>,
    /// Name.
    pub name: String,
    /// Version (tag, commit or the fetched version).
    pub version: String,
    /// License; empty for `NOASSERTION`.
    pub license: String,
    /// Supplier organization (lower case; title-cased as melange does).
    pub supplier: String,
    /// Where it was downloaded from.
    pub download_location: String,
    /// The package URL.
    pub purl: String,
    /// `(algorithm, hex)`, e.g. `("SHA256", "…")`.
    pub checksums: Vec<(String, String)>,
}

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
    document_describes: Vec<String>,
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
    #[serde(
        rename = "hasExtractedLicensingInfos",
        skip_serializing_if = "Vec::is_empty"
    )]
    licensing_infos: Vec<LicensingInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    license_list_version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    version_info: String,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
    download_location: String,
    originator: String,
    supplier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    copyright_text: Option<String>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: String,
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
struct LicensingInfo {
    license_id: String,
    extracted_text: String,
}

/// melange's `stringToIdentifier`: `:` and `/` become `-`; letters,
/// digits, `-` and `.` stay; anything else becomes `C<code point>`.
pub fn spdx_identifier(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ':' | '/' => out.push('-'),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '.' => out.push(c),
            c => out.push_str(&format!("C{}", c as u32)),
        }
    }
    out
}

/// Go's `cases.Title` for the names melange turns into organizations:
/// the first letter of each word upper case, the rest lower case.
pub fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = c != '\'';
        }
    }
    out
}

/// A package URL as melange's purl library writes it: `pkg:type/`
/// then namespace and name percent-encoded, `@version`, qualifiers sorted
/// by key (empty ones left out), and `#subpath` with each segment encoded.
pub fn package_url(
    kind: &str,
    namespace: &str,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
    subpath: &str,
) -> String {
    let mut out = format!("pkg:{kind}/");
    if !namespace.is_empty() {
        let parts: Vec<String> = namespace.split('/').map(purl_encode).collect();
        out.push_str(&parts.join("/"));
        out.push('/');
    }
    out.push_str(&purl_encode(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&purl_encode(version));
    }
    let mut q: Vec<&(&str, &str)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    q.sort();
    for (i, (k, v)) in q.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&purl_encode(v));
    }
    let segments: Vec<String> = subpath
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .map(purl_encode)
        .collect();
    if !segments.is_empty() {
        out.push('#');
        out.push_str(&segments.join("/"));
    }
    out
}

/// melange's `LicenseExpression`: each copyright entry's license (kept
/// when it is an SPDX expression, else as `LicenseRef-…`), joined with
/// ` AND `. Returns the expression and the `LicenseRef-…` ids made, each
/// with the license text it stands for.
pub fn license_expression(licenses: &[String]) -> (String, Vec<(String, String)>) {
    let mut parts = Vec::new();
    let mut refs = Vec::new();
    for l in licenses {
        if l.is_empty() {
            parts.push(String::new());
            continue;
        }
        if spdx::Expression::parse(l).is_ok() {
            parts.push(l.clone());
        } else {
            let id = license_ref(l);
            refs.push((id.clone(), l.clone()));
            parts.push(id);
        }
    }
    (parts.join(" AND "), refs)
}

/// melange's `toLicenseRef`.
pub fn license_ref(license: &str) -> String {
    let mut s = String::new();
    for c in license.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' => s.push(c),
            ' ' | '_' => s.push('-'),
            _ => {}
        }
    }
    if s.is_empty() {
        use sha2::{Digest, Sha256};
        s = hex::encode(&Sha256::digest(license.as_bytes())[..8]);
    }
    format!("LicenseRef-{s}")
}

/// Whether SPDX accepts `s` as a download location (the pattern of the
/// SPDX tools: an optional VCS prefix and scheme, a host name with a
/// top-level domain of 2 to 5 letters, an optional port and path). melange
/// writes any URL; a host given as an IP address, for one, makes the
/// document invalid, so such locations become `NOASSERTION` (the purl keeps
/// the URL).
pub fn valid_download_location(s: &str) -> bool {
    let mut rest = s;
    for vcs in ["git+", "hg+", "svn+", "bzr+"] {
        if let Some(r) = rest.strip_prefix(vcs) {
            rest = r;
            break;
        }
    }
    for scheme in ["http://www.", "https://www.", "http://", "https://"] {
        if let Some(r) = rest.strip_prefix(scheme) {
            rest = r;
            break;
        }
    }
    let host_port = rest.split('/').next().unwrap_or("");
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let Some((labels, tld)) = host.rsplit_once('.') else {
        return false;
    };
    let tld_ok = (2..=5).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_lowercase());
    let labels_ok = !labels.is_empty()
        && labels.split(['.', '-']).all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    tld_ok && labels_ok
}

fn or_noassertion(s: &str) -> String {
    if s.is_empty() {
        NOASSERTION.to_string()
    } else {
        s.to_string()
    }
}

fn organization(name: &str) -> String {
    format!("Organization: {}", title_case(name))
}

fn purl_ref(locator: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_locator: locator,
        reference_type: "purl",
    }
}

/// FNV-1a, 128 bits (Go's `hash/fnv.New128a`), as hex.
fn fnv128a(data: &[u8]) -> String {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in data {
        h ^= u128::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:032x}")
}

/// The package's document as JSON (two-space indent, as melange writes it).
pub fn package_document_json(doc: &PackageDocument) -> Vec<u8> {
    let supplier = organization(&doc.namespace);
    let apk_id = format!(
        "SPDXRef-Package-{}",
        spdx_identifier(&format!("apk-{}-{}", doc.name, doc.version))
    );
    let mut apk_qualifiers = vec![("arch", doc.arch.as_str())];
    if doc.namespace != "unknown" {
        apk_qualifiers.push(("distro", doc.namespace.as_str()));
    }
    let mut external_refs = vec![purl_ref(package_url(
        "apk",
        &doc.namespace,
        &doc.name,
        &doc.version,
        &apk_qualifiers,
        "",
    ))];
    if let Some(cpe) = &doc.cpe {
        external_refs.push(ExternalRef {
            reference_category: "SECURITY",
            reference_locator: cpe.clone(),
            reference_type: "cpe23Type",
        });
    }
    let mut packages = vec![
        Package {
            spdx_id: "SPDXRef-OperatingSystem".into(),
            name: doc.namespace.clone(),
            version_info: String::new(),
            files_analyzed: false,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.into(),
            description: Some("Operating System"),
            download_location: NOASSERTION.into(),
            originator: supplier.clone(),
            supplier: supplier.clone(),
            copyright_text: None,
            primary_package_purpose: "OPERATING-SYSTEM",
            checksums: Vec::new(),
            external_refs: Vec::new(),
        },
        Package {
            spdx_id: apk_id.clone(),
            name: doc.name.clone(),
            version_info: doc.version.clone(),
            files_analyzed: false,
            license_concluded: NOASSERTION,
            license_declared: or_noassertion(&doc.license),
            description: None,
            download_location: NOASSERTION.into(),
            originator: supplier.clone(),
            supplier: supplier.clone(),
            copyright_text: Some(or_noassertion(&doc.copyright)),
            primary_package_purpose: "APPLICATION",
            checksums: Vec::new(),
            external_refs,
        },
    ];
    let mut relationships = Vec::new();
    let add_source =
        |s: &UpstreamSource, packages: &mut Vec<Package>, relationships: &mut Vec<Relationship>| {
            let id = format!(
                "SPDXRef-Package-{}",
                spdx_identifier(&format!("Source-{}", s.id_parts.join("-")))
            );
            let supplier = organization(&s.supplier);
            packages.push(Package {
                spdx_id: id.clone(),
                name: s.name.clone(),
                version_info: s.version.clone(),
                files_analyzed: false,
                license_concluded: NOASSERTION,
                license_declared: or_noassertion(&s.license),
                description: None,
                download_location: if valid_download_location(&s.download_location) {
                    s.download_location.clone()
                } else {
                    NOASSERTION.to_string()
                },
                originator: supplier.clone(),
                supplier,
                copyright_text: None,
                primary_package_purpose: "SOURCE",
                checksums: s
                    .checksums
                    .iter()
                    .map(|(a, v)| Checksum {
                        algorithm: a.clone(),
                        checksum_value: v.clone(),
                    })
                    .collect(),
                external_refs: vec![purl_ref(s.purl.clone())],
            });
            relationships.push(Relationship {
                spdx_element_id: apk_id.clone(),
                relationship_type: "GENERATED_FROM",
                related_spdx_element: id,
            });
        };
    for s in &doc.own_sources {
        add_source(s, &mut packages, &mut relationships);
    }
    if let Some(r) = &doc.recipe {
        let id = format!(
            "SPDXRef-Package-{}",
            spdx_identifier(&format!("Melange-{}-{}", r.path, r.commit))
        );
        let mut refs = Vec::new();
        if let Some(rest) = r.repository.strip_prefix("https://github.com/")
            && let Some((owner, repo)) = rest.trim_end_matches('/').split_once('/')
        {
            refs.push(purl_ref(package_url(
                "github",
                &owner.to_ascii_lowercase(),
                &repo.trim_end_matches(".git").to_ascii_lowercase(),
                &r.commit,
                &[],
                &r.path,
            )));
        }
        packages.push(Package {
            spdx_id: id.clone(),
            name: r.path.clone(),
            version_info: r.commit.clone(),
            files_analyzed: false,
            license_concluded: NOASSERTION,
            license_declared: or_noassertion(&r.license),
            description: None,
            download_location: NOASSERTION.into(),
            originator: supplier.clone(),
            supplier: supplier.clone(),
            copyright_text: None,
            primary_package_purpose: "INSTALL",
            checksums: Vec::new(),
            external_refs: refs,
        });
        relationships.push(Relationship {
            spdx_element_id: apk_id.clone(),
            relationship_type: "DESCRIBED_BY",
            related_spdx_element: id,
        });
    }
    for s in &doc.sources {
        add_source(s, &mut packages, &mut relationships);
    }
    let document = Document {
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("apk-{}-{}", doc.name, doc.version),
        spdx_version: "SPDX-2.3",
        creation_info: CreationInfo {
            created: doc.created.clone(),
            creators: vec![format!(
                "Tool: {}-{}",
                crate::TOOL,
                env!("CARGO_PKG_VERSION")
            )],
            license_list_version: "3.22",
        },
        data_license: "CC0-1.0",
        // melange hashes `apk-<namespace>-<version>`, which gives a package
        // and its subpackages the same namespace; the name keeps each
        // document's namespace its own, as SPDX requires.
        document_namespace: format!(
            "https://spdx.org/spdxdocs/{}/melange/{}",
            crate::TOOL,
            fnv128a(format!("apk-{}-{}-{}", doc.namespace, doc.name, doc.version).as_bytes())
        ),
        document_describes: vec![apk_id],
        packages,
        relationships,
        licensing_infos: doc
            .licensing_infos
            .iter()
            .map(|(id, text)| LicensingInfo {
                license_id: id.clone(),
                extracted_text: text.clone(),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&document).expect("SPDX documents always serialize");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_titles_and_purls_as_melange_writes_them() {
        assert_eq!(
            spdx_identifier("Melange-testdata/build_configs/crane.yaml-c0ffee"),
            "Melange-testdata-buildC95configs-crane.yaml-c0ffee"
        );
        assert_eq!(title_case("wolfi"), "Wolfi");
        assert_eq!(title_case("test-ns"), "Test-Ns");
        assert_eq!(
            package_url(
                "github",
                "wolfi-dev",
                "os",
                "c0ffee",
                &[],
                "testdata/build_configs/crane.yaml"
            ),
            "pkg:github/wolfi-dev/os@c0ffee#testdata/build_configs/crane.yaml"
        );
        assert_eq!(
            package_url(
                "generic",
                "",
                "git/sed",
                "v4.9",
                &[(
                    "vcs_url",
                    "git+https://git.savannah.gnu.org/git/sed.git@7e2e"
                )],
                ""
            ),
            "pkg:generic/git%2Fsed@v4.9?vcs_url=git%2Bhttps:%2F%2Fgit.savannah.gnu.org%2Fgit%2Fsed.git%407e2e"
        );
        assert_eq!(
            license_expression(&["MIT".into(), "Custom License".into()]),
            (
                "MIT AND LicenseRef-Custom-License".to_string(),
                vec![(
                    "LicenseRef-Custom-License".to_string(),
                    "Custom License".to_string()
                )]
            )
        );
        assert!(valid_download_location(
            "https://7-zip.org/a/7z2301-src.tar.xz"
        ));
        assert!(valid_download_location("https://example.com:8443/x.tar.gz"));
        assert!(!valid_download_location(
            "http://127.0.0.1:41447/hello-1.0.0.tar.gz"
        ));
        assert!(!valid_download_location(""));
        // Go's fnv128a of "" is the offset basis; melange's crane golden
        // document's namespace hashes "apk-wolfi-0.20.2-r1".
        assert_eq!(fnv128a(b""), "6c62272e07bb014262b821756295c58d");
        assert_eq!(
            fnv128a(b"apk-wolfi-0.20.2-r1"),
            "be3c22f08feabeabd0f5c9cc9677dafc"
        );
    }
}
