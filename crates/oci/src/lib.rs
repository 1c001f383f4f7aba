//! OCI image assembly from already-built layers, and output as an OCI image
//! layout directory or a docker-loadable tar archive. No registry client
//! (yet).
//!
//! # Flow
//!
//! 1. The caller builds each layer (a gzip-compressed tar in a file) and
//!    describes it with a [`Layer`]: digest and size of the gzip bytes and
//!    the `diff_id` (SHA-256 of the uncompressed tar).
//!    [`Layer::from_gzip_file`] computes all three from the file.
//! 2. [`build_image`] turns an [`ImageConfig`] and the layers (bottom
//!    first) into an [`Image`]: the config JSON, the manifest JSON and their
//!    digests, all in memory.
//! 3. [`build_index`] makes the OCI image index over one [`Image`] per
//!    platform.
//! 4. [`write_oci_layout`] or [`write_docker_archive`] write everything.
//!
//! # Byte conventions (go-containerregistry, as apko uses it)
//!
//! - JSON is compact, fields in ggcr's struct order, empty optional fields
//!   omitted as Go's `omitempty` does, map keys sorted, and strings escaped
//!   as Go's `json.Marshal` does (`<`, `>`, `&` become `\u003c` etc.).
//! - Config field order: `architecture, author, created, history, os,
//!   rootfs, config, variant`; inside `config` ggcr's order `Cmd,
//!   Entrypoint, Env, Labels, User, Volumes, WorkingDir, StopSignal` (this
//!   is ggcr's `v1.Config` declaration order; the shared facts file lists
//!   `Entrypoint` first, which ggcr does not do). `Volumes` is an object of
//!   empty objects.
//! - One history entry per layer: `{author, created, created_by,
//!   comment}`; the comment is `"<title> by <vendor>"` when both
//!   annotations exist, else a single-layer text for one layer, else
//!   omitted. The author strings come from [`Authorship`]: ours by default,
//!   apko's via [`Authorship::apko`] (used by the tests to reproduce apko's
//!   golden layout byte for byte).
//! - `Labels` and the manifest's `annotations` are the config annotations
//!   plus `org.opencontainers.image.created`.
//! - Index descriptors are sorted by `arch[/variant]` and carry `platform`
//!   and `artifactType: application/vnd.oci.image.config.v1+json`.
//!
//! # Outputs
//!
//! - OCI layout ([`write_oci_layout`]): `oci-layout` (ggcr's exact bytes),
//!   `blobs/sha256/*`, then `index.json`. Without a ref name `index.json`
//!   *is* the image index (exactly what ggcr's `layout.Write` and so `apko
//!   build ... dir/` write). With a ref name the index is also stored as a
//!   blob and `index.json` points at it with
//!   `org.opencontainers.image.ref.name`, the shape `skopeo copy ...
//!   oci:dir:tag` produces; with several images each manifest is also
//!   listed under `<tag>-<arch>[_<variant>]` so single-image tools such as
//!   `umoci unpack` can pick one.
//! - Docker archive ([`write_docker_archive`]): ggcr `tarball` layout
//!   (config as `sha256:<hex>`, layers as `<hex>.tar.gz`, `manifest.json`
//!   with `RepoTags`), followed, as `apko build` does, by every manifest
//!   blob (`sha256:<hex>`) and `index.json`. A single image keeps the tags
//!   as given; several images get `<tag>-<arch>[_<variant>]` (apko uses the
//!   bare architecture, which collides for arm/v6 and arm/v7). Tags without
//!   a tag part get `:latest`, like ggcr; unlike ggcr they are not
//!   expanded to `index.docker.io/library/...`.
//!
//! Blobs and archives are written to a temporary file in the target
//! directory and renamed into place; layer blobs are hashed while being
//! copied and rejected if they do not match their descriptor. An existing
//! blob with the expected size is kept (as ggcr does), so writing the same
//! images twice is idempotent and byte-identical.
//!
//! # Tests
//!
//! - `tests/golden.rs` rebuilds apko's golden two-arch layout
//!   (`apko-testdata/internal/cli/testdata/golden` in the shared fixtures)
//!   from its layer blobs with [`Authorship::apko`]: every file (configs,
//!   manifests, `index.json`, `oci-layout`) comes out byte for byte, and
//!   the index digest is apko's.
//! - `tests/tools.rs` builds a real layer (static busybox + `sh` symlink)
//!   and checks the outputs with skopeo (`inspect`, `--raw`, `--config`,
//!   `--override-arch`, `copy --all`, `docker-archive:`), umoci (`unpack`)
//!   and runc (`run` prints `ok`); also byte-identical rewrites and
//!   rejection of corrupt layer blobs. The apt packages they need are in
//!   `TEST-DEPS`; a missing tool fails the test with its package name.
//!
//! # Not done yet
//!
//! Registry push, base images (inherited history), `os.features`,
//! non-gzip layer media types, and docker (non-OCI) media types.
#![deny(missing_docs)]

