//! Helpers for the fixture tests: unpack an `.apk`'s data section and read
//! its `.PKGINFO`.
#![allow(dead_code)]

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use apk_format::package_read::PackageReader;
use apk_format::record::PackageRecord;
use sca::{FileInfo, files_from_dir};

/// The `.apk` files of a fixture directory, sorted.
pub fn apks(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "apk"))
        .collect();
    out.sort();
    out
}

/// Alpine's (or melange's) metadata of a package.
pub fn record(apk: &Path) -> PackageRecord {
    let file = File::open(apk).unwrap();
    PackageReader::new(BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", apk.display()))
        .record
}

/// Control entries at the top of an apk's concatenated tar streams.
fn is_control(name: &str) -> bool {
    name.starts_with(".SIGN.")
        || matches!(
            name,
            ".PKGINFO"
                | ".melange.yaml"
                | ".pre-install"
                | ".post-install"
                | ".pre-upgrade"
                | ".post-upgrade"
                | ".pre-deinstall"
                | ".post-deinstall"
                | ".trigger"
        )
}

/// Unpacks the apk with GNU tar (it reads the concatenated gzip streams as
/// one tar) into `dest`, removes the control entries and lists the rest.
pub fn unpack(apk: &Path, dest: &Path) -> Vec<FileInfo> {
    let status = Command::new("tar")
        .arg("xzf")
        .arg(apk)
        .arg("-C")
        .arg(dest)
        .arg("--no-same-owner")
        .arg("--preserve-permissions")
        .arg("--warning=no-unknown-keyword")
        .status()
        .expect("running tar");
    assert!(status.success(), "tar failed on {}", apk.display());
    for entry in std::fs::read_dir(dest).unwrap() {
        let entry = entry.unwrap();
        if is_control(&entry.file_name().to_string_lossy()) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    files_from_dir(dest).unwrap()
}
