//! Docker-loadable tar archives (`docker load`, `skopeo docker-archive:`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use apk_format::tar_write::{TarHeader, TarKind, TarWriter};

use crate::image::{HashingReader, build_index, check_platforms, sorted_images};
use crate::json;
use crate::layout::{check_layer_digests, check_tag, digest_hex, persist, temp_file_in};
use crate::model::DockerManifestEntry;
use crate::{Image, Index, OciError};

/// Adds `:latest` when a reference has no tag, as go-containerregistry
/// does for docker archives.
fn with_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') {
        reference.to_owned()
    } else {
        format!("{reference}:latest")
    }
}

/// `repo:tag` → `repo:tag-<suffix>` (after adding `:latest` if needed).
fn arch_tag(reference: &str, suffix: &str) -> String {
    format!("{}-{suffix}", with_tag(reference))
}

fn regular(path: &str, size: u64) -> TarHeader {
    let mut header = TarHeader::new(path, TarKind::File, 0o644);
    header.size = size;
    header
}

/// Writes a docker-loadable tar of `images` to `path` and returns the image
/// index that is appended to it.
///
/// Layout, as go-containerregistry's `tarball.MultiWrite` plus what
/// `apko build` appends:
/// - per image (sorted by platform): the config as `sha256:<hex>`, then each
///   layer not written yet as `<hex>.tar.gz`;
/// - `manifest.json`: `[{"Config","RepoTags","Layers"}]` sorted by tags;
/// - every manifest as `sha256:<hex>`, then the OCI index as `index.json`.
///
/// One image is tagged with `tags` as given; several images are tagged
/// `<tag>-<arch>[_<variant>]` each. A tag without a tag part gets
/// `:latest`; with no tags the images are stored untagged. The archive is
/// written to a temporary file beside `path` and renamed; headers are Go
/// `archive/tar` USTAR with mode 0644 and mtime 0.
pub fn write_docker_archive(
    path: &Path,
    tags: &[&str],
    images: &[Image],
    index_annotations: &BTreeMap<String, String>,
) -> Result<Index, OciError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let write_err = |source| OciError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = temp_file_in(dir)?;
    let (out, index) = write_docker_archive_to(
        BufWriter::with_capacity(1 << 16, tmp),
        path,
        tags,
        images,
        index_annotations,
    )?;
    let tmp = out.into_inner().map_err(|e| write_err(e.into_error()))?;
    persist(tmp, path)?;
    Ok(index)
}

/// Writes the same archive as [`write_docker_archive`] to `out` (a pipe,
/// standard output), naming `name` in errors; returns the writer, flushed.
pub fn write_docker_archive_to<W: Write>(
    out: W,
    name: &Path,
    tags: &[&str],
    images: &[Image],
    index_annotations: &BTreeMap<String, String>,
) -> Result<(W, Index), OciError> {
    let path = name;
    if images.is_empty() {
        return Err(OciError::NoImages);
    }
    let sorted = sorted_images(images);
    check_platforms(&sorted)?;
    check_layer_digests(&sorted)?;
    for tag in tags {
        check_tag(tag)?;
        if tag.contains('@') {
            return Err(OciError::InvalidTag {
                tag: (*tag).to_owned(),
                reason: "a digest reference cannot be a docker archive tag",
            });
        }
    }

    let repo_tags: Vec<Vec<String>> = sorted
        .iter()
        .map(|img| {
            tags.iter()
                .map(|t| {
                    if sorted.len() == 1 {
                        with_tag(t)
                    } else {
                        arch_tag(t, &img.platform.tag_suffix())
                    }
                })
                .collect()
        })
        .collect();
    let mut entries: Vec<DockerManifestEntry> = sorted
        .iter()
        .zip(&repo_tags)
        .map(|(img, tags)| DockerManifestEntry {
            config: img.config_digest.clone(),
            repo_tags: tags,
            layers: img
                .layers
                .iter()
                .map(|l| format!("{}.tar.gz", digest_hex(&l.digest).unwrap_or_default()))
                .collect(),
        })
        .collect();
    entries.sort_by_key(|e| e.repo_tags.join(","));
    let manifest_json = json::to_vec(&entries);
    let index = build_index(images, index_annotations);

    let write_err = |source| OciError::Write {
        path: path.to_owned(),
        source,
    };
    let mut tar = TarWriter::new(out);

    let mut seen = BTreeSet::new();
    for image in &sorted {
        let config = &image.config_json;
        tar.append(
            &regular(&image.config_digest, config.len() as u64),
            &mut &config[..],
        )
        .map_err(write_err)?;
        for layer in &image.layers {
            let hex = digest_hex(&layer.digest).expect("layer digests are checked first");
            if !seen.insert(hex) {
                continue;
            }
            let name = format!("{hex}.tar.gz");
            // Streamed into the tar, hashed on the way, checked afterwards.
            let read_err = |source| OciError::ReadLayer {
                path: layer.blob.clone(),
                source,
            };
            let file = File::open(&layer.blob).map_err(read_err)?;
            let mut reader = TrackedRead {
                inner: HashingReader::for_layer(BufReader::with_capacity(1 << 16, file), layer),
                failed: None,
            };
            let appended = tar.append(&regular(&name, layer.size), &mut reader);
            if let Some(source) = reader.failed.take() {
                return Err(read_err(source));
            }
            // Count what the tar writer did not take, to report the real size.
            let drained = io::copy(&mut reader, &mut io::sink());
            if let Some(source) = reader.failed.take() {
                return Err(read_err(source));
            }
            drained.map_err(read_err)?;
            let (actual_digest, actual_size) = reader.inner.finish_or(&layer.digest);
            if actual_digest != layer.digest || actual_size != layer.size {
                return Err(OciError::LayerMismatch {
                    path: layer.blob.clone(),
                    expected_digest: layer.digest.clone(),
                    expected_size: layer.size,
                    actual_digest,
                    actual_size,
                });
            }
            appended.map_err(write_err)?;
        }
    }
    tar.append(
        &regular("manifest.json", manifest_json.len() as u64),
        &mut &manifest_json[..],
    )
    .map_err(write_err)?;
    for image in &sorted {
        let manifest = &image.manifest_json;
        tar.append(
            &regular(&image.manifest_digest, manifest.len() as u64),
            &mut &manifest[..],
        )
        .map_err(write_err)?;
    }
    tar.append(&regular("index.json", index.size()), &mut &index.json[..])
        .map_err(write_err)?;
    tar.finish().map_err(write_err)?;
    let mut out = tar.into_inner();
    out.flush().map_err(write_err)?;
    Ok((out, index))
}

/// A reader that remembers its first error (so read failures of a layer
/// can be told apart from write failures of the archive).
struct TrackedRead<R> {
    inner: HashingReader<R>,
    failed: Option<io::Error>,
}

impl<R: Read> Read for TrackedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let msg = e.to_string();
                self.failed = Some(e);
                Err(io::Error::other(msg))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{arch_tag, with_tag};

    #[test]
    fn tags_get_latest_and_arch_suffix() {
        assert_eq!(with_tag("foo"), "foo:latest");
        assert_eq!(with_tag("foo:1"), "foo:1");
        assert_eq!(with_tag("localhost:5000/foo"), "localhost:5000/foo:latest");
        assert_eq!(with_tag("localhost:5000/foo:2"), "localhost:5000/foo:2");
        assert_eq!(arch_tag("foo", "arm_v7"), "foo:latest-arm_v7");
        assert_eq!(arch_tag("r.io/a/b:t", "amd64"), "r.io/a/b:t-amd64");
    }
}
