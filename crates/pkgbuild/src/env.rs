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
    let installed: Vec<PackageRecord> = packages.iter().map(|(_, p)| p.clone()).collect();
    let assemble = || {
        image::build::assemble(
            &client, &req, &bopts, arch, &packages, &key_files, &progress,
        )
    };
    if !shared {
        write(&assemble()?.tree, private)?;
        return Ok((private.to_path_buf(), installed));
    }
    let envs = opts.cache_dir.join("environments-v1");
    let entry = envs.join(key(
        &req,
        arch,
        opts.source_date_epoch,
        &key_files,
        &packages,
    ));
    if entry.is_dir() {
        log.line("    environment from the cache");
        return Ok((entry, installed));
    }
    let tree = assemble()?.tree;
    std::fs::create_dir_all(&envs).map_err(|source| PkgBuildError::Work {
        path: envs.clone(),
        source,
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(&envs)
        .map_err(|source| PkgBuildError::Work {
            path: envs.clone(),
            source,
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
