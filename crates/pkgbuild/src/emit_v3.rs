//! Package builds in apk-tools 3's formats (`package build --format v3`):
//! v3 packages and `<out>/<arch>/Packages.adb`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use apk_format::adb::container::Compression;
use apk_format::adb::index::{IndexWriter, read_index, write_adb_file};
use apk_format::adb::package::V3PackageReader;
use apk_format::adb::package_write::V3PackageBuilder;
use apk_format::adb::{schema, sign};
use apk_format::package_write::TreeEntry;
use apk_format::record::PackageRecord;

use crate::emit::EmittedPackage;
use crate::{BuildOptions, PkgBuildError};

/// Writes one v3 package into a temp file beside `target` (the caller
/// renames it once every package is written).
pub(crate) fn write_package(
    opts: &BuildOptions<'_>,
    record: PackageRecord,
    entries: Vec<TreeEntry>,
    owners: &crate::content::Owners,
    scripts: Vec<(&str, Vec<u8>)>,
    target: &Path,
) -> Result<(tempfile::NamedTempFile, PackageRecord), PkgBuildError> {
    let out_err = |reason: String| PkgBuildError::Output {
        what: target.display().to_string(),
        reason,
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut builder = V3PackageBuilder::new(record, opts.source_date_epoch);
    builder
        .entries(entries)
        .owner_names(owners.users.clone(), owners.groups.clone());
    for (name, body) in scripts {
        builder.script(name, body);
    }
    let mut tmp = scratch::file_in(dir, crate::TEMP_PREFIX).map_err(|e| out_err(e.to_string()))?;
    let written = {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let written = builder
            .write(&mut w, opts.signing_key, Compression::Deflate)
            .map_err(|e| out_err(e.to_string()))?;
        std::io::Write::flush(&mut w).map_err(|e| out_err(e.to_string()))?;
        written
    };
    Ok((tmp, written.record))
}

/// Adds the packages to `<out>/<arch>/Packages.adb` (keeping entries of
/// other names and versions), signed when a key is given.
pub fn update_index(
    opts: &BuildOptions<'_>,
    arch: &str,
    emitted: &[EmittedPackage],
) -> Result<PathBuf, PkgBuildError> {
    let path = opts.out_dir.join(arch).join("Packages.adb");
    let err = |reason: String| PkgBuildError::Output {
        what: path.display().to_string(),
        reason,
    };
    // One writer at a time, as for APKINDEX.tar.gz.
    let dir = path.parent().unwrap_or(Path::new("."));
    let _lock = crate::IndexLock::acquire(dir).map_err(|e| {
        err(format!(
            "locking {}: {e}",
            crate::index_lock::lock_path(dir).display()
        ))
    })?;
    let mut w = IndexWriter::new();
    for e in emitted {
        let file = File::open(&e.path).map_err(|x| err(x.to_string()))?;
        let size = file.metadata().map_err(|x| err(x.to_string()))?.len();
        let pkg = V3PackageReader::new(BufReader::new(file)).map_err(|x| err(x.to_string()))?;
        w.add_v3(&pkg.adb, size).map_err(|x| err(x.to_string()))?;
    }
    if let Ok(f) = File::open(&path) {
        let old = read_index(BufReader::new(f)).map_err(|e| err(e.to_string()))?;
        let values = old.package_values().map_err(|e| err(e.to_string()))?;
        for (p, v) in old.packages.iter().zip(values) {
            let replaced = emitted
                .iter()
                .any(|e| e.record.name == p.record.name && e.record.version == p.record.version);
            if !replaced {
                w.add_copy(&old, v).map_err(|e| err(e.to_string()))?;
            }
        }
    }
    let adb = w.finish(None, None);
    let signatures = match opts.signing_key {
        Some(k) => vec![sign::sign(k, schema::INDEX, adb.bytes()).map_err(|e| err(e.to_string()))?],
        None => Vec::new(),
    };
    let mut stream = Vec::new();
    write_adb_file(&mut stream, schema::INDEX, &adb, &signatures)
        .map_err(|e| err(e.to_string()))?;
    let bytes = apk_format::adb::compress::compress_all(&stream, Compression::Deflate)
        .map_err(|e| err(e.to_string()))?;
    let mut tmp = scratch::file_in(dir, crate::TEMP_PREFIX).map_err(|e| err(e.to_string()))?;
    std::io::Write::write_all(tmp.as_file_mut(), &bytes).map_err(|e| err(e.to_string()))?;
    scratch::persist(tmp, &path).map_err(|e| err(e.to_string()))?;
    Ok(path)
}
