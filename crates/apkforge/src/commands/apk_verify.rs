//! `apkforge apk verify --keyring DIR FILE...`

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use apk_format::index_archive::read_index_archive;
use apk_format::package_read::{
    PackageError, PackageReader, SignatureStatus, signed_digest_without_datahash, verify_signatures,
};
use apk_format::signing::Keyring;

use crate::cli::VerifyArgs;
use crate::keyring;

pub fn run(args: &VerifyArgs) -> Result<ExitCode> {
    let mut paths = args.keys.keyring.clone();
    if paths.is_empty() && Path::new("/etc/apk/keys").is_dir() {
        paths.push(PathBuf::from("/etc/apk/keys"));
    }
    let ring = keyring::load(&paths)?;
    let mut failed = 0;
    for file in &args.files {
        let failures = verify(file, &ring, args.allow_unsigned);
        if failures.is_empty() {
            println!("OK: {}", file.display());
        } else {
            failed += 1;
            for f in failures {
                eprintln!("FAIL: {}: {f}", file.display());
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} packages failed verification",
            args.files.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies a file that is not a package as an index archive.
fn verify_index(
    path: &Path,
    ring: &Keyring,
    allow_unsigned: bool,
    pkg_err: &PackageError,
) -> Vec<String> {
    let archive = match File::open(path).map(BufReader::new) {
        Ok(f) => read_index_archive(f),
        Err(e) => return vec![format!("cannot open: {e}")],
    };
    match archive {
        Ok(index) => match index.verify(ring) {
            SignatureStatus::Valid { .. } => Vec::new(),
            SignatureStatus::Unsigned if allow_unsigned => Vec::new(),
            status => vec![format!("index signature check failed: {status}")],
        },
        Err(idx_err) => vec![format!(
            "unreadable: not a package ({pkg_err}) nor an index ({idx_err})"
        )],
    }
}

/// Runs every check and returns a line per failed one.
pub fn verify(path: &Path, ring: &Keyring, allow_unsigned: bool) -> Vec<String> {
    if super::apk_v3::is_v3(path) {
        return super::apk_v3::verify(path, ring, allow_unsigned);
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot open: {e}")],
    };
    let pkg = match PackageReader::new(BufReader::new(file)) {
        Ok(p) => p,
        Err(pkg_err) => return verify_index(path, ring, allow_unsigned, &pkg_err),
    };
    let mut failures = Vec::new();
    // Without datahash, apk-tools 2 signs control and data together.
    let status = match pkg.record.datahash {
        None if !pkg.signatures.is_empty() => File::open(path)
            .and_then(|f| signed_digest_without_datahash(BufReader::new(f), pkg.signature_len))
            .map(|digest| verify_signatures(&pkg.signatures, ring, &digest)),
        _ => Ok(pkg.verify_signature(ring)),
    };
    let status = match status {
        Ok(status) => status,
        Err(e) => return vec![format!("cannot read: {e}")],
    };
    match status {
        SignatureStatus::Valid { .. } => {}
        SignatureStatus::Unsigned if allow_unsigned => {}
        status => failures.push(format!("signature check failed: {status}")),
    }
    let expected = pkg.record.datahash.clone();
    let name = pkg.record.name_version();
    match pkg.read_data(|_, _| Ok(())) {
        Ok(report) => {
            let actual = hex::encode(report.datahash);
            match expected {
                Some(e) if e != actual => failures.push(format!(
                    "datahash check failed for {name}: .PKGINFO says {e}, data section hashes to {actual}"
                )),
                // Without datahash the signature covers the data (above),
                // as apk-tools 2 checks such packages.
                _ => {}
            }
            for p in report.checksum_mismatches {
                failures.push(format!(
                    "file checksum check failed: `{p}` does not match its APK-TOOLS.checksum.SHA1"
                ));
            }
        }
        Err(e) => failures.push(format!("data section check failed: {e}")),
    }
    failures
}
