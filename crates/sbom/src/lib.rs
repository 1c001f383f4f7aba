//! SBOMs for images built from apk packages: SPDX 2.3 JSON (what apko
//! ships) and CycloneDX 1.5 JSON.
//!
//! # What goes in
//!
//! An [`SbomInput`] lists exactly the installed packages (one
//! [`SbomPackage`] each, taken from the installed database or index
//! records), the operating system (from `/etc/os-release`, or apko's
//! fallback `unknown` / `apko-generated image`), and optionally the image
//! digest and the name to use in `pkg:oci` purls. [`IndexSbomInput`]
//! describes a multi-architecture index.
//!
//! # SPDX ([`spdx_json`], [`spdx_index_json`])
//!
//! - Document: `SPDXRef-DOCUMENT`, `SPDX-2.3`, `CC0-1.0`, creators
//!   `Tool: apkforge-<version>` (plus `Organization: <organization>` when
//!   given), the license list version of the `spdx` crate, `created` as
//!   given. `documentNamespace` is
//!   `https://spdx.org/spdxdocs/apkforge/<uuid>` with a name-based (v5)
//!   UUID of the namespace seed, so the same input gives the same bytes.
//! - Packages: the image (`SPDXRef-Package-Image-<digest>`, purpose
//!   `CONTAINER`, SHA256 checksum and `pkg:oci/<name>@<digest>?arch=..&
//!   mediaType=..&os=linux` when known), the operating system
//!   (`SPDXRef-OperatingSystem-<id>`, purpose `OPERATING_SYSTEM`), then one
//!   package per apk sorted by name and version:
//!   `SPDXRef-Package-apk-<name>-<version>`, `versionInfo`,
//!   `licenseDeclared` (see below), `licenseConcluded`/`downloadLocation`/
//!   `copyrightText` `NOASSERTION`, `filesAnalyzed: false`, the apk URL as
//!   `homepage` when it is an http(s) URL, `originator`/`supplier`
//!   `Person: <name> (<email>)` from the maintainer (or `NOASSERTION`), the
//!   origin in `sourceInfo`, a SHA1 checksum when known, and the purl
//!   `pkg:apk/<namespace>/<name>@<version>?arch=<arch>[&distro=<distro>]`.
//! - Relationships: `DESCRIBES` (document → image), `CONTAINS` (image → OS
//!   and image → each apk). For an index: `DESCRIBES` (document → index)
//!   and `VARIANT_OF` (index → each image), as apko does.
//! - SPDX ids are `SPDXRef-` plus `[A-Za-z0-9.-]` (other characters become
//!   `C<code point>` as in apko) and are made unique.
//!
//! apko itself lists apks only through SBOMs embedded in the packages
//! (`/var/lib/db/sbom/*.spdx.json`) and silently drops packages without
//! one; Alpine packages have none, so this crate describes every installed
//! package from its metadata instead.
//!
//! # Licenses
//!
//! [`normalize_license`] makes any apk license string valid: SPDX list ids
//! are kept (case fixed; deprecated `GPL-2.0-with-classpath-exception`
//! style ids become `GPL-2.0-only WITH Classpath-exception-2.0`), unknown
//! ids and `WITH` unknown exceptions become `LicenseRef-apk-…` declared in
//! `hasExtractedLicensingInfos` with the original text (a given
//! `LicenseRef-x` becomes `LicenseRef-apk-x`: ScanCode-based validators
//! read some bare `LicenseRef-` names as their own exceptions), strings
//! that are not expressions become one `LicenseRef-apk-…`, and an empty
//! license is `NOASSERTION`. The tests run the
//! official validator (`pyspdxtools` from `spdx-tools`) on documents for
//! all 100 packages of the Alpine 3.19 fixture index.
//!
//! # CycloneDX ([`cyclonedx_json`])
//!
//! `bomFormat: CycloneDX`, `specVersion: 1.5`, `version: 1`, a
//! `serialNumber` that is a v5 UUID of the document's own content hash (no
//! randomness), `metadata.timestamp`, the tool as a 1.5 `tools.components`
//! entry, the image as `metadata.component` (type `container`), the OS
//! (type `operating-system`) and one `library` component per apk with
//! purl (also its `bom-ref`), SHA-1 hash, licenses (an `expression` when
//! it is pure SPDX, else the original text as a license `name`), supplier
//! and website; `dependencies` lists image → OS and apks. The tests check
//! it against the CycloneDX 1.5 JSON schema.
//!
//! # Tests
//!
//! `tests/validate.rs` builds documents from the real fixture indexes
//! (all 100 packages of Alpine 3.19 x86_64, one package per distinct
//! license string of the Alpine 3.19 `main` + `community` snapshot — 601
//! strings —, the Wolfi bootstrap index plus awkward names and licenses,
//! and an index document) and runs `pyspdxtools -i` on each (exit 0, no
//! errors); the CycloneDX document is checked against the 1.5 JSON schema
//! with `cyclonedx-python-lib`. The pip packages are in `TEST-DEPS-PIP`; a
//! missing one fails the test with its name. Determinism (same bytes for
//! the same input in any package order) is tested too.
//!
//! # Not done yet
//!
//! `DEPENDS_ON` between packages, per-layer packages, VCS source packages,
//! merging SBOMs embedded in packages, and links from the index document
//! to the per-architecture documents (`externalDocumentRefs`).
#![deny(missing_docs)]

