//! Input digests: what a recipe's packages are made from.
//!
//! A build's inputs are
//! - the evaluated recipe (every substitution made, every `uses:` expanded,
//!   so the pipelines it uses and the sources it pins, `expected-sha256`
//!   and `expected-commit`, are part of it);
//! - the files of its source directory (patches and the like);
//! - the settings that shape every package: apkforge's version,
//!   `SOURCE_DATE_EPOCH`, the signing key;
//! - the exact packages of its build environment (name, version and
//!   control checksum), as resolved against the repositories at the time:
//!   a dependency rebuilt byte-identical leaves this unchanged, so what
//!   depends on it is not rebuilt (early cutoff).
//!
//! Each part is kept apart in the record so that a rebuild can say which
//! part changed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use apk_format::record::PackageRecord;
use sha2::{Digest, Sha256};

use recipe::CompiledRecipe;

/// Settings that affect every package of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// apkforge's version.
    pub apkforge_version: String,
    /// `SOURCE_DATE_EPOCH`.
    pub source_date_epoch: u64,
    /// The signing key: its public name and the SHA-256 of its public PEM.
    pub signing_key: Option<String>,
}

/// The parts of a recipe's inputs known before its environment is
/// resolved: part name → value or digest.
pub type Parts = BTreeMap<String, String>;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The source directory melange uses for a recipe: `<recipe dir>/<package
/// name>/`, when it exists.
pub fn source_dir(recipe: &Path, package: &str) -> Option<PathBuf> {
    let dir = recipe.parent().unwrap_or(Path::new(".")).join(package);
    dir.is_dir().then_some(dir)
}

/// The parts of a recipe's inputs that do not depend on other builds;
/// `source_dir` is the directory copied into its workspace, if any, less
/// the paths in `skip`.
pub fn parts(
    compiled: &CompiledRecipe,
    source_dir: Option<&Path>,
    skip: &[PathBuf],
    settings: &Settings,
) -> std::io::Result<Parts> {
    let mut p = Parts::new();
    let json = serde_json::to_vec(compiled).unwrap_or_default();
    p.insert("recipe".into(), sha256_hex(&json));
    if let Some(dir) = source_dir {
        p.insert("source-dir".into(), tree_digest(dir, skip)?);
    }
    p.insert("apkforge".into(), settings.apkforge_version.clone());
    p.insert(
        "source-date-epoch".into(),
        settings.source_date_epoch.to_string(),
    );
    p.insert(
        "signing-key".into(),
        settings
            .signing_key
            .clone()
            .unwrap_or_else(|| "none".into()),
    );
    Ok(p)
}

/// The build environment as recorded: `name version checksum` per
/// package, sorted. The recipe's own packages are left out: a recipe that
/// builds with an earlier build of itself would otherwise never be up to
/// date.
pub fn environment(compiled: &CompiledRecipe, installed: &[PackageRecord]) -> Vec<String> {
    let own = |name: &str| {
        compiled.package.name == name || compiled.enabled_subpackages().any(|s| s.name == name)
    };
    let mut v: Vec<String> = installed
        .iter()
        .filter(|r| !own(&r.name))
        .map(|r| {
            format!(
                "{} {} {}",
                r.name,
                r.version,
                r.checksum.as_deref().unwrap_or("-")
            )
        })
        .collect();
    v.sort();
    v
}

