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

#[cfg(test)]
mod tests {
    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
