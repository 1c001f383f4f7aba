//! melange-compatible package builds: a compiled recipe (see the `recipe`
//! crate) becomes signed apk packages and an updated, signed index.
//!
//! Flow: the build environment (`environment.contents`) is resolved and
//! installed with the image engine and written to a cached directory; the
//! source directory is copied into the workspace; each step runs in a
//! [`sandbox::Runner`] over a private writable layer of the environment,
//! with the workspace at `/home/build` and the source cache at
//! `/var/cache/melange`, as the build user with melange's capabilities and
//! within `package.timeout`; `fetch` and `git-checkout` steps are done by
//! apkforge itself on the host (download or clone, checksum or commit
//! checked, sources cached); then every (sub)package's
//! `melange-out/<name>` is analysed (SCA), packaged deterministically,
//! signed, and added to `<out>/<arch>/APKINDEX.tar.gz`.
#![deny(missing_docs)]

mod check;
mod content;
mod emit;
mod emit_v3;
mod env;
mod fetch;
mod git;
mod index_lock;
pub mod lint;
mod sbom_doc;
mod scan;
mod sources;
mod steps;
mod user;
mod workspace;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apk_format::record::PackageRecord;
use apk_format::signing::SigningKey;
use recipe::CompiledRecipe;

pub use check::{TestSelection, lint, test};
pub use emit::{EmittedPackage, add_to_index};
pub use env::environment_request;
pub use index_lock::IndexLock;
pub use sbom_doc::{SbomOptions, document as package_sbom};
pub use scan::{Scanned, scan};
pub use sources::fetch_sources;
pub use user::parse_duration;

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
    /// The build ran past its timeout.
    #[error("step `{step}` was stopped: the build exceeded its timeout of {}", humanize(*timeout))]
    Timeout {
        /// The step that was running.
        step: String,
        /// `package.timeout` (or `--timeout`).
        timeout: Duration,
    },
    /// The sandbox could not run.
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    /// A host-run download pipeline failed.
    #[error("{at}: {what}: {reason}")]
    Source {
        /// Where the step is written (`file:line:column`).
        at: String,
        /// What was fetched.
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// The recipe asks for something impossible.
    #[error("{at}{reason}")]
    Recipe {
        /// Where (`line L column C: `), or empty.
        at: String,
        /// What is wrong.
        reason: String,
    },
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
    /// Bad linter settings.
    #[error("{0}")]
    Lint(String),
    /// A name or version that cannot be used in file names and metadata.
    #[error("recipe: {0}")]
    Invalid(#[from] apk_format::names::NameError),
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
#[derive(Clone)]
pub struct BuildOptions<'a> {
    /// Output directory (`packages/`): packages go to `<out>/<arch>/`.
    pub out_dir: PathBuf,
    /// Signs packages and the index.
    pub signing_key: Option<&'a SigningKey>,
    /// Extra repositories for the build environment.
    pub repository_append: Vec<String>,
    /// Extra keys for the build environment.
    pub keyring_append: Vec<String>,
    /// Extra packages for the build environment (`--package-append`).
    pub package_append: Vec<String>,
    /// Copied into the workspace before the pipeline runs (melange's
    /// `--source-dir`, which defaults to the recipe's directory).
    pub source_dir: Option<PathBuf>,
    /// Paths below `source_dir` not to copy (the output and cache
    /// directories when they are inside it).
    pub source_skip: Vec<PathBuf>,
    /// The source cache (melange's `--cache-dir`), mounted at
    /// `/var/cache/melange`: downloads and clones are kept and reused there.
    pub source_cache: Option<PathBuf>,
    /// Cache for indexes, packages and build environments.
    pub cache_dir: PathBuf,
    /// Runs the steps.
    pub runner: &'a dyn sandbox::Runner,
    /// Give steps network access.
    pub network: bool,
    /// Trace the steps' shell commands (`set -x`).
    pub debug: bool,
    /// Keep the work directory of a failed build and say how to enter it.
    pub keep_failed: bool,
    /// On a failed step, open a shell in its sandbox on this terminal.
    pub interactive: bool,
    /// SOURCE_DATE_EPOCH.
    pub source_date_epoch: u64,
    /// Where temporary build directories are made.
    pub work_root: PathBuf,
    /// The workspace (`<dir>/<arch>`) instead of a temporary directory.
    pub workspace_dir: Option<PathBuf>,
    /// Accept unsigned indexes.
    pub ignore_signatures: bool,
    /// Replaces the recipe's `package.timeout` (`--timeout`).
    pub timeout: Option<Duration>,
    /// Write `<out>/<arch>/APKINDEX.tar.gz`.
    pub generate_index: bool,
    /// Each subpackage is its own origin (melange's `--strip-origin-name`).
    pub strip_origin_name: bool,
    /// Write apk v3 packages and `Packages.adb` instead of v2 ones.
    pub v3: bool,
    /// What the packages' SBOMs say about where the build comes from.
    pub sbom: SbomOptions,
    /// Linters run on each package before it is written whose findings
    /// fail the build (melange's `--lint-require`; a package's
    /// `checks.disabled` turns its own into warnings).
    pub lint_require: Vec<String>,
    /// Linters whose findings are printed as warnings (`--lint-warn`).
    pub lint_warn: Vec<String>,
    /// Write each package's findings to `<out>/<arch>/lint-<name>-<version>.json`
    /// (melange's `--persist-lint-results`).
    pub persist_lint_results: bool,
}

/// Where one build spends its time, outside and inside the steps.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Resolving, installing (or finding in the cache) the environment.
    pub environment: Duration,
    /// Copying the source directory and the host-run download pipelines.
    pub sources: Duration,
    /// The steps in the sandbox (sandbox starts included).
    pub steps: Duration,
    /// Of `steps`: starting one sandbox, times the number started.
    pub sandbox_setup: Duration,
    /// Analysis, packages, signatures and the index.
    pub packaging: Duration,
}

