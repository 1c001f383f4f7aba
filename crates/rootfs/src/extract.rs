//! Writing a tree to a real directory (for build environments that a
//! sandbox runs in). Device nodes and FIFOs are never created on the host
//! (the installer refuses them from packages; the base layout's `/dev`
//! nodes are skipped: the sandbox provides `/dev`). Nothing is written
//! through a symlink: the tree has none among any node's parents (the
//! installer's rule), and files are opened with `O_NOFOLLOW`.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::tree::{Content, NodeKind, Tree};

/// Error writing a tree to disk.
#[derive(Debug, thiserror::Error)]
#[error("writing `{path}`: {source}")]
pub struct ExtractError {
    /// The path on disk.
    pub path: PathBuf,
    /// Underlying error.
    #[source]
    pub source: io::Error,
}

/// Writes every node of `tree` below `dir` (which must exist).
pub fn write_to_dir(tree: &Tree, dir: &Path) -> Result<(), ExtractError> {
    let mut dirs = Vec::new();
    let mut sources: Vec<Option<File>> = tree.sources.iter().map(|_| None).collect();
    for (path, node) in tree.iter() {
        let target = dir.join(path);
        let err = |source| ExtractError {
            path: target.clone(),
            source,
        };
        match &node.kind {
            NodeKind::Dir => {
                fs::create_dir_all(&target).map_err(err)?;
                dirs.push((target.clone(), node.mode));
            }
            NodeKind::File(content) => {
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&target)
                    .map_err(err)?;
                match content {
                    Content::Bytes(b) => io::Write::write_all(&mut out, b).map_err(err)?,
                    Content::Source {
                        source,
                        offset,
                        size,
                    } => {
                        let i = *source as usize;
                        if sources[i].is_none() {
                            sources[i] = Some(File::open(&tree.sources[i]).map_err(err)?);
                        }
                        let src = sources[i]
                            .as_ref()
                            .ok_or_else(|| err(io::Error::other("source file")))?;
                        let mut buf = vec![0u8; 256 * 1024];
                        let (mut off, mut left) = (*offset, *size);
                        while left > 0 {
                            let n = (left as usize).min(buf.len());
                            src.read_exact_at(&mut buf[..n], off).map_err(err)?;
                            io::Write::write_all(&mut out, &buf[..n]).map_err(err)?;
                            off += n as u64;
                            left -= n as u64;
                        }
                    }
                }
                fs::set_permissions(&target, fs::Permissions::from_mode(node.mode & 0o7777))
                    .map_err(err)?;
            }
            NodeKind::Symlink(t) => symlink(t, &target).map_err(err)?,
            NodeKind::Hardlink(t) => fs::hard_link(dir.join(t), &target).map_err(err)?,
            NodeKind::Fifo | NodeKind::CharDevice(..) | NodeKind::BlockDevice(..) => {}
        }
    }
    // Directory modes last, so read-only directories can still be filled.
    for (d, mode) in dirs.into_iter().rev() {
        fs::set_permissions(&d, fs::Permissions::from_mode((mode & 0o7777) | 0o700))
            .map_err(|source| ExtractError { path: d, source })?;
    }
    Ok(())
}
