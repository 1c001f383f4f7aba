//! Writes a tree as a deterministic, gzip-compressed layer tar, streaming
//! file contents from the cached data tars (never holding them in memory)
//! and computing the layer digest and diff ID in the same pass.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use apk_format::tar_write::{TarHeader, TarKind, TarWriter};
use sha2::{Digest, Sha256};

use crate::tree::{Content, NodeKind, Tree};

/// A written layer blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// SHA-256 (hex) of the gzip blob.
    pub digest_hex: String,
    /// Size of the gzip blob.
    pub size: u64,
    /// SHA-256 (hex) of the uncompressed tar (the diff ID).
    pub diff_id_hex: String,
    /// Size of the uncompressed tar.
    pub tar_size: u64,
}

/// Error writing a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Reading package data failed.
    #[error("reading content of `{path}` from `{source_file}`: {error}")]
    Source {
        /// Path in the image.
        path: String,
        /// The data tar.
        source_file: PathBuf,
        /// Underlying error.
        error: io::Error,
    },
    /// Writing the blob failed.
    #[error("writing layer: {0}")]
    Write(#[from] io::Error),
}

/// Owner names by id, from the image's `/etc/passwd` and `/etc/group`.
#[derive(Clone, Debug, Default)]
pub struct OwnerNames {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl OwnerNames {
    /// Reads names from the tree's passwd and group files (generated or
    /// from packages).
    pub fn from_tree(tree: &Tree) -> OwnerNames {
        let parse = |path: &str| -> HashMap<u32, String> {
            let mut out = HashMap::new();
            if let Some(text) = read_small(tree, path) {
                for line in String::from_utf8_lossy(&text).lines() {
                    let f: Vec<&str> = line.split(':').collect();
                    if f.len() >= 3
                        && let Ok(id) = f[2].parse::<u32>()
                    {
                        out.entry(id).or_insert_with(|| f[0].to_string());
                    }
                }
            }
            out
        };
        OwnerNames {
            users: parse("etc/passwd"),
            groups: parse("etc/group"),
        }
    }
}

/// Reads a (small) file of the tree, in memory or from its data tar.
pub fn read_small(tree: &Tree, path: &str) -> Option<Vec<u8>> {
    let node = tree.get(path)?;
    let content = match &node.kind {
        NodeKind::File(c) => c,
        NodeKind::Hardlink(t) => match &tree.get(t)?.kind {
            NodeKind::File(c) => c,
            _ => return None,
        },
        _ => return None,
    };
    match content {
        Content::Bytes(b) => Some(b.to_vec()),
        Content::Source {
            source,
            offset,
            size,
        } => {
            let file = File::open(tree.sources.get(*source as usize)?).ok()?;
            let mut buf = vec![0u8; usize::try_from(*size).ok()?.min(16 << 20)];
            file.read_exact_at(&mut buf, *offset).ok()?;
            Some(buf)
        }
    }
}

struct HashWrite<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Write for HashWrite<W> {
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

/// Reads `len` bytes at `offset` of a file.
struct ReadAt<'a> {
    file: &'a File,
    offset: u64,
    remaining: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..max], self.offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "data tar is shorter than its index says",
            ));
        }
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Writes the tree as a gzip'd tar into `out` at gzip level `level`
/// (1-12), compressed in parallel 1 MiB members (see [`crate::pgzip`]).
pub fn write_layer(tree: &Tree, out: &Path, level: u32) -> Result<LayerInfo, LayerError> {
    write_entries(
        tree,
        tree.iter().map(|(p, n)| (p, std::borrow::Cow::Borrowed(n))),
        out,
        level,
    )
}

/// Where apko looks for the installed database when it splits layers.
pub const INSTALLED_DB: &str = "usr/lib/apk/db/installed";

