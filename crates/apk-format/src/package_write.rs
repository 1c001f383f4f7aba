//! Writes apk v2 packages: data tar with per-file SHA-1 PAX records, control
//! tar with `.PKGINFO` and scripts, and a SHA-256 RSA signature, each in its
//! own gzip member. Output depends only on the inputs and the build date.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use crate::package_read::{ControlFile, EntryKind};
use crate::pkginfo::PkgInfo;
use crate::record::PackageRecord;
use crate::signing::{KeyError, SigningKey};
use crate::tar_write::{TarHeader, TarKind, TarWriter};

/// Where a file's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// No content (directories, links, devices).
    None,
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A file on disk, read while writing.
    Path(PathBuf),
}

/// One file system entry of a package's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative path, `/`-separated, no leading slash.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Extended attributes.
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Content (regular files).
    pub content: Content,
}

impl TreeEntry {
    /// A root-owned directory.
    pub fn dir(path: impl Into<String>, mode: u32) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            kind: EntryKind::Directory,
            mode,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            content: Content::None,
        }
    }

    /// A root-owned regular file with in-memory content.
    pub fn file(path: impl Into<String>, mode: u32, content: impl Into<Vec<u8>>) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            kind: EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            content: Content::Bytes(content.into()),
        }
    }

    /// A root-owned symlink.
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            kind: EntryKind::Symlink(target.into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
            content: Content::None,
        }
    }
}

/// Error writing a package.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Reading an input file failed.
    #[error("reading `{path}`: {source}")]
    Input {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing the output failed.
    #[error("writing package: {0}")]
    Output(#[source] io::Error),
    /// A bad entry path.
    #[error("invalid path `{0}` in package tree (must be relative, without `..`)")]
    BadPath(String),
    /// The same path twice.
    #[error("path `{0}` appears twice in the package tree")]
    DuplicatePath(String),
    /// A hard link to something that is not a regular file before it.
    #[error(
        "hard link `{path}` points to `{target}`, which is not a regular file earlier in the package"
    )]
    BadHardlink {
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// Signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A package info value the format cannot hold.
    #[error("package info: {0}")]
    Info(String),
    /// Metadata that cannot be written safely: an invalid name, version or
    /// arch, or a value that would break `.PKGINFO` into more lines.
    #[error("package metadata: {0}")]
    Metadata(String),
}

/// Refuses metadata that would be unsafe in file names or inject lines into
/// `.PKGINFO` (and from there into indexes and installed databases).
pub(crate) fn check_metadata(r: &PackageRecord) -> Result<(), WriteError> {
    use crate::names::{check_arch, check_name, check_version};
    let bad = |e: crate::names::NameError| WriteError::Metadata(e.to_string());
    check_name(&r.name).map_err(bad)?;
    check_version(&r.version).map_err(bad)?;
    check_arch(&r.arch).map_err(bad)?;
    let texts = [
        ("pkgdesc", Some(&r.description)),
        ("url", Some(&r.url)),
        ("license", Some(&r.license)),
        ("origin", r.origin.as_ref()),
        ("commit", r.commit.as_ref()),
        ("maintainer", r.maintainer.as_ref()),
    ];
    let triggers = r.triggers.iter().map(|t| ("triggers", Some(t)));
    for (key, value) in texts.into_iter().chain(triggers) {
        if let Some(v) = value
            && v.contains(['\n', '\r', '\0'])
        {
            return Err(WriteError::Metadata(format!(
                "`{key}` must be a single line, got `{}`",
                v.escape_debug()
            )));
        }
    }
    Ok(())
}

/// What went into a written package.
#[derive(Clone, Debug)]
pub struct WrittenPackage {
    /// Final metadata (with `size` and `datahash` filled in).
    pub record: PackageRecord,
    /// The `.PKGINFO` written.
    pub pkginfo: PkgInfo,
    /// `Q1` checksum of the control member (index `C:`).
    pub checksum: String,
    /// Total size of the package file.
    pub file_size: u64,
}

/// Builds one package.
pub struct PackageBuilder {
    record: PackageRecord,
    scripts: Vec<ControlFile>,
    entries: Vec<TreeEntry>,
    build_date: u64,
    compression: Compression,
    generator: String,
    users: BTreeMap<u32, String>,
    groups: BTreeMap<u32, String>,
}

const SCRIPT_NAMES: &[&str] = &[
    ".pre-install",
    ".post-install",
    ".pre-upgrade",
    ".post-upgrade",
    ".pre-deinstall",
    ".post-deinstall",
    ".trigger",
];

/// True for the control file names apk runs as scripts.
pub fn is_script_name(name: &str) -> bool {
    SCRIPT_NAMES.contains(&name)
}

