//! The on-disk cache: versioned buckets, every entry written to a temp file
//! and renamed, so concurrent builds never see a partial file and two
//! writers of the same entry write identical content.
//!
//! ```text
//! <root>/index-v1/<sha256(url)>/APKINDEX.tar.gz   (+ .etag)
//! <root>/keys-v1/<sha256(url)>/<key file name>
//! <root>/apk-v1/<name>-<version>-<identity hex>.apk
//! <root>/data-v2/<datahash hex>.tar               uncompressed data sections
//! <root>/data-v2/v3-<identity hex>.tar            files of v3 packages, as a tar
//! <root>/data-v2/<…>.tar.sum                      their size and SHA-256
//! ```
//!
//! Every entry is checked when it is used, never trusted for having been
//! written: indexes by their signature, packages by the index `C:` checksum,
//! expanded data sections by the size and SHA-256 recorded when they were
//! written ([`Cache::check_data`]). A bad entry is rebuilt in place (a new
//! temp file renamed over it), so a concurrent reader never loses a good one.
//! Names in the cache come only from digests and from names and versions
//! that passed [`apk_format::names`] validation.

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

    /// Path of a cached package file, named by its index identity (`C:`
    /// decoded). `name` and `version` must have passed
    /// [`apk_format::names::check_name`] and
    /// [`apk_format::names::check_version`]; anything else is refused here
    /// too, so no untrusted text ever becomes a path unchecked.
    pub fn apk_path(
        &self,
        name: &str,
        version: &str,
        identity: &[u8],
    ) -> Result<PathBuf, CacheError> {
        let file = format!("{name}-{version}-{}.apk", hex::encode(identity));
        if apk_format::names::check_name(name).is_err()
            || apk_format::names::check_version(version).is_err()
        {
            return Err(CacheError {
                path: self.root.join("apk-v1").join(file),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "package name or version is not safe in a file name",
                ),
            });
        }
        Ok(self.bucket("apk-v1")?.join(file))
    }

    /// Path of a cached uncompressed data section.
    pub fn data_path(&self, key: &DataKey) -> Result<PathBuf, CacheError> {
        Ok(self.bucket(DATA_BUCKET)?.join(format!("{key}.tar")))
    }

    /// Checks a cached data section against the size and SHA-256 recorded
    /// when it was written (see [`Cache::commit_data`]). Reads the whole
    /// entry: a truncated, emptied or edited entry is [`DataCheck::Bad`].
    pub fn check_data(tar: &Path) -> Result<DataCheck, CacheError> {
        let Some(mut file) = open_existing(tar)? else {
            return Ok(DataCheck::Missing);
        };
        let sum_path = sum_path(tar);
        let recorded = match fs::read_to_string(&sum_path) {
            Ok(text) => match DataDigest::parse(&text) {
                Some(d) => d,
                None => return Ok(DataCheck::Bad("its digest record is unreadable".into())),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(DataCheck::Bad("its digest record is missing".into()));
            }
            Err(e) => return Err(err(&sum_path)(e)),
        };
        let size = file.metadata().map_err(err(tar))?.len();
        if size != recorded.size {
            return Ok(DataCheck::Bad(format!(
                "it is {size} bytes, {} were written",
                recorded.size
            )));
        }
        let actual = DataDigest::of_reader(&mut file).map_err(err(tar))?;
        if actual != recorded {
            return Ok(DataCheck::Bad(
                "its content does not match the SHA-256 recorded when it was written".into(),
            ));
        }
        Ok(DataCheck::Good(actual))
    }

    /// Puts a finished data section in place: its digest record first, then
    /// the tar, each by rename. A reader that finds the tar therefore always
    /// finds its record; an interrupted write leaves at most a record
    /// without a tar (overwritten by the next write).
    pub fn commit_data(
        tmp: tempfile::NamedTempFile,
        target: &Path,
        digest: &DataDigest,
    ) -> Result<(), CacheError> {
        let sum_path = sum_path(target);
        let mut sum = Cache::temp_for(&sum_path)?;
        io::Write::write_all(sum.as_file_mut(), digest.to_string().as_bytes())
            .map_err(err(&sum_path))?;
        Cache::commit(sum, &sum_path)?;
        Cache::commit(tmp, target)
    }

    /// A temp file in the same directory as `target`, to be renamed over it
    /// (`.tmp-*`, owned by this process: see [`scratch`]).
    pub fn temp_for(target: &Path) -> Result<tempfile::NamedTempFile, CacheError> {
        let dir = target.parent().unwrap_or(Path::new("."));
        scratch::file_in(dir, TEMP_PREFIX).map_err(err(dir))
    }

    /// Removes the temp files (`.tmp-*`) and directories that builds
    /// killed before they finished left in the cache; those of live
    /// processes are kept (see [`scratch::sweep`]). Looks in every bucket
    /// and in its per-URL and `blobs` directories, never inside cached
    /// environments. Returns what was removed.
    pub fn sweep_stale(&self) -> Vec<PathBuf> {
        let mut removed = Vec::new();
        let Ok(buckets) = fs::read_dir(&self.root) else {
            return removed;
        };
        for bucket in buckets.flatten() {
            if !bucket.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let dir = bucket.path();
            removed.extend(scratch::sweep(&dir, &[TEMP_PREFIX]).unwrap_or_default());
            if bucket.file_name() == "environments-v1" {
                continue;
            }
            let Ok(children) = fs::read_dir(&dir) else {
                continue;
            };
            for child in children.flatten() {
                let name = child.file_name();
                let name = name.to_string_lossy();
                let url_dir = name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit());
                if (url_dir || name == "blobs") && child.file_type().is_ok_and(|t| t.is_dir()) {
                    removed
                        .extend(scratch::sweep(&child.path(), &[TEMP_PREFIX]).unwrap_or_default());
                }
            }
        }
        removed
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

