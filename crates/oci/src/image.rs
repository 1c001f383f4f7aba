//! Config, manifest and index documents.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::json;
use crate::model::{
    ANNOTATION_CREATED, ANNOTATION_TITLE, ANNOTATION_VENDOR, ConfigFile, ContainerConfig,
    Descriptor, Empty, History, IndexManifest, MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX,
    MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_MANIFEST, Manifest, PlatformJson, RootFs,
};
use crate::{Image, ImageConfig, Layer, OciError};

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Passes bytes through while hashing and counting them.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// Reads `layer`'s blob: hashed unless the layer says it was checked.
    pub(crate) fn for_layer(inner: R, layer: &crate::Layer) -> Self {
        HashingReader {
            inner,
            hasher: (!layer.checked).then(Sha256::new),
            count: 0,
        }
    }

    /// `sha256:<hex>` (`expected` when nothing was hashed) and byte count
    /// of everything read so far.
    pub(crate) fn finish_or(self, expected: &str) -> (String, u64) {
        let digest = match self.hasher {
            Some(h) => format!("sha256:{}", hex::encode(h.finalize())),
            None => expected.to_string(),
        };
        (digest, self.count)
    }

    /// `sha256:<hex>` and byte count of everything read so far.
    pub(crate) fn finish(self) -> (String, u64) {
        self.finish_or("")
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// A `Write` sink that only hashes.
struct HashingSink(Sha256);

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Layer {
    /// Describes a gzip-compressed tar file: digest and size of the file and
    /// the `diff_id` of its decompressed content, in one pass.
    pub fn from_gzip_file(path: impl Into<PathBuf>) -> Result<Layer, OciError> {
        let path = path.into();
        let read_err = |source| OciError::ReadLayer {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(read_err)?;
        let mut compressed = HashingReader::new(BufReader::with_capacity(1 << 16, file));
        let mut sink = HashingSink(Sha256::new());
        io::copy(&mut MultiGzDecoder::new(&mut compressed), &mut sink).map_err(read_err)?;
        // Anything after the last gzip member still belongs to the blob.
        io::copy(&mut compressed, &mut io::sink()).map_err(read_err)?;
        let (digest, size) = compressed.finish();
        Ok(Layer {
            blob: path,
            digest,
            size,
            diff_id: format!("sha256:{}", hex::encode(sink.0.finalize())),
            // The file may change before it is written out: check it then.
            checked: false,
        })
    }
}

impl Image {
    /// Size of the manifest in bytes (its descriptor's `size`).
    pub fn manifest_size(&self) -> u64 {
        self.manifest_json.len() as u64
    }

    /// Size of the config in bytes (its descriptor's `size`).
    pub fn config_size(&self) -> u64 {
        self.config_json.len() as u64
    }
}

/// One entry of an image config's `history`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryEntry {
    /// `author`.
    pub author: String,
    /// `created` (RFC 3339).
    pub created: String,
    /// `created_by`.
    pub created_by: String,
    /// `comment`.
    pub comment: String,
    /// `empty_layer`: the step made no layer.
    pub empty_layer: bool,
}

/// What an image built on a base image keeps of it: its history and how
/// many of the layers given to [`build_image_on`] are its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseHistory {
    /// The base config's history, kept as is.
    pub entries: Vec<HistoryEntry>,
    /// The first `layers` layers are the base image's.
    pub layers: usize,
}

/// Builds the config and manifest of one image from its layers (bottom
/// first). Pure: nothing is read from the layer files.
pub fn build_image(config: &ImageConfig, layers: Vec<Layer>) -> Image {
    build_image_on(config, &BaseHistory::default(), layers)
}

