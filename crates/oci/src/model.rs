//! The JSON documents, shaped like go-containerregistry's `v1` structs:
//! same field order, and `Option`/`skip_serializing_if` wherever Go has
//! `omitempty` (a struct-typed field such as `created` in a history entry
//! is never omitted by Go, so it is not optional here either).

use std::collections::BTreeMap;

use serde::Serialize;

/// `application/vnd.oci.image.manifest.v1+json`
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.config.v1+json`
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar+gzip`
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Annotation naming a descriptor in an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation carrying the build date (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Annotation carrying the image title.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// Annotation carrying the image vendor.
pub const ANNOTATION_VENDOR: &str = "org.opencontainers.image.vendor";

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

fn map_is_empty<K, V>(m: &BTreeMap<K, V>) -> bool {
    m.is_empty()
}

/// ggcr `v1.ConfigFile` (the fields apko sets).
#[derive(Serialize)]
pub(crate) struct ConfigFile<'a> {
    pub architecture: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub author: &'a str,
    pub created: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub history: Vec<History<'a>>,
    pub os: &'a str,
    pub rootfs: RootFs<'a>,
    pub config: ContainerConfig<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'a str>,
}

/// ggcr `v1.History`.
#[derive(Serialize)]
pub(crate) struct History<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub author: &'a str,
    pub created: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub created_by: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub comment: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// ggcr `v1.RootFS`.
#[derive(Serialize)]
pub(crate) struct RootFs<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub diff_ids: Vec<&'a str>,
}

/// An empty JSON object, the value type of `Volumes` (`struct{}` in Go).
#[derive(Serialize)]
pub(crate) struct Empty {}

/// ggcr `v1.Config`, in its field order (which is *not* alphabetical:
/// `Cmd` comes before `Entrypoint`, `User` after `Labels`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContainerConfig<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub cmd: &'a [String],
    #[serde(skip_serializing_if = "is_empty")]
    pub entrypoint: &'a [String],
    #[serde(skip_serializing_if = "is_empty")]
    pub env: &'a [String],
    #[serde(skip_serializing_if = "map_is_empty")]
    pub labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user: &'a str,
    #[serde(skip_serializing_if = "map_is_empty")]
    pub volumes: BTreeMap<&'a str, Empty>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub working_dir: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub stop_signal: &'a str,
}

/// ggcr `v1.Platform`.
#[derive(Serialize)]
pub(crate) struct PlatformJson<'a> {
    pub architecture: &'a str,
    pub os: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'a str>,
}

/// ggcr `v1.Descriptor`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor<'a> {
    pub media_type: &'a str,
    pub size: u64,
    pub digest: &'a str,
    #[serde(skip_serializing_if = "map_is_empty")]
    pub annotations: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<&'a str>,
}

impl<'a> Descriptor<'a> {
    /// A descriptor with only media type, size and digest.
    pub fn plain(media_type: &'a str, size: u64, digest: &'a str) -> Self {
        Descriptor {
            media_type,
            size,
            digest,
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }
}

/// ggcr `v1.Manifest`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest<'a> {
    pub schema_version: u32,
    pub media_type: &'a str,
    pub config: Descriptor<'a>,
    pub layers: Vec<Descriptor<'a>>,
    #[serde(skip_serializing_if = "map_is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

/// ggcr `v1.IndexManifest`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexManifest<'a> {
    pub schema_version: u32,
    pub media_type: &'a str,
    pub manifests: Vec<Descriptor<'a>>,
    #[serde(skip_serializing_if = "map_is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

/// One entry of a docker-archive `manifest.json` (ggcr `tarball.Descriptor`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DockerManifestEntry<'a> {
    pub config: String,
    pub repo_tags: &'a [String],
    pub layers: Vec<String>,
}
