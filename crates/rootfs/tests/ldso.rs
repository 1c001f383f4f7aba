//! `/etc/ld.so.cache` generation: apko's `internal/ldso-cache` test data and
//! expectations, glibc's real cache read and rewritten byte for byte, glibc's
//! own `ldconfig` as an oracle, and malformed inputs.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rootfs::ldso::{
    self, Cache, CacheEntry, FLAG_AARCH64_LIB64, FLAG_ARM_LIBHF, FLAG_ELF_LIBC6,
    FLAG_RISCV_FLOAT_ABI_DOUBLE, FLAG_S390_LIB64, FLAG_X8664_LIB64, LdsoError,
};
use rootfs::{Content, Node, NodeKind, Tree};

const EM_386: u16 = 3;
const EM_ARM: u16 = 40;
const EM_S390: u16 = 22;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_MIPS: u16 = 8;
const X86_64: u32 = FLAG_ELF_LIBC6 | FLAG_X8664_LIB64;

fn testdata() -> PathBuf {
    testsupport::fixtures().join("apko-testdata/internal/ldso-cache/testdata")
}

/// A minimal shared object: one `PT_LOAD` at 0x10000 mapping the whole
/// file, a `PT_DYNAMIC` with `DT_STRTAB`, `DT_SONAME` and `DT_NULL`.
struct Elf {
    machine: u16,
    class64: bool,
    big_endian: bool,
    e_type: u16,
    e_flags: u32,
    soname: Option<String>,
    needed: Option<String>,
}