/// As [`build_image`] for an image on a base image: `layers` starts with
/// the base's layers; the history is the base's followed by one entry per
/// layer of ours (the single-layer comment counts only ours).
pub fn build_image_on(config: &ImageConfig, base: &BaseHistory, layers: Vec<Layer>) -> Image {
    let own_layers = layers.len().saturating_sub(base.layers);
    let mut annotations = config.annotations.clone();
    annotations.insert(ANNOTATION_CREATED.to_owned(), config.created.clone());

    let who = &config.authorship;
    let title_by_vendor = match (
        config.annotations.get(ANNOTATION_TITLE),
        config.annotations.get(ANNOTATION_VENDOR),
    ) {
        (Some(title), Some(vendor)) => Some(format!("{title} by {vendor}")),
        _ => None,
    };
    let comment = match &title_by_vendor {
        Some(c) => c.as_str(),
        None if own_layers == 1 => who.single_layer_comment.as_str(),
        None => "",
    };

    let config_file = ConfigFile {
        architecture: &config.platform.architecture,
        author: &who.author,
        created: &config.created,
        history: base
            .entries
            .iter()
            .map(|h| History {
                author: &h.author,
                created: &h.created,
                created_by: &h.created_by,
                comment: &h.comment,
                empty_layer: h.empty_layer,
            })
            .chain((0..own_layers).map(|_| History {
                author: &who.history_author,
                created: &config.created,
                created_by: &who.created_by,
                comment,
                empty_layer: false,
            }))
            .collect(),
        os: &config.platform.os,
        rootfs: RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id.as_str()).collect(),
        },
        config: ContainerConfig {
            cmd: &config.cmd,
            entrypoint: &config.entrypoint,
            env: &config.env,
            labels: &annotations,
            user: config.user.as_deref().unwrap_or(""),
            volumes: config
                .volumes
                .iter()
                .map(|v| (v.as_str(), Empty {}))
                .collect(),
            working_dir: config.working_dir.as_deref().unwrap_or(""),
            stop_signal: config.stop_signal.as_deref().unwrap_or(""),
        },
        variant: config.platform.variant.as_deref(),
    };
    let config_json = json::to_vec(&config_file);
    let config_digest = sha256_digest(&config_json);

    let manifest = Manifest {
        schema_version: 2,
        media_type: MEDIA_TYPE_MANIFEST,
        config: Descriptor::plain(MEDIA_TYPE_CONFIG, config_json.len() as u64, &config_digest),
        layers: layers
            .iter()
            .map(|l| Descriptor::plain(MEDIA_TYPE_LAYER_GZIP, l.size, &l.digest))
            .collect(),
        annotations: &annotations,
    };
    let manifest_json = json::to_vec(&manifest);
    let manifest_digest = sha256_digest(&manifest_json);

    Image {
        config_json,
        config_digest,
        manifest_json,
        manifest_digest,
        platform: config.platform.clone(),
        layers,
    }
}

/// An OCI image index document and its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// The index JSON.
    pub json: Vec<u8>,
    /// `sha256:<hex>` of [`Index::json`].
    pub digest: String,
}

impl Index {
    /// Size of the index in bytes.
    pub fn size(&self) -> u64 {
        self.json.len() as u64
    }
}

/// The images sorted the way the index lists them (by `arch[/variant]`).
pub(crate) fn sorted_images(images: &[Image]) -> Vec<&Image> {
    let mut sorted: Vec<&Image> = images.iter().collect();
    sorted.sort_by_key(|img| img.platform.to_string());
    sorted
}

/// Fails when two images share a platform.
pub(crate) fn check_platforms(images: &[&Image]) -> Result<(), OciError> {
    for pair in images.windows(2) {
        if pair[0].platform == pair[1].platform {
            return Err(OciError::DuplicatePlatform {
                platform: pair[0].platform.to_string(),
                first: pair[0].manifest_digest.clone(),
                second: pair[1].manifest_digest.clone(),
            });
        }
    }
    Ok(())
}

/// Manifest descriptor of an image as listed in an index.
pub(crate) fn manifest_descriptor(image: &Image) -> Descriptor<'_> {
    Descriptor {
        platform: Some(PlatformJson {
            architecture: &image.platform.architecture,
            os: &image.platform.os,
            variant: image.platform.variant.as_deref(),
        }),
        artifact_type: Some(MEDIA_TYPE_CONFIG),
        ..Descriptor::plain(
            MEDIA_TYPE_MANIFEST,
            image.manifest_size(),
            &image.manifest_digest,
        )
    }
}

