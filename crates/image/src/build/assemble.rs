//! Fetching and installing a resolution into a tree with every generated
//! file: the image's file system, before any layer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use apk_format::record::PackageRecord;
use apk_repo::{RepoClient, RepoError, RepoLine};
use rootfs::apkdb::{ApkState, base_tree, write_apk_state};
use rootfs::install::{Installer, PackageSource};

use super::{BuildError, RepoProgress, Reporter, plural, unique};
use crate::request::{BuildOptions, BuildRequest};

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
    reporter.phase(&format!(
        "{arch}: installing {}",
        plural(packages.len(), "package", "packages")
    ));
    let mut installer = Installer::new(base_tree());
    let install_err = |source| BuildError::Install {
        arch: arch.to_string(),
        source,
    };
    // Packages are expanded on every core and installed in order as soon
    // as each is ready, so installing overlaps expanding.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(work.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| -> Result<(), BuildError> {
        let (tx, rx) = mpsc::channel::<(usize, Result<apk_repo::ExpandedPackage, RepoError>)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (work, next, stop) = (&work, &next, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(((line, record), f)) = work.get(i) else {
                        break;
                    };
                    if tx
                        .send((i, client.expand_fetched(line, arch, record, f)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut ready: Vec<Option<Result<apk_repo::ExpandedPackage, RepoError>>> =
            (0..work.len()).map(|_| None).collect();
        let result = (|| {
            for (i, (line, index_record)) in packages.iter().enumerate() {
                let exp = loop {
                    if let Some(exp) = ready[i].take() {
                        break exp;
                    }
                    match rx.recv() {
                        Ok((j, exp)) => ready[j] = Some(exp),
                        Err(_) => {
                            return Err(BuildError::Work {
                                path: opts.work_dir.clone(),
                                source: std::io::Error::other("an expanding thread failed"),
                            });
                        }
                    }
                };
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
                        data_sha256: Some(exp.data_digest.sha256),
                        repo_tag: line.tag.clone(),
                        owners_by_name: exp.owners_by_name,
                    })
                    .map_err(install_err)?;
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        result
    })?;
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
