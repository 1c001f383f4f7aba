//! `apkforge package lint FILE...`: melange's `lint`, its linters run on
//! built packages with `--lint-require` / `--lint-warn`. A recipe given
//! instead (`.yaml`) gets apkforge's recipe checks.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::{PackageCompileArgs, PackageLintArgs};

fn print_finding(f: &pkgbuild::lint::LintFinding) {
    let mut lines = f.message.lines();
    eprintln!("[{}] {}", f.linter, lines.next().unwrap_or(""));
    for l in lines.filter(|l| !l.is_empty()) {
        eprintln!("  {l}");
    }
    if !f.explain.is_empty() {
        eprintln!("  → {}", f.explain);
    }
    // The paths (or files, binaries, references) the details list.
    let items = f
        .details
        .as_ref()
        .and_then(|d| d.as_object())
        .into_iter()
        .flat_map(|d| d.values())
        .filter_map(|v| v.as_array())
        .flatten();
    for item in items {
        match item {
            serde_json::Value::String(p) => eprintln!("    - {p}"),
            serde_json::Value::Object(o) => {
                let path = o.get("path").and_then(|p| p.as_str()).unwrap_or_default();
                let extra: Vec<String> = ["mode", "arch", "platform"]
                    .iter()
                    .filter_map(|k| {
                        o.get(*k)
                            .and_then(|v| v.as_str())
                            .map(|v| format!("{k} {v}"))
                    })
                    .collect();
                if extra.is_empty() {
                    eprintln!("    - {path}");
                } else {
                    eprintln!("    - {path} ({})", extra.join(", "));
                }
            }
            _ => {}
        }
    }
}

/// melange's `lint-<name>-<version>.json` with the findings by linter.
fn persist(args: &PackageLintArgs, arch: &str, report: &pkgbuild::lint::LintReport) -> Result<()> {
    if arch.contains('/') || arch.starts_with('.') {
        bail!(
            "not writing lint results for `{}` ({arch}): the name would leave `{}`",
            report.full_name,
            args.out_dir.display()
        );
    }
    if let Some(path) = pkgbuild::lint::persist(report, &args.out_dir.join(arch))? {
        eprintln!("saved lint results to {}", path.display());
    }
    Ok(())
}

pub fn run(args: &PackageLintArgs) -> Result<ExitCode> {
    let strings = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
    let named = |v: &Option<Vec<String>>, default: Vec<&str>| -> Vec<String> {
        match v {
            // `--lint-require=` names no linter at all.
            Some(v) => v.iter().filter(|s| !s.is_empty()).cloned().collect(),
            None => strings(default),
        }
    };
    let require = named(&args.lint_require, pkgbuild::lint::default_required());
    let warn = named(&args.lint_warn, pkgbuild::lint::default_warn());
    let mut failed = Vec::new();
    for file in &args.files {
        let name = file.to_string_lossy();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            let code = super::package::lint(&PackageCompileArgs {
                recipe: file.clone(),
                arch: args.arch.clone(),
                pipeline_dirs: args.pipeline_dirs.clone(),
            })?;
            if code != ExitCode::SUCCESS {
                failed.push(file.display().to_string());
            }
            continue;
        }
        let report = pkgbuild::lint::lint_apk(file, &require, &warn, &std::env::temp_dir())
            .with_context(|| format!("linting `{}`", file.display()))?;
        eprintln!("linting {} ({})", report.package, file.display());
        if let Some(w) = &report.recipe_warning {
            eprintln!("warning: {}: {w}", file.display());
        }
        for f in report.warnings.iter().chain(&report.failures) {
            print_finding(f);
        }
        if args.persist_lint_results {
            let arch = apk_format::package_read::PackageReader::new(std::io::BufReader::new(
                std::fs::File::open(file)?,
            ))?
            .record
            .arch;
            persist(args, &arch, &report)?;
        }
        if report.failures.is_empty() {
            println!("{}: ok", file.display());
        } else {
            let linters: Vec<&str> = report.failures.iter().map(|f| f.linter.as_str()).collect();
            failed.push(format!("{} ({})", file.display(), linters.join(", ")));
        }
    }
    if !failed.is_empty() {
        bail!("required linters failed: {}", failed.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}
