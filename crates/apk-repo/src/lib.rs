//! apk repositories: signed index loading, verified package downloads and
//! the on-disk cache, for local directories and HTTP(S) mirrors.
//!
//! Signatures are checked by default; every download is verified against
//! the index (`C:` control checksum) before it enters the cache, and the
//! cache is safe to share between concurrent builds.
#![deny(missing_docs)]

pub mod cache;
pub mod discovery;
pub mod http;
pub mod location;
pub mod time;
pub mod v3;

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use apk_format::index::IndexEntry;
use apk_format::index_archive::{IndexArchiveError, read_index_archive};
use apk_format::package_read::{PackageError, PackageReader, SignatureStatus};
use apk_format::record::PackageRecord;
use apk_format::signing::{KeyError, Keyring, PublicKey};

pub use cache::{Cache, CacheError};
pub use http::{BasicAuth, HttpClient, HttpError};
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
        "package `{package}` from `{location}` does not match the index: control checksum is {actual}, index says {expected}"
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
    pub entries: Vec<IndexEntry>,
    /// Result of the signature check.
    pub signature: SignatureStatus,
    /// Where the index was found and how packages are named.
    pub layout: v3::IndexLayout,
}

/// Receives progress; implemented by the CLI.
pub trait Progress: Sync {
    /// A package file is available locally (downloaded or cached).
    fn package_ready(&self, _name: &str, _downloaded_bytes: u64) {}
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
        let dir = self.opts.cache.url_dir(bucket, url)?;
        let target = dir.join(file_name);
        let etag_path = dir.join(format!("{file_name}.etag"));
        let have = target.is_file();
        if self.opts.offline {
            return if have {
                Ok(target)
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
            http::Fetched::NotModified => Ok(target),
            http::Fetched::Body { etag, .. } => {
                Cache::commit(tmp, &target)?;
                match etag {
                    Some(e) => std::fs::write(&etag_path, e).map_err(io_err(&etag_path))?,
                    None => Cache::evict(&etag_path),
                }
                Ok(target)
            }
        }
    }

    /// Loads a public key from a path or URL.
    pub fn load_key(&self, location: &str) -> Result<PublicKey, RepoError> {
        self.load_key_pem(location).map(|(k, _)| k)
    }

