//! Writes apk v3 packages as `apk mkpkg` does (its default compatibility
//! level: every directory is a `paths` entry, the root as a nameless first
//! one): package info, directories and files with their ACLs and SHA-256,
//! scripts and triggers in one signed ADB block, then one DATA block per
//! regular file. Output depends only on the inputs and the build date.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::container::{BlockKind, Compression};
use super::index::write_adb_file;
use super::pkginfo::{InfoError, write_field};
use super::schema::{self, pkginfo as pi};
use super::sign;
use super::value::{Adb, Val, tag};
use super::write::{AdbWriter, DIR, FILE};
use crate::package_read::{ControlFile, EntryKind};
use crate::package_write::{Content, TreeEntry, WriteError};
use crate::record::PackageRecord;
use crate::signing::SigningKey;

/// What went into a written v3 package.
#[derive(Clone, Debug)]
pub struct WrittenV3Package {
    /// Final metadata (`installed_size` filled in, `checksum` the identity).
    pub record: PackageRecord,
    /// The ADB block.
    pub adb: Adb,
    /// SHA-256 of the ADB block: the package's identity in an index.
    pub identity: [u8; 32],
    /// Bytes written.
    pub file_size: u64,
}

/// Builds one v3 package.
pub struct V3PackageBuilder {
    record: PackageRecord,
    scripts: Vec<ControlFile>,
    entries: Vec<TreeEntry>,
    build_date: u64,
    users: BTreeMap<u32, String>,
    groups: BTreeMap<u32, String>,
}

const S_IFREG: u16 = 0o100000;
const S_IFLNK: u16 = 0o120000;
const S_IFCHR: u16 = 0o020000;
const S_IFBLK: u16 = 0o060000;
const S_IFIFO: u16 = 0o010000;