impl Elf {
    fn lib(machine: u16, soname: Option<&str>) -> Elf {
        Elf {
            machine,
            class64: machine != EM_386 && machine != EM_ARM,
            big_endian: false,
            e_type: 3,
            e_flags: 0,
            soname: soname.map(str::to_string),
            needed: None,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        const BASE: u64 = 0x10000;
        let (eh, ph, dy) = if self.class64 {
            (64, 56, 16)
        } else {
            (52, 32, 8)
        };
        let soname = self.soname.as_deref().unwrap_or("");
        let strtab = format!("\0{soname}\0{}\0", self.needed.as_deref().unwrap_or(""));
        let dyn_at = eh + 2 * ph;
        let str_at = dyn_at + 4 * dy;
        // DT_STRTAB, DT_SONAME (else DT_STRSZ), DT_NEEDED (else DT_STRSZ),
        // DT_NULL.
        let dynamic = [
            (5, BASE + str_at as u64),
            if self.soname.is_some() {
                (14, 1)
            } else {
                (10, strtab.len() as u64)
            },
            if self.needed.is_some() {
                (1, soname.len() as u64 + 2)
            } else {
                (10, strtab.len() as u64)
            },
            (0, 0),
        ];
        let total = (str_at + strtab.len()) as u64;
        let mut out = vec![0x7f, b'E', b'L', b'F'];
        out.extend([
            if self.class64 { 2 } else { 1 },
            if self.big_endian { 2 } else { 1 },
            1,
        ]);
        out.resize(16, 0);
        let be = self.big_endian;
        let n = |out: &mut Vec<u8>, v: u64, size: usize| {
            let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
            out.extend_from_slice(if be { &b[8 - size..] } else { &b[..size] });
        };
        let w = if self.class64 { 8 } else { 4 };
        n(&mut out, self.e_type.into(), 2);
        n(&mut out, self.machine.into(), 2);
        n(&mut out, 1, 4);
        n(&mut out, 0, w); // entry
        n(&mut out, eh as u64, w); // phoff
        n(&mut out, 0, w); // shoff
        n(&mut out, self.e_flags.into(), 4);
        for v in [eh as u64, ph as u64, 2, 0, 0, 0] {
            n(&mut out, v, 2);
        }
        let segments = [
            (1u64, 4u64, 0u64, BASE, total),
            (2, 6, dyn_at as u64, BASE + dyn_at as u64, 4 * dy as u64),
        ];
        for (p_type, flags, offset, vaddr, size) in segments {
            n(&mut out, p_type, 4);
            if self.class64 {
                n(&mut out, flags, 4);
            }
            for v in [offset, vaddr, vaddr, size, size] {
                n(&mut out, v, w);
            }
            if !self.class64 {
                n(&mut out, flags, 4);
            }
            n(&mut out, 8, w);
        }
        for (tag, val) in dynamic {
            n(&mut out, tag, w);
            n(&mut out, val, w);
        }
        out.extend_from_slice(strtab.as_bytes());
        assert_eq!(out.len() as u64, total);
        out
    }
}

fn lib(machine: u16, soname: Option<&str>) -> Vec<u8> {
    Elf::lib(machine, soname).bytes()
}

fn x86(soname: &str) -> Vec<u8> {
    lib(EM_X86_64, Some(soname))
}

/// One file system object for [`build`].
enum Item {
    File(Vec<u8>),
    Link(&'static str),
}

/// The same layout as a [`Tree`] and, when `disk` is given, on disk.
fn build(items: Vec<(&str, Item)>, disk: Option<&Path>) -> Tree {
    let mut tree = Tree::new();
    for (path, item) in items {
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        tree.mkdir_all(parent, 0o755, 0).unwrap();
        if let Some(root) = disk {
            fs::create_dir_all(root.join(parent)).unwrap();
        }
        match item {
            Item::File(bytes) => {
                if let Some(root) = disk {
                    fs::write(root.join(path), &bytes).unwrap();
                }
                tree.write_file(path, bytes, 0o755, 0).unwrap();
            }
            Item::Link(target) => {
                if let Some(root) = disk {
                    std::os::unix::fs::symlink(target, root.join(path)).unwrap();
                }
                tree.insert(path, Node::new(NodeKind::Symlink(target.into()), 0o777, 0));
            }
        }
    }
    tree
}

/// Symlinks of apko's `libroot/` (mode 120000 upstream) that the fixture
/// copy stores as regular files holding the target.
const FLATTENED_LINKS: &[&str] = &[
    "lib",
    "usr/local/lib",
    "usr/local/sdk-v1/lib/libsdk.so",
    "usr/local/sdk-v1/lib/libsdk.so.1",
    "usr/local/sdk-v2/lib/libsdk.so",
    "usr/local/sdk-v2/lib/libsdk.so.1",
];

/// apko's test "libraries" are YAML (`machine:` and `sonames:`) read by a
/// mocked ELF reader; here they become real shared objects.
fn mock_to_elf(text: &str) -> Vec<u8> {
    let mut machine = 0;
    let mut sonames = Vec::new();
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("machine: 0x") {
            machine = u16::from_str_radix(m.trim(), 16).unwrap();
        } else if let Some(s) = line.trim().strip_prefix("- ") {
            sonames.push(s.to_string());
        }
    }
    assert!(sonames.len() <= 1);
    lib(machine, sonames.first().map(String::as_str))
}

fn load_dir(tree: &mut Tree, root: &Path, rel: &str) {
    let mut names: Vec<_> = fs::read_dir(root.join(rel))
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    names.sort_by_key(|e| e.file_name());
    for entry in names {
        let name = entry.file_name().into_string().unwrap();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        if meta.file_type().is_symlink() {
            let target = fs::read_link(entry.path()).unwrap();
            let node = NodeKind::Symlink(target.to_str().unwrap().into());
            tree.insert(&path, Node::new(node, 0o777, 0));
        } else if meta.is_dir() {
            tree.mkdir_all(&path, 0o755, 0).unwrap();
            load_dir(tree, root, &path);
        } else {
            let bytes = fs::read(entry.path()).unwrap();
            if FLATTENED_LINKS.contains(&path.as_str()) {
                let target = String::from_utf8(bytes).unwrap().trim().to_string();
                tree.insert(&path, Node::new(NodeKind::Symlink(target), 0o777, 0));
            } else if bytes.starts_with(b"machine:") {
                tree.write_file(
                    &path,
                    mock_to_elf(std::str::from_utf8(&bytes).unwrap()),
                    0o755,
                    0,
                )
                .unwrap();
            } else {
                tree.write_file(&path, bytes, 0o644, 0).unwrap();
            }
        }
    }
}

fn libroot() -> Tree {
    let mut tree = Tree::new();
    load_dir(&mut tree, &testdata().join("libroot"), "");
    tree
}

fn pairs(entries: &[CacheEntry]) -> Vec<(&str, &str, u32)> {
    entries
        .iter()
        .map(|e| (e.key.as_str(), e.path.as_str(), e.flags))
        .collect()
}

/// `ldconfig -p -C FILE`: (key, flags text, path) lines, or `None` when
/// Debian's `ldconfig` is not installed.
fn ldconfig_print(cache: &[u8]) -> Option<Vec<(String, String, String)>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ld.so.cache");
    fs::write(&file, cache).unwrap();
    let out = Command::new("ldconfig")
        .arg("-p")
        .arg("-C")
        .arg(&file)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(&format!("libs found in cache `{}'", file.display()))
    );
    Some(
        lines
            .filter_map(|l| l.strip_prefix('\t'))
            .map(|l| {
                let (key, rest) = l.split_once(" (").unwrap();
                let (flags, path) = rest.split_once(") => ").unwrap();
                (key.into(), flags.into(), path.into())
            })
            .collect(),
    )
}

