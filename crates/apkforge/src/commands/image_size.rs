//! `apkforge image size CONFIG|IMAGE [--json]`

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::SizeArgs;
use crate::commands::image_inputs::inventory;

pub fn run(args: &SizeArgs) -> Result<ExitCode> {
    let inv = inventory(&args.input, &args.resolve)?;
    let report = insight::size::report(&inv).context("a lock file has no sizes")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", insight::size::render(&report));
    }
    Ok(ExitCode::SUCCESS)
}
