//! Reading the few ELF facts ld.so.cache needs (sonames, machine flags)
//! from files of the tree, by offset into their data tars.

use std::fs::File;
use std::os::unix::fs::FileExt;

use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::read::{ReadCache, ReadCacheOps, ReadRef};
use object::{Endianness, FileKind};

use super::{
    FLAG_AARCH64_LIB64, FLAG_ARM_LIBHF, FLAG_ELF_LIBC6, FLAG_RISCV_FLOAT_ABI_DOUBLE,
    FLAG_S390_LIB64, FLAG_X8664_LIB64,
};
use crate::tree::{Content, NodeKind, Tree};

/// What the cache needs from a shared object.
pub(super) struct ElfLib {
    /// `DT_SONAME` strings, in order.
    pub(super) sonames: Vec<String>,
    /// glibc's flags for its machine; `None` for machines glibc has none for.
    pub(super) flags: Option<u32>,
    pub(super) big_endian: bool,
    /// `char` is signed on the object's architecture.
    pub(super) signed_char: bool,
}

/// `size` bytes at `start` of a data tar, for [`ReadCache`].
struct Window {
    file: File,
    start: u64,
    size: u64,
    pos: u64,
}

impl ReadCacheOps for Window {
    fn len(&mut self) -> Result<u64, ()> {
        Ok(self.size)
    }

    fn seek(&mut self, pos: u64) -> Result<u64, ()> {
        self.pos = pos;
        Ok(pos)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let left = usize::try_from(self.size.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = left.min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let at = self.start.checked_add(self.pos).ok_or(())?;
        let n = self.file.read_at(&mut buf[..want], at).map_err(|_| ())?;
        self.pos += n as u64;
        Ok(n)
    }

    fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<(), ()> {
        while !buf.is_empty() {
            match self.read(buf)? {
                0 => return Err(()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }
}

/// Reads the regular file (or hard link to one) at the real path `path`
/// as a shared object; `None` when it is not one or cannot be read.
pub(super) fn read_elf(tree: &Tree, path: &str) -> Option<ElfLib> {
    let content = match &tree.get(path)?.kind {
        NodeKind::File(c) => c,
        NodeKind::Hardlink(target) => match &tree.get(target)?.kind {
            NodeKind::File(c) => c,
            _ => return None,
        },
        _ => return None,
    };
    match content {
        Content::Bytes(bytes) => parse_elf(bytes.as_slice()),
        Content::Source {
            source,
            offset,
            size,
        } => {
            let file = File::open(tree.sources.get(*source as usize)?).ok()?;
            let cache = ReadCache::new(Window {
                file,
                start: *offset,
                size: *size,
                pos: 0,
            });
            parse_elf(&cache)
        }
    }
}

fn parse_elf<'a, R: ReadRef<'a>>(data: R) -> Option<ElfLib> {
    match FileKind::parse(data).ok()? {
        FileKind::Elf32 => parse_elf_as::<FileHeader32<Endianness>, R>(data),
        FileKind::Elf64 => parse_elf_as::<FileHeader64<Endianness>, R>(data),
        _ => None,
    }
}

/// glibc's `process_elf_file`: an `ET_DYN` object; `DT_SONAME` strings are
/// read from `DT_STRTAB` of the `PT_DYNAMIC` segment (up to `DT_NULL`),
/// mapped to the file through the `PT_LOAD` segment holding it.
fn parse_elf_as<'a, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'a>>(
    data: R,
) -> Option<ElfLib> {
    const ET_DYN: u16 = 3;
    const PT_LOAD: u32 = 1;
    const DT_STRTAB: i64 = 5;
    const DT_SONAME: i64 = 14;
    let header = Elf::parse(data).ok()?;
    let endian = header.endian().ok()?;
    if header.e_type(endian).0 != ET_DYN {
        return None;
    }
    let segments = header.program_headers(endian, data).ok()?;
    let mut sonames = Vec::new();
    if let Some(dynamic) = segments
        .iter()
        .find_map(|s| s.dynamic(endian, data).transpose())
    {
        let dynamic = dynamic.ok()?;
        let end = dynamic
            .iter()
            .position(|d| d.tag(endian).0 == 0)
            .unwrap_or(dynamic.len());
        let dynamic = &dynamic[..end];
        let strtab = dynamic
            .iter()
            .find(|d| d.tag(endian).0 == DT_STRTAB)
            .map(|d| d.val(endian));
        for entry in dynamic.iter().filter(|d| d.tag(endian).0 == DT_SONAME) {
            let addr = strtab?;
            let file_offset = segments
                .iter()
                .find(|s| {
                    let vaddr: u64 = s.p_vaddr(endian).into();
                    s.p_type(endian).0 == PT_LOAD
                        && addr >= vaddr
                        && addr - vaddr < s.p_filesz(endian).into()
                })
                .map_or(Some(addr), |s| {
                    let (vaddr, offset): (u64, u64) =
                        (s.p_vaddr(endian).into(), s.p_offset(endian).into());
                    (addr - vaddr).checked_add(offset)
                })?;
            let start = file_offset.checked_add(entry.val(endian))?;
            let bytes = data.read_bytes_at_until(start..data.len().ok()?, 0).ok()?;
            sonames.push(String::from_utf8(bytes.to_vec()).ok()?);
        }
    }
    let machine = header.e_machine(endian).0;
    Some(ElfLib {
        sonames,
        flags: glibc_flags(machine, header.is_class_64(), header.e_flags(endian).0),
        big_endian: header.is_big_endian(),
        signed_char: matches!(machine, 2 | 3 | 18 | 43 | 62 | 258),
    })
}

/// The flags glibc's `ldconfig` gives an object of `machine`
/// (`sysdeps/unix/sysv/linux/*/readelflib.c`). Bits without a constant
/// here: 0x0800 x32, 0x0b00 ARM soft-float, 0x0500 ppc64, 0x0100 sparc64,
/// 0x0f00 RISC-V soft-float, 0x1100 and 0x1200 LoongArch soft and double.
fn glibc_flags(machine: u16, class64: bool, e_flags: u32) -> Option<u32> {
    let arm_eabi5 = e_flags & 0xff00_0000 == 0x0500_0000;
    let riscv_abi = (e_flags & !0x7 == 0).then_some(e_flags & 0x6);
    let abi = match (machine, class64) {
        (62, true) => FLAG_X8664_LIB64,
        (62, false) => 0x0800,
        (183, true) => FLAG_AARCH64_LIB64,
        (40, false) if arm_eabi5 && e_flags & 0x400 != 0 => FLAG_ARM_LIBHF,
        (40, false) if arm_eabi5 && e_flags & 0x200 != 0 => 0x0b00,
        (21, true) => 0x0500,
        (22, true) => FLAG_S390_LIB64,
        (43, true) => 0x0100,
        (243, _) if riscv_abi == Some(0) => 0x0f00,
        (243, _) if riscv_abi == Some(4) => FLAG_RISCV_FLOAT_ABI_DOUBLE,
        (258, true) if e_flags & 0x7 == 1 => 0x1100,
        (258, true) if e_flags & 0x7 == 3 => 0x1200,
        (3 | 40 | 20 | 22 | 2 | 18, false) => 0,
        _ => return None,
    };
    Some(FLAG_ELF_LIBC6 | abi)
}