#[test]
fn glibc_cache_is_rewritten_byte_for_byte() {
    // apko's Test_LoadCacheFile: a real Wolfi aarch64 cache from glibc 2.36.
    let original = fs::read(testdata().join("ld.so.cache")).unwrap();
    let cache = Cache::parse(&original).unwrap();
    assert_eq!(cache.entries.len(), 65);
    assert_eq!(
        u32::from_le_bytes(original[24..28].try_into().unwrap()),
        1421
    );
    assert_eq!(
        cache.generator.as_deref(),
        Some("ldconfig (GNU libc) stable release version 2.36")
    );
    assert!(!cache.big_endian);
    assert!(
        cache
            .entries
            .iter()
            .all(|e| e.flags == FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64)
    );
    assert_eq!(cache.entries[0].key, "libz.so.1");
    assert_eq!(cache.entries[64].path, "/lib/ld-linux-aarch64.so.1");
    // Same entries in, same bytes out: header, order, string table with
    // shared tails, extension directory.
    assert_eq!(cache.encode().unwrap(), original);

    // ldconfig's order is the one `sort_entries` produces (aarch64: `char`
    // is unsigned).
    let mut shuffled = cache.entries.clone();
    shuffled.reverse();
    shuffled.rotate_left(17);
    ldso::sort_entries(&mut shuffled, false);
    assert_eq!(shuffled, cache.entries);

    // Without generator (as apko writes it): no extension, same prefix.
    let bare = Cache {
        generator: None,
        ..cache.clone()
    }
    .encode()
    .unwrap();
    assert_eq!(bare[..32], original[..32]);
    assert_eq!(bare[32..36], [0, 0, 0, 0]);
    assert_eq!(bare[36..], original[36..bare.len()]);
    assert_eq!(Cache::parse(&bare).unwrap().entries, cache.entries);
}

#[test]
fn apko_conf_parsing() {
    let mut tree = Tree::new();
    load_dir(&mut tree, &testdata(), "");
    // Test_ParseLDSOConf_Simple and _Glob.
    assert_eq!(
        ldso::library_dirs(&tree, "ld.so.conf.simple").unwrap(),
        ["/lib"]
    );
    assert_eq!(
        ldso::library_dirs(&tree, "ld.so.conf.glob").unwrap(),
        ["/a/libs", "/b/libs"]
    );
}

#[test]
fn apko_generate_cache_file() {
    // Test_GenerateCacheFile: the directories, then 8 libraries in
    // descending order (both byte-wise and by `_dl_cache_libcmp`).
    let tree = libroot();
    let dirs = ldso::library_dirs(&tree, "etc/ld.so.conf").unwrap();
    let expected_dirs = [
        "/usr/local/lib",
        "/usr/local/lib64",
        "/lib",
        "/lib64",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/sdk-v1/lib",
        "/usr/local/sdk-v2/lib",
    ];
    assert_eq!(dirs, expected_dirs);
    let cache = ldso::build_cache(&tree, &dirs);
    assert_eq!(
        pairs(&cache.entries),
        [
            ("libsdk.so.1", "/usr/local/sdk-v1/lib/libsdk.so.1", X86_64),
            ("libsdk.so.1", "/usr/local/sdk-v2/lib/libsdk.so.1", X86_64),
            ("libsdk.so", "/usr/local/sdk-v1/lib/libsdk.so", X86_64),
            ("libsdk.so", "/usr/local/sdk-v2/lib/libsdk.so", X86_64),
            ("libnosoname.so", "/lib/libnosoname.so", X86_64),
            ("libnosoname.so", "/usr/lib/libnosoname.so", X86_64),
            ("libfoo.so.1", "/lib/libfoo.so.1", X86_64),
            ("libfoo.so.1", "/usr/lib/libfoo.so.1", X86_64),
        ]
    );
    for pair in cache.entries.windows(2) {
        assert!(pair[0].key >= pair[1].key);
        assert!(ldso::dl_cache_libcmp(&pair[0].key, &pair[1].key, true).is_ge());
    }
    let bytes = cache.encode().unwrap();
    assert_eq!(Cache::parse(&bytes).unwrap(), cache);
}

#[test]
fn generates_into_the_tree_and_glibc_reads_it() {
    let mut tree = libroot();
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    let node = tree.get("etc/ld.so.cache").unwrap();
    assert_eq!(
        (node.mode, node.mtime, node.uid, node.gid),
        (0o644, 0, 0, 0)
    );
    let bytes = tree.read_bytes("etc/ld.so.cache").unwrap().to_vec();
    let cache = Cache::parse(&bytes).unwrap();
    // `/lib` comes first and again from libc.conf: scanned once.
    let dirs = ldso::library_dirs(&tree, "etc/ld.so.conf").unwrap();
    assert_eq!(cache, ldso::build_cache(&tree, &dirs));
    assert_eq!(cache.entries.len(), 8);
    assert_eq!(cache.generator, None);
    assert_eq!(bytes[28], 2, "little-endian flag");

    // Deterministic.
    let mut again = libroot();
    ldso::generate_ld_so_cache(&mut again).unwrap();
    assert_eq!(again.read_bytes("etc/ld.so.cache").unwrap(), &bytes[..]);

    // glibc's own reader lists exactly these libraries.
    let Some(listing) = ldconfig_print(&bytes) else {
        return;
    };
    let expected: Vec<_> = cache
        .entries
        .iter()
        .map(|e| (e.key.clone(), "libc6,x86-64".to_string(), e.path.clone()))
        .collect();
    assert_eq!(listing, expected);
}

