//! Repositories in apk-tools 3's format: a `Packages.adb` index, named
//! directly (`…/x86_64/Packages.adb`) or found in a base directory
//! (`<base>/<arch>/Packages.adb`), and packages found by the index's
//! `pkgname-spec` or beside the index. v3 packages are checked against
//! their identity (SHA-256 of the ADB block) from the signed index and
//! expanded into the same data-tar cache as v2 packages.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use apk_format::adb::AdbError;
use apk_format::adb::data_tar::write_data_tar;
use apk_format::adb::index::decode_checksum;
use apk_format::adb::package::{V3PackageError, V3PackageReader};
use apk_format::package_read::ControlFile;

use crate::cache::{Cache, DataKey, DigestWriter};
use crate::location::Location;
use crate::{ExpandedPackage, RepoError, io_err};

/// Where a repository's index is and how its packages are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexLayout {
    /// `<repo>/<arch>/APKINDEX.tar.gz`, packages beside it.
    V2,
    /// A `Packages.adb`.
    V3 {
        /// The index file.
        index: Location,
        /// What `pkgname-spec` is relative to.
        url_base: Location,
        /// The spec (the index's own, or the default of the repository form).
        spec: String,
    },
}

/// True when a repository line names an index file rather than a base
/// directory (apk-tools 3 treats URLs ending in `.adb` so).
pub fn names_index_file(location: &Location) -> bool {
    match location {
        Location::Local(p) => p.extension().is_some_and(|e| e == "adb"),
        Location::Remote(u) => u.split(['?', '#']).next().unwrap_or(u).ends_with(".adb"),
    }
}

/// The parent of an index file (its `url_base`).
pub fn parent(location: &Location) -> Location {
    match location {
        Location::Local(p) => Location::Local(
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        ),
        Location::Remote(u) => Location::Remote(match u.rsplit_once('/') {
            Some((base, _)) if base.contains("://") && !base.ends_with(':') => base.to_string(),
            _ => u.clone(),
        }),
    }
}

