//! Helpers shared by the integration tests: fixture loading and small
//! repositories written as APKINDEX text.
#![allow(dead_code)]

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use apk_format::Dependency;
use apk_format::index::parse_index;
use apk_format::index_archive::{read_index_archive, read_index_archive_text};
use apk_format::index_text::IndexText;
use apk_solve::{Packages, Repository, Resolution};

/// The shared fixtures directory.
pub fn fixtures() -> PathBuf {
    std::env::var_os("APKFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

/// Reads an `APKINDEX.tar.gz` below the fixtures into a repository named
/// after its path.
pub fn load(relative: &str) -> Repository {
    let path = fixtures().join(relative);
    let archive = read_index_archive(BufReader::new(File::open(&path).unwrap()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = relative.trim_end_matches("/APKINDEX.tar.gz").to_string();
    Repository::new(
        name,
        archive
            .entries
            .into_iter()
            .map(|e| e.package)
            .collect::<Vec<_>>(),
    )
}

/// A repository from APKINDEX text (leading whitespace of lines ignored),
/// read as image builds read indexes: kept as checked text.
pub fn repo(name: &str, text: &str) -> Repository {
    Repository::new(name, index_text(text))
}

/// A repository pinned to `tag`, from APKINDEX text.
pub fn pinned(name: &str, tag: &str, text: &str) -> Repository {
    Repository::pinned(name, tag, index_text(text))
}

fn trimmed(text: &str) -> String {
    text.lines().map(|l| format!("{}\n", l.trim())).collect()
}

fn index_text(text: &str) -> Packages {
    Packages::Index(IndexText::parse(trimmed(text)).unwrap())
}

/// A repository from APKINDEX text, as parsed records.
pub fn repo_records(name: &str, text: &str) -> Repository {
    let records = parse_index(&trimmed(text))
        .unwrap()
        .into_iter()
        .map(|e| e.package)
        .collect::<Vec<_>>();
    Repository::new(name, records)
}

/// Reads an `APKINDEX.tar.gz` below the fixtures as checked text.
pub fn load_text(relative: &str) -> Repository {
    let path = fixtures().join(relative);
    let archive = read_index_archive_text(BufReader::new(File::open(&path).unwrap()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = relative.trim_end_matches("/APKINDEX.tar.gz").to_string();
    Repository::new(name, archive.index)
}

/// World atoms from a space-separated list.
pub fn world(list: &str) -> Vec<Dependency> {
    Dependency::parse_list(list).unwrap()
}

/// `name-version` of each resolved package, in install order.
pub fn labels(repos: &[Repository], r: &Resolution) -> Vec<String> {
    r.records(repos).iter().map(|p| p.name_version()).collect()
}

/// Names of the resolved packages, in install order.
pub fn names(repos: &[Repository], r: &Resolution) -> Vec<String> {
    r.records(repos).iter().map(|p| p.name.clone()).collect()
}