/// What a build produced.
pub struct BuildOutput {
    /// The packages, main package first.
    pub packages: Vec<EmittedPackage>,
    /// The index, when one was written.
    pub index: Option<PathBuf>,
    /// Where the time went.
    pub timings: Timings,
    /// The packages the build environment was made of, in install order.
    pub environment: Vec<PackageRecord>,
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}

/// `line L column C: ` for a recipe value, or nothing when unknown.
fn at(s: &recipe::Str) -> String {
    if s.line == 0 {
        String::new()
    } else {
        format!("line {} column {}: ", s.line, s.column)
    }
}

fn work_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> PkgBuildError + '_ {
    move |source| PkgBuildError::Work {
        path: path.to_path_buf(),
        source,
    }
}

/// Name prefix of temp files and directories beside outputs and in caches.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Name prefix of a build's work directory in [`BuildOptions::work_root`].
pub const WORK_PREFIX: &str = "apkforge-build-";

/// Name prefix of a work directory kept if the build fails
/// ([`BuildOptions::keep_failed`]); never swept.
pub const KEPT_WORK_PREFIX: &str = "apkforge-debug-";

/// Name prefix of the directory [`check_environment`] resolves in.
pub const CHECK_WORK_PREFIX: &str = "apkforge-check-";

/// Name prefix of a test's work directory in [`BuildOptions::work_root`].
pub const TEST_WORK_PREFIX: &str = "apkforge-test-";

/// Removes what builds killed before they finished left behind (see
/// [`scratch::sweep`]): work directories in the work root, temp files
/// beside the packages of `archs`, in the source cache and among the cached
/// environments. Entries of builds still running are kept. Returns what
/// was removed.
pub fn sweep_stale(opts: &BuildOptions<'_>, archs: &[&str]) -> Vec<PathBuf> {
    sweep_stale_in(
        &opts.work_root,
        &opts.out_dir,
        archs,
        opts.source_cache.as_deref(),
        &opts.cache_dir,
    )
}

