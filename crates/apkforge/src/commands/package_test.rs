//! `apkforge package test RECIPE [PACKAGE]`: melange's `test`. The main
//! package's tests and each subpackage's run in fresh environments;
//! `--test-package-append` adds packages to all of them.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Command, FromArgMatches};

use crate::cli::{PackageBuildArgs, PackageTestArgs};
use crate::commands::package::{StderrLog, build_options, compile_for_build};
use crate::keyring::load_signing_key;

/// The build flags `package test` shares, at their defaults but for those
/// the test flags set.
fn as_build_args(t: &PackageTestArgs) -> Result<PackageBuildArgs> {
    let recipe = t.recipe.display().to_string();
    let matches = PackageBuildArgs::augment_args(Command::new("test"))
        .try_get_matches_from(["test", recipe.as_str()])
        .context("default build settings")?;
    let mut b = PackageBuildArgs::from_arg_matches(&matches)?;
    b.arch = t.arch.clone();
    b.signing_key = t.signing_key.clone();
    b.out_dir = t.out_dir.clone();
    b.repository_append = t.repository_append.clone();
    b.keyring_append = t.keyring_append.clone();
    // melange populates a test workspace only from an explicit --source-dir.
    b.source_dir = t.source_dir.clone();
    b.empty_workspace = t.source_dir.is_none();
    b.workspace_dir = t.workspace_dir.clone();
    b.pipeline_dirs = t.pipeline_dir.clone();
    b.more_pipeline_dirs = t.pipeline_dirs.clone();
    b.cache_dir = t.cache_dir.clone();
    b.apk_cache_dir = t.apk_cache_dir.clone();
    b.build_options = t.test_options.clone();
    b.env_files = t.env_files.clone();
    b.runner = t.runner.clone();
    b.debug = t.debug;
    b.interactive = t.interactive;
    b.rm = t.rm && !t.debug_runner;
    b.ignore_signatures = t.ignore_signatures;
    b.timeout = t.timeout.clone();
    b.log_level = t.log_level.clone();
    Ok(b)
}

pub fn run(args: &PackageTestArgs) -> Result<ExitCode> {
    let build = as_build_args(args)?;
    let log = StderrLog::new(&build.log_level)?;
    let compiled = compile_for_build(&build)?;
    crate::commands::package::check_runnable(compiled.arch)?;
    let runner = crate::commands::package_runner::runner(&build.runner)?;
    let key = build
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    let opts = build_options(&build, key.as_ref(), runner.as_ref())?;
    let selection = pkgbuild::TestSelection {
        package: args.package.clone(),
        extra_packages: args.test_package_append.clone(),
    };
    let tested = pkgbuild::test(&compiled, &selection, &opts, &log)?;
    if tested.is_empty() {
        eprintln!(
            "warning: `{}` has no tests; nothing to test",
            args.recipe.display()
        );
    }
    for name in &tested {
        println!("tests of {name} passed");
    }
    Ok(ExitCode::SUCCESS)
}
