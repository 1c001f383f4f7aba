//! Reading images back: an OCI layout directory or a docker archive (ours,
//! apko's, `docker save`'s), one [`StoredImage`] per platform, each layer
//! openable as its uncompressed tar stream.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::Platform;
use crate::layout::digest_hex;
use crate::model::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};

/// Errors reading an image.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The image is malformed.
    #[error("{}: {reason}", path.display())]
    Malformed {
        /// The layout or archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Where a layer's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
enum BlobAt {
    /// A whole file (an OCI layout blob).
    File(PathBuf),
    /// `len` bytes at `offset` of an archive.
    Range {
        file: PathBuf,
        offset: u64,
        len: u64,
    },
}

/// One layer of a stored image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLayer {
    /// Size of the stored (usually gzip-compressed) blob.
    pub size: u64,
    /// Its digest as the manifest names it (empty for `docker save` tars,
    /// which name layers by path).
    pub digest: String,
    at: BlobAt,
}

impl StoredLayer {
    /// The blob's file, when the layer is a whole file (OCI layouts).
    pub fn file(&self) -> Option<&Path> {
        match &self.at {
            BlobAt::File(p) => Some(p),
            BlobAt::Range { .. } => None,
        }
    }

    /// The layer's tar stream, decompressed when the blob is gzip.
    pub fn open(&self) -> io::Result<Box<dyn Read>> {
        let (mut file, len) = match &self.at {
            BlobAt::File(p) => {
                let f = File::open(p)?;
                let len = f.metadata()?.len();
                (f, len)
            }
            BlobAt::Range { file, offset, len } => {
                let mut f = File::open(file)?;
                f.seek(SeekFrom::Start(*offset))?;
                (f, *len)
            }
        };
        let mut magic = [0u8; 2];
        let start = file.stream_position()?;
        let n = file.read(&mut magic)?;
        file.seek(SeekFrom::Start(start))?;
        let raw = BufReader::with_capacity(1 << 16, file.take(len));
        if n == 2 && magic == [0x1f, 0x8b] {
            Ok(Box::new(MultiGzDecoder::new(raw)))
        } else {
            Ok(Box::new(raw))
        }
    }
}

/// One image (one platform) of a layout or archive.
#[derive(Clone, Debug)]
pub struct StoredImage {
    /// Its platform, from the config.
    pub platform: Platform,
    /// The config JSON.
    pub config_json: Vec<u8>,
    /// `sha256:<hex>` of the manifest (empty for docker archives).
    pub manifest_digest: String,
    /// Layers, bottom first.
    pub layers: Vec<StoredLayer>,
}

