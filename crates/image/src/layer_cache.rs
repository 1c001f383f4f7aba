//! A cache of compressed layers keyed by diff ID and compression level:
//! rebuilding an unchanged image skips compression, the costliest step.
//! Blobs are checked against their recorded digest before reuse.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use rootfs::layer::{LayerError, LayerInfo, diff_id, write_layer};
use rootfs::tree::Tree;
use sha2::{Digest, Sha256};

fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(h.finalize()), len))
}

/// Writes the single layer of `tree` to `blob`, reusing a cached blob
/// when the same tar was compressed at the same level before.
pub fn layer_with_cache(
    tree: &Tree,
    blob: &Path,
    level: u32,
    cache: &Path,
) -> Result<LayerInfo, LayerError> {
    let dir = cache.join("layers-v1");
    let (diff, tar_size) = diff_id(tree)?;
    let meta = dir.join(format!("{diff}-l{level}"));
    if let Ok(text) = fs::read_to_string(&meta)
        && let Some((digest, size)) = text.trim().split_once(' ')
    {
        let cached = dir.join("blobs").join(digest);
        if let Ok((got, len)) = sha256_file(&cached)
            && got == digest
            && size.parse() == Ok(len)
        {
            if fs::hard_link(&cached, blob).is_err() {
                fs::copy(&cached, blob)?;
            }
            return Ok(LayerInfo {
                digest_hex: got,
                size: len,
                diff_id_hex: diff,
                tar_size,
            });
        }
    }
    let info = write_layer(tree, blob, level)?;
    // Storing is best effort: a full or read-only cache only costs speed.
    let _ = store(&dir, &meta, blob, &info);
    Ok(info)
}

fn store(dir: &Path, meta: &Path, blob: &Path, info: &LayerInfo) -> io::Result<()> {
    let blobs = dir.join("blobs");
    fs::create_dir_all(&blobs)?;
    let target = blobs.join(&info.digest_hex);
    // A link costs nothing; the blob is complete and synced by now, and a
    // cached blob is checked against its digest before every reuse.
    if !target.is_file() && fs::hard_link(blob, &target).is_err() {
        let tmp = scratch::file_in(&blobs, ".tmp-")?;
        fs::copy(blob, tmp.path())?;
        tmp.persist(&target).map_err(|e| e.error)?;
    }
    let tmp = scratch::file_in(dir, ".tmp-")?;
    fs::write(tmp.path(), format!("{} {}\n", info.digest_hex, info.size))?;
    tmp.persist(meta).map_err(|e| e.error)?;
    Ok(())
}
