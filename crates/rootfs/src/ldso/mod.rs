//! `/etc/ld.so.cache` for glibc images, as apko's `internal/ldso-cache`
//! builds it: when `/etc/ld.so.conf` exists, the libraries of `/lib` and of
//! the directories the configuration lists (following `include` globs) go
//! into a cache in glibc's new format (`glibc-ld.so.cache1.1`, no old-format
//! header), mode 0644, mtime 0.
//!
//! Which files become entries follows apko: in each directory, a regular
//! file or a symlink to one, named `lib*.so*` or `ld-*.so*`, that is an ELF
//! shared object (`ET_DYN`), is cached under its own name when that name is
//! its `DT_SONAME` or the soname's `.so` link name (`libfoo.so` for
//! `libfoo.so.1`); an object without `DT_SONAME` counts as having its own
//! name as soname when the name ends in `.so`. The bytes follow glibc's
//! `ldconfig` (`elf/cache.c`, `elf/stringtable.c`): entries ordered by
//! `_dl_cache_libcmp` descending, then by flags; a string table holding each
//! string once with shared tails; header flags giving the byte order. The
//! differences from apko are listed in the docs of [`generate_ld_so_cache`].

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::layer::read_small;
use crate::tree::{Node, NodeKind, Tree, TreeError};

mod elf;
use elf::{ElfLib, read_elf};

/// Where the configuration is read, relative to the root.
pub const LD_SO_CONF: &str = "etc/ld.so.conf";
/// Where the cache is written, relative to the root.
pub const LD_SO_CACHE: &str = "etc/ld.so.cache";

/// `FLAG_ELF_LIBC6`: an ELF library for glibc (every entry has it). The
/// other `FLAG_*` constants are the architecture bits added to it.
pub const FLAG_ELF_LIBC6: u32 = 0x0003;
/// `FLAG_X8664_LIB64`: x86-64.
pub const FLAG_X8664_LIB64: u32 = 0x0300;
/// `FLAG_S390_LIB64`: s390x.
pub const FLAG_S390_LIB64: u32 = 0x0400;
/// `FLAG_ARM_LIBHF`: 32-bit ARM, hard-float ABI.
pub const FLAG_ARM_LIBHF: u32 = 0x0900;
/// `FLAG_AARCH64_LIB64`: aarch64.
pub const FLAG_AARCH64_LIB64: u32 = 0x0a00;
/// `FLAG_RISCV_FLOAT_ABI_DOUBLE`: riscv, double-float ABI.
pub const FLAG_RISCV_FLOAT_ABI_DOUBLE: u32 = 0x1000;

/// `CACHEMAGIC_NEW` followed by `CACHE_VERSION`.
const MAGIC: &[u8; 20] = b"glibc-ld.so.cache1.1";
/// `sizeof (struct cache_file_new)`.
const HEADER_SIZE: usize = 48;
/// `sizeof (struct file_entry_new)`.
const ENTRY_SIZE: usize = 24;
/// `cache_extension_magic`.
const EXTENSION_MAGIC: u32 = 0xeaa4_2174;
/// `cache_extension_tag_generator`.
const TAG_GENERATOR: u32 = 0;
/// Symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;
/// Nesting of `include` files followed.
const MAX_INCLUDE_DEPTH: usize = 32;

/// Why the cache could not be generated or read.
#[derive(Debug, thiserror::Error)]
pub enum LdsoError {
    /// A configuration file exists but is not a readable regular file.
    #[error("`{0}` is not a readable regular file")]
    Unreadable(String),
    /// `etc/ld.so.cache` exists as a directory.
    #[error("`{0}` is a directory")]
    IsDirectory(String),
    /// The cache cannot be written into the tree.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The cache would need offsets past 4 GiB.
    #[error("ld.so.cache would be larger than 4 GiB")]
    TooLarge,
    /// Bytes given to [`Cache::parse`] are not a valid new-format cache.
    #[error("malformed ld.so.cache: {0}")]
    Malformed(&'static str),
}

/// One library of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The name `ld.so` looks up (a soname, or a `.so` link name).
    pub key: String,
    /// Absolute path of the library in the image.
    pub path: String,
    /// `FLAG_ELF_LIBC6` plus the architecture bits.
    pub flags: u32,
    /// glibc-hwcaps information; 0 for libraries of plain directories.
    pub hwcap: u64,
}

