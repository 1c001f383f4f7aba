//! OCI image layout directories.

use std::collections::BTreeMap;
use std::fs::{self, File, Permissions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::image::{
    HashingReader, build_index, check_platforms, manifest_descriptor, sorted_images,
};
use crate::json;
use crate::model::{ANNOTATION_REF_NAME, Descriptor, IndexManifest, MEDIA_TYPE_INDEX};
use crate::{Image, Index, Layer, OciError};

/// The `oci-layout` file exactly as go-containerregistry writes it (no
/// trailing newline).
pub const OCI_LAYOUT_FILE: &str = "{\n    \"imageLayoutVersion\": \"1.0.0\"\n}";

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> OciError + '_ {
    move |source| OciError::Write {
        path: path.to_owned(),
        source,
    }
}

/// The hex part of a well-formed `sha256:<64 lowercase hex>` digest.
pub(crate) fn digest_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// Checks every layer digest, so blob paths derived from them are safe.
pub(crate) fn check_layer_digests(images: &[&Image]) -> Result<(), OciError> {
    for layer in images.iter().flat_map(|img| &img.layers) {
        if digest_hex(&layer.digest).is_none() {
            return Err(OciError::InvalidDigest {
                path: layer.blob.clone(),
                digest: layer.digest.clone(),
            });
        }
    }
    Ok(())
}

/// Checks a tag or ref name: non-empty, printable ASCII without spaces.
pub(crate) fn check_tag(tag: &str) -> Result<(), OciError> {
    let reason = if tag.is_empty() {
        "it is empty"
    } else if !tag.bytes().all(|b| b.is_ascii_graphic()) {
        "it contains spaces, control or non-ASCII characters"
    } else {
        return Ok(());
    };
    Err(OciError::InvalidTag {
        tag: tag.to_owned(),
        reason,
    })
}

/// A temporary file in `dir` (mode 0644) that is renamed over its target
/// when persisted and removed otherwise.
pub(crate) fn temp_file_in(dir: &Path) -> Result<NamedTempFile, OciError> {
    let tmp = scratch::file_in(dir, ".tmp-").map_err(write_err(dir))?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(0o644))
        .map_err(write_err(dir))?;
    Ok(tmp)
}

/// Renames a finished temporary file to `target`.
pub(crate) fn persist(tmp: NamedTempFile, target: &Path) -> Result<(), OciError> {
    scratch::persist(tmp, target)
        .map(drop)
        .map_err(write_err(target))
}

/// Writes `bytes` to `target` through a temporary file.
fn write_file_atomic(target: &Path, bytes: &[u8]) -> Result<(), OciError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = temp_file_in(dir)?;
    tmp.write_all(bytes).map_err(write_err(target))?;
    persist(tmp, target)
}

/// Copies a layer blob to `out`, failing if its digest or size differ from
/// the descriptor.
pub(crate) fn copy_layer(
    layer: &Layer,
    out: &mut dyn Write,
    out_path: &Path,
) -> Result<(), OciError> {
    let file = File::open(&layer.blob).map_err(|source| OciError::ReadLayer {
        path: layer.blob.clone(),
        source,
    })?;
    let mut reader = HashingReader::for_layer(BufReader::with_capacity(1 << 16, file), layer);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(OciError::ReadLayer {
                    path: layer.blob.clone(),
                    source,
                });
            }
        };
        out.write_all(&buf[..n]).map_err(write_err(out_path))?;
    }
    let (actual_digest, actual_size) = reader.finish_or(&layer.digest);
    if actual_digest != layer.digest || actual_size != layer.size {
        return Err(OciError::LayerMismatch {
            path: layer.blob.clone(),
            expected_digest: layer.digest.clone(),
            expected_size: layer.size,
            actual_digest,
            actual_size,
        });
    }
    Ok(())
}

