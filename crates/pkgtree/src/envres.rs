//! Resolving build environments without building: the packages a build
//! would install, from the same request and solver the build uses.
//!
//! Indexes are loaded once per run and kept in memory; a local index (the
//! tree's own repository, which grows as the run goes) is read again only
//! when its file changed.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use apk_format::Dependency;
use apk_format::record::PackageRecord;
use apk_repo::{Location, RepoClient, RepoError, RepoLine};
use image::BuildError;

/// Identity of an index's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stamp {
    /// A local repository: size, modification time and inode of each file
    /// its index may be read from (`APKINDEX.tar.gz`, `Packages.adb`, or
    /// the file the line names), `None` where there is none.
    Local(Vec<Option<(u64, i64, i64, u64)>>),
    /// A remote index: loaded once per run.
    Remote,
}

struct RepoSet {
    client: RepoClient,
    lines: Vec<RepoLine>,
    loaded: Vec<Option<(Stamp, Option<apk_solve::Repository>)>>,
    catalog: Option<Arc<Catalog>>,
    /// The loaded repositories, in order, as the solver takes them.
    active: Option<Vec<apk_solve::Repository>>,
}

/// Keys, repositories and architecture of a request.
type SetKey = (Vec<String>, Vec<String>, String);

/// Resolves build environments, sharing loaded indexes between calls.
pub struct EnvResolver {
    options: image::BuildOptions,
    sets: Mutex<HashMap<SetKey, Arc<Mutex<RepoSet>>>>,
}

impl std::fmt::Debug for EnvResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvResolver").finish_non_exhaustive()
    }
}

fn unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn stamp(line: &RepoLine, arch: &str) -> Stamp {
    let Location::Local(root) = &line.location else {
        return Stamp::Remote;
    };
    let files = [
        root.clone(),
        root.join(arch).join("APKINDEX.tar.gz"),
        root.join(arch).join("Packages.adb"),
    ];
    Stamp::Local(
        files
            .iter()
            .map(|p| match std::fs::metadata(p) {
                Ok(m) if m.is_file() => Some((m.len(), m.mtime(), m.mtime_nsec(), m.ino())),
                _ => None,
            })
            .collect(),
    )
}

impl EnvResolver {
    /// A resolver using `cache_dir` for remote indexes and keys.
    pub fn new(cache_dir: PathBuf, ignore_signatures: bool) -> EnvResolver {
        EnvResolver {
            options: image::BuildOptions {
                cache_dir,
                offline: false,
                ignore_signatures,
                source_date_epoch: None,
                compression_level: 1,
                jobs: 4,
                work_dir: std::env::temp_dir(),
                lock: None,
            },
            sets: Mutex::new(HashMap::new()),
        }
    }

    /// The packages `req` (a build environment request for one
    /// architecture) resolves to, in install order.
    pub fn resolve(&self, req: &image::BuildRequest) -> Result<Vec<PackageRecord>, BuildError> {
        let key = set_key(req).ok_or(BuildError::NoArchs)?;
        let (lines, arch) = (key.1.clone(), key.2.clone());
        let set = {
            let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
            match sets.get(&key) {
                Some(s) => Arc::clone(s),
                None => {
                    let mut client = image::build::client(&self.options);
                    image::build::load_keys(&mut client, req)?;
                    let lines: Vec<RepoLine> = lines.iter().map(|l| RepoLine::parse(l)).collect();
                    let loaded = vec![None; lines.len()];
                    let s = Arc::new(Mutex::new(RepoSet {
                        client,
                        lines,
                        loaded,
                        catalog: None,
                        active: None,
                    }));
                    sets.insert(key, Arc::clone(&s));
                    s
                }
            }
        };
        let world = req.world()?;
        let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
        let RepoSet {
            client,
            lines,
            loaded,
            catalog,
            active,
        } = &mut *set;
        for (line, slot) in lines.iter().zip(loaded.iter_mut()) {
            let now = stamp(line, &arch);
            if slot.as_ref().is_some_and(|(s, _)| *s == now) {
                continue;
            }
            let repo = match client.load_index(line, &arch) {
                Ok(idx) => Some(apk_solve::Repository {
                    name: line.location.to_string(),
                    tag: line.tag.clone(),
                    packages: image::solver_packages(idx.entries),
                }),
                // As in image builds: a local repository without this
                // architecture is skipped.
                Err(RepoError::IndexMissing(_)) if matches!(line.location, Location::Local(_)) => {
                    None
                }
                Err(e) => return Err(e.into()),
            };
            *slot = Some((now, repo));
            *catalog = None;
            *active = None;
        }
        let repos = active.get_or_insert_with(|| {
            loaded
                .iter()
                .filter_map(|s| s.as_ref().and_then(|(_, r)| r.clone()))
                .collect()
        });
        if repos.is_empty() {
            return Err(BuildError::NoIndexes {
                arch,
                repos: lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let resolution = apk_solve::resolve(repos, &world).map_err(|mut e| {
            e.arch = Some(arch.clone());
            e
        })?;
        Ok(resolution
            .records(repos)
            .into_iter()
            .map(std::borrow::Cow::into_owned)
            .collect())
    }

    /// What the repositories of `req` offer, by name and provides.
    pub fn catalog(&self, req: &image::BuildRequest) -> Result<Arc<Catalog>, BuildError> {
        let mut probe = req.clone();
        probe.packages = Vec::new();
        // Loads (or refreshes) the indexes of this request.
        self.resolve(&probe)?;
        let set = self.set_of(req).ok_or(BuildError::NoArchs)?;
        let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = &set.catalog {
            return Ok(Arc::clone(c));
        }
        let mut names: HashMap<String, Vec<Option<String>>> = HashMap::new();
        for r in set
            .loaded
            .iter()
            .filter_map(|s| s.as_ref().and_then(|(_, r)| r.as_ref()))
        {
            for i in 0..r.packages.len() {
                let p = r.packages.record(i);
                names
                    .entry(p.name.clone())
                    .or_default()
                    .push(Some(p.version.clone()));
                for pr in &p.provides {
                    let v = match &pr.constraint {
                        apk_format::dependency::Constraint::Version { version, .. } => {
                            Some(version.clone())
                        }
                        _ => None,
                    };
                    names.entry(pr.name.clone()).or_default().push(v);
                }
            }
        }
        let c = Arc::new(Catalog { names });
        set.catalog = Some(Arc::clone(&c));
        Ok(c)
    }

    fn set_of(&self, req: &image::BuildRequest) -> Option<Arc<Mutex<RepoSet>>> {
        let sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        sets.get(&set_key(req)?).cloned()
    }
}

/// Names the repositories offer, with the versions they are offered at
/// (`None`: an unversioned provide).
#[derive(Debug, Default)]
pub struct Catalog {
    names: HashMap<String, Vec<Option<String>>>,
}

impl Catalog {
    /// Whether some package satisfies `atom` (by name or provides, version
    /// respected).
    pub fn satisfies(&self, atom: &Dependency) -> bool {
        self.names
            .get(&atom.name)
            .is_some_and(|v| v.iter().any(|ver| atom.matches_version(ver.as_deref())))
    }
}

/// What identifies the indexes and keys of a request.
fn set_key(req: &image::BuildRequest) -> Option<SetKey> {
    let arch = req.archs.first()?.clone();
    let lines = unique(
        req.repositories
            .iter()
            .chain(&req.build_repositories)
            .cloned(),
    );
    Some((unique(req.keyring.iter().cloned()), lines, arch))
}
