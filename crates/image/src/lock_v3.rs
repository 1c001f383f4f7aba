//! Lock entries of apk v3 packages. apko's lock format describes a v2
//! package by the byte ranges of its three gzip members; a v3 package has
//! no such members (its blocks sit inside one compressed stream), so its
//! entry has empty signature and control ranges, the whole file as the
//! data range with the file's SHA-256, and the index identity (`Q2…`) as
//! the checksum.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use apk_repo::{Location, RepoError};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::lock::{LockPackage, LockRange};

/// The lock entry of the v3 package `file` (`size` bytes).
pub fn lock_v3_package(
    location: Location,
    arch: &str,
    record: &apk_format::PackageRecord,
    file: &Path,
    size: u64,
) -> Result<LockPackage, RepoError> {
    let io = |source| RepoError::Io {
        path: file.to_path_buf(),
        source,
    };
    let mut hasher = Sha256::new();
    let mut f = File::open(file).map_err(io)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let reader = apk_format::adb::package::V3PackageReader::new(BufReader::new(
        File::open(file).map_err(io)?,
    ))
    .map_err(|source| RepoError::V3Package {
        location: location.clone(),
        source,
    })?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let empty = || LockRange {
        range: String::new(),
        checksum: String::new(),
    };
    Ok(LockPackage {
        name: record.name.clone(),
        url: location.to_string(),
        version: record.version.clone(),
        architecture: arch.to_string(),
        signature: empty(),
        control: empty(),
        data: LockRange {
            range: format!("bytes=0-{}", size.saturating_sub(1)),
            checksum: format!("sha256-{}", b64(&hasher.finalize())),
        },
        checksum: apk_format::adb::index::identity_checksum(&reader.identity).unwrap_or_default(),
    })
}
