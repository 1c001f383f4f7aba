//! Shared helpers for tests over the real fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use apk_format::signing::{Keyring, PublicKey};

/// The fixtures directory: `$APKFORGE_FIXTURES` or `../shared/fixtures`
/// beside the repository.
pub fn fixtures() -> PathBuf {
    if let Some(p) = std::env::var_os("APKFORGE_FIXTURES") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        p.is_dir(),
        "fixtures not found at {} (set APKFORGE_FIXTURES)",
        p.display()
    );
    p
}

/// Every `*.pub`, `*.pem.pub` and `.rsa.pub` key in the given directories.
pub fn keyring(dirs: &[PathBuf]) -> Keyring {
    let mut ring = Keyring::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".pub") && !name.starts_with(".SIGN") {
                let pem = std::fs::read(&path).unwrap();
                ring.add(PublicKey::from_pem(name, &pem).unwrap());
            }
        }
    }
    ring
}

/// All files under `dir` with the given suffix, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let ft = entry.file_type().unwrap();
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() && path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