/// A whole cache file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cache {
    /// Entries, in file order.
    pub entries: Vec<CacheEntry>,
    /// Byte order of the numbers (that of the image's libraries).
    pub big_endian: bool,
    /// The generator extension (`ldconfig` writes its version there); none
    /// when `None`, as apko writes it.
    pub generator: Option<String>,
}

/// Generates `etc/ld.so.cache` (0644, mtime 0, root-owned) when
/// `etc/ld.so.conf` exists, for `/lib` and the directories
/// [`library_dirs`] finds; returns whether it did.
///
/// Differences from apko's output, on purpose:
/// - the header carries glibc's byte-order flag and the string table is
///   glibc's (each string once, shared tails), where apko writes flags 0, one
///   `path\0` per entry and 1 to 16 bytes of padding;
/// - a directory listed twice (apko always prepends `/lib`, and Wolfi's
///   `libc.conf` lists it again) is scanned once, so entries are not
///   duplicated;
/// - `include` is handled as glibc does (see [`library_dirs`]);
/// - libraries of other machines get glibc's flags for them, and objects of
///   unknown machines are skipped, where apko fails the build;
/// - entries with the same name keep directory order (glibc's stable
///   insertion) instead of an unstable sort.
///
/// Files that cannot be read as ELF, broken or looping symlinks and include
/// cycles are skipped. Errors come only from an unreadable `ld.so.conf` or
/// a cache path that cannot be written.
pub fn generate_ld_so_cache(tree: &mut Tree) -> Result<bool, LdsoError> {
    if resolve(tree, LD_SO_CONF).is_none() {
        return Ok(false);
    }
    let mut dirs = vec!["/lib".to_string()];
    dirs.extend(library_dirs(tree, LD_SO_CONF)?);
    let bytes = build_cache(tree, &dirs).encode()?;
    let path = tree.resolve_parent(LD_SO_CACHE)?;
    if tree.get(&path).is_some_and(Node::is_dir) {
        return Err(LdsoError::IsDirectory(path));
    }
    tree.write_file(&path, bytes, 0o644, 0)?;
    Ok(true)
}

/// The library directories `conf` lists (a path relative to the root, or
/// absolute inside it), as absolute paths, in order, each once.
///
/// Parsed as glibc's `ldconfig` does: `#` starts a comment; `include` takes
/// glob patterns (relative ones are relative to the including file's
/// directory), whose matches are read in byte order; `hwcap` lines are
/// ignored; a directory line loses a `=type` suffix, trailing whitespace and
/// trailing slashes. apko instead stops reading a file after its first
/// `include` line and globs relative patterns from the root. Each included
/// file is read once, so include cycles end.
pub fn library_dirs(tree: &Tree, conf: &str) -> Result<Vec<String>, LdsoError> {
    let real = resolve(tree, conf).ok_or_else(|| LdsoError::Unreadable(conf.to_string()))?;
    let text = read_small(tree, &real).ok_or_else(|| LdsoError::Unreadable(conf.to_string()))?;
    let mut state = ConfState::default();
    state.visited.insert(real);
    parse_conf(tree, conf, &text, 0, &mut state);
    Ok(state.dirs)
}

