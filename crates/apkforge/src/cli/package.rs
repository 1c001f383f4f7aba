//! `apkforge package ...`: melange's commands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    /// Package format: `v3` writes apk-tools 3 packages and `Packages.adb`.
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::cli::Format,
}
