//! Expanded data sections: each package's data member decompressed once into
//! a plain tar in the cache (`data-v2/`), which the installer and the layer
//! writer read by offset.
//!
//! # Invariant
//!
//! The [`ExpandedPackage::data_tar`] handed out by [`expand_package`] is
//! exactly the decompressed data member of a package whose data member
//! hashed to the `datahash` its control section declares (for packages
//! without a `datahash`, the data member read right then from the package,
//! in the pass that computed [`ExpandedPackage::checksum`] over control and
//! data, which `RepoClient::expand_fetched` compares with the index's
//! `C:`), and at the
//! moment it is handed out its size and SHA-256 match the record written
//! with it. A damaged entry is never used: it is rebuilt from the package
//! and the repair is reported in [`ExpandedPackage::notes`]. Code that
//! changes how expanded data reaches the image must keep this invariant:
//! bytes reach an image only from a checked entry or straight from a
//! verified package.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use apk_format::package_read::{ControlFile, PackageReader};
use apk_format::record::PackageRecord;

use crate::cache::{Cache, DataCheck, DataDigest, DataKey, DigestWriter};
use crate::location::Location;
use crate::{RepoError, io_err};

/// A package whose data section is available as an uncompressed tar.
#[derive(Clone, Debug)]
pub struct ExpandedPackage {
    /// `.PKGINFO` metadata.
    pub record: PackageRecord,
    /// Control files (scripts, ...).
    pub control_files: Vec<ControlFile>,
    /// `C:` checksum: of the control member, or of control and data for a
    /// package without `datahash` (computed in the pass that expanded it).
    pub checksum: String,
    /// The uncompressed data tar in the cache.
    pub data_tar: PathBuf,
    /// Size and SHA-256 of `data_tar`: checked against the cache record
    /// when it was found, or computed as it was written.
    pub data_digest: DataDigest,
    /// Size of the .apk file.
    pub file_size: u64,
    /// Owners in the data tar are names to resolve against the target's
    /// account files (v3 packages), not numeric ids.
    pub owners_by_name: bool,
    /// Cache repairs made on the way (a damaged entry rebuilt), for the
    /// caller to show as warnings.
    pub notes: Vec<String>,
}

/// Expands `apk`'s data section into `cache` (once per datahash) and
/// returns its path with the package's metadata; see the module
/// documentation for what is guaranteed about the result.
pub fn expand_package(cache: &Cache, apk: &Path) -> Result<ExpandedPackage, RepoError> {
    if crate::v3::is_v3_file(apk)? {
        return crate::v3::expand(cache, apk);
    }
    let location = Location::Local(apk.to_path_buf());
    let package_err = |source| RepoError::Package {
        location: location.clone(),
        source,
    };
    let mut file = File::open(apk).map_err(io_err(apk))?;
    let file_size = file.metadata().map_err(io_err(apk))?.len();
    let pkg =
        PackageReader::new(BufReader::with_capacity(1 << 18, &mut file)).map_err(package_err)?;
    let record = pkg.record.clone();
    let control_files = pkg.control_files.clone();
    let mismatch = |reason: String| RepoError::DataMismatch {
        package: record.name_version(),
        location: location.clone(),
        reason,
    };
    let want = match record.datahash.as_deref() {
        Some(text) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(text, &mut h)
                .map_err(|_| mismatch(format!("malformed datahash `{}`", text.escape_debug())))?;
            Some(h)
        }
        None => None,
    };
    let mut notes = Vec::new();
    if let Some(want) = &want {
        let path = cache.data_path(&DataKey::Datahash(*want))?;
        if let Some(data_digest) = checked_entry(&path, &record.name_version(), &mut notes)? {
            return Ok(ExpandedPackage {
                checksum: pkg.control_checksum(),
                record,
                control_files,
                data_tar: path,
                data_digest,
                file_size,
                owners_by_name: false,
                notes,
            });
        }
    }
    // Not cached, damaged, or a package without datahash: expand and check.
    let scratch = cache.data_path(&DataKey::Datahash([0; 32]))?;
    let mut tmp = Cache::temp_for(&scratch)?;
    let tmp_path = tmp.path().to_path_buf();
    let mut out = DigestWriter::new(BufWriter::with_capacity(1 << 20, tmp.as_file_mut()));
    let digest = pkg.extract_data_tar(&mut out).map_err(|e| match e {
        too_large @ apk_format::package_read::PackageError::DataTooLarge { .. } => {
            mismatch(too_large.to_string())
        }
        other => package_err(other),
    })?;
    let (mut buffered, written) = out.finish();
    buffered.flush().map_err(io_err(&tmp_path))?;
    drop(buffered);
    if let Some(want) = &want
        && *want != digest.datahash
    {
        return Err(mismatch(format!(
            "datahash mismatch: .PKGINFO says {}, the data section hashes to {}",
            hex::encode(want),
            hex::encode(digest.datahash)
        )));
    }
    let target = cache.data_path(&DataKey::Datahash(digest.datahash))?;
    Cache::commit_data(tmp, &target, &written)?;
    Ok(ExpandedPackage {
        record,
        control_files,
        checksum: digest.checksum(),
        data_tar: target,
        data_digest: written,
        file_size,
        owners_by_name: false,
        notes,
    })
}

/// The digest of the cache entry at `path` when it is present and intact;
/// a damaged one adds a note (and is then rebuilt by the caller, renamed
/// over it).
pub(crate) fn checked_entry(
    path: &Path,
    package: &str,
    notes: &mut Vec<String>,
) -> Result<Option<DataDigest>, RepoError> {
    match Cache::check_data(path)? {
        DataCheck::Good(digest) => Ok(Some(digest)),
        DataCheck::Missing => Ok(None),
        DataCheck::Bad(why) => {
            notes.push(format!(
                "cache entry `{}` for {package} was damaged ({why}); rebuilt from the package",
                path.display()
            ));
            Ok(None)
        }
    }
}

impl RepoError {
    /// True when the package file itself is damaged (its data does not
    /// match its control section, or it cannot be read as a package): a
    /// cached download with this error is worth fetching again.
    pub fn is_damaged_package(&self) -> bool {
        matches!(
            self,
            RepoError::DataMismatch { .. } | RepoError::Package { .. }
        )
    }
}
