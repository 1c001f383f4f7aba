//! A recipe's sources without a build: its `fetch` and `git-checkout`
//! steps done on the host into a directory, as a build would place them in
//! its workspace, and optionally its top-level `patch` steps applied with
//! the host's `patch` (melange's `license-check` prepares sources so).

use std::path::Path;

use recipe::{CompiledRecipe, CompiledStep};

use crate::steps::{HostContext, host_step};
use crate::{Log, PkgBuildError};

/// Runs every enabled `fetch` and `git-checkout` step of the recipe's main
/// pipeline into `dest`, which stands for the workspace, and with
/// `patches` its top-level `patch` steps too (in pipeline order). Other
/// steps are not run. `cache` is a source cache (`--cache-dir`).
pub fn fetch_sources(
    recipe: &CompiledRecipe,
    dest: &Path,
    cache: Option<&Path>,
    source_date_epoch: u64,
    patches: bool,
    log: &dyn Log,
) -> Result<(), PkgBuildError> {
    let temp = std::env::temp_dir();
    let work = scratch::TempDir::new_in(&temp, ".apkforge-sources-")
        .map_err(|source| PkgBuildError::Work { path: temp, source })?;
    let cx = HostContext {
        workspace: dest,
        work: work.path(),
        cache,
        source_date_epoch,
        log,
    };
    fn walk(
        steps: &[CompiledStep],
        top: bool,
        patches: bool,
        cx: &HostContext<'_>,
    ) -> Result<(), PkgBuildError> {
        for step in steps.iter().filter(|s| s.enabled) {
            if step.host {
                cx.log.line(&format!("  -> {}", step.uses));
                host_step(step, cx)?;
            } else if top && patches && step.uses == "patch" {
                patch(step, cx)?;
            } else {
                walk(&step.pipeline, false, patches, cx)?;
            }
        }
        Ok(())
    }
    walk(&recipe.pipeline, true, patches, &cx)
}

/// A `patch` step as melange's license-check applies it: each file of
/// `patches` (or of the quilt `series` file) fed to `patch -pN --fuzz=F`
/// in the workspace; every path must stay inside it.
fn patch(step: &CompiledStep, cx: &HostContext<'_>) -> Result<(), PkgBuildError> {
    let get = |k: &str| step.inputs.get(k).map_or("", |v| v.trim());
    let fail = |reason: String| PkgBuildError::Source {
        at: step
            .at
            .as_ref()
            .map_or_else(|| "patch".to_string(), ToString::to_string),
        what: "patch".into(),
        reason,
    };
    let inside = |p: &str| {
        let path = Path::new(p);
        if path.is_absolute()
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(fail(format!("`{p}` is outside the workspace")));
        }
        Ok(cx.workspace.join(path))
    };
    let mut names: Vec<String> = get("patches")
        .split_whitespace()
        .map(String::from)
        .collect();
    if names.is_empty() && !get("series").is_empty() {
        let series = inside(get("series"))?;
        let text = std::fs::read_to_string(&series)
            .map_err(|e| fail(format!("{}: {e}", series.display())))?;
        names = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
    }
    if names.is_empty() {
        return Err(fail("neither `patches` nor `series` is set".into()));
    }
    let number = |k: &str, default: u32| get(k).parse().unwrap_or(default);
    let (strip, fuzz) = (number("strip-components", 1), number("fuzz", 2));
    for name in names {
        let file = inside(&name)?;
        cx.log.line(&format!("  -> patch {name}"));
        let input =
            std::fs::File::open(&file).map_err(|e| fail(format!("{}: {e}", file.display())))?;
        let out = std::process::Command::new("patch")
            .args([format!("-p{strip}"), format!("--fuzz={fuzz}")])
            .current_dir(cx.workspace)
            .stdin(input)
            .output()
            .map_err(|e| fail(format!("cannot run `patch` ({e})")))?;
        if !out.status.success() {
            return Err(fail(format!(
                "{name} does not apply: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            )));
        }
    }
    Ok(())
}