mod docker;
mod image;
mod json;
mod layout;
mod model;
pub mod read;
pub mod registry;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::PathBuf;

pub use docker::{write_docker_archive, write_docker_archive_to};
pub use image::{
    BaseHistory, HistoryEntry, Index, build_image, build_image_on, build_index, sha256_digest,
};
pub use layout::{OCI_LAYOUT_FILE, write_oci_layout};
pub use model::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_TITLE, ANNOTATION_VENDOR,
    MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_MANIFEST,
};

/// One built layer: a gzip-compressed tar stored in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The gzip file.
    pub blob: PathBuf,
    /// `sha256:<hex>` of the gzip bytes.
    pub digest: String,
    /// Size of the gzip file in bytes.
    pub size: u64,
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// `digest` and `size` were computed from this file by this process
    /// (as it wrote the blob, or checked it): the writers then copy it
    /// checking only its size. `false`: they hash it as they copy it and
    /// refuse a mismatch.
    pub checked: bool,
}

/// The platform an image runs on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// OCI architecture: `amd64`, `arm64`, `arm`, `386`, `ppc64le`,
    /// `riscv64`, `s390x`, `loong64`.
    pub architecture: String,
    /// Variant, e.g. `v6`/`v7` for `arm`.
    pub variant: Option<String>,
    /// Operating system, `linux`.
    pub os: String,
}

/// apk architecture names and their OCI platforms, as apko maps them.
const APK_ARCHES: &[(&str, &str, Option<&str>)] = &[
    ("x86", "386", None),
    ("x86_64", "amd64", None),
    ("aarch64", "arm64", None),
    ("armhf", "arm", Some("v6")),
    ("armv7", "arm", Some("v7")),
    ("loongarch64", "loong64", None),
    ("ppc64le", "ppc64le", None),
    ("riscv64", "riscv64", None),
    ("s390x", "s390x", None),
];

impl Platform {
    /// A Linux platform.
    pub fn linux(architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            architecture: architecture.to_owned(),
            variant: variant.map(str::to_owned),
            os: "linux".to_owned(),
        }
    }

    /// The Linux platform for an apk architecture (`x86_64` → `amd64`,
    /// `armv7` → `arm`/`v7`, ...), or `None` for an unknown name.
    pub fn from_apk_arch(apk_arch: &str) -> Option<Platform> {
        APK_ARCHES
            .iter()
            .find(|(apk, _, _)| *apk == apk_arch)
            .map(|(_, arch, variant)| Platform::linux(arch, *variant))
    }

    /// The apk architecture of this platform, if it has one.
    pub fn apk_arch(&self) -> Option<&'static str> {
        APK_ARCHES
            .iter()
            .find(|(_, arch, variant)| {
                *arch == self.architecture && *variant == self.variant.as_deref()
            })
            .map(|(apk, _, _)| *apk)
    }

    /// `arch[_variant]`: the suffix for per-architecture tags.
    pub fn tag_suffix(&self) -> String {
        self.to_string().replace('/', "_")
    }
}

/// `arch[/variant]`, the key apko sorts index entries by.
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variant {
            Some(v) => write!(f, "{}/{}", self.architecture, v),
            None => f.write_str(&self.architecture),
        }
    }
}

/// The strings that name the tool in the config and its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorship {
    /// Config `author`.
    pub author: String,
    /// History `author`.
    pub history_author: String,
    /// History `created_by`.
    pub created_by: String,
    /// History `comment` of a single-layer image without title and vendor.
    pub single_layer_comment: String,
}

impl Default for Authorship {
    /// apkforge's own strings.
    fn default() -> Self {
        Authorship {
            author: "apkforge".to_owned(),
            history_author: "apkforge".to_owned(),
            created_by: "apkforge".to_owned(),
            single_layer_comment: "This is an apkforge single-layer image".to_owned(),
        }
    }
}

