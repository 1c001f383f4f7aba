//! Installs packages (their uncompressed data tars) into a [`Tree`], with
//! apk's conflict rules and path safety, and records what each owns.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

use apk_format::package_read::ControlFile;
use apk_format::record::PackageRecord;

use crate::tree::{Content, Node, NodeKind, Tree, TreeError, normalize};

/// A package ready to install: metadata plus its data section as a plain tar.
#[derive(Clone, Debug)]
pub struct PackageSource {
    /// `.PKGINFO` metadata (with `C:` and `S:` filled in from the index).
    pub record: PackageRecord,
    /// Control files (scripts).
    pub control_files: Vec<ControlFile>,
    /// Uncompressed data tar.
    pub data_tar: PathBuf,
    /// SHA-256 of the whole `data_tar`, when checked (see
    /// [`Tree::source_digests`]).
    pub data_sha256: Option<[u8; 32]>,
    /// Repository tag the package was pinned from, if any.
    pub repo_tag: Option<String>,
    /// The tar's owners are names to resolve against the tree's account
    /// files (apk v3 packages), not numeric ids.
    pub owners_by_name: bool,
}

/// Owner and mode a package gave an entry (kept for the installed db).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    /// Directory or not.
    pub is_dir: bool,
    /// Owner uid from the package.
    pub uid: u32,
    /// Owner gid from the package.
    pub gid: u32,
    /// Mode from the package.
    pub mode: u32,
    /// SHA-1 of content or link target.
    pub sha1: Option<[u8; 20]>,
    /// apk-tools' checksum of the extended attributes, if any.
    pub xattr_sha1: Option<[u8; 20]>,
}

/// A package that has been installed.
#[derive(Clone, Debug)]
pub struct Installed {
    /// Metadata.
    pub record: PackageRecord,
    /// Control files.
    pub control_files: Vec<ControlFile>,
    /// Paths it owns.
    pub owned: BTreeMap<crate::tree::TreePath, Owned>,
    /// Repository tag.
    pub repo_tag: Option<String>,
}

