//! `apkforge image why CONFIG PKG [--arch A]`

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::WhyArgs;
use crate::commands::image_request::{build_request, cache_dir, load_config, locate_build_error};

pub fn run(args: &WhyArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.resolve.include_paths)?;
    loaded.config.validate()?;
    let mut flags = args.resolve.clone();
    let mut req = build_request(&loaded.config, &flags)?;
    // One architecture: the one asked for, else the first built.
    let arch = req
        .archs
        .first()
        .cloned()
        .context("no architectures to build")?;
    req.archs = vec![arch.clone()];
    flags.arch = vec![arch.clone()];
    let opts = image::BuildOptions {
        cache_dir: cache_dir(&flags),
        offline: flags.offline,
        ignore_signatures: flags.ignore_signatures,
        source_date_epoch: None,
        compression_level: 6,
        jobs: 8,
        work_dir: std::env::temp_dir(),
        lock: None,
    };
    let mut client = image::build::client(&opts);
    image::build::load_keys(&mut client, &req).map_err(locate_build_error(&loaded))?;
    let resolved =
        image::build::resolve(&client, &req, &image::Quiet).map_err(locate_build_error(&loaded))?;
    let packages: Vec<apk_format::record::PackageRecord> = resolved
        .into_iter()
        .flat_map(|(_, pkgs)| pkgs.into_iter().map(|(_, p)| p))
        .collect();
    if let Some(found) = insight::why::chains(&req.packages, &packages, &args.package) {
        let what = if found.package == args.package {
            format!("{} {}", found.package, found.version)
        } else {
            format!(
                "{} ({} {} provides it)",
                args.package, found.package, found.version
            )
        };
        println!("{what} is in the {arch} image:");
        for chain in &found.chains {
            println!("  {}", chain.join(" -> "));
        }
        if found.truncated {
            println!("  ... (more chains; showing {})", found.chains.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Not installed: would it resolve if asked for?
    let mut with = req.clone();
    with.packages.push(args.package.clone());
    match image::build::resolve(&client, &with, &image::Quiet) {
        Ok(r) => {
            let version = r
                .iter()
                .flat_map(|(_, p)| p.iter())
                .find(|(_, p)| {
                    p.name == args.package || p.provides.iter().any(|d| d.name == args.package)
                })
                .map(|(_, p)| format!("{} {}", p.name, p.version))
                .unwrap_or_else(|| args.package.clone());
            println!(
                "{} is not in the {arch} image: nothing the config asks for depends on it, directly or through other packages (the repositories have {version}; add it to contents.packages to install it)",
                args.package
            );
        }
        Err(e) => {
            println!(
                "{} is not in the {arch} image, and could not be: {e}",
                args.package
            );
        }
    }
    Ok(ExitCode::from(1))
}
