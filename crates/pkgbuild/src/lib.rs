//! melange-compatible package builds: a compiled recipe (see the `recipe`
//! crate) becomes signed apk packages and an updated, signed index.
//!
//! Flow: the build environment (`environment.contents`) is resolved and
//! installed with the image engine and written to a directory; each step
//! runs in a [`sandbox::Runner`] with the workspace at `/home/build`;
//! `fetch` steps are done by apkforge itself (download on the host, checksum
//! checked, archive unpacked with path checks); then every (sub)package's
//! `melange-out/<name>` is analysed (SCA), packaged deterministically,
//! signed, and added to `<out>/<arch>/APKINDEX.tar.gz`.
#![deny(missing_docs)]

mod check;
mod content;
mod emit;
mod emit_v3;
mod env;
mod fetch;
mod sbom_doc;
mod steps;

use std::path::PathBuf;

use apk_format::signing::SigningKey;
use recipe::CompiledRecipe;

pub use check::{lint, test};
pub use emit::EmittedPackage;
pub use sbom_doc::{SbomOptions, document as package_sbom};

/// Error building a package.
#[derive(Debug, thiserror::Error)]
pub enum PkgBuildError {
    /// The build environment could not be assembled.
    #[error("build environment: {0}")]
    Environment(#[from] image::BuildError),
    /// Writing the environment to disk failed.
    #[error("build environment: {0}")]
    Extract(#[from] rootfs::extract::ExtractError),
    /// A step failed.
    #[error("step `{step}` failed with exit code {code}{hint}")]
    Step {
        /// Step name (or its first line).
        step: String,
        /// Exit code (-1 when killed).
        code: i32,
        /// How to look at the workspace (with --debug).
        hint: String,
    },
    /// The sandbox could not run.
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    /// A fetch step failed.
    #[error("fetch `{uri}`: {reason}")]
    Fetch {
        /// The URI.
        uri: String,
        /// What went wrong.
        reason: String,
    },
    /// Dependency analysis failed.
    #[error("analysing `{package}`: {reason}")]
    Sca {
        /// Package.
        package: String,
        /// What went wrong.
        reason: String,
    },
    /// Writing a package or index failed.
    #[error("{what}: {reason}")]
    Output {
        /// What was being written.
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// A dependency atom in the recipe is invalid.
    #[error("package `{package}`: dependency `{atom}`: {reason}")]
    Atom {
        /// Package.
        package: String,
        /// The atom.
        atom: String,
        /// Why.
        reason: String,
    },
    /// Work directory trouble.
    #[error("work directory `{path}`: {source}")]
    Work {
        /// The directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Receives build output; the CLI prints it.
pub trait Log: Sync {
    /// A line of progress or step output.
    fn line(&self, line: &str);
}

/// How to build.
pub struct BuildOptions<'a> {
    /// Output directory (`packages/`): packages go to `<out>/<arch>/`.
    pub out_dir: PathBuf,
    /// Signs packages and the index.
    pub signing_key: Option<&'a SigningKey>,
    /// Extra repositories for the build environment.
    pub repository_append: Vec<String>,
    /// Extra keys for the build environment.
    pub keyring_append: Vec<String>,
    /// Copied into the workspace before the pipeline runs.
    pub source_dir: Option<PathBuf>,
    /// Cache for indexes, packages and downloads.
    pub cache_dir: PathBuf,
    /// Runs the steps.
    pub runner: &'a dyn sandbox::Runner,
    /// Give steps network access.
    pub network: bool,
    /// Keep the workspace of a failed build and say how to enter it.
    pub debug: bool,
    /// SOURCE_DATE_EPOCH.
    pub source_date_epoch: u64,
    /// Where temporary build directories are made.
    pub work_root: PathBuf,
    /// Accept unsigned indexes.
    pub ignore_signatures: bool,
    /// Write apk v3 packages and `Packages.adb` instead of v2 ones.
    pub v3: bool,
    /// What the packages' SBOMs say about where the build comes from.
    pub sbom: SbomOptions,
}

/// Builds every package of the recipe; returns them and the index path.
pub fn build(
    recipe: &CompiledRecipe,
    opts: &BuildOptions<'_>,
    log: &dyn Log,
) -> Result<(Vec<EmittedPackage>, PathBuf), PkgBuildError> {
    let work = tempfile::Builder::new()
        .prefix("apkforge-build-")
        .tempdir_in(&opts.work_root)
        .map_err(|source| PkgBuildError::Work {
            path: opts.work_root.clone(),
            source,
        })?;
    let root = work.path().join("root");
    let workspace = work.path().join("workspace");
    for d in [&root, &workspace] {
        std::fs::create_dir_all(d).map_err(|source| PkgBuildError::Work {
            path: d.clone(),
            source,
        })?;
    }
    let arch = recipe.arch.apk_name().to_string();
    log.line(&format!("==> {arch}: assembling the build environment"));
    let started = std::time::Instant::now();
    let locked = env::assemble(recipe, opts, &arch, &root, log)?;
    log.line(&format!(
        "    timing: environment {} ms",
        started.elapsed().as_millis()
    ));
    if let Some(src) = &opts.source_dir {
        steps::copy_tree(src, &workspace).map_err(|source| PkgBuildError::Work {
            path: src.clone(),
            source,
        })?;
    }
    let mut outputs = vec![recipe.package.name.to_string()];
    outputs.extend(
        recipe
            .subpackages
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.name.to_string()),
    );
    for o in &outputs {
        let d = workspace.join("melange-out").join(o);
        std::fs::create_dir_all(&d).map_err(|source| PkgBuildError::Work {
            path: d.clone(),
            source,
        })?;
    }
    let runner = steps::StepRunner::new(recipe, opts, &root, &workspace, work.path(), log);
    log.line(&format!(
        "==> {arch}: running the pipeline of {}",
        recipe.package.name
    ));
    let started = std::time::Instant::now();
    let result = runner.run_all(&recipe.pipeline).and_then(|()| {
        for sub in recipe.subpackages.iter().filter(|s| s.enabled) {
            log.line(&format!("==> {arch}: running the pipeline of {}", sub.name));
            runner.run_all(&sub.pipeline)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        if opts.debug {
            let kept = work.keep();
            log.line(&format!("kept the failed build in {}", kept.display()));
        }
        return Err(e);
    }
    log.line(&format!(
        "    timing: pipeline {} ms ({} sandbox starts, {} ms of them in sandbox setup)",
        started.elapsed().as_millis(),
        runner.starts.get(),
        runner.setup_ms.get()
    ));
    let started = std::time::Instant::now();
    let emitted = emit::emit_all(recipe, opts, &arch, &workspace, &root, &locked, log)?;
    let index = if opts.v3 {
        emit_v3::update_index(opts, &arch, &emitted)?
    } else {
        emit::update_index(opts, &arch, &emitted)?
    };
    log.line(&format!(
        "    timing: packaging {} ms",
        started.elapsed().as_millis()
    ));
    Ok((emitted, index))
}
