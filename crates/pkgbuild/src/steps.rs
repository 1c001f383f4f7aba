//! Running pipeline steps in the sandbox.

use std::path::Path;

use recipe::{CompiledRecipe, CompiledStep};
use sandbox::{Bind, RunSpec};

use crate::{BuildOptions, Log, PkgBuildError};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin";

pub struct StepRunner<'a> {
    pub recipe: &'a CompiledRecipe,
    pub opts: &'a BuildOptions<'a>,
    pub root: &'a Path,
    pub workspace: &'a Path,
    pub work: &'a Path,
    pub log: &'a dyn Log,
    /// Sandboxes started.
    pub starts: std::cell::Cell<u32>,
    /// Time spent starting sandboxes (measured with an empty command).
    pub setup_ms: std::cell::Cell<u128>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl<'a> StepRunner<'a> {
    pub fn new(
        recipe: &'a CompiledRecipe,
        opts: &'a BuildOptions<'a>,
        root: &'a Path,
        workspace: &'a Path,
        work: &'a Path,
        log: &'a dyn Log,
    ) -> Self {
        StepRunner {
            recipe,
            opts,
            root,
            workspace,
            work,
            log,
            starts: std::cell::Cell::new(0),
            setup_ms: std::cell::Cell::new(0),
        }
    }

    pub fn run_all(&self, steps: &[CompiledStep]) -> Result<(), PkgBuildError> {
        for step in steps {
            self.run_step(step)?;
        }
        Ok(())
    }

    fn run_step(&self, step: &CompiledStep) -> Result<(), PkgBuildError> {
        if !step.enabled {
            return Ok(());
        }
        let label = if !step.name.is_empty() {
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
        };
        if step.uses == "fetch" {
            self.log.line(&format!("  -> {label}"));
            let with = fetch_inputs(step);
            return crate::fetch::fetch(
                &with,
                self.workspace,
                &self.opts.cache_dir.join("fetch-v1"),
            );
        }
        if !step.runs.trim().is_empty() {
            self.log.line(&format!("  -> {label}"));
            let wd = if step.working_directory.is_empty() {
                "/home/build".to_string()
            } else if step.working_directory.starts_with('/') {
                step.working_directory.clone()
            } else {
                format!("/home/build/{}", step.working_directory)
            };
            let script = format!(
                "set -e\n[ -d {q} ] || mkdir -p {q}\ncd {q}\n{}\nexit 0\n",
                step.runs,
                q = quote(&wd)
            );
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
                ("HOME", "/home/build".into()),
                ("SOURCE_DATE_EPOCH", self.opts.source_date_epoch.to_string()),
            ] {
                if !env.iter().any(|(ek, _)| ek == k) {
                    env.push((k.to_string(), v));
                }
            }
            let spec = RunSpec {
                root: self.root.to_path_buf(),
                binds: vec![Bind {
                    source: self.workspace.to_path_buf(),
                    target: "/home/build".into(),
                    read_only: false,
                }],
                workdir: "/home/build".into(),
                env,
                argv: vec!["/bin/sh".into(), "-c".into(), script],
                network: self.opts.network,
            };
            if self.starts.get() == 0 {
                // Measure once what starting a sandbox costs, with `true`.
                let probe = RunSpec {
                    argv: vec!["/bin/sh".into(), "-c".into(), "true".into()],
                    ..spec.clone()
                };
                let t = std::time::Instant::now();
                self.opts.runner.run(&probe, &mut |_| {})?;
                self.setup_ms.set(t.elapsed().as_millis());
            }
            self.starts.set(self.starts.get() + 1);
            let code = self
                .opts
                .runner
                .run(&spec, &mut |l| self.log.line(&format!("     {l}")))?;
            if code != Some(0) {
                let hint = if self.opts.debug {
                    format!(
                        "; the build is kept: enter it with `bwrap --bind {} / --bind {} /home/build --proc /proc --dev /dev --chdir /home/build /bin/sh`",
                        self.root.display(),
                        self.workspace.display()
                    )
                } else {
                    String::new()
                };
                let _ = self.work;
                return Err(PkgBuildError::Step {
                    step: label,
                    code: code.unwrap_or(-1),
                    hint,
                });
            }
        }
        self.run_all(&step.pipeline)
    }
}

/// The inputs of a `fetch` step, defaults included.
fn fetch_inputs(step: &CompiledStep) -> std::collections::BTreeMap<String, String> {
    let mut with = step.with.clone();
    for (k, v) in [
        ("strip-components", "1"),
        ("extract", "true"),
        ("delete", "false"),
        ("directory", "."),
    ] {
        with.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    with
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
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
