//! The build environment: `environment.contents` (plus `--package-append`
//! and the accounts) installed with the image engine and written to a
//! directory the sandbox uses as `/`.
//!
//! Written environments are kept in the cache (`environments-v1/<key>`,
//! the key covering every input of the installation: resolved packages by
//! control checksum, repositories, keys, world, accounts, timestamp), and a
//! runner that supports it builds on a shared environment through a
//! private writable layer, so a build whose environment was made before
//! neither installs nor writes it again.

use std::path::{Path, PathBuf};

use apk_format::record::PackageRecord;
use recipe::{CompiledRecipe, Environment};
use sha2::{Digest, Sha256};

use crate::{BuildOptions, Log, PkgBuildError};

struct Progress<'a>(&'a dyn Log);
impl image::Reporter for Progress<'_> {
    fn phase(&self, message: &str) {
        self.0.line(&format!("    {message}"));
    }
    fn warn(&self, message: &str) {
        self.0.line(&format!("    warning: {message}"));
    }
}

/// Mount points and directories every environment gets.
const DIRS: [&str; 7] = [
    "home/build",
    "proc",
    "dev",
    "sys",
    "tmp",
    "var/cache/melange",
    "etc",
];

/// What the build environment of `recipe` is resolved from: its
/// `environment` plus the options' extra repositories, keys and packages.
/// The recipe's `optional_packages` join it when a repository has them.
pub fn environment_request(
    recipe: &CompiledRecipe,
    opts: &BuildOptions<'_>,
    arch: &str,
) -> image::BuildRequest {
    request(&recipe.environment, opts, arch)
}

