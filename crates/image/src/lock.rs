//! apko-format lock files: the exact packages (with byte ranges and
//! checksums of each package section), repositories and keys of a build.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use apk_format::package_read::PackageReader;
use apk_repo::{RepoClient, RepoLine};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::BuildError;
use crate::build::Resolved;

/// The lock file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Always `v1`.
    pub version: String,
    /// The config it was made from.
    pub config: LockConfig,
    /// What was resolved.
    pub contents: LockContents,
}

/// The config a lock belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockConfig {
    /// Config file name.
    pub name: String,
    /// `sha256-<base64>` over the config files' bytes.
    pub checksum: String,
}

/// Locked contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockContents {
    /// Keys, sorted by name.
    pub keyring: Vec<LockKey>,
    /// Build-only repositories.
    pub build_repositories: Vec<LockRepo>,
    /// Runtime-only repositories.
    pub runtime_repositories: Vec<LockRepo>,
    /// Repositories.
    pub repositories: Vec<LockRepo>,
    /// Packages per arch, in install order.
    pub packages: Vec<LockPackage>,
}

/// A locked key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockKey {
    /// Name (as configured).
    pub name: String,
    /// Where it came from.
    pub url: String,
    /// PEM content.
    pub content: String,
}

/// A locked repository for one arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRepo {
    /// `<repo>/<arch>` without scheme or tag.
    pub name: String,
    /// Index URL.
    pub url: String,
    /// Architecture.
    pub architecture: String,
}

/// A byte range of a package file and its checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRange {
    /// `bytes=a-b` (inclusive).
    pub range: String,
    /// `sha1-<b64>` or `sha256-<b64>`.
    pub checksum: String,
}

/// A locked package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockPackage {
    /// Name.
    pub name: String,
    /// Package file URL.
    pub url: String,
    /// Version.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// Signature section.
    pub signature: LockRange,
    /// Control section.
    pub control: LockRange,
    /// Data section.
    pub data: LockRange,
    /// `Q1` control checksum.
    pub checksum: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn repo_name(line: &RepoLine, arch: &str) -> String {
    let text = line.location.to_string();
    let bare = text.split_once("://").map_or(text.as_str(), |(_, r)| r);
    format!("{bare}/{arch}")
}

/// Makes the lock for a resolution (fetching packages to measure them).
pub fn make_lock(
    client: &RepoClient,
    config_name: &str,
    config_checksum: &str,
    req: &crate::BuildRequest,
    resolved: &Resolved,
    keys: &[(String, String, Vec<u8>)],
) -> Result<Lock, BuildError> {
    let repos = |list: &[String]| -> Vec<LockRepo> {
        let mut out = Vec::new();
        for (arch, _) in resolved {
            for l in list {
                let line = RepoLine::parse(l);
                out.push(LockRepo {
                    name: repo_name(&line, arch),
                    url: line.index_location(arch).to_string(),
                    architecture: arch.clone(),
                });
            }
        }
        out
    };
    let mut keyring: Vec<LockKey> = keys
        .iter()
        .map(|(_, url, pem)| LockKey {
            name: url.clone(),
            url: url.clone(),
            content: String::from_utf8_lossy(pem).into_owned(),
        })
        .collect();
    keyring.sort_by(|a, b| a.name.cmp(&b.name));
    let mut packages = Vec::new();
    for (arch, pkgs) in resolved {
        let items: Vec<_> = pkgs
            .iter()
            .map(|(l, r)| (l.clone(), arch.clone(), r.clone()))
            .collect();
        let files = client.fetch_packages(&items, &apk_repo::NoProgress)?;
        for ((line, record), file) in pkgs.iter().zip(files) {
            let location = client.package_location(line, arch, record)?;
            packages.push(lock_package(location, arch, record, &file)?);
        }
    }
    Ok(Lock {
        version: "v1".into(),
        config: LockConfig {
            name: config_name.to_string(),
            checksum: config_checksum.to_string(),
        },
        contents: LockContents {
            keyring,
            build_repositories: repos(&req.build_repositories),
            runtime_repositories: repos(&req.runtime_repositories),
            repositories: repos(&req.repositories),
            packages,
        },
    })
}

