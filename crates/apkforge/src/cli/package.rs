//! `apkforge package ...`: melange's commands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `apkforge package ...`: melange's commands.
#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Build the packages of a recipe in a sandbox.
    Build(Box<PackageBuildArgs>),
    /// Print the fully evaluated recipe as JSON, without building.
    Compile(PackageCompileArgs),
    /// Run a recipe's `test:` pipelines against its built packages, the
    /// main package's and each subpackage's in its own environment.
    Test(Box<PackageTestArgs>),
    /// Run melange's linters on built packages (and check recipes given as
    /// `.yaml` files for common mistakes).
    Lint(PackageLintArgs),
    /// Generate a key pair for signing packages (`melange.rsa`, `melange.rsa.pub`).
    Keygen(PackageKeygenArgs),
    /// Create a repository index from package files.
    Index(PackageIndexArgs),
    /// Sign a repository index (already signed ones are left alone unless `--force`).
    SignIndex(PackageSignIndexArgs),
    /// Sign packages in place, replacing their signature.
    Sign(PackageSignArgs),
    /// Print `<name>-<version>-r<epoch>` of the package a recipe builds.
    PackageVersion(PackageVersionArgs),
    /// Print a Go template evaluated over a recipe (`{{ .Package.Name }}`).
    Query(PackageQueryArgs),
    /// Show the dependency graph of a tree of recipes (text, JSON plan,
    /// Graphviz dot or an Argo Workflows workflow).
    Graph(Box<PackageGraphArgs>),
    /// Build a tree of recipes in dependency order, incrementally, into one
    /// repository.
    BuildTree(Box<PackageBuildTreeArgs>),
    /// Move a recipe to a new version: version, epoch, fetch checksums and
    /// the git-checkout commit, the rest of the file left as written.
    Bump(PackageBumpArgs),
    /// Run the analysis (SCA) on a recipe's built packages again and print
    /// the `.PKGINFO` it gives, or with `--diff` how it differs from the
    /// packages' own.
    Scan(PackageScanArgs),
    /// Detect the licenses of a source tree, a recipe's sources or a
    /// package's recipe's sources, and compare them with the recipe's
    /// `copyright:` (`--fix` rewrites it).
    LicenseCheck(PackageLicenseCheckArgs),
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

