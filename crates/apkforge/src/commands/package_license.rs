//! `apkforge package license-check FILE`: melange's `license-check`. FILE
//! is a source directory, a recipe (its `fetch` and `git-checkout`
//! sources are fetched into `--workdir`) or a package (the sources of the
//! recipe in its `.melange.yaml`). License files are found by name,
//! identified against the SPDX license list and, with a recipe, compared
//! with its `copyright:`; `--fix` rewrites that from what was detected.
//! Findings go to stderr, as melange logs them; differences do not fail the
//! command (as in melange).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use licenses::{Declared, Detected};
use recipe::CompiledRecipe;
use recipe::copyright::CopyrightEntry;

use crate::cli::{LicenseFixFormat, LicenseScanType, PackageLicenseCheckArgs};
use crate::commands::apk_pack::source_date_epoch;
use crate::commands::package::{StderrLog, compile_recipe};
use crate::output::write_atomic;

/// License files larger than this are read only this far.
const MAX_LICENSE_BYTES: u64 = 1 << 20;

enum Input {
    Dir,
    Recipe,
    Package,
}

pub fn run(args: &PackageLicenseCheckArgs) -> Result<ExitCode> {
    let file = &args.file;
    let input = match file.extension().and_then(|e| e.to_str()) {
        Some("yaml") => Input::Recipe,
        Some("apk") => Input::Package,
        _ if file.is_dir() => Input::Dir,
        _ => bail!(
            "`{}` is neither a directory, a recipe (.yaml) nor a package (.apk)",
            file.display()
        ),
    };
    if args.fix && !matches!(input, Input::Recipe) {
        bail!("--fix rewrites a recipe; `{}` is not one", file.display());
    }
    let temp;
    let workdir: PathBuf = match &args.workdir {
        Some(w) => {
            std::fs::create_dir_all(w).with_context(|| format!("--workdir `{}`", w.display()))?;
            std::path::absolute(w)?
        }
        None => {
            temp = scratch::TempDir::new_in(&std::env::temp_dir(), ".apkforge-license-check-")?;
            temp.path().to_path_buf()
        }
    };
    let (recipe, source_dir) = match input {
        Input::Dir => (None, file.clone()),
        Input::Recipe => {
            // As melange: the directory named after the recipe (its
            // patches) is copied into the sources first.
            let own = file.with_extension("");
            if own.is_dir() {
                copy_dir(&own, &workdir)?;
            }
            (Some(fetch(file, &workdir, true)?), workdir.clone())
        }
        Input::Package => {
            let holder =
                scratch::TempDir::new_in(&std::env::temp_dir(), ".apkforge-license-check-")?;
            let yaml = holder.path().join(".melange.yaml");
            extract_recipe(file, &yaml)?;
            // Patches are not in the package: melange skips them too.
            (Some(fetch(&yaml, &workdir, false)?), workdir.clone())
        }
    };
    let deep = args.scan_type == LicenseScanType::Deep;
    eprintln!("checking license information");
    let detected = detect(&source_dir, deep, recipe.as_ref())?;
    if detected.is_empty() {
        eprintln!("no license files detected");
        return Ok(ExitCode::SUCCESS);
    }
    for d in &detected {
        let low = if d.is_confident() {
            ""
        } else {
            " low-confidence"
        };
        eprintln!("  {}: {} ({:.6}{low})", d.path, d.name, d.confidence);
    }
    let mut differences = Vec::new();
    if let Some(r) = &recipe {
        eprintln!("checking gathered license information against the configuration");
        let declared = Declared::from_copyright(r.package.copyright.iter().map(|c| {
            (
                c.license.as_str(),
                c.license_path.as_str(),
                c.detection_override.as_str(),
            )
        }));
        differences = licenses::differences(&detected, &declared);
        if differences.is_empty() {
            eprintln!("no license differences detected");
        } else {
            eprintln!("detected license differences:");
            for d in &differences {
                if d.declared.is_empty() {
                    eprintln!("  {}: {} not found", d.path, d.detected);
                } else if !d.detection_override.is_empty() {
                    eprintln!(
                        "  {}: requested override from {} to {}, but now detecting as {}",
                        d.path, d.detection_override, d.declared, d.detected
                    );
                } else {
                    eprintln!("  {}: {} != {}", d.path, d.detected, d.declared);
                }
            }
            eprintln!("detected license differences, please check the configuration");
        }
    }
    let low: Vec<&Detected> = detected.iter().filter(|d| !d.is_confident()).collect();
    if !low.is_empty() {
        eprintln!("following license files could not be confidently assessed:");
        for d in &low {
            eprintln!("  {}: {} ({:.6})", d.path, d.name, d.confidence);
        }
        eprintln!("could not identify some licenses, please check the configuration");
    }
    if args.fix {
        fix(file, &detected, &differences, args.format)?;
    }
    eprintln!("license information check complete");
    Ok(ExitCode::SUCCESS)
}

