//! Each package's SPDX document, with what melange puts in it: the
//! license, the CPE, the package URL under the distribution's namespace,
//! the recipe it came from, and the upstream sources its `fetch` and
//! `git-checkout` steps brought in (with checksums and commits).

use std::path::Path;

use recipe::{CompiledRecipe, CompiledStep};
use sbom::melange::{
    PackageDocument, RecipeSource, UpstreamSource, license_expression, license_ref,
};

use crate::PkgBuildError;

/// What the SBOM says about where a build comes from.
#[derive(Clone, Debug)]
pub struct SbomOptions {
    /// The distribution: operating system, supplier and purl namespace
    /// (melange's `--namespace`, default `unknown`).
    pub namespace: String,
    /// The recipe's repository, commit and license (melange's
    /// `--git-repo-url`, `--git-commit`, `--license`), when known.
    pub recipe: Option<RecipeSource>,
}

impl Default for SbomOptions {
    fn default() -> Self {
        SbomOptions {
            namespace: "unknown".into(),
            recipe: None,
        }
    }
}

/// melange's `CPEString`, when the recipe names a vendor and a product.
fn cpe(recipe: &CompiledRecipe) -> Option<String> {
    let p = &recipe.package;
    let c = &p.cpe;
    if c.vendor.is_empty() || c.product.is_empty() {
        return None;
    }
    let or_any = |s: &str| {
        if s.is_empty() {
            "*".to_string()
        } else {
            s.to_string()
        }
    };
    let part = if c.part.is_empty() {
        "a"
    } else {
        c.part.as_str()
    };
    Some(format!(
        "cpe:2.3:{part}:{}:{}:{}:{}:*:{}:{}:{}:{}:{}",
        c.vendor.as_str(),
        c.product.as_str(),
        p.version.as_str(),
        or_any(&c.edition),
        or_any(&c.language),
        or_any(&c.sw_edition),
        or_any(&c.target_sw),
        or_any(&c.target_hw),
        or_any(&c.other),
    ))
}

/// The upstream source a top-level step brings in (melange's
/// `SBOMPackageForUpstreamSource`); `index` is the step's position.
fn upstream(
    step: &CompiledStep,
    recipe: &CompiledRecipe,
    license: &str,
    namespace: &str,
    index: usize,
) -> Option<UpstreamSource> {
    let with = |k: &str| step.with.get(k).map(String::as_str).unwrap_or("");
    match step.uses.as_str() {
        "fetch" => {
            let uri = with("uri");
            let mut qualifiers = vec![("download_url".to_string(), uri.to_string())];
            let mut checksums = Vec::new();
            for (input, alg, prefix) in [
                ("expected-sha256", "SHA256", "sha256:"),
                ("expected-sha512", "SHA512", "sha512:"),
            ] {
                let v = with(input);
                if !v.is_empty() {
                    qualifiers.retain(|(k, _)| k != "checksum");
                    qualifiers.push(("checksum".into(), format!("{prefix}{v}")));
                    checksums.push((alg.to_string(), v.to_string()));
                }
            }
            // The defaults of the fetch pipeline's purl inputs.
            let name = Some(with("purl-name"))
                .filter(|s| !s.is_empty())
                .unwrap_or(recipe.package.name.as_str())
                .to_string();
            let version = Some(with("purl-version"))
                .filter(|s| !s.is_empty())
                .unwrap_or(recipe.package.version.as_str())
                .to_string();
            let q: Vec<(&str, &str)> = qualifiers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Some(UpstreamSource {
                id_parts: vec![name.clone(), version.clone(), index.to_string()],
                purl: sbom::melange::package_url("generic", "", &name, &version, &q, ""),
                name,
                version,
                license: String::new(),
                supplier: namespace.to_string(),
                download_location: uri.to_string(),
                checksums,
            })
        }
        "git-checkout" => {
            let repo = with("repository");
            let (tag, branch, commit) = (with("tag"), with("branch"), with("expected-commit"));
            let reference = if !commit.is_empty() { commit } else { tag };
            if reference.is_empty() {
                return None;
            }
            let cleaned = repo
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let mut id_parts: Vec<String> = [cleaned, branch, tag, commit]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string())
                .collect();
            id_parts.push(index.to_string());
            let (scheme, rest) = repo.split_once("://").unwrap_or(("https", repo));
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let path = path.trim_end_matches(".git");
            // Prefer the tag to the commit as the version, as melange does.
            let version = if tag.is_empty() { commit } else { tag };
            let (owner, name) = path.split_once('/').unwrap_or(("", path));
            let (name, supplier, purl, download) = if host == "github.com" {
                (
                    name.to_string(),
                    owner.to_string(),
                    sbom::melange::package_url(
                        "github",
                        &owner.to_ascii_lowercase(),
                        &name.to_ascii_lowercase(),
                        version,
                        &[],
                        "",
                    ),
                    format!("{scheme}://github.com/{owner}/{name}/archive/{reference}.tar.gz"),
                )
            } else {
                let mut vcs = if repo.starts_with("git") {
                    repo.to_string()
                } else {
                    format!("git+{repo}")
                };
                if !commit.is_empty() {
                    vcs = format!("{vcs}@{commit}");
                }
                use sha2::Digest as _;
                let digest = hex::encode(sha2::Sha256::digest(path.as_bytes()));
                (
                    path.to_string(),
                    namespace.to_string(),
                    sbom::melange::package_url(
                        "generic",
                        "",
                        path,
                        version,
                        &[("vcs_url", &vcs)],
                        "",
                    ),
                    format!(
                        "https://tarballs.cgr.dev/{}/{digest}-{reference}.tar.gz",
                        path.chars().next().unwrap_or('_')
                    ),
                )
            };
            Some(UpstreamSource {
                id_parts,
                name,
                version: version.to_string(),
                license: license.to_string(),
                supplier,
                download_location: download,
                purl,
                checksums: Vec::new(),
            })
        }
        _ => None,
    }
}