impl PackageBuilder {
    /// A builder for `record` (name, version, arch, description, ...). The
    /// build date (SOURCE_DATE_EPOCH) sets every mtime and `builddate`.
    pub fn new(record: PackageRecord, build_date: u64) -> PackageBuilder {
        PackageBuilder {
            record,
            scripts: Vec::new(),
            entries: Vec::new(),
            build_date,
            compression: Compression::new(6),
            generator: "Generated by apkforge".to_string(),
            users: BTreeMap::from([(0, "root".to_string())]),
            groups: BTreeMap::from([(0, "root".to_string())]),
        }
    }

    /// The user and group names written beside numeric owners (melange
    /// takes them from the build environment's `/etc/passwd` and
    /// `/etc/group`); an id without a name gets an empty one. Without a
    /// call, only 0 is named (`root`).
    pub fn owner_names(
        &mut self,
        users: BTreeMap<u32, String>,
        groups: BTreeMap<u32, String>,
    ) -> &mut Self {
        self.users = users;
        self.groups = groups;
        self
    }

    /// Adds a control file that is not a script (such as `.melange.yaml`),
    /// written with mode 0644 after `.PKGINFO`, in name order with the
    /// scripts.
    pub fn control_file(
        &mut self,
        name: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.scripts.push(ControlFile {
            name: name.into(),
            mode: 0o644,
            content: content.into(),
        });
        self
    }

    /// Adds a control script (`.post-install`, ...), written with mode 0755.
    pub fn script(&mut self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> &mut Self {
        self.scripts.push(ControlFile {
            name: name.into(),
            mode: 0o755,
            content: content.into(),
        });
        self
    }

    /// Adds a data entry.
    pub fn entry(&mut self, entry: TreeEntry) -> &mut Self {
        self.entries.push(entry);
        self
    }

    /// Adds every entry of a directory tree (see [`tree_from_dir`]).
    pub fn entries(&mut self, entries: impl IntoIterator<Item = TreeEntry>) -> &mut Self {
        self.entries.extend(entries);
        self
    }

    /// Sets the gzip level (0-9) of the control and data members.
    pub fn compression_level(&mut self, level: u32) -> &mut Self {
        self.compression = Compression::new(level.min(9));
        self
    }

    /// Writes the package to `out`, using `scratch` (any empty read/write
    /// file, such as a temp file) to hold the data member while `.PKGINFO`
    /// is completed. Signs with `key` when given.
    pub fn write<W, S>(
        mut self,
        out: &mut W,
        scratch: &mut S,
        key: Option<&SigningKey>,
    ) -> Result<WrittenPackage, WriteError>
    where
        W: Write,
        S: Read + Write + Seek,
    {
        check_metadata(&self.record)?;
        self.prepare_entries()?;
        let (datahash, installed_size, data_len) = self.write_data(scratch)?;
        self.record.datahash = Some(hex::encode(datahash));
        self.record.installed_size = installed_size;
        self.record.build_time = Some(self.build_date);
        let pkginfo = PkgInfo::from_record(&self.record, Some(&self.generator));
        let control = self.control_member(&pkginfo)?;
        let checksum = crate::record::q1_checksum(&crate::stream::sha1(&control));
        let signature = match key {
            Some(key) => {
                let digest = Sha256::digest(&control);
                let sig = key.sign_sha256_digest(&digest)?;
                signature_member(
                    sig.algorithm.entry_prefix(),
                    &sig.key_name,
                    &sig.bytes,
                    self.build_date,
                )
                .map_err(WriteError::Output)?
            }
            None => Vec::new(),
        };
        out.write_all(&signature).map_err(WriteError::Output)?;
        out.write_all(&control).map_err(WriteError::Output)?;
        scratch
            .seek(SeekFrom::Start(0))
            .map_err(WriteError::Output)?;
        let copied = io::copy(&mut scratch.take(data_len), out).map_err(WriteError::Output)?;
        if copied != data_len {
            return Err(WriteError::Output(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "scratch file lost data",
            )));
        }
        let file_size = (signature.len() + control.len()) as u64 + data_len;
        let mut record = self.record;
        record.file_size = Some(file_size);
        record.checksum = Some(checksum.clone());
        Ok(WrittenPackage {
            record,
            pkginfo,
            checksum,
            file_size,
        })
    }

    fn prepare_entries(&mut self) -> Result<(), WriteError> {
        prepare_tree(&mut self.entries)?;
        self.scripts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(())
    }

