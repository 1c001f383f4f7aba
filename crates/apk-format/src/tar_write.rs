//! Deterministic tar writer with the header layout of Go's `archive/tar`
//! (which melange and apko use): USTAR headers, PAX extended headers named
//! `<dir>/PaxHeaders.0/<base>` with sorted records, octal fields padded
//! with zeros and NUL-terminated, and the checksum as six digits, NUL, space.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

const BLOCK: usize = 512;

/// Entry type flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TarKind {
    /// Regular file (`0`).
    File,
    /// Hard link (`1`).
    Hardlink,
    /// Symbolic link (`2`).
    Symlink,
    /// Character device (`3`).
    CharDevice,
    /// Block device (`4`).
    BlockDevice,
    /// Directory (`5`).
    Directory,
    /// Named pipe (`6`).
    Fifo,
}

impl TarKind {
    fn flag(self) -> u8 {
        match self {
            TarKind::File => b'0',
            TarKind::Hardlink => b'1',
            TarKind::Symlink => b'2',
            TarKind::CharDevice => b'3',
            TarKind::BlockDevice => b'4',
            TarKind::Directory => b'5',
            TarKind::Fifo => b'6',
        }
    }
}

/// Everything a header says about one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarHeader {
    /// Path inside the archive.
    pub path: String,
    /// Entry type.
    pub kind: TarKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Owner user name.
    pub uname: String,
    /// Owner group name.
    pub gname: String,
    /// Modification time (unix seconds).
    pub mtime: u64,
    /// Content size (regular files only).
    pub size: u64,
    /// Link target (symlinks and hard links).
    pub link: String,
    /// Device numbers.
    pub dev_major: u32,
    /// Device numbers.
    pub dev_minor: u32,
    /// Extra PAX records (e.g. `APK-TOOLS.checksum.SHA1`, `SCHILY.xattr.*`).
    pub pax: BTreeMap<String, Vec<u8>>,
}

