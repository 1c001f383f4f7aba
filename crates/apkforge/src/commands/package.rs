//! `apkforge package build|compile|test|lint`: melange's commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use recipe::{BuildArch, CompileOptions, CompiledRecipe};

use crate::cli::{PackageBuildArgs, PackageCompileArgs};
use crate::commands::apk_pack::source_date_epoch;
use crate::keyring::load_signing_key;

/// Prints build output on stderr, filtered by `--log-level`.
pub(crate) struct StderrLog {
    /// Print progress and step output (levels debug and info).
    info: bool,
    /// Print warnings.
    warn: bool,
}

impl StderrLog {
    pub(crate) fn new(level: &str) -> Result<StderrLog> {
        let (info, warn) = match level.to_ascii_lowercase().as_str() {
            "debug" | "info" => (true, true),
            "warn" | "warning" => (false, true),
            "error" => (false, false),
            other => bail!("--log-level `{other}`: expected debug, info, warn or error"),
        };
        Ok(StderrLog { info, warn })
    }
}

impl pkgbuild::Log for StderrLog {
    fn line(&self, line: &str) {
        let warning = line.trim_start().starts_with("warning");
        if self.info || (self.warn && warning) {
            eprintln!("{line}");
        }
    }
}

fn arch(flag: Option<&str>) -> Result<BuildArch> {
    match flag {
        Some(a) => BuildArch::parse(a).with_context(|| {
            let valid: Vec<&str> = BuildArch::ALL.iter().map(|a| a.apk_name()).collect();
            format!(
                "--arch `{a}` is not an architecture; expected one of {} (or the OCI names amd64, arm64, arm/v6, arm/v7, 386, loong64)",
                valid.join(", ")
            )
        }),
        None => BuildArch::host().context("cannot tell the host architecture; pass --arch"),
    }
}

pub(crate) fn compile_recipe(
    path: &std::path::Path,
    arch_flag: Option<&str>,
    pipeline_dirs: &[PathBuf],
) -> Result<CompiledRecipe> {
    let opts = CompileOptions {
        arch: arch(arch_flag)?,
        pipeline_dirs: pipeline_dirs.to_vec(),
        ..Default::default()
    };
    Ok(recipe::compile(path, &opts)?)
}

pub fn compile(args: &PackageCompileArgs) -> Result<ExitCode> {
    let compiled = compile_recipe(&args.recipe, args.arch.as_deref(), &args.pipeline_dirs)?;
    println!("{}", serde_json::to_string_pretty(&compiled)?);
    Ok(ExitCode::SUCCESS)
}

/// The directory holding the recipe (`.` for a bare file name).
fn recipe_dir(recipe: &Path) -> PathBuf {
    match recipe.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `KEY=VALUE` lines as godotenv reads them: `#` comments, optional
/// `export `, single or double quotes.
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--env-file `{}`", path.display()))?;
    let mut out = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            bail!("{}:{}: expected KEY=VALUE", path.display(), n + 1);
        };
        let v = v.trim();
        let v = if let Some(q) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            q.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(q) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            q.to_string()
        } else {
            v.split(" #").next().unwrap_or("").trim().to_string()
        };
        out.insert(k.trim().to_string(), v);
    }
    Ok(out)
}

/// Compiles the recipe with every flag of `package build` that shapes it.
pub(crate) fn compile_for_build(args: &PackageBuildArgs) -> Result<CompiledRecipe> {
    let mut pipeline_dirs = args.pipeline_dirs.clone();
    pipeline_dirs.extend(args.more_pipeline_dirs.iter().cloned());
    let mut vars = BTreeMap::new();
    if let Some(f) = &args.vars_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("--vars-file `{}`", f.display()))?;
        vars = goyaml::first_document::<BTreeMap<String, String>>(text.as_bytes())
            .map_err(|e| {
                anyhow::anyhow!(
                    "--vars-file `{}`:{}:{}: {} (expected a map of names to strings)",
                    f.display(),
                    e.line,
                    e.column,
                    e.message
                )
            })?
            .unwrap_or_default();
    }
    let mut environment = BTreeMap::new();
    for f in &args.env_files {
        environment.extend(read_env_file(f)?);
    }
    let commit = match &args.git_commit {
        Some(c) => Some(c.clone()),
        None => git_state(&args.recipe).1,
    };
    let opts = CompileOptions {
        arch: arch(args.arch.as_deref())?,
        pipeline_dirs,
        vars,
        build_options: args.build_options.clone(),
        commit,
        libc: args.libc.clone(),
        environment,
    };
    recipe::compile(&args.recipe, &opts)
        .with_context(|| format!("compiling `{}`", args.recipe.display()))
}

/// The `origin` URL and HEAD commit of the git checkout holding `recipe`.
fn git_state(recipe: &Path) -> (Option<String>, Option<String>) {
    let dir = recipe_dir(recipe);
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
    (
        git(&["config", "--get", "remote.origin.url"]),
        git(&["rev-parse", "HEAD"]),
    )
}

