//! The on-disk cache: versioned buckets, every entry written to a temp file
//! and renamed, so concurrent builds never see a partial file and two
//! writers of the same entry write identical content.
//!
//! ```text
//! <root>/index-v1/<sha256(url)>/APKINDEX.tar.gz   (+ .etag)
//! <root>/keys-v1/<sha256(url)>/<key file name>
//! <root>/apk-v1/<name>-<version>-<control sha1 hex>.apk
//! <root>/data-v1/<datahash hex>.tar                uncompressed data sections
//! ```

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A cache directory.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

/// Error using the cache.
#[derive(Debug, thiserror::Error)]
#[error("cache `{path}`: {source}")]
pub struct CacheError {
    /// The path involved.
    pub path: PathBuf,
    /// Underlying error.
    #[source]
    pub source: io::Error,
}

fn err(path: &Path) -> impl Fn(io::Error) -> CacheError + '_ {
    move |source| CacheError {
        path: path.to_path_buf(),
        source,
    }
}

impl Cache {
    /// Uses (and creates on demand) `root`.
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The default location: `$XDG_CACHE_HOME/apkforge` or `~/.cache/apkforge`.
    pub fn default_root() -> PathBuf {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(x).join("apkforge");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        home.join(".cache/apkforge")
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn bucket(&self, name: &str) -> Result<PathBuf, CacheError> {
        let dir = self.root.join(name);
        fs::create_dir_all(&dir).map_err(err(&dir))?;
        Ok(dir)
    }

    /// Directory for files downloaded from `url` in `bucket`.
    pub fn url_dir(&self, bucket: &str, url: &str) -> Result<PathBuf, CacheError> {
        let key = hex::encode(Sha256::digest(url.as_bytes()));
        let dir = self.bucket(bucket)?.join(&key[..32]);
        fs::create_dir_all(&dir).map_err(err(&dir))?;
        Ok(dir)
    }

    /// Path of a cached package file.
    pub fn apk_path(
        &self,
        name: &str,
        version: &str,
        control_sha1_hex: &str,
    ) -> Result<PathBuf, CacheError> {
        Ok(self
            .bucket("apk-v1")?
            .join(format!("{name}-{version}-{control_sha1_hex}.apk")))
    }

    /// Path of a cached uncompressed data section.
    pub fn data_path(&self, datahash_hex: &str) -> Result<PathBuf, CacheError> {
        Ok(self.bucket("data-v1")?.join(format!("{datahash_hex}.tar")))
    }

    /// A temp file in the same directory as `target`, to be renamed over it.
    pub fn temp_for(target: &Path) -> Result<tempfile::NamedTempFile, CacheError> {
        let dir = target.parent().unwrap_or(Path::new("."));
        tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(err(dir))
    }

    /// Moves a finished temp file into place.
    pub fn commit(tmp: tempfile::NamedTempFile, target: &Path) -> Result<(), CacheError> {
        tmp.persist(target).map_err(|e| CacheError {
            path: target.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Removes a bad entry (ignoring "already gone").
    pub fn evict(path: &Path) {
        let _ = fs::remove_file(path);
    }
}

/// Opens a file, or `None` when it does not exist.
pub fn open_existing(path: &Path) -> Result<Option<File>, CacheError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(path)(e)),
    }
}
