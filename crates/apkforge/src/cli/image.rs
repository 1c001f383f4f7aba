//! `apkforge image ...`: apko's commands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `image publish`
#[derive(Debug, Args)]
pub struct ImagePublishArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Image references to push, e.g. `registry.example.com/app:1.0`.
    #[arg(required = true)]
    pub tags: Vec<String>,
    /// Resolution flags.
    #[command(flatten)]
    pub resolve: ResolveArgs,
    /// Build and output flags.
    #[command(flatten)]
    pub build: BuildFlags,
    /// Write the per-arch and index references (name@digest) to this file.
    #[arg(long)]
    pub image_refs: Option<PathBuf>,
    /// Registries (host[:port]) that may be spoken to over plain HTTP.
    #[arg(long = "insecure-registry")]
    pub insecure_registries: Vec<String>,
    /// Load the image into the local engine (Docker or podman's API
    /// service, at DOCKER_HOST) under every tag, instead of pushing; the
    /// image of the engine's architecture when there are several.
    #[arg(long)]
    pub local: bool,
    /// Blobs larger than this many bytes are uploaded in chunks of this
    /// size (PATCH); smaller ones with a single PUT.
    #[arg(long, default_value_t = 32 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_chunk_size: u64,
}

/// `apkforge image ...`: apko's commands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build an image: OUT is an OCI layout when it is an existing directory
    /// (or ends in `/`), else a docker-loadable tar.
    Build(Box<ImageBuildArgs>),
    /// Build an image and push it (per-arch images and the index) to a registry.
    Publish(Box<ImagePublishArgs>),
    /// Resolve a config and write an apko-format lock file.
    Lock(Box<ImageLockArgs>),
    /// Build only the root filesystem, as a `.tar.gz`.
    BuildMinirootfs(Box<MinirootfsArgs>),
    /// Print the resolved dependency graph in Graphviz dot format.
    Dot(Box<DotArgs>),
    /// Print the fully merged config as YAML.
    ShowConfig(ShowConfigArgs),
    /// Remove the cache (indexes, packages, expanded data, layers).
    Clean(CleanArgs),
    /// Resolve and list the packages an image would contain.
    ShowPackages(Box<ShowPackagesArgs>),
    /// Every dependency chain from the config's packages to PKG, or why it
    /// is not in the image (exit status 1).
    Why(Box<WhyArgs>),
    /// Per package: installed bytes, files and share of the image; totals
    /// and the compressed size. Of a config (built first) or of an image
    /// (OCI layout or docker archive).
    Size(Box<SizeArgs>),
    /// Packages added, removed, upgraded and downgraded between two
    /// images, configs or lock files, with size changes; `--files` for the
    /// files too.
    Diff(Box<DiffArgs>),
}

/// `image why`
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The apko config.
    pub config: PathBuf,
    /// The package (or a name a package provides, e.g. `so:libz.so.1`).
    pub package: String,
    /// Resolution flags (`--arch` picks the architecture; default the first).
    #[command(flatten)]
    pub resolve: ResolveArgs,
}

/// `image size`
#[derive(Debug, Args)]
pub struct SizeArgs {
    /// An apko config, an OCI layout directory or a docker archive.
    pub input: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Resolution flags, for a config (`--arch` also picks the image of a
    /// multi-arch layout or archive).
    #[command(flatten)]
    pub resolve: ResolveArgs,
}

/// `image diff`
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Before: a config, lock file, OCI layout or docker archive.
    pub a: PathBuf,
    /// After: same kinds.
    pub b: PathBuf,
    /// Also list files added, removed and changed.
    #[arg(long)]
    pub files: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Resolution flags, for configs (`--arch` picks the architecture).
    #[command(flatten)]
    pub resolve: ResolveArgs,
}