/// `package build` / `package test`: melange's `build` flags.
#[derive(Clone, Debug, Args)]
pub struct PackageBuildArgs {
    /// The melange recipe.
    pub recipe: PathBuf,
    /// Architectures to build for, comma-separated (default: the host's);
    /// others than the host's run under user-mode emulation.
    #[arg(long)]
    pub arch: Option<String>,
    /// Sign packages and the index with this RSA private key.
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Output directory; packages go to `<out-dir>/<arch>/`.
    #[arg(long, default_value = "./packages")]
    pub out_dir: PathBuf,
    /// Extra repositories for the build environment.
    #[arg(short = 'r', long = "repository-append", value_delimiter = ',')]
    pub repository_append: Vec<String>,
    /// Extra keys for the build environment.
    #[arg(short = 'k', long = "keyring-append", value_delimiter = ',')]
    pub keyring_append: Vec<String>,
    /// Extra packages for the build environment.
    #[arg(long = "package-append", value_delimiter = ',')]
    pub package_append: Vec<String>,
    /// Directory copied into the workspace (default: the recipe's directory).
    #[arg(long)]
    pub source_dir: Option<PathBuf>,
    /// Start with an empty workspace instead of the source directory.
    #[arg(long)]
    pub empty_workspace: bool,
    /// Directory for the workspace (`<dir>/<arch>`) instead of a temporary one.
    #[arg(long)]
    pub workspace_dir: Option<PathBuf>,
    /// Directory searched for `uses:` pipelines before the built-in ones.
    #[arg(long = "pipeline-dir")]
    pub pipeline_dirs: Vec<PathBuf>,
    /// More pipeline directories, searched after `--pipeline-dir`.
    #[arg(long = "pipeline-dirs", value_delimiter = ',')]
    pub more_pipeline_dirs: Vec<PathBuf>,
    /// Source cache, mounted at /var/cache/melange: downloads and clones are
    /// kept and reused there [default: ./melange-cache/ when it exists].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Cache for indexes, packages and build environments (default: the user cache dir).
    #[arg(long)]
    pub apk_cache_dir: Option<PathBuf>,
    /// What runs the steps: `bubblewrap`, or `docker` (a container per
    /// build through the Docker Engine API at `DOCKER_HOST`).
    #[arg(long, default_value = "bubblewrap")]
    pub runner: String,
    /// Allow network access in build steps.
    #[arg(long)]
    pub network: bool,
    /// Trace the steps (`set -x`) and keep a failed build, saying how to enter it.
    #[arg(long)]
    pub debug: bool,
    /// On a failed step, open a shell in its sandbox on this terminal.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Remove the build's temporary directories (`--rm=false` keeps a failed build).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub rm: bool,
    /// Clean up the guest directory (`--cleanup=false` keeps a failed build).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub cleanup: bool,
    /// Write `<out-dir>/<arch>/APKINDEX.tar.gz` (`--generate-index=false` skips it).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub generate_index: bool,
    /// Accept repository indexes whose signature does not verify.
    #[arg(long)]
    pub ignore_signatures: bool,
    /// Build option of the recipe's `options:` to enable.
    #[arg(long = "build-option", value_delimiter = ',')]
    pub build_options: Vec<String>,
    /// YAML map of vars replacing the recipe's.
    #[arg(long)]
    pub vars_file: Option<PathBuf>,
    /// Environment file (`KEY=VALUE` lines) under the recipe's `environment`.
    #[arg(long = "env-file", value_delimiter = ',')]
    pub env_files: Vec<PathBuf>,
    /// Timestamps of the packages (RFC 3339); default SOURCE_DATE_EPOCH.
    #[arg(long)]
    pub build_date: Option<String>,
    /// Stop the build after this long (a Go duration, `90m`), replacing `package.timeout`.
    #[arg(long)]
    pub timeout: Option<String>,
    /// Namespace of the packages' URLs in SBOMs (`wolfi`, `alpine`).
    #[arg(long, default_value = "unknown")]
    pub namespace: String,
    /// Commit of the recipe's repository (default: detected from its git checkout).
    #[arg(long)]
    pub git_commit: Option<String>,
    /// URL of the recipe's repository (default: its checkout's `origin`).
    #[arg(long)]
    pub git_repo_url: Option<String>,
    /// License of the recipe file itself.
    #[arg(long, default_value = "NOASSERTION")]
    pub license: String,
    /// libc flavor of `${{host.triplet.*}}` (gnu or musl).
    #[arg(
        long = "override-host-triplet-libc-substitution-flavor",
        default_value = "gnu"
    )]
    pub libc: String,
    /// Use each subpackage's own name as its origin (bootstrap).
    #[arg(long)]
    pub strip_origin_name: bool,
    /// Append `arch|origin|name|version` of each package to ./packages.log.
    #[arg(long)]
    pub create_build_log: bool,
    /// Least severe messages shown: debug, info, warn, error.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Package format: `v3` writes apk-tools 3 packages and `Packages.adb`.
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::cli::Format,
    /// Write what the analysis generated for each package (`{"runtime":
    /// [...], "provides": [...]}`, one line per package) to `FILE.<arch>`.
    #[arg(long, value_name = "FILE")]
    pub dependency_log: Option<PathBuf>,
    /// Linters whose findings fail the build [default: melange's required set].
    #[arg(long = "lint-require", value_delimiter = ',')]
    pub lint_require: Option<Vec<String>>,
    /// Linters whose findings are printed as warnings [default: melange's].
    #[arg(long = "lint-warn", value_delimiter = ',')]
    pub lint_warn: Option<Vec<String>>,
    /// Write each package's lint findings to
    /// `<out-dir>/<arch>/lint-<name>-<version>.json`.
    #[arg(long)]
    pub persist_lint_results: bool,
}

/// `package keygen`
#[derive(Debug, Args)]
pub struct PackageKeygenArgs {
    /// Private key file; the public key is written beside it with `.pub`.
    #[arg(default_value = "melange.rsa")]
    pub name: PathBuf,
    /// Key size in bits (at least 2048).
    #[arg(long, default_value_t = 4096)]
    pub key_size: usize,
}

