//! What the repository holds: the packages in its index, and for each
//! recipe built, a record of the inputs its packages were made from
//! (`<out>/<arch>/.inputs/<name>.json`).
//!
//! A record is written only after the packages and the index are in
//! place, through a temp file and a rename: a build interrupted at any
//! point leaves either no record or the previous one, and the next run
//! builds the recipe again.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use apk_format::index_archive::read_index_archive;
use serde::{Deserialize, Serialize};

use crate::digest::Parts;

/// One package a build wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedOutput {
    /// Package name.
    pub name: String,
    /// Full version.
    pub version: String,
    /// Control checksum (`Q1…`).
    pub checksum: String,
}

/// The inputs and outputs of a recipe's last successful build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRecord {
    /// The recipe file.
    pub recipe: PathBuf,
    /// The main package.
    pub name: String,
    /// Its full version.
    pub version: String,
    /// Digest of all inputs.
    pub inputs: String,
    /// The inputs known before the environment is resolved.
    pub parts: Parts,
    /// The build environment (`name version checksum`).
    pub environment: Vec<String>,
    /// The packages written.
    pub outputs: Vec<RecordedOutput>,
}

/// Where the records of an architecture live.
pub fn records_dir(out_dir: &Path, arch: &str) -> PathBuf {
    out_dir.join(arch).join(".inputs")
}

/// The record of recipe `name`.
pub fn record_path(out_dir: &Path, arch: &str, name: &str) -> PathBuf {
    records_dir(out_dir, arch).join(format!("{name}.json"))
}

/// Reads a record; `None` when there is none or it cannot be read (the
/// recipe is then built again).
pub fn read_record(out_dir: &Path, arch: &str, name: &str) -> Option<BuildRecord> {
    let bytes = std::fs::read(record_path(out_dir, arch, name)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes a record atomically.
pub fn write_record(out_dir: &Path, arch: &str, record: &BuildRecord) -> std::io::Result<()> {
    let dir = records_dir(out_dir, arch);
    std::fs::create_dir_all(&dir)?;
    let mut tmp = scratch::file_in(&dir, pkgbuild::TEMP_PREFIX)?;
    let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    std::io::Write::write_all(tmp.as_file_mut(), &json)?;
    scratch::persist(tmp, &record_path(out_dir, arch, &record.name))?;
    Ok(())
}

/// Removes the temp files that interrupted runs left among the build
/// records of `arch` (those no live process holds); returns their paths.
pub fn sweep_stale_records(out_dir: &Path, arch: &str) -> Vec<PathBuf> {
    scratch::sweep(&records_dir(out_dir, arch), &[pkgbuild::TEMP_PREFIX]).unwrap_or_default()
}

/// The packages of a repository index: name → (version, checksum).
#[derive(Clone, Debug, Default)]
pub struct IndexSnapshot {
    packages: HashMap<String, Vec<(String, String)>>,
}

impl IndexSnapshot {
    /// Reads `<out>/<arch>/APKINDEX.tar.gz`; empty when there is none.
    pub fn read(out_dir: &Path, arch: &str) -> Result<IndexSnapshot, String> {
        let path = out_dir.join(arch).join("APKINDEX.tar.gz");
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(IndexSnapshot::default());
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let archive = read_index_archive(BufReader::new(file))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut packages: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for e in archive.entries {
            let p = e.package;
            packages
                .entry(p.name)
                .or_default()
                .push((p.version, p.checksum.unwrap_or_default()));
        }
        Ok(IndexSnapshot { packages })
    }

    /// Whether the index lists this exact package.
    pub fn has(&self, o: &RecordedOutput) -> bool {
        self.packages.get(&o.name).is_some_and(|v| {
            v.iter()
                .any(|(ver, sum)| *ver == o.version && *sum == o.checksum)
        })
    }
}

/// The recorded outputs that are no longer in the repository (not in the
/// index, or their file is gone).
pub fn missing_outputs(
    record: &BuildRecord,
    index: &IndexSnapshot,
    out_dir: &Path,
    arch: &str,
) -> Vec<String> {
    record
        .outputs
        .iter()
        .filter(|o| {
            !index.has(o)
                || !out_dir
                    .join(arch)
                    .join(format!("{}-{}.apk", o.name, o.version))
                    .is_file()
        })
        .map(|o| format!("{}-{}", o.name, o.version))
        .collect()
}
