//! The few facts SCA needs from an ELF file, read the way Go's `debug/elf`
//! reads them for melange: the `PT_INTERP` segment, and the `DT_NEEDED` and
//! `DT_SONAME` strings of the first `SHT_DYNAMIC` section. Only headers and
//! those tables are read from the file (through [`ReadCache`]), never the
//! whole file; every offset and size is checked against the file length, so
//! truncated or hostile files give an [`ElfError`], never a panic.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use object::elf::{self as E, FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};
use object::read::{ReadCache, ReadRef, StringTable};
use object::{Endianness, FileKind};

use crate::goinfo;

/// Longest interpreter path accepted (Linux's `PATH_MAX`).
const MAX_INTERP: u64 = 4096;

/// Why an ELF file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file starts like an ELF file but its headers or tables are
    /// inconsistent (truncated, offsets outside the file, ...).
    #[error("malformed ELF file {path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// What [`inspect`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// `PT_INTERP` with NULs trimmed (e.g. `/lib/ld-musl-x86_64.so.1`);
    /// `None` when absent or empty.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` entries, in file order.
    pub needed: Vec<String>,
    /// `DT_SONAME` entries, in file order (normally zero or one).
    pub sonames: Vec<String>,
    /// Why the dynamic section could not be read, when it could not: then
    /// `needed` and `sonames` are empty and melange stops looking at the
    /// file after its interpreter.
    pub dynamic_error: Option<String>,
    /// A Go program built with cgo and a FIPS crypto experiment (it loads
    /// OpenSSL at run time). Only computed when the dynamic section is fine.
    pub go_fips: bool,
}

/// Reads `path` if it is an ELF file: `Ok(None)` when it is not one (no
/// ELF magic, or a class/encoding Go would not accept either).
pub fn inspect(path: &Path) -> Result<Option<ElfInfo>, ElfError> {
    let io_err = |source| ElfError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io_err(e)),
    }
    if magic != E::ELFMAG {
        return Ok(None);
    }
    let cache = ReadCache::new(file);
    let malformed = |reason: String| ElfError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    match FileKind::parse(&cache) {
        Ok(FileKind::Elf32) => read::<FileHeader32<Endianness>>(&cache)
            .map(Some)
            .map_err(malformed),
        Ok(FileKind::Elf64) => read::<FileHeader64<Endianness>>(&cache)
            .map(Some)
            .map_err(malformed),
        Ok(_) => Ok(None),
        Err(e) => Err(malformed(e.to_string())),
    }
}

fn read<Elf: FileHeader<Endian = Endianness>>(cache: &ReadCache<File>) -> Result<ElfInfo, String> {
    let data = cache;
    let header = Elf::parse(data).map_err(|e| e.to_string())?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let programs = header
        .program_headers(endian, data)
        .map_err(|e| e.to_string())?;
    let sections = header
        .section_headers(endian, data)
        .map_err(|e| e.to_string())?;

    let mut info = ElfInfo {
        interpreter: interpreter::<Elf>(programs, endian, data)?,
        ..ElfInfo::default()
    };
    match dynamic_strings::<Elf>(sections, endian, data) {
        Ok((needed, sonames)) => {
            info.needed = needed;
            info.sonames = sonames;
            info.go_fips = goinfo::is_fips_cgo::<Elf>(header, programs, sections, endian, data);
        }
        Err(e) => info.dynamic_error = Some(e),
    }
    Ok(info)
}

/// Go's `findInterpreter`: the whole `PT_INTERP` segment, NULs trimmed.
fn interpreter<Elf: FileHeader<Endian = Endianness>>(
    programs: &[Elf::ProgramHeader],
    endian: Endianness,
    data: &ReadCache<File>,
) -> Result<Option<String>, String> {
    let Some(ph) = programs.iter().find(|p| p.p_type(endian) == E::PT_INTERP) else {
        return Ok(None);
    };
    let (offset, size) = ph.file_range(endian);
    if size > MAX_INTERP {
        return Err(format!("PT_INTERP of {size} bytes"));
    }
    let bytes = data
        .read_bytes_at(offset, size)
        .map_err(|()| "PT_INTERP outside the file".to_string())?;
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| b != 0).map_or(start, |i| i + 1);
    let interp = String::from_utf8_lossy(&bytes[start..end]).into_owned();
    Ok((!interp.is_empty()).then_some(interp))
}