#[derive(Default)]
struct ConfState {
    dirs: Vec<String>,
    seen: HashSet<String>,
    visited: HashSet<String>,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn is_blank(b: Option<&u8>) -> bool {
    matches!(b, Some(b' ' | b'\t'))
}

fn parse_conf(tree: &Tree, name: &str, text: &[u8], depth: usize, state: &mut ConfState) {
    let text = String::from_utf8_lossy(text);
    for line in text.split('\n') {
        let line = line.split('#').next().unwrap_or_default();
        let line = line.trim_start_matches(is_space);
        let bytes = line.as_bytes();
        if line.is_empty() {
            continue;
        }
        if bytes.starts_with(b"include") && is_blank(bytes.get(7)) {
            for pattern in line[8..].split([' ', '\t']).filter(|p| !p.is_empty()) {
                let pattern = match name.rsplit_once('/') {
                    Some((dir, _)) if !pattern.starts_with('/') => format!("{dir}/{pattern}"),
                    _ => pattern.to_string(),
                };
                for found in glob(tree, &pattern) {
                    let Some(real) = resolve(tree, &found) else {
                        continue;
                    };
                    if depth >= MAX_INCLUDE_DEPTH || !state.visited.insert(real.clone()) {
                        continue;
                    }
                    if let Some(text) = read_small(tree, &real) {
                        parse_conf(tree, &format!("/{found}"), &text, depth + 1, state);
                    }
                }
            }
        } else if bytes.len() > 5
            && bytes[..5].eq_ignore_ascii_case(b"hwcap")
            && is_blank(bytes.get(5))
        {
            continue;
        } else {
            let dir = line.split('=').next().unwrap_or_default();
            let dir = clean(dir.trim_end_matches(is_space));
            if !dir.is_empty() && state.seen.insert(dir.clone()) {
                state.dirs.push(format!("/{dir}"));
            }
        }
    }
}

/// The cache for the libraries of `dirs` (absolute or root-relative; a
/// directory given twice is scanned once), sorted as `ldconfig` sorts, in
/// the byte order of most of its libraries, without generator.
pub fn build_cache(tree: &Tree, dirs: &[String]) -> Cache {
    let mut elves: HashMap<String, Option<ElfLib>> = HashMap::new();
    let mut found: Vec<(CacheEntry, bool, bool)> = Vec::new();
    let mut scanned = HashSet::new();
    for dir in dirs {
        let dir = clean(dir);
        if dir.is_empty() || !scanned.insert(dir.clone()) {
            continue;
        }
        let Some(real) = resolve(tree, &dir).filter(|r| tree.get(r).is_some_and(Node::is_dir))
        else {
            continue;
        };
        for (name, path) in list_dir(tree, &real) {
            if lib_stem(name).is_none() {
                continue;
            }
            let Some(file) = resolve(tree, path) else {
                continue;
            };
            let elf = elves
                .entry(file)
                .or_insert_with_key(|file| read_elf(tree, file));
            let Some((elf, flags)) = elf.as_ref().and_then(|e| Some((e, e.flags?))) else {
                continue;
            };
            // Without DT_SONAME, a `.so` name is its own soname.
            let cached = if elf.sonames.is_empty() {
                name.ends_with(".so")
            } else {
                elf.sonames.iter().any(|soname| {
                    lib_stem(soname)
                        .is_some_and(|stem| name == soname || name == format!("{stem}.so"))
                })
            };
            if cached {
                let entry = CacheEntry {
                    key: name.to_string(),
                    path: format!("/{dir}/{name}"),
                    flags,
                    hwcap: 0,
                };
                found.push((entry, elf.big_endian, elf.signed_char));
            }
        }
    }
    let big_endian = found.iter().filter(|f| f.1).count() * 2 > found.len();
    let signed_char = found.iter().filter(|f| f.2).count() * 2 > found.len();
    let mut entries: Vec<CacheEntry> = found.into_iter().map(|f| f.0).collect();
    sort_entries(&mut entries, signed_char);
    Cache {
        big_endian,
        entries,
        generator: None,
    }
}

/// apko's `ParseLibFilename`: the name without its `.so` suffix or last
/// `.so.<version>`, for names starting with `lib` or `ld-`.
fn lib_stem(name: &str) -> Option<&str> {
    if !name.starts_with("lib") && !name.starts_with("ld-") {
        return None;
    }
    name.strip_suffix(".so")
        .or_else(|| name.rfind(".so.").map(|i| &name[..i]))
}

/// Sorts entries as `ldconfig` does: by [`dl_cache_libcmp`] of the keys,
/// descending, then by flags, descending; equal entries keep their order.
/// `signed_char` is whether `char` is signed on the image's architecture
/// (x86, SPARC, LoongArch), which orders names with bytes above 0x7f.
pub fn sort_entries(entries: &mut [CacheEntry], signed_char: bool) {
    entries
        .sort_by(|a, b| dl_cache_libcmp(&b.key, &a.key, signed_char).then(b.flags.cmp(&a.flags)));
}

/// glibc's `_dl_cache_libcmp`, the order `ld.so` binary-searches the cache
/// in: runs of digits compare numerically (as C `int`s), a digit is greater
/// than any other byte, other bytes compare as `char`s.
pub fn dl_cache_libcmp(a: &str, b: &str, signed_char: bool) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let ch = |s: &[u8], i: usize| match s.get(i) {
        None => 0,
        Some(&c) if signed_char => i32::from(c as i8),
        Some(&c) => i32::from(c),
    };
    let digit = |s: &[u8], i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let number = |s: &[u8], i: &mut usize| {
        let mut value: i32 = 0;
        while digit(s, *i) {
            value = value.wrapping_mul(10).wrapping_add(i32::from(s[*i] - b'0'));
            *i += 1;
        }
        value
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() {
        if digit(a, i) {
            if !digit(b, j) {
                return Ordering::Greater;
            }
            let (x, y) = (number(a, &mut i), number(b, &mut j));
            if x != y {
                return x.cmp(&y);
            }
        } else if digit(b, j) {
            return Ordering::Less;
        } else if ch(a, i) != ch(b, j) {
            return ch(a, i).cmp(&ch(b, j));
        } else {
            i += 1;
            j += 1;
        }
    }
    0.cmp(&ch(b, j))
}

impl Cache {
    /// The file bytes, laid out as glibc's `save_cache` writes them (new
    /// format only): header, entries, string table (`stringtable_finalize`),
    /// then, with a generator, the extension directory at the next multiple
    /// of 4. All string offsets count from the start of the file.
    pub fn encode(&self) -> Result<Vec<u8>, LdsoError> {
        let mut strings: Vec<&str> = self
            .entries
            .iter()
            .flat_map(|e| [e.key.as_str(), e.path.as_str()])
            .collect();
        // Reversed strings in descending order puts every string right
        // after the longer ones it is a tail of.
        strings.sort_unstable_by(|a, b| b.bytes().rev().cmp(a.bytes().rev()));
        strings.dedup();
        let mut table = Vec::new();
        let mut offsets: HashMap<&str, usize> = HashMap::new();
        let mut previous: Option<(&str, usize)> = None;
        for s in strings {
            let offset = match previous {
                Some((p, at)) if p.ends_with(s) => at + p.len() - s.len(),
                Some((p, at)) => at + p.len() + 1,
                None => 0,
            };
            if offset + s.len() >= table.len() {
                table.resize(offset + s.len() + 1, 0);
                table[offset..offset + s.len()].copy_from_slice(s.as_bytes());
            }
            offsets.insert(s, offset);
            previous = Some((s, offset));
        }

        let big = self.big_endian;
        let n32 = |n: usize| u32::try_from(n).map(|v| ordered(v.into(), big, 4));
        let strings_at = HEADER_SIZE + ENTRY_SIZE * self.entries.len();
        let extension_at = (strings_at + table.len()).next_multiple_of(4);
        let mut out = Vec::with_capacity(extension_at + 64);
        out.extend_from_slice(MAGIC);
        out.extend(n32(self.entries.len()).map_err(|_| LdsoError::TooLarge)?);
        out.extend(n32(table.len()).map_err(|_| LdsoError::TooLarge)?);
        out.extend([if big { 3 } else { 2 }, 0, 0, 0]);
        let extension = if self.generator.is_some() {
            extension_at
        } else {
            0
        };
        out.extend(n32(extension).map_err(|_| LdsoError::TooLarge)?);
        out.extend([0; 12]);
        for e in &self.entries {
            let key = n32(strings_at + offsets[e.key.as_str()]);
            let path = n32(strings_at + offsets[e.path.as_str()]);
            out.extend(ordered(e.flags.into(), big, 4));
            out.extend(key.map_err(|_| LdsoError::TooLarge)?);
            out.extend(path.map_err(|_| LdsoError::TooLarge)?);
            out.extend(ordered(0, big, 4));
            out.extend(ordered(e.hwcap, big, 8));
        }
        out.extend_from_slice(&table);
        if let Some(generator) = &self.generator {
            out.resize(extension_at, 0);
            let size = u32::try_from(generator.len()).map_err(|_| LdsoError::TooLarge)?;
            let at = n32(extension_at + 24).map_err(|_| LdsoError::TooLarge)?;
            for v in [EXTENSION_MAGIC, 1, TAG_GENERATOR, 0] {
                out.extend(ordered(v.into(), big, 4));
            }
            out.extend(at);
            out.extend(ordered(size.into(), big, 4));
            out.extend_from_slice(generator.as_bytes());
        }
        Ok(out)
    }

