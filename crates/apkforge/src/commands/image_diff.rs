//! `apkforge image diff A B [--files] [--json]`

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::DiffArgs;
use crate::commands::image_inputs::inventory;

pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    let a = inventory(&args.a, &args.resolve)?;
    let b = inventory(&args.b, &args.resolve)?;
    if args.files && (a.files.is_none() || b.files.is_none()) {
        bail!("--files needs two images or configs: a lock file lists no files");
    }
    let diff = insight::diff::diff(&a, &b, args.files);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        print!("{}", insight::diff::render(&diff));
    }
    Ok(ExitCode::SUCCESS)
}
