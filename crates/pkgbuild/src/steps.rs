//! Running pipeline steps: scripts in the sandbox as the build user with
//! the recipe's capabilities and within the build's deadline; the built-in
//! download pipelines (`fetch`, `git-checkout`) on the host.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use recipe::{CompiledRecipe, CompiledStep};
use sandbox::{Bind, Outcome, Root, RunSpec};

use crate::{BuildOptions, Log, PkgBuildError};

pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin";
const WORKSPACE: &str = "/home/build";
/// Where melange mounts its `--cache-dir`.
pub const CACHE_MOUNT: &str = "/var/cache/melange";

/// Runs the steps of one build (or test) in one environment.
pub struct StepRunner<'a> {
    pub recipe: &'a CompiledRecipe,
    pub opts: &'a BuildOptions<'a>,
    pub root: Root,
    pub workspace: &'a Path,
    /// Private scratch space on the host.
    pub work: &'a Path,
    pub log: &'a dyn Log,
    /// uid and gid the steps run as.
    pub user: (u32, u32),
    /// The steps' capabilities.
    pub capabilities: Vec<String>,
    /// The build's timeout and when it ends.
    pub deadline: Option<(Duration, Instant)>,
    /// Sandboxes started.
    pub starts: Cell<u32>,
    /// Time spent starting sandboxes (measured once with `true`).
    pub setup: Cell<Duration>,
    /// Time spent in host-run download pipelines.
    pub sources: Cell<Duration>,
    /// The environment as the runner's image, for runners that need one.
    pub image: Option<String>,
}

impl Drop for StepRunner<'_> {
    /// The build's sandboxes are done with (a runner's containers go).
    fn drop(&mut self) {
        self.opts.runner.release(&self.root);
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A guest path (absolute, or relative to `base`) as a host path inside
/// the workspace, or `None` when it is outside.
fn in_workspace(workspace: &Path, base: &str, path: &str) -> Option<PathBuf> {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    let rest = parts.strip_prefix(&["home", "build"][..])?;
    Some(rest.iter().fold(workspace.to_path_buf(), |p, c| p.join(c)))
}

fn label(step: &CompiledStep) -> String {
    if !step.name.is_empty() {
        step.name.clone()
    } else if !step.uses.is_empty() {
        step.uses.clone()
    } else {
        step.runs
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .chars()
            .take(60)
            .collect()
    }
}

impl<'a> StepRunner<'a> {
    pub fn run_all(&self, steps: &[CompiledStep]) -> Result<(), PkgBuildError> {
        for step in steps {
            self.run_step(step)?;
        }
        Ok(())
    }

    fn remaining(&self, step: &str) -> Result<Option<Duration>, PkgBuildError> {
        match self.deadline {
            None => Ok(None),
            Some((timeout, end)) => {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(PkgBuildError::Timeout {
                        step: step.to_string(),
                        timeout,
                    });
                }
                Ok(Some(left))
            }
        }
    }

    fn run_step(&self, step: &CompiledStep) -> Result<(), PkgBuildError> {
        if !step.enabled {
            return Ok(());
        }
        let label = label(step);
        if step.host {
            self.log.line(&format!("  -> {label}"));
            self.remaining(&label)?;
            let started = Instant::now();
            let result = self.host_step(step);
            self.sources.set(self.sources.get() + started.elapsed());
            return result;
        }
        if !step.runs.trim().is_empty() {
            self.log.line(&format!("  -> {label}"));
            self.script(step, &label)?;
        }
        self.run_all(&step.pipeline)
    }

    /// `fetch` or `git-checkout`, on the host.
    fn host_step(&self, step: &CompiledStep) -> Result<(), PkgBuildError> {
        host_step(
            step,
            &HostContext {
                workspace: self.workspace,
                work: self.work,
                cache: self.opts.source_cache.as_deref(),
                source_date_epoch: self.opts.source_date_epoch,
                log: self.log,
            },
        )
    }

    /// The sandbox spec of a step running `argv`.
    fn spec(&self, step: &CompiledStep, argv: Vec<String>) -> RunSpec {
        let mut env: Vec<(String, String)> = self
            .recipe
            .environment
            .environment
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in &step.environment {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        for (k, v) in [
            ("PATH", DEFAULT_PATH.to_string()),
            ("HOME", WORKSPACE.into()),
            ("SOURCE_DATE_EPOCH", self.opts.source_date_epoch.to_string()),
        ] {
            if !env.iter().any(|(ek, _)| ek == k) {
                env.push((k.to_string(), v));
            }
        }
        let mut binds = vec![Bind {
            source: self.workspace.to_path_buf(),
            target: WORKSPACE.into(),
            read_only: false,
        }];
        if let Some(cache) = &self.opts.source_cache {
            binds.push(Bind {
                source: cache.clone(),
                target: CACHE_MOUNT.into(),
                read_only: false,
            });
        }
        RunSpec {
            root: self.root.clone(),
            binds,
            workdir: WORKSPACE.into(),
            env,
            argv,
            network: self.opts.network,
            uid: self.user.0,
            gid: self.user.1,
            capabilities: self.capabilities.clone(),
            timeout: None,
            interactive: false,
            image: self.image.clone(),
        }
    }

    fn script(&self, step: &CompiledStep, label: &str) -> Result<(), PkgBuildError> {
        let wd = step.absolute_working_directory();
        let script = format!(
            "set -e{}\n[ -d {q} ] || mkdir -p {q}\ncd {q}\n{}\nexit 0\n",
            if self.opts.debug { "x" } else { "" },
            step.runs,
            q = quote(&wd)
        );
        let mut spec = self.spec(step, vec!["/bin/sh".into(), "-c".into(), script]);
        if self.starts.get() == 0 {
            // Measure once what starting a sandbox costs, with `true`.
            let probe = RunSpec {
                argv: vec!["/bin/sh".into(), "-c".into(), "true".into()],
                ..spec.clone()
            };
            let t = Instant::now();
            self.opts.runner.run(&probe, &mut |_| {})?;
            self.setup.set(t.elapsed());
        }
        self.starts.set(self.starts.get() + 1);
        spec.timeout = self.remaining(label)?;
        let outcome = self
            .opts
            .runner
            .run(&spec, &mut |l| self.log.line(&format!("     {l}")))?;
        if outcome.success() {
            return Ok(());
        }
        let shell = RunSpec {
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                format!("cd {} 2>/dev/null; exec /bin/sh", quote(&wd)),
            ],
            timeout: None,
            interactive: true,
            ..spec
        };
        if self.opts.interactive {
            self.log.line(&format!(
                "step `{label}` failed: a shell in its sandbox (exit it to end the build)"
            ));
            self.opts.runner.run(&shell, &mut |_| {})?;
        }
        let hint = if self.opts.keep_failed {
            format!(
                "; the build is kept: enter it with `{}`",
                self.opts.runner.describe(&shell)
            )
        } else {
            String::new()
        };
        Err(match outcome {
            Outcome::TimedOut => PkgBuildError::Timeout {
                step: label.to_string(),
                timeout: self.deadline.map(|d| d.0).unwrap_or_default(),
            },
            Outcome::Exited(code) => PkgBuildError::Step {
                step: label.to_string(),
                code,
                hint,
            },
            Outcome::Killed => PkgBuildError::Step {
                step: label.to_string(),
                code: -1,
                hint,
            },
        })
    }
}

