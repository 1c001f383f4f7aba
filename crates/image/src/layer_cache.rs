//! A cache of compressed layers: rebuilding an unchanged image skips
//! compression, the costliest step. Blobs are checked against their
//! recorded digest before reuse.
//!
//! ```text
//! <cache>/layers-v2/<key>-l<level>        digest, size, diff ID, tar size
//! <cache>/layers-v2/diff-<diff ID>-l<level>   the same, for trees without a key
//! <cache>/layers-v2/blobs/<digest>        the gzip blobs
//! ```
//!
//! The key ([`rootfs::layer::layer_key`]) names the tar by its headers and
//! the checked digests of the data tars its contents come from, so it costs
//! no pass over file contents: a new layer is hashed and compressed in one
//! pass, a known one is found without reading what it holds. A tree whose
//! sources have no known digest is named by its diff ID, computed first.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rootfs::layer::{LayerError, LayerInfo, diff_id, layer_key, write_layer};
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

/// What a layer record says.
struct Record {
    digest: String,
    size: u64,
    diff_id: String,
    tar_size: u64,
}

impl Record {
    fn parse(text: &str) -> Option<Record> {
        let mut words = text.split_whitespace();
        let hex64 = |w: &str| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit());
        let digest = words.next().filter(|w| hex64(w))?.to_string();
        let size = words.next()?.parse().ok()?;
        let diff_id = words.next().filter(|w| hex64(w))?.to_string();
        let tar_size = words.next()?.parse().ok()?;
        words.next().is_none().then_some(Record {
            digest,
            size,
            diff_id,
            tar_size,
        })
    }
}

/// Writes the single layer of `tree` and returns where its blob is: in the
/// cache (`blobs/<digest>`) when it was compressed before at the same level
/// or could be stored there, else at `fallback` (a full or read-only cache
/// only costs speed). The blob is written once, straight into the cache,
/// never copied; readers of it (the OCI writers) check its digest as they
/// copy it.
pub fn layer_with_cache(
    tree: &Tree,
    fallback: &Path,
    level: u32,
    cache: &Path,
) -> Result<(PathBuf, LayerInfo), LayerError> {
    let dir = cache.join("layers-v2");
    let blobs = dir.join("blobs");
    let (meta, known_diff) = match layer_key(tree)? {
        Some(key) => (dir.join(format!("{key}-l{level}")), None),
        None => {
            let (diff, _) = diff_id(tree)?;
            (dir.join(format!("diff-{diff}-l{level}")), Some(diff))
        }
    };
    if let Ok(text) = fs::read_to_string(&meta)
        && let Some(record) = Record::parse(&text)
        && known_diff.as_ref().is_none_or(|d| *d == record.diff_id)
    {
        let cached = blobs.join(&record.digest);
        if let Ok((got, len)) = sha256_file(&cached)
            && got == record.digest
            && len == record.size
        {
            let info = LayerInfo {
                digest_hex: got,
                size: len,
                diff_id_hex: record.diff_id,
                tar_size: record.tar_size,
            };
            return Ok((cached, info));
        }
    }
    let tmp = fs::create_dir_all(&blobs)
        .ok()
        .and_then(|()| scratch::file_in(&blobs, ".tmp-").ok());
    if let Some(tmp) = tmp
        // Failing here (a full or read-only cache) only costs speed: the
        // blob is written beside the output instead.
        && let Ok(info) = write_layer(tree, tmp.path(), level)
    {
        let target = blobs.join(&info.digest_hex);
        if tmp.persist(&target).is_ok() {
            let _ = store_record(&dir, &meta, &info);
            return Ok((target, info));
        }
    }
    Ok((fallback.to_path_buf(), write_layer(tree, fallback, level)?))
}

fn store_record(dir: &Path, meta: &Path, info: &LayerInfo) -> io::Result<()> {
    let tmp = scratch::file_in(dir, ".tmp-")?;
    fs::write(
        tmp.path(),
        format!(
            "{} {} {} {}\n",
            info.digest_hex, info.size, info.diff_id_hex, info.tar_size
        ),
    )?;
    tmp.persist(meta).map_err(|e| e.error)?;
    Ok(())
}
