//! `--runner`: what runs the steps of package builds and tests.

use anyhow::{Context, Result, bail};

/// The runner named by `--runner`: `bubblewrap` (the default) or `docker`
/// (the engine at `DOCKER_HOST`, checked now so that a missing or failing
/// engine stops the build before it starts).
pub(crate) fn runner(name: &str) -> Result<Box<dyn sandbox::Runner>> {
    match name {
        "bubblewrap" | "bwrap" => Ok(Box::new(sandbox::Bubblewrap::default())),
        "docker" => Ok(Box::new(
            sandbox::Docker::from_env().context("--runner docker")?,
        )),
        other => bail!("--runner `{other}` is not a runner; use bubblewrap or docker"),
    }
}
