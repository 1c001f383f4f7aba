//! `contents.baseimage`: building on top of an existing image (an OCI
//! layout). Its installed packages are read (from `<apkindex>/<arch>/APKINDEX`
//! as apko does, else from the image's own installed database), offered to
//! the resolver pinned at their versions, and not installed again; the new
//! layer goes on top of the base's layers.

use std::io::Read;
use std::path::{Path, PathBuf};

use apk_format::installed::parse_installed;
use apk_format::record::PackageRecord;

/// Where the base image is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseImage {
    /// The OCI layout directory.
    pub layout: PathBuf,
    /// apko's `apkindex`: a directory with `<arch>/APKINDEX` holding the
    /// base's installed database; `None` reads the database from the image.
    pub apkindex: Option<PathBuf>,
}

/// Errors reading the base image.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// The layout cannot be read.
    #[error("base image: {0}")]
    Read(#[from] oci::read::ReadError),
    /// It has no image for the architecture.
    #[error("base image {}: no {arch} image (it has {have})", layout.display())]
    NoArch {
        /// The layout.
        layout: PathBuf,
        /// apk architecture.
        arch: String,
        /// Its platforms.
        have: String,
    },
    /// Its installed database cannot be read.
    #[error("base image {}: installed database: {reason}", at.display())]
    Database {
        /// The file or layout.
        at: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A base image, read for one architecture.
#[derive(Clone, Debug)]
pub struct LoadedBase {
    /// The image (config and layers).
    pub image: oci::read::StoredImage,
    /// Its installed database, as text (records end with an empty line).
    pub installed_text: String,
    /// Its packages.
    pub packages: Vec<PackageRecord>,
}

/// The installed database of the layers (the topmost copy).
fn database_from_layers(
    image: &oci::read::StoredImage,
    layout: &Path,
) -> Result<String, BaseError> {
    let err = |reason: String| BaseError::Database {
        at: layout.to_path_buf(),
        reason,
    };
    let mut found = None;
    for layer in &image.layers {
        let stream = layer.open().map_err(|e| err(e.to_string()))?;
        let mut archive = tar::Archive::new(stream);
        for entry in archive.entries().map_err(|e| err(e.to_string()))? {
            let mut entry = entry.map_err(|e| err(e.to_string()))?;
            let path = entry
                .path()
                .map_err(|e| err(e.to_string()))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            if path == "usr/lib/apk/db/installed" || path == "lib/apk/db/installed" {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .map_err(|e| err(e.to_string()))?;
                found = Some(text);
            }
        }
    }
    found.ok_or_else(|| err("the image has no usr/lib/apk/db/installed".to_string()))
}

/// Reads the base image for `arch` (an apk architecture name).
pub fn load(base: &BaseImage, arch: &str) -> Result<LoadedBase, BaseError> {
    let images = oci::read::read_images(&base.layout)?;
    let platform = oci::Platform::from_apk_arch(arch);
    let image = images
        .iter()
        .find(|i| Some(&i.platform) == platform.as_ref())
        .cloned()
        .ok_or_else(|| BaseError::NoArch {
            layout: base.layout.clone(),
            arch: arch.to_string(),
            have: images
                .iter()
                .map(|i| i.platform.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let (installed_text, at) = match &base.apkindex {
        Some(dir) => {
            let file = dir.join(arch).join("APKINDEX");
            let text = std::fs::read_to_string(&file).map_err(|e| BaseError::Database {
                at: file.clone(),
                reason: e.to_string(),
            })?;
            (text, file)
        }
        None => (
            database_from_layers(&image, &base.layout)?,
            base.layout.clone(),
        ),
    };
    let packages = parse_installed(&installed_text)
        .map_err(|e| BaseError::Database {
            at,
            reason: e.to_string(),
        })?
        .into_iter()
        .map(|p| p.package)
        .collect();
    let mut installed_text = installed_text;
    if !installed_text.is_empty() && !installed_text.ends_with("\n\n") {
        installed_text.push_str(if installed_text.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        });
    }
    Ok(LoadedBase {
        image,
        installed_text,
        packages,
    })
}

/// The base image's layers and history; the config fields it sets that the
/// request leaves empty (entrypoint, cmd, user, ...) are taken from it.
pub(crate) fn base_layers(
    base: &LoadedBase,
    config: &mut oci::ImageConfig,
) -> Result<(Vec<oci::Layer>, oci::BaseHistory), BaseError> {
    let bad = |reason: &str| BaseError::Database {
        at: PathBuf::from("base image config"),
        reason: reason.to_string(),
    };
    let cfg: serde_json::Value =
        serde_json::from_slice(&base.image.config_json).map_err(|_| bad("not JSON"))?;
    let diff_ids: Vec<&str> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d.as_str()).collect())
        .unwrap_or_default();
    if diff_ids.len() != base.image.layers.len() {
        return Err(bad("its diff_ids do not match its layers"));
    }
    let mut layers = Vec::new();
    for (l, diff_id) in base.image.layers.iter().zip(diff_ids) {
        let blob = l.file().ok_or_else(|| bad("a layer is not a blob file"))?;
        layers.push(oci::Layer {
            blob: blob.to_path_buf(),
            digest: l.digest.clone(),
            size: l.size,
            diff_id: diff_id.to_string(),
            checked: false,
        });
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let entries = cfg["history"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| oci::HistoryEntry {
                    author: text(&h["author"]),
                    created: text(&h["created"]),
                    created_by: text(&h["created_by"]),
                    comment: text(&h["comment"]),
                    empty_layer: h["empty_layer"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    let c = &cfg["config"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    if config.entrypoint.is_empty() {
        config.entrypoint = strings(&c["Entrypoint"]);
    }
    if config.cmd.is_empty() {
        config.cmd = strings(&c["Cmd"]);
    }
    if config.user.is_none() {
        config.user = c["User"]
            .as_str()
            .filter(|u| !u.is_empty())
            .map(str::to_string);
    }
    if config.working_dir.is_none() {
        config.working_dir = c["WorkingDir"]
            .as_str()
            .filter(|u| !u.is_empty())
            .map(str::to_string);
    }
    if config.stop_signal.is_none() {
        config.stop_signal = c["StopSignal"]
            .as_str()
            .filter(|u| !u.is_empty())
            .map(str::to_string);
    }
    if config.volumes.is_empty() {
        config.volumes = c["Volumes"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
    }
    Ok((
        layers,
        oci::BaseHistory {
            entries,
            layers: base.image.layers.len(),
        },
    ))
}
