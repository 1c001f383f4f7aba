//! The files that make the image an apk-managed system, laid out as apko
//! does: base directories and devices, `/etc/apk/*`, and the installed
//! database under `usr/lib/apk/db` (with `lib/apk` pointing there).

use apk_format::index::IndexEntry;
use apk_format::installed::{Acl, InstalledDir, InstalledFile, InstalledPackage, write_installed};
use apk_format::record::{FieldLayout, q1_checksum};
use apk_format::tar_write::{TarHeader, TarKind, TarWriter};

use crate::install::Installed;
use crate::tree::{Node, NodeKind, Tree, TreeError};

/// Directories every image starts with, and their modes.
const BASE_DIRS: &[(&str, u32)] = &[
    ("dev", 0o755),
    ("etc", 0o755),
    ("opt", 0o755),
    ("proc", 0o555),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("var", 0o755),
    ("etc/apk", 0o755),
    ("etc/apk/keys", 0o755),
    ("usr/lib", 0o755),
    ("usr/lib/apk", 0o755),
    ("usr/lib/apk/db", 0o755),
    ("usr/lib/apk/exec", 0o755),
    ("var/cache", 0o755),
    ("var/cache/apk", 0o755),
    ("var/cache/misc", 0o755),
];

/// Device nodes apko creates in `/dev`.
const DEVICES: &[(&str, u32, u32, u32)] = &[
    ("dev/console", 5, 1, 0o620),
    ("dev/null", 1, 3, 0o666),
    ("dev/random", 1, 8, 0o666),
    ("dev/urandom", 1, 9, 0o666),
    ("dev/zero", 1, 5, 0o666),
];

/// A fresh tree with the base directories (created before packages, so
/// their modes win: first creator keeps the mode).
pub fn base_tree() -> Tree {
    let mut tree = Tree::new();
    for (dir, mode) in BASE_DIRS {
        tree.insert(dir, Node::new(NodeKind::Dir, *mode, 0));
    }
    tree
}

/// What `/etc/apk` should say.
#[derive(Clone, Debug, Default)]
pub struct ApkState {
    /// apk arch name.
    pub arch: String,
    /// World atoms (written sorted).
    pub world: Vec<String>,
    /// Repository lines (written sorted and deduplicated).
    pub repositories: Vec<String>,
    /// Trusted keys: file name and PEM content.
    pub keys: Vec<(String, Vec<u8>)>,
}

/// Writes devices, `/etc/apk/*`, the installed database, `scripts.tar`,
/// `triggers` and the `lib/apk` link, after all packages are installed.
pub fn write_apk_state(
    tree: &mut Tree,
    installed: &[Installed],
    state: &ApkState,
) -> Result<(), TreeError> {
    for (path, major, minor, mode) in DEVICES {
        if tree.get(path).is_none() {
            tree.mkdir_all("dev", 0o755, 0)?;
            tree.insert(
                path,
                Node::new(NodeKind::CharDevice(*major, *minor), *mode, 0),
            );
        }
    }
    tree.write_file(
        "etc/apk/arch",
        format!("{}\n", state.arch).into_bytes(),
        0o644,
        0,
    )?;
    let mut world = state.world.clone();
    world.sort();
    world.dedup();
    tree.write_file("etc/apk/world", lines(&world), 0o644, 0)?;
    let mut repos = state.repositories.clone();
    repos.sort();
    repos.dedup();
    tree.write_file("etc/apk/repositories", lines(&repos), 0o644, 0)?;
    for (name, pem) in &state.keys {
        tree.write_file(&format!("etc/apk/keys/{name}"), pem.clone(), 0o644, 0)?;
    }
    let db = "usr/lib/apk/db";
    tree.mkdir_all(db, 0o755, 0)?;
    tree.write_file(
        &format!("{db}/installed"),
        installed_db(tree, installed).into_bytes(),
        0o644,
        0,
    )?;
    tree.write_file(&format!("{db}/lock"), Vec::new(), 0o600, 0)?;
    tree.write_file(&format!("{db}/triggers"), triggers(installed), 0o644, 0)?;
    tree.write_file(
        &format!("{db}/scripts.tar"),
        scripts_tar(installed),
        0o644,
        0,
    )?;
    link_lib_apk(tree)
}

fn lines(items: &[String]) -> Vec<u8> {
    let mut s = String::new();
    for i in items {
        s.push_str(i);
        s.push('\n');
    }
    s.into_bytes()
}