const DATA_BUCKET: &str = "data-v2";

/// Name prefix of temp entries in the cache.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Names an expanded data section in the cache: always a digest, never text
/// from a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKey {
    /// A v2 package's data: the SHA-256 of the data gzip member (its
    /// `datahash`).
    Datahash([u8; 32]),
    /// A v3 package's files: its identity (SHA-256 of the ADB block).
    V3Identity([u8; 32]),
}

impl std::fmt::Display for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataKey::Datahash(h) => f.write_str(&hex::encode(h)),
            DataKey::V3Identity(h) => write!(f, "v3-{}", hex::encode(h)),
        }
    }
}

/// Size and SHA-256 of an expanded data section, recorded beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataDigest {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of those bytes.
    pub sha256: [u8; 32],
}

impl DataDigest {
    fn parse(text: &str) -> Option<DataDigest> {
        let mut words = text.split_whitespace();
        if words.next()? != "apkforge-data-v2" {
            return None;
        }
        let size = words.next()?.parse().ok()?;
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(words.next()?, &mut sha256).ok()?;
        words
            .next()
            .is_none()
            .then_some(DataDigest { size, sha256 })
    }

    /// Hashes everything `r` yields.
    pub fn of_reader(r: &mut dyn io::Read) -> io::Result<DataDigest> {
        let mut w = DigestWriter::new(io::sink());
        io::copy(r, &mut w)?;
        Ok(w.finish().1)
    }
}

impl std::fmt::Display for DataDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "apkforge-data-v2 {} {}",
            self.size,
            hex::encode(self.sha256)
        )
    }
}

/// A writer that records the size and SHA-256 of what passes through it.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: io::Write> DigestWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        DigestWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The inner writer and the digest of everything written.
    pub fn finish(self) -> (W, DataDigest) {
        let digest = DataDigest {
            size: self.size,
            sha256: self.hasher.finalize().into(),
        };
        (self.inner, digest)
    }
}

impl<W: io::Write> io::Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Outcome of [`Cache::check_data`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataCheck {
    /// Not in the cache.
    Missing,
    /// Present and intact, with this size and SHA-256.
    Good(DataDigest),
    /// Present but damaged; why.
    Bad(String),
}

fn sum_path(tar: &Path) -> PathBuf {
    let mut name = tar.as_os_str().to_owned();
    name.push(".sum");
    PathBuf::from(name)
}

/// Opens a file, or `None` when it does not exist.
pub fn open_existing(path: &Path) -> Result<Option<File>, CacheError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(path)(e)),
    }
}