#[test]
fn same_bytes_as_glibc_ldconfig() {
    // A layout where apko's rules and ldconfig's pick the same libraries:
    // sonames as file names, `.so` links to the soname file, versioned
    // files behind soname links, a name in two directories, the same name
    // for two ABIs, digit ordering, and files both skip.
    let mut trunc = x86("libtrunc.so.1");
    trunc.truncate(60);
    // glibc before 2.37 flags an object libc6 only when it needs libc.so.6
    // (x86-64 objects always); later ones always.
    let i386 = Elf {
        needed: Some("libc.so.6".into()),
        ..Elf::lib(EM_386, Some("libtie.so.1"))
    };
    let exec = Elf {
        e_type: 2,
        ..Elf::lib(EM_X86_64, Some("libexec.so.1"))
    };
    let items = vec![
        (
            "etc/ld.so.conf",
            Item::File(b"# test\ninclude /etc/ld.so.conf.d/*.conf\n/usr/lib\n".to_vec()),
        ),
        (
            "etc/ld.so.conf.d/opt.conf",
            Item::File(b"/opt/x/lib/\n".to_vec()),
        ),
        ("usr/lib/libfoo.so.1", Item::File(x86("libfoo.so.1"))),
        ("usr/lib/libfoo.so", Item::Link("libfoo.so.1")),
        ("usr/lib/libbar.so.2.0.1", Item::File(x86("libbar.so.2"))),
        ("usr/lib/libbar.so.2", Item::Link("libbar.so.2.0.1")),
        ("usr/lib/libnosoname.so", Item::File(lib(EM_X86_64, None))),
        ("usr/lib/libz.so.1.3.1", Item::File(x86("libz.so.1"))),
        ("usr/lib/libz.so.1", Item::Link("libz.so.1.3.1")),
        ("usr/lib/libz.so", Item::Link("libz.so.1.3.1")),
        (
            "usr/lib/ld-linux-x86-64.so.2",
            Item::File(x86("ld-linux-x86-64.so.2")),
        ),
        ("usr/lib/libyaml-0.so.2", Item::File(x86("libyaml-0.so.2"))),
        (
            "usr/lib/libyaml-cpp.so.0.8",
            Item::File(x86("libyaml-cpp.so.0.8")),
        ),
        ("usr/lib/libv.so.9", Item::File(x86("libv.so.9"))),
        ("usr/lib/libv.so.10", Item::File(x86("libv.so.10"))),
        ("usr/lib/libdup.so.3", Item::File(x86("libdup.so.3"))),
        ("opt/x/lib/libdup.so.3", Item::File(x86("libdup.so.3"))),
        ("opt/x/lib/libtie.so.1", Item::File(i386.bytes())),
        ("usr/lib/libtie.so.1", Item::File(x86("libtie.so.1"))),
        (
            "usr/lib/libc.so",
            Item::File(b"GROUP ( /lib/libc.so.6 )\n".to_vec()),
        ),
        (
            "usr/lib/libjunk.so.1",
            Item::File(b"not an ELF file".to_vec()),
        ),
        ("usr/lib/libtrunc.so.1", Item::File(trunc)),
        ("usr/lib/libexec.so.1", Item::File(exec.bytes())),
        ("usr/lib/libdangling.so.1", Item::Link("nowhere.so.1")),
        ("var/cache/ldconfig/.keep", Item::File(Vec::new())),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut tree = build(items, Some(dir.path()));
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    let ours = Cache::parse(tree.read_bytes("etc/ld.so.cache").unwrap()).unwrap();
    assert_eq!(
        pairs(&ours.entries),
        [
            ("libz.so.1", "/usr/lib/libz.so.1", X86_64),
            ("libz.so", "/usr/lib/libz.so", X86_64),
            ("libyaml-0.so.2", "/usr/lib/libyaml-0.so.2", X86_64),
            ("libyaml-cpp.so.0.8", "/usr/lib/libyaml-cpp.so.0.8", X86_64),
            ("libv.so.10", "/usr/lib/libv.so.10", X86_64),
            ("libv.so.9", "/usr/lib/libv.so.9", X86_64),
            ("libtie.so.1", "/usr/lib/libtie.so.1", X86_64),
            ("libtie.so.1", "/opt/x/lib/libtie.so.1", FLAG_ELF_LIBC6),
            ("libnosoname.so", "/usr/lib/libnosoname.so", X86_64),
            ("libfoo.so.1", "/usr/lib/libfoo.so.1", X86_64),
            ("libfoo.so", "/usr/lib/libfoo.so", X86_64),
            ("libdup.so.3", "/opt/x/lib/libdup.so.3", X86_64),
            ("libdup.so.3", "/usr/lib/libdup.so.3", X86_64),
            ("libbar.so.2", "/usr/lib/libbar.so.2", X86_64),
            (
                "ld-linux-x86-64.so.2",
                "/usr/lib/ld-linux-x86-64.so.2",
                X86_64
            ),
        ]
    );

    let status = Command::new("ldconfig")
        .arg("-r")
        .arg(dir.path())
        .args([
            "-X",
            "-i",
            "-C",
            "/etc/ld.so.cache",
            "-f",
            "/etc/ld.so.conf",
        ])
        .output();
    let Ok(out) = status else { return };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let glibc_bytes = fs::read(dir.path().join("etc/ld.so.cache")).unwrap();
    let glibc = Cache::parse(&glibc_bytes).unwrap();
    assert_eq!(glibc.entries, ours.entries);
    // With ldconfig's generator string, our bytes are ldconfig's.
    let with_generator = Cache {
        generator: glibc.generator.clone(),
        ..ours
    };
    assert_eq!(with_generator.encode().unwrap(), glibc_bytes);
}

#[test]
fn no_conf_no_cache_and_empty_conf() {
    let mut tree = build(
        vec![("usr/lib/libfoo.so.1", Item::File(x86("libfoo.so.1")))],
        None,
    );
    assert!(!ldso::generate_ld_so_cache(&mut tree).unwrap());
    assert!(tree.get("etc/ld.so.cache").is_none());

    // apko's pkg/build TestLdsoCache: an empty ld.so.conf still gives a
    // cache (for `/lib`).
    tree.insert(
        "lib",
        Node::new(NodeKind::Symlink("usr/lib".into()), 0o777, 0),
    );
    tree.write_file("etc/ld.so.conf", Vec::new(), 0o644, 0)
        .unwrap();
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    let cache = Cache::parse(tree.read_bytes("etc/ld.so.cache").unwrap()).unwrap();
    assert_eq!(
        pairs(&cache.entries),
        [("libfoo.so.1", "/lib/libfoo.so.1", X86_64)]
    );
    assert_eq!(tree.get("etc/ld.so.cache").unwrap().mode, 0o644);

    // No libraries at all: a valid, empty cache.
    let mut empty = build(
        vec![("etc/ld.so.conf", Item::File(b"/nowhere\n".to_vec()))],
        None,
    );
    assert!(ldso::generate_ld_so_cache(&mut empty).unwrap());
    let bytes = empty.read_bytes("etc/ld.so.cache").unwrap().to_vec();
    assert_eq!(bytes.len(), 48);
    assert_eq!(Cache::parse(&bytes).unwrap().entries, []);
    if let Some(listing) = ldconfig_print(&bytes) {
        assert_eq!(listing, []);
    }
}

#[test]
fn conf_syntax_follows_ldconfig() {
    let items = vec![
        (
            "etc/ld.so.conf",
            Item::File(
                b"  /usr/lib//  # comment\ninclude ld.so.conf.d/*.conf /etc/extra.conf\nhwcap 1 x\n\
                  /opt/a=libc6 \n/\n/usr/lib\n/opt/late\r\n"
                    .to_vec(),
            ),
        ),
        ("etc/ld.so.conf.d/b.conf", Item::File(b"/b\ninclude nested/*.conf\n".to_vec())),
        ("etc/ld.so.conf.d/a.conf", Item::File(b"/a\n".to_vec())),
        ("etc/ld.so.conf.d/.hidden.conf", Item::File(b"/hidden\n".to_vec())),
        ("etc/ld.so.conf.d/c.conf.off", Item::File(b"/off\n".to_vec())),
        ("etc/ld.so.conf.d/nested/n.conf", Item::File(b"/n\n".to_vec())),
        ("etc/ld.so.conf.d/link.conf", Item::Link("../extra.conf")),
        ("etc/extra.conf", Item::File(b"/extra\n".to_vec())),
        // Cycles: a file including itself and its includer.
        ("etc/ld.so.conf.d/self.conf", Item::File(b"include *.conf\ninclude /etc/ld.so.conf\n/self\n".to_vec())),
        ("etc/ld.so.conf.d/z", Item::Link("z")),
    ];
    let tree = build(items, None);
    assert_eq!(
        ldso::library_dirs(&tree, "etc/ld.so.conf").unwrap(),
        [
            "/usr/lib",
            "/a",
            "/b",
            "/n",
            "/extra",
            "/self",
            "/opt/a",
            "/opt/late"
        ]
    );
}

#[test]
fn malformed_inputs_are_skipped() {
    let good = x86("libgood.so.1");
    let mut items = vec![
        (
            "etc/ld.so.conf",
            Item::File(b"/usr/lib\n/loop\n/usr/lib/libgood.so.1\n/up/lib\n".to_vec()),
        ),
        ("usr/lib/libgood.so.1", Item::File(good.clone())),
        ("usr/lib/libloop.so.1", Item::Link("libloop.so.1")),
        ("usr/lib/libping.so.1", Item::Link("libpong.so.1")),
        ("usr/lib/libpong.so.1", Item::Link("/usr/lib/libping.so.1")),
        ("usr/lib/libdir.so.1", Item::Link(".")),
        (
            "usr/lib/libescape.so.1",
            Item::Link("../../../../libgood.so.1"),
        ),
        (
            "usr/lib/libwrongname.so.5",
            Item::File(x86("libother.so.5")),
        ),
        (
            "usr/lib/libmips.so.1",
            Item::File(lib(EM_MIPS, Some("libmips.so.1"))),
        ),
        ("usr/lib/libbadsoname.so.1", Item::File(x86("notalib.so.1"))),
        ("usr/lib/libempty.so.1", Item::File(Vec::new())),
        ("loop", Item::Link("loop")),
        ("up", Item::Link("..")),
    ];
    // Every truncation of a valid object, and garbage in its headers (each
    // object's soname is its file name, so only reading can reject it).
    let mut garbage = Vec::new();
    for len in 0..good.len() {
        let name = format!("libcut{len}.so.1");
        garbage.push((format!("usr/lib/{name}"), x86(&name)[..len].to_vec()));
    }
    for at in (16..good.len()).step_by(3) {
        let name = format!("libflip{at:03}.so.1");
        let mut bytes = x86(&name);
        let end = (at + 4).min(bytes.len());
        bytes[at] = 0xff;
        bytes[at + 1..end].fill(0x7f);
        garbage.push((format!("usr/lib/{name}"), bytes));
    }
    let mut tree = build(std::mem::take(&mut items), None);
    for (path, bytes) in garbage {
        tree.write_file(&path, bytes, 0o755, 0).unwrap();
    }
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    let cache = Cache::parse(tree.read_bytes("etc/ld.so.cache").unwrap()).unwrap();
    let keys: BTreeSet<&str> = cache.entries.iter().map(|e| e.key.as_str()).collect();
    // Flipped bytes may leave a valid object (e.g. in padding); only
    // sane entries may come out, never a panic.
    assert!(keys.contains("libgood.so.1"));
    for e in &cache.entries {
        assert!(
            e.key == "libgood.so.1" || e.key.starts_with("libflip"),
            "{e:?}"
        );
        assert_eq!(e.path, format!("/usr/lib/{}", e.key));
    }

    // A truncated or corrupt cache is an error, never a panic.
    let bytes = tree.read_bytes("etc/ld.so.cache").unwrap().to_vec();
    for len in 0..bytes.len() {
        let _ = Cache::parse(&bytes[..len]);
    }
    let mut bad = bytes.clone();
    bad[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Cache::parse(&bad), Err(LdsoError::Malformed(_))));

    // A conf that is a directory is an error; so is a directory where the
    // cache goes.
    let mut dir_conf = build(vec![("etc/ld.so.conf/x", Item::File(Vec::new()))], None);
    assert!(matches!(
        ldso::generate_ld_so_cache(&mut dir_conf),
        Err(LdsoError::Unreadable(_))
    ));
    let mut dir_cache = build(
        vec![
            ("etc/ld.so.conf", Item::File(Vec::new())),
            ("etc/ld.so.cache/x", Item::File(Vec::new())),
        ],
        None,
    );
    assert!(matches!(
        ldso::generate_ld_so_cache(&mut dir_cache),
        Err(LdsoError::IsDirectory(_))
    ));
}