    /// Reads a new-format cache (as [`Cache::encode`] and glibc 2.32+
    /// `ldconfig` write it); every offset is checked.
    pub fn parse(bytes: &[u8]) -> Result<Cache, LdsoError> {
        use LdsoError::Malformed;
        if bytes.len() < HEADER_SIZE || &bytes[..MAGIC.len()] != MAGIC {
            return Err(Malformed("no glibc-ld.so.cache1.1 header"));
        }
        let big_endian = match bytes[28] & 3 {
            0 | 2 => false,
            3 => true,
            _ => return Err(Malformed("invalid byte order flag")),
        };
        let get = |at: usize, n: usize| {
            at.checked_add(n)
                .and_then(|end| bytes.get(at..end))
                .ok_or(Malformed("offset outside the file"))
        };
        let number = |at: usize, n: usize| get(at, n).map(|b| read_ordered(b, big_endian));
        let u32_at = |at: usize| number(at, 4).map(|v| v as usize);
        let string_at = |at: usize| -> Result<String, LdsoError> {
            let rest = bytes
                .get(at..)
                .ok_or(Malformed("string outside the file"))?;
            let len = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(Malformed("unterminated string"))?;
            String::from_utf8(rest[..len].to_vec()).map_err(|_| Malformed("string is not UTF-8"))
        };
        let count = u32_at(20)?;
        if count > (bytes.len() - HEADER_SIZE) / ENTRY_SIZE {
            return Err(Malformed("more entries than the file holds"));
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let at = HEADER_SIZE + i * ENTRY_SIZE;
            entries.push(CacheEntry {
                flags: number(at, 4)? as u32,
                key: string_at(u32_at(at + 4)?)?,
                path: string_at(u32_at(at + 8)?)?,
                hwcap: number(at + 16, 8)?,
            });
        }
        let mut generator = None;
        let extension = u32_at(32)?;
        if extension != 0 {
            if u32_at(extension)? != EXTENSION_MAGIC as usize {
                return Err(Malformed("bad extension magic"));
            }
            let sections = u32_at(extension + 4)?;
            if sections > bytes.len() / 16 {
                return Err(Malformed("more extension sections than the file holds"));
            }
            for i in 0..sections {
                let at = extension + 8 + i * 16;
                if u32_at(at)? == TAG_GENERATOR as usize {
                    let text = get(u32_at(at + 8)?, u32_at(at + 12)?)?;
                    generator = Some(String::from_utf8_lossy(text).into_owned());
                }
            }
        }
        Ok(Cache {
            entries,
            big_endian,
            generator,
        })
    }
}

/// The low `size` bytes of `v` in the given byte order.
fn ordered(v: u64, big: bool, size: usize) -> Vec<u8> {
    if big {
        v.to_be_bytes()[8 - size..].to_vec()
    } else {
        v.to_le_bytes()[..size].to_vec()
    }
}

/// A number of up to 8 bytes in the given byte order.
fn read_ordered(bytes: &[u8], big: bool) -> u64 {
    let fold = |v: u64, &b: &u8| (v << 8) | u64::from(b);
    if big {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

/// Root-relative path without empty, `.` or `..` components (`..` stops at
/// the root), as Go's `filepath.Join("/", p)` cleans it.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Follows symlinks in every component of `path`, the last one included
/// (absolute targets are relative to the root): the real path of an
/// existing node (`""` for the root), or `None` when something is missing,
/// loops, or climbs above the root.
fn resolve(tree: &Tree, path: &str) -> Option<String> {
    let mut current = path.to_string();
    for _ in 0..=MAX_LINKS {
        let (dir, name) = current.rsplit_once('/').unwrap_or(("", &current));
        let dir = if dir.split('/').all(|c| c.is_empty() || c == ".") {
            String::new()
        } else {
            let inside = tree.resolve_parent(&format!("{dir}/x")).ok()?;
            inside.strip_suffix("x")?.trim_end_matches('/').to_string()
        };
        let real = match name {
            "" | "." => dir,
            ".." => dir
                .rsplit_once('/')
                .map(|(p, _)| p.to_string())
                .or_else(|| (!dir.is_empty()).then(String::new))?,
            name => join(&dir, name),
        };
        if real.is_empty() {
            return Some(real);
        }
        match &tree.get(&real)?.kind {
            NodeKind::Symlink(target) if target.starts_with('/') => current = target.clone(),
            NodeKind::Symlink(target) => {
                let parent = real.rsplit_once('/').map_or("", |(p, _)| p);
                current = join(parent, target);
            }
            _ => return Some(real),
        }
    }
    None
}

/// The direct children of the real directory `dir` (`""` is the root), as
/// (name, path), in name order.
fn list_dir<'a>(tree: &'a Tree, dir: &'a str) -> Vec<(&'a str, &'a str)> {
    if dir.is_empty() {
        return tree
            .iter()
            .filter(|(p, _)| !p.contains('/'))
            .map(|(p, _)| (p, p))
            .collect();
    }
    tree.children_of(dir)
        .filter_map(|(p, _)| {
            let name = &p[dir.len() + 1..];
            (!name.contains('/')).then_some((name, p))
        })
        .collect()
}

/// glob(3) inside the tree (no `GLOB_PERIOD`): the existing paths matching
/// `pattern`, root-relative, in byte order.
fn glob(tree: &Tree, pattern: &str) -> Vec<String> {
    let mut paths = vec![String::new()];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for prefix in &paths {
            if !part.contains(['*', '?', '[']) {
                next.push(join(prefix, part));
                continue;
            }
            let Some(dir) = resolve(tree, prefix) else {
                continue;
            };
            if !dir.is_empty() && !tree.get(&dir).is_some_and(Node::is_dir) {
                continue;
            }
            for (name, _) in list_dir(tree, &dir) {
                if fnmatch(part.as_bytes(), name.as_bytes()) {
                    next.push(join(prefix, name));
                }
            }
        }
        paths = next;
    }
    paths.retain(|p| !p.is_empty() && resolve(tree, p).is_some());
    paths.sort();
    paths.dedup();
    paths
}

/// fnmatch(3) for one file name: `*`, `?`, `[...]` (with `!`/`^` and
/// ranges) and `\` escapes; a leading `.` must be matched literally.
fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match bracket(&pattern[p..], name[n]) {
                Some((hit, len)) => hit.then_some(len),
                None => (name[n] == b'[').then_some(1),
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == name[n]).then_some(2),
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                p += len;
                n += 1;
            }
            (None, Some((after, from))) => {
                p = after;
                n = from + 1;
                star = Some((after, from + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// A `[...]` expression at the start of `pattern`: whether `c` matches and
/// the expression's length; `None` when it is not closed.
fn bracket(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let mut lo = *pattern.get(i)?;
        if lo == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *pattern.get(i)?;
        }
        i += 1;
        match (pattern.get(i), pattern.get(i + 1)) {
            (Some(b'-'), Some(&hi)) if hi != b']' => {
                hit |= (lo..=hi).contains(&c);
                i += 2;
            }
            _ => hit |= lo == c,
        }
    }
}
