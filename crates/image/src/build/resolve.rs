//! Keys, repository checks and resolution: what each architecture installs.

use std::collections::BTreeMap;

use apk_format::Dependency;
use apk_format::record::PackageRecord;
use apk_format::signing::Keyring;
use apk_repo::{Cache, HttpClient, Options, RepoClient, RepoError, RepoLine};

use super::{BuildError, Reporter, plural, unique};
use crate::request::{BuildOptions, BuildRequest};

/// Per architecture, the packages to install in order, each with the
/// repository it comes from.
pub type Resolved = Vec<(String, Vec<(RepoLine, PackageRecord)>)>;

/// Resolves the request against the repositories.
pub fn resolve(
    client: &RepoClient,
    req: &BuildRequest,
    reporter: &dyn Reporter,
) -> Result<Resolved, BuildError> {
    resolve_on(client, req, reporter, &BTreeMap::new())
}

/// The line base-image packages resolve from (they are never fetched).
pub const BASE_IMAGE_REPOSITORY: &str = "(base image)";

/// As [`resolve`], with each architecture's base-image packages offered
/// as an extra repository and pinned in the world at their versions.
pub fn resolve_on(
    client: &RepoClient,
    req: &BuildRequest,
    reporter: &dyn Reporter,
    base: &BTreeMap<String, Vec<PackageRecord>>,
) -> Result<Resolved, BuildError> {
    if req.archs.is_empty() {
        return Err(BuildError::NoArchs);
    }
    let repo_lines: Vec<RepoLine> = unique(
        req.repositories
            .iter()
            .chain(&req.build_repositories)
            .cloned(),
    )
    .iter()
    .map(|l| RepoLine::parse(l))
    .collect();
    check_repositories(req)?;
    let mut world = req.world()?;
    for pins in base.values() {
        for p in pins {
            let atom = format!("{}={}", p.name, p.version);
            if let Ok(d) = Dependency::parse(&atom)
                && !world.contains(&d)
            {
                world.push(d);
            }
        }
    }
    let mut per_arch = Vec::new();
    let mut lines_per_arch = Vec::new();
    for arch in &req.archs {
        reporter.phase(&format!(
            "{arch}: loading {}",
            plural(repo_lines.len(), "repository index", "repository indexes")
        ));
        let loaded: Vec<Result<apk_repo::LoadedIndex, RepoError>> = std::thread::scope(|s| {
            let handles: Vec<_> = repo_lines
                .iter()
                .map(|r| s.spawn(|| client.load_index(r, arch)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(RepoError::IndexMissing(apk_repo::Location::Remote(
                            "(worker failed)".into(),
                        )))
                    })
                })
                .collect()
        });
        let mut repos = Vec::new();
        let mut lines = Vec::new();
        for (line, result) in repo_lines.iter().zip(loaded) {
            match result {
                Ok(idx) => {
                    repos.push(apk_solve::Repository {
                        name: line.location.to_string(),
                        tag: line.tag.clone(),
                        packages: crate::solver_packages(idx.entries),
                    });
                    lines.push(line.clone());
                }
                // apko only warns about a local repository without this arch.
                Err(RepoError::IndexMissing(missing))
                    if matches!(line.location, apk_repo::Location::Local(_)) =>
                {
                    reporter.warn(&format!(
                        "repository `{}` has no index for {arch} (`{missing}`); skipped for {arch}",
                        line.text
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(pkgs) = base.get(arch) {
            repos.push(apk_solve::Repository {
                name: BASE_IMAGE_REPOSITORY.to_string(),
                tag: None,
                packages: apk_solve::Packages::Records(pkgs.clone()),
            });
            lines.push(RepoLine::parse(BASE_IMAGE_REPOSITORY));
        }
        if repos.is_empty() {
            return Err(BuildError::NoIndexes {
                arch: arch.clone(),
                repos: repo_lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        per_arch.push((arch.clone(), repos));
        lines_per_arch.push(lines);
    }
    reporter.phase("resolving packages");
    let resolutions = apk_solve::resolve_multi_arch(&per_arch, &world)?;
    Ok(per_arch
        .iter()
        .zip(resolutions)
        .zip(lines_per_arch)
        .map(|(((arch, repos), res), lines)| {
            let pkgs = res
                .packages
                .iter()
                .map(|id| {
                    (
                        lines[id.repo].clone(),
                        repos[id.repo].packages.record(id.index).into_owned(),
                    )
                })
                .collect();
            (arch.clone(), pkgs)
        })
        .collect())
}

/// Refuses repository lines that cannot work (see [`crate::repo_check`]),
/// before anything is downloaded.
pub fn check_repositories(req: &BuildRequest) -> Result<(), BuildError> {
    for text in req.repositories.iter().chain(&req.build_repositories) {
        let line = RepoLine::parse(text);
        if let Some(problem) = crate::repo_check::repository_problem(&line) {
            return Err(BuildError::Repository {
                repo: line.text,
                problem,
            });
        }
    }
    Ok(())
}

/// A repository client for these options.
pub fn client(opts: &BuildOptions) -> RepoClient {
    RepoClient::new(
        Options {
            cache: Cache::new(&opts.cache_dir),
            offline: opts.offline,
            ignore_signatures: opts.ignore_signatures,
            auth: HttpClient::auth_from_env(),
            jobs: opts.jobs,
        },
        Keyring::new(),
    )
}

/// Loads the build keyring; returns (file name, location, PEM) per key.
pub fn load_keys(
    client: &mut RepoClient,
    req: &BuildRequest,
) -> Result<Vec<(String, String, Vec<u8>)>, BuildError> {
    check_repositories(req)?;
    let mut ring = Keyring::new();
    let mut files = Vec::new();
    for k in unique(req.keyring.iter().cloned()) {
        let (key, pem) = client.load_key_pem(&k)?;
        files.push((key.name.clone(), k.clone(), pem));
        ring.add(key);
    }
    // Keys the repositories publish (Alpine's releases.json, Chainguard's
    // apk-configuration), as apko discovers them.
    let today = crate::time::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    for line in unique(
        req.repositories
            .iter()
            .chain(&req.build_repositories)
            .cloned(),
    ) {
        let repo = RepoLine::parse(&line);
        for arch in &req.archs {
            let found = match client.discover_keys(&repo, arch, &today[..10]) {
                Ok(found) => found,
                // Offline, discovery uses what the cache has, like apko.
                Err(RepoError::Offline(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            for (name, pem) in found {
                if files
                    .iter()
                    .any(|(n, _, _): &(String, String, Vec<u8>)| n == &name)
                {
                    continue;
                }
                let key = apk_format::signing::PublicKey::from_pem(name.clone(), &pem).map_err(
                    |source| RepoError::Key {
                        location: repo.location.clone(),
                        source,
                    },
                )?;
                ring.add(key);
                files.push((name, format!("{}", repo.location), pem));
            }
        }
    }
    client.set_keyring(ring);
    Ok(files)
}