#[test]
fn machines_byte_order_and_symlinked_etc() {
    let s390 = Elf {
        big_endian: true,
        ..Elf::lib(EM_S390, Some("libs390.so.1"))
    };
    let armhf = Elf {
        e_flags: 0x0500_0400,
        ..Elf::lib(EM_ARM, Some("libarm.so.1"))
    };
    let riscv = Elf {
        e_flags: 0x5,
        ..Elf::lib(EM_RISCV, Some("librv.so.1"))
    };
    let riscv_quad = Elf {
        e_flags: 0x6,
        ..Elf::lib(EM_RISCV, Some("librvq.so.1"))
    };
    let items = vec![
        ("real-etc/ld.so.conf", Item::File(b"/usr/lib\n".to_vec())),
        ("etc", Item::Link("real-etc")),
        ("usr/lib/libs390.so.1", Item::File(s390.bytes())),
        ("usr/lib/libarm.so.1", Item::File(armhf.bytes())),
        ("usr/lib/librv.so.1", Item::File(riscv.bytes())),
        ("usr/lib/librvq.so.1", Item::File(riscv_quad.bytes())),
        (
            "usr/lib/libarm64.so.1",
            Item::File(lib(EM_AARCH64, Some("libarm64.so.1"))),
        ),
    ];
    let mut tree = build(items, None);
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    assert!(tree.get("etc/ld.so.cache").is_none());
    let bytes = tree.read_bytes("real-etc/ld.so.cache").unwrap();
    let cache = Cache::parse(bytes).unwrap();
    assert!(!cache.big_endian);
    assert_eq!(
        pairs(&cache.entries),
        [
            (
                "libs390.so.1",
                "/usr/lib/libs390.so.1",
                FLAG_ELF_LIBC6 | FLAG_S390_LIB64
            ),
            (
                "librv.so.1",
                "/usr/lib/librv.so.1",
                FLAG_ELF_LIBC6 | FLAG_RISCV_FLOAT_ABI_DOUBLE
            ),
            (
                "libarm64.so.1",
                "/usr/lib/libarm64.so.1",
                FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64
            ),
            (
                "libarm.so.1",
                "/usr/lib/libarm.so.1",
                FLAG_ELF_LIBC6 | FLAG_ARM_LIBHF
            ),
        ]
    );

    // An s390x image: big-endian cache.
    let mut be = build(
        vec![
            ("etc/ld.so.conf", Item::File(Vec::new())),
            ("lib/libs390.so.1", Item::File(s390.bytes())),
        ],
        None,
    );
    ldso::generate_ld_so_cache(&mut be).unwrap();
    let bytes = be.read_bytes("etc/ld.so.cache").unwrap();
    assert_eq!(bytes[28], 3, "big-endian flag");
    assert_eq!(bytes[20..24], [0, 0, 0, 1]);
    let cache = Cache::parse(bytes).unwrap();
    assert!(cache.big_endian);
    assert_eq!(
        pairs(&cache.entries),
        [(
            "libs390.so.1",
            "/lib/libs390.so.1",
            FLAG_ELF_LIBC6 | FLAG_S390_LIB64
        )]
    );
}

