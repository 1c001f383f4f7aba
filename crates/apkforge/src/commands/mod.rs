//! One module per command.

mod apk_inspect;
pub mod apk_pack;
mod apk_verify;
mod apk_version;
pub mod image_build;
pub mod image_lock;
mod image_publish;
pub mod image_request;
mod image_show;
mod index;
mod keygen;
mod login;
mod package;
mod sign;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{ApkCommand, Cli, Command, ImageCommand, PackageCommand};

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
        Command::Image(ImageCommand::Build(args)) => image_build::run(&args),
        Command::Image(ImageCommand::Publish(args)) => image_publish::run(&args),
        Command::Image(ImageCommand::Lock(args)) => image_lock::lock(&args),
        Command::Image(ImageCommand::BuildMinirootfs(args)) => image_lock::minirootfs(&args),
        Command::Image(ImageCommand::Dot(args)) => image_lock::dot(&args),
        Command::Login(args) => login::run(&args),
        Command::Package(PackageCommand::Build(args)) => package::build(&args),
        Command::Package(PackageCommand::Compile(args)) => package::compile(&args),
        Command::Package(PackageCommand::Test(args)) => package::test(&args),
        Command::Package(PackageCommand::Lint(args)) => package::lint(&args),
        Command::Image(ImageCommand::Clean(args)) => image_show::clean(&args),
        Command::Image(ImageCommand::ShowConfig(args)) => image_show::show_config(&args),
        Command::Image(ImageCommand::ShowPackages(args)) => image_show::show_packages(&args),
    }
}