/// Blob store of one layout directory.
struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    fn path(&self, hex: &str) -> PathBuf {
        self.dir.join(hex)
    }

    /// True when the blob is already there with the expected size (ggcr's
    /// rule for skipping a write).
    fn present(&self, hex: &str, size: u64) -> bool {
        fs::metadata(self.path(hex)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    fn put_bytes(&self, digest: &str, bytes: &[u8]) -> Result<(), OciError> {
        let hex = digest_hex(digest).expect("digests computed here are well-formed");
        if self.present(hex, bytes.len() as u64) {
            return Ok(());
        }
        write_file_atomic(&self.path(hex), bytes)
    }

    fn put_layer(&self, layer: &Layer) -> Result<(), OciError> {
        let hex = digest_hex(&layer.digest).expect("layer digests are checked first");
        if self.present(hex, layer.size) {
            return Ok(());
        }
        let target = self.path(hex);
        let tmp = temp_file_in(&self.dir)?;
        let mut out = BufWriter::with_capacity(1 << 16, tmp);
        copy_layer(layer, &mut out, &target)?;
        let tmp = out
            .into_inner()
            .map_err(|e| write_err(&target)(e.into_error()))?;
        persist(tmp, &target)
    }
}

/// Writes `images` as an OCI image layout into `dir` (created if missing)
/// and returns the image index.
///
/// Layer blobs, configs and manifests go to `blobs/sha256/`, then
/// `oci-layout`, then `index.json`. Without `ref_name`, `index.json` is the
/// image index itself (ggcr `layout.Write`, as `apko build` does). With
/// `ref_name`, the index is stored as a blob too and `index.json` lists it
/// under that name, plus (for several images) each manifest under
/// `<ref_name>-<arch>[_<variant>]`.
///
/// Existing blobs of the right size are kept; everything else is written
/// through temporary files and renamed, so a second call with the same
/// images leaves identical bytes.
pub fn write_oci_layout(
    dir: &Path,
    images: &[Image],
    index_annotations: &BTreeMap<String, String>,
    ref_name: Option<&str>,
) -> Result<Index, OciError> {
    if images.is_empty() {
        return Err(OciError::NoImages);
    }
    let sorted = sorted_images(images);
    check_platforms(&sorted)?;
    check_layer_digests(&sorted)?;
    if let Some(name) = ref_name {
        check_tag(name)?;
    }

    let blobs = Blobs {
        dir: dir.join("blobs").join("sha256"),
    };
    fs::create_dir_all(&blobs.dir).map_err(write_err(&blobs.dir))?;
    for image in &sorted {
        for layer in &image.layers {
            blobs.put_layer(layer)?;
        }
        blobs.put_bytes(&image.config_digest, &image.config_json)?;
        blobs.put_bytes(&image.manifest_digest, &image.manifest_json)?;
    }

    let index = build_index(images, index_annotations);
    let existing = existing_manifests(&dir.join("index.json"));
    let top = match ref_name {
        None => index.json.clone(),
        Some(name) => {
            blobs.put_bytes(&index.digest, &index.json)?;
            let mut manifests = vec![Descriptor {
                annotations: BTreeMap::from([(ANNOTATION_REF_NAME, name)]),
                ..Descriptor::plain(MEDIA_TYPE_INDEX, index.size(), &index.digest)
            }];
            let per_arch: Vec<String> = if sorted.len() > 1 {
                sorted
                    .iter()
                    .map(|img| format!("{name}-{}", img.platform.tag_suffix()))
                    .collect()
            } else {
                Vec::new()
            };
            for (image, arch_name) in sorted.iter().zip(&per_arch) {
                let mut desc = manifest_descriptor(image);
                desc.annotations.insert(ANNOTATION_REF_NAME, arch_name);
                manifests.push(desc);
            }
            // Other tags already in the layout stay (their blobs were never
            // removed); what carried one of our names is replaced.
            let ours: Vec<&str> = std::iter::once(name)
                .chain(per_arch.iter().map(String::as_str))
                .collect();
            for kept in &existing {
                if let Some(desc) = kept_descriptor(kept, &ours) {
                    manifests.push(desc);
                }
            }
            json::to_vec(&IndexManifest {
                schema_version: 2,
                media_type: MEDIA_TYPE_INDEX,
                manifests,
                annotations: &BTreeMap::new(),
            })
        }
    };
    write_file_atomic(&dir.join("oci-layout"), OCI_LAYOUT_FILE.as_bytes())?;
    write_file_atomic(&dir.join("index.json"), &top)?;
    Ok(index)
}

/// The descriptors of an existing `index.json` (none if there is none or
/// it cannot be read).
fn existing_manifests(index_json: &Path) -> Vec<serde_json::Value> {
    let Ok(bytes) = fs::read(index_json) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    match value.get("manifests") {
        Some(serde_json::Value::Array(list)) => list.clone(),
        _ => Vec::new(),
    }
}

/// An existing descriptor that keeps its place: it has a ref name, not one
/// of `ours`, and a well-formed digest.
fn kept_descriptor<'a>(value: &'a serde_json::Value, ours: &[&str]) -> Option<Descriptor<'a>> {
    let str_of = |v: &'a serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str);
    let annotations = value.get("annotations")?.as_object()?;
    let name = annotations.get(ANNOTATION_REF_NAME)?.as_str()?;
    if ours.contains(&name) {
        return None;
    }
    let digest = str_of(value, "digest")?;
    digest_hex(digest)?;
    let mut desc = Descriptor::plain(
        str_of(value, "mediaType")?,
        value.get("size")?.as_u64()?,
        digest,
    );
    for (k, v) in annotations {
        desc.annotations.insert(k.as_str(), v.as_str()?);
    }
    if let Some(p) = value.get("platform") {
        desc.platform = Some(crate::model::PlatformJson {
            architecture: str_of(p, "architecture")?,
            os: str_of(p, "os")?,
            variant: str_of(p, "variant"),
        });
    }
    desc.artifact_type = str_of(value, "artifactType");
    Some(desc)
}

#[cfg(test)]
mod tests {
    use super::{check_tag, digest_hex};

    #[test]
    fn digest_hex_rejects_paths() {
        let good = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(digest_hex(&good), Some("ab".repeat(32).as_str()));
        assert_eq!(digest_hex("sha256:../../etc/passwd"), None);
        assert_eq!(digest_hex(&format!("sha256:{}", "AB".repeat(32))), None);
        assert_eq!(digest_hex(&format!("sha512:{}", "ab".repeat(32))), None);
    }

    #[test]
    fn tags_are_checked() {
        assert!(check_tag("example.com/img:1.0").is_ok());
        assert!(check_tag("").is_err());
        assert!(check_tag("a b").is_err());
    }
}