#[test]
fn reads_libraries_from_data_tars_and_hardlinks() {
    // Package contents stay in the data tar, referenced by offset.
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("data.tar");
    let elf = x86("libtar.so.1");
    let mut data = vec![0xaa; 1000];
    data.extend_from_slice(&elf);
    data.extend_from_slice(&[0xbb; 1000]);
    fs::write(&tar, &data).unwrap();
    let mut tree = build(
        vec![("etc/ld.so.conf", Item::File(b"/usr/lib\n".to_vec()))],
        None,
    );
    tree.sources.push(tar);
    tree.mkdir_all("usr/lib", 0o755, 0).unwrap();
    let content = Content::Source {
        source: 0,
        offset: 1000,
        size: elf.len() as u64,
    };
    tree.insert(
        "usr/lib/libtar.so.1",
        Node::new(NodeKind::File(content), 0o755, 0),
    );
    tree.insert(
        "usr/lib/libhard.so.7",
        Node::new(
            NodeKind::Hardlink("usr/lib/libhard.so.7.0".into()),
            0o755,
            0,
        ),
    );
    let hard = Content::Bytes(Arc::new(x86("libhard.so.7")));
    tree.insert(
        "usr/lib/libhard.so.7.0",
        Node::new(NodeKind::File(hard), 0o755, 0),
    );
    // A reference past the end of its tar is skipped.
    let past = Content::Source {
        source: 0,
        offset: 1500,
        size: elf.len() as u64 + 1000,
    };
    tree.insert(
        "usr/lib/libpast.so.1",
        Node::new(NodeKind::File(past), 0o755, 0),
    );
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    let cache = Cache::parse(tree.read_bytes("etc/ld.so.cache").unwrap()).unwrap();
    assert_eq!(
        pairs(&cache.entries),
        [
            ("libtar.so.1", "/usr/lib/libtar.so.1", X86_64),
            ("libhard.so.7", "/usr/lib/libhard.so.7", X86_64),
        ]
    );
}