/// Which package-owned files go to which layer (`layering: strategy:
/// origin`): `groups[i]` lists installed-package indexes. Returns one
/// layer per group (its packages' files, with the parent directories each
/// needs, dated like the file) and a last, top layer with everything else:
/// directories, devices, generated files.
///
/// As apko does for per-layer scanners, each group layer also gets a
/// partial installed database, `partial_dbs[i]` (its packages' records),
/// at [`INSTALLED_DB`] with the full database's header; the full one stays
/// in the top layer.
pub fn write_layers(
    tree: &Tree,
    groups: &[Vec<u32>],
    partial_dbs: &[Vec<u8>],
    dir: &Path,
    level: u32,
) -> Result<Vec<(std::path::PathBuf, LayerInfo)>, LayerError> {
    use std::borrow::Cow;
    let mut group_of: HashMap<u32, usize> = HashMap::new();
    for (g, pkgs) in groups.iter().enumerate() {
        for p in pkgs {
            group_of.insert(*p, g);
        }
    }
    let layered =
        |n: &crate::tree::Node| !n.is_dir() && n.owner.is_some_and(|o| group_of.contains_key(&o));
    let mut out = Vec::new();
    for g in 0..groups.len() {
        let mut entries: Vec<(&str, Cow<'_, crate::tree::Node>)> = Vec::new();
        let mut emitted: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for (path, node) in tree.iter() {
            let partial = (path == INSTALLED_DB)
                .then(|| partial_dbs.get(g))
                .flatten()
                .filter(|_| matches!(node.kind, NodeKind::File(_)));
            if partial.is_none()
                && !(layered(node) && node.owner.and_then(|o| group_of.get(&o)) == Some(&g))
            {
                continue;
            }
            // Parent directories first, dated like the file.
            let mut ancestors = Vec::new();
            let mut p = path;
            while let Some(i) = p.rfind('/') {
                p = &path[..i];
                if emitted.contains(p) {
                    break;
                }
                ancestors.push(p);
            }
            for a in ancestors.into_iter().rev() {
                if let Some(d) = tree.get(a) {
                    let mut d = d.clone();
                    d.mtime = node.mtime;
                    entries.push((a, Cow::Owned(d)));
                    emitted.insert(a);
                }
            }
            match partial {
                Some(bytes) => {
                    let mut db = node.clone();
                    db.kind = NodeKind::File(Content::Bytes(std::sync::Arc::new(bytes.clone())));
                    entries.push((path, Cow::Owned(db)));
                }
                None => entries.push((path, Cow::Borrowed(node))),
            }
        }
        let blob = dir.join(format!("layer-{g}.tar.gz"));
        let info = write_entries(tree, entries.into_iter(), &blob, level)?;
        out.push((blob, info));
    }
    let top = tree
        .iter()
        .filter(|(_, n)| !layered(n))
        .map(|(p, n)| (p, Cow::Borrowed(n)));
    let blob = dir.join("layer-top.tar.gz");
    let info = write_entries(tree, top, &blob, level)?;
    out.push((blob, info));
    Ok(out)
}

fn write_entries<'a>(
    tree: &'a Tree,
    entries: impl Iterator<Item = (&'a str, std::borrow::Cow<'a, crate::tree::Node>)>,
    out: &Path,
    level: u32,
) -> Result<LayerInfo, LayerError> {
    let blob = HashWrite {
        inner: BufWriter::with_capacity(1 << 20, File::create(out)?),
        hasher: Sha256::new(),
        len: 0,
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let gz = crate::pgzip::ParallelGzip::new(blob, level, threads);
    let (gz, diff_id_hex, tar_size) = write_tar(tree, entries, gz)?;
    let mut blob = gz.finish()?;
    blob.flush()?;
    let size = blob.len;
    let digest_hex = hex::encode(blob.hasher.finalize());
    blob.inner
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok(LayerInfo {
        digest_hex,
        size,
        diff_id_hex,
        tar_size,
    })
}

/// The diff ID (hex SHA-256 of the uncompressed tar) and tar size the
/// single layer of `tree` would have, without compressing anything.
pub fn diff_id(tree: &Tree) -> Result<(String, u64), LayerError> {
    let entries = tree.iter().map(|(p, n)| (p, std::borrow::Cow::Borrowed(n)));
    let (_, diff, len) = write_tar(tree, entries, io::sink())?;
    Ok((diff, len))
}

/// The tar header of `node` at `path` (size 0: the caller sets a file's).
fn entry_header(names: &OwnerNames, path: &str, node: &crate::tree::Node) -> TarHeader {
    let mut h = TarHeader::new(path, TarKind::File, node.mode);
    h.uid = node.uid;
    h.gid = node.gid;
    h.uname = names.users.get(&node.uid).cloned().unwrap_or_default();
    h.gname = names.groups.get(&node.gid).cloned().unwrap_or_default();
    h.mtime = node.mtime;
    for (k, v) in &node.xattrs {
        h.pax.insert(format!("SCHILY.xattr.{k}"), v.clone());
    }
    match &node.kind {
        NodeKind::Dir => h.kind = TarKind::Directory,
        NodeKind::Symlink(t) => {
            h.kind = TarKind::Symlink;
            h.link = t.clone();
        }
        NodeKind::Hardlink(t) => {
            h.kind = TarKind::Hardlink;
            h.link = t.clone();
        }
        NodeKind::CharDevice(ma, mi) => {
            h.kind = TarKind::CharDevice;
            (h.dev_major, h.dev_minor) = (*ma, *mi);
        }
        NodeKind::BlockDevice(ma, mi) => {
            h.kind = TarKind::BlockDevice;
            (h.dev_major, h.dev_minor) = (*ma, *mi);
        }
        NodeKind::Fifo => h.kind = TarKind::Fifo,
        NodeKind::File(_) => {}
    }
    h
}

/// A key that names the single layer of `tree` without reading any file
/// content: SHA-256 over every entry's tar header (written with size 0)
/// and, for a file, its size and either its bytes (generated content) or
/// the SHA-256 of the data tar it comes from with its offset there. The
/// layer tar is a function of exactly these, so two trees with the same key
/// have the same diff ID. `None` when a source's digest is unknown (see
/// [`Tree::source_digests`]): the caller must hash the tar itself.
pub fn layer_key(tree: &Tree) -> Result<Option<String>, LayerError> {
    struct Sink(Sha256);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let names = OwnerNames::from_tree(tree);
    let mut sink = Sink(Sha256::new());
    sink.0.update(b"apkforge layer key 1\0");
    for (path, node) in tree.iter() {
        let h = entry_header(&names, path, node);
        TarWriter::new(&mut sink).append(&h, &mut io::empty())?;
        if let NodeKind::File(content) = &node.kind {
            match content {
                Content::Bytes(b) => {
                    sink.0.update(b"B");
                    sink.0.update((b.len() as u64).to_le_bytes());
                    sink.0.update(&b[..]);
                }
                Content::Source {
                    source,
                    offset,
                    size,
                } => {
                    let Some(Some(digest)) = tree.source_digests.get(*source as usize) else {
                        return Ok(None);
                    };
                    sink.0.update(b"S");
                    sink.0.update(digest);
                    sink.0.update(offset.to_le_bytes());
                    sink.0.update(size.to_le_bytes());
                }
            }
        }
    }
    Ok(Some(hex::encode(sink.0.finalize())))
}

fn write_tar<'a, W: Write>(
    tree: &'a Tree,
    entries: impl Iterator<Item = (&'a str, std::borrow::Cow<'a, crate::tree::Node>)>,
    out: W,
) -> Result<(W, String, u64), LayerError> {
    let names = OwnerNames::from_tree(tree);
    let tar_hash = HashWrite {
        inner: out,
        hasher: Sha256::new(),
        len: 0,
    };
    let mut tar = TarWriter::new(tar_hash);
    let mut open: HashMap<u32, File> = HashMap::new();
    for (path, node) in entries {
        let node = node.as_ref();
        let mut h = entry_header(&names, path, node);
        match &node.kind {
            NodeKind::File(content) => {
                h.size = content.len();
                match content {
                    Content::Bytes(b) => tar.append(&h, &mut &b[..])?,
                    Content::Source {
                        source,
                        offset,
                        size,
                    } => {
                        let source_path = &tree.sources[*source as usize];
                        let src_err = |error| LayerError::Source {
                            path: path.to_string(),
                            source_file: source_path.clone(),
                            error,
                        };
                        if !open.contains_key(source) {
                            open.insert(*source, File::open(source_path).map_err(src_err)?);
                        }
                        let file = &open[source];
                        let mut reader = ReadAt {
                            file,
                            offset: *offset,
                            remaining: *size,
                        };
                        tar.append(&h, &mut reader).map_err(|e| {
                            if e.kind() == io::ErrorKind::UnexpectedEof {
                                src_err(e)
                            } else {
                                LayerError::Write(e)
                            }
                        })?;
                    }
                }
            }
            _ => tar.append(&h, &mut io::empty())?,
        }
    }
    tar.finish()?;
    let tar_hash = tar.into_inner();
    let diff_id_hex = hex::encode(tar_hash.hasher.finalize());
    Ok((tar_hash.inner, diff_id_hex, tar_hash.len))
}