/// [`sweep_stale`] for builds with these directories (tree builds).
pub fn sweep_stale_in(
    work_root: &Path,
    out_dir: &Path,
    archs: &[&str],
    source_cache: Option<&Path>,
    cache_dir: &Path,
) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut sweep = |dir: &Path, prefixes: &[&str]| {
        removed.extend(scratch::sweep(dir, prefixes).unwrap_or_default());
    };
    sweep(
        work_root,
        &[
            WORK_PREFIX,
            TEST_WORK_PREFIX,
            CHECK_WORK_PREFIX,
            "apkforge-image-",
        ],
    );
    for arch in archs {
        sweep(&out_dir.join(arch), &[TEMP_PREFIX]);
    }
    if let Some(cache) = source_cache {
        sweep(cache, &[TEMP_PREFIX]);
        sweep(&cache.join("git-checkout"), &[TEMP_PREFIX]);
    }
    removed.extend(apk_repo::Cache::new(cache_dir).sweep_stale());
    removed
}

/// The directories of one build: environment layers and the workspace.
pub(crate) struct Dirs {
    pub work: scratch::TempDir,
    pub workspace: PathBuf,
}

impl Dirs {
    pub(crate) fn new(
        opts: &BuildOptions<'_>,
        arch: &str,
        prefix: &str,
    ) -> Result<Dirs, PkgBuildError> {
        let work =
            scratch::TempDir::new_in(&opts.work_root, prefix).map_err(work_err(&opts.work_root))?;
        let workspace = match &opts.workspace_dir {
            Some(d) => d.join(arch),
            None => work.path().join("workspace"),
        };
        std::fs::create_dir_all(&workspace).map_err(work_err(&workspace))?;
        Ok(Dirs { work, workspace })
    }

    /// The root the steps see: a private layer over the shared `env`, or
    /// `env` itself when it is private.
    pub(crate) fn root(&self, env: PathBuf, layered: bool) -> Result<sandbox::Root, PkgBuildError> {
        if !layered {
            return Ok(sandbox::Root::Dir(env));
        }
        let d = self.work.path();
        let (upper, work, merged) = (d.join("upper"), d.join("overlay-work"), d.join("merged"));
        for p in [&upper, &work, &merged] {
            std::fs::create_dir_all(p).map_err(work_err(p))?;
        }
        Ok(sandbox::Root::Layered {
            lower: env,
            upper,
            work,
            merged,
        })
    }
}

/// Names and the version become file names (`<out>/<arch>/<name>-<version>.apk`,
/// `melange-out/<name>`, the package's SBOM): refuse any that could leave
/// their directory, whatever the caller checked before.
fn check_names(recipe: &CompiledRecipe) -> Result<(), PkgBuildError> {
    use apk_format::names::{check_name, check_version};
    let p = &recipe.package;
    check_name(&p.name)?;
    check_version(&format!("{}-r{}", p.version, p.epoch))?;
    for s in &recipe.subpackages {
        check_name(&s.name)?;
    }
    Ok(())
}

struct Silent;
impl Log for Silent {
    fn line(&self, _: &str) {}
}

/// Resolves the build environment of `recipe` for its architecture
/// without installing anything: fails as the build would when the
/// repositories lack the architecture or a package, so that a build of
/// several architectures can be refused before any of them starts.
pub fn check_environment(
    recipe: &CompiledRecipe,
    opts: &BuildOptions<'_>,
) -> Result<(), PkgBuildError> {
    check_names(recipe)?;
    let work = scratch::TempDir::new_in(&opts.work_root, CHECK_WORK_PREFIX)
        .map_err(work_err(&opts.work_root))?;
    let arch = recipe.arch.apk_name();
    env::resolve(
        recipe,
        &recipe.environment,
        opts,
        arch,
        work.path(),
        &Silent,
    )
    .map(drop)
}