#[test]
fn libcmp_is_glibcs() {
    use std::cmp::Ordering::*;
    let cmp = |a, b| ldso::dl_cache_libcmp(a, b, false);
    // apko's Test_dlCacheLibcmp_DigitVsNonDigit, then glibc's details.
    assert_eq!(cmp("libyaml-0.so.2", "libyaml-cpp.so.0.8"), Greater);
    assert_eq!(cmp("libyaml-cpp.so.0.8", "libyaml-0.so.2"), Less);
    assert_eq!(cmp("libfoo.so.9", "libfoo.so.10"), Less);
    assert_eq!(cmp("libfoo.so.13", "libfoo.so.13"), Equal);
    assert_eq!(cmp("libfoo.so.1", "libfoo.so"), Greater);
    assert_eq!(cmp("libc.so.6", "libc_malloc_debug.so.0"), Less);
    assert_eq!(cmp("lib01.so", "lib1.so"), Equal);
    // Bytes above 0x7f sort below everything where `char` is signed.
    assert_eq!(cmp("libé.so", "libz.so"), Greater);
    assert_eq!(ldso::dl_cache_libcmp("libé.so", "libz.so", true), Less);
    assert_eq!(ldso::dl_cache_libcmp("libé", "lib", true), Less);
    // Digit runs overflowing a C int wrap (as in C) instead of panicking,
    // and the order stays consistent.
    let (big, small) = ("lib99999999999999999999", "lib1");
    assert_eq!(cmp(big, small), cmp(small, big).reverse());
}