/// The SPDX document of one output of the build: `name` is the main
/// package or one of its subpackages; `created` is RFC 3339; files named
/// by `copyright[].license-path` are read from `workspace`.
pub fn document(
    recipe: &CompiledRecipe,
    name: &str,
    arch: &str,
    opts: &SbomOptions,
    created: &str,
    workspace: &Path,
) -> Result<Vec<u8>, PkgBuildError> {
    let p = &recipe.package;
    let licenses: Vec<String> = p.copyright.iter().map(|c| c.license.to_string()).collect();
    let (license, refs) = license_expression(&licenses);
    let mut licensing_infos = Vec::new();
    for c in &p.copyright {
        if c.license.is_empty() {
            continue;
        }
        let id = if refs.iter().any(|(_, l)| l == c.license.as_str()) {
            license_ref(&c.license)
        } else {
            c.license.to_string()
        };
        if !c.license_path.is_empty() {
            let rel = Path::new(c.license_path.as_str());
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(PkgBuildError::Output {
                    what: format!("license-path `{}`", c.license_path),
                    reason: "must be a path inside the workspace".into(),
                });
            }
            let text = std::fs::read_to_string(workspace.join(rel)).map_err(|e| {
                PkgBuildError::Output {
                    what: format!("license-path `{}`", c.license_path),
                    reason: e.to_string(),
                }
            })?;
            licensing_infos.push((id, text));
        } else if id.starts_with("LicenseRef-") {
            licensing_infos.push((id, format!("Non-SPDX License: {}", c.license)));
        }
    }
    licensing_infos.sort();
    licensing_infos.dedup_by(|a, b| a.0 == b.0);
    let copyright: String = p
        .copyright
        .iter()
        .filter(|c| !c.attestation.is_empty())
        .map(|c| format!("{}\n", c.attestation))
        .collect();
    let mut own_sources = Vec::new();
    if name != p.name.as_str()
        && let Some(sub) = recipe.subpackages.iter().find(|s| s.name.as_str() == name)
    {
        for (i, step) in sub.pipeline.iter().enumerate() {
            own_sources.extend(upstream(step, recipe, &license, &opts.namespace, i));
        }
    }
    let mut sources = Vec::new();
    for (i, step) in recipe.pipeline.iter().enumerate() {
        sources.extend(upstream(step, recipe, &license, &opts.namespace, i));
    }
    let doc = PackageDocument {
        name: name.to_string(),
        version: format!("{}-r{}", p.version, p.epoch),
        arch: arch.to_string(),
        namespace: opts.namespace.clone(),
        license,
        copyright,
        cpe: cpe(recipe),
        created: created.to_string(),
        own_sources,
        recipe: opts.recipe.clone(),
        sources,
        licensing_infos,
    };
    Ok(sbom::melange::package_document_json(&doc))
}
