//! Turning an apko config plus command-line flags into a build request.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use image::BuildRequest;
use image_config::{Arch, Config, LoadOptions, LoadedConfig, PathType};
use rootfs::accounts::{Group, User};
use rootfs::paths::{PathKind, PathMutation};

use crate::cli::ResolveArgs;

/// Loads a config with its includes.
pub fn load_config(path: &Path, include_paths: &[PathBuf]) -> Result<LoadedConfig> {
    let opts = LoadOptions {
        include_paths: include_paths.to_vec(),
        ..Default::default()
    };
    let loaded = Config::load(path, &opts)?;
    crate::output::print_config_warnings(&loaded);
    Ok(loaded)
}

/// Turns a build error into one that names where a bad repository line was
/// written (`apko.yaml:7:7: repository ...`).
pub fn locate_build_error(loaded: &LoadedConfig) -> impl Fn(image::BuildError) -> anyhow::Error {
    move |err| {
        if let image::BuildError::Repository { repo, .. } = &err {
            let at = match loaded.repository_position(repo) {
                Some(pos) => pos.to_string(),
                None => "command line (-r/-b)".to_string(),
            };
            return anyhow::anyhow!("{at}: {err}");
        }
        // Other failures naming a repository (not found, bad signature, ...)
        // say where that repository was declared.
        let text = err.to_string();
        let declared = loaded
            .repository_positions
            .iter()
            .filter(|(repo, _)| {
                let location = repo.rsplit(' ').next().unwrap_or(repo);
                !location.is_empty() && text.contains(location)
            })
            .max_by_key(|(repo, _)| repo.len());
        match declared {
            Some((repo, pos)) => {
                anyhow::Error::from(err).context(format!("{pos}: repository `{repo}`"))
            }
            None => err.into(),
        }
    }
}

/// The request for `config` with the flags applied.
pub fn build_request(config: &Config, flags: &ResolveArgs) -> Result<BuildRequest> {
    let cli_archs = Arch::parse_list(&flags.arch).context("--arch")?;
    let archs = config.effective_archs(&cli_archs);
    let c = &config.contents;
    let mut packages = c.packages.clone();
    packages.extend(flags.package_append.iter().cloned());
    let users = config
        .accounts
        .users
        .iter()
        .map(|u| User {
            name: u.username.clone(),
            uid: u.uid,
            gid: Some(u.effective_gid()),
            shell: Some(u.effective_shell().to_string()),
            home: Some(u.effective_homedir()),
        })
        .collect();
    let groups = config
        .accounts
        .groups
        .iter()
        .map(|g| Group {
            name: g.groupname.clone(),
            gid: g.gid,
            members: g.members.clone(),
        })
        .collect();
    let paths = config
        .paths
        .iter()
        .map(|p| PathMutation {
            path: p.path.clone(),
            kind: match p.r#type {
                PathType::Directory => PathKind::Directory,
                PathType::EmptyFile => PathKind::EmptyFile,
                PathType::Hardlink => PathKind::Hardlink,
                PathType::Symlink => PathKind::Symlink,
                PathType::Permissions => PathKind::Permissions,
            },
            uid: p.uid,
            gid: p.gid,
            permissions: p.permissions,
            source: (!p.source.is_empty()).then(|| p.source.clone()),
            recursive: p.recursive,
        })
        .collect();
    let certificates = config
        .certificates
        .iter()
        .flat_map(|c| {
            c.additional
                .iter()
                .map(|a| (a.name.clone(), a.content.clone()))
        })
        .collect();
    let base_image = match &config.contents.baseimage {
        None => None,
        Some(b) => {
            if b.image.is_empty() {
                bail!("`contents.baseimage.image` is empty: give the base image's OCI layout");
            }
            let find = |p: &str| -> PathBuf {
                // As apko: the path itself, else under each include path.
                let direct = PathBuf::from(p);
                if direct.exists() {
                    return direct;
                }
                flags
                    .include_paths
                    .iter()
                    .map(|d| d.join(p.trim_start_matches('/')))
                    .find(|c| c.exists())
                    .unwrap_or(direct)
            };
            Some(image::base::BaseImage {
                layout: find(&b.image),
                apkindex: (!b.apkindex.is_empty()).then(|| find(&b.apkindex)),
            })
        }
    };
    if config.format == Some(image_config::LayerFormat::Erofs) {
        bail!("`format: erofs` is not supported; use the default tar format");
    }
    let layering_budget = config
        .layering_enabled()
        .map(|l| usize::try_from(l.budget.max(0)).unwrap_or(0));
    let mut annotations = config.annotations.clone();
    if !config.vcs_url.is_empty() {
        // `url@commit`, as apko records it.
        let (url, commit) = match config.vcs_url.rsplit_once('@') {
            Some((u, c)) if !c.contains('/') => (u.to_string(), Some(c.to_string())),
            _ => (config.vcs_url.clone(), None),
        };
        annotations
            .entry("org.opencontainers.image.source".into())
            .or_insert(url);
        if let Some(c) = commit {
            annotations
                .entry("org.opencontainers.image.revision".into())
                .or_insert(c);
        }
    }
    Ok(BuildRequest {
        archs: archs.iter().map(|a| a.apk_name().to_string()).collect(),
        repositories: c
            .repositories
            .iter()
            .chain(&flags.repository_append)
            .cloned()
            .collect(),
        build_repositories: c
            .build_repositories
            .iter()
            .chain(&flags.build_repository_append)
            .cloned()
            .collect(),
        runtime_repositories: c.runtime_repositories.clone(),
        keyring: c
            .keyring
            .iter()
            .chain(&flags.keyring_append)
            .cloned()
            .collect(),
        runtime_keyring: c
            .runtime_keyring
            .iter()
            .map(|k| (k.name.clone(), k.content.clone().into_bytes()))
            .collect(),
        packages,
        users,
        groups,
        run_as: (!config.accounts.run_as.is_empty()).then(|| config.accounts.run_as.clone()),
        paths,
        certificates,
        entrypoint: config.entrypoint_argv()?,
        cmd: config.cmd_argv()?,
        env: config.environment_with_defaults(),
        work_dir: (!config.work_dir.is_empty()).then(|| config.work_dir.clone()),
        stop_signal: (!config.stop_signal.is_empty()).then(|| config.stop_signal.clone()),
        volumes: config.volumes.clone(),
        annotations,
        services: config.entrypoint.services.clone(),
        certificate_providers: config
            .certificates
            .iter()
            .flat_map(|c| c.providers.clone())
            .collect(),
        layering_budget,
        base_image,
    })
}

