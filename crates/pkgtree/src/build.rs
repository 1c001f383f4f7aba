//! Deciding whether one recipe is up to date, and building it.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use apk_format::signing::SigningKey;

use crate::digest::{self, Parts, Settings};
use crate::envres::EnvResolver;
use crate::graph::Node;
use crate::load::chain;
use crate::state::{self, BuildRecord, IndexSnapshot, RecordedOutput};

/// Everything needed to check and build the recipes of a tree.
pub struct BuildContext<'a> {
    /// The tree's repository (`packages/`); packages go to `<out>/<arch>/`.
    pub out_dir: PathBuf,
    /// apk architecture.
    pub arch: String,
    /// Signs packages and the index.
    pub signing_key: Option<&'a SigningKey>,
    /// Repositories added to every build environment (the tree's own
    /// repository among them).
    pub repository_append: Vec<String>,
    /// Keys added to every build environment.
    pub keyring_append: Vec<String>,
    /// Cache for indexes, packages and build environments.
    pub cache_dir: PathBuf,
    /// The source cache (melange's `--cache-dir`), shared by the builds.
    pub source_cache: Option<PathBuf>,
    /// Runs the steps.
    pub runner: &'a dyn sandbox::Runner,
    /// Give steps network access.
    pub network: bool,
    /// Trace the steps and keep the workspace of a failed build.
    pub debug: bool,
    /// Where build directories are made.
    pub work_root: PathBuf,
    /// Accept unsigned indexes.
    pub ignore_signatures: bool,
    /// Linters whose findings fail a build (default: melange's required set).
    pub lint_require: Vec<String>,
    /// Linters whose findings are warnings (default: melange's).
    pub lint_warn: Vec<String>,
    /// Write each package's lint findings beside it.
    pub persist_lint_results: bool,
    /// Settings that are part of every recipe's inputs.
    pub settings: Settings,
    /// Resolves build environments.
    pub resolver: EnvResolver,
    /// The time the run started (log timestamps count from it).
    pub started: Instant,
    index: Mutex<Option<(FileStamp, Arc<IndexSnapshot>)>>,
}

/// Size, modification time (seconds, nanoseconds) and inode of a file.
type FileStamp = (u64, i64, i64, u64);

/// Whether a recipe must be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its packages are in the repository and were made from the current
    /// inputs.
    UpToDate,
    /// It must be built, for these reasons.
    Build(Vec<String>),
}

/// The result of checking a recipe whose dependencies are settled.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Build or not.
    pub verdict: Verdict,
    /// The digest of its inputs, when its environment resolves.
    pub inputs: Option<String>,
    /// The inputs known before resolution.
    pub parts: Parts,
}

/// A line-oriented build log file.
pub struct FileLog {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl FileLog {
    /// Creates (truncates) the log at `path`.
    pub fn create(path: &Path) -> std::io::Result<FileLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(FileLog {
            file: Mutex::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        })
    }
}

impl pkgbuild::Log for FileLog {
    fn line(&self, line: &str) {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // A log that cannot be written must not fail the build.
        let _ = writeln!(f, "{line}");
        let _ = f.flush();
    }
}

