//! `apkforge package query RECIPE TEMPLATE` and `package package-version
//! RECIPE`: melange's `query` and `package-version`, a Go template over
//! the recipe as loaded and validated (pipelines not expanded, as melange's
//! `ParseConfiguration` leaves them), printed without a trailing newline
//! as melange prints it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use recipe::template::Template;

use crate::cli::{PackageQueryArgs, PackageVersionArgs};

fn run(recipe_path: &std::path::Path, template: &str) -> Result<ExitCode> {
    let template = Template::parse(template)?;
    let recipe = recipe::Recipe::load(recipe_path)?;
    let text = template
        .render(&recipe.query_value())
        .with_context(|| format!("evaluating the template over `{}`", recipe_path.display()))?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn query(args: &PackageQueryArgs) -> Result<ExitCode> {
    run(&args.recipe, &args.template)
}

pub fn package_version(args: &PackageVersionArgs) -> Result<ExitCode> {
    run(
        &args.recipe,
        "{{ .Package.Name }}-{{ .Package.Version }}-r{{ .Package.Epoch }}",
    )
}