/// `package index`
#[derive(Debug, Args)]
pub struct PackageIndexArgs {
    /// Packages to index.
    #[arg(required = true)]
    pub packages: Vec<PathBuf>,
    /// Where to write the index.
    #[arg(short, long, default_value = "APKINDEX.tar.gz")]
    pub output: PathBuf,
    /// Index whose entries `--merge` keeps (default: `APKINDEX.tar.gz`).
    #[arg(short, long, default_value = "APKINDEX.tar.gz")]
    pub source: PathBuf,
    /// Index only packages of this architecture (others are skipped with a warning).
    #[arg(short, long)]
    pub arch: Option<String>,
    /// Sign the index with this RSA private key.
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Keep the entries of the `--source` index (a package of the same name
    /// and version replaces its entry).
    #[arg(short, long)]
    pub merge: bool,
}

/// `package sign-index`
#[derive(Debug, Args)]
pub struct PackageSignIndexArgs {
    /// The index (`APKINDEX.tar.gz`).
    pub index: PathBuf,
    /// RSA private key.
    #[arg(long, default_value = "melange.rsa")]
    pub signing_key: PathBuf,
    /// Replace an existing signature.
    #[arg(short, long)]
    pub force: bool,
}

/// `package sign`
#[derive(Debug, Args)]
pub struct PackageSignArgs {
    /// Packages to sign in place.
    #[arg(required = true)]
    pub packages: Vec<PathBuf>,
    /// RSA private key.
    #[arg(short = 'k', long, default_value = "local-melange.rsa")]
    pub signing_key: PathBuf,
}

/// `package package-version`
#[derive(Debug, Args)]
pub struct PackageVersionArgs {
    /// The melange recipe.
    pub recipe: PathBuf,
}

/// `package query`
#[derive(Debug, Args)]
pub struct PackageQueryArgs {
    /// The melange recipe.
    pub recipe: PathBuf,
    /// A Go template, e.g. `{{ .Package.Name }}-{{ .Package.Version }}`.
    pub template: String,
}

/// `package test`: melange's `test` flags.
#[derive(Debug, Args)]
pub struct PackageTestArgs {
    /// The melange recipe.
    pub recipe: PathBuf,
    /// Installed instead of the main package in its test environment
    /// (a name or `name=version`).
    pub package: Option<String>,
    /// Architecture to test (others than the host's run under emulation).
    #[arg(long)]
    pub arch: Option<String>,
    /// Extra packages installed in every test environment.
    #[arg(long = "test-package-append", value_delimiter = ',')]
    pub test_package_append: Vec<String>,
    /// Extra repositories for the test environments.
    #[arg(short = 'r', long = "repository-append", value_delimiter = ',')]
    pub repository_append: Vec<String>,
    /// Extra keys for the test environments.
    #[arg(short = 'k', long = "keyring-append", value_delimiter = ',')]
    pub keyring_append: Vec<String>,
    /// The build's output directory: `<out-dir>/<arch>` is a test
    /// repository when it exists (apkforge's addition; melange needs `-r`).
    #[arg(long, default_value = "./packages")]
    pub out_dir: PathBuf,
    /// The key the packages were signed with: its public key is trusted
    /// (apkforge's addition; melange needs `-k`).
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Directory copied into each test workspace (none by default).
    #[arg(long)]
    pub source_dir: Option<PathBuf>,
    /// Directory for the workspace (`<dir>/<arch>`) instead of a temporary one.
    #[arg(long)]
    pub workspace_dir: Option<PathBuf>,
    /// Directories searched for `uses:` pipelines before the built-in ones.
    #[arg(long = "pipeline-dirs", value_delimiter = ',')]
    pub pipeline_dirs: Vec<PathBuf>,
    /// Same as `--pipeline-dirs`, one directory.
    #[arg(long = "pipeline-dir")]
    pub pipeline_dir: Vec<PathBuf>,
    /// Source cache, mounted at /var/cache/melange.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Cache for indexes and packages (default: the user cache dir).
    #[arg(long)]
    pub apk_cache_dir: Option<PathBuf>,
    /// Build options of the recipe to enable.
    #[arg(long = "test-option", value_delimiter = ',')]
    pub test_options: Vec<String>,
    /// Environment file (`KEY=VALUE` lines) under the recipe's `environment`.
    #[arg(long = "env-file", value_delimiter = ',')]
    pub env_files: Vec<PathBuf>,
    /// What runs the steps: `bubblewrap` or `docker`.
    #[arg(long, default_value = "bubblewrap")]
    pub runner: String,
    /// Trace the steps (`set -x`) and keep a failed test, saying how to enter it.
    #[arg(long)]
    pub debug: bool,
    /// Keep the test's directories even when it passes.
    #[arg(long)]
    pub debug_runner: bool,
    /// On a failed step, open a shell in its sandbox on this terminal.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Remove the test's temporary directories (`--rm=false` keeps a failed test).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub rm: bool,
    /// Accept repository indexes whose signature does not verify.
    #[arg(long)]
    pub ignore_signatures: bool,
    /// Stop each test after this long (a Go duration, `30m`).
    #[arg(long)]
    pub timeout: Option<String>,
    /// Least severe messages shown: debug, info, warn, error.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// `package lint`: melange's `lint` flags.
#[derive(Debug, Args)]
pub struct PackageLintArgs {
    /// Packages (`.apk`) to lint; a recipe (`.yaml`) is checked for common
    /// mistakes instead.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Linters whose findings fail the package [default: melange's required set].
    #[arg(long = "lint-require", value_delimiter = ',')]
    pub lint_require: Option<Vec<String>>,
    /// Linters whose findings are warnings [default: melange's warning set].
    #[arg(long = "lint-warn", value_delimiter = ',')]
    pub lint_warn: Option<Vec<String>>,
    /// Write the findings to `<out-dir>/<arch>/lint-<name>-<version>.json`.
    #[arg(long)]
    pub persist_lint_results: bool,
    /// Where `--persist-lint-results` writes.
    #[arg(long, default_value = "packages")]
    pub out_dir: PathBuf,
    /// Architecture to evaluate recipes for (default: the host's).
    #[arg(long)]
    pub arch: Option<String>,
    /// Directories searched for `uses:` pipelines (recipes).
    #[arg(long = "pipeline-dir")]
    pub pipeline_dirs: Vec<PathBuf>,
}

/// What both tree commands read: the recipes, how to compile them, the
/// repository they build into and the repositories they build from.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Recipe files, or directories whose `*.yaml` files are recipes.
    #[arg(required = true, value_name = "DIR|RECIPE")]
    pub recipes: Vec<PathBuf>,
    /// Directories searched for `uses:` pipelines before the built-in ones.
    #[arg(long = "pipeline-dir")]
    pub pipeline_dirs: Vec<PathBuf>,
    /// The tree's repository; packages go to `<out-dir>/<arch>/`.
    #[arg(long, default_value = "./packages")]
    pub out_dir: PathBuf,
    /// Sign packages and the index with this RSA private key (its public
    /// key is written beside the repository as `<out-dir>/<name>.pub`).
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Repositories for packages no recipe of the tree makes.
    #[arg(short = 'r', long = "repository-append")]
    pub repository_append: Vec<String>,
    /// Keys of those repositories.
    #[arg(short = 'k', long = "keyring-append")]
    pub keyring_append: Vec<String>,
    /// Source cache shared by the builds (default: `./melange-cache/` if
    /// it exists).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Cache for repository indexes, packages and build environments
    /// (default: the user cache dir).
    #[arg(long)]
    pub apk_cache_dir: Option<PathBuf>,
    /// Accept repository indexes whose signature does not verify.
    #[arg(long)]
    pub ignore_signatures: bool,
}

/// `package graph` output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Recipes by level with their edges, cycles, missing packages.
    Text,
    /// The plan for other schedulers: nodes, edges, input digests, state.
    Json,
    /// Graphviz.
    Dot,
    /// An Argo Workflows `Workflow` (YAML).
    Argo,
}