/// Copies a directory tree (files, dirs, symlinks) into `dest`.
pub fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        let target = dest.join(entry.file_name());
        if ft.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
            let mode = std::fs::metadata(entry.path())?.permissions();
            std::fs::set_permissions(&target, mode)?;
        } else if ft.is_symlink() {
            if std::fs::symlink_metadata(&target).is_ok() {
                std::fs::remove_file(&target)?;
            }
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Where a host step puts its sources.
pub(crate) struct HostContext<'a> {
    /// The workspace on the host.
    pub workspace: &'a Path,
    /// Private scratch space on the host.
    pub work: &'a Path,
    /// The source cache, if any.
    pub cache: Option<&'a Path>,
    pub source_date_epoch: u64,
    pub log: &'a dyn Log,
}

/// `fetch` or `git-checkout`, on the host.
pub(crate) fn host_step(step: &CompiledStep, cx: &HostContext<'_>) -> Result<(), PkgBuildError> {
    let at = step
        .at
        .as_ref()
        .map_or_else(|| step.uses.clone(), ToString::to_string);
    let wd = step.absolute_working_directory();
    let place = |path: &str| {
        in_workspace(cx.workspace, &wd, path).ok_or_else(|| PkgBuildError::Source {
            at: at.clone(),
            what: step.uses.clone(),
            reason: format!(
                "`{path}` (from {wd}) is outside the workspace {WORKSPACE}; apkforge runs {} on the host and places sources only in the workspace",
                step.uses
            ),
        })
    };
    let scratch = tempfile::Builder::new()
        .prefix("source-")
        .tempdir_in(cx.work)
        .map_err(|source| PkgBuildError::Work {
            path: cx.work.to_path_buf(),
            source,
        })?;
    let cache = cx.cache;
    let get = |k: &str| step.inputs.get(k).map_or("", String::as_str);
    match step.uses.as_str() {
        "fetch" => {
            let dest = place(".")?;
            let directory = place(if get("directory").is_empty() {
                "."
            } else {
                get("directory")
            })?;
            std::fs::create_dir_all(&dest).map_err(|source| PkgBuildError::Work {
                path: dest.clone(),
                source,
            })?;
            crate::fetch::fetch(
                &step.inputs,
                &dest,
                &directory,
                scratch.path(),
                cache,
                cx.log,
            )
            .map_err(|e| match e {
                PkgBuildError::Fetch { uri, reason } => PkgBuildError::Source {
                    at: at.clone(),
                    what: format!("fetch `{uri}`"),
                    reason,
                },
                other => other,
            })
        }
        _ => {
            let dest = place(if get("destination").is_empty() {
                "."
            } else {
                get("destination")
            })?;
            crate::git::checkout(
                &step.inputs,
                &dest,
                scratch.path(),
                cache,
                cx.source_date_epoch,
                cx.log,
            )
            .map_err(|reason| PkgBuildError::Source {
                at: at.clone(),
                what: format!("git-checkout of {}", get("repository")),
                reason,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_map_into_the_workspace_only() {
        let ws = Path::new("/w");
        assert_eq!(
            in_workspace(ws, "/home/build", "."),
            Some(PathBuf::from("/w"))
        );
        assert_eq!(
            in_workspace(ws, "/home/build/src", "../x/y"),
            Some(PathBuf::from("/w/x/y"))
        );
        assert_eq!(
            in_workspace(ws, "/home/build", "/home/build/melange-out/p/usr"),
            Some(PathBuf::from("/w/melange-out/p/usr"))
        );
        assert_eq!(in_workspace(ws, "/home/build", "/usr/src"), None);
        assert_eq!(in_workspace(ws, "/home/build", "../../.."), None);
        assert_eq!(in_workspace(ws, "/home/build", "/home/builder"), None);
    }
}