fn lock_package(
    location: apk_repo::Location,
    arch: &str,
    record: &apk_format::PackageRecord,
    file: &Path,
) -> Result<LockPackage, BuildError> {
    let io = |source| apk_repo::RepoError::Io {
        path: file.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(file).map_err(io)?.len();
    if apk_repo::v3::is_v3_file(file)? {
        return Ok(crate::lock_v3::lock_v3_package(
            location, arch, record, file, size,
        )?);
    }
    let pkg =
        PackageReader::new(BufReader::new(File::open(file).map_err(io)?)).map_err(|source| {
            apk_repo::RepoError::Package {
                location: location.clone(),
                source,
            }
        })?;
    let sig_len = pkg.signature_len;
    let ctl_len = pkg.control_digest.len;
    let sig_sha1 = pkg
        .signature_digest
        .and_then(|d| d.sha1)
        .unwrap_or_default();
    let ctl_sha1 = pkg.control_digest.sha1.unwrap_or_default();
    let identity = pkg
        .identity()
        .map_err(|source| apk_repo::RepoError::Package {
            location: location.clone(),
            source,
        })?;
    let data_sha256 = identity.data_sha256;
    let range = |a: u64, b: u64| format!("bytes={a}-{}", b.saturating_sub(1));
    Ok(LockPackage {
        name: record.name.clone(),
        url: location.to_string(),
        version: record.version.clone(),
        architecture: arch.to_string(),
        signature: LockRange {
            range: range(0, sig_len),
            checksum: format!("sha1-{}", b64(&sig_sha1)),
        },
        control: LockRange {
            range: range(sig_len, sig_len + ctl_len),
            checksum: format!("sha1-{}", b64(&ctl_sha1)),
        },
        data: LockRange {
            range: range(sig_len + ctl_len, size),
            checksum: format!("sha256-{}", b64(&data_sha256)),
        },
        checksum: identity.checksum,
    })
}

/// Error reading a lock file.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Not the JSON of a lock file (with line and column).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An entry whose name, version or arch is not safe to use.
    #[error("{entry}: {source}")]
    Invalid {
        /// Which entry, e.g. `contents.packages[3]`.
        entry: String,
        /// What is wrong.
        #[source]
        source: apk_format::names::NameError,
    },
}

/// Parses a lock file and checks every name, version and architecture in it
/// (they pin packages and name paths and URLs).
pub fn parse_lock(bytes: &[u8]) -> Result<Lock, LockError> {
    use apk_format::names::{check_arch, check_name, check_version};
    let lock: Lock = serde_json::from_slice(bytes)?;
    let invalid = |entry: String| move |source| LockError::Invalid { entry, source };
    for (i, p) in lock.contents.packages.iter().enumerate() {
        let entry = format!("contents.packages[{i}]");
        check_name(&p.name).map_err(invalid(entry.clone()))?;
        check_version(&p.version).map_err(invalid(entry.clone()))?;
        check_arch(&p.architecture).map_err(invalid(entry))?;
    }
    let repos = [
        ("repositories", &lock.contents.repositories),
        ("build_repositories", &lock.contents.build_repositories),
        ("runtime_repositories", &lock.contents.runtime_repositories),
    ];
    for (what, list) in repos {
        for (i, r) in list.iter().enumerate() {
            check_arch(&r.architecture).map_err(invalid(format!("contents.{what}[{i}]")))?;
        }
    }
    Ok(lock)
}

/// Serializes like apko: two-space indent and a trailing newline.
pub fn to_json(lock: &Lock) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(lock).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Checks that a resolution is exactly what a lock file says; returns one
/// line per difference.
pub fn differences(lock: &Lock, resolved: &Resolved) -> Vec<String> {
    let mut diffs = Vec::new();
    for (arch, pkgs) in resolved {
        let locked: Vec<&LockPackage> = lock
            .contents
            .packages
            .iter()
            .filter(|p| &p.architecture == arch)
            .collect();
        for (_, r) in pkgs {
            match locked.iter().find(|p| p.name == r.name) {
                None => diffs.push(format!(
                    "{arch}: {}-{} is not in the lock file",
                    r.name, r.version
                )),
                Some(p) if p.version != r.version => diffs.push(format!(
                    "{arch}: {} resolves to {}, the lock file has {}",
                    r.name, r.version, p.version
                )),
                Some(p) if r.checksum.as_deref().is_some_and(|c| c != p.checksum) => {
                    diffs.push(format!(
                        "{arch}: {}-{} has checksum {}, the lock file has {}",
                        r.name,
                        r.version,
                        r.checksum.as_deref().unwrap_or(""),
                        p.checksum
                    ))
                }
                _ => {}
            }
        }
        for p in &locked {
            if !pkgs.iter().any(|(_, r)| r.name == p.name) {
                diffs.push(format!(
                    "{arch}: the lock file has {}-{}, which the build does not install",
                    p.name, p.version
                ));
            }
        }
    }
    diffs
}