/// `--cache-dir` or the default.
pub fn cache_dir(flags: &ResolveArgs) -> PathBuf {
    flags
        .cache_dir
        .clone()
        .unwrap_or_else(apk_repo::Cache::default_root)
}

/// `SOURCE_DATE_EPOCH` (wins) or `--build-date`.
pub fn build_date(flag: Option<&str>) -> Result<Option<u64>> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH")
        && !v.trim().is_empty()
    {
        return Ok(Some(v.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH `{v}` is not a number of seconds")
        })?));
    }
    match flag {
        Some(d) => Ok(Some(image::time::parse_rfc3339(d).with_context(|| {
            format!("--build-date `{d}` is not an RFC 3339 time")
        })?)),
        None => Ok(None),
    }
}

/// What `--vcs` adds (apko's default): the git remote and commit of the
/// repository holding the config, as the source and revision annotations.
/// Nothing when the config is not in a git checkout or git is missing.
pub fn vcs_annotations(config: &Path) -> Vec<(String, String)> {
    let dir = match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !in_git_checkout(&dir) {
        return Vec::new();
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let mut out = Vec::new();
    if let Some(url) = git(&["config", "--get", "remote.origin.url"]) {
        // `git@host:org/repo` is written as a URL, as apko does.
        let url = match url.split_once(':') {
            Some((user_host, path)) if user_host.contains('@') && !url.contains("://") => {
                format!("git+ssh://{user_host}/{path}")
            }
            _ => url,
        };
        out.push(("org.opencontainers.image.source".to_string(), url));
    }
    if let Some(commit) = git(&["rev-parse", "HEAD"]) {
        out.push(("org.opencontainers.image.revision".to_string(), commit));
    }
    out
}

/// Whether git could find a repository for `dir`: `GIT_DIR` is set, or
/// `dir` or one of its parents holds `.git` (a directory, or the file of a
/// worktree or submodule). Saves starting git for configs outside any
/// checkout (a fresh CI machine's generated config, a temp directory).
fn in_git_checkout(dir: &Path) -> bool {
    if std::env::var_os("GIT_DIR").is_some() {
        return true;
    }
    let Ok(dir) = std::path::absolute(dir) else {
        return true;
    };
    dir.ancestors()
        .any(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
}