impl V3PackageBuilder {
    /// A builder for `record`. The build date sets `build-time` and every
    /// file's mtime.
    pub fn new(record: PackageRecord, build_date: u64) -> V3PackageBuilder {
        V3PackageBuilder {
            record,
            scripts: Vec::new(),
            entries: Vec::new(),
            build_date,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }

    /// Adds a script (`.post-install`, `.trigger`, ...).
    pub fn script(&mut self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> &mut Self {
        self.scripts.push(ControlFile {
            name: name.into(),
            mode: 0o755,
            content: content.into(),
        });
        self
    }

    /// Adds data entries.
    pub fn entries(&mut self, entries: impl IntoIterator<Item = TreeEntry>) -> &mut Self {
        self.entries.extend(entries);
        self
    }

    /// Names for numeric owners (v3 records owner names). Without one, uid
    /// and gid 0 are `root` and others are written as their number.
    pub fn owner_names(
        &mut self,
        users: BTreeMap<u32, String>,
        groups: BTreeMap<u32, String>,
    ) -> &mut Self {
        self.users = users;
        self.groups = groups;
        self
    }

    fn user(&self, uid: u32) -> String {
        self.users.get(&uid).cloned().unwrap_or_else(|| match uid {
            0 => "root".into(),
            n => n.to_string(),
        })
    }

    fn group(&self, gid: u32) -> String {
        self.groups.get(&gid).cloned().unwrap_or_else(|| match gid {
            0 => "root".into(),
            n => n.to_string(),
        })
    }

    /// Writes the package to `out`, signed with `key` when given.
    pub fn write<W: Write>(
        mut self,
        out: &mut W,
        key: Option<&SigningKey>,
        compression: Compression,
    ) -> Result<WrittenV3Package, WriteError> {
        crate::package_write::check_metadata(&self.record)?;
        crate::package_write::prepare_tree(&mut self.entries)?;
        let info_err = |e: InfoError| WriteError::Info(e.to_string());
        let mut w = AdbWriter::new();
        // Package info fields, in field order (as `mkpkg -I` assigns them).
        let mut info = vec![Val::NULL; pi::MAX as usize];
        for (field, value) in info_fields(&self.record, self.build_date) {
            info[field as usize] = write_field(&mut w, field, &value).map_err(info_err)?;
        }
        let replaces_priority = self.record.replaces_priority.map(|p| w.int(p));

        // Directories: the root first, then every directory by name.
        let mut dirs: Vec<&TreeEntry> = self
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Directory)
            .collect();
        dirs.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        let files_of = |dir: &str| -> Vec<&TreeEntry> {
            let mut v: Vec<&TreeEntry> = self
                .entries
                .iter()
                .filter(|e| e.kind != EntryKind::Directory && parent(&e.path) == dir)
                .collect();
            v.sort_by(|a, b| base(&a.path).as_bytes().cmp(base(&b.path).as_bytes()));
            v
        };
        // Content size and SHA-256 of every regular file, read once here.
        let mut digests: HashMap<&str, (u64, [u8; 32])> = HashMap::new();
        for e in self.entries.iter().filter(|e| e.kind == EntryKind::File) {
            digests.insert(&e.path, digest(&e.content)?);
        }
        let mut installed_size = 0u64;
        let mut paths = Vec::new();
        let has_files = !self.entries.is_empty();
        let dir_names: Vec<Option<&TreeEntry>> = if has_files {
            std::iter::once(None)
                .chain(dirs.iter().map(|d| Some(*d)))
                .collect()
        } else {
            Vec::new()
        };
        for dir in dir_names {
            let dir_path = dir.map_or("", |d| d.path.as_str());
            let mut files = Vec::new();
            for f in files_of(dir_path) {
                // A file others hard-link to: their target is written first,
                // when the file is met, as mkpkg does.
                if f.kind == EntryKind::File
                    && self
                        .entries
                        .iter()
                        .any(|e| e.kind == EntryKind::Hardlink(f.path.clone()))
                {
                    let mut t = S_IFREG.to_le_bytes().to_vec();
                    t.extend_from_slice(f.path.as_bytes());
                    w.blob(&t);
                }
                let name = w.blob(base(&f.path).as_bytes());
                let (size, hash, target) = match &f.kind {
                    EntryKind::File => {
                        let (size, hash) = digests[f.path.as_str()];
                        installed_size += size;
                        (size, Some(hash), None)
                    }
                    EntryKind::Hardlink(to) => {
                        let to = to.trim_start_matches('/');
                        let &(size, hash) = digests.get(to).ok_or_else(|| {
                            WriteError::BadPath(format!("{} (hard link to a missing file)", f.path))
                        })?;
                        let mut t = S_IFREG.to_le_bytes().to_vec();
                        t.extend_from_slice(to.as_bytes());
                        (size, Some(hash), Some(t))
                    }
                    EntryKind::Symlink(to) => {
                        let mut t = S_IFLNK.to_le_bytes().to_vec();
                        t.extend_from_slice(to.as_bytes());
                        (to.len() as u64, None, Some(t))
                    }
                    EntryKind::CharDevice { major, minor }
                    | EntryKind::BlockDevice { major, minor } => {
                        let mode = if matches!(f.kind, EntryKind::CharDevice { .. }) {
                            S_IFCHR
                        } else {
                            S_IFBLK
                        };
                        let mut t = mode.to_le_bytes().to_vec();
                        t.extend_from_slice(&super::package::makedev(*major, *minor).to_le_bytes());
                        (0, None, Some(t))
                    }
                    EntryKind::Fifo => {
                        let mut t = S_IFIFO.to_le_bytes().to_vec();
                        t.extend_from_slice(&0u64.to_le_bytes());
                        (0, None, Some(t))
                    }
                    EntryKind::Directory => continue,
                };
                let hash = hash.map_or(Val::NULL, |h| w.blob(&h));
                let target = target.map_or(Val::NULL, |t| w.blob(&t));
                let mtime = w.int(self.build_date);
                let size = w.int(size);
                let acl = self.acl(&mut w, f);
                files.push(w.object(&[name, acl, size, mtime, hash, target]));
            }
            // After its files: the name, the ACL, the file array.
            let name = w.blob(dir_path.as_bytes());
            let acl = match dir {
                Some(d) => self.acl(&mut w, d),
                None => self.acl(&mut w, &TreeEntry::dir("", 0o755)),
            };
            w.sort_items(&mut files, &FILE, false);
            let files = w.array(&files, tag::OBJECT);
            paths.push(w.object(&[name, acl, files]));
        }
        if has_files && installed_size == 0 {
            installed_size = 1;
        }
        if !self.scripts.is_empty() && installed_size == 0 {
            installed_size = 1;
        }
        info[pi::INSTALLED_SIZE as usize] = w.int(installed_size);
        info[pi::HASHES as usize] = w.blob_unshared(&[0u8; 20]);
        let info_val = w.slots(&info, tag::OBJECT);
        w.sort_items(&mut paths, &DIR, false);
        let paths_val = w.array(&paths, tag::OBJECT);
        let scripts_val = if self.scripts.is_empty() {
            Val::NULL
        } else {
            let mut slots = vec![Val::NULL; 8];
            for (field, _, file_name) in schema::SCRIPTS {
                if let Some(s) = self.scripts.iter().find(|s| s.name == file_name) {
                    slots[field as usize] = w.blob(&s.content);
                }
            }
            w.slots(&slots, tag::OBJECT)
        };
        let triggers: Vec<Val> = self
            .record
            .triggers
            .iter()
            .map(|t| w.blob(t.as_bytes()))
            .collect();
        let triggers_val = w.array(&triggers, tag::OBJECT);
        let root = w.object(&[
            info_val,
            paths_val,
            scripts_val,
            triggers_val,
            replaces_priority.unwrap_or(Val::NULL),
        ]);
        let mut adb = w.finish(root);
        fill_unique_id(&mut adb, info_val);
        let identity: [u8; 32] = Sha256::digest(adb.bytes()).into();
        let signatures = match key {
            Some(k) => vec![sign::sign(k, schema::PACKAGE, adb.bytes())?],
            None => Vec::new(),
        };
        let mut counting = CountingWrite { inner: out, len: 0 };
        let mut enc = super::compress::Encoder::new(&mut counting, compression)
            .map_err(WriteError::Output)?;
        write_adb_file(&mut enc, schema::PACKAGE, &adb, &signatures).map_err(WriteError::Output)?;
        self.write_data(&mut enc, &adb)?;
        enc.finish().map_err(WriteError::Output)?;
        let file_size = counting.len;
        let mut record = self.record;
        record.installed_size = installed_size;
        record.build_time = Some(self.build_date);
        record.file_size = Some(file_size);
        record.checksum = super::index::identity_checksum(&identity);
        Ok(WrittenV3Package {
            record,
            adb,
            identity,
            file_size,
        })
    }

    fn acl(&self, w: &mut AdbWriter, e: &TreeEntry) -> Val {
        let mode = w.int(u64::from(e.mode & 0o7777));
        let user = w.blob(self.user(e.uid).as_bytes());
        let group = w.blob(self.group(e.gid).as_bytes());
        let xattrs = if e.xattrs.is_empty() {
            Val::NULL
        } else {
            let mut items: Vec<Val> = e
                .xattrs
                .iter()
                .map(|(k, v)| w.blob_vec(&[k.as_bytes(), &[0], v]))
                .collect();
            w.sort_items(&mut items, &super::write::Kind::Blob, false);
            w.array(&items, tag::ARRAY)
        };
        w.object(&[mode, user, group, xattrs])
    }

    /// One DATA block per regular file with content, in paths order.
    fn write_data<W: Write>(&self, out: &mut W, adb: &Adb) -> Result<(), WriteError> {
        let meta = super::package::read_meta(adb)
            .map_err(|e| WriteError::Output(io::Error::other(e.to_string())))?;
        let by_path: HashMap<&str, &TreeEntry> =
            self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        for e in meta.entries.iter().filter(|e| e.has_data) {
            let Some(src) = by_path.get(e.path.as_str()) else {
                continue;
            };
            let mut hdr = Vec::with_capacity(8);
            hdr.extend_from_slice(&e.path_index.to_le_bytes());
            hdr.extend_from_slice(&e.file_index.to_le_bytes());
            let len = 8 + e.size;
            out.write_all(&super::container::encode_header(BlockKind::Data, len))
                .map_err(WriteError::Output)?;
            out.write_all(&hdr).map_err(WriteError::Output)?;
            let mut reader = crate::package_write::open_content(&src.content)?;
            let copied = io::copy(&mut reader.by_ref().take(e.size), out).map_err(|source| {
                match &src.content {
                    Content::Path(p) => WriteError::Input {
                        path: p.clone(),
                        source,
                    },
                    _ => WriteError::Output(source),
                }
            })?;
            if copied != e.size {
                return Err(WriteError::Output(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{}: changed while being packaged", e.path),
                )));
            }
            let pad = super::container::padding_len(len) as usize;
            out.write_all(&[0u8; 8][..pad])
                .map_err(WriteError::Output)?;
        }
        Ok(())
    }
}

