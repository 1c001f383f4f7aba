//! `apkforge login REGISTRY -u USER --password-stdin`

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::LoginArgs;

pub fn run(args: &LoginArgs) -> Result<ExitCode> {
    let _ = args;
    bail!("login is not implemented yet")
}