/// Flags shared by commands that resolve a config (as apko's).
#[derive(Debug, Args, Clone)]
pub struct ResolveArgs {
    /// Architectures (apk or OCI names; repeatable or comma-separated).
    #[arg(long = "arch", value_delimiter = ',')]
    pub arch: Vec<String>,
    /// Extra trusted keys (paths or URLs).
    #[arg(short = 'k', long = "keyring-append")]
    pub keyring_append: Vec<String>,
    /// Extra repositories (also written into the image).
    #[arg(short = 'r', long = "repository-append")]
    pub repository_append: Vec<String>,
    /// Extra build-only repositories.
    #[arg(short = 'b', long = "build-repository-append")]
    pub build_repository_append: Vec<String>,
    /// Extra packages.
    #[arg(short = 'p', long = "package-append")]
    pub package_append: Vec<String>,
    /// Directories searched for `include:` files.
    #[arg(long = "include-paths", value_delimiter = ',')]
    pub include_paths: Vec<PathBuf>,
    /// Cache directory (default: the user cache dir).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Use only cached indexes and packages.
    #[arg(long)]
    pub offline: bool,
    /// Do not verify index signatures (dangerous).
    #[arg(long)]
    pub ignore_signatures: bool,
}

/// Flags `image build` and `image publish` share.
#[derive(Debug, Args, Clone)]
pub struct BuildFlags {
    /// Build date (RFC 3339); SOURCE_DATE_EPOCH wins when set.
    #[arg(long)]
    pub build_date: Option<String>,
    /// Write SBOMs.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sbom: bool,
    /// Directory for SBOMs (default: beside the output; for publish, the current directory).
    #[arg(long)]
    pub sbom_path: Option<PathBuf>,
    /// SBOM formats: spdx, cyclonedx.
    #[arg(long, value_delimiter = ',', default_value = "spdx")]
    pub sbom_formats: Vec<String>,
    /// Extra annotations as KEY:VALUE.
    #[arg(long, value_delimiter = ',')]
    pub annotations: Vec<String>,
    /// gzip level of layers (1 fastest .. 9 smallest).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub compression_level: u32,
    /// Build exactly the packages of this lock file (see `image lock`).
    #[arg(long)]
    pub lockfile: Option<PathBuf>,
    /// Annotate the image with the git remote and commit of the config's
    /// checkout (when the config has no `vcs-url`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub vcs: bool,
}

/// `image build`
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Image reference (tag), e.g. `alpine-base:latest`.
    pub tag: String,
    /// Output: existing directory (OCI layout) or tar file (docker archive).
    pub output: PathBuf,
    /// Resolution flags.
    #[command(flatten)]
    pub resolve: ResolveArgs,
    /// Build and output flags.
    #[command(flatten)]
    pub build: BuildFlags,
}

/// `image lock`
#[derive(Debug, Args)]
pub struct ImageLockArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Where to write the lock (default `<config stem>.lock.json`).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Resolution flags.
    #[command(flatten)]
    pub resolve: ResolveArgs,
}

/// `image build-minirootfs`
#[derive(Debug, Args)]
pub struct MinirootfsArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Output `.tar.gz`.
    pub output: PathBuf,
    /// Architecture (default: the host's).
    #[arg(long)]
    pub build_arch: Option<String>,
    /// Resolution flags.
    #[command(flatten)]
    pub resolve: ResolveArgs,
    /// Build date (RFC 3339); SOURCE_DATE_EPOCH wins when set.
    #[arg(long)]
    pub build_date: Option<String>,
}

/// `image dot`
#[derive(Debug, Args)]
pub struct DotArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Resolution flags.
    #[command(flatten)]
    pub resolve: ResolveArgs,
}

/// `image clean`
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Cache directory (default: the user cache dir).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Only say what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

/// `image show-config`
#[derive(Debug, Args)]
pub struct ShowConfigArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Directories searched for `include:` files.
    #[arg(long = "include-paths", value_delimiter = ',')]
    pub include_paths: Vec<PathBuf>,
}

/// `image show-packages`
#[derive(Debug, Args)]
pub struct ShowPackagesArgs {
    /// The apko config.
    pub config: PathBuf,
    /// Resolution flags.
    #[command(flatten)]
    pub resolve: ResolveArgs,
    /// Output format: name-version (`name version`), name-version-source,
    /// name=version, name=version-source, name-(version),
    /// name-(version)-source, packagelock (`- name=version`),
    /// packagelock-source, or a Go template over {{ .Name }}, {{ .Version }},
    /// {{ .Source }}, {{ .Arch }}, {{ .Origin }}, {{ .License }}.
    #[arg(long, default_value = "name-version")]
    pub format: String,
}