/// Reads every image of an OCI layout directory or a docker archive file.
pub fn read_images(path: &Path) -> Result<Vec<StoredImage>, ReadError> {
    if path.is_dir() {
        read_layout(path)
    } else {
        read_archive(path)
    }
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> ReadError + '_ {
    move |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn malformed(path: &Path, reason: impl Into<String>) -> ReadError {
    ReadError::Malformed {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn parse_json(path: &Path, bytes: &[u8], what: &str) -> Result<serde_json::Value, ReadError> {
    serde_json::from_slice(bytes).map_err(|e| malformed(path, format!("{what}: {e}")))
}

/// The platform a config JSON declares.
fn platform_of(path: &Path, config: &serde_json::Value) -> Result<Platform, ReadError> {
    let arch = config["architecture"]
        .as_str()
        .ok_or_else(|| malformed(path, "an image config has no architecture"))?;
    let mut p = Platform::linux(arch, config["variant"].as_str());
    if let Some(os) = config["os"].as_str() {
        p.os = os.to_string();
    }
    Ok(p)
}

fn read_layout(dir: &Path) -> Result<Vec<StoredImage>, ReadError> {
    if !dir.join("oci-layout").is_file() {
        return Err(malformed(dir, "not an OCI layout (no `oci-layout` file)"));
    }
    let blob_path = |digest: &str| -> Result<PathBuf, ReadError> {
        let hex = digest_hex(digest)
            .ok_or_else(|| malformed(dir, format!("unsupported digest `{digest}`")))?;
        Ok(dir.join("blobs/sha256").join(hex))
    };
    let read = |p: &Path| std::fs::read(p).map_err(io_err(p));
    let index_path = dir.join("index.json");
    let top = parse_json(dir, &read(&index_path)?, "index.json")?;
    let mut manifests = Vec::new();
    let mut stack = vec![top];
    let mut seen = std::collections::HashSet::new();
    while let Some(index) = stack.pop() {
        for m in index["manifests"].as_array().into_iter().flatten() {
            let digest = m["digest"].as_str().unwrap_or_default().to_string();
            if !seen.insert(digest.clone()) {
                continue;
            }
            match m["mediaType"].as_str() {
                Some(MEDIA_TYPE_INDEX)
                | Some("application/vnd.docker.distribution.manifest.list.v2+json") => {
                    let p = blob_path(&digest)?;
                    stack.push(parse_json(dir, &read(&p)?, "an index")?);
                }
                _ => manifests.push(digest),
            }
        }
    }
    let mut images = Vec::new();
    for digest in manifests {
        let p = blob_path(&digest)?;
        let manifest = parse_json(dir, &read(&p)?, "a manifest")?;
        let media = manifest["mediaType"]
            .as_str()
            .unwrap_or(MEDIA_TYPE_MANIFEST);
        if media.contains("index") || media.contains("list") {
            continue;
        }
        let config_digest = manifest["config"]["digest"]
            .as_str()
            .ok_or_else(|| malformed(dir, format!("manifest {digest} has no config")))?;
        let config_json = read(&blob_path(config_digest)?)?;
        let config = parse_json(dir, &config_json, "an image config")?;
        let mut layers = Vec::new();
        for l in manifest["layers"].as_array().into_iter().flatten() {
            let d = l["digest"].as_str().unwrap_or_default();
            layers.push(StoredLayer {
                size: l["size"].as_u64().unwrap_or(0),
                digest: d.to_string(),
                at: BlobAt::File(blob_path(d)?),
            });
        }
        images.push(StoredImage {
            platform: platform_of(dir, &config)?,
            config_json,
            manifest_digest: digest,
            layers,
        });
    }
    if images.is_empty() {
        return Err(malformed(dir, "the layout holds no image"));
    }
    images.sort_by(|a, b| a.platform.cmp(&b.platform));
    images.dedup_by(|a, b| a.manifest_digest == b.manifest_digest);
    Ok(images)
}

fn read_archive(path: &Path) -> Result<Vec<StoredImage>, ReadError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut archive = tar::Archive::new(file);
    // name -> (offset, size) of every regular entry.
    let mut entries: HashMap<String, (u64, u64)> = HashMap::new();
    for entry in archive.entries_with_seek().map_err(io_err(path))? {
        let entry = entry.map_err(|e| malformed(path, format!("not a tar archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(io_err(path))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        entries.insert(name, (entry.raw_file_position(), entry.size()));
    }
    let read_entry = |name: &str| -> Result<Vec<u8>, ReadError> {
        let (offset, len) = entries
            .get(name)
            .ok_or_else(|| malformed(path, format!("the archive has no `{name}`")))?;
        let mut f = File::open(path).map_err(io_err(path))?;
        f.seek(SeekFrom::Start(*offset)).map_err(io_err(path))?;
        let mut buf = Vec::new();
        f.take(*len).read_to_end(&mut buf).map_err(io_err(path))?;
        Ok(buf)
    };
    let manifest = parse_json(path, &read_entry("manifest.json")?, "manifest.json")?;
    let mut images = Vec::new();
    for m in manifest.as_array().into_iter().flatten() {
        let config_name = m["Config"]
            .as_str()
            .ok_or_else(|| malformed(path, "manifest.json: an entry has no Config"))?;
        let config_json = read_entry(config_name)?;
        let config = parse_json(path, &config_json, config_name)?;
        let mut layers = Vec::new();
        for l in m["Layers"].as_array().into_iter().flatten() {
            let name = l.as_str().unwrap_or_default();
            let (offset, len) = *entries
                .get(name)
                .ok_or_else(|| malformed(path, format!("the archive has no layer `{name}`")))?;
            let digest = name
                .strip_suffix(".tar.gz")
                .filter(|h| h.len() == 64)
                .map(|h| format!("sha256:{h}"))
                .unwrap_or_default();
            layers.push(StoredLayer {
                size: len,
                digest,
                at: BlobAt::Range {
                    file: path.to_path_buf(),
                    offset,
                    len,
                },
            });
        }
        images.push(StoredImage {
            platform: platform_of(path, &config)?,
            config_json,
            manifest_digest: String::new(),
            layers,
        });
    }
    if images.is_empty() {
        return Err(malformed(path, "manifest.json lists no image"));
    }
    images.sort_by(|a, b| a.platform.cmp(&b.platform));
    Ok(images)
}
