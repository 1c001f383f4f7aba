//! `apkforge package build|compile|test|lint`: melange's commands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use recipe::{BuildArch, CompileOptions, CompiledRecipe};

use crate::cli::{PackageBuildArgs, PackageCompileArgs};
use crate::commands::apk_pack::source_date_epoch;
use crate::keyring::load_signing_key;

struct StderrLog;
impl pkgbuild::Log for StderrLog {
    fn line(&self, line: &str) {
        eprintln!("{line}");
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

fn compile_recipe(
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

pub fn build(args: &PackageBuildArgs) -> Result<ExitCode> {
    let compiled = compile_recipe(&args.recipe, args.arch.as_deref(), &args.pipeline_dirs)?;
    let host = BuildArch::host().context("cannot tell the host architecture")?;
    if compiled.arch != host {
        bail!(
            "building for {} is not supported on this {} machine yet (no emulation); build for {}",
            compiled.arch.apk_name(),
            host.apk_name(),
            host.apk_name()
        );
    }
    if args.runner != "bubblewrap" {
        bail!(
            "--runner `{}` is not available; use bubblewrap",
            args.runner
        );
    }
    let key = args
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    let runner = sandbox::Bubblewrap::default();
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating `{}`", args.out_dir.display()))?;
    let opts = pkgbuild::BuildOptions {
        out_dir: args.out_dir.clone(),
        signing_key: key.as_ref(),
        repository_append: args.repository_append.clone(),
        keyring_append: args.keyring_append.clone(),
        source_dir: args.source_dir.clone(),
        cache_dir: args
            .cache_dir
            .clone()
            .unwrap_or_else(apk_repo::Cache::default_root),
        runner: &runner,
        network: args.network,
        debug: args.debug,
        source_date_epoch: source_date_epoch()?,
        work_root: std::env::temp_dir(),
        ignore_signatures: args.ignore_signatures,
        v3: args.format == crate::cli::Format::V3,
        sbom: pkgbuild::SbomOptions::default(),
    };
    let (packages, index) = pkgbuild::build(&compiled, &opts, &StderrLog)?;
    for p in &packages {
        println!("{}", p.path.display());
    }
    println!("{}", index.display());
    Ok(ExitCode::SUCCESS)
}

pub fn test(args: &PackageBuildArgs) -> Result<ExitCode> {
    let compiled = compile_recipe(&args.recipe, args.arch.as_deref(), &args.pipeline_dirs)?;
    let Some(test) = &compiled.test else {
        bail!("`{}` has no `test:` section", args.recipe.display());
    };
    let runner = sandbox::Bubblewrap::default();
    let key = args
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    let opts = pkgbuild::BuildOptions {
        out_dir: args.out_dir.clone(),
        signing_key: key.as_ref(),
        repository_append: args.repository_append.clone(),
        keyring_append: args.keyring_append.clone(),
        source_dir: args.source_dir.clone(),
        cache_dir: args
            .cache_dir
            .clone()
            .unwrap_or_else(apk_repo::Cache::default_root),
        runner: &runner,
        network: args.network,
        debug: args.debug,
        source_date_epoch: source_date_epoch()?,
        work_root: std::env::temp_dir(),
        ignore_signatures: args.ignore_signatures,
        v3: args.format == crate::cli::Format::V3,
        sbom: pkgbuild::SbomOptions::default(),
    };
    pkgbuild::test(&compiled, test, &opts, &StderrLog)?;
    println!("tests of {} passed", compiled.package.name);
    Ok(ExitCode::SUCCESS)
}

pub fn lint(args: &PackageCompileArgs) -> Result<ExitCode> {
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