/// Where the recipe comes from, for the SBOMs: melange's `--git-repo-url`,
/// `--git-commit` and `--license`, detected from the recipe's checkout
/// when not given, with melange's fallbacks.
fn recipe_source(args: &PackageBuildArgs) -> sbom::melange::RecipeSource {
    let (url, commit) = git_state(&args.recipe);
    sbom::melange::RecipeSource {
        path: args.recipe.display().to_string(),
        commit: args
            .git_commit
            .clone()
            .or(commit)
            .unwrap_or_else(|| "unknown".into()),
        repository: args
            .git_repo_url
            .clone()
            .or(url)
            .unwrap_or_else(|| "https://unknown/unknown/unknown".into()),
        license: if args.license == "NOASSERTION" {
            String::new()
        } else {
            args.license.clone()
        },
    }
}

/// Build options shared by `package build` and `package test`.
pub(crate) fn build_options<'a>(
    args: &PackageBuildArgs,
    key: Option<&'a apk_format::signing::SigningKey>,
    runner: &'a dyn sandbox::Runner,
) -> Result<pkgbuild::BuildOptions<'a>> {
    let source_date_epoch = match &args.build_date {
        Some(_) => {
            crate::commands::image_request::build_date(args.build_date.as_deref())?.unwrap_or(0)
        }
        None => source_date_epoch()?,
    };
    let source_cache = match &args.cache_dir {
        Some(d) => Some(d.clone()),
        None => Some(PathBuf::from("./melange-cache/")).filter(|d| d.is_dir()),
    }
    .map(|d| std::path::absolute(&d).unwrap_or(d));
    let apk_cache = args
        .apk_cache_dir
        .clone()
        .unwrap_or_else(apk_repo::Cache::default_root);
    let source_dir = if args.empty_workspace {
        None
    } else {
        Some(
            args.source_dir
                .clone()
                .unwrap_or_else(|| recipe_dir(&args.recipe)),
        )
    };
    let timeout = match &args.timeout {
        Some(t) => Some(
            pkgbuild::parse_duration(t)
                .with_context(|| format!("--timeout `{t}` is not a duration (e.g. `90m`)"))?,
        ),
        None => None,
    };
    let mut source_skip = vec![args.out_dir.clone(), apk_cache.clone()];
    source_skip.extend(source_cache.iter().cloned());
    Ok(pkgbuild::BuildOptions {
        out_dir: args.out_dir.clone(),
        signing_key: key,
        repository_append: args.repository_append.clone(),
        keyring_append: args.keyring_append.clone(),
        package_append: args.package_append.clone(),
        source_dir,
        source_skip,
        source_cache,
        cache_dir: apk_cache,
        runner,
        network: args.network,
        debug: args.debug,
        keep_failed: args.debug || !args.rm || !args.cleanup,
        interactive: args.interactive,
        source_date_epoch,
        work_root: std::env::temp_dir(),
        workspace_dir: args
            .workspace_dir
            .as_ref()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone())),
        ignore_signatures: args.ignore_signatures,
        timeout,
        generate_index: args.generate_index,
        strip_origin_name: args.strip_origin_name,
        v3: args.format == crate::cli::Format::V3,
        sbom: pkgbuild::SbomOptions {
            namespace: args.namespace.clone(),
            recipe: Some(recipe_source(args)),
        },
        lint_require: linters(args.lint_require.as_deref(), "--lint-require", || {
            pkgbuild::lint::default_required()
        })?,
        lint_warn: linters(args.lint_warn.as_deref(), "--lint-warn", || {
            pkgbuild::lint::default_warn()
        })?,
        persist_lint_results: args.persist_lint_results,
    })
}

/// The architectures of `--arch` (comma-separated, as melange's), each
/// once, in the order given; the host's when none is given.
pub(crate) fn build_archs(flag: Option<&str>) -> Result<Vec<BuildArch>> {
    let Some(flag) = flag else {
        return Ok(vec![arch(None)?]);
    };
    let mut archs = Vec::new();
    for name in flag.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let a = arch(Some(name))?;
        if !archs.contains(&a) {
            archs.push(a);
        }
    }
    if archs.is_empty() {
        bail!("--arch `{flag}` names no architecture");
    }
    Ok(archs)
}

/// Fails, before anything is built, when this machine cannot run the
/// programs of `arch` (natively or under emulation registered with the
/// `F` flag), naming what to install and register.
pub(crate) fn check_runnable(arch: BuildArch) -> Result<()> {
    sandbox::emulation::check(arch.apk_name())
        .map(drop)
        .with_context(|| format!("cannot build for {}", arch.apk_name()))
}

