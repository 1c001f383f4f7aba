//! apk v3 index parsing next to APKINDEX parsing, on the same packages:
//! the 23,030 entries of the Alpine 3.19 main + community snapshot, written
//! as a `Packages.adb` the way `apk mkndx` writes an index over v2
//! packages. Run with `cargo bench -p apk-format --bench v3`; results are
//! in docs/BENCHMARKS.md.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use apk_format::adb::compress::Encoder;
use apk_format::adb::container::Compression;
use apk_format::adb::index::{IndexWriter, read_index, write_adb_file};
use apk_format::adb::schema;
use apk_format::index::{IndexEntry, parse_index};
use apk_format::index_archive::read_index_archive;
use apk_format::pkginfo::PkgInfo;
use apk_format::record::decode_q1;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn fixtures() -> PathBuf {
    std::env::var_os("APKFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

fn snapshot_entries() -> Vec<IndexEntry> {
    let fx = fixtures();
    let mut all = Vec::new();
    for repo in ["main", "community"] {
        let p = fx.join(format!(
            "alpine-3.19-snapshot/{repo}/x86_64/APKINDEX.tar.gz"
        ));
        all.extend(
            read_index_archive(BufReader::new(File::open(p).unwrap()))
                .unwrap()
                .entries,
        );
    }
    assert_eq!(all.len(), 23_030);
    all
}

/// `.PKGINFO` of an index entry, with `install_if` on one line as abuild
/// writes it (apk-tools refuses the key twice).
fn pkginfo(e: &IndexEntry) -> PkgInfo {
    use apk_format::pkginfo::PkgInfoLine;
    let mut p = PkgInfo::from_record(&e.package, None);
    p.lines
        .retain(|l| !matches!(l, PkgInfoLine::Field { key, .. } if key == "install_if"));
    if !e.package.install_if.is_empty() {
        p.push(
            "install_if",
            apk_format::dependency::join(&e.package.install_if),
        );
    }
    p
}

/// The snapshot's packages as one `Packages.adb` (uncompressed, deflate).
fn snapshot_adb() -> (Vec<u8>, Vec<u8>) {
    let mut w = IndexWriter::new();
    for e in snapshot_entries() {
        let info = pkginfo(&e);
        let sha1 = e.package.checksum.as_deref().and_then(decode_q1).unwrap();
        // apk-tools 3 refuses the few invalid versions of the snapshot.
        let _ = w.add_v2(&info, &sha1, e.package.file_size.unwrap_or(0));
    }
    assert!(w.len() > 23_000, "{}", w.len());
    let adb = w.finish(Some("snapshot"), None);
    let mut plain = Vec::new();
    write_adb_file(&mut plain, schema::INDEX, &adb, &[]).unwrap();
    let mut enc = Encoder::new(Vec::new(), Compression::Deflate).unwrap();
    write_adb_file(&mut enc, schema::INDEX, &adb, &[]).unwrap();
    (plain, enc.finish().unwrap())
}

fn index_texts() -> Vec<String> {
    let fx = fixtures();
    ["main", "community"]
        .iter()
        .map(|repo| {
            let p = fx.join(format!(
                "alpine-3.19-snapshot/{repo}/x86_64/APKINDEX.tar.gz"
            ));
            let mut gz = flate2::read::MultiGzDecoder::new(File::open(p).unwrap());
            let mut raw = Vec::new();
            gz.read_to_end(&mut raw).unwrap();
            let mut ar = tar::Archive::new(&raw[..]);
            let mut text = String::new();
            for e in ar.entries().unwrap() {
                let mut e = e.unwrap();
                if e.path().unwrap().to_str() == Some("APKINDEX") {
                    e.read_to_string(&mut text).unwrap();
                }
            }
            text
        })
        .collect()
}

/// APKINDEX: parse the text of both indexes (no gunzip).
#[divan::bench(sample_count = 20)]
fn apkindex_parse_text(bencher: divan::Bencher) {
    let texts = index_texts();
    bencher.bench(|| {
        let n: usize = texts.iter().map(|t| parse_index(t).unwrap().len()).sum();
        assert_eq!(n, 23_030);
    });
}

/// Packages.adb: parse the uncompressed index into the same entries.
#[divan::bench(sample_count = 20)]
fn packages_adb_parse_uncompressed(bencher: divan::Bencher) {
    let (plain, _) = snapshot_adb();
    bencher.bench(|| {
        let idx = read_index(&plain[..]).unwrap();
        assert!(idx.entries().len() > 23_000);
    });
}

/// Packages.adb as served (`ADBd`): inflate and parse into entries.
#[divan::bench(sample_count = 20)]
fn packages_adb_load_deflated(bencher: divan::Bencher) {
    let (_, deflated) = snapshot_adb();
    bencher.bench(|| {
        let idx = read_index(&deflated[..]).unwrap();
        assert!(idx.entries().len() > 23_000);
    });
}

/// APKINDEX.tar.gz as served: gunzip, untar, hash, parse.
#[divan::bench(sample_count = 20)]
fn apkindex_load_archives(bencher: divan::Bencher) {
    let fx = fixtures();
    let paths: Vec<PathBuf> = ["main", "community"]
        .iter()
        .map(|r| fx.join(format!("alpine-3.19-snapshot/{r}/x86_64/APKINDEX.tar.gz")))
        .collect();
    bencher.bench(|| {
        let n: usize = paths
            .iter()
            .map(|p| {
                read_index_archive(BufReader::new(File::open(p).unwrap()))
                    .unwrap()
                    .entries
                    .len()
            })
            .sum();
        assert_eq!(n, 23_030);
    });
}

/// Writing the 23,030-entry Packages.adb (as `apk mkndx` over v2 packages).
#[divan::bench(sample_count = 10)]
fn packages_adb_write(bencher: divan::Bencher) {
    let entries = snapshot_entries();
    let infos: Vec<(PkgInfo, [u8; 20], u64)> = entries
        .iter()
        .map(|e| {
            (
                pkginfo(e),
                e.package.checksum.as_deref().and_then(decode_q1).unwrap(),
                e.package.file_size.unwrap_or(0),
            )
        })
        .collect();
    bencher.bench(|| {
        let mut w = IndexWriter::new();
        for (info, sha1, size) in &infos {
            let _ = w.add_v2(info, sha1, *size);
        }
        w.finish(None, None).bytes().len()
    });
}
