//! `apkforge package keygen [NAME]`: melange's `keygen`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apk_format::signing::SigningKey;

use crate::cli::PackageKeygenArgs;
use crate::output::write_atomic;

pub fn run(args: &PackageKeygenArgs) -> Result<ExitCode> {
    if args.key_size < 2048 {
        bail!(
            "--key-size {}: a key of less than 2048 bits is not safe",
            args.key_size
        );
    }
    if args.key_size > 16384 {
        bail!("--key-size {}: at most 16384 bits", args.key_size);
    }
    let private = args.name.clone();
    let public = PathBuf::from(format!("{}.pub", private.display()));
    for p in [&private, &public] {
        if p.exists() {
            bail!("`{}` already exists; not overwriting a key", p.display());
        }
    }
    let public_name = public
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("`{}` has no usable file name", public.display()))?
        .to_string();
    eprintln!(
        "generating a keypair with a {} bit prime, please wait...",
        args.key_size
    );
    let key = SigningKey::generate(public_name, args.key_size)?;
    write_atomic(&private, 0o600, key.private_pem()?.as_bytes())?;
    write_atomic(&public, 0o644, key.public_pem()?.as_bytes())?;
    println!("wrote {} and {}", private.display(), public.display());
    Ok(ExitCode::SUCCESS)
}
