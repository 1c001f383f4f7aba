//! An image's contents as `size` and `diff` see them: packages from the
//! installed database, files after every layer is applied (whiteouts
//! honoured), each file with its owning package.

use std::collections::BTreeMap;
use std::io::Read;

use apk_format::installed::parse_installed;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Where apk keeps its database (apko: `usr/lib/apk`, with `lib/apk` a
/// link to it; older images: `lib/apk`).
const DB_PATHS: [&str; 2] = ["usr/lib/apk/db/installed", "lib/apk/db/installed"];

/// Errors reading an inventory.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A layer stream could not be read as a tar.
    #[error("layer {layer}: {source}")]
    Layer {
        /// 0-based layer number, bottom first.
        layer: usize,
        /// What failed.
        source: std::io::Error,
    },
    /// The installed database is malformed.
    #[error("{path}: {source}")]
    Database {
        /// Its path in the image.
        path: String,
        /// What is wrong.
        source: apk_format::installed::InstalledError,
    },
    /// A lock file that is not apko's format.
    #[error("not an apko lock file: {0}")]
    Lock(String),
}

/// One file of the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// Tar type: `0` file, `1` hard link, `2` symlink, `5` directory, ...
    pub kind: char,
    /// Permission bits.
    pub mode: u32,
    /// Content size (regular files; 0 otherwise).
    pub size: u64,
    /// Link target (links).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub link: String,
    /// SHA-256 (hex) of the content (regular files).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Index into [`Inventory::packages`] of the owner, if a package owns it.
    #[serde(skip)]
    pub owner: Option<usize>,
}

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Bytes of its regular files present in the image (`None` when only
    /// versions are known, as from a lock file).
    pub bytes: Option<u64>,
    /// Number of its files and links present in the image.
    pub files: Option<u64>,
}

/// What an image holds.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Architecture (apk name where known).
    pub arch: String,
    /// Installed packages, in database order.
    pub packages: Vec<PackageInfo>,
    /// Every path (no leading `/`), when the files are known.
    pub files: Option<BTreeMap<String, FileInfo>>,
    /// Compressed size of the layers, when known.
    pub compressed_size: Option<u64>,
}