/// The linters a flag names (empty names dropped: `--lint-require=`
/// turns them all off), or melange's defaults; unknown names are refused
/// before anything is built.
pub(crate) fn linters(
    flag: Option<&[String]>,
    name: &str,
    default: impl Fn() -> Vec<&'static str>,
) -> Result<Vec<String>> {
    let Some(list) = flag else {
        return Ok(default().into_iter().map(String::from).collect());
    };
    let all = pkgbuild::lint::all_linters();
    let list: Vec<String> = list.iter().filter(|l| !l.is_empty()).cloned().collect();
    if let Some(bad) = list.iter().find(|l| !all.contains(&l.as_str())) {
        bail!(
            "{name}: unknown linter `{bad}`; the linters are {}",
            all.join(", ")
        );
    }
    Ok(list)
}

pub fn build(args: &PackageBuildArgs) -> Result<ExitCode> {
    let log = StderrLog::new(&args.log_level)?;
    // Every architecture's recipe and runtime are checked before any build.
    let mut builds = Vec::new();
    for a in build_archs(args.arch.as_deref())? {
        let one = PackageBuildArgs {
            arch: Some(a.apk_name().to_string()),
            ..args.clone()
        };
        let compiled = compile_for_build(&one)?;
        recipe::check_buildable(&compiled, &args.recipe)?;
        check_runnable(a)?;
        builds.push(compiled);
    }
    let runner = crate::commands::package_runner::runner(&args.runner)?;
    let key = args
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    for compiled in &builds {
        let opts = build_options(args, key.as_ref(), runner.as_ref())?;
        pkgbuild::check_environment(compiled, &opts).with_context(|| {
            format!(
                "cannot build `{}` for {}",
                args.recipe.display(),
                compiled.arch.apk_name()
            )
        })?;
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating `{}`", args.out_dir.display()))?;
    for compiled in &builds {
        build_one(args, compiled, key.as_ref(), runner.as_ref(), &log)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// melange's `--dependency-log`: `<file>.<arch>` holds what the analysis
/// generated, one JSON object per package (melange writes each package's
/// over the previous one's, so only the last survives).
fn dependency_log(file: &Path, arch: &str, packages: &[pkgbuild::EmittedPackage]) -> Result<()> {
    let mut text = String::new();
    for p in packages {
        // The keys in melange's order (its struct's), empty lists left out.
        let fields: Vec<String> = [
            ("runtime", &p.generated.runtime),
            ("provides", &p.generated.provides),
        ]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(key, list)| format!("\"{key}\":{}", serde_json::json!(list)))
        .collect();
        text.push_str(&format!("{{{}}}\n", fields.join(",")));
    }
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{arch}"));
    crate::output::write_atomic(Path::new(&name), 0o644, text.as_bytes())
}

/// One architecture's build of `package build`.
fn build_one(
    args: &PackageBuildArgs,
    compiled: &CompiledRecipe,
    key: Option<&apk_format::signing::SigningKey>,
    runner: &dyn sandbox::Runner,
    log: &StderrLog,
) -> Result<()> {
    let opts = build_options(args, key, runner)?;
    crate::commands::report_swept(&pkgbuild::sweep_stale(&opts, &[compiled.arch.apk_name()]));
    let out = pkgbuild::build(compiled, &opts, log).with_context(|| {
        format!(
            "building `{}` for {}",
            args.recipe.display(),
            compiled.arch.apk_name()
        )
    })?;
    // What the packages were made from, for later tree builds.
    let settings = crate::commands::package_tree::settings(key, opts.source_date_epoch)?;
    pkgtree::build::record_single(
        &args.out_dir,
        &args.recipe,
        compiled,
        opts.source_dir.as_deref(),
        &opts.source_skip,
        &settings,
        &out,
    )
    .context("recording the inputs of the build")?;
    for p in &out.packages {
        println!("{}", p.path.display());
    }
    if let Some(index) = &out.index {
        println!("{}", index.display());
    }
    if let Some(log) = &args.dependency_log {
        dependency_log(log, compiled.arch.apk_name(), &out.packages)?;
    }
    if args.create_build_log {
        let mut text = String::new();
        for p in &out.packages {
            let r = &p.record;
            let origin = r.origin.clone().unwrap_or_else(|| r.name.clone());
            text.push_str(&format!("{}|{origin}|{}|{}\n", r.arch, r.name, r.version));
        }
        use std::io::Write as _;
        // Appended to, never replaced; but a FIFO would block the run.
        scratch::check_replaceable(Path::new("packages.log"))?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open("packages.log")
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .context("appending to packages.log")?;
    }
    Ok(())
}

pub(crate) fn lint(args: &PackageCompileArgs) -> Result<ExitCode> {
    let compiled = compile_recipe(&args.recipe, args.arch.as_deref(), &args.pipeline_dirs)?;
    let problems = pkgbuild::lint(&compiled);
    for p in &problems {
        eprintln!("{}: {p}", args.recipe.display());
    }
    if problems.is_empty() {
        println!("{}: no problems found", args.recipe.display());
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
