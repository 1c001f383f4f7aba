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
    let work = tempfile::Builder::new()
        .prefix("apkforge-test-")
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
    let out = std::fs::canonicalize(&opts.out_dir).map_err(|source| PkgBuildError::Work {
        path: opts.out_dir.clone(),
        source,
    })?;
    let mut env_recipe = recipe.clone();
    env_recipe.environment = test.environment.clone();
    let mut topts = BuildOptions {
        repository_append: opts.repository_append.clone(),
        keyring_append: opts.keyring_append.clone(),
        ..clone_opts(opts)
    };
    topts.repository_append.push(out.display().to_string());
    if let Some(key) = opts.signing_key {
        let pub_path = work.path().join(&key.public_name);
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
    crate::env::assemble(&env_recipe, &topts, &arch, &root, log)?;
    let runner =
        crate::steps::StepRunner::new(&env_recipe, &topts, &root, &workspace, work.path(), log);
    log.line(&format!("==> {arch}: testing {}", recipe.package.name));
    runner.run_all(&test.pipeline)
}

fn clone_opts<'a>(o: &BuildOptions<'a>) -> BuildOptions<'a> {
    BuildOptions {
        out_dir: o.out_dir.clone(),
        signing_key: o.signing_key,
        repository_append: o.repository_append.clone(),
        keyring_append: o.keyring_append.clone(),
        source_dir: None,
        cache_dir: o.cache_dir.clone(),
        runner: o.runner,
        network: o.network,
        debug: o.debug,
        source_date_epoch: o.source_date_epoch,
        work_root: o.work_root.clone(),
        ignore_signatures: o.ignore_signatures,
        v3: o.v3,
        sbom: o.sbom.clone(),
    }
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
