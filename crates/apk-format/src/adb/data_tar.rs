//! A v3 package's files as a plain tar, the form v2 data sections are
//! kept in, so both formats install through the same path. Owners are
//! names in v3; the tar carries them (uid/gid are 0 for `root`, 65534 for
//! any other name, to be resolved against the target's account files).

use std::io::{BufRead, Write};

use super::package::{V3DataReport, V3PackageError, V3PackageReader};
use crate::package_read::EntryKind;
use crate::tar_write::{TarHeader, TarKind, TarWriter};

/// uid/gid apk-tools 3 uses for a name it cannot resolve.
pub const NOBODY: u32 = 65534;

/// The numeric id written for an owner name before resolution.
pub fn placeholder_id(name: &str) -> u32 {
    if name == "root" || name.is_empty() {
        0
    } else {
        NOBODY
    }
}

/// Streams the package's files into `out` as an uncompressed tar (closed
/// with end-of-archive blocks), checking every file as
/// [`V3PackageReader::read_data`] does.
pub fn write_data_tar<R: BufRead, W: Write>(
    reader: V3PackageReader<R>,
    out: W,
) -> Result<(V3DataReport, W), V3PackageError> {
    let mut tar = TarWriter::new(out);
    let report = reader.read_data(|e, content| {
        let kind = match &e.kind {
            EntryKind::File => TarKind::File,
            EntryKind::Directory => TarKind::Directory,
            EntryKind::Symlink(_) => TarKind::Symlink,
            EntryKind::Hardlink(_) => TarKind::Hardlink,
            EntryKind::CharDevice { .. } => TarKind::CharDevice,
            EntryKind::BlockDevice { .. } => TarKind::BlockDevice,
            EntryKind::Fifo => TarKind::Fifo,
        };
        let mut h = TarHeader::new(e.path.clone(), kind, e.mode);
        h.uid = placeholder_id(&e.user);
        h.gid = placeholder_id(&e.group);
        h.uname = e.user.clone();
        h.gname = e.group.clone();
        h.mtime = e.mtime;
        match &e.kind {
            EntryKind::File => h.size = e.size,
            EntryKind::Symlink(t) | EntryKind::Hardlink(t) => h.link = t.clone(),
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
                h.dev_major = *major;
                h.dev_minor = *minor;
            }
            _ => {}
        }
        for (name, value) in &e.xattrs {
            h.pax.insert(format!("SCHILY.xattr.{name}"), value.clone());
        }
        tar.append(&h, content)
    })?;
    tar.finish().map_err(V3PackageError::Io)?;
    Ok((report, tar.into_inner()))
}