/// Regular files and directories of `src` copied into `dest` (symbolic
/// links and anything else left out).
fn copy_dir(src: &Path, dest: &Path) -> Result<()> {
    for entry in std::fs::read_dir(src).with_context(|| format!("reading `{}`", src.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let to = dest.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir_all(&to)?;
            copy_dir(&entry.path(), &to)?;
        } else if kind.is_file() {
            scratch::check_replaceable(&to)?;
            std::fs::copy(entry.path(), &to)
                .with_context(|| format!("copying `{}`", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Compiles the recipe and fetches its sources into `workdir` (applying
/// its patches with `patches`).
fn fetch(recipe: &Path, workdir: &Path, patches: bool) -> Result<CompiledRecipe> {
    let compiled = compile_recipe(recipe, None, &[])?;
    let log = StderrLog::new("info")?;
    pkgbuild::fetch_sources(
        &compiled,
        workdir,
        None,
        source_date_epoch()?,
        patches,
        &log,
    )
    .with_context(|| format!("fetching the sources of `{}`", recipe.display()))?;
    Ok(compiled)
}

/// Writes the package's `.melange.yaml` to `dest`.
fn extract_recipe(apk: &Path, dest: &Path) -> Result<()> {
    let f = File::open(apk).with_context(|| format!("opening `{}`", apk.display()))?;
    let pkg = apk_format::package_read::PackageReader::new(BufReader::new(f))
        .with_context(|| format!("reading `{}`", apk.display()))?;
    let yaml = pkg
        .control_files
        .iter()
        .find(|c| c.name == ".melange.yaml")
        .with_context(|| format!("`{}` holds no .melange.yaml", apk.display()))?;
    write_atomic(dest, 0o644, &yaml.content)
}

/// The license files of `dir` (and the recipe's `license-path`s), each
/// identified.
fn detect(dir: &Path, deep: bool, recipe: Option<&CompiledRecipe>) -> Result<Vec<Detected>> {
    let mut paths: Vec<String> = licenses::find_license_files(dir, deep)?
        .into_iter()
        .map(|f| f.path)
        .collect();
    for c in recipe.iter().flat_map(|r| &r.package.copyright) {
        let p = c.license_path.as_str();
        if !p.is_empty() && !paths.iter().any(|x| x == p) {
            paths.push(p.to_string());
        }
    }
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let classifier = licenses::Classifier::new();
    let mut out = Vec::new();
    for p in paths {
        let full = dir.join(&p);
        if !full.starts_with(dir) || p.split('/').any(|c| c == "..") {
            bail!("license-path `{p}` is outside `{}`", dir.display());
        }
        let mut bytes = Vec::new();
        File::open(&full)
            .and_then(|f| f.take(MAX_LICENSE_BYTES).read_to_end(&mut bytes))
            .with_context(|| format!("reading license file `{}`", full.display()))?;
        out.push(classifier.identify(&String::from_utf8_lossy(&bytes), &p));
    }
    Ok(out)
}

/// Rewrites the recipe's `copyright:` from the confident detections, when
/// there is a difference to fix (melange's copyright renovator).
fn fix(
    recipe: &Path,
    detected: &[Detected],
    differences: &[licenses::Difference],
    format: LicenseFixFormat,
) -> Result<()> {
    let confident: Vec<&Detected> = detected.iter().filter(|d| d.is_confident()).collect();
    if confident.is_empty() {
        eprintln!("no confident licenses found to update");
        return Ok(());
    }
    if differences.is_empty() {
        eprintln!("no actionable license differences detected");
        return Ok(());
    }
    let entries: Vec<CopyrightEntry> = match format {
        LicenseFixFormat::Flat => confident
            .iter()
            .map(|d| CopyrightEntry {
                license: d.name.clone(),
                license_path: Some(d.path.clone()),
            })
            .collect(),
        LicenseFixFormat::Simple => {
            let mut names: Vec<&str> = confident.iter().map(|d| d.name.as_str()).collect();
            names.sort();
            names.dedup();
            vec![CopyrightEntry {
                license: names.join(" AND "),
                license_path: None,
            }]
        }
    };
    let text = std::fs::read_to_string(recipe)
        .with_context(|| format!("reading `{}`", recipe.display()))?;
    let fixed = recipe::copyright::replace_copyright(&text, &entries)
        .with_context(|| format!("rewriting the copyright of `{}`", recipe.display()))?;
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(recipe)?.permissions().mode() & 0o7777
    };
    write_atomic(recipe, mode, fixed.as_bytes())?;
    eprintln!("updated the copyright of {}", recipe.display());
    Ok(())
}
