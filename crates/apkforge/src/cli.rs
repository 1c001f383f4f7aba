//! Command-line definitions (clap only; the work happens in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Builds minimal OCI images from apk packages, and apk packages from recipes.
#[derive(Debug, Parser)]
#[command(name = "apkforge", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with single apk packages and versions.
    #[command(subcommand)]
    Apk(ApkCommand),
    /// Create or update a signed APKINDEX.tar.gz from packages.
    Index(IndexArgs),
    /// Sign packages or indexes with an RSA key (SHA-256), replacing any signature.
    Sign(SignArgs),
    /// Generate an RSA signing key pair (NAME.rsa and NAME.rsa.pub).
    Keygen(KeygenArgs),
    /// Build OCI images from apko configs.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Store registry credentials in the docker config file.
    Login(LoginArgs),
    /// Build apk packages from melange recipes.
    #[command(subcommand)]
    Package(PackageCommand),
}

/// `apkforge package ...`: melange's commands.
#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Build the packages of a recipe in a sandbox.
    Build(Box<PackageBuildArgs>),
    /// Print the fully evaluated recipe as JSON, without building.
    Compile(PackageCompileArgs),
    /// Run a recipe's `test:` pipelines against its built package.
    Test(Box<PackageBuildArgs>),
    /// Check a recipe for common mistakes.
    Lint(PackageCompileArgs),
}

/// `package compile` / `package lint`
#[derive(Debug, Args)]
pub struct PackageCompileArgs {
    /// The melange recipe.
    pub recipe: PathBuf,
    /// Architecture to evaluate for (default: the host's).
    #[arg(long)]
    pub arch: Option<String>,
    /// Directories searched for `uses:` pipelines before the built-in ones.
    #[arg(long = "pipeline-dir")]
    pub pipeline_dirs: Vec<PathBuf>,
}

/// `package build` / `package test`
#[derive(Debug, Args)]
pub struct PackageBuildArgs {
    /// The melange recipe.
    pub recipe: PathBuf,
    /// Architecture to build for (only the host's can run here).
    #[arg(long)]
    pub arch: Option<String>,
    /// Sign packages and the index with this RSA private key.
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Output directory; packages go to `<out-dir>/<arch>/`.
    #[arg(long, default_value = "./packages")]
    pub out_dir: PathBuf,
    /// Extra repositories for the build environment.
    #[arg(short = 'r', long = "repository-append")]
    pub repository_append: Vec<String>,
    /// Extra keys for the build environment.
    #[arg(short = 'k', long = "keyring-append")]
    pub keyring_append: Vec<String>,
    /// Directory copied into the workspace before the pipeline.
    #[arg(long)]
    pub source_dir: Option<PathBuf>,
    /// Directories searched for `uses:` pipelines before the built-in ones.
    #[arg(long = "pipeline-dir")]
    pub pipeline_dirs: Vec<PathBuf>,
    /// Cache directory (default: the user cache dir).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Sandbox runner (only `bubblewrap`).
    #[arg(long, default_value = "bubblewrap")]
    pub runner: String,
    /// Allow network access in build steps.
    #[arg(long)]
    pub network: bool,
    /// Keep the workspace of a failed build and print how to enter it.
    #[arg(long)]
    pub debug: bool,
    /// Accept repository indexes whose signature does not verify.
    #[arg(long)]
    pub ignore_signatures: bool,
}

/// `login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry host (with port), e.g. `registry.example.com` or `127.0.0.1:5000`.
    pub registry: String,
    /// User name.
    #[arg(short, long)]
    pub username: String,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Allow plain HTTP to this registry (loopback hosts always may).
    #[arg(long = "insecure-registry")]
    pub insecure_registries: Vec<String>,
}

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
    #[arg(long, default_value_t = 6)]
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
    /// Output format: name-version, name=version, name-version-source, or a
    /// template using {{.Name}} {{.Version}} {{.Source}} {{.Arch}}.
    #[arg(long, default_value = "name-version")]
    pub format: String,
}