/// Go's `DynString(DT_NEEDED)` and `DynString(DT_SONAME)`: every entry of
/// the first `SHT_DYNAMIC` section (not stopping at `DT_NULL`), strings from
/// the section its `sh_link` names; entries whose string is out of range are
/// skipped. No dynamic section means no strings.
fn dynamic_strings<Elf: FileHeader<Endian = Endianness>>(
    sections: &[Elf::SectionHeader],
    endian: Endianness,
    data: &ReadCache<File>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let Some(dynamic) = sections
        .iter()
        .find(|s| s.sh_type(endian) == E::SHT_DYNAMIC)
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (offset, size) = dynamic
        .file_range(endian)
        .ok_or("SHT_DYNAMIC without contents")?;
    let entry_size = std::mem::size_of::<Elf::Dyn>() as u64;
    if size % entry_size != 0 {
        return Err("length of dynamic section is not a multiple of dynamic entry size".into());
    }
    let count = usize::try_from(size / entry_size).map_err(|_| "dynamic section too large")?;
    let entries: &[Elf::Dyn] = data
        .read_slice_at(offset, count)
        .map_err(|()| "dynamic section outside the file".to_string())?;
    let link = dynamic.sh_link(endian) as usize;
    if link == 0 || link >= sections.len() {
        return Err("dynamic section links to no string table".into());
    }
    let (str_offset, str_size) = sections[link].file_range(endian).unwrap_or((0, 0));
    let str_end = str_offset
        .checked_add(str_size)
        .filter(|&end| ReadRef::len(data).is_ok_and(|len| end <= len))
        .ok_or("dynamic string table outside the file")?;
    let strings = StringTable::new(data, str_offset, str_end);

    let mut needed = Vec::new();
    let mut sonames = Vec::new();
    for entry in entries {
        let tag = entry.d_tag(endian);
        let list = if tag == E::DT_NEEDED {
            &mut needed
        } else if tag == E::DT_SONAME {
            &mut sonames
        } else {
            continue;
        };
        let Ok(offset) = u32::try_from(entry.d_val(endian).into()) else {
            continue;
        };
        if let Ok(s) = strings.get(offset) {
            list.push(String::from_utf8_lossy(s).into_owned());
        }
    }
    Ok((needed, sonames))
}