    /// Loads a public key from a path or URL, with its PEM bytes.
    pub fn load_key_pem(&self, location: &str) -> Result<(PublicKey, Vec<u8>), RepoError> {
        let loc = Location::parse(location);
        let name = loc.file_name().unwrap_or_else(|| "key.rsa.pub".to_string());
        let path = match &loc {
            Location::Local(p) => p.clone(),
            Location::Remote(url) => self.cached_download("keys-v1", url, &name)?,
        };
        let pem = std::fs::read(&path).map_err(io_err(&path))?;
        let key = PublicKey::from_pem(name, &pem).map_err(|source| RepoError::Key {
            location: loc,
            source,
        })?;
        Ok((key, pem))
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
        let path = match &location {
            Location::Local(p) => {
                if !p.is_file() {
                    return Err(RepoError::IndexMissing(location));
                }
                p.clone()
            }
            Location::Remote(url) => self.cached_download("index-v1", url, "APKINDEX.tar.gz")?,
        };
        let file = File::open(&path).map_err(io_err(&path))?;
        let archive = read_index_archive(BufReader::new(file)).map_err(|source| {
            if matches!(location, Location::Remote(_)) {
                Cache::evict(&path);
            }
            RepoError::Index {
                location: location.clone(),
                source,
            }
        })?;
        let signature = archive.verify(&self.keyring);
        if !signature.is_valid() && !self.opts.ignore_signatures {
            if matches!(location, Location::Remote(_)) {
                Cache::evict(&path);
            }
            return Err(RepoError::Signature {
                location,
                status: signature,
                keys: self.keyring_names(),
            });
        }
        Ok(LoadedIndex {
            repo: repo.clone(),
            arch: arch.to_string(),
            description: archive.description,
            entries: archive.entries,
            signature,
            layout: v3::IndexLayout::V2,
        })
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
        let path = match &location {
            Location::Local(p) => {
                if !p.is_file() {
                    return Err(RepoError::IndexMissing(location));
                }
                p.clone()
            }
            Location::Remote(url) => self.cached_download("index-v1", url, "Packages.adb")?,
        };
        let file = File::open(&path).map_err(io_err(&path))?;
        let index = apk_format::adb::index::read_index(BufReader::new(file)).map_err(|source| {
            if matches!(location, Location::Remote(_)) {
                Cache::evict(&path);
            }
            v3::index_error(&location, source)
        })?;
        let signature = index.verify(&self.keyring);
        if !signature.is_valid() && !self.opts.ignore_signatures {
            if matches!(location, Location::Remote(_)) {
                Cache::evict(&path);
            }
            return Err(RepoError::Signature {
                location,
                status: signature,
                keys: self.keyring_names(),
            });
        }
        let (url_base, spec) = match (&index.pkgname_spec, default_spec) {
            (Some(spec), _) => (url_base, spec.clone()),
            // Beside the index.
            (None, Some(spec)) => (url_base, spec),
            (None, None) => (url_base, "${name}-${version}.apk".to_string()),
        };
        let entries = index.entries();
        Ok(LoadedIndex {
            repo: repo.clone(),
            arch: arch.to_string(),
            description: index.description,
            entries,
            signature,
            layout: v3::IndexLayout::V3 {
                index: location,
                url_base,
                spec,
            },
        })
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
        let location = self.package_location(repo, arch, record)?;
        match &location {
            Location::Local(p) => {
                check_control(p, record, &location)?;
                Ok(p.clone())
            }
            Location::Remote(url) => {
                let sum_hex = record
                    .checksum
                    .as_deref()
                    .and_then(apk_format::adb::index::decode_checksum)
                    .map(hex::encode)
                    .unwrap_or_else(|| "nochecksum".to_string());
                let target = self
                    .opts
                    .cache
                    .apk_path(&record.name, &record.version, &sum_hex)?;
                if target.is_file() {
                    match check_control(&target, record, &location) {
                        Ok(()) => return Ok(target),
                        // A corrupt cache entry is replaced by a fresh download.
                        Err(_) => Cache::evict(&target),
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
                        let r = self.fetch_package(repo, arch, rec);
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
        let actual = pkg.checksum();
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

/// A package whose data section is available as an uncompressed tar.
#[derive(Clone, Debug)]
pub struct ExpandedPackage {
    /// `.PKGINFO` metadata.
    pub record: PackageRecord,
    /// Control files (scripts, ...).
    pub control_files: Vec<apk_format::package_read::ControlFile>,
    /// `C:` checksum of the control section.
    pub checksum: String,
    /// The uncompressed data tar in the cache.
    pub data_tar: PathBuf,
    /// Size of the .apk file.
    pub file_size: u64,
    /// Owners in the data tar are names to resolve against the target's
    /// account files (v3 packages), not numeric ids.
    pub owners_by_name: bool,
}

/// See [`RepoClient::expand_package`].
pub fn expand_package(cache: &Cache, apk: &Path) -> Result<ExpandedPackage, RepoError> {
    if v3::is_v3_file(apk)? {
        return v3::expand(cache, apk);
    }
    let location = Location::Local(apk.to_path_buf());
    let package_err = |source| RepoError::Package {
        location: location.clone(),
        source,
    };
    let mut file = File::open(apk).map_err(io_err(apk))?;
    let file_size = file.metadata().map_err(io_err(apk))?.len();
    let pkg = PackageReader::new(BufReader::new(&mut file)).map_err(package_err)?;
    let record = pkg.record.clone();
    let control_files = pkg.control_files.clone();
    let checksum = pkg.checksum();
    let want = record.datahash.clone();
    let cached = want.as_deref().map(|h| cache.data_path(h)).transpose()?;
    if let Some(path) = cached.as_ref().filter(|p| p.is_file()) {
        return Ok(ExpandedPackage {
            record,
            control_files,
            checksum,
            data_tar: path.clone(),
            file_size,
            owners_by_name: false,
        });
    }
    // No datahash (old packages) or not cached yet: extract and check.
    let tmp_target = match &cached {
        Some(p) => p.clone(),
        None => cache.data_path(&format!("unhashed-{}", checksum.replace('/', "_")))?,
    };
    let mut tmp = Cache::temp_for(&tmp_target)?;
    let digest = pkg
        .extract_data_tar(tmp.as_file_mut())
        .map_err(package_err)?;
    let actual = hex::encode(digest.datahash);
    if let Some(want) = &want
        && &actual != want
    {
        return Err(package_err(PackageError::Section {
            section: "data",
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("datahash mismatch: .PKGINFO says {want}, data section hashes to {actual}"),
            ),
        }));
    }
    let target = cache.data_path(&actual)?;
    tmp.as_file_mut()
        .seek(SeekFrom::Start(0))
        .map_err(io_err(&target))?;
    Cache::commit(tmp, &target)?;
    Ok(ExpandedPackage {
        record,
        control_files,
        checksum,
        data_tar: target,
        file_size,
        owners_by_name: false,
    })
}
