//! The image build: keys → indexes → resolution → packages → tree →
//! layer → OCI image, per architecture.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apk_format::dependency::DependencyError;
use apk_format::record::PackageRecord;
use apk_repo::{RepoClient, RepoError, RepoLine};
use rootfs::install::InstallError;
use rootfs::layer::{LayerError, LayerInfo};
use rootfs::paths::PathError;
use rootfs::tree::TreeError;

use crate::request::{BuildOptions, BuildRequest};
use crate::time::rfc3339;

/// Receives progress; the CLI draws it.
pub trait Reporter: Sync {
    /// A new phase began (e.g. `x86_64: installing 16 packages`).
    fn phase(&self, _message: &str) {}
    /// Downloads of `total` packages begin.
    fn fetch_started(&self, _total: usize) {}
    /// A package is available locally.
    fn package_ready(&self, _name: &str, _bytes: u64) {}
    /// All downloads are done.
    fn fetch_finished(&self) {}
    /// Something the user should know that does not stop the build.
    fn warn(&self, _message: &str) {}
}

/// Reports nothing.
pub struct Quiet;
impl Reporter for Quiet {}

struct RepoProgress<'a>(&'a dyn Reporter);
impl apk_repo::Progress for RepoProgress<'_> {
    fn package_ready(&self, name: &str, bytes: u64) {
        self.0.package_ready(name, bytes);
    }
    fn warning(&self, message: &str) {
        self.0.warn(message);
    }
}

