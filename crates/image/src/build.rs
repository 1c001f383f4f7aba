//! The image build: keys → indexes → resolution → packages → tree →
//! layer → OCI image, per architecture.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apk_format::Dependency;
use apk_format::dependency::DependencyError;
use apk_format::record::PackageRecord;
use apk_format::signing::Keyring;
use apk_repo::{Cache, HttpClient, Options, RepoClient, RepoError, RepoLine};
use rootfs::apkdb::{ApkState, base_tree, write_apk_state};
use rootfs::install::{InstallError, Installer, PackageSource};
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

/// Per architecture, the packages to install in order, each with the
/// repository it comes from.
pub type Resolved = Vec<(String, Vec<(RepoLine, PackageRecord)>)>;

/// Resolves the request against the repositories.
pub fn resolve(
    client: &RepoClient,
    req: &BuildRequest,
    reporter: &dyn Reporter,
) -> Result<Resolved, BuildError> {
    resolve_on(client, req, reporter, &BTreeMap::new())
}

/// The line base-image packages resolve from (they are never fetched).
pub const BASE_IMAGE_REPOSITORY: &str = "(base image)";

/// As [`resolve`], with each architecture's base-image packages offered
/// as an extra repository and pinned in the world at their versions.
pub fn resolve_on(
    client: &RepoClient,
    req: &BuildRequest,
    reporter: &dyn Reporter,
    base: &BTreeMap<String, Vec<PackageRecord>>,
) -> Result<Resolved, BuildError> {
    if req.archs.is_empty() {
        return Err(BuildError::NoArchs);
    }
    let repo_lines: Vec<RepoLine> = unique(
        req.repositories
            .iter()
            .chain(&req.build_repositories)
            .cloned(),
    )
    .iter()
    .map(|l| RepoLine::parse(l))
    .collect();
    check_repositories(req)?;
    let world: Vec<Dependency> = req
        .packages
        .iter()
        .map(|a| {
            Dependency::parse_strict(a).map_err(|source| BuildError::Atom {
                atom: a.clone(),
                source,
            })
        })
        .collect::<Result<_, _>>()?;
    let mut world = world;
    for pins in base.values() {
        for p in pins {
            let atom = format!("{}={}", p.name, p.version);
            if let Ok(d) = Dependency::parse(&atom)
                && !world.contains(&d)
            {
                world.push(d);
            }
        }
    }
    let mut per_arch = Vec::new();
    let mut lines_per_arch = Vec::new();
    for arch in &req.archs {
        reporter.phase(&format!(
            "{arch}: loading {}",
            plural(repo_lines.len(), "repository index", "repository indexes")
        ));
        let loaded: Vec<Result<apk_repo::LoadedIndex, RepoError>> = std::thread::scope(|s| {
            let handles: Vec<_> = repo_lines
                .iter()
                .map(|r| s.spawn(|| client.load_index(r, arch)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(RepoError::IndexMissing(apk_repo::Location::Remote(
                            "(worker failed)".into(),
                        )))
                    })
                })
                .collect()
        });
        let mut repos = Vec::new();
        let mut lines = Vec::new();
        for (line, result) in repo_lines.iter().zip(loaded) {
            match result {
                Ok(idx) => {
                    repos.push(apk_solve::Repository {
                        name: line.location.to_string(),
                        tag: line.tag.clone(),
                        packages: crate::solver_packages(idx.entries),
                    });
                    lines.push(line.clone());
                }
                // apko only warns about a local repository without this arch.
                Err(RepoError::IndexMissing(missing))
                    if matches!(line.location, apk_repo::Location::Local(_)) =>
                {
                    reporter.warn(&format!(
                        "repository `{}` has no index for {arch} (`{missing}`); skipped for {arch}",
                        line.text
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(pkgs) = base.get(arch) {
            repos.push(apk_solve::Repository {
                name: BASE_IMAGE_REPOSITORY.to_string(),
                tag: None,
                packages: apk_solve::Packages::Records(pkgs.clone()),
            });
            lines.push(RepoLine::parse(BASE_IMAGE_REPOSITORY));
        }
        if repos.is_empty() {
            return Err(BuildError::NoIndexes {
                arch: arch.clone(),
                repos: repo_lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        per_arch.push((arch.clone(), repos));
        lines_per_arch.push(lines);
    }
    reporter.phase("resolving packages");
    let resolutions = apk_solve::resolve_multi_arch(&per_arch, &world)?;
    Ok(per_arch
        .iter()
        .zip(resolutions)
        .zip(lines_per_arch)
        .map(|(((arch, repos), res), lines)| {
            let pkgs = res
                .packages
                .iter()
                .map(|id| {
                    (
                        lines[id.repo].clone(),
                        repos[id.repo].packages.record(id.index).into_owned(),
                    )
                })
                .collect();
            (arch.clone(), pkgs)
        })
        .collect())
}

/// Refuses repository lines that cannot work (see [`crate::repo_check`]),
/// before anything is downloaded.
pub fn check_repositories(req: &BuildRequest) -> Result<(), BuildError> {
    for text in req.repositories.iter().chain(&req.build_repositories) {
        let line = RepoLine::parse(text);
        if let Some(problem) = crate::repo_check::repository_problem(&line) {
            return Err(BuildError::Repository {
                repo: line.text,
                problem,
            });
        }
    }
    Ok(())
}

/// A repository client for these options.
pub fn client(opts: &BuildOptions) -> RepoClient {
    RepoClient::new(
        Options {
            cache: Cache::new(&opts.cache_dir),
            offline: opts.offline,
            ignore_signatures: opts.ignore_signatures,
            auth: HttpClient::auth_from_env(),
            jobs: opts.jobs,
        },
        Keyring::new(),
    )
}

/// Loads the build keyring; returns (file name, location, PEM) per key.
pub fn load_keys(
    client: &mut RepoClient,
    req: &BuildRequest,
) -> Result<Vec<(String, String, Vec<u8>)>, BuildError> {
    check_repositories(req)?;
    let mut ring = Keyring::new();
    let mut files = Vec::new();
    for k in unique(req.keyring.iter().cloned()) {
        let (key, pem) = client.load_key_pem(&k)?;
        files.push((key.name.clone(), k.clone(), pem));
        ring.add(key);
    }
    // Keys the repositories publish (Alpine's releases.json, Chainguard's
    // apk-configuration), as apko discovers them.
    let today = crate::time::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    for line in unique(
        req.repositories
            .iter()
            .chain(&req.build_repositories)
            .cloned(),
    ) {
        let repo = RepoLine::parse(&line);
        for arch in &req.archs {
            let found = match client.discover_keys(&repo, arch, &today[..10]) {
                Ok(found) => found,
                // Offline, discovery uses what the cache has, like apko.
                Err(RepoError::Offline(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            for (name, pem) in found {
                if files
                    .iter()
                    .any(|(n, _, _): &(String, String, Vec<u8>)| n == &name)
                {
                    continue;
                }
                let key = apk_format::signing::PublicKey::from_pem(name.clone(), &pem).map_err(
                    |source| RepoError::Key {
                        location: repo.location.clone(),
                        source,
                    },
                )?;
                ring.add(key);
                files.push((name, format!("{}", repo.location), pem));
            }
        }
    }
    client.set_keyring(ring);
    Ok(files)
}

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

/// An assembled file system.
pub struct Assembled {
    /// The tree.
    pub tree: rootfs::Tree,
    /// Installed packages in order.
    pub installed: Vec<PackageRecord>,
    /// Build date used.
    pub created: u64,
}

/// Fetches and installs `packages` (a resolution for `arch`) and lays out
/// every generated file: the image's file system, before any layer.
pub fn assemble(
    client: &RepoClient,
    req: &BuildRequest,
    opts: &BuildOptions,
    arch: &str,
    packages: &[(RepoLine, PackageRecord)],
    key_files: &[(String, Vec<u8>)],
    reporter: &dyn Reporter,
) -> Result<Assembled, BuildError> {
    assemble_on(client, req, opts, arch, packages, key_files, None, reporter)
}

/// As [`assemble`], on top of a base image: its packages join the
/// installed database and the world, and the accounts files are the
/// base's (none are written).
#[allow(clippy::too_many_arguments)]
pub fn assemble_on(
    client: &RepoClient,
    req: &BuildRequest,
    opts: &BuildOptions,
    arch: &str,
    packages: &[(RepoLine, PackageRecord)],
    key_files: &[(String, Vec<u8>)],
    base: Option<&crate::base::LoadedBase>,
    reporter: &dyn Reporter,
) -> Result<Assembled, BuildError> {
    reporter.phase(&format!(
        "{arch}: fetching {}",
        plural(packages.len(), "package", "packages")
    ));
    let items: Vec<(RepoLine, String, PackageRecord)> = packages
        .iter()
        .map(|(l, r)| (l.clone(), arch.to_string(), r.clone()))
        .collect();
    reporter.fetch_started(items.len());
    let files = client.fetch_packages(&items, &RepoProgress(reporter));
    reporter.fetch_finished();
    let files = files?;
    let work: Vec<(&(RepoLine, PackageRecord), PathBuf)> = packages.iter().zip(files).collect();
    let expanded: Vec<Result<apk_repo::ExpandedPackage, RepoError>> = std::thread::scope(|s| {
        let chunks: Vec<_> = work
            .chunks(work.len().div_ceil(2).max(1))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|((line, record), f)| client.expand_fetched(line, arch, record, f))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        chunks
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    reporter.phase(&format!(
        "{arch}: installing {}",
        plural(packages.len(), "package", "packages")
    ));
    let mut installer = Installer::new(base_tree());
    let install_err = |source| BuildError::Install {
        arch: arch.to_string(),
        source,
    };
    for ((line, index_record), exp) in packages.iter().zip(expanded) {
        let exp = exp?;
        for note in &exp.notes {
            reporter.warn(note);
        }
        let mut record = exp.record;
        record.checksum = index_record.checksum.clone().or(Some(exp.checksum));
        record.file_size = index_record.file_size.or(Some(exp.file_size));
        installer
            .install(PackageSource {
                record,
                control_files: exp.control_files,
                data_tar: exp.data_tar,
                repo_tag: line.tag.clone(),
                owners_by_name: exp.owners_by_name,
            })
            .map_err(install_err)?;
    }
    let installed: Vec<PackageRecord> = installer
        .installed
        .iter()
        .map(|p| p.record.clone())
        .collect();
    let base_packages: &[PackageRecord] = base.map_or(&[], |b| b.packages.as_slice());
    let created = opts.source_date_epoch.unwrap_or_else(|| {
        installed
            .iter()
            .chain(base_packages)
            .filter_map(|p| p.build_time)
            .max()
            .unwrap_or(0)
    });
    let mut tree = std::mem::take(&mut installer.tree);
    let tree_err = |source| BuildError::Tree {
        arch: arch.to_string(),
        source,
    };
    let mut world: Vec<String> = installed
        .iter()
        .chain(base_packages)
        .map(|p| format!("{}={}", p.name, p.version))
        .collect();
    world.sort();
    let mut keys: Vec<(String, Vec<u8>)> = key_files.to_vec();
    let mut runtime = req.runtime_keyring.clone();
    runtime.sort();
    keys.extend(runtime);
    let state = ApkState {
        arch: arch.to_string(),
        world,
        repositories: unique(
            req.repositories
                .iter()
                .chain(&req.runtime_repositories)
                .cloned(),
        ),
        keys,
    };
    write_apk_state(&mut tree, &installer.installed, &state).map_err(tree_err)?;
    if let Some(base) = base {
        // The base's records first: this layer's database replaces the base's.
        let db = rootfs::layer::INSTALLED_DB;
        let ours = rootfs::layer::read_small(&tree, db).unwrap_or_default();
        let mut all = base.installed_text.clone().into_bytes();
        all.extend_from_slice(&ours);
        let mode = tree.get(db).map_or(0o644, |n| n.mode);
        tree.write_file(db, all, mode, 0).map_err(tree_err)?;
    } else {
        rootfs::accounts::apply_accounts(&mut tree, &req.users, &req.groups).map_err(tree_err)?;
    }
    rootfs::paths::apply_paths(&mut tree, &req.paths).map_err(|source| BuildError::Paths {
        arch: arch.to_string(),
        source,
    })?;
    crate::certs::add_certificates(&mut tree, &req.certificates, created).map_err(tree_err)?;
    let provided =
        crate::certs::provided_certificates(&tree, &installed, &req.certificate_providers);
    crate::certs::append_to_bundle(&mut tree, &provided, created).map_err(tree_err)?;
    crate::certs::add_to_truststores(&mut tree, &req.certificates, &provided, created).map_err(
        |source| BuildError::Truststore {
            arch: arch.to_string(),
            source,
        },
    )?;
    crate::certs::write_sidecars(&mut tree, created).map_err(tree_err)?;
    for (name, cmd) in &req.services {
        let dir = format!("sv/{name}");
        tree.mkdir_all(&dir, 0o777, 0).map_err(tree_err)?;
        tree.write_file(
            &format!("{dir}/run"),
            format!("#!/bin/execlineb\n{cmd}\n").into_bytes(),
            0o755,
            0,
        )
        .map_err(tree_err)?;
    }
    rootfs::busybox::link_applets(&mut tree, &installed).map_err(tree_err)?;
    // glibc images: /etc/ld.so.cache from /etc/ld.so.conf, as apko does.
    rootfs::ldso::generate_ld_so_cache(&mut tree).map_err(|source| BuildError::Ldso {
        arch: arch.to_string(),
        source,
    })?;
    Ok(Assembled {
        tree,
        installed,
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
            let blob = opts.work_dir.join(format!("layer-{arch}.tar.gz"));
            let info = crate::layer_cache::layer_with_cache(
                &tree,
                &blob,
                opts.compression_level,
                &opts.cache_dir,
            )
            .map_err(layer_err)?;
            vec![(blob, info)]
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
