//! `apkforge image publish CONFIG TAG...`

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::ImagePublishArgs;

pub fn run(args: &ImagePublishArgs) -> Result<ExitCode> {
    let _ = args;
    bail!("image publish is not implemented yet")
}
