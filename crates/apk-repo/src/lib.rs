//! apk repositories: signed index loading, verified package downloads and
//! the on-disk cache, for local directories and HTTP(S) mirrors.
//!
//! Signatures are checked by default; every download is verified against
//! the index (`C:` control checksum) before it enters the cache, and the
//! cache is safe to share between concurrent builds.
#![deny(missing_docs)]

pub mod cache;
pub mod discovery;
mod expand;
pub mod http;
mod index_packages;
pub mod location;
pub mod time;
pub mod v3;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use apk_format::index_archive::{IndexArchiveError, read_index_archive_text};
use apk_format::names::NameError;
use apk_format::package_read::{PackageError, PackageReader, SignatureStatus};
use apk_format::record::PackageRecord;
use apk_format::signing::{KeyError, Keyring, PublicKey};

pub use cache::{Cache, CacheError};
pub use expand::{ExpandedPackage, expand_package};
pub use http::{BasicAuth, HttpClient, HttpError, Timeouts};
pub use index_packages::IndexPackages;
pub use location::{Location, RepoLine};

/// Error talking to a repository.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Download failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Cache failure.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A local file could not be read.
    #[error("reading `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A local repository has no index for the arch.
    #[error("no index at `{0}`")]
    IndexMissing(Location),
    /// The index could not be read.
    #[error("index `{location}`: {source}")]
    Index {
        /// Where it came from.
        location: Location,
        /// What was wrong.
        #[source]
        source: IndexArchiveError,
    },
    /// The index signature did not verify.
    #[error(
        "index `{location}` failed signature verification: {status} (trusted keys: {keys}); add the right key to the keyring, or pass --ignore-signatures to skip this check"
    )]
    Signature {
        /// Where it came from.
        location: Location,
        /// What the check found.
        status: SignatureStatus,
        /// Names of the trusted keys.
        keys: String,
    },
    /// `--offline` and nothing cached.
    #[error("`{0}` is not in the cache and --offline forbids downloading it")]
    Offline(Location),
    /// A package could not be read.
    #[error("package `{location}`: {source}")]
    Package {
        /// Where it came from.
        location: Location,
        /// What was wrong.
        #[source]
        source: PackageError,
    },
    /// A `Packages.adb` could not be read.
    #[error("index `{location}`: {source}")]
    V3Index {
        /// Where it came from.
        location: Location,
        /// What was wrong.
        #[source]
        source: apk_format::adb::AdbError,
    },
    /// A v3 package could not be read or failed a check.
    #[error("package `{location}`: {source}")]
    V3Package {
        /// Where it came from.
        location: Location,
        /// What was wrong.
        #[source]
        source: apk_format::adb::package::V3PackageError,
    },
    /// A `pkgname-spec` that cannot be expanded.
    #[error("repository `{repository}`: {source}")]
    Spec {
        /// The repository.
        repository: String,
        /// What is wrong.
        #[source]
        source: v3::SpecError,
    },
    /// A package does not match its index entry.
    #[error(
        "package `{package}` from `{location}` does not match the index: its checksum is {actual}, the index says {expected}"
    )]
    ChecksumMismatch {
        /// `name-version`.
        package: String,
        /// Where it came from.
        location: Location,
        /// Index `C:`.
        expected: String,
        /// What the file has.
        actual: String,
    },
    /// The index entry has no usable `C:` checksum to verify the package by.
    #[error(
        "package `{package}` from `{location}`: its index entry has no valid C: checksum, so the download cannot be verified"
    )]
    NoChecksum {
        /// `name-version`.
        package: String,
        /// Where it came from.
        location: Location,
    },
    /// An index entry whose name, version or architecture is not safe to
    /// use (in a file name, a URL or the image's database).
    #[error("index `{location}`: package `{package}`: {source}")]
    InvalidEntry {
        /// The index.
        location: Location,
        /// The entry as written (`P:`/`V:`).
        package: String,
        /// What is wrong.
        #[source]
        source: NameError,
    },
    /// A package's data section does not match what its verified control
    /// section (datahash) or index entry (`C:`) vouches for.
    #[error("package `{package}` from `{location}`: {reason}")]
    DataMismatch {
        /// `name-version`.
        package: String,
        /// Where it came from.
        location: Location,
        /// What did not match.
        reason: String,
    },
    /// Key discovery failed.
    #[error("key discovery for `{repository}`: {reason}")]
    Discovery {
        /// The repository.
        repository: String,
        /// What went wrong.
        reason: String,
    },
    /// A key could not be loaded.
    #[error("key `{location}`: {source}")]
    Key {
        /// Where it came from.
        location: Location,
        /// What was wrong.
        #[source]
        source: KeyError,
    },
}