impl Authorship {
    /// apko's strings, for byte-for-byte comparisons with apko output.
    pub fn apko() -> Self {
        Authorship {
            author: "github.com/chainguard-dev/apko".to_owned(),
            history_author: "apko".to_owned(),
            created_by: "apko".to_owned(),
            single_layer_comment: "This is an apko single-layer image".to_owned(),
        }
    }
}

/// Everything that goes into an image config besides the layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageConfig {
    /// Target platform.
    pub platform: Platform,
    /// Build date, RFC 3339 (e.g. `1970-01-01T00:00:00Z`); used for
    /// `created`, history and the `org.opencontainers.image.created`
    /// annotation.
    pub created: String,
    /// `Entrypoint` (omitted when empty).
    pub entrypoint: Vec<String>,
    /// `Cmd` (omitted when empty).
    pub cmd: Vec<String>,
    /// `Env` as `K=V`, already sorted and defaulted by the caller.
    pub env: Vec<String>,
    /// `User`.
    pub user: Option<String>,
    /// `WorkingDir`.
    pub working_dir: Option<String>,
    /// `StopSignal`.
    pub stop_signal: Option<String>,
    /// `Volumes` (paths).
    pub volumes: Vec<String>,
    /// Annotations; they become `Labels` and manifest annotations, plus
    /// `org.opencontainers.image.created` (which overrides any given one).
    pub annotations: BTreeMap<String, String>,
    /// Tool name strings.
    pub authorship: Authorship,
}

impl Default for ImageConfig {
    /// linux/amd64, created at the epoch, nothing else set.
    fn default() -> Self {
        ImageConfig {
            platform: Platform::linux("amd64", None),
            created: "1970-01-01T00:00:00Z".to_owned(),
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env: Vec::new(),
            user: None,
            working_dir: None,
            stop_signal: None,
            volumes: Vec::new(),
            annotations: BTreeMap::new(),
            authorship: Authorship::default(),
        }
    }
}

/// A built image: config and manifest bytes plus the layers they name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The config JSON.
    pub config_json: Vec<u8>,
    /// `sha256:<hex>` of [`Image::config_json`].
    pub config_digest: String,
    /// The manifest JSON.
    pub manifest_json: Vec<u8>,
    /// `sha256:<hex>` of [`Image::manifest_json`].
    pub manifest_digest: String,
    /// The platform (goes into the index).
    pub platform: Platform,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
}

/// Errors writing images.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// A layer blob could not be read.
    #[error("reading layer blob {}: {source}", path.display())]
    ReadLayer {
        /// The blob file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A layer blob's bytes differ from its descriptor.
    #[error(
        "layer blob {} does not match its descriptor: expected {expected_digest} ({expected_size} bytes), found {actual_digest} ({actual_size} bytes)",
        path.display()
    )]
    LayerMismatch {
        /// The blob file.
        path: PathBuf,
        /// Digest in the descriptor.
        expected_digest: String,
        /// Size in the descriptor.
        expected_size: u64,
        /// Digest of the file.
        actual_digest: String,
        /// Size of the file.
        actual_size: u64,
    },
    /// A layer digest is not `sha256:<64 lowercase hex>`.
    #[error("layer blob {} has an invalid digest {digest:?}", path.display())]
    InvalidDigest {
        /// The blob file.
        path: PathBuf,
        /// The digest as given.
        digest: String,
    },
    /// An output file or directory could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// No images were given.
    #[error("no images to write")]
    NoImages,
    /// Two images share a platform.
    #[error("two images have the platform {platform} (manifests {first} and {second})")]
    DuplicatePlatform {
        /// The platform.
        platform: String,
        /// One manifest digest.
        first: String,
        /// The other manifest digest.
        second: String,
    },
    /// A tag or ref name is empty or contains characters a reference cannot.
    #[error("invalid tag {tag:?}: {reason}")]
    InvalidTag {
        /// The tag as given.
        tag: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::Platform;

    #[test]
    fn apk_arch_mapping_round_trips() {
        for apk in [
            "x86",
            "x86_64",
            "aarch64",
            "armhf",
            "armv7",
            "loongarch64",
            "ppc64le",
            "riscv64",
            "s390x",
        ] {
            let p = Platform::from_apk_arch(apk).unwrap();
            assert_eq!(p.apk_arch(), Some(apk));
            assert_eq!(p.os, "linux");
        }
        let arm = Platform::from_apk_arch("armv7").unwrap();
        assert_eq!(arm.to_string(), "arm/v7");
        assert_eq!(arm.tag_suffix(), "arm_v7");
        assert!(Platform::from_apk_arch("sparc").is_none());
    }
}