/// The `key:value` package info fields a record gives, in field order.
fn info_fields(r: &PackageRecord, build_date: u64) -> Vec<(u32, String)> {
    let mut v = vec![(pi::NAME, r.name.clone()), (pi::VERSION, r.version.clone())];
    let mut opt = |field: u32, value: Option<String>| {
        if let Some(value) = value.filter(|s| !s.is_empty()) {
            v.push((field, value));
        }
    };
    opt(pi::DESCRIPTION, Some(r.description.clone()));
    opt(
        pi::ARCH,
        Some(if r.arch.is_empty() {
            "noarch".into()
        } else {
            r.arch.clone()
        }),
    );
    opt(pi::LICENSE, Some(r.license.clone()));
    opt(pi::ORIGIN, r.origin.clone());
    opt(pi::MAINTAINER, r.maintainer.clone());
    opt(pi::URL, Some(r.url.clone()));
    opt(
        pi::REPO_COMMIT,
        r.commit
            .clone()
            .filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit())),
    );
    opt(pi::BUILD_TIME, Some(build_date.to_string()));
    opt(
        pi::PROVIDER_PRIORITY,
        r.provider_priority.map(|p| p.to_string()),
    );
    let deps = |d: &[crate::Dependency]| Some(crate::dependency::join(d));
    opt(pi::DEPENDS, deps(&r.depends));
    opt(pi::PROVIDES, deps(&r.provides));
    opt(pi::REPLACES, deps(&r.replaces));
    opt(pi::INSTALL_IF, deps(&r.install_if));
    v
}

/// Fills the 20-byte unique ID: SHA-256 of the ADB block with it zeroed.
fn fill_unique_id(adb: &mut Adb, info: Val) {
    let Ok(Some(id)) = adb.obj(info).and_then(|o| o.blob(pi::HASHES)) else {
        return;
    };
    let start = id.as_ptr() as usize - adb.bytes().as_ptr() as usize;
    let digest = Sha256::digest(adb.bytes());
    adb.bytes_mut()[start..start + 20].copy_from_slice(&digest[..20]);
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn base(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, b)| b)
}

fn digest(content: &Content) -> Result<(u64, [u8; 32]), WriteError> {
    let mut reader = crate::package_write::open_content(content)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|source| match content {
            Content::Path(p) => WriteError::Input {
                path: p.clone(),
                source,
            },
            _ => WriteError::Output(source),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hasher.finalize().into()))
}

struct CountingWrite<'a, W: Write> {
    inner: &'a mut W,
    len: u64,
}

impl<W: Write> Write for CountingWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