/// Error expanding a package spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pkgname-spec `{spec}`: {reason}")]
pub struct SpecError {
    /// The spec.
    pub spec: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Expands a `pkgname-spec` (`${name}`, `${version}`, `${arch}`, `${hash}`,
/// each optionally `${key:N}` to keep the first N characters), as apk-tools
/// 3 does; the last path component must start with `${name}` and one of
/// `-`, `_`, `.`.
pub fn expand_spec(
    spec: &str,
    name: &str,
    version: &str,
    arch: &str,
    hash_hex: &str,
) -> Result<String, SpecError> {
    let err = |reason| SpecError {
        spec: spec.to_string(),
        reason,
    };
    let last = spec.rsplit('/').next().unwrap_or(spec);
    let ok_last = last
        .strip_prefix("${name}")
        .is_some_and(|r| r.starts_with(['-', '_', '.']));
    if !ok_last {
        return Err(err(
            "its file name must start with `${name}` and `-`, `_` or `.`",
        ));
    }
    let mut out = String::new();
    let mut rest = spec;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| err("unterminated `${`"))?;
        let (key, max) = match after[..end].split_once(':') {
            Some((k, n)) => (k, Some(n.parse::<usize>().map_err(|_| err("bad length"))?)),
            None => (&after[..end], None),
        };
        let value = match key {
            "name" => name,
            "version" => version,
            "arch" => arch,
            "hash" => hash_hex,
            _ => return Err(err("unknown variable")),
        };
        let value = match max {
            Some(n) => value.get(..n.min(value.len())).unwrap_or(value),
            None => value,
        };
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Joins a relative spec expansion to a base, resolving `..` for URLs (a
/// spec may climb out of the index directory, as in a v3 index over v2
/// packages elsewhere). A spec with `://` is a URL of its own.
pub fn join_spec(base: &Location, rel: &str) -> Location {
    if rel.contains("://") {
        return Location::parse(rel);
    }
    match base {
        Location::Local(p) => Location::Local(p.join(rel)),
        Location::Remote(u) => {
            let (origin, path) = match u
                .find("://")
                .and_then(|i| u[i + 3..].find('/').map(|j| i + 3 + j))
            {
                Some(i) => (&u[..i], &u[i..]),
                None => (u.as_str(), ""),
            };
            let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            for seg in rel.split('/') {
                match seg {
                    "" | "." => {}
                    ".." => {
                        segments.pop();
                    }
                    s => segments.push(s),
                }
            }
            Location::Remote(format!("{origin}/{}", segments.join("/")))
        }
    }
}

/// True when the file starts like an apk v3 package.
pub fn is_v3_file(path: &Path) -> Result<bool, RepoError> {
    let mut head = [0u8; 3];
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut got = 0;
    while got < 3 {
        match f.read(&mut head[got..]).map_err(io_err(path))? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got == 3 && &head == b"ADB")
}

fn package_err(location: &Location) -> impl Fn(V3PackageError) -> RepoError + '_ {
    move |source| RepoError::V3Package {
        location: location.clone(),
        source,
    }
}

/// Checks a v3 package against the identity its index gives (`Q2…`).
pub fn check_identity(
    path: &Path,
    package: &str,
    expected: Option<&str>,
    location: &Location,
) -> Result<(), RepoError> {
    let file = File::open(path).map_err(io_err(path))?;
    let identity = apk_format::adb::package::package_identity(BufReader::new(file))
        .map_err(|e| package_err(location)(V3PackageError::Adb(e)))?;
    let Some(expected) = expected else {
        // No identity to check against: at least the metadata must read.
        let file = File::open(path).map_err(io_err(path))?;
        V3PackageReader::new(BufReader::new(file)).map_err(package_err(location))?;
        return Ok(());
    };
    let want = decode_checksum(expected);
    if want.as_deref() != Some(&identity[..]) {
        return Err(RepoError::ChecksumMismatch {
            package: package.to_string(),
            location: location.clone(),
            expected: expected.to_string(),
            actual: apk_format::adb::index::identity_checksum(&identity).unwrap_or_default(),
        });
    }
    Ok(())
}

/// Expands a v3 package's files into the data-tar cache (once per
/// identity), checking every file's size and SHA-256.
pub fn expand(cache: &Cache, apk: &Path) -> Result<ExpandedPackage, RepoError> {
    let location = Location::Local(apk.to_path_buf());
    let to_err = package_err(&location);
    let file = File::open(apk).map_err(io_err(apk))?;
    let file_size = file.metadata().map_err(io_err(apk))?.len();
    let reader = V3PackageReader::new(BufReader::new(file)).map_err(&to_err)?;
    let checksum = apk_format::adb::index::identity_checksum(&reader.identity).unwrap_or_default();
    let meta = &reader.meta;
    let mut record = meta.info.record.clone();
    record.triggers = meta.triggers.clone();
    record.replaces_priority = meta.replaces_priority;
    let control_files: Vec<ControlFile> = meta
        .scripts
        .iter()
        .map(|(name, content)| ControlFile {
            name: name.clone(),
            mode: 0o755,
            content: content.clone(),
        })
        .collect();
    // Checked like v2 entries (see `crate::expand`): the tar is written
    // from a package whose files were each checked against their SHA-256
    // while expanding, and used only while it matches its recorded digest.
    let target = cache.data_path(&DataKey::V3Identity(reader.identity))?;
    let mut notes = Vec::new();
    let data_digest =
        match crate::expand::checked_entry(&target, &record.name_version(), &mut notes)? {
            Some(digest) => digest,
            None => {
                let tmp = Cache::temp_for(&target)?;
                let out = DigestWriter::new(std::io::BufWriter::with_capacity(256 * 1024, tmp));
                let (_, out) = write_data_tar(reader, out).map_err(&to_err)?;
                let (out, digest) = out.finish();
                let tmp = out
                    .into_inner()
                    .map_err(|e| io_err(&target)(e.into_error()))?;
                Cache::commit_data(tmp, &target, &digest)?;
                digest
            }
        };
    Ok(ExpandedPackage {
        record,
        control_files,
        checksum,
        data_tar: target,
        data_digest,
        file_size,
        owners_by_name: true,
        notes,
    })
}

/// Error for a v3 index that cannot be read.
pub fn index_error(location: &Location, source: AdbError) -> RepoError {
    RepoError::V3Index {
        location: location.clone(),
        source,
    }
}