/// Error building an image.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Repository, key or download failure.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The packages cannot be resolved.
    #[error(transparent)]
    Solve(#[from] apk_solve::SolveError),
    /// A package atom in the config is invalid.
    #[error("package `{atom}`: {source}")]
    Atom {
        /// The atom.
        atom: String,
        /// What is wrong.
        #[source]
        source: DependencyError,
    },
    /// Installing a package failed.
    #[error("{arch}: {source}")]
    Install {
        /// Architecture.
        arch: String,
        /// What failed.
        #[source]
        source: InstallError,
    },
    /// Laying out generated files failed.
    #[error("{arch}: {source}")]
    Tree {
        /// Architecture.
        arch: String,
        /// What failed.
        #[source]
        source: TreeError,
    },
    /// A `paths` mutation failed.
    #[error("{arch}: {source}")]
    Paths {
        /// Architecture.
        arch: String,
        /// What failed.
        #[source]
        source: PathError,
    },
    /// Generating `/etc/ld.so.cache` failed.
    #[error("{arch}: {source}")]
    Ldso {
        /// Architecture.
        arch: String,
        /// What failed.
        #[source]
        source: rootfs::ldso::LdsoError,
    },
    /// The base image cannot be used.
    #[error("{0}")]
    Base(#[from] crate::base::BaseError),
    /// A Java truststore could not be updated.
    #[error("{arch}: {source}")]
    Truststore {
        /// Architecture.
        arch: String,
        /// What failed.
        #[source]
        source: crate::certs::TruststoreError,
    },
    /// Writing the layer failed.
    #[error("{arch}: {source}")]
    Layer {
        /// Architecture.
        arch: String,
        /// What failed.
        #[source]
        source: LayerError,
    },
    /// A repository line that cannot work (missing directory, an
    /// architecture directory or index file instead of the repository).
    #[error("repository `{repo}` {problem}")]
    Repository {
        /// The line as written in the config or on the command line.
        repo: String,
        /// What is wrong.
        problem: String,
    },
    /// No usable repository index for an architecture.
    #[error("{arch}: none of the repositories has an index for this architecture ({repos})")]
    NoIndexes {
        /// Architecture.
        arch: String,
        /// The repositories tried.
        repos: String,
    },
    /// An architecture name nobody knows.
    #[error("unknown architecture `{0}`")]
    UnknownArch(String),
    /// Nothing to build.
    #[error("no architectures to build")]
    NoArchs,
    /// The build does not match the lock file.
    #[error("the build does not match the lock file:\n  {}", .0.join("\n  "))]
    LockMismatch(Vec<String>),
    /// Scratch space.
    #[error("work directory `{path}`: {source}")]
    Work {
        /// The directory.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// One architecture's result.
#[derive(Debug, Clone)]
pub struct ArchImage {
    /// apk arch.
    pub arch: String,
    /// The OCI image.
    pub image: oci::Image,
    /// The first layer (the only one unless `layering` is set).
    pub layer: LayerInfo,
    /// Installed packages, in install order.
    pub installed: Vec<PackageRecord>,
    /// The build date used (unix seconds).
    pub created: u64,
    /// `/etc/os-release` of the image as key/value pairs (empty if none).
    pub os_release: Vec<(String, String)>,
}

/// The whole build.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Per architecture, in request order.
    pub archs: Vec<ArchImage>,
    /// Annotations of the index.
    pub index_annotations: BTreeMap<String, String>,
    /// Build date of the index.
    pub created: u64,
}

/// `1 package`, `2 packages`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

mod assemble;
mod resolve;

pub use assemble::{Assembled, assemble, assemble_on};
pub use resolve::{
    BASE_IMAGE_REPOSITORY, Resolved, check_repositories, client, load_keys, resolve, resolve_on,
};

/// Builds every architecture of the request.
pub fn build(
    req: &BuildRequest,
    opts: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuildOutput, BuildError> {
    for a in &req.archs {
        if oci::Platform::from_apk_arch(a).is_none() {
            return Err(BuildError::UnknownArch(a.clone()));
        }
    }
    let mut client = client(opts);
    let keys = load_keys(&mut client, req)?;
    let key_files: Vec<(String, Vec<u8>)> = keys.into_iter().map(|(n, _, pem)| (n, pem)).collect();
    let mut bases: BTreeMap<String, crate::base::LoadedBase> = BTreeMap::new();
    if let Some(base) = &req.base_image {
        if req.layering_budget.is_some() {
            return Err(BuildError::Base(crate::base::BaseError::Database {
                at: base.layout.clone(),
                reason: "`layering` cannot be combined with `contents.baseimage` (as in apko)"
                    .to_string(),
            }));
        }
        for arch in &req.archs {
            bases.insert(arch.clone(), crate::base::load(base, arch)?);
        }
    }
    let base_packages: BTreeMap<String, Vec<PackageRecord>> = bases
        .iter()
        .map(|(a, b)| (a.clone(), b.packages.clone()))
        .collect();
    let resolved = match &opts.lock {
        None => resolve_on(&client, req, reporter, &base_packages)?,
        Some(lock) => {
            // Build exactly the locked set: pin every locked package.
            let mut pinned = req.clone();
            pinned.packages = lock
                .contents
                .packages
                .iter()
                .map(|p| format!("{}={}", p.name, p.version))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let resolved = resolve_on(&client, &pinned, reporter, &base_packages)?;
            // A lock made with a base image lists only what goes on top.
            let on_top: Resolved = resolved
                .iter()
                .map(|(arch, pkgs)| {
                    let base = base_packages.get(arch);
                    let pkgs = pkgs
                        .iter()
                        .filter(|(line, p)| {
                            line.text != BASE_IMAGE_REPOSITORY
                                && base.is_none_or(|b| !b.iter().any(|q| q.name == p.name))
                        })
                        .cloned()
                        .collect();
                    (arch.clone(), pkgs)
                })
                .collect();
            let diffs = crate::lock::differences(lock, &on_top);
            if !diffs.is_empty() {
                return Err(BuildError::LockMismatch(diffs));
            }
            resolved
        }
    };
    std::fs::create_dir_all(&opts.work_dir).map_err(|source| BuildError::Work {
        path: opts.work_dir.clone(),
        source,
    })?;
    let mut archs = Vec::new();
    for (arch, packages) in resolved {
        let base = bases.get(&arch);
        // What the base image has is not installed again.
        let packages: Vec<(RepoLine, PackageRecord)> = packages
            .into_iter()
            .filter(|(line, p)| {
                line.text != BASE_IMAGE_REPOSITORY
                    && base.is_none_or(|b| !b.packages.iter().any(|q| q.name == p.name))
            })
            .collect();
        archs.push(build_arch(
            &client, req, opts, &arch, &packages, &key_files, base, reporter,
        )?);
    }
    let created = archs.iter().map(|a| a.created).max().unwrap_or(0);
    let mut index_annotations = req.annotations.clone();
    index_annotations.insert("org.opencontainers.image.created".into(), rfc3339(created));
    Ok(BuildOutput {
        archs,
        index_annotations,
        created,
    })
}

#[allow(clippy::too_many_arguments)]
fn build_arch(
    client: &RepoClient,
    req: &BuildRequest,
    opts: &BuildOptions,
    arch: &str,
    packages: &[(RepoLine, PackageRecord)],
    key_files: &[(String, Vec<u8>)],
    base: Option<&crate::base::LoadedBase>,
    reporter: &dyn Reporter,
) -> Result<ArchImage, BuildError> {
    let Assembled {
        tree,
        installed,
        created,
    } = assemble_on(client, req, opts, arch, packages, key_files, base, reporter)?;
    reporter.phase(&format!(
        "{arch}: writing layers ({})",
        plural(tree.len(), "file", "files")
    ));
    let layer_err = |source| BuildError::Layer {
        arch: arch.to_string(),
        source,
    };
    let blobs: Vec<(std::path::PathBuf, LayerInfo)> = match req.layering_budget {
        None => {
            let fallback = opts.work_dir.join(format!("layer-{arch}.tar.gz"));
            vec![
                crate::layer_cache::layer_with_cache(
                    &tree,
                    &fallback,
                    opts.compression_level,
                    &opts.cache_dir,
                )
                .map_err(layer_err)?,
            ]
        }
        Some(budget) => {
            let dir = opts.work_dir.join(format!("layers-{arch}"));
            std::fs::create_dir_all(&dir).map_err(|source| BuildError::Work {
                path: dir.clone(),
                source,
            })?;
            let groups = crate::layering::origin_groups(&installed, budget);
            let partial = crate::layering::partial_databases(&tree, &groups);
            rootfs::layer::write_layers(&tree, &groups, &partial, &dir, opts.compression_level)
                .map_err(layer_err)?
        }
    };
    let layer = blobs[0].1.clone();
    let user = req
        .run_as
        .as_deref()
        .map(|r| rootfs::accounts::resolve_run_as(&tree, r));
    let mut annotations = req.annotations.clone();
    annotations.insert("org.opencontainers.image.created".into(), rfc3339(created));
    let platform = oci::Platform::from_apk_arch(arch)
        .ok_or_else(|| BuildError::UnknownArch(arch.to_string()))?;
    let mut config = oci::ImageConfig {
        platform,
        created: rfc3339(created),
        entrypoint: req.entrypoint.clone(),
        cmd: req.cmd.clone(),
        env: req.env.clone(),
        user,
        working_dir: req.work_dir.clone(),
        stop_signal: req.stop_signal.clone(),
        volumes: req.volumes.clone(),
        annotations,
        authorship: oci::Authorship::default(),
    };
    let ours = blobs.into_iter().map(|(blob, info)| oci::Layer {
        blob,
        digest: format!("sha256:{}", info.digest_hex),
        size: info.size,
        diff_id: format!("sha256:{}", info.diff_id_hex),
        // Hashed as it was written, or checked against its record just now.
        checked: true,
    });
    let (oci_layers, history) = match base {
        None => (ours.collect(), oci::BaseHistory::default()),
        Some(b) => {
            let (layers, history) = crate::base::base_layers(b, &mut config)?;
            (layers.into_iter().chain(ours).collect(), history)
        }
    };
    let image = oci::build_image_on(&config, &history, oci_layers);
    let os_release = os_release(&tree);
    let installed = match base {
        None => installed,
        Some(b) => b.packages.iter().cloned().chain(installed).collect(),
    };
    Ok(ArchImage {
        arch: arch.to_string(),
        image,
        layer,
        installed,
        created,
        os_release,
    })
}

/// Parses `etc/os-release` (or `usr/lib/os-release`) of the tree.
fn os_release(tree: &rootfs::Tree) -> Vec<(String, String)> {
    let text = rootfs::layer::read_small(tree, "etc/os-release")
        .or_else(|| rootfs::layer::read_small(tree, "usr/lib/os-release"))
        .unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}
