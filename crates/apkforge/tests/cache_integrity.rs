//! Damaged cache entries never change an image: expanded data sections and
//! downloaded packages are checked when used, rebuilt or fetched again with
//! a warning, and the next image is byte-identical to a clean build.

mod common;

use common::{apkforge, ok};

use std::fs;
use std::path::{Path, PathBuf};

use testsupport::{FileServer, ServerOptions, fixtures};

const PACKAGES: &[&str] = &["alpine-baselayout", "busybox", "musl-utils"];

fn config(server: &FileServer) -> String {
    let pkgs: String = PACKAGES.iter().map(|p| format!("    - {p}\n")).collect();
    format!(
        "contents:\n  keyring:\n    - {url}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n  repositories:\n    - {url}/alpine-3.19\n  packages:\n{pkgs}archs:\n  - x86_64\n",
        url = server.url
    )
}

/// Builds `out` with the shared cache; returns stderr.
fn build(d: &Path, out: &str) -> String {
    let o = apkforge(
        &[
            "image",
            "build",
            "apko.yaml",
            "t:1",
            out,
            "--cache-dir",
            "cache",
        ],
        d,
    );
    ok(&o);
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Offset of the first regular file's header in a plain tar.
fn first_file_header(tar: &[u8]) -> Option<usize> {
    let mut off = 0;
    while off + 512 <= tar.len() {
        let h = &tar[off..off + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = usize::from_str_radix(
            std::str::from_utf8(&h[124..135])
                .unwrap()
                .trim_matches('\0')
                .trim(),
            8,
        )
        .unwrap_or(0);
        if h[156] == b'0' && size > 0 {
            return Some(off);
        }
        off += 512 + size.div_ceil(512) * 512;
    }
    None
}

/// Sets a header's mode to setuid 04755 and fixes its checksum, so tar
/// readers accept the edit.
fn make_setuid(tar: &mut [u8], off: usize) {
    let h = &mut tar[off..off + 512];
    h[100..108].copy_from_slice(b"0004755\0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// Byte ranges of the gzip members of an .apk, in order.
fn gzip_members(apk: &[u8]) -> Vec<(usize, usize)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut start = 0;
    while start < apk.len() {
        let mut dec = flate2::bufread::GzDecoder::new(&apk[start..]);
        std::io::copy(&mut dec, &mut std::io::sink()).unwrap();
        let mut rest = Vec::new();
        dec.into_inner().read_to_end(&mut rest).unwrap();
        let end = apk.len() - rest.len();
        out.push((start, end));
        start = end;
    }
    out
}

#[test]
fn damaged_cache_entries_are_rebuilt_with_a_warning() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("apko.yaml"), config(&server)).unwrap();
    let clean = build(d, "clean.tar");
    assert!(!clean.contains("warning"), "{clean}");
    let data = d.join("cache/data-v2");
    let tars = sorted_files(&data, "tar");
    for t in &tars {
        let sum = fs::read_to_string(format!("{}.sum", t.display())).unwrap();
        assert!(sum.starts_with("apkforge-data-v2 "), "{sum}");
    }
    // Entries holding a regular file, with that file's header offset.
    let with_files: Vec<(&PathBuf, Vec<u8>, usize)> = tars
        .iter()
        .filter_map(|t| {
            let bytes = fs::read(t).unwrap();
            first_file_header(&bytes).map(|off| (t, bytes, off))
        })
        .collect();
    assert!(with_files.len() >= 3, "{tars:?}");

    // Emptied, cut at an entry boundary, a header edited to setuid.
    fs::write(with_files[0].0, b"").unwrap();
    let (path, bytes, off) = &with_files[1];
    fs::write(path, &bytes[..*off]).unwrap();
    let (path, bytes, off) = &with_files[2];
    let mut edited = bytes.clone();
    make_setuid(&mut edited, *off);
    fs::write(path, &edited).unwrap();

    let repaired = build(d, "repaired.tar");
    common::assert_same_file(&d.join("clean.tar"), &d.join("repaired.tar"));
    assert_eq!(
        repaired.matches("warning: cache entry").count(),
        3,
        "{repaired}"
    );
    for why in [
        "it is 0 bytes",
        "were written",
        "does not match the SHA-256 recorded",
    ] {
        assert!(repaired.contains(why), "{why}: {repaired}");
    }
    // The entries are whole again: the next build is silent.
    let again = build(d, "again.tar");
    assert!(!again.contains("warning"), "{again}");

    // A cached package whose data section was edited (and whose expanded
    // data is gone) is downloaded again, not used and not a dead end.
    let apks = sorted_files(&d.join("cache/apk-v1"), "apk");
    let busybox = apks
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("busybox-1.")
        })
        .unwrap();
    let mut bytes = fs::read(busybox).unwrap();
    let members = gzip_members(&bytes);
    let (data_start, data_end) = *members.last().unwrap();
    let mid = (data_start + data_end) / 2;
    bytes[mid] ^= 0xff;
    fs::write(busybox, &bytes).unwrap();
    for t in sorted_files(&data, "tar") {
        fs::remove_file(t).unwrap();
    }
    let gets = |s: &FileServer| {
        s.log()
            .iter()
            .filter(|l| l.contains("/busybox-1.") && l.ends_with(" 200"))
            .count()
    };
    assert_eq!(gets(&server), 1);
    let refetched = build(d, "refetched.tar");
    common::assert_same_file(&d.join("clean.tar"), &d.join("refetched.tar"));
    assert_eq!(gets(&server), 2, "{:?}", server.log());
    assert!(
        refetched.contains("warning: cached package") && refetched.contains("busybox"),
        "{refetched}"
    );

    // A cached package with a damaged control section: fetched again too.
    let mut bytes = fs::read(busybox).unwrap();
    let (ctl_start, ctl_end) = gzip_members(&bytes)[1];
    bytes[(ctl_start + ctl_end) / 2] ^= 0xff;
    fs::write(busybox, &bytes).unwrap();
    let refetched = build(d, "refetched2.tar");
    common::assert_same_file(&d.join("clean.tar"), &d.join("refetched2.tar"));
    assert_eq!(gets(&server), 3);
    assert!(refetched.contains("warning: cached package"), "{refetched}");
}