/// Builds the OCI image index over `images` (one per platform), sorted by
/// `arch[/variant]`. `annotations` are used as given: apko puts the image
/// annotations plus `org.opencontainers.image.created` (the latest build
/// date over all architectures) there.
pub fn build_index(images: &[Image], annotations: &BTreeMap<String, String>) -> Index {
    let index = IndexManifest {
        schema_version: 2,
        media_type: MEDIA_TYPE_INDEX,
        manifests: sorted_images(images)
            .into_iter()
            .map(manifest_descriptor)
            .collect(),
        annotations,
    };
    let json = json::to_vec(&index);
    let digest = sha256_digest(&json);
    Index { json, digest }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::{build_image, build_index};
    use crate::{ImageConfig, Layer, Platform};

    fn layer(n: u8) -> Layer {
        Layer {
            blob: PathBuf::from(format!("/nonexistent/{n}")),
            digest: format!("sha256:{}", format!("{n:02x}").repeat(32)),
            size: 100 + u64::from(n),
            diff_id: format!("sha256:{}", format!("{:02x}", n + 1).repeat(32)),
            checked: false,
        }
    }

    #[test]
    fn full_config_has_ggcr_field_order() {
        let mut cfg = ImageConfig {
            platform: Platform::linux("arm", Some("v7")),
            entrypoint: vec!["/bin/sh".into(), "-c".into()],
            cmd: vec!["echo <hi> & bye".into()],
            env: vec!["A=1".into(), "PATH=/bin".into()],
            user: Some("65532".into()),
            working_dir: Some("/work".into()),
            stop_signal: Some("SIGTERM".into()),
            volumes: vec!["/data".into(), "/cache".into()],
            ..ImageConfig::default()
        };
        cfg.annotations.insert("k".into(), "v".into());
        let img = build_image(&cfg, vec![layer(1), layer(2)]);
        let json = String::from_utf8(img.config_json.clone()).unwrap();
        let expected = concat!(
            r#"{"architecture":"arm","author":"apkforge","created":"1970-01-01T00:00:00Z","#,
            r#""history":[{"author":"apkforge","created":"1970-01-01T00:00:00Z","created_by":"apkforge"},"#,
            r#"{"author":"apkforge","created":"1970-01-01T00:00:00Z","created_by":"apkforge"}],"#,
            r#""os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0202020202020202020202020202020202020202020202020202020202020202","#,
            r#""sha256:0303030303030303030303030303030303030303030303030303030303030303"]},"#,
            r#""config":{"Cmd":["echo \u003chi\u003e \u0026 bye"],"Entrypoint":["/bin/sh","-c"],"#,
            r#""Env":["A=1","PATH=/bin"],"Labels":{"k":"v","org.opencontainers.image.created":"1970-01-01T00:00:00Z"},"#,
            r#""User":"65532","Volumes":{"/cache":{},"/data":{}},"WorkingDir":"/work","StopSignal":"SIGTERM"},"#,
            r#""variant":"v7"}"#
        );
        assert_eq!(json, expected);
        assert_eq!(img.config_digest, super::sha256_digest(json.as_bytes()));

        let manifest = String::from_utf8(img.manifest_json.clone()).unwrap();
        assert!(manifest.starts_with(concat!(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
            r#""config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":"#
        )));
        assert!(manifest.contains(&format!(
            r#""layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":101,"digest":"sha256:{}"}},"#,
            "01".repeat(32)
        )));
        assert!(manifest.ends_with(
            r#""annotations":{"k":"v","org.opencontainers.image.created":"1970-01-01T00:00:00Z"}}"#
        ));
    }

    #[test]
    fn minimal_config_omits_empty_fields() {
        let img = build_image(&ImageConfig::default(), vec![layer(7)]);
        let json = String::from_utf8(img.config_json).unwrap();
        assert!(json.contains(r#""comment":"This is an apkforge single-layer image""#));
        assert!(json.ends_with(
            r#""config":{"Labels":{"org.opencontainers.image.created":"1970-01-01T00:00:00Z"}}}"#
        ));
    }

    #[test]
    fn index_sorts_by_platform_and_omits_empty_annotations() {
        let mk = |arch: &str, variant: Option<&str>| {
            let cfg = ImageConfig {
                platform: Platform::linux(arch, variant),
                ..ImageConfig::default()
            };
            build_image(&cfg, vec![layer(1)])
        };
        let images = [
            mk("arm64", None),
            mk("arm", Some("v7")),
            mk("amd64", None),
            mk("arm", Some("v6")),
        ];
        let index = build_index(&images, &BTreeMap::new());
        let json = String::from_utf8(index.json).unwrap();
        let order: Vec<usize> = ["\"amd64\"", "\"v6\"", "\"v7\"", "\"arm64\""]
            .iter()
            .map(|s| json.find(s).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
        assert!(!json.contains("annotations"));
        assert!(json.contains(
            r#""platform":{"architecture":"arm","os":"linux","variant":"v7"},"artifactType":"application/vnd.oci.image.config.v1+json"}"#
        ));
    }
}