mod cyclonedx;
mod ids;
mod license;
pub mod melange;
mod spdx_doc;

pub use cyclonedx::cyclonedx_json;
pub use license::{ExtractedLicense, NOASSERTION, NormalizedLicense, normalize_license};
pub use spdx_doc::{spdx_index_json, spdx_json, spdx_package_json};

/// Tool name in creators, descriptions and namespaces.
const TOOL: &str = "apkforge";
const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// One installed apk package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SbomPackage {
    /// Package name.
    pub name: String,
    /// Package version (`1.36.1-r15`).
    pub version: String,
    /// apk architecture (`x86_64`, `noarch`, ...).
    pub arch: String,
    /// License as in the apk; may be empty or not SPDX.
    pub license: String,
    /// One-line description.
    pub description: String,
    /// Project URL.
    pub url: String,
    /// Origin (source package) name; may be empty.
    pub origin: String,
    /// SHA-1 of the control section as lowercase hex (the apk's `C:` `Q1…`
    /// checksum decoded), when known.
    pub checksum_sha1_hex: Option<String>,
    /// Maintainer, usually `Name <email>`.
    pub maintainer: Option<String>,
}

/// Everything about one image's SBOM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SbomInput {
    /// Document name (apko: `sbom-sha256:<first layer digest>`).
    pub document_name: String,
    /// Seed for the deterministic `documentNamespace` / serial number.
    pub namespace_seed: String,
    /// Creation time, RFC 3339 (the build date).
    pub created: String,
    /// `ID` from os-release (apko's fallback: `unknown`).
    pub os_id: String,
    /// `NAME` from os-release (apko's fallback: `apko-generated image`).
    pub os_name: String,
    /// `VERSION_ID` from os-release.
    pub os_version: String,
    /// apk architecture of the image (`x86_64`).
    pub arch: String,
    /// Manifest digest `sha256:<hex>`, when known.
    pub image_digest: Option<String>,
    /// Repository name for `pkg:oci` purls (e.g. `golden`), when known.
    pub image_purl_name: Option<String>,
    /// Exactly the installed packages.
    pub packages: Vec<SbomPackage>,
    /// purl `distro` qualifier, e.g. `alpine-3.19.1`.
    pub distro: Option<String>,
    /// purl namespace: `alpine`, `wolfi`, ...
    pub namespace: String,
    /// Creator organization, e.g. `Chainguard, Inc`; also the image's
    /// supplier. `None` leaves both out / `NOASSERTION`.
    pub organization: Option<String>,
}

