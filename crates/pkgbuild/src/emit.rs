//! Turning `melange-out/<name>` directories into signed packages and the
//! repository index.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use apk_format::Dependency;
use apk_format::index::{IndexEntry, entry_for_package};
use apk_format::index_archive::{read_index_archive, sign_index_archive, write_index_archive};
use apk_format::package_write::PackageBuilder;
use apk_format::record::PackageRecord;
use apk_format::signing::SigningKey;
use recipe::CompiledRecipe;

use crate::{BuildOptions, Log, PkgBuildError};

/// A package written by the build.
#[derive(Clone, Debug)]
pub struct EmittedPackage {
    /// Where it was written.
    pub path: PathBuf,
    /// Its metadata (with `C:` and `S:`).
    pub record: PackageRecord,
    /// What the analysis (SCA) generated, before the recipe's own
    /// dependencies were added.
    pub generated: sca::Generated,
}

pub(crate) struct Output<'a> {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) url: String,
    pub(crate) commit: String,
    pub(crate) dependencies: &'a recipe::types::Dependencies,
    pub(crate) options: Option<&'a recipe::types::PackageOptions>,
    pub(crate) scriptlets: Option<&'a recipe::types::Scriptlets>,
    pub(crate) setcap: &'a [recipe::types::SetCap],
}