/// `apkforge apk ...`
#[derive(Debug, Subcommand)]
pub enum ApkCommand {
    /// Show a package's metadata, scripts, files and signature.
    Inspect(InspectArgs),
    /// Verify packages (signature, datahash, per-file checksums) or signed indexes.
    Verify(VerifyArgs),
    /// Compare two versions; prints `<`, `=` or `>` (like `apk version -t`).
    Version(VersionArgs),
    /// Pack a directory into a (signed) package, deterministic under SOURCE_DATE_EPOCH.
    Pack(Box<PackArgs>),
}

/// `apk pack`
#[derive(Debug, Args)]
pub struct PackArgs {
    /// Directory whose contents become the package's files.
    pub dir: PathBuf,
    /// Output file.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Package name.
    #[arg(long)]
    pub name: String,
    /// Full version, e.g. `1.2.3-r0`.
    #[arg(long)]
    pub version: String,
    /// Architecture.
    #[arg(long)]
    pub arch: String,
    /// One-line description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Project URL.
    #[arg(long, default_value = "")]
    pub url: String,
    /// SPDX license expression.
    #[arg(long, default_value = "")]
    pub license: String,
    /// Origin (source package) name; defaults to the package name.
    #[arg(long)]
    pub origin: Option<String>,
    /// Runtime dependency atom (repeatable).
    #[arg(long = "depend", value_name = "ATOM")]
    pub depends: Vec<String>,
    /// Provided name (repeatable), e.g. `cmd:hello=1.0-r0`.
    #[arg(long = "provides", value_name = "ATOM")]
    pub provides: Vec<String>,
    /// Control script as NAME=FILE, e.g. `.post-install=./post.sh` (repeatable).
    #[arg(long = "script", value_name = "NAME=FILE")]
    pub scripts: Vec<String>,
    /// Sign with this RSA private key.
    #[arg(long, value_name = "KEY")]
    pub signing_key: Option<PathBuf>,
}

/// Keys to trust.
#[derive(Debug, Args, Clone, Default)]
pub struct KeyringArgs {
    /// Directory of trusted public keys, or a single key file (repeatable).
    #[arg(short = 'k', long = "keyring", value_name = "DIR|FILE")]
    pub keyring: Vec<PathBuf>,
}

/// `apk inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The package.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Keys used to check the signature (without, the signature is listed unchecked).
    #[command(flatten)]
    pub keys: KeyringArgs,
}

/// `apk verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Packages (or APKINDEX.tar.gz indexes) to verify.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Trusted keys.
    #[command(flatten)]
    pub keys: KeyringArgs,
    /// Accept unsigned packages (their hashes are still checked).
    #[arg(long)]
    pub allow_unsigned: bool,
}

/// `apk version`
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// First version.
    pub a: String,
    /// Second version.
    pub b: String,
}

/// `index`
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Where to write the index.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Packages to index.
    #[arg(required = true)]
    pub packages: Vec<PathBuf>,
    /// Sign the index with this RSA private key.
    #[arg(long, value_name = "KEY")]
    pub signing_key: Option<PathBuf>,
    /// An existing index whose entries are kept unless a package replaces them.
    #[arg(short, long, value_name = "FILE")]
    pub merge: Option<PathBuf>,
    /// Index DESCRIPTION text.
    #[arg(short, long, default_value = "")]
    pub description: String,
    /// Record every package under this architecture (as `apk index --rewrite-arch`).
    #[arg(long, value_name = "ARCH")]
    pub rewrite_arch: Option<String>,
}

/// `sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// RSA private key (PEM). Signatures name the public key `<key file name>.pub`.
    #[arg(long, value_name = "KEY")]
    pub signing_key: PathBuf,
    /// Packages (.apk) or indexes (APKINDEX.tar.gz) to sign in place.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `keygen`
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key name: writes NAME.rsa and NAME.rsa.pub.
    #[arg(default_value = "apkforge")]
    pub name: String,
    /// Key size in bits.
    #[arg(long, default_value_t = 4096)]
    pub bits: usize,
}

#[cfg(test)]
mod tests {
    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