/// One per-architecture image of an index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexImage {
    /// Manifest digest `sha256:<hex>`.
    pub digest: String,
    /// apk architecture (`x86_64`, `aarch64`, ...).
    pub arch: String,
}

/// Everything about a multi-architecture index's SBOM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexSbomInput {
    /// Document name (apko: `sbom-sha256:<index digest>`).
    pub document_name: String,
    /// Seed for the deterministic `documentNamespace`.
    pub namespace_seed: String,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Index digest `sha256:<hex>`.
    pub index_digest: String,
    /// Repository name for `pkg:oci` purls, when known.
    pub purl_name: Option<String>,
    /// The images, in index order.
    pub images: Vec<IndexImage>,
    /// Creator organization / supplier.
    pub organization: Option<String>,
}

/// OCI architecture and variant of an apk architecture (unknown names are
/// passed through).
fn oci_platform(apk_arch: &str) -> (&str, Option<&'static str>) {
    match apk_arch {
        "x86" => ("386", None),
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", None),
        "armhf" => ("arm", Some("v6")),
        "armv7" => ("arm", Some("v7")),
        "loongarch64" => ("loong64", None),
        other => (other, None),
    }
}

/// OCI architecture with its variant, `arm/v7` style.
fn oci_arch(apk_arch: &str) -> String {
    match oci_platform(apk_arch) {
        (arch, Some(variant)) => format!("{arch}/{variant}"),
        (arch, None) => arch.to_owned(),
    }
}

/// `Name <email>` → `Person: Name (email)`; `None` for an empty string.
fn person_actor(maintainer: &str) -> Option<String> {
    let m = maintainer.trim();
    if m.is_empty() {
        return None;
    }
    let clean = |s: &str| s.replace(['(', ')'], "").trim().to_owned();
    Some(match (m.rfind('<'), m.rfind('>')) {
        (Some(lt), Some(gt)) if lt < gt => {
            let name = clean(&m[..lt]);
            let email = clean(&m[lt + 1..gt]);
            match (name.is_empty(), email.is_empty()) {
                (false, false) => format!("Person: {name} ({email})"),
                (true, false) => format!("Person: {email} ({email})"),
                _ => format!("Person: {}", clean(m)),
            }
        }
        _ => format!("Person: {}", clean(m)),
    })
}

/// Packages sorted by name, then version (input order does not matter).
fn sorted_packages(packages: &[SbomPackage]) -> Vec<&SbomPackage> {
    let mut sorted: Vec<&SbomPackage> = packages.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    sorted
}

/// `pkg:apk/<namespace>/<name>@<version>?arch=<arch>[&distro=<distro>]`.
fn apk_purl(input: &SbomInput, pkg: &SbomPackage) -> String {
    ids::purl(
        "apk",
        Some(&input.namespace.to_ascii_lowercase()),
        &pkg.name.to_ascii_lowercase(),
        Some(&pkg.version),
        &[
            ("arch", &pkg.arch),
            ("distro", input.distro.as_deref().unwrap_or("")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::{oci_arch, person_actor};

    #[test]
    fn maintainers_become_person_actors() {
        assert_eq!(
            person_actor("Natanael Copa <ncopa@alpinelinux.org>").as_deref(),
            Some("Person: Natanael Copa (ncopa@alpinelinux.org)")
        );
        assert_eq!(
            person_actor("Just A Name").as_deref(),
            Some("Person: Just A Name")
        );
        assert_eq!(
            person_actor("<x@y.z>").as_deref(),
            Some("Person: x@y.z (x@y.z)")
        );
        assert_eq!(person_actor("  "), None);
    }

    #[test]
    fn apk_arches_map_to_oci() {
        assert_eq!(oci_arch("x86_64"), "amd64");
        assert_eq!(oci_arch("armv7"), "arm/v7");
        assert_eq!(oci_arch("s390x"), "s390x");
    }
}
