//! Benchmarks on the real fixtures: index parsing and package verification.
//! Run with `cargo bench -p apk-format`; results are in docs/BENCHMARKS.md.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use apk_format::index::parse_index;
use apk_format::index_archive::read_index_archive;
use apk_format::package_read::PackageReader;
use apk_format::signing::{Keyring, PublicKey};

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

fn snapshot_paths() -> [PathBuf; 2] {
    let fx = fixtures();
    [
        fx.join("alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz"),
        fx.join("alpine-3.19-snapshot/community/x86_64/APKINDEX.tar.gz"),
    ]
}

fn index_text(path: &Path) -> String {
    let mut gz = flate2::read::MultiGzDecoder::new(File::open(path).unwrap());
    let mut raw = Vec::new();
    gz.read_to_end(&mut raw).unwrap();
    let mut ar = tar::Archive::new(&raw[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("APKINDEX") {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            return s;
        }
    }
    panic!("no APKINDEX in {}", path.display());
}

/// Parsing the 23,030-entry APKINDEX text (main + community), no gunzip.
#[divan::bench(sample_count = 20)]
fn parse_snapshot_index_text(bencher: divan::Bencher) {
    let texts: Vec<String> = snapshot_paths().iter().map(|p| index_text(p)).collect();
    bencher.bench(|| {
        let n: usize = texts.iter().map(|t| parse_index(t).unwrap().len()).sum();
        assert_eq!(n, 23_030);
    });
}

/// Loading both snapshot APKINDEX.tar.gz files from disk: gunzip, untar,
/// hash the signed bytes, parse.
#[divan::bench(sample_count = 20)]
fn load_snapshot_index_archives(bencher: divan::Bencher) {
    let paths = snapshot_paths();
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

/// Full verification of the 100 alpine-3.19 packages (signature, datahash,
/// every file's SHA-1), streaming from disk.
#[divan::bench(sample_count = 10)]
fn verify_alpine_319_packages(bencher: divan::Bencher) {
    let fx = fixtures();
    let mut ring = Keyring::new();
    for e in std::fs::read_dir(fx.join("alpine-keys")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".rsa.pub") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            ring.add(PublicKey::from_pem(name, &std::fs::read(&p).unwrap()).unwrap());
        }
    }
    let mut apks: Vec<PathBuf> = std::fs::read_dir(fx.join("alpine-3.19/x86_64"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "apk"))
        .collect();
    apks.sort();
    assert_eq!(apks.len(), 100);
    bencher.bench(|| {
        for apk in &apks {
            let pkg = PackageReader::new(BufReader::new(File::open(apk).unwrap())).unwrap();
            assert!(pkg.verify_signature(&ring).is_valid());
            let want = pkg.record.datahash.clone().unwrap();
            let report = pkg.read_data(|_, _| Ok(())).unwrap();
            assert_eq!(hex::encode(report.datahash), want);
            assert!(report.checksum_mismatches.is_empty());
        }
    });
}
