//! `apkforge sign --signing-key K FILE...`: packages and indexes alike.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use apk_format::index_archive::{read_index_archive, sign_index_archive};
use apk_format::package_read::PackageReader;
use apk_format::package_write::signature_member;
use apk_format::signing::{SignatureAlgorithm, SigningKey};

use crate::cli::SignArgs;
use crate::keyring::load_signing_key;
use crate::output::{AtomicFile, write_atomic};

pub fn run(args: &SignArgs) -> Result<ExitCode> {
    let key = load_signing_key(&args.signing_key)?;
    for file in &args.files {
        sign_file(file, &key).with_context(|| format!("signing `{}`", file.display()))?;
        println!("signed {} with {}", file.display(), key.public_name);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn sign_file(path: &Path, key: &SigningKey) -> Result<()> {
    // Signed in place: a device, FIFO or socket is neither read nor replaced.
    scratch::check_replaceable(path)?;
    let open = || File::open(path).with_context(|| format!("opening `{}`", path.display()));
    // An index has no .PKGINFO; try the file as a package first.
    match PackageReader::new(BufReader::new(open()?)) {
        Ok(pkg) => {
            let digest = pkg.control_digest.sha256.unwrap_or_default();
            let sig = key.sign_sha256_digest(&digest)?;
            let member = signature_member(
                SignatureAlgorithm::RsaSha256.entry_prefix(),
                &sig.key_name,
                &sig.bytes,
                pkg.record.build_time.unwrap_or(0),
            )?;
            let mut input = open()?;
            input.seek(SeekFrom::Start(pkg.signature_len))?;
            let mut out = AtomicFile::create(path)?;
            out.file().write_all(&member)?;
            std::io::copy(&mut input, out.file())
                .with_context(|| format!("copying `{}`", path.display()))?;
            out.commit(0o644)
        }
        Err(pkg_err) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
            read_index_archive(&bytes[..]).map_err(|idx_err| {
                anyhow::anyhow!("neither a package ({pkg_err}) nor an index ({idx_err})")
            })?;
            let signed = sign_index_archive(&bytes, key)?;
            write_atomic(path, 0o644, &signed)
        }
    }
}
