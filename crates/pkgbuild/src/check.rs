//! `package test` and `package lint`.

use recipe::{CompiledRecipe, CompiledTest};

use crate::{BuildOptions, Log, PkgBuildError};

/// Which tests `package test` runs, and with what.
#[derive(Clone, Debug, Default)]
pub struct TestSelection {
    /// Installed instead of the main package in its test environment
    /// (melange's second argument: a name, `name=version`, …).
    pub package: Option<String>,
    /// Added to every test environment (`--test-package-append`).
    pub extra_packages: Vec<String>,
}

/// Runs the recipe's tests as melange does: the main package's `test:`
/// pipeline, then each enabled subpackage's, each in a fresh environment
/// made of its test `environment.contents`, the package under test and
/// `extra_packages`, resolved against the test repositories plus the
/// repository the build wrote (`<out>/<arch>`, when it exists). Returns the
/// names of the packages tested (none when the recipe has no tests).
pub fn test(
    recipe: &CompiledRecipe,
    selection: &TestSelection,
    opts: &BuildOptions<'_>,
    log: &dyn Log,
) -> Result<Vec<String>, PkgBuildError> {
    let mut tested = Vec::new();
    if let Some(test) = recipe.test.as_ref().filter(|t| !t.pipeline.is_empty()) {
        let mut test = test.clone();
        if let Some(instead) = &selection.package {
            let main = recipe.package.name.as_str();
            let packages = &mut test.environment.contents.packages;
            packages.retain(|p| p.as_str() != main);
            packages.push(recipe::Str::new(instead));
        }
        run_one(recipe, &test, &recipe.package.name, selection, opts, log)?;
        tested.push(recipe.package.name.to_string());
    }
    for sub in recipe.enabled_subpackages() {
        if let Some(test) = sub.test.as_ref().filter(|t| !t.pipeline.is_empty()) {
            run_one(recipe, test, &sub.name, selection, opts, log)?;
            tested.push(sub.name.to_string());
        }
    }
    Ok(tested)
}

fn run_one(
    recipe: &CompiledRecipe,
    test: &CompiledTest,
    subject: &str,
    selection: &TestSelection,
    opts: &BuildOptions<'_>,
    log: &dyn Log,
) -> Result<(), PkgBuildError> {
    let arch = recipe.arch.apk_name().to_string();
    let dirs = crate::Dirs::new(opts, &arch, crate::TEST_WORK_PREFIX)?;
    let mut env_recipe = recipe.clone();
    env_recipe.environment = test.environment.clone();
    env_recipe
        .environment
        .contents
        .packages
        .extend(selection.extra_packages.iter().map(recipe::Str::new));
    let mut topts = BuildOptions {
        source_dir: None,
        ..opts.clone()
    };
    let repo = opts.out_dir.join(&arch);
    let with_out_repo = repo.is_dir();
    if with_out_repo {
        let out = std::fs::canonicalize(&opts.out_dir).map_err(|source| PkgBuildError::Work {
            path: opts.out_dir.clone(),
            source,
        })?;
        topts.repository_append.push(out.display().to_string());
    }
    if with_out_repo && opts.signing_key.is_none() {
        // The build wrote an unsigned index there.
        topts.ignore_signatures = true;
    }
    if let Some(key) = opts.signing_key {
        let pub_path = dirs.work.path().join(&key.public_name);
        let pem = key.public_pem().map_err(|e| PkgBuildError::Output {
            what: pub_path.display().to_string(),
            reason: e.to_string(),
        })?;
        std::fs::write(&pub_path, pem).map_err(|source| PkgBuildError::Work {
            path: pub_path.clone(),
            source,
        })?;
        topts.keyring_append.push(pub_path.display().to_string());
    }
    if let Some(src) = &opts.source_dir {
        crate::workspace::populate(src, &dirs.workspace, &opts.source_skip)
            .map_err(|(path, source)| PkgBuildError::Work { path, source })?;
    }
    log.line(&format!(
        "==> {arch}: assembling the test environment of {subject}"
    ));
    let layered = opts.runner.supports_layered_root();
    let private = dirs.work.path().join("root");
    std::fs::create_dir_all(&private).map_err(|source| PkgBuildError::Work {
        path: private.clone(),
        source,
    })?;
    let (env, _) = crate::env::assemble(
        &env_recipe,
        &env_recipe.environment,
        &topts,
        &arch,
        &private,
        layered,
        log,
    )?;
    let image = crate::env::image(
        &env_recipe,
        &env_recipe.environment,
        &topts,
        &arch,
        &env,
        &private,
        log,
    )?;
    let runner = crate::steps::StepRunner {
        recipe: &env_recipe,
        opts: &topts,
        root: dirs.root(env, layered)?,
        workspace: &dirs.workspace,
        work: dirs.work.path(),
        log,
        user: crate::user::run_as(&env_recipe.environment)?,
        capabilities: crate::user::capabilities(recipe)?,
        deadline: None,
        starts: Default::default(),
        setup: Default::default(),
        sources: Default::default(),
        image,
    };
    log.line(&format!("==> {arch}: testing {subject}"));
    runner.run_all(&test.pipeline)
}

/// Problems melange's default linters would report on the recipe itself.
pub fn lint(recipe: &CompiledRecipe) -> Vec<String> {
    let mut out = Vec::new();
    let p = &recipe.package;
    let full = format!("{}-r{}", p.version, p.epoch);
    if !apk_format::version::is_valid(&full) {
        out.push(format!("version `{full}` is not a valid apk version"));
    }
    if p.description.is_empty() {
        out.push("package has no description".into());
    }
    if p.copyright.iter().all(|c| c.license.is_empty()) {
        out.push("package has no license (copyright[].license)".into());
    }
    if recipe.pipeline.is_empty() {
        out.push("the pipeline is empty".into());
    }
    for s in &recipe.subpackages {
        if s.name.as_ref() as &str == p.name.as_ref() as &str {
            out.push(format!(
                "subpackage `{}` has the main package's name",
                s.name
            ));
        }
    }
    out
}