impl<'a> BuildContext<'a> {
    /// A context; `out_dir` should be absolute.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        out_dir: PathBuf,
        arch: String,
        signing_key: Option<&'a SigningKey>,
        repository_append: Vec<String>,
        keyring_append: Vec<String>,
        cache_dir: PathBuf,
        runner: &'a dyn sandbox::Runner,
        settings: Settings,
    ) -> BuildContext<'a> {
        BuildContext {
            resolver: EnvResolver::new(cache_dir.clone(), false),
            out_dir,
            arch,
            signing_key,
            repository_append,
            keyring_append,
            cache_dir,
            source_cache: None,
            runner,
            network: false,
            debug: false,
            work_root: std::env::temp_dir(),
            ignore_signatures: false,
            lint_require: pkgbuild::lint::default_required()
                .into_iter()
                .map(String::from)
                .collect(),
            lint_warn: pkgbuild::lint::default_warn()
                .into_iter()
                .map(String::from)
                .collect(),
            persist_lint_results: false,
            settings,
            started: Instant::now(),
            index: Mutex::new(None),
        }
    }

    /// Accept indexes whose signature does not verify.
    pub fn set_ignore_signatures(&mut self, ignore: bool) {
        self.ignore_signatures = ignore;
        self.resolver = EnvResolver::new(self.cache_dir.clone(), ignore);
    }

    /// The build options of one recipe.
    pub fn options(&self, node: &Node) -> pkgbuild::BuildOptions<'_> {
        pkgbuild::BuildOptions {
            out_dir: self.out_dir.clone(),
            signing_key: self.signing_key,
            repository_append: self.repository_append.clone(),
            keyring_append: self.keyring_append.clone(),
            package_append: Vec::new(),
            source_dir: digest::source_dir(&node.recipe, &node.name),
            source_skip: vec![self.out_dir.clone(), self.cache_dir.clone()],
            source_cache: self.source_cache.clone(),
            cache_dir: self.cache_dir.clone(),
            runner: self.runner,
            network: self.network,
            debug: self.debug,
            keep_failed: self.debug,
            interactive: false,
            source_date_epoch: self.settings.source_date_epoch,
            work_root: self.work_root.clone(),
            workspace_dir: None,
            ignore_signatures: self.ignore_signatures,
            timeout: None,
            generate_index: true,
            strip_origin_name: false,
            v3: false,
            sbom: pkgbuild::SbomOptions::default(),
            lint_require: self.lint_require.clone(),
            lint_warn: self.lint_warn.clone(),
            persist_lint_results: self.persist_lint_results,
        }
    }

    /// The build log of a recipe.
    pub fn log_path(&self, node: &Node) -> PathBuf {
        self.out_dir
            .join(&self.arch)
            .join("buildlogs")
            .join(format!("{}.log", node.name))
    }

    /// The repository's index, read again only when it changed.
    pub fn index(&self) -> Result<Arc<IndexSnapshot>, String> {
        let path = self.out_dir.join(&self.arch).join("APKINDEX.tar.gz");
        let stamp = std::fs::metadata(&path)
            .map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino()))
            .unwrap_or_default();
        let mut cached = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, snap)) = cached.as_ref()
            && *s == stamp
        {
            return Ok(Arc::clone(snap));
        }
        let snap = Arc::new(IndexSnapshot::read(&self.out_dir, &self.arch)?);
        *cached = Some((stamp, Arc::clone(&snap)));
        Ok(snap)
    }

    /// What can be said without resolving the environment: the reasons a
    /// build is needed whatever the dependencies do (empty when none).
    pub fn static_reasons(&self, node: &Node) -> Result<(Parts, Vec<String>), String> {
        let source_dir = digest::source_dir(&node.recipe, &node.name);
        let parts = digest::parts(&node.compiled, source_dir.as_deref(), &[], &self.settings)
            .map_err(|e| {
                format!(
                    "{}: reading the source directory: {e}",
                    node.recipe.display()
                )
            })?;
        let Some(record) = state::read_record(&self.out_dir, &self.arch, &node.name) else {
            return Ok((parts, vec!["not built before".into()]));
        };
        let mut reasons = digest::differences(&record.parts, &parts, None, None);
        let missing = state::missing_outputs(&record, &*self.index()?, &self.out_dir, &self.arch);
        if !missing.is_empty() {
            reasons.push(format!("not in the repository: {}", missing.join(", ")));
        }
        Ok((parts, reasons))
    }

    /// Checks a recipe whose dependencies are all settled (built or up to
    /// date): resolves its environment and compares its inputs with the
    /// record of its last build.
    pub fn check(&self, node: &Node) -> Result<Checked, String> {
        let (parts, mut reasons) = self.static_reasons(node)?;
        let opts = self.options(node);
        let mut req = pkgbuild::environment_request(&node.compiled, &opts, &self.arch);
        // As the build does: what host-run pipelines need joins when a
        // repository has it.
        let required = req.packages.clone();
        let optional = &node.compiled.optional_packages;
        req.packages.extend(optional.iter().cloned());
        let resolved = match self.resolver.resolve(&req) {
            Err(_) if !optional.is_empty() => {
                req.packages = required;
                self.resolver.resolve(&req)
            }
            other => other,
        };
        let env = match resolved {
            Ok(installed) => digest::environment(&node.compiled, &installed),
            Err(e) => {
                reasons.push(format!(
                    "its build environment does not resolve: {}",
                    chain(&e)
                ));
                return Ok(Checked {
                    verdict: Verdict::Build(reasons),
                    inputs: None,
                    parts,
                });
            }
        };
        let inputs = digest::inputs(&parts, &env);
        if reasons.is_empty()
            && let Some(record) = state::read_record(&self.out_dir, &self.arch, &node.name)
            && record.inputs != inputs
        {
            reasons =
                digest::differences(&record.parts, &parts, Some(&record.environment), Some(&env));
            if reasons.is_empty() {
                reasons.push("inputs changed".into());
            }
        }
        let verdict = if reasons.is_empty() {
            Verdict::UpToDate
        } else {
            Verdict::Build(reasons)
        };
        Ok(Checked {
            verdict,
            inputs: Some(inputs),
            parts,
        })
    }

    /// Per external dependency of `graph` (`graph.external`), whether a
    /// repository of its recipe's build environment has a package that
    /// satisfies it. Repositories that cannot be read count as empty.
    pub fn availability(&self, graph: &crate::graph::Graph) -> Vec<bool> {
        let mut catalogs: Vec<Option<Option<Arc<crate::envres::Catalog>>>> =
            vec![None; graph.nodes.len()];
        graph
            .external
            .iter()
            .map(|x| {
                let Ok(atom) = apk_format::Dependency::parse(&x.atom) else {
                    return false;
                };
                let catalog = catalogs[x.node].get_or_insert_with(|| {
                    let node = &graph.nodes[x.node];
                    let req = pkgbuild::environment_request(
                        &node.compiled,
                        &self.options(node),
                        &self.arch,
                    );
                    self.resolver.catalog(&req).ok()
                });
                catalog.as_ref().is_some_and(|c| c.satisfies(&atom))
            })
            .collect()
    }

    /// Builds a recipe, then records its inputs.
    pub fn build(&self, node: &Node, parts: Parts, log: &FileLog) -> Result<BuildRecord, String> {
        let opts = self.options(node);
        let built = pkgbuild::build(&node.compiled, &opts, log).map_err(|e| chain(&e))?;
        let record = record_of(&node.recipe, &node.compiled, parts, &built);
        state::write_record(&self.out_dir, &self.arch, &record).map_err(|e| {
            format!(
                "writing {}: {e}",
                state::record_path(&self.out_dir, &self.arch, &node.name).display()
            )
        })?;
        Ok(record)
    }
}

