//! The build environment: `environment.contents` (plus `--package-append`
//! and the accounts) installed with the image engine and written to a
//! directory the sandbox uses as `/`.
//!
//! Written environments are kept in the cache (`environments-v1/<digest>`,
//! the digest covering every path, mode, owner, link and content source of
//! the installed tree), and a runner that supports it builds on a shared
//! environment through a private writable layer, so a build whose
//! environment was made before starts without writing it again.

use std::path::{Path, PathBuf};

use recipe::{CompiledRecipe, Environment};
use sha2::{Digest, Sha256};

use crate::{BuildOptions, Log, PkgBuildError};

struct Progress<'a>(&'a dyn Log);
impl image::Reporter for Progress<'_> {
    fn phase(&self, message: &str) {
        self.0.line(&format!("    {message}"));
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

/// Resolves and installs `env` for `arch`; returns the directory that
/// holds it (a shared cache entry, never to be written: give the sandbox a
/// layered root over it, when `shared`; else `private` filled in) and the
/// installed packages as `name=version`, sorted (the locked environment
/// melange records in `.melange.yaml`).
pub fn assemble(
    recipe: &CompiledRecipe,
    env: &Environment,
    opts: &BuildOptions<'_>,
    arch: &str,
    private: &Path,
    shared: bool,
    log: &dyn Log,
) -> Result<(PathBuf, Vec<String>), PkgBuildError> {
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
    let mut req = image::BuildRequest {
        archs: vec![arch.to_string()],
        repositories,
        build_repositories: strings(&c.build_repositories),
        keyring,
        packages: packages.clone(),
        users,
        groups,
        ..Default::default()
    };
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
    let mut locked: Vec<String> = packages
        .iter()
        .map(|(_, p)| format!("{}={}", p.name, p.version))
        .collect();
    locked.sort();
    let assembled = image::build::assemble(
        &client, &req, &bopts, arch, &packages, &key_files, &progress,
    )?;
    if !shared {
        write(&assembled.tree, private)?;
        return Ok((private.to_path_buf(), locked));
    }
    let envs = opts.cache_dir.join("environments-v1");
    let entry = envs.join(digest(&assembled.tree));
    if entry.is_dir() {
        log.line("    environment from the cache");
        return Ok((entry, locked));
    }
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
    write(&assembled.tree, tmp.path())?;
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
    Ok((entry, locked))
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

/// A digest of everything [`write`] puts on disk for `tree`.
fn digest(tree: &rootfs::tree::Tree) -> String {
    use rootfs::tree::{Content, NodeKind};
    let mut h = Sha256::new();
    h.update(b"apkforge-environment-v1\0");
    for d in DIRS {
        h.update(d.as_bytes());
        h.update([0]);
    }
    for (path, node) in tree.iter() {
        h.update(path.as_bytes());
        h.update(
            format!(
                "\0{:o} {} {} {}\0",
                node.mode, node.uid, node.gid, node.mtime
            )
            .as_bytes(),
        );
        match &node.kind {
            NodeKind::Dir => h.update(b"d"),
            NodeKind::File(Content::Bytes(b)) => {
                h.update(b"b");
                h.update(Sha256::digest(b.as_slice()));
            }
            NodeKind::File(Content::Source {
                source,
                offset,
                size,
            }) => {
                let src = tree
                    .sources
                    .get(*source as usize)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                h.update(format!("s{src}\0{offset}\0{size}").as_bytes());
            }
            NodeKind::Symlink(t) => h.update(format!("l{t}").as_bytes()),
            NodeKind::Hardlink(t) => h.update(format!("h{t}").as_bytes()),
            other => h.update(format!("{other:?}").as_bytes()),
        }
        h.update([0]);
    }
    hex::encode(h.finalize())
}