/// Maps a virtual address to file bytes through the `PT_LOAD` segment that
/// holds it, reading at most `max` bytes (Go's `elfExe.ReadData`).
pub(crate) fn read_vaddr<'data, Elf: FileHeader<Endian = Endianness>>(
    programs: &[Elf::ProgramHeader],
    endian: Endianness,
    data: &'data ReadCache<File>,
    addr: u64,
    max: u64,
) -> Option<&'data [u8]> {
    programs.iter().find_map(|p| {
        if p.p_type(endian) != E::PT_LOAD {
            return None;
        }
        let vaddr: u64 = p.p_vaddr(endian).into();
        let (offset, filesz) = p.file_range(endian);
        let end = vaddr.checked_add(filesz)?;
        if addr < vaddr || addr >= end {
            return None;
        }
        let len = (end - addr).min(max);
        data.read_bytes_at(offset.checked_add(addr - vaddr)?, len)
            .ok()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a little-endian ELF64 shared object with the given
    /// interpreter, dynamic entries and an extra section.
    pub(crate) struct ElfBuilder {
        pub interp: Option<Vec<u8>>,
        pub needed: Vec<String>,
        pub soname: Option<String>,
        /// Extra section (name, contents) placed in a writable PT_LOAD.
        pub extra: Option<(String, Vec<u8>)>,
    }

    fn push_u16(v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn push_u32(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    fn push_u64(v: &mut Vec<u8>, x: u64) {
        v.extend_from_slice(&x.to_le_bytes());
    }

    fn phdr(f: &mut Vec<u8>, ty: u32, flags: u32, o: u64, sz: u64) {
        push_u32(f, ty);
        push_u32(f, flags);
        for _ in 0..3 {
            push_u64(f, o); // offset, vaddr, paddr
        }
        push_u64(f, sz);
        push_u64(f, sz);
        push_u64(f, 8);
    }

    fn shdr(f: &mut Vec<u8>, name: u32, ty: u32, o: u64, sz: u64, link: u32) {
        push_u32(f, name);
        push_u32(f, ty);
        push_u64(f, 0);
        push_u64(f, o); // addr
        push_u64(f, o); // offset
        push_u64(f, sz);
        push_u32(f, link);
        push_u32(f, 0);
        push_u64(f, 1);
        push_u64(f, if ty == 6 { 16 } else { 0 });
    }

    impl ElfBuilder {
        pub(crate) fn build(&self) -> Vec<u8> {
            // Layout: header | phdrs | interp | dynstr | dynamic | extra |
            // shstrtab | shdrs; virtual address = file offset.
            let mut dynstr = vec![0u8];
            let mut dyns: Vec<(u64, u64)> = Vec::new();
            for n in &self.needed {
                dyns.push((1, dynstr.len() as u64));
                dynstr.extend_from_slice(n.as_bytes());
                dynstr.push(0);
            }
            if let Some(s) = &self.soname {
                dyns.push((14, dynstr.len() as u64));
                dynstr.extend_from_slice(s.as_bytes());
                dynstr.push(0);
            }
            dyns.push((0, 0));
            let nph = 2 + usize::from(self.interp.is_some());
            let ph_off = 64u64;
            let interp = self.interp.clone().unwrap_or_default();
            let interp_off = ph_off + 56 * nph as u64;
            let dynstr_off = interp_off + interp.len() as u64;
            let dyn_off = (dynstr_off + dynstr.len() as u64).next_multiple_of(8);
            let dyn_size = 16 * dyns.len() as u64;
            let extra_off = (dyn_off + dyn_size).next_multiple_of(16);
            let extra = self.extra.clone().unwrap_or_default();
            let mut shstr = b"\0.dynstr\0.dynamic\0.shstrtab\0".to_vec();
            let extra_name = shstr.len() as u32;
            shstr.extend_from_slice(extra.0.as_bytes());
            shstr.push(0);
            let shstr_off = extra_off + extra.1.len() as u64;
            let sh_off = (shstr_off + shstr.len() as u64).next_multiple_of(8);

            let mut f = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
            f.extend_from_slice(&[0; 8]);
            push_u16(&mut f, 3); // ET_DYN
            push_u16(&mut f, 62); // x86-64
            push_u32(&mut f, 1);
            push_u64(&mut f, 0);
            push_u64(&mut f, ph_off);
            push_u64(&mut f, sh_off);
            push_u32(&mut f, 0);
            for x in [64, 56, nph as u16, 64, 5, 3] {
                push_u16(&mut f, x);
            }
            if self.interp.is_some() {
                phdr(&mut f, 3, 4, interp_off, interp.len() as u64);
            }
            phdr(&mut f, 2, 6, dyn_off, dyn_size);
            phdr(&mut f, 1, 6, extra_off, extra.1.len() as u64);
            f.extend_from_slice(&interp);
            f.extend_from_slice(&dynstr);
            f.resize(dyn_off as usize, 0);
            for (tag, val) in &dyns {
                push_u64(&mut f, *tag);
                push_u64(&mut f, *val);
            }
            f.resize(extra_off as usize, 0);
            f.extend_from_slice(&extra.1);
            f.extend_from_slice(&shstr);
            f.resize(sh_off as usize, 0);
            shdr(&mut f, 0, 0, 0, 0, 0);
            shdr(&mut f, 1, 3, dynstr_off, dynstr.len() as u64, 0);
            shdr(&mut f, 9, 6, dyn_off, dyn_size, 1);
            shdr(&mut f, 18, 3, shstr_off, shstr.len() as u64, 0);
            shdr(&mut f, extra_name, 1, extra_off, extra.1.len() as u64, 0);
            f
        }
    }

    pub(crate) fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn reads_interp_needed_soname() {
        let dir = tempfile::tempdir().unwrap();
        let elf = ElfBuilder {
            interp: Some(b"/lib/ld-musl-x86_64.so.1\0".to_vec()),
            needed: vec!["libz.so.1".into(), "libc.musl-x86_64.so.1".into()],
            soname: Some("libfoo.so.2".into()),
            extra: None,
        }
        .build();
        let p = write_temp(dir.path(), "libfoo.so.2.0", &elf);
        let info = inspect(&p).unwrap().unwrap();
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib/ld-musl-x86_64.so.1")
        );
        assert_eq!(info.needed, ["libz.so.1", "libc.musl-x86_64.so.1"]);
        assert_eq!(info.sonames, ["libfoo.so.2"]);
        assert_eq!(info.dynamic_error, None);
        assert!(!info.go_fips);
    }

    #[test]
    fn not_elf_is_none() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("empty", &b""[..]),
            ("short", b"\x7fEL"),
            ("script", b"#!/bin/sh\necho hi\n"),
        ] {
            let p = write_temp(dir.path(), name, bytes);
            assert_eq!(inspect(&p).unwrap(), None, "{name}");
        }
    }

    /// Every truncation and many random byte changes of a valid file give
    /// errors or results, never a panic.
    #[test]
    fn truncated_and_corrupted_files_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let elf = ElfBuilder {
            interp: Some(b"/lib/ld-linux-x86-64.so.2\0".to_vec()),
            needed: vec!["libc.so.6".into()],
            soname: Some("libx.so.1".into()),
            extra: Some((".go.buildinfo".into(), vec![0xff; 64])),
        }
        .build();
        for len in 0..elf.len() {
            let p = write_temp(dir.path(), "t", &elf[..len]);
            let _ = inspect(&p);
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            let mut bytes = elf.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = 4 + (seed as usize) % (bytes.len() - 4);
                bytes[i] = (seed >> 32) as u8;
            }
            let p = write_temp(dir.path(), "c", &bytes);
            let _ = inspect(&p);
        }
    }

    #[test]
    fn bad_dynamic_section_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut elf = ElfBuilder {
            interp: Some(b"/lib/ld-musl-aarch64.so.1".to_vec()),
            needed: vec!["libc.so".into()],
            soname: None,
            extra: None,
        }
        .build();
        // Point the dynamic section's sh_link at section 0.
        let sh_off = u64::from_le_bytes(elf[40..48].try_into().unwrap()) as usize;
        let link = sh_off + 2 * 64 + 40;
        elf[link..link + 4].copy_from_slice(&0u32.to_le_bytes());
        let p = write_temp(dir.path(), "b", &elf);
        let info = inspect(&p).unwrap().unwrap();
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib/ld-musl-aarch64.so.1")
        );
        assert!(info.dynamic_error.is_some());
        assert!(info.needed.is_empty());
    }
}
