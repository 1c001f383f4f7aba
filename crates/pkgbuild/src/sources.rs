//! A recipe's sources without a build: its `fetch` and `git-checkout`
//! steps done on the host into a directory, as a build would place them in
//! its workspace (melange's `license-check` fetches sources this way).

use std::path::Path;

use recipe::{CompiledRecipe, CompiledStep};

use crate::steps::{HostContext, host_step};
use crate::{Log, PkgBuildError};

/// Runs every enabled `fetch` and `git-checkout` step of the recipe's main
/// pipeline into `dest`, which stands for the workspace. Other steps are
/// not run. `cache` is a source cache (`--cache-dir`).
pub fn fetch_sources(
    recipe: &CompiledRecipe,
    dest: &Path,
    cache: Option<&Path>,
    source_date_epoch: u64,
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
    fn walk(steps: &[CompiledStep], cx: &HostContext<'_>) -> Result<(), PkgBuildError> {
        for step in steps.iter().filter(|s| s.enabled) {
            if step.host {
                cx.log.line(&format!("  -> {}", step.uses));
                host_step(step, cx)?;
            } else {
                walk(&step.pipeline, cx)?;
            }
        }
        Ok(())
    }
    walk(&recipe.pipeline, &cx)
}
