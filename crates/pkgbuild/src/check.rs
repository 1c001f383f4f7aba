//! `package test` and `package lint`.

use recipe::{CompiledRecipe, CompiledTest};

use crate::{BuildOptions, Log, PkgBuildError};

/// Runs a recipe's test pipeline in an environment made of its test
/// `environment.contents` plus the repository the build wrote
/// (`<out>/<arch>`), which provides the package under test.
pub fn test(
    recipe: &CompiledRecipe,
    test: &CompiledTest,
    opts: &BuildOptions<'_>,
    log: &dyn Log,
) -> Result<(), PkgBuildError> {
    let arch = recipe.arch.apk_name().to_string();
    let dirs = crate::Dirs::new(opts, &arch, "apkforge-test-")?;
    let out = std::fs::canonicalize(&opts.out_dir).map_err(|source| PkgBuildError::Work {
        path: opts.out_dir.clone(),
        source,
    })?;
    let mut env_recipe = recipe.clone();
    env_recipe.environment = test.environment.clone();
    let mut topts = BuildOptions {
        source_dir: None,
        ..opts.clone()
    };
    topts.repository_append.push(out.display().to_string());
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
    } else {
        topts.ignore_signatures = true;
    }
    log.line(&format!("==> {arch}: assembling the test environment"));
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
    };
    log.line(&format!("==> {arch}: testing {}", recipe.package.name));
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
