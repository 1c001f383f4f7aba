//! `apkforge apk version A B`

use std::process::ExitCode;

use anyhow::{Result, bail};
use apk_format::version;

use crate::cli::VersionArgs;

pub fn run(args: &VersionArgs) -> Result<ExitCode> {
    for v in [&args.a, &args.b] {
        if !version::is_valid(v) {
            bail!(
                "`{v}` is not a valid apk version (expected digits{{.digits}}[letter][_suffix[N]]...[~hash][-rN], suffixes alpha beta pre rc cvs svn git hg p)"
            );
        }
    }
    println!(
        "{}",
        version::ordering_symbol(version::compare(&args.a, &args.b))
    );
    Ok(ExitCode::SUCCESS)
}