    fn write_data<S: Write + Seek>(
        &self,
        scratch: &mut S,
    ) -> Result<([u8; 32], u64, u64), WriteError> {
        scratch
            .seek(SeekFrom::Start(0))
            .map_err(WriteError::Output)?;
        let hashing = HashingWrite {
            inner: &mut *scratch,
            hasher: Sha256::new(),
            len: 0,
        };
        let gz = gzip_encoder(hashing, self.compression);
        let mut tar = TarWriter::new(gz);
        let mut installed = 0u64;
        // Content checksums by path, for the hard links that follow.
        let mut sums: std::collections::HashMap<&str, [u8; 20]> = Default::default();
        for e in &self.entries {
            let mut h = TarHeader::new(e.path.clone(), TarKind::File, e.mode);
            h.uid = e.uid;
            h.gid = e.gid;
            h.mtime = self.build_date;
            h.uname = self.users.get(&e.uid).cloned().unwrap_or_default();
            h.gname = self.groups.get(&e.gid).cloned().unwrap_or_default();
            for (k, v) in &e.xattrs {
                h.pax.insert(format!("SCHILY.xattr.{k}"), v.clone());
            }
            match &e.kind {
                EntryKind::File => {
                    let (size, sha1) = content_digest(&e.content)?;
                    sums.insert(&e.path, sha1);
                    h.size = size;
                    installed += size;
                    h.pax.insert(
                        "APK-TOOLS.checksum.SHA1".into(),
                        hex::encode(sha1).into_bytes(),
                    );
                    let mut reader = open_content(&e.content)?;
                    tar.append(&h, &mut reader)
                        .map_err(|source| match &e.content {
                            Content::Path(p) => WriteError::Input {
                                path: p.clone(),
                                source,
                            },
                            _ => WriteError::Output(source),
                        })?;
                    continue;
                }
                EntryKind::Directory => {
                    h.kind = TarKind::Directory;
                    installed += 4096;
                }
                EntryKind::Symlink(target) => {
                    h.kind = TarKind::Symlink;
                    h.link = target.clone();
                    installed += target.len() as u64;
                    let sha1 = crate::stream::sha1(target.as_bytes());
                    h.pax.insert(
                        "APK-TOOLS.checksum.SHA1".into(),
                        hex::encode(sha1).into_bytes(),
                    );
                }
                EntryKind::Hardlink(target) => {
                    h.kind = TarKind::Hardlink;
                    let target = target.trim_start_matches('/');
                    h.link = target.to_string();
                    // As melange writes them: the linked content's checksum,
                    // which apk-tools records for this path.
                    if let Some(sha1) = sums.get(target) {
                        h.pax.insert(
                            "APK-TOOLS.checksum.SHA1".into(),
                            hex::encode(sha1).into_bytes(),
                        );
                    }
                }
                EntryKind::CharDevice { major, minor } => {
                    h.kind = TarKind::CharDevice;
                    (h.dev_major, h.dev_minor) = (*major, *minor);
                }
                EntryKind::BlockDevice { major, minor } => {
                    h.kind = TarKind::BlockDevice;
                    (h.dev_major, h.dev_minor) = (*major, *minor);
                }
                EntryKind::Fifo => h.kind = TarKind::Fifo,
            }
            tar.append(&h, &mut io::empty())
                .map_err(WriteError::Output)?;
        }
        tar.finish().map_err(WriteError::Output)?;
        let hashing = tar.into_inner().finish().map_err(WriteError::Output)?;
        Ok((hashing.hasher.finalize().into(), installed, hashing.len))
    }

    fn control_member(&self, pkginfo: &PkgInfo) -> Result<Vec<u8>, WriteError> {
        let mut tar = TarWriter::new(gzip_encoder(Vec::new(), self.compression));
        let bytes = pkginfo.to_bytes();
        let mut h = control_header(".PKGINFO", 0o644, self.build_date);
        h.size = bytes.len() as u64;
        tar.append(&h, &mut &bytes[..])
            .map_err(WriteError::Output)?;
        for s in &self.scripts {
            let mut h = control_header(&s.name, s.mode, self.build_date);
            h.size = s.content.len() as u64;
            tar.append(&h, &mut &s.content[..])
                .map_err(WriteError::Output)?;
        }
        // apk control tars end without end-of-archive blocks.
        tar.into_inner().finish().map_err(WriteError::Output)
    }
}

