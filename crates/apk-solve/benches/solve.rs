//! Resolution benchmarks on the Alpine 3.19 snapshot (main + community,
//! 23,030 packages) with a ~190-package service-image world.
//! Run with `cargo bench -p apk-solve`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use apk_format::Dependency;
use apk_format::index_archive::{read_index_archive, read_index_archive_text};
use apk_solve::{Repository, Solver, resolve};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORLD: &str = include_str!("../tests/data/big-world.txt");

fn main() {
    divan::main();
}

fn fixtures() -> PathBuf {
    std::env::var_os("APKFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

fn snapshot_path(repo: &str) -> PathBuf {
    fixtures().join(format!(
        "alpine-3.19-snapshot/{repo}/x86_64/APKINDEX.tar.gz"
    ))
}

/// Both indexes kept as checked text, as image builds read them.
fn load_snapshot_text() -> Vec<Repository> {
    ["main", "community"]
        .iter()
        .map(|r| {
            let file = File::open(snapshot_path(r)).unwrap();
            Repository::new(
                *r,
                read_index_archive_text(BufReader::new(file)).unwrap().index,
            )
        })
        .collect()
}

/// Both indexes parsed into records.
fn load_snapshot() -> Vec<Repository> {
    ["main", "community"]
        .iter()
        .map(|r| {
            let file = File::open(snapshot_path(r)).unwrap();
            let archive = read_index_archive(BufReader::new(file)).unwrap();
            Repository::new(
                *r,
                archive
                    .entries
                    .into_iter()
                    .map(|e| e.package)
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

fn world() -> Vec<Dependency> {
    Dependency::parse_list(WORLD).unwrap()
}

/// Loading both index archives from disk (gunzip, untar, hash, check),
/// indexing them and resolving the world: what an image build pays.
#[divan::bench(sample_count = 20)]
fn load_and_resolve() -> usize {
    let repos = load_snapshot_text();
    let w = world();
    resolve(&repos, &w).unwrap().packages.len()
}

/// The same with every record parsed up front.
#[divan::bench(sample_count = 20)]
fn load_records_and_resolve() -> usize {
    let repos = load_snapshot();
    let w = world();
    resolve(&repos, &w).unwrap().packages.len()
}

/// Indexing + resolving, indexes already read.
#[divan::bench(sample_count = 50)]
fn resolve_only(bencher: divan::Bencher) {
    let repos = load_snapshot_text();
    let w = world();
    bencher.bench(|| resolve(&repos, &w).unwrap().packages.len());
}

/// Building the name/provides index alone.
#[divan::bench(sample_count = 50)]
fn index_only(bencher: divan::Bencher) {
    let repos = load_snapshot_text();
    bencher.bench(|| Solver::new(&repos));
}

/// Resolving with an index built beforehand.
#[divan::bench(sample_count = 50)]
fn resolve_prebuilt_index(bencher: divan::Bencher) {
    let repos = load_snapshot_text();
    let w = world();
    let solver = Solver::new(&repos);
    bencher.bench(|| solver.resolve(&w).unwrap().packages.len());
}
