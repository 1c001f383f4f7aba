//! `apkforge keygen [NAME]`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apk_format::signing::SigningKey;

use crate::cli::KeygenArgs;
use crate::output::write_atomic;

pub fn run(args: &KeygenArgs) -> Result<ExitCode> {
    if !(2048..=8192).contains(&args.bits) {
        bail!("--bits must be between 2048 and 8192, got {}", args.bits);
    }
    let private = PathBuf::from(format!("{}.rsa", args.name));
    let public = PathBuf::from(format!("{}.rsa.pub", args.name));
    for p in [&private, &public] {
        if p.exists() {
            bail!("`{}` already exists; not overwriting a key", p.display());
        }
    }
    let public_name = public
        .file_name()
        .and_then(|n| n.to_str())
        .context("key name has no file name")?
        .to_string();
    let key = SigningKey::generate(public_name, args.bits)?;
    write_atomic(&private, 0o600, key.private_pem()?.as_bytes())?;
    write_atomic(&public, 0o644, key.public_pem()?.as_bytes())?;
    println!("wrote {} and {}", private.display(), public.display());
    Ok(ExitCode::SUCCESS)
}