/// Normalizes entry paths (relative, no `./`, no trailing `/`), adds the
/// parent directories a tree leaves out (root-owned, 0755), sorts in
/// directory-walk order and refuses unsafe or duplicate paths.
pub(crate) fn prepare_tree(entries: &mut Vec<TreeEntry>) -> Result<(), WriteError> {
    for e in entries.iter_mut() {
        let trimmed = e
            .path
            .trim_start_matches("./")
            .trim_matches('/')
            .to_string();
        if trimmed.is_empty()
            || e.path.starts_with('/')
            || trimmed
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty())
        {
            return Err(WriteError::BadPath(e.path.clone()));
        }
        e.path = trimmed;
    }
    // Parent directories the tree leaves out are added, root-owned 0755.
    let known: std::collections::HashSet<String> = entries.iter().map(|e| e.path.clone()).collect();
    let mut missing = std::collections::BTreeSet::new();
    for e in entries.iter() {
        let mut parent = e.path.as_str();
        while let Some(i) = parent.rfind('/') {
            parent = &parent[..i];
            if !known.contains(parent) {
                missing.insert(parent.to_string());
            }
        }
    }
    entries.extend(missing.into_iter().map(|p| TreeEntry::dir(p, 0o755)));
    // Directory-walk order: compare path components.
    entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    if let Some(w) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(WriteError::DuplicatePath(w[0].path.clone()));
    }
    // A hard link must name a regular file written before it.
    let mut files = std::collections::HashSet::new();
    for e in entries.iter() {
        match &e.kind {
            EntryKind::File => {
                files.insert(e.path.as_str());
            }
            EntryKind::Hardlink(target) if !files.contains(target.trim_start_matches('/')) => {
                return Err(WriteError::BadHardlink {
                    path: e.path.clone(),
                    target: target.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn control_header(name: &str, mode: u32, mtime: u64) -> TarHeader {
    let mut h = TarHeader::new(name, TarKind::File, mode);
    h.uname = "root".into();
    h.gname = "root".into();
    h.mtime = mtime;
    h
}

/// A gzip encoder with a fixed header (no name, mtime 0, OS "unknown"), so
/// output depends only on content and level.
pub fn gzip_encoder<W: Write>(out: W, level: Compression) -> GzEncoder<W> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, level)
}

/// Builds a signature member: a gzip'd tar holding `<prefix><key name>`,
/// not terminated, as apk expects in front of the signed bytes.
pub fn signature_member(
    prefix: &str,
    key_name: &str,
    sig: &[u8],
    mtime: u64,
) -> io::Result<Vec<u8>> {
    let mut tar = TarWriter::new(gzip_encoder(Vec::new(), Compression::new(6)));
    let mut h = control_header(&format!("{prefix}{key_name}"), 0o644, mtime);
    h.size = sig.len() as u64;
    tar.append(&h, &mut &sig[..])?;
    tar.into_inner().finish()
}

fn content_digest(content: &Content) -> Result<(u64, [u8; 20]), WriteError> {
    let mut reader = crate::stream::Sha1Reader::new(open_content(content)?);
    let mut counter = CountingSink(0);
    let input_err = |source| match content {
        Content::Path(p) => WriteError::Input {
            path: p.clone(),
            source,
        },
        _ => WriteError::Output(source),
    };
    io::copy(&mut reader, &mut counter).map_err(input_err)?;
    let size = counter.0;
    Ok((size, reader.finish().map_err(input_err)?))
}

pub(crate) fn open_content(content: &Content) -> Result<Box<dyn Read + '_>, WriteError> {
    Ok(match content {
        Content::None => Box::new(io::empty()),
        Content::Bytes(b) => Box::new(&b[..]),
        Content::Path(p) => Box::new(io::BufReader::new(std::fs::File::open(p).map_err(
            |source| WriteError::Input {
                path: p.clone(),
                source,
            },
        )?)),
    })
}

struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct HashingWrite<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWrite<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lists a directory tree as package entries (root-owned, modes from disk,
/// contents read lazily). Sockets and other special files are skipped.
pub fn tree_from_dir(root: &Path) -> Result<Vec<TreeEntry>, WriteError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let read = std::fs::read_dir(&dir).map_err(|source| WriteError::Input {
            path: dir.clone(),
            source,
        })?;
        for item in read {
            let item = item.map_err(|source| WriteError::Input {
                path: dir.clone(),
                source,
            })?;
            let path = item.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|source| WriteError::Input {
                path: path.clone(),
                source,
            })?;
            let rel = path
                .strip_prefix(root)
                .map_err(|_| WriteError::BadPath(path.display().to_string()))?
                .to_str()
                .ok_or_else(|| WriteError::BadPath(path.display().to_string()))?
                .to_string();
            let ft = meta.file_type();
            let mode = meta.mode() & 0o7777;
            let (kind, content) = if ft.is_dir() {
                stack.push(path.clone());
                (EntryKind::Directory, Content::None)
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|source| WriteError::Input {
                    path: path.clone(),
                    source,
                })?;
                let target = target
                    .to_str()
                    .ok_or_else(|| WriteError::BadPath(path.display().to_string()))?
                    .to_string();
                (EntryKind::Symlink(target), Content::None)
            } else if ft.is_file() {
                (EntryKind::File, Content::Path(path.clone()))
            } else if ft.is_fifo() {
                (EntryKind::Fifo, Content::None)
            } else {
                continue;
            };
            out.push(TreeEntry {
                path: rel,
                kind,
                mode,
                uid: 0,
                gid: 0,
                xattrs: Vec::new(),
                content,
            });
        }
    }
    Ok(out)
}