/// The record of a finished build.
pub fn record_of(
    recipe: &Path,
    compiled: &recipe::CompiledRecipe,
    parts: Parts,
    built: &pkgbuild::BuildOutput,
) -> BuildRecord {
    let environment = digest::environment(compiled, &built.environment);
    BuildRecord {
        recipe: recipe.to_path_buf(),
        name: compiled.package.name.to_string(),
        version: format!("{}-r{}", compiled.package.version, compiled.package.epoch),
        inputs: digest::inputs(&parts, &environment),
        parts,
        environment,
        outputs: built
            .packages
            .iter()
            .map(|p| RecordedOutput {
                name: p.record.name.clone(),
                version: p.record.version.clone(),
                checksum: p.record.checksum.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Records the inputs of a single recipe built outside a tree run
/// (`package build`), so that a later tree run knows its packages.
pub fn record_single(
    out_dir: &Path,
    recipe: &Path,
    compiled: &recipe::CompiledRecipe,
    source_dir: Option<&Path>,
    source_skip: &[PathBuf],
    settings: &Settings,
    built: &pkgbuild::BuildOutput,
) -> std::io::Result<PathBuf> {
    let parts = digest::parts(compiled, source_dir, source_skip, settings)?;
    let record = record_of(recipe, compiled, parts, built);
    let arch = compiled.arch.apk_name();
    state::write_record(out_dir, arch, &record)?;
    Ok(state::record_path(out_dir, arch, &record.name))
}