/// `package graph`
#[derive(Debug, Args)]
pub struct PackageGraphArgs {
    /// The tree.
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Architectures (repeatable; default: the host's).
    #[arg(long = "arch")]
    pub archs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: GraphFormat,
    /// argo: the container image that runs `apkforge package build`.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// argo: the PersistentVolumeClaim holding the recipes (as in the
    /// current directory) and the repository.
    #[arg(long, value_name = "NAME")]
    pub volume_claim: Option<String>,
    /// argo: the Secret holding the signing key and its `.pub`.
    #[arg(long, value_name = "NAME")]
    pub signing_key_secret: Option<String>,
    /// argo: the signing key's file name in the secret (default: the
    /// name of --signing-key, else `melange.rsa`).
    #[arg(long, value_name = "FILE")]
    pub signing_key_name: Option<String>,
}

/// `package build-tree`
#[derive(Debug, Args)]
pub struct PackageBuildTreeArgs {
    /// The tree.
    #[command(flatten)]
    pub tree: TreeArgs,
    /// Architecture to build for (others than the host's run under emulation).
    #[arg(long)]
    pub arch: Option<String>,
    /// Builds at a time.
    #[arg(short = 'j', long = "jobs", default_value_t = 1)]
    pub jobs: usize,
    /// Build everything that does not depend on a failure.
    #[arg(long)]
    pub keep_going: bool,
    /// Print what would be built and why, build nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// What runs the steps: `bubblewrap` or `docker`.
    #[arg(long, default_value = "bubblewrap")]
    pub runner: String,
    /// Allow network access in build steps.
    #[arg(long)]
    pub network: bool,
    /// Trace the steps' commands; keep the workspace of a failed build and
    /// print how to enter it.
    #[arg(long)]
    pub debug: bool,
    /// Linters whose findings fail a build [default: melange's required set].
    #[arg(long = "lint-require", value_delimiter = ',')]
    pub lint_require: Option<Vec<String>>,
    /// Linters whose findings are printed as warnings [default: melange's].
    #[arg(long = "lint-warn", value_delimiter = ',')]
    pub lint_warn: Option<Vec<String>>,
    /// Write each package's lint findings to
    /// `<out-dir>/<arch>/lint-<name>-<version>.json`.
    #[arg(long)]
    pub persist_lint_results: bool,
}

/// `package bump`
#[derive(Debug, Args)]
pub struct PackageBumpArgs {
    /// The melange recipe (edited in place).
    pub recipe: PathBuf,
    /// The new version.
    pub version: String,
    /// New `expected-commit` of the `git-checkout` steps that follow the version.
    #[arg(long)]
    pub expected_commit: Option<String>,
}

/// `package scan`: melange's `scan` flags.
#[derive(Debug, Args)]
pub struct PackageScanArgs {
    /// The melange recipe whose packages are scanned.
    pub recipe: PathBuf,
    /// Architectures to scan [default: x86_64].
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// Show how the packages' `.PKGINFO` differ from the regenerated ones
    /// (and fail when they do).
    #[arg(long)]
    pub diff: bool,
    /// Compare comment lines of `.PKGINFO` too.
    #[arg(long)]
    pub comments: bool,
    /// Print only this package's `.PKGINFO`.
    #[arg(short = 'p', long)]
    pub package: Option<String>,
    /// Repository holding `<arch>/<name>-<version>-r<epoch>.apk`: a
    /// directory or an http(s) URL.
    #[arg(short = 'r', long = "repository-append", default_value = "./packages")]
    pub repository: PathBuf,
    /// Public key the packages' signatures must verify against (not checked
    /// when not given).
    #[arg(short = 'k', long = "keyring-append")]
    pub keyring: Option<PathBuf>,
    /// Namespace of package URLs (accepted; `.PKGINFO` does not hold it).
    #[arg(long, default_value = "unknown")]
    pub namespace: String,
    /// Directories searched for `uses:` pipelines before the built-in ones.
    #[arg(long = "pipeline-dir")]
    pub pipeline_dirs: Vec<PathBuf>,
}

/// `package license-check`: melange's `license-check` flags.
#[derive(Debug, Args)]
pub struct PackageLicenseCheckArgs {
    /// A source directory, a melange recipe (`.yaml`: its sources are
    /// fetched) or a package (`.apk`: its `.melange.yaml`'s sources).
    pub file: PathBuf,
    /// Rewrite the recipe's `copyright:` with the licenses detected.
    #[arg(long)]
    pub fix: bool,
    /// `--fix` layout: `flat` (one entry per license file) or `simple`
    /// (one entry, the licenses joined by AND).
    #[arg(long, value_enum, default_value_t = LicenseFixFormat::Flat)]
    pub format: LicenseFixFormat,
    /// `shallow` (the top directory and one level below, no `vendor/`) or
    /// `deep` (the whole tree).
    #[arg(long, value_enum, default_value_t = LicenseScanType::Shallow)]
    pub scan_type: LicenseScanType,
    /// Where the sources are fetched to [default: a temporary directory]:
    /// melange's `--workdir`, which for this command replaces the global
    /// `-C/--workdir` (set from it, not parsed here).
    #[arg(skip)]
    pub workdir: Option<PathBuf>,
}

/// `package license-check --format`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LicenseFixFormat {
    /// One `copyright:` entry per detected license file.
    Flat,
    /// One entry: every detected license joined by AND.
    Simple,
}

/// `package license-check --scan-type`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LicenseScanType {
    /// The top directory and one level below.
    Shallow,
    /// The whole tree.
    Deep,
}
