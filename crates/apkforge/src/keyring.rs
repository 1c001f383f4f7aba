//! Loading trusted public keys from directories and files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use apk_format::signing::{Keyring, PublicKey, SigningKey};

/// Loads every `*.pub` file of the given directories, and the given files.
pub fn load(paths: &[PathBuf]) -> Result<Keyring> {
    let mut ring = Keyring::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading keyring directory `{}`", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".pub"))
                .collect();
            files.sort();
            for f in files {
                ring.add(load_public(&f)?);
            }
        } else if path.is_file() {
            ring.add(load_public(path)?);
        } else {
            bail!("keyring `{}` does not exist", path.display());
        }
    }
    Ok(ring)
}

fn load_public(path: &Path) -> Result<PublicKey> {
    let pem = std::fs::read(path).with_context(|| format!("reading key `{}`", path.display()))?;
    let name = file_name(path)?;
    PublicKey::from_pem(name, &pem).with_context(|| format!("loading key `{}`", path.display()))
}

/// Loads a private signing key.
pub fn load_signing_key(path: &Path) -> Result<SigningKey> {
    let pem =
        std::fs::read(path).with_context(|| format!("reading signing key `{}`", path.display()))?;
    SigningKey::from_pem(&file_name(path)?, &pem)
        .with_context(|| format!("loading signing key `{}`", path.display()))
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("`{}` has no usable file name", path.display()))
}