impl TarHeader {
    /// A header with root ownership and empty names.
    pub fn new(path: impl Into<String>, kind: TarKind, mode: u32) -> TarHeader {
        TarHeader {
            path: path.into(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            uname: String::new(),
            gname: String::new(),
            mtime: 0,
            size: 0,
            link: String::new(),
            dev_major: 0,
            dev_minor: 0,
            pax: BTreeMap::new(),
        }
    }
}

/// Writes tar entries to `W`. Nothing is buffered beyond one block.
pub struct TarWriter<W: Write> {
    out: W,
    written: u64,
    /// Copy buffer for contents (allocated on first use).
    buf: Vec<u8>,
}

fn octal(field: &mut [u8], value: u64) -> bool {
    let digits = format!("{value:o}");
    let width = field.len() - 1;
    if digits.len() > width {
        return false;
    }
    let pad = width - digits.len();
    field[..pad].fill(b'0');
    field[pad..width].copy_from_slice(digits.as_bytes());
    field[width] = 0;
    true
}

fn string(field: &mut [u8], value: &str) {
    let bytes = value.as_bytes();
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

fn fits(value: &str, len: usize) -> bool {
    value.len() <= len && value.is_ascii()
}

/// Splits a long path into USTAR prefix and name, as Go does.
fn split_ustar(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 || !path.is_ascii() {
        return None;
    }
    let max_prefix = path.len().min(156);
    let i = path[..max_prefix].rfind('/')?;
    let (prefix, name) = (&path[..i], &path[i + 1..]);
    (!name.is_empty() && name.len() <= 100 && prefix.len() <= 155).then_some((prefix, name))
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // "<len> <key>=<value>\n" where len counts itself.
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

impl<W: Write> TarWriter<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> Self {
        TarWriter {
            out,
            written: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.written
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Writes one entry; `content` must yield exactly `header.size` bytes.
    pub fn append(&mut self, header: &TarHeader, content: &mut dyn Read) -> io::Result<()> {
        let mut pax = header.pax.clone();
        let mut name = header.path.as_str();
        let mut prefix = "";
        if !fits(name, 100) {
            match split_ustar(name).filter(|_| pax.is_empty()) {
                Some((p, n)) => (prefix, name) = (p, n),
                None => {
                    pax.insert("path".into(), header.path.clone().into_bytes());
                }
            }
        }
        if !fits(&header.link, 100) {
            pax.insert("linkpath".into(), header.link.clone().into_bytes());
        }
        if !fits(&header.uname, 32) {
            pax.insert("uname".into(), header.uname.clone().into_bytes());
        }
        if !fits(&header.gname, 32) {
            pax.insert("gname".into(), header.gname.clone().into_bytes());
        }
        if header.size >= 1 << 33 {
            pax.insert("size".into(), header.size.to_string().into_bytes());
        }
        if !pax.is_empty() {
            let mut data = Vec::new();
            for (k, v) in &pax {
                data.extend_from_slice(&pax_record(k, v));
            }
            let (dir, base) = match header.path.rfind('/') {
                Some(i) => (&header.path[..=i], &header.path[i + 1..]),
                None => ("", header.path.as_str()),
            };
            let pax_name = format!("{dir}PaxHeaders.0/{base}");
            let mut block = [0u8; BLOCK];
            string(&mut block[0..100], &ascii_lossy(&pax_name));
            octal(&mut block[100..108], 0);
            octal(&mut block[108..116], 0);
            octal(&mut block[116..124], 0);
            octal(&mut block[124..136], data.len() as u64);
            octal(&mut block[136..148], 0);
            block[156] = b'x';
            finish_ustar(&mut block);
            self.write_all(&block)?;
            self.write_all(&data)?;
            self.pad(data.len() as u64)?;
        }
        let mut block = [0u8; BLOCK];
        string(&mut block[0..100], &ascii_lossy(name));
        octal(&mut block[100..108], u64::from(header.mode));
        if !octal(&mut block[108..116], u64::from(header.uid))
            || !octal(&mut block[116..124], u64::from(header.gid))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: uid/gid too large for a tar header", header.path),
            ));
        }
        let size_field = if header.size >= 1 << 33 {
            0
        } else {
            header.size
        };
        octal(&mut block[124..136], size_field);
        if !octal(&mut block[136..148], header.mtime) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: mtime out of range", header.path),
            ));
        }
        block[156] = header.kind.flag();
        string(&mut block[157..257], &ascii_lossy(&header.link));
        string(&mut block[265..297], &ascii_lossy(&header.uname));
        string(&mut block[297..329], &ascii_lossy(&header.gname));
        octal(&mut block[329..337], u64::from(header.dev_major));
        octal(&mut block[337..345], u64::from(header.dev_minor));
        string(&mut block[345..500], prefix);
        finish_ustar(&mut block);
        self.write_all(&block)?;
        if header.kind == TarKind::File || header.size > 0 {
            let copied = self.copy_content(content, header.size)?;
            if copied != header.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{}: content ended after {copied} of {} bytes",
                        header.path, header.size
                    ),
                ));
            }
            self.pad(header.size)?;
        }
        Ok(())
    }

    /// Copies up to `size` bytes of `content` in pieces of up to 256 KiB
    /// (fewer reads of a large file than `io::copy`'s 8 KiB); returns how
    /// many there were.
    fn copy_content(&mut self, content: &mut dyn Read, size: u64) -> io::Result<u64> {
        const PIECE: u64 = 256 * 1024;
        let want = usize::try_from(size.min(PIECE)).unwrap_or(0);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let mut copied = 0;
        let result = loop {
            let n = usize::try_from((size - copied).min(PIECE)).unwrap_or(0);
            if n == 0 {
                break Ok(copied);
            }
            match content.read(&mut buf[..n]) {
                Ok(0) => break Ok(copied),
                Ok(got) => {
                    if let Err(e) = self.write_all(&buf[..got]) {
                        break Err(e);
                    }
                    copied += got as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf = buf;
        result
    }

    /// Writes the two zero blocks that end an archive.
    pub fn finish(&mut self) -> io::Result<()> {
        self.write_all(&[0u8; BLOCK * 2])
    }

    /// Returns the underlying writer (without writing end blocks).
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn ascii_lossy(s: &str) -> String {
    s.chars().filter(char::is_ascii).collect()
}

fn finish_ustar(block: &mut [u8; BLOCK]) {
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    octal(&mut block[148..155], sum);
    block[155] = b' ';
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record("path", b"a"), b"9 path=a\n");
        assert_eq!(pax_record("path", &[b'a'; 92]).len(), 102);
        let r = pax_record("k", &[b'x'; 95]);
        assert_eq!(r.len().to_string(), String::from_utf8_lossy(&r[..3]));
    }

    #[test]
    fn readable_by_tar_crate() {
        let mut w = TarWriter::new(Vec::new());
        let mut h = TarHeader::new("usr/bin/hello", TarKind::File, 0o755);
        h.size = 5;
        h.pax
            .insert("APK-TOOLS.checksum.SHA1".into(), b"abc".to_vec());
        w.append(&h, &mut &b"hello"[..]).unwrap();
        let long = format!("{}/file", "d".repeat(150));
        let mut h2 = TarHeader::new(long.clone(), TarKind::Symlink, 0o777);
        h2.link = "x".repeat(120);
        w.append(&h2, &mut io::empty()).unwrap();
        w.finish().unwrap();
        let bytes = w.into_inner();
        assert_eq!(bytes.len() % 512, 0);
        let mut ar = tar::Archive::new(&bytes[..]);
        let mut entries = ar.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("usr/bin/hello"));
        let pax: Vec<_> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| x.unwrap().key().unwrap().to_string())
            .collect();
        assert_eq!(pax, vec!["APK-TOOLS.checksum.SHA1"]);
        let e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some(long.as_str()));
        assert_eq!(e.link_name().unwrap().unwrap().to_str().unwrap().len(), 120);
        assert!(entries.next().is_none());
    }
}
