//! `apkforge package sign [-k KEY] APK...`: melange's `sign`.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use anyhow::{Context, Result};
use apk_format::package_read::PackageReader;

use crate::cli::PackageSignArgs;
use crate::keyring::load_signing_key;

pub fn run(args: &PackageSignArgs) -> Result<ExitCode> {
    let key = load_signing_key(&args.signing_key)?;
    // Every file must be a package before any is touched.
    for path in &args.packages {
        scratch::check_replaceable(path)?;
        let file = File::open(path).with_context(|| format!("opening `{}`", path.display()))?;
        PackageReader::new(BufReader::new(file))
            .with_context(|| format!("`{}` is not a package", path.display()))?;
    }
    for path in &args.packages {
        super::sign::sign_file(path, &key)
            .with_context(|| format!("signing `{}`", path.display()))?;
        println!("signed {} with {}", path.display(), key.public_name);
    }
    Ok(ExitCode::SUCCESS)
}
