//! What to build, independent of how the user wrote it (config file and
//! flags are turned into a [`BuildRequest`] by the caller).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rootfs::accounts::{Group, User};
use rootfs::paths::PathMutation;

/// Everything that determines an image.
#[derive(Clone, Debug, Default)]
pub struct BuildRequest {
    /// apk architectures to build (`x86_64`, `aarch64`, ...), deduplicated.
    pub archs: Vec<String>,
    /// Repositories used for the build and written into the image.
    pub repositories: Vec<String>,
    /// Repositories used only for the build.
    pub build_repositories: Vec<String>,
    /// Repositories written into the image only.
    pub runtime_repositories: Vec<String>,
    /// Public keys (paths or URLs) trusted for the build and installed.
    pub keyring: Vec<String>,
    /// Extra keys written into the image only: (file name, PEM).
    pub runtime_keyring: Vec<(String, Vec<u8>)>,
    /// World: package atoms.
    pub packages: Vec<String>,
    /// Users to add.
    pub users: Vec<User>,
    /// Groups to add.
    pub groups: Vec<Group>,
    /// `run-as`: user name or uid.
    pub run_as: Option<String>,
    /// `paths` mutations.
    pub paths: Vec<PathMutation>,
    /// `certificates.providers`: packages whose certificates join the bundle.
    pub certificate_providers: Vec<String>,
    /// Additional CA certificates: (name, PEM).
    pub certificates: Vec<(String, String)>,
    /// `layering: strategy: origin` with this layer budget.
    pub layering_budget: Option<usize>,
    /// s6 services (`entrypoint.services`): name → command, written to
    /// `/sv/<name>/run`.
    pub services: BTreeMap<String, String>,
    /// OCI entrypoint.
    pub entrypoint: Vec<String>,
    /// OCI cmd.
    pub cmd: Vec<String>,
    /// `K=V`, sorted, with defaults applied.
    pub env: Vec<String>,
    /// Working directory.
    pub work_dir: Option<String>,
    /// Stop signal.
    pub stop_signal: Option<String>,
    /// Volumes.
    pub volumes: Vec<String>,
    /// Annotations (and labels).
    pub annotations: BTreeMap<String, String>,
    /// Build on top of this image (`contents.baseimage`).
    pub base_image: Option<crate::base::BaseImage>,
}

/// How to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Cache directory.
    pub cache_dir: PathBuf,
    /// Use the cache only.
    pub offline: bool,
    /// Accept indexes whose signature does not verify.
    pub ignore_signatures: bool,
    /// `SOURCE_DATE_EPOCH`: fixes every timestamp. Without it the newest
    /// package build date is used, as apko does.
    pub source_date_epoch: Option<u64>,
    /// gzip level of the layer.
    pub compression_level: u32,
    /// Parallel downloads.
    pub jobs: usize,
    /// Scratch directory for layer blobs (kept until the build is written).
    pub work_dir: PathBuf,
    /// Build exactly the packages of this lock file.
    pub lock: Option<crate::lock::Lock>,
}

impl BuildRequest {
    /// The requested packages as dependency atoms (`contents.packages`),
    /// each checked strictly; the first that does not parse is the error.
    pub fn world(&self) -> Result<Vec<apk_format::Dependency>, crate::BuildError> {
        self.packages
            .iter()
            .map(|a| {
                apk_format::Dependency::parse_strict(a).map_err(|source| crate::BuildError::Atom {
                    atom: a.clone(),
                    source,
                })
            })
            .collect()
    }
}