/// Builds every package of the recipe.
pub fn build(
    recipe: &CompiledRecipe,
    opts: &BuildOptions<'_>,
    log: &dyn Log,
) -> Result<BuildOutput, PkgBuildError> {
    check_names(recipe)?;
    let began = Instant::now();
    let mut timings = Timings::default();
    let arch = recipe.arch.apk_name().to_string();
    let user = user::run_as(&recipe.environment)?;
    let capabilities = user::capabilities(recipe)?;
    let timeout = match opts.timeout {
        Some(t) => Some(t).filter(|t| !t.is_zero()),
        None => user::timeout(recipe)?,
    };
    // A work directory that may be kept is named so that the sweep of
    // stale ones leaves it alone.
    let prefix = if opts.keep_failed {
        KEPT_WORK_PREFIX
    } else {
        WORK_PREFIX
    };
    let dirs = Dirs::new(opts, &arch, prefix)?;
    log.line(&format!("==> {arch}: assembling the build environment"));
    let started = Instant::now();
    let layered = opts.runner.supports_layered_root();
    let private = dirs.work.path().join("root");
    std::fs::create_dir_all(&private).map_err(work_err(&private))?;
    let (env, installed) = env::assemble(
        recipe,
        &recipe.environment,
        opts,
        &arch,
        &private,
        layered,
        log,
    )?;
    let root = dirs.root(env.clone(), layered)?;
    let image = env::image(
        recipe,
        &recipe.environment,
        opts,
        &arch,
        &env,
        &private,
        log,
    )?;
    timings.environment = started.elapsed();
    let started = Instant::now();
    if let Some(src) = &opts.source_dir {
        workspace::populate(src, &dirs.workspace, &opts.source_skip)
            .map_err(|(path, source)| PkgBuildError::Work { path, source })?;
    }
    let mut outputs = vec![recipe.package.name.to_string()];
    outputs.extend(recipe.enabled_subpackages().map(|s| s.name.to_string()));
    for o in &outputs {
        let d = dirs.workspace.join("melange-out").join(o);
        std::fs::create_dir_all(&d).map_err(work_err(&d))?;
    }
    if let Some(c) = &opts.source_cache {
        std::fs::create_dir_all(c).map_err(work_err(c))?;
    }
    let copied = started.elapsed();
    let runner = steps::StepRunner {
        recipe,
        opts,
        root,
        workspace: &dirs.workspace,
        work: dirs.work.path(),
        log,
        user,
        capabilities,
        deadline: timeout.map(|t| (t, began + t)),
        starts: Default::default(),
        setup: Default::default(),
        sources: Default::default(),
        image,
    };
    log.line(&format!(
        "==> {arch}: running the pipeline of {}",
        recipe.package.name
    ));
    let started = Instant::now();
    let result = runner.run_all(&recipe.pipeline).and_then(|()| {
        for sub in recipe.enabled_subpackages() {
            log.line(&format!("==> {arch}: running the pipeline of {}", sub.name));
            runner.run_all(&sub.pipeline)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        drop(runner);
        if opts.keep_failed {
            let kept = dirs.work.keep();
            log.line(&format!("kept the failed build in {}", kept.display()));
        }
        return Err(e);
    }
    timings.sources = copied + runner.sources.get();
    timings.steps = started.elapsed().saturating_sub(runner.sources.get());
    timings.sandbox_setup = runner.setup.get() * runner.starts.get();
    let started = Instant::now();
    let locked = env::locked(&installed);
    lint::lint_build(recipe, opts, &dirs.workspace, &locked, log)?;
    let packages = emit::emit_all(recipe, opts, &arch, &dirs.workspace, &env, &locked, log)?;
    let index = match (opts.generate_index, opts.v3) {
        (false, _) => None,
        (true, true) => Some(emit_v3::update_index(opts, &arch, &packages)?),
        (true, false) => Some(emit::update_index(opts, &arch, &packages)?),
    };
    timings.packaging = started.elapsed();
    if opts.workspace_dir.is_some() {
        let _ = std::fs::remove_dir_all(&dirs.workspace);
    }
    log.line(&format!(
        "    timing: environment {} ms, sources {} ms, steps {} ms ({} sandbox starts, ~{} ms each), packaging {} ms",
        timings.environment.as_millis(),
        timings.sources.as_millis(),
        timings.steps.as_millis(),
        runner.starts.get(),
        runner.setup.get().as_millis(),
        timings.packaging.as_millis()
    ));
    Ok(BuildOutput {
        packages,
        index,
        timings,
        environment: installed,
    })
}
