//! `apkforge package sign-index [--signing-key K] [--force] INDEX`:
//! melange's `sign-index`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use apk_format::index_archive::{read_index_archive, sign_index_archive};

use crate::cli::PackageSignIndexArgs;
use crate::keyring::load_signing_key;
use crate::output::write_atomic;

pub fn run(args: &PackageSignIndexArgs) -> Result<ExitCode> {
    let path = &args.index;
    scratch::check_replaceable(path)?;
    let bytes = std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
    let index = read_index_archive(&bytes[..])
        .with_context(|| format!("`{}` is not a repository index", path.display()))?;
    if !index.signatures.is_empty() && !args.force {
        println!(
            "{} is already signed, doing nothing (--force replaces the signature)",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let key = load_signing_key(&args.signing_key)?;
    let signed = sign_index_archive(&bytes, &key)
        .with_context(|| format!("signing `{}`", path.display()))?;
    write_atomic(path, 0o644, &signed)?;
    println!("signed {} with {}", path.display(), key.public_name);
    Ok(ExitCode::SUCCESS)
}