/// Settings for a [`RepoClient`].
#[derive(Clone, Debug)]
pub struct Options {
    /// The cache.
    pub cache: Cache,
    /// Never download; use the cache only.
    pub offline: bool,
    /// Accept indexes whose signature does not verify.
    pub ignore_signatures: bool,
    /// Credentials by host.
    pub auth: Vec<BasicAuth>,
    /// Parallel downloads.
    pub jobs: usize,
}

/// An index loaded from a repository for one arch.
#[derive(Clone, Debug)]
pub struct LoadedIndex {
    /// The repository.
    pub repo: RepoLine,
    /// The arch.
    pub arch: String,
    /// `DESCRIPTION`.
    pub description: Option<String>,
    /// Packages.
    pub entries: IndexPackages,
    /// Result of the signature check.
    pub signature: SignatureStatus,
    /// Where the index was found and how packages are named.
    pub layout: v3::IndexLayout,
}

/// Receives progress; implemented by the CLI.
pub trait Progress: Sync {
    /// A package file is available locally (downloaded or cached).
    fn package_ready(&self, _name: &str, _downloaded_bytes: u64) {}
    /// Something was wrong but has been handled (a damaged cache entry
    /// fetched again); worth telling the user.
    fn warning(&self, _message: &str) {}
}

/// Ignores progress.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Loads indexes, keys and packages.
pub struct RepoClient {
    http: HttpClient,
    opts: Options,
    keyring: Keyring,
    /// Index layouts found by [`RepoClient::load_index`], per repository and arch.
    layouts: std::sync::Mutex<std::collections::HashMap<(RepoLine, String), v3::IndexLayout>>,
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl RepoClient {
    /// A client trusting `keyring`.
    pub fn new(opts: Options, keyring: Keyring) -> RepoClient {
        RepoClient {
            http: HttpClient::new(opts.auth.clone()),
            opts,
            keyring,
            layouts: Default::default(),
        }
    }

    /// Replaces the trusted keys.
    pub fn set_keyring(&mut self, keyring: Keyring) {
        self.keyring = keyring;
    }

    /// The cache in use.
    pub fn cache(&self) -> &Cache {
        &self.opts.cache
    }

    /// Fetches a remote file into the cache (revalidating with its ETag
    /// unless offline) and returns the cached path.
    pub(crate) fn cached_download(
        &self,
        bucket: &str,
        url: &str,
        file_name: &str,
    ) -> Result<PathBuf, RepoError> {
        self.cached_download_fresh(bucket, url, file_name, false)
            .map(|(p, _)| p)
    }

    /// [`Self::cached_download`], also saying whether the bytes were just
    /// downloaded; `refetch` ignores the cached copy and its ETag.
    fn cached_download_fresh(
        &self,
        bucket: &str,
        url: &str,
        file_name: &str,
        refetch: bool,
    ) -> Result<(PathBuf, bool), RepoError> {
        let dir = self.opts.cache.url_dir(bucket, url)?;
        apk_format::names::check_file_name(file_name).map_err(|e| RepoError::Io {
            path: dir.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        let target = dir.join(file_name);
        let etag_path = dir.join(format!("{file_name}.etag"));
        let have = target.is_file() && !refetch;
        if self.opts.offline {
            return if have {
                Ok((target, false))
            } else {
                Err(RepoError::Offline(Location::Remote(url.to_string())))
            };
        }
        let etag = if have {
            std::fs::read_to_string(&etag_path).ok()
        } else {
            None
        };
        let mut tmp = Cache::temp_for(&target)?;
        match self.http.get(url, etag.as_deref(), tmp.as_file_mut())? {
            http::Fetched::NotModified => Ok((target, false)),
            http::Fetched::Body { etag, .. } => {
                Cache::commit(tmp, &target)?;
                match etag {
                    Some(e) => std::fs::write(&etag_path, e).map_err(io_err(&etag_path))?,
                    None => Cache::evict(&etag_path),
                }
                Ok((target, true))
            }
        }
    }

    /// A cached download read by `read`; when the cached copy (not a fresh
    /// download) fails with an error `retry` accepts, it is downloaded
    /// again once. A copy that still fails is dropped from the cache.
    fn with_cached_download<T>(
        &self,
        bucket: &str,
        url: &str,
        file_name: &str,
        retry: impl Fn(&RepoError) -> bool,
        read: impl Fn(&Path) -> Result<T, RepoError>,
    ) -> Result<T, RepoError> {
        let (path, fresh) = self.cached_download_fresh(bucket, url, file_name, false)?;
        let result = match read(&path) {
            Err(e) if retry(&e) && !fresh && !self.opts.offline => {
                let (path, _) = self.cached_download_fresh(bucket, url, file_name, true)?;
                read(&path)
            }
            other => other,
        };
        if result.as_ref().is_err_and(&retry) {
            Cache::evict(&path);
        }
        result
    }

    /// Loads a public key from a path or URL.
    pub fn load_key(&self, location: &str) -> Result<PublicKey, RepoError> {
        self.load_key_pem(location).map(|(k, _)| k)
    }

    /// Loads a public key from a path or URL, with its PEM bytes. A cached
    /// key that no longer parses is downloaded again.
    pub fn load_key_pem(&self, location: &str) -> Result<(PublicKey, Vec<u8>), RepoError> {
        let loc = Location::parse(location);
        let name = loc.file_name().unwrap_or_else(|| "key.rsa.pub".to_string());
        let read = |path: &Path| -> Result<(PublicKey, Vec<u8>), RepoError> {
            let pem = std::fs::read(path).map_err(io_err(path))?;
            let key = PublicKey::from_pem(name.clone(), &pem).map_err(|source| RepoError::Key {
                location: loc.clone(),
                source,
            })?;
            Ok((key, pem))
        };
        match &loc {
            Location::Local(p) => read(p),
            Location::Remote(url) => self.with_cached_download(
                "keys-v1",
                url,
                &name,
                |e| matches!(e, RepoError::Key { .. }),
                read,
            ),
        }
    }

    /// Loads and verifies the index of `repo` for `arch`: an
    /// `APKINDEX.tar.gz`, or a `Packages.adb` named by the repository line
    /// or found in `<repo>/<arch>/` when there is no `APKINDEX.tar.gz`.
    pub fn load_index(&self, repo: &RepoLine, arch: &str) -> Result<LoadedIndex, RepoError> {
        let loaded = if v3::names_index_file(&repo.location) {
            let base = v3::parent(&repo.location);
            self.load_v3_index(repo, arch, repo.location.clone(), base, None)?
        } else {
            match self.load_v2_index(repo, arch) {
                Err(RepoError::IndexMissing(_))
                | Err(RepoError::Http(HttpError::Status { status: 404, .. }))
                    if self.has_v3_index(repo, arch) =>
                {
                    let index = repo.location.join(&format!("{arch}/Packages.adb"));
                    let spec = format!("{arch}/${{name}}-${{version}}.apk");
                    self.load_v3_index(repo, arch, index, repo.location.clone(), Some(spec))?
                }
                other => other?,
            }
        };
        if let Ok(mut layouts) = self.layouts.lock() {
            layouts.insert((repo.clone(), arch.to_string()), loaded.layout.clone());
        }
        Ok(loaded)
    }

    /// True when `<repo>/<arch>/Packages.adb` exists (locally) or can be
    /// downloaded.
    fn has_v3_index(&self, repo: &RepoLine, arch: &str) -> bool {
        match repo.location.join(&format!("{arch}/Packages.adb")) {
            Location::Local(p) => p.is_file(),
            Location::Remote(url) => self
                .cached_download("index-v1", &url, "Packages.adb")
                .is_ok(),
        }
    }

    fn load_v2_index(&self, repo: &RepoLine, arch: &str) -> Result<LoadedIndex, RepoError> {
        let location = repo.index_location(arch);
        let read = |path: &Path| -> Result<LoadedIndex, RepoError> {
            let file = File::open(path).map_err(io_err(path))?;
            let archive = read_index_archive_text(BufReader::new(file)).map_err(|source| {
                RepoError::Index {
                    location: location.clone(),
                    source,
                }
            })?;
            let signature = self.check_signature(archive.verify(&self.keyring), &location)?;
            let entries = IndexPackages::Text(archive.index);
            entries.check(&location)?;
            Ok(LoadedIndex {
                repo: repo.clone(),
                arch: arch.to_string(),
                description: archive.description,
                entries,
                signature,
                layout: v3::IndexLayout::V2,
            })
        };
        match &location {
            Location::Local(p) if !p.is_file() => Err(RepoError::IndexMissing(location)),
            Location::Local(p) => read(p),
            Location::Remote(url) => self.with_cached_download(
                "index-v1",
                url,
                "APKINDEX.tar.gz",
                unreadable_index,
                read,
            ),
        }
    }

    /// Passes a verified signature (or any, with `--ignore-signatures`).
    fn check_signature(
        &self,
        status: SignatureStatus,
        location: &Location,
    ) -> Result<SignatureStatus, RepoError> {
        if !status.is_valid() && !self.opts.ignore_signatures {
            return Err(RepoError::Signature {
                location: location.clone(),
                status,
                keys: self.keyring_names(),
            });
        }
        Ok(status)
    }

    /// Loads a `Packages.adb`; `default_spec` applies when the index has no
    /// `pkgname-spec` (`None`: beside the index).
    fn load_v3_index(
        &self,
        repo: &RepoLine,
        arch: &str,
        location: Location,
        url_base: Location,
        default_spec: Option<String>,
    ) -> Result<LoadedIndex, RepoError> {
        let read = |path: &Path| -> Result<LoadedIndex, RepoError> {
            let file = File::open(path).map_err(io_err(path))?;
            let index = apk_format::adb::index::read_index(BufReader::new(file))
                .map_err(|source| v3::index_error(&location, source))?;
            let signature = self.check_signature(index.verify(&self.keyring), &location)?;
            let (url_base, spec) = match (&index.pkgname_spec, default_spec.clone()) {
                (Some(spec), _) => (url_base.clone(), spec.clone()),
                // Beside the index.
                (None, Some(spec)) => (url_base.clone(), spec),
                (None, None) => (url_base.clone(), "${name}-${version}.apk".to_string()),
            };
            let entries = IndexPackages::Entries(index.entries());
            entries.check(&location)?;
            Ok(LoadedIndex {
                repo: repo.clone(),
                arch: arch.to_string(),
                description: index.description,
                entries,
                signature,
                layout: v3::IndexLayout::V3 {
                    index: location.clone(),
                    url_base,
                    spec,
                },
            })
        };
        match &location {
            Location::Local(p) if !p.is_file() => Err(RepoError::IndexMissing(location.clone())),
            Location::Local(p) => read(p),
            Location::Remote(url) => {
                self.with_cached_download("index-v1", url, "Packages.adb", unreadable_index, read)
            }
        }
    }

    /// Where a package of `repo` is: by the layout its index was loaded
    /// with, or (for indexes not loaded by this client) as the repository
    /// line implies.
    pub fn package_location(
        &self,
        repo: &RepoLine,
        arch: &str,
        record: &PackageRecord,
    ) -> Result<Location, RepoError> {
        let known = self
            .layouts
            .lock()
            .ok()
            .and_then(|l| l.get(&(repo.clone(), arch.to_string())).cloned());
        let layout = match known {
            Some(l) => l,
            None if v3::names_index_file(&repo.location) => v3::IndexLayout::V3 {
                index: repo.location.clone(),
                url_base: v3::parent(&repo.location),
                spec: "${name}-${version}.apk".into(),
            },
            None => v3::IndexLayout::V2,
        };
        match layout {
            v3::IndexLayout::V2 => Ok(repo.package_location(arch, &record.name, &record.version)),
            v3::IndexLayout::V3 { url_base, spec, .. } => {
                let hash = record
                    .checksum
                    .as_deref()
                    .and_then(apk_format::adb::index::decode_checksum)
                    .map(hex::encode)
                    .unwrap_or_default();
                let rel =
                    v3::expand_spec(&spec, &record.name, &record.version, &record.arch, &hash)
                        .map_err(|source| RepoError::Spec {
                            repository: repo.to_string(),
                            source,
                        })?;
                Ok(v3::join_spec(&url_base, &rel))
            }
        }
    }

    fn keyring_names(&self) -> String {
        let names = self.keyring.names();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }

    /// Returns a local, verified copy of a package listed in `repo`'s index.
    pub fn fetch_package(
        &self,
        repo: &RepoLine,
        arch: &str,
        record: &PackageRecord,
    ) -> Result<PathBuf, RepoError> {
        self.fetch_package_noting(repo, arch, record, &NoProgress)
    }

    fn fetch_package_noting(
        &self,
        repo: &RepoLine,
        arch: &str,
        record: &PackageRecord,
        progress: &dyn Progress,
    ) -> Result<PathBuf, RepoError> {
        check_record(record, &repo.location)?;
        let location = self.package_location(repo, arch, record)?;
        match &location {
            Location::Local(p) => {
                check_control(p, record, &location)?;
                Ok(p.clone())
            }
            Location::Remote(url) => {
                let sum = record
                    .checksum
                    .as_deref()
                    .and_then(apk_format::adb::index::decode_checksum)
                    .ok_or_else(|| RepoError::NoChecksum {
                        package: record.name_version(),
                        location: location.clone(),
                    })?;
                let target = self
                    .opts
                    .cache
                    .apk_path(&record.name, &record.version, &sum)?;
                if target.is_file() {
                    match check_control(&target, record, &location) {
                        Ok(()) => return Ok(target),
                        // A corrupt cache entry is replaced by a fresh download.
                        Err(e) => {
                            progress.warning(&format!(
                                "cached package `{}` is damaged ({e}); downloading it again",
                                target.display()
                            ));
                            Cache::evict(&target);
                        }
                    }
                }
                if self.opts.offline {
                    return Err(RepoError::Offline(location));
                }
                let mut tmp = Cache::temp_for(&target)?;
                self.http.get(url, None, tmp.as_file_mut())?;
                check_control(tmp.path(), record, &location)?;
                Cache::commit(tmp, &target)?;
                Ok(target)
            }
        }
    }

    /// Fetches many packages with up to `jobs` downloads at once. Results
    /// are in input order.
    pub fn fetch_packages(
        &self,
        items: &[(RepoLine, String, PackageRecord)],
        progress: &dyn Progress,
    ) -> Result<Vec<PathBuf>, RepoError> {
        let jobs = self.opts.jobs.clamp(1, 32).min(items.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut results: Vec<Option<Result<PathBuf, RepoError>>> =
            (0..items.len()).map(|_| None).collect();
        let slots = std::sync::Mutex::new(&mut results);
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((repo, arch, rec)) = items.get(i) else {
                            break;
                        };
                        let r = self.fetch_package_noting(repo, arch, rec, progress);
                        if let Ok(p) = &r {
                            let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                            progress.package_ready(&rec.name, size);
                        }
                        if let Ok(mut slots) = slots.lock() {
                            slots[i] = Some(r);
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(unreachable_result))
            .collect()
    }

    /// Expands a verified package's data section into the cache as a plain
    /// tar (once per datahash) and returns its path with the package's
    /// metadata. The datahash is checked against `.PKGINFO`.
    pub fn expand_package(&self, apk: &Path) -> Result<ExpandedPackage, RepoError> {
        expand_package(&self.opts.cache, apk)
    }

    /// Expands `apk`, which [`RepoClient::fetch_package`] returned for
    /// `record` of `repo`. A cached download whose data turns out damaged
    /// is dropped, downloaded again and expanded once more (noted in
    /// [`ExpandedPackage::notes`]); a damaged file of a local repository is
    /// an error naming it.
    pub fn expand_fetched(
        &self,
        repo: &RepoLine,
        arch: &str,
        record: &PackageRecord,
        apk: &Path,
    ) -> Result<ExpandedPackage, RepoError> {
        let cached_download = apk.starts_with(self.opts.cache.root());
        let expand = |apk: &Path| {
            let exp = expand_package(&self.opts.cache, apk)?;
            check_identity(&exp, record, apk)?;
            Ok::<_, RepoError>(exp)
        };
        match expand(apk) {
            Err(e) if e.is_damaged_package() && cached_download && !self.opts.offline => {
                Cache::evict(apk);
                let fresh = self.fetch_package(repo, arch, record)?;
                let mut exp = expand(&fresh)?;
                exp.notes.insert(
                    0,
                    format!(
                        "cached package `{}` was damaged ({e}); downloaded it again",
                        apk.display()
                    ),
                );
                Ok(exp)
            }
            other => other,
        }
    }
}

/// Checks, in the pass that expanded it, that the package is the one the
/// index vouches for: its checksum (over control and data for a package
/// without datahash) equals the entry's `C:`. The file was checked when it
/// was fetched, but it may have changed since. (Checksums are compared as
/// bytes: a v3 index writes them in another notation.)
fn check_identity(
    exp: &ExpandedPackage,
    record: &PackageRecord,
    apk: &Path,
) -> Result<(), RepoError> {
    use apk_format::adb::index::decode_checksum as decode;
    match &record.checksum {
        Some(expected) if decode(expected) != decode(&exp.checksum) => {
            Err(RepoError::DataMismatch {
                package: record.name_version(),
                location: Location::Local(apk.to_path_buf()),
                reason: format!("checksum is {}, the index says {expected}", exp.checksum),
            })
        }
        _ => Ok(()),
    }
}

/// Whether a cached index that failed this way is worth downloading again.
fn unreadable_index(e: &RepoError) -> bool {
    matches!(
        e,
        RepoError::Index { .. } | RepoError::V3Index { .. } | RepoError::Signature { .. }
    )
}

fn check_record(p: &PackageRecord, location: &Location) -> Result<(), RepoError> {
    index_packages::check_fields(&p.name, &p.version, &p.arch, location)
}

fn unreachable_result() -> Result<PathBuf, RepoError> {
    Err(RepoError::Io {
        path: PathBuf::new(),
        source: std::io::Error::other("download worker stopped early"),
    })
}

fn check_control(
    path: &Path,
    record: &PackageRecord,
    location: &Location,
) -> Result<(), RepoError> {
    if v3::is_v3_file(path)? {
        return v3::check_identity(
            path,
            &record.name_version(),
            record.checksum.as_deref(),
            location,
        );
    }
    let file = File::open(path).map_err(io_err(path))?;
    let pkg = PackageReader::new(BufReader::new(file)).map_err(|source| RepoError::Package {
        location: location.clone(),
        source,
    })?;
    if let Some(expected) = &record.checksum {
        // For a package without datahash this reads the raw data member
        // too: its C: covers control and data, as apk-tools 2's does.
        let actual = pkg
            .identity()
            .map_err(|source| RepoError::Package {
                location: location.clone(),
                source,
            })?
            .checksum;
        if &actual != expected {
            return Err(RepoError::ChecksumMismatch {
                package: record.name_version(),
                location: location.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(())
}