/// The image request of an environment.
fn request(env: &Environment, opts: &BuildOptions<'_>, arch: &str) -> image::BuildRequest {
    let c = &env.contents;
    let strings = |v: &[recipe::Str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut repositories = strings(&c.repositories);
    repositories.extend(opts.repository_append.iter().cloned());
    let mut keyring = strings(&c.keyring);
    keyring.extend(opts.keyring_append.iter().cloned());
    let mut packages = strings(&c.packages);
    packages.extend(opts.package_append.iter().cloned());
    let users = env
        .accounts
        .users
        .iter()
        .map(|u| rootfs::accounts::User {
            name: u.username.to_string(),
            uid: u.uid,
            gid: u.gid,
            shell: Some(u.shell.to_string()).filter(|s| !s.is_empty()),
            home: Some(u.homedir.to_string()).filter(|s| !s.is_empty()),
        })
        .collect();
    let groups = env
        .accounts
        .groups
        .iter()
        .map(|g| rootfs::accounts::Group {
            name: g.groupname.to_string(),
            gid: g.gid,
            members: g.members.iter().map(ToString::to_string).collect(),
        })
        .collect();
    image::BuildRequest {
        archs: vec![arch.to_string()],
        repositories,
        build_repositories: strings(&c.build_repositories),
        keyring,
        packages,
        users,
        groups,
        ..Default::default()
    }
}

/// The locked environment melange records in `.melange.yaml`: the
/// installed packages as `name=version`, sorted.
pub(crate) fn locked(installed: &[PackageRecord]) -> Vec<String> {
    let mut locked: Vec<String> = installed
        .iter()
        .map(|p| format!("{}={}", p.name, p.version))
        .collect();
    locked.sort();
    locked
}

/// An environment resolved: what installing it takes.
pub(crate) struct Resolved {
    client: apk_repo::RepoClient,
    req: image::BuildRequest,
    bopts: image::BuildOptions,
    key_files: Vec<(String, Vec<u8>)>,
    packages: Vec<(apk_repo::RepoLine, PackageRecord)>,
}

/// Resolves `env` for `arch` (with the recipe's optional packages when a
/// repository has them).
pub(crate) fn resolve(
    recipe: &CompiledRecipe,
    env: &Environment,
    opts: &BuildOptions<'_>,
    arch: &str,
    private: &Path,
    log: &dyn Log,
) -> Result<Resolved, PkgBuildError> {
    let mut req = request(env, opts, arch);
    let packages = req.packages.clone();
    let bopts = image::BuildOptions {
        cache_dir: opts.cache_dir.clone(),
        offline: false,
        ignore_signatures: opts.ignore_signatures,
        source_date_epoch: Some(opts.source_date_epoch),
        compression_level: 1,
        jobs: 8,
        work_dir: private.to_path_buf(),
        lock: None,
    };
    let progress = Progress(log);
    let mut client = image::build::client(&bopts);
    let keys = image::build::load_keys(&mut client, &req)?;
    let key_files: Vec<(String, Vec<u8>)> = keys.into_iter().map(|(n, _, pem)| (n, pem)).collect();
    // What host-run pipelines need joins when a repository has it.
    let optional = &recipe.optional_packages;
    req.packages.extend(optional.iter().cloned());
    let resolved = match image::build::resolve(&client, &req, &progress) {
        Err(_) if !optional.is_empty() => {
            log.line(&format!(
                "    {} not available: steps run without them",
                optional.join(", ")
            ));
            req.packages = packages;
            image::build::resolve(&client, &req, &progress)?
        }
        other => other?,
    };
    let (_, packages) = resolved
        .into_iter()
        .next()
        .ok_or(image::BuildError::NoArchs)?;
    Ok(Resolved {
        client,
        req,
        bopts,
        key_files,
        packages,
    })
}

impl Resolved {
    /// Installs the packages: the environment's tree.
    fn tree(&self, arch: &str, log: &dyn Log) -> Result<rootfs::tree::Tree, PkgBuildError> {
        Ok(image::build::assemble(
            &self.client,
            &self.req,
            &self.bopts,
            arch,
            &self.packages,
            &self.key_files,
            &Progress(log),
        )?
        .tree)
    }
}

/// Resolves and installs `env` for `arch`; returns the directory that
/// holds it (a shared cache entry, never to be written: give the sandbox a
/// layered root over it, when `shared`; else `private` filled in) and the
/// installed packages, in install order.
pub fn assemble(
    recipe: &CompiledRecipe,
    env: &Environment,
    opts: &BuildOptions<'_>,
    arch: &str,
    private: &Path,
    shared: bool,
    log: &dyn Log,
) -> Result<(PathBuf, Vec<PackageRecord>), PkgBuildError> {
    let r = resolve(recipe, env, opts, arch, private, log)?;
    let installed: Vec<PackageRecord> = r.packages.iter().map(|(_, p)| p.clone()).collect();
    if !shared {
        write(&r.tree(arch, log)?, private)?;
        return Ok((private.to_path_buf(), installed));
    }
    let envs = opts.cache_dir.join("environments-v1");
    let entry = envs.join(key(
        &r.req,
        arch,
        opts.source_date_epoch,
        &r.key_files,
        &r.packages,
    ));
    if entry.is_dir() {
        log.line("    environment from the cache");
        return Ok((entry, installed));
    }
    let tree = r.tree(arch, log)?;
    std::fs::create_dir_all(&envs).map_err(|source| PkgBuildError::Work {
        path: envs.clone(),
        source,
    })?;
    let tmp = scratch::TempDir::new_in(&envs, crate::TEMP_PREFIX).map_err(|source| {
        PkgBuildError::Work {
            path: envs.clone(),
            source,
        }
    })?;
    write(&tree, tmp.path())?;
    match std::fs::rename(tmp.path(), &entry) {
        Ok(()) => {
            // Renamed away: nothing left for the guard to remove.
            let _ = tmp.keep();
        }
        // Another build wrote the same environment first.
        Err(_) if entry.is_dir() => {}
        Err(source) => {
            return Err(PkgBuildError::Work {
                path: entry,
                source,
            });
        }
    }
    Ok((entry, installed))
}

/// For runners that take the environment as an image: hands the
/// environment written at `dir` (a cache entry named by its key) to the
/// runner as the image `apkforge/build-environment:<key>`, built by the
/// image engine from the same packages (one layer, the mount points of
/// [`DIRS`] added) when the runner's engine does not have it yet; returns
/// the reference for the steps. `None` for runners that use `dir` itself.
#[allow(clippy::too_many_arguments)]
pub fn image(
    recipe: &CompiledRecipe,
    env: &Environment,
    opts: &BuildOptions<'_>,
    arch: &str,
    dir: &Path,
    private: &Path,
    log: &dyn Log,
) -> Result<Option<String>, PkgBuildError> {
    if !opts.runner.needs_image() {
        return Ok(None);
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digest = hex::encode(Sha256::digest(format!("{}|{name}", dir.display())));
    let key = if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        name
    } else {
        digest
    };
    let tag = format!("apkforge/build-environment:{}", &key[..32]);
    let mut failure = None;
    let mut write_image = |archive: &Path| -> Result<(), String> {
        log.line(&format!("    environment image {tag}"));
        let result = (|| {
            let r = resolve(recipe, env, opts, arch, private, log)?;
            let mut tree = r.tree(arch, log)?;
            let created = opts.source_date_epoch;
            for d in DIRS {
                tree.mkdir_all(d, 0o755, created)
                    .map_err(|e| image_err(archive, e.to_string()))?;
            }
            let layer_path = private.join("environment-layer.tar.gz");
            let info = rootfs::layer::write_layer(&tree, &layer_path, 1)
                .map_err(|e| image_err(&layer_path, e.to_string()))?;
            let platform = oci::Platform::from_apk_arch(arch)
                .ok_or_else(|| image_err(archive, format!("no OCI platform for {arch}")))?;
            let config = oci::ImageConfig {
                platform,
                created: image::time::rfc3339(created),
                env: vec![format!("PATH={}", crate::steps::DEFAULT_PATH)],
                ..Default::default()
            };
            let layer = oci::Layer {
                blob: layer_path.clone(),
                digest: format!("sha256:{}", info.digest_hex),
                size: info.size,
                diff_id: format!("sha256:{}", info.diff_id_hex),
                checked: true,
            };
            let img = oci::build_image(&config, vec![layer]);
            oci::write_docker_archive(archive, &[&tag], &[img], &Default::default())
                .map_err(|e| image_err(archive, e.to_string()))?;
            let _ = std::fs::remove_file(&layer_path);
            Ok::<(), PkgBuildError>(())
        })();
        result.map_err(|e| {
            let text = e.to_string();
            failure = Some(e);
            text
        })
    };
    match opts.runner.provide_image(&tag, &mut write_image) {
        Ok(reference) => Ok(Some(reference)),
        Err(e) => Err(failure.unwrap_or(PkgBuildError::Sandbox(e))),
    }
}

fn image_err(path: &Path, reason: String) -> PkgBuildError {
    PkgBuildError::Output {
        what: format!("environment image {}", path.display()),
        reason,
    }
}

fn write(tree: &rootfs::tree::Tree, dir: &Path) -> Result<(), PkgBuildError> {
    rootfs::extract::write_to_dir(tree, dir)?;
    for d in DIRS {
        let p = dir.join(d);
        std::fs::create_dir_all(&p).map_err(|source| PkgBuildError::Work { path: p, source })?;
    }
    // A mount point for the host's resolver configuration (--network).
    let resolv = dir.join("etc/resolv.conf");
    if std::fs::symlink_metadata(&resolv).is_err() {
        std::fs::write(&resolv, b"").map_err(|source| PkgBuildError::Work {
            path: resolv,
            source,
        })?;
    }
    Ok(())
}

/// The cache key of an environment: everything that decides what
/// [`write`] puts on disk (the installer's version, the architecture and
/// timestamp, the repositories, keys, world and accounts, and each
/// resolved package by its repository and control checksum), so that a
/// cached environment is found without installing anything.
fn key(
    req: &image::BuildRequest,
    arch: &str,
    source_date_epoch: u64,
    key_files: &[(String, Vec<u8>)],
    packages: &[(apk_repo::RepoLine, apk_format::record::PackageRecord)],
) -> String {
    let mut h = Sha256::new();
    let mut part = |s: &str| {
        h.update(s.as_bytes());
        h.update([0]);
    };
    part("apkforge-environment-v1");
    part(env!("CARGO_PKG_VERSION"));
    part(arch);
    part(&source_date_epoch.to_string());
    for d in DIRS {
        part(d);
    }
    for r in req.repositories.iter().chain(&req.build_repositories) {
        part(r);
    }
    for p in &req.packages {
        part(p);
    }
    part(&format!("{:?}{:?}", req.users, req.groups));
    for (name, pem) in key_files {
        part(name);
        part(&hex::encode(Sha256::digest(pem)));
    }
    for (line, p) in packages {
        part(&line.text);
        part(&p.name_version());
        part(p.checksum.as_deref().unwrap_or(""));
    }
    hex::encode(h.finalize())
}
