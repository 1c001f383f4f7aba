//! One module per command.

mod apk_inspect;
mod apk_pack;
mod apk_verify;
mod apk_version;
mod index;
mod keygen;
mod sign;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{ApkCommand, Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Apk(ApkCommand::Inspect(args)) => apk_inspect::run(&args),
        Command::Apk(ApkCommand::Verify(args)) => apk_verify::run(&args),
        Command::Apk(ApkCommand::Version(args)) => apk_version::run(&args),
        Command::Apk(ApkCommand::Pack(args)) => apk_pack::run(&args),
        Command::Index(args) => index::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Keygen(args) => keygen::run(&args),
    }
}