/// The digest of all inputs.
pub fn inputs(parts: &Parts, environment: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"apkforge-tree-inputs-v1\n");
    for (k, v) in parts {
        h.update(format!("{k}={v}\n").as_bytes());
    }
    for e in environment {
        h.update(b"env=");
        h.update(e.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A digest of a directory tree: every entry's relative path, type,
/// permissions and contents (or link target), in sorted order; the paths
/// in `skip` (the repository and caches, when they are inside) are left
/// out.
pub fn tree_digest(dir: &Path, skip: &[PathBuf]) -> std::io::Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut h = Sha256::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(&rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        // Pushed in reverse so the walk is depth first in sorted order.
        let mut subdirs = Vec::new();
        for name in entries {
            let r = rel.join(&name);
            let path = dir.join(&r);
            if !skip.is_empty() && path.canonicalize().is_ok_and(|c| skip.contains(&c)) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)?;
            let mode = meta.permissions().mode() & 0o7777;
            let ft = meta.file_type();
            h.update(r.to_string_lossy().as_bytes());
            if ft.is_symlink() {
                let target = std::fs::read_link(&path)?;
                h.update(format!("\0l\0{}\0", target.to_string_lossy()).as_bytes());
            } else if ft.is_dir() {
                h.update(format!("\0d\0{mode:o}\0").as_bytes());
                subdirs.push(r);
            } else if !ft.is_file() {
                // Sockets, fifos, devices: never copied into a workspace,
                // and opening a fifo would wait for a writer.
                h.update(b"\0o\0");
            } else {
                h.update(format!("\0f\0{mode:o}\0{}\0", meta.len()).as_bytes());
                let mut f = std::fs::File::open(&path)?;
                let mut buf = [0u8; 64 * 1024];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(hex::encode(h.finalize()))
}

/// Why two sets of inputs differ, in words; empty when they do not.
pub fn differences(
    old_parts: &Parts,
    new_parts: &Parts,
    old_env: Option<&[String]>,
    new_env: Option<&[String]>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in new_parts {
        match old_parts.get(k) {
            Some(o) if o == v => {}
            Some(o) if k == "recipe" || k == "source-dir" || o.len() == 64 => {
                out.push(format!("{k} changed"));
            }
            Some(o) => out.push(format!("{k} changed ({o} -> {v})")),
            None => out.push(format!("{k} added")),
        }
    }
    for k in old_parts.keys() {
        if !new_parts.contains_key(k) {
            out.push(format!("{k} removed"));
        }
    }
    if let (Some(old), Some(new)) = (old_env, new_env)
        && old != new
    {
        out.push(format!(
            "build environment changed ({})",
            env_changes(old, new)
        ));
    }
    out
}

/// `foo 1-r0 -> 2-r0`, `+bar`, `-baz`, `qux rebuilt` for two recorded
/// environments.
fn env_changes(old: &[String], new: &[String]) -> String {
    let split = |l: &[String]| -> BTreeMap<String, (String, String)> {
        l.iter()
            .filter_map(|e| {
                let mut it = e.splitn(3, ' ');
                Some((
                    it.next()?.to_string(),
                    (it.next()?.to_string(), it.next()?.to_string()),
                ))
            })
            .collect()
    };
    let (o, n) = (split(old), split(new));
    let mut changes = Vec::new();
    for (name, (v, c)) in &n {
        match o.get(name) {
            None => changes.push(format!("+{name}")),
            Some((ov, _)) if ov != v => changes.push(format!("{name} {ov} -> {v}")),
            Some((_, oc)) if oc != c => changes.push(format!("{name} rebuilt")),
            _ => {}
        }
    }
    for name in o.keys() {
        if !n.contains_key(name) {
            changes.push(format!("-{name}"));
        }
    }
    const SHOWN: usize = 5;
    let more = changes.len().saturating_sub(SHOWN);
    changes.truncate(SHOWN);
    if more > 0 {
        changes.push(format!("{more} more"));
    }
    changes.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_digest_sees_contents_modes_and_names() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/a.patch"), "x").unwrap();
        let first = tree_digest(d.path(), &[]).unwrap();
        assert_eq!(first, tree_digest(d.path(), &[]).unwrap());
        std::fs::write(d.path().join("sub/a.patch"), "y").unwrap();
        let second = tree_digest(d.path(), &[]).unwrap();
        assert_ne!(first, second);
        std::fs::set_permissions(
            d.path().join("sub/a.patch"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_ne!(second, tree_digest(d.path(), &[]).unwrap());
        let third = tree_digest(d.path(), &[]).unwrap();
        std::fs::rename(d.path().join("sub/a.patch"), d.path().join("sub/b.patch")).unwrap();
        assert_ne!(third, tree_digest(d.path(), &[]).unwrap());
        // A socket (an engine's, beside a recipe) and a fifo are not read.
        let _socket = std::os::unix::net::UnixListener::bind(d.path().join("engine.sock")).unwrap();
        mkfifo(&d.path().join("pipe"));
        assert_ne!(third, tree_digest(d.path(), &[]).unwrap());
    }

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn differences_are_named() {
        let mut a = Parts::new();
        a.insert("recipe".into(), "0".repeat(64));
        a.insert("apkforge".into(), "0.1.0".into());
        let mut b = a.clone();
        assert!(differences(&a, &b, None, None).is_empty());
        b.insert("apkforge".into(), "0.2.0".into());
        b.insert("recipe".into(), "1".repeat(64));
        assert_eq!(
            differences(&a, &b, None, None),
            ["apkforge changed (0.1.0 -> 0.2.0)", "recipe changed"]
        );
        let old = vec!["a 1-r0 Q1x".to_string(), "b 1-r0 Q1y".to_string()];
        let new = vec!["a 2-r0 Q1z".to_string(), "c 1-r0 Q1w".to_string()];
        assert_eq!(
            differences(&a, &a, Some(&old), Some(&new)),
            ["build environment changed (a 1-r0 -> 2-r0, +c, -b)"]
        );
    }
}