/// `./a/b/` → `a/b`.
fn clean(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Removes `path` and everything below it.
fn remove_tree(files: &mut BTreeMap<String, FileInfo>, path: &str) {
    files.remove(path);
    let prefix = format!("{path}/");
    let below: Vec<String> = files
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .map(|(p, _)| p.clone())
        .collect();
    for p in below {
        files.remove(&p);
    }
}

impl Inventory {
    /// Reads the layers (uncompressed tar streams, bottom first): files
    /// merged as a container runtime would, packages from the last
    /// installed database seen.
    pub fn from_layers(
        arch: &str,
        layers: Vec<Box<dyn Read + '_>>,
        compressed_size: Option<u64>,
    ) -> Result<Inventory, InventoryError> {
        let mut files: BTreeMap<String, FileInfo> = BTreeMap::new();
        let mut db: Option<(String, Vec<u8>)> = None;
        for (n, stream) in layers.into_iter().enumerate() {
            let err = |source| InventoryError::Layer { layer: n, source };
            let mut archive = tar::Archive::new(stream);
            for entry in archive.entries().map_err(err)? {
                let mut entry = entry.map_err(err)?;
                let raw = entry.path().map_err(err)?.to_string_lossy().into_owned();
                let path = clean(&raw);
                if path.is_empty() {
                    continue;
                }
                let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
                if base == ".wh..wh..opq" {
                    if dir.is_empty() {
                        files.clear();
                    } else {
                        let prefix = format!("{dir}/");
                        files.retain(|p, _| !p.starts_with(&prefix));
                    }
                    continue;
                }
                if let Some(hidden) = base.strip_prefix(".wh.") {
                    let target = if dir.is_empty() {
                        hidden.to_string()
                    } else {
                        format!("{dir}/{hidden}")
                    };
                    remove_tree(&mut files, &target);
                    continue;
                }
                let header = entry.header();
                let kind = header.entry_type().as_byte() as char;
                let mode = header.mode().unwrap_or(0) & 0o7777;
                let link = entry
                    .link_name()
                    .map_err(err)?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut size = 0;
                let mut sha256 = String::new();
                if kind == '0' || kind == '\0' {
                    let mut hasher = Sha256::new();
                    let mut buf = vec![0u8; 1 << 16];
                    let is_db = DB_PATHS.contains(&path.as_str());
                    let mut content = Vec::new();
                    loop {
                        let got = entry.read(&mut buf).map_err(err)?;
                        if got == 0 {
                            break;
                        }
                        hasher.update(&buf[..got]);
                        size += got as u64;
                        if is_db {
                            content.extend_from_slice(&buf[..got]);
                        }
                    }
                    sha256 = hex::encode(hasher.finalize());
                    if is_db {
                        db = Some((path.clone(), content));
                    }
                }
                if kind != '5' {
                    remove_tree(&mut files, &path);
                }
                files.insert(
                    path,
                    FileInfo {
                        kind: if kind == '\0' { '0' } else { kind },
                        mode,
                        size,
                        link,
                        sha256,
                        owner: None,
                    },
                );
            }
        }
        let mut packages = Vec::new();
        if let Some((db_path, bytes)) = db {
            let text = String::from_utf8_lossy(&bytes);
            let installed = parse_installed(&text).map_err(|source| InventoryError::Database {
                path: db_path,
                source,
            })?;
            for (i, p) in installed.iter().enumerate() {
                let (mut bytes, mut count) = (0u64, 0u64);
                for d in &p.dirs {
                    for f in &d.files {
                        let path = if d.path.is_empty() {
                            f.name.clone()
                        } else {
                            format!("{}/{}", d.path, f.name)
                        };
                        if let Some(info) = files.get_mut(&path) {
                            if info.owner.is_none() {
                                info.owner = Some(i);
                            }
                            if info.owner == Some(i) {
                                count += 1;
                                if info.kind == '0' {
                                    bytes += info.size;
                                }
                            }
                        }
                    }
                }
                packages.push(PackageInfo {
                    name: p.package.name.clone(),
                    version: p.package.version.clone(),
                    bytes: Some(bytes),
                    files: Some(count),
                });
            }
        }
        Ok(Inventory {
            arch: arch.to_string(),
            packages,
            files: Some(files),
            compressed_size,
        })
    }

    /// The packages of one architecture of an apko lock file (versions
    /// only: a lock knows neither sizes nor files).
    pub fn from_lock(json: &[u8], arch: &str) -> Result<Inventory, InventoryError> {
        let lock: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| InventoryError::Lock(e.to_string()))?;
        let list = lock["contents"]["packages"]
            .as_array()
            .ok_or_else(|| InventoryError::Lock("no contents.packages".into()))?;
        let packages = list
            .iter()
            .filter(|p| p["architecture"].as_str() == Some(arch))
            .map(|p| PackageInfo {
                name: p["name"].as_str().unwrap_or_default().to_string(),
                version: p["version"].as_str().unwrap_or_default().to_string(),
                bytes: None,
                files: None,
            })
            .collect();
        Ok(Inventory {
            arch: arch.to_string(),
            packages,
            files: None,
            compressed_size: None,
        })
    }

    /// The architectures a lock file covers, in its order.
    pub fn lock_archs(json: &[u8]) -> Result<Vec<String>, InventoryError> {
        let lock: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| InventoryError::Lock(e.to_string()))?;
        let mut archs: Vec<String> = Vec::new();
        for p in lock["contents"]["packages"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(a) = p["architecture"].as_str()
                && !archs.iter().any(|x| x == a)
            {
                archs.push(a.to_string());
            }
        }
        Ok(archs)
    }

    /// Bytes of regular files not owned by any package (generated files:
    /// the apk database, accounts, certificates bundles, ...).
    pub fn unowned_bytes(&self) -> Option<(u64, u64)> {
        let files = self.files.as_ref()?;
        let mut bytes = 0;
        let mut count = 0;
        for f in files
            .values()
            .filter(|f| f.owner.is_none() && f.kind != '5')
        {
            count += 1;
            if f.kind == '0' {
                bytes += f.size;
            }
        }
        Some((bytes, count))
    }

    /// Bytes of every regular file.
    pub fn total_bytes(&self) -> Option<u64> {
        Some(
            self.files
                .as_ref()?
                .values()
                .filter(|f| f.kind == '0')
                .map(|f| f.size)
                .sum(),
        )
    }
}