fn atoms(package: &str, list: &[recipe::Str]) -> Result<Vec<Dependency>, PkgBuildError> {
    list.iter()
        .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|a| {
            Dependency::parse(&a).map_err(|e| PkgBuildError::Atom {
                package: package.to_string(),
                atom: a.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The uid/gid pairs steps may run as: the `build` user and the
/// `accounts.run-as` user, whose files melange packages as root's.
fn step_ids(recipe: &CompiledRecipe) -> Vec<(u32, u32)> {
    let accounts = &recipe.environment.accounts;
    let mut ids = Vec::new();
    for u in &accounts.users {
        let run_as = accounts.run_as.as_str();
        if u.username.as_str() == "build"
            || (!run_as.is_empty()
                && (u.username.as_str() == run_as || u.uid.to_string() == run_as))
        {
            ids.push((u.uid, u.gid.unwrap_or(u.uid)));
        }
    }
    if let Ok(uid) = accounts.run_as.parse::<u32>() {
        ids.push((uid, uid));
    }
    ids
}

/// `setcap:` entries as `path → security.capability value`.
fn capabilities(
    package: &str,
    setcap: &[recipe::types::SetCap],
) -> Result<BTreeMap<String, Vec<u8>>, PkgBuildError> {
    let mut out = BTreeMap::new();
    for c in setcap {
        let add: Vec<(String, String)> = c
            .add
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let value =
            crate::content::capability_xattr(&add).map_err(|reason| PkgBuildError::Output {
                what: format!("{package}: setcap `{}`", c.path),
                reason,
            })?;
        out.insert(c.path.trim_start_matches('/').to_string(), value);
    }
    Ok(out)
}

/// The main package and every enabled subpackage, with what the recipe
/// says of each.
pub(crate) fn outputs(recipe: &CompiledRecipe) -> Vec<Output<'_>> {
    let p = &recipe.package;
    let mut outputs = vec![Output {
        name: p.name.to_string(),
        description: line(&p.description),
        url: line(&p.url),
        commit: line(&p.commit),
        dependencies: &p.dependencies,
        options: p.options.as_ref(),
        scriptlets: p.scriptlets.as_ref(),
        setcap: &p.setcap,
    }];
    for s in recipe.subpackages.iter().filter(|s| s.enabled) {
        outputs.push(Output {
            name: s.name.to_string(),
            description: line(&s.description),
            url: line(&s.url),
            commit: if s.commit.is_empty() {
                line(&p.commit)
            } else {
                line(&s.commit)
            },
            dependencies: &s.dependencies,
            options: s.options.as_ref(),
            scriptlets: s.scriptlets.as_ref(),
            setcap: &s.setcap,
        });
    }
    outputs
}

/// Block scalars (`description: |`) end in a line break, which would add
/// a line to .PKGINFO and end an APKINDEX record early.
fn line(s: &str) -> String {
    s.trim_end_matches(['\n', '\r']).to_string()
}

/// `<version>-r<epoch>`.
pub(crate) fn full_version(recipe: &CompiledRecipe) -> String {
    format!("{}-r{}", recipe.package.version, recipe.package.epoch)
}

/// The package's `license`: the copyright entries' licenses joined by AND.
pub(crate) fn license(recipe: &CompiledRecipe) -> String {
    recipe
        .package
        .copyright
        .iter()
        .map(|c| line(&c.license))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// SCA of one package's files with the recipe's options: configured plus
/// generated dependencies and provides, minus what the package provides
/// itself.
pub(crate) fn analyze(
    o: &Output<'_>,
    version: &str,
    files: &[sca::FileInfo],
) -> Result<sca::ScaResult, PkgBuildError> {
    let sca_opts = sca::ScaOptions {
        package_name: o.name.clone(),
        version: version.to_string(),
        no_provides: o.options.is_some_and(|x| x.no_provides),
        no_depends: o.options.is_some_and(|x| x.no_depends),
        no_commands: o.options.is_some_and(|x| x.no_commands),
        runtime: atoms(&o.name, &o.dependencies.runtime)?,
        provides: atoms(&o.name, &o.dependencies.provides)?,
        versioned_pc_depends: false,
    };
    sca::analyze(files, &sca_opts).map_err(|e| PkgBuildError::Sca {
        package: o.name.clone(),
        reason: e.to_string(),
    })
}

/// The metadata the recipe and the analysis give package `o`.
pub(crate) fn record(
    o: &Output<'_>,
    recipe: &CompiledRecipe,
    arch: &str,
    strip_origin_name: bool,
    found: sca::ScaResult,
) -> Result<PackageRecord, PkgBuildError> {
    Ok(PackageRecord {
        name: o.name.clone(),
        version: full_version(recipe),
        arch: arch.to_string(),
        description: o.description.clone(),
        url: o.url.clone(),
        license: license(recipe),
        origin: Some(if strip_origin_name {
            o.name.clone()
        } else {
            recipe.package.name.to_string()
        }),
        commit: Some(o.commit.clone()),
        depends: found.depends,
        provides: found.provides,
        replaces: atoms(&o.name, &o.dependencies.replaces)?,
        provider_priority: o.dependencies.provider_priority.parse().ok(),
        replaces_priority: o.dependencies.replaces_priority.parse().ok(),
        // A trigger script runs when files change under these paths.
        triggers: o
            .scriptlets
            .filter(|s| !s.trigger.script.is_empty())
            .map(|s| s.trigger.paths.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        ..Default::default()
    })
}

/// Writes a package's SBOM to `var/lib/db/sbom/<file>` under `content`,
/// the tree the build's steps made. Nothing there is followed: a
/// directory on the way that is a symbolic link or not a directory, or a
/// file of that name that is not a regular file, is refused (written
/// through, a link would put the document anywhere on the host).
fn write_package_sbom(
    content: &Path,
    package: &str,
    file: &str,
    doc: &[u8],
) -> Result<(), PkgBuildError> {
    let refuse = |path: &Path, what: &str| PkgBuildError::Output {
        what: format!("the SBOM of {package}"),
        reason: format!(
            "`{}` in the package is {what}; the package's SBOM is written there",
            path.strip_prefix(content).unwrap_or(path).display()
        ),
    };
    let work = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PkgBuildError::Work { path, source }
    };
    let mut dir = content.to_path_buf();
    for part in ["var", "lib", "db", "sbom"] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => return Err(refuse(&dir, "a symbolic link")),
            Ok(_) => return Err(refuse(&dir, "not a directory")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&dir).map_err(work(&dir))?;
            }
            Err(e) => return Err(work(&dir)(e)),
        }
    }
    let path = dir.join(file);
    if let Ok(m) = std::fs::symlink_metadata(&path)
        && !m.is_file()
    {
        let what = if m.file_type().is_symlink() {
            "a symbolic link"
        } else {
            scratch::special_kind(m.file_type()).unwrap_or("not a regular file")
        };
        return Err(refuse(&path, what));
    }
    let mut tmp = scratch::file_in(&dir, crate::TEMP_PREFIX).map_err(work(&dir))?;
    std::io::Write::write_all(tmp.as_file_mut(), doc).map_err(work(&path))?;
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .map_err(work(&path))?;
    tmp.persist(&path).map_err(|e| work(&path)(e.error))?;
    Ok(())
}

/// Packages the main package and every enabled subpackage.
pub fn emit_all(
    recipe: &CompiledRecipe,
    opts: &BuildOptions<'_>,
    arch: &str,
    workspace: &Path,
    root: &Path,
    locked: &[String],
    log: &dyn Log,
) -> Result<Vec<EmittedPackage>, PkgBuildError> {
    // The evaluated recipe, in every package (melange's `.melange.yaml`).
    let melange_yaml = recipe
        .to_melange_yaml(Some(locked))
        .map_err(|e| PkgBuildError::Output {
            what: ".melange.yaml".into(),
            reason: e.to_string(),
        })?;
    let outputs = outputs(recipe);
    let version = full_version(recipe);
    let dir = opts.out_dir.join(arch);
    std::fs::create_dir_all(&dir).map_err(|source| PkgBuildError::Work {
        path: dir.clone(),
        source,
    })?;
    let owners = crate::content::Owners::new(root, &step_ids(recipe));
    let mut pending = Vec::new();
    for o in outputs {
        let content = workspace.join("melange-out").join(&o.name);
        let files = sca::files_from_dir(&content).map_err(|e| PkgBuildError::Sca {
            package: o.name.clone(),
            reason: e.to_string(),
        })?;
        let found = analyze(&o, &version, &files)?;
        for w in &found.warnings {
            log.line(&format!("    warning: {}: {}", w.path, w.message));
        }
        let generated = found.generated.clone();
        let record = record(&o, recipe, arch, opts.strip_origin_name, found)?;
        // The package's own SBOM, where melange puts it (apko composes image
        // SBOMs from these).
        let sbom_doc = crate::sbom_doc::document(
            recipe,
            &o.name,
            arch,
            &opts.sbom,
            &apk_repo::time::rfc3339(opts.source_date_epoch),
            workspace,
        )?;
        write_package_sbom(
            &content,
            &o.name,
            &format!("{}-{version}.spdx.json", o.name),
            sbom_doc.as_ref(),
        )?;
        let caps = capabilities(&o.name, o.setcap)?;
        let tree = crate::content::package_tree(&content, &owners, &caps).map_err(|reason| {
            PkgBuildError::Output {
                what: o.name.clone(),
                reason,
            }
        })?;
        if opts.v3 {
            let mut scripts = Vec::new();
            if let Some(s) = o.scriptlets {
                for (name, body) in [
                    (".pre-install", &s.pre_install),
                    (".post-install", &s.post_install),
                    (".pre-deinstall", &s.pre_deinstall),
                    (".post-deinstall", &s.post_deinstall),
                    (".pre-upgrade", &s.pre_upgrade),
                    (".post-upgrade", &s.post_upgrade),
                    (".trigger", &s.trigger.script),
                ] {
                    if !body.is_empty() {
                        scripts.push((name, body.as_bytes().to_vec()));
                    }
                }
            }
            let target = dir.join(format!("{}-{version}.apk", o.name));
            let (tmp, record) =
                crate::emit_v3::write_package(opts, record, tree, &owners, scripts, &target)?;
            pending.push((
                tmp,
                record.checksum.clone().unwrap_or_default(),
                EmittedPackage {
                    path: target,
                    record,
                    generated,
                },
            ));
            continue;
        }
        let mut builder = PackageBuilder::new(record, opts.source_date_epoch);
        builder
            .entries(tree)
            .owner_names(owners.users.clone(), owners.groups.clone())
            .control_file(".melange.yaml", melange_yaml.as_bytes().to_vec());
        if let Some(s) = o.scriptlets {
            for (name, body) in [
                (".pre-install", &s.pre_install),
                (".post-install", &s.post_install),
                (".pre-deinstall", &s.pre_deinstall),
                (".post-deinstall", &s.post_deinstall),
                (".pre-upgrade", &s.pre_upgrade),
                (".post-upgrade", &s.post_upgrade),
                (".trigger", &s.trigger.script),
            ] {
                if !body.is_empty() {
                    builder.script(name, body.as_bytes().to_vec());
                }
            }
        }
        let target = dir.join(format!("{}-{version}.apk", o.name));
        let out_err = |reason: String| PkgBuildError::Output {
            what: target.display().to_string(),
            reason,
        };
        let mut tmp =
            scratch::file_in(&dir, crate::TEMP_PREFIX).map_err(|e| out_err(e.to_string()))?;
        let mut scratch = tempfile::tempfile_in(&dir).map_err(|e| out_err(e.to_string()))?;
        let written = {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            let written = builder
                .write(&mut w, &mut scratch, opts.signing_key)
                .map_err(|e| out_err(e.to_string()))?;
            std::io::Write::flush(&mut w).map_err(|e| out_err(e.to_string()))?;
            written
        };
        pending.push((
            tmp,
            written.checksum,
            EmittedPackage {
                path: target,
                record: written.record,
                generated,
            },
        ));
    }
    // Only once every package is written do any of them take their names:
    // a failure above leaves no package behind.
    // A name that is a device, FIFO or socket fails before any is renamed.
    for (_, _, package) in &pending {
        scratch::check_replaceable(&package.path).map_err(|e| PkgBuildError::Output {
            what: package.path.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let mut emitted = Vec::new();
    for (tmp, checksum, package) in pending {
        scratch::persist(tmp, &package.path).map_err(|e| PkgBuildError::Output {
            what: package.path.display().to_string(),
            reason: e.to_string(),
        })?;
        log.line(&format!(
            "==> wrote {} ({checksum})",
            package.path.display()
        ));
        emitted.push(package);
    }
    Ok(emitted)
}

/// Adds the packages to the build's index (see [`add_to_index`]).
pub fn update_index(
    opts: &BuildOptions<'_>,
    arch: &str,
    emitted: &[EmittedPackage],
) -> Result<PathBuf, PkgBuildError> {
    add_to_index(&opts.out_dir, opts.signing_key, arch, emitted)
}

/// Adds the packages to `<out>/<arch>/APKINDEX.tar.gz` (replacing entries
/// of the same name and version), sorted, signed when a key is given;
/// creates the index (empty when `emitted` is) if there is none.
/// Concurrent updates of the same index are serialized by
/// [`crate::IndexLock`]; readers see the old or the new index, never a
/// partial one.
pub fn add_to_index(
    out_dir: &Path,
    signing_key: Option<&SigningKey>,
    arch: &str,
    emitted: &[EmittedPackage],
) -> Result<PathBuf, PkgBuildError> {
    let path = out_dir.join(arch).join("APKINDEX.tar.gz");
    let err = |reason: String| PkgBuildError::Output {
        what: path.display().to_string(),
        reason,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let _lock = crate::IndexLock::acquire(dir).map_err(|e| {
        err(format!(
            "locking {}: {e}",
            crate::index_lock::lock_path(dir).display()
        ))
    })?;
    let mut entries: Vec<IndexEntry> = match File::open(&path) {
        Ok(f) => {
            read_index_archive(BufReader::new(f))
                .map_err(|e| err(e.to_string()))?
                .entries
        }
        Err(_) => Vec::new(),
    };
    for e in emitted {
        let size = e.record.file_size.unwrap_or(0);
        let checksum = e.record.checksum.clone().unwrap_or_default();
        let entry = entry_for_package(&e.record, &checksum, size, None);
        entries.retain(|x| {
            !(x.package.name == entry.package.name && x.package.version == entry.package.version)
        });
        entries.push(entry);
    }
    entries.sort_by(|a, b| {
        a.package
            .name
            .cmp(&b.package.name)
            .then_with(|| apk_format::version::compare(&a.package.version, &b.package.version))
    });
    let mut bytes = write_index_archive("", &entries).map_err(|e| err(e.to_string()))?;
    if let Some(key) = signing_key {
        bytes = sign_index_archive(&bytes, key).map_err(|e| err(e.to_string()))?;
    }
    let mut tmp = scratch::file_in(dir, crate::TEMP_PREFIX).map_err(|e| err(e.to_string()))?;
    std::io::Write::write_all(tmp.as_file_mut(), &bytes).map_err(|e| err(e.to_string()))?;
    // A repository index is public; the temp file was made 0600.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .map_err(|e| err(e.to_string()))?;
    scratch::persist(tmp, &path).map_err(|e| err(e.to_string()))?;
    Ok(path)
}