#[test]
fn glob_and_name_rules() {
    let items = vec![
        (
            "etc/ld.so.conf",
            Item::File(
                b"include /etc/d/[a-b]?.conf /etc/d/[!a-b]*.c\\onf /etc/d/*/x.conf\n".to_vec(),
            ),
        ),
        ("etc/d/a1.conf", Item::File(b"/a1\n".to_vec())),
        ("etc/d/b2.conf", Item::File(b"/b2\n".to_vec())),
        ("etc/d/c3.conf", Item::File(b"/c3\n".to_vec())),
        ("etc/d/a10.conf", Item::File(b"/a10\n".to_vec())),
        ("etc/d/sub/x.conf", Item::File(b"/usr/lib\n".to_vec())),
        ("etc/d/sub2", Item::Link("sub")),
        // apko's ParseLibFilename: `lib*`/`ld-*`, then `.so` or `.so.*`.
        ("usr/lib/libso.so.so.7", Item::File(x86("libso.so.so.7"))),
        ("usr/lib/libso.so.so", Item::Link("libso.so.so.7")),
        ("usr/lib/libhang.so.", Item::File(x86("libhang.so."))),
        ("usr/lib/lib.so", Item::File(lib(EM_X86_64, None))),
        ("usr/lib/foo.so.1", Item::File(x86("foo.so.1"))),
        ("usr/lib/libfoo.no.1", Item::File(x86("libfoo.no.1"))),
        ("usr/lib/libnosoname.so.1", Item::File(lib(EM_X86_64, None))),
        ("usr/lib/libsolo.so.1.2.3", Item::File(x86("libsolo.so.1"))),
    ];
    let mut tree = build(items, None);
    assert_eq!(
        ldso::library_dirs(&tree, "/etc/ld.so.conf").unwrap(),
        ["/a1", "/b2", "/c3", "/usr/lib"]
    );
    ldso::generate_ld_so_cache(&mut tree).unwrap();
    let cache = Cache::parse(tree.read_bytes("etc/ld.so.cache").unwrap()).unwrap();
    assert_eq!(
        pairs(&cache.entries),
        [
            ("libso.so.so.7", "/usr/lib/libso.so.so.7", X86_64),
            ("libso.so.so", "/usr/lib/libso.so.so", X86_64),
            ("libhang.so.", "/usr/lib/libhang.so.", X86_64),
            ("lib.so", "/usr/lib/lib.so", X86_64),
        ]
    );
}

#[test]
fn real_wolfi_package() {
    // Real aarch64 objects (section headers, GNU notes, versioned names
    // behind soname links) from Wolfi's libcap package.
    let apk = testsupport::fixtures().join("wolfi/apks/libcap-2.69-r0.apk");
    let gz = flate2::read::MultiGzDecoder::new(fs::File::open(apk).unwrap());
    let mut tree = Tree::new();
    for entry in tar::Archive::new(gz).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry
            .path()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        if path.starts_with('.') {
            continue;
        }
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        tree.mkdir_all(parent, 0o755, 0).unwrap();
        match entry.header().entry_type() {
            tar::EntryType::Directory => tree.mkdir_all(&path, 0o755, 0).unwrap(),
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                tree.insert(&path, Node::new(NodeKind::Symlink(target), 0o777, 0));
            }
            _ => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
                tree.write_file(&path, bytes, 0o755, 0).unwrap();
            }
        }
    }
    tree.write_file("etc/ld.so.conf", b"/usr/lib\n".to_vec(), 0o644, 0)
        .unwrap();
    assert!(ldso::generate_ld_so_cache(&mut tree).unwrap());
    let bytes = tree.read_bytes("etc/ld.so.cache").unwrap().to_vec();
    let cache = Cache::parse(&bytes).unwrap();
    let aarch64 = FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64;
    assert_eq!(
        pairs(&cache.entries),
        [
            ("libpsx.so.2", "/usr/lib/libpsx.so.2", aarch64),
            ("libcap.so.2", "/usr/lib/libcap.so.2", aarch64),
        ]
    );
    if let Some(listing) = ldconfig_print(&bytes) {
        assert_eq!(
            listing[0],
            (
                "libpsx.so.2".into(),
                "libc6,AArch64".into(),
                "/usr/lib/libpsx.so.2".into()
            )
        );
    }
}
