//! Command-line definitions (clap only; the work happens in `commands`).
//! One file per command family, so each grows on its own.

mod apk;
mod image;
mod package;

use clap::{Parser, Subcommand};

pub use apk::*;
pub use image::*;
pub use package::*;

/// Builds minimal OCI images from apk packages, and apk packages from recipes.
#[derive(Debug, Parser)]
#[command(name = "apkforge", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// How much to say on stderr: `debug`, `info` (progress), `warn`
    /// (warnings and errors only) or `error`.
    #[arg(long, global = true, default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,
    /// Run as if started in DIR (relative paths are read from there).
    #[arg(short = 'C', long = "workdir", global = true, value_name = "DIR")]
    pub workdir: Option<std::path::PathBuf>,
    /// How long a repository, key or registry server may stay silent
    /// (connecting, or waiting for its next bytes) before the attempt fails:
    /// seconds or a duration such as `500ms`, `1m` [default: 30s; env
    /// APKFORGE_HTTP_TIMEOUT].
    #[arg(long, global = true, value_name = "DURATION")]
    pub http_timeout: Option<String>,
    /// Longest time one download or registry request may take, retries
    /// included [default: 30m; env APKFORGE_HTTP_DEADLINE].
    #[arg(long, global = true, value_name = "DURATION")]
    pub http_deadline: Option<String>,
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion(CompletionArgs),
}

/// `completion SHELL`
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