/// Error installing a package.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A path that would land outside the root.
    #[error("package `{package}` contains unsafe path `{path}`: {reason}")]
    Unsafe {
        /// `name-version`.
        package: String,
        /// The archive path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Two packages ship different files at the same path.
    #[error(
        "`{path}` is provided by both `{existing}` and `{new}` with different content (neither replaces the other)"
    )]
    Conflict {
        /// The path.
        path: String,
        /// Package already there.
        existing: String,
        /// Package being installed.
        new: String,
    },
    /// A file whose content does not match its recorded checksum.
    #[error(
        "package `{package}`: `{path}` does not match its APK-TOOLS.checksum.SHA1 (corrupt package or cache entry)"
    )]
    Checksum {
        /// `name-version`.
        package: String,
        /// The path.
        path: String,
    },
    /// A device node or FIFO: apko installs none from packages (the image's
    /// `/dev` is the runtime's), and neither does apkforge.
    #[error(
        "package `{package}` contains `{path}`, a {kind}: device nodes and FIFOs are not installed from packages"
    )]
    SpecialFile {
        /// `name-version`.
        package: String,
        /// The path.
        path: String,
        /// `character device`, `block device` or `FIFO`.
        kind: &'static str,
    },
    /// Reading the data tar failed.
    #[error("package `{package}`: reading `{tar}`: {source}")]
    Read {
        /// `name-version`.
        package: String,
        /// The data tar.
        tar: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// Builds a tree by installing packages in order.
#[derive(Debug, Default)]
pub struct Installer {
    /// The tree being built.
    pub tree: Tree,
    /// Installed packages, in install order.
    pub installed: Vec<Installed>,
    /// Owner names of the package being installed, when it records names.
    names: Option<Vec<(crate::tree::TreePath, String, String)>>,
    /// The last parent directory an entry of the package being installed
    /// named, and where it resolved to; see [`Installer::parent_of`].
    last_parent: Option<(String, String)>,
}

fn sha1_reader(r: &mut dyn Read) -> io::Result<[u8; 20]> {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

impl Installer {
    /// Starts from an existing tree (base directories, devices, ...).
    pub fn new(tree: Tree) -> Installer {
        Installer {
            tree,
            installed: Vec::new(),
            names: None,
            last_parent: None,
        }
    }

    /// Installs one package.
    pub fn install(&mut self, src: PackageSource) -> Result<(), InstallError> {
        let package = src.record.name_version();
        let pkg_index = self.installed.len() as u32;
        let source_index = self.tree.sources.len() as u32;
        self.tree.sources.push(src.data_tar.clone());
        let digests = &mut self.tree.source_digests;
        digests.resize(source_index as usize, None);
        digests.push(src.data_sha256);
        self.installed.push(Installed {
            record: src.record,
            control_files: src.control_files,
            owned: BTreeMap::new(),
            repo_tag: src.repo_tag,
        });
        let read_err = |source| InstallError::Read {
            package: package.clone(),
            tar: src.data_tar.clone(),
            source,
        };
        self.names = src.owners_by_name.then(Vec::new);
        self.last_parent = None;
        let file = File::open(&src.data_tar).map_err(read_err)?;
        let mut archive = tar::Archive::new(BufReader::with_capacity(256 * 1024, file));
        for entry in archive.entries().map_err(read_err)? {
            let mut entry = entry.map_err(read_err)?;
            self.install_entry(&mut entry, &package, pkg_index, source_index)
                .map_err(|e| match e {
                    EntryError::Io(source) => read_err(source),
                    EntryError::Install(e) => e,
                })?;
        }
        if let Some(names) = self.names.take() {
            // After the whole package, so its own account files count.
            let accounts = crate::owners::Accounts::of(&self.tree);
            let owned = &mut self.installed[pkg_index as usize].owned;
            for (key, user, group) in names {
                let (uid, gid) = (accounts.uid(&user), accounts.gid(&group));
                if let Some(o) = owned.get_mut(&key) {
                    (o.uid, o.gid) = (uid, gid);
                }
                // The image's node too, unless another package's copy won
                // (or made the directory first).
                if let Some(node) = self.tree.get_mut(&key.0)
                    && node.owner == Some(pkg_index)
                {
                    (node.uid, node.gid) = (uid, gid);
                }
            }
        }
        Ok(())
    }

    fn install_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        package: &str,
        pkg_index: u32,
        source_index: u32,
    ) -> Result<(), EntryError> {
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_path = |reason: String| {
            EntryError::Install(InstallError::Unsafe {
                package: package.to_string(),
                path: raw.clone(),
                reason,
            })
        };
        let Some(normalized) = normalize(&raw).map_err(|e| unsafe_path(e.to_string()))? else {
            return Ok(()); // the root entry
        };
        let entry_type = entry.header().entry_type();
        let (path, parent_ready) = self
            .parent_of(&normalized, entry_type == tar::EntryType::Directory)
            .map_err(unsafe_path)?;
        let mut pax_sha1 = None;
        let mut xattrs = Vec::new();
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts {
                let ext = ext?;
                let key = ext.key().unwrap_or_default();
                if key == "APK-TOOLS.checksum.SHA1" {
                    let mut d = [0u8; 20];
                    if hex::decode_to_slice(ext.value_bytes(), &mut d).is_ok() {
                        pax_sha1 = Some(d);
                    }
                } else if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.push((name.to_string(), ext.value_bytes().to_vec()));
                }
            }
        }
        let header = entry.header();
        let owner_names = self.names.is_some().then(|| {
            let name = |n: Option<&str>| n.unwrap_or_default().to_string();
            (
                name(header.username().ok().flatten()),
                name(header.groupname().ok().flatten()),
            )
        });
        let mode = header.mode()? & 0o7777;
        let uid = u32::try_from(header.uid()?).unwrap_or(0);
        let gid = u32::try_from(header.gid()?).unwrap_or(0);
        let mtime = header.mtime()?;
        let link = entry
            .link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let (kind, sha1) = match entry_type {
            tar::EntryType::Directory => (NodeKind::Dir, None),
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let offset = entry.raw_file_position();
                let size = entry.size();
                let sha1 = sha1_reader(entry)?;
                if pax_sha1.is_some_and(|want| want != sha1) {
                    return Err(EntryError::Install(InstallError::Checksum {
                        package: package.to_string(),
                        path: path.clone(),
                    }));
                }
                (
                    NodeKind::File(Content::Source {
                        source: source_index,
                        offset,
                        size,
                    }),
                    Some(sha1),
                )
            }
            tar::EntryType::Symlink => {
                let target = link.unwrap_or_default();
                let sha1 = crate::sha1_of(target.as_bytes());
                (NodeKind::Symlink(target), Some(sha1))
            }
            tar::EntryType::Link => {
                let target = link.unwrap_or_default();
                let target = normalize(&target)
                    .map_err(|e| unsafe_path(format!("hard link target: {e}")))?
                    .ok_or_else(|| unsafe_path("hard link to the root".into()))?;
                self.refuse_through_symlink(&target, "hard link target ")
                    .map_err(unsafe_path)?;
                let sha1 = match self.tree.get(&target) {
                    Some(n) if matches!(n.kind, NodeKind::File(_)) => n.sha1,
                    _ => {
                        return Err(unsafe_path(format!(
                            "hard link to `{target}`, which is not a file of the image"
                        )));
                    }
                };
                (NodeKind::Hardlink(target), sha1)
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let kind = match entry_type {
                    tar::EntryType::Char => "character device",
                    tar::EntryType::Block => "block device",
                    _ => "FIFO",
                };
                return Err(EntryError::Install(InstallError::SpecialFile {
                    package: package.to_string(),
                    path,
                    kind,
                }));
            }
            tar::EntryType::GNUSparse => {
                return Err(unsafe_path(
                    "sparse files are not supported in packages".into(),
                ));
            }
            // PAX/GNU metadata entries are consumed by the tar reader.
            _ => return Ok(()),
        };
        if let Some((parent, _)) = path.rsplit_once('/').filter(|_| !parent_ready) {
            self.tree
                .mkdir_all(parent, 0o755, mtime)
                .map_err(|e| match e {
                    TreeError::NotADirectory { parent, .. } => {
                        unsafe_path(format!("parent `{parent}` is not a directory"))
                    }
                    e => unsafe_path(e.to_string()),
                })?;
            if let Some((raw_parent, _)) = normalized.rsplit_once('/') {
                self.last_parent = Some((raw_parent.to_string(), parent.to_string()));
            }
        }
        if let (Some(names), Some((user, group))) = (self.names.as_mut(), owner_names) {
            names.push((crate::tree::TreePath(path.clone()), user, group));
        }
        let owned = Owned {
            is_dir: kind == NodeKind::Dir,
            uid,
            gid,
            mode,
            sha1,
            xattr_sha1: apk_format::installed::xattr_sha1(&xattrs),
        };
        // The package's owners, as apk-tools installs them (apko forces
        // root in the layer and keeps them only in the installed database).
        let mut node = Node::new(kind, mode, mtime);
        node.uid = uid;
        node.gid = gid;
        node.xattrs = xattrs;
        node.owner = Some(pkg_index);
        node.sha1 = sha1;
        if matches!(node.kind, NodeKind::Symlink(_)) {
            // A new link can change where any parent resolves.
            self.last_parent = None;
        }
        self.place(&path, node, owned, package)?;
        Ok(())
    }

    /// Refuses `path` when one of its parents is a symlink (`what` prefixes
    /// the reason).
    fn refuse_through_symlink(&self, path: &str, what: &str) -> Result<(), String> {
        match self.tree.symlink_parent(path) {
            Some((link, target)) => Err(format!(
                "{what}`{path}` passes through the symlink `{link}` -> `{target}` (nothing is written through a symlink)"
            )),
            None => Ok(()),
        }
    }

    /// Where an entry at `path` goes, and whether its parent is known to
    /// exist as a directory. Directories follow links inside the root, as
    /// apko and apk-tools do (Alpine's `var/run -> /run` with packages that
    /// ship `var/run/ppp/`); a link climbing above the root is an error.
    /// Nothing else is ever written through a symlink, absolute or relative
    /// (apk-tools wants a file's directory in its package).
    ///
    /// Entries of a package come grouped by directory, so the last parent
    /// is remembered: while one package installs, a directory made (or
    /// found) by `mkdir_all` stays one (a directory is never replaced, only
    /// conflicts), and where a parent resolves changes only when a symlink
    /// is added, which forgets it. A parent that resolved through a link
    /// is reused only for directories.
    fn parent_of(&self, path: &str, is_dir: bool) -> Result<(String, bool), String> {
        if let (Some((raw, name)), Some((last_raw, resolved))) =
            (path.rsplit_once('/'), &self.last_parent)
            && raw == last_raw
            && (is_dir || resolved == last_raw)
        {
            return Ok((format!("{resolved}/{name}"), true));
        }
        if is_dir {
            let resolved = self.tree.resolve_parent(path).map_err(|e| e.to_string())?;
            Ok((resolved, false))
        } else {
            self.refuse_through_symlink(path, "")?;
            Ok((path.to_string(), false))
        }
    }

    fn place(
        &mut self,
        path: &str,
        node: Node,
        owned: Owned,
        package: &str,
    ) -> Result<(), EntryError> {
        let key = crate::tree::TreePath(path.to_string());
        let new_index = node.owner.unwrap_or(0) as usize;
        match self.tree.get_mut(path) {
            Some(existing) if existing.is_dir() && node.is_dir() => {
                // First creator keeps the mode; the last package sets mtime.
                existing.mtime = node.mtime;
                self.installed[new_index].owned.insert(key, owned);
                return Ok(());
            }
            Some(Node {
                kind: NodeKind::Symlink(_),
                ..
            }) if node.is_dir() => {
                // A directory entry over a symlink to a directory: keep the link.
                return Ok(());
            }
            Some(existing) => {
                let (existing_owner, existing_sha1) = (existing.owner, existing.sha1);
                if existing.is_dir() || node.is_dir() {
                    return Err(self.conflict(path, existing_owner, package));
                }
                if let Some(old) = existing_owner.filter(|o| *o as usize != new_index) {
                    let old = old as usize;
                    if existing_sha1.is_some() && existing_sha1 == node.sha1 {
                        // Identical content: the first copy stays.
                        return Ok(());
                    }
                    let (old_pkg, new_pkg) = (
                        &self.installed[old].record,
                        &self.installed[new_index].record,
                    );
                    let replaces = |a: &PackageRecord, b: &PackageRecord| {
                        a.replaces
                            .iter()
                            .any(|d| d.name == b.name && d.matches_version(Some(&b.version)))
                    };
                    let same_origin = old_pkg.origin.is_some() && old_pkg.origin == new_pkg.origin;
                    if replaces(old_pkg, new_pkg) {
                        return Ok(()); // the older package replaces the newcomer's file
                    }
                    if !(replaces(new_pkg, old_pkg) || same_origin) {
                        return Err(self.conflict(path, Some(old as u32), package));
                    }
                    self.installed[old].owned.remove(&key);
                }
            }
            None => {}
        }
        self.tree.insert(path, node);
        self.installed[new_index].owned.insert(key, owned);
        Ok(())
    }

    fn conflict(&self, path: &str, existing: Option<u32>, package: &str) -> EntryError {
        let existing = existing
            .and_then(|i| self.installed.get(i as usize))
            .map(|p| p.record.name_version())
            .unwrap_or_else(|| "the base layout".to_string());
        EntryError::Install(InstallError::Conflict {
            path: path.to_string(),
            existing,
            new: package.to_string(),
        })
    }
}

enum EntryError {
    Io(io::Error),
    Install(InstallError),
}

impl From<io::Error> for EntryError {
    fn from(e: io::Error) -> Self {
        EntryError::Io(e)
    }
}
