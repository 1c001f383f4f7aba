//! `apkforge package bump RECIPE VERSION [--expected-commit C]`: melange's
//! `bump`. The new checksums of `fetch` steps come from downloading what
//! their URIs name with the new version; the file is rewritten only when
//! every download succeeded.

use std::fs::File;
use std::io::{Read, Seek};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use recipe::bump::{Edit, apply, plan};
use sha2::{Digest, Sha256, Sha512};

use crate::cli::PackageBumpArgs;
use crate::output::write_atomic;

/// SHA-256 and SHA-512 (hex) of what `uri` names (http(s) or a local path).
fn checksums(uri: &str) -> Result<(String, String)> {
    let mut tmp = tempfile::tempfile().context("creating a temporary file")?;
    match apk_repo::Location::parse(uri) {
        apk_repo::Location::Remote(url) => {
            let http = apk_repo::HttpClient::new(apk_repo::HttpClient::auth_from_env());
            http.get(&url, None, &mut tmp)
                .with_context(|| format!("downloading {url}"))?;
        }
        apk_repo::Location::Local(p) => {
            let mut src = File::open(&p).with_context(|| format!("opening {}", p.display()))?;
            std::io::copy(&mut src, &mut tmp)
                .with_context(|| format!("reading {}", p.display()))?;
        }
    }
    tmp.rewind()?;
    let (mut a, mut b) = (Sha256::new(), Sha512::new());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = tmp.read(&mut buf)?;
        if n == 0 {
            break;
        }
        a.update(&buf[..n]);
        b.update(&buf[..n]);
    }
    Ok((hex::encode(a.finalize()), hex::encode(b.finalize())))
}

pub fn run(args: &PackageBumpArgs) -> Result<ExitCode> {
    let path = &args.recipe;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    let plan = plan(&text, path, &args.version, args.expected_commit.as_deref())?;
    let mut edits: Vec<Edit> = plan.edits.clone();
    for f in &plan.fetches {
        if f.sha256.is_none() && f.sha512.is_none() {
            continue;
        }
        eprintln!("fetching {} for its checksums", f.uri);
        let (sha256, sha512) =
            checksums(&f.uri).with_context(|| format!("{}: fetch `{}`", f.at, f.uri))?;
        for (at, value) in [(f.sha256, sha256), (f.sha512, sha512)] {
            if let Some((start, end)) = at {
                edits.push(Edit {
                    start,
                    end,
                    text: value,
                });
            }
        }
    }
    let out = apply(&text, &edits);
    // The result must still be a recipe.
    if let Err(e) = recipe::Recipe::parse_str(&out, path) {
        bail!(
            "the bumped recipe would not parse ({e}); `{}` is unchanged",
            path.display()
        );
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path)?.permissions());
    write_atomic(path, mode & 0o7777, out.as_bytes())?;
    println!(
        "bumped {} to {}-r{}",
        path.display(),
        args.version.trim(),
        plan.epoch
    );
    Ok(ExitCode::SUCCESS)
}