/// `lib/apk -> ../usr/lib/apk`, unless `lib` is itself a link (usrmerge)
/// or something else already lives at `lib/apk`.
fn link_lib_apk(tree: &mut Tree) -> Result<(), TreeError> {
    match tree.get("lib") {
        Some(Node {
            kind: NodeKind::Symlink(_),
            ..
        }) => return Ok(()),
        Some(n) if !n.is_dir() => return Ok(()),
        _ => {}
    }
    if tree.get("lib/apk").is_some() {
        // Only empty directories may be replaced by the link.
        let only_dirs = tree.children_of("lib/apk").all(|(_, n)| n.is_dir());
        if !only_dirs || !tree.get("lib/apk").is_some_and(Node::is_dir) {
            return Ok(());
        }
        let doomed: Vec<String> = tree
            .children_of("lib/apk")
            .map(|(p, _)| p.to_string())
            .collect();
        for p in doomed {
            tree.remove(&p);
        }
        tree.remove("lib/apk");
    }
    tree.mkdir_all("lib", 0o755, 0)?;
    tree.insert(
        "lib/apk",
        Node::new(NodeKind::Symlink("../usr/lib/apk".into()), 0o777, 0),
    );
    Ok(())
}

/// The installed database in apk-tools' own field order, so apk inside the
/// image reads it as it reads its own.
fn installed_db(tree: &Tree, installed: &[Installed]) -> String {
    let _ = tree;
    let mut out = Vec::new();
    for pkg in installed {
        let mut dirs: Vec<InstalledDir> = Vec::new();
        for (path, owned) in &pkg.owned {
            let path = path.0.as_str();
            let default_mode = if owned.is_dir { 0o755 } else { 0o644 };
            let acl = (owned.uid != 0
                || owned.gid != 0
                || owned.mode != default_mode
                || owned.xattr_sha1.is_some())
            .then(|| Acl {
                uid: owned.uid,
                gid: owned.gid,
                mode: owned.mode,
                mode_width: 4,
                xattr_checksum: owned
                    .xattr_sha1
                    .map(|d| apk_format::record::q1_checksum(&d)),
            });
            if owned.is_dir {
                dirs.push(InstalledDir {
                    path: path.to_string(),
                    acl,
                    files: Vec::new(),
                });
                continue;
            }
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            if dirs.last().is_none_or(|d| d.path != dir) {
                // Find (or add) the directory record.
                match dirs.iter().rposition(|d| d.path == dir) {
                    Some(i) => {
                        let d = dirs.remove(i);
                        dirs.push(d);
                    }
                    None => dirs.push(InstalledDir {
                        path: dir.to_string(),
                        acl: None,
                        files: Vec::new(),
                    }),
                }
            }
            if let Some(d) = dirs.last_mut() {
                d.files.push(InstalledFile {
                    name: name.to_string(),
                    acl,
                    checksum: owned.sha1.map(|s| q1_checksum(&s)),
                });
            }
        }
        // Directories in walk order, files sorted within each.
        dirs.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
        for d in &mut dirs {
            d.files.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let mut record = pkg.record.clone();
        record.checksum = Some(db_checksum(&pkg.record));
        record.datahash = None;
        record.triggers.clear();
        out.push(InstalledPackage {
            package: record,
            layout: FieldLayout::default(),
            dirs,
        });
    }
    write_installed(&out)
}

/// The `C:` of the installed database: the index checksum, except that a
/// v3 identity (`Q2` + SHA-256) is cut to its first 20 bytes as `Q1`, as
/// apk-tools 3 writes it (apk-tools 2 reads only `Q1`).
fn db_checksum(record: &apk_format::record::PackageRecord) -> String {
    let sum = record.checksum.clone().unwrap_or_default();
    match apk_format::adb::index::decode_checksum(&sum) {
        Some(bytes) if sum.starts_with("Q2") => q1_checksum(&bytes[..20]),
        _ => sum,
    }
}

fn triggers(installed: &[Installed]) -> Vec<u8> {
    let mut s = String::new();
    for pkg in installed.iter().filter(|p| !p.record.triggers.is_empty()) {
        let sum = db_checksum(&pkg.record);
        s.push_str(&format!("{sum} {}\n", pkg.record.triggers.join(" ")));
    }
    s.into_bytes()
}

/// `scripts.tar`: each executable control file as
/// `<name>-<version>.<checksum>.<script>`, tar closed.
fn scripts_tar(installed: &[Installed]) -> Vec<u8> {
    let mut tar = TarWriter::new(Vec::new());
    for pkg in installed {
        let sum = db_checksum(&pkg.record);
        for cf in pkg.control_files.iter().filter(|c| c.mode & 0o555 == 0o555) {
            let name = format!("{}.{sum}{}", pkg.record.name_version(), cf.name);
            let mut h = TarHeader::new(name, TarKind::File, cf.mode);
            h.size = cf.content.len() as u64;
            h.mtime = pkg.record.build_time.unwrap_or(0);
            // Writing to a Vec cannot fail.
            let _ = tar.append(&h, &mut &cf.content[..]);
        }
    }
    let _ = tar.finish();
    tar.into_inner()
}

/// Index-like records of the installed packages (for SBOMs and locks).
pub fn installed_entries(installed: &[Installed]) -> Vec<IndexEntry> {
    installed
        .iter()
        .map(|p| IndexEntry {
            package: p.record.clone(),
            layout: FieldLayout::default(),
        })
        .collect()
}
