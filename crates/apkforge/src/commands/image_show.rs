//! `apkforge image show-config` and `image show-packages`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{CleanArgs, ShowConfigArgs, ShowPackagesArgs};
use crate::commands::image_request::{build_request, cache_dir, load_config};

pub fn show_config(args: &ShowConfigArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.include_paths)?;
    loaded.config.validate()?;
    print!("{}", loaded.config.to_yaml()?);
    Ok(ExitCode::SUCCESS)
}

pub fn show_packages(args: &ShowPackagesArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.resolve.include_paths)?;
    loaded.config.validate()?;
    let req = build_request(&loaded.config, &args.resolve)?;
    let opts = image::BuildOptions {
        cache_dir: cache_dir(&args.resolve),
        offline: args.resolve.offline,
        ignore_signatures: args.resolve.ignore_signatures,
        source_date_epoch: None,
        compression_level: 6,
        jobs: 8,
        work_dir: std::env::temp_dir(),
        lock: None,
    };
    let mut client = image::build::client(&opts);
    image::build::load_keys(&mut client, &req)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    let resolved = image::build::resolve(&client, &req, &image::Quiet)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    for (arch, pkgs) in resolved {
        for (repo, p) in pkgs {
            let source = repo.text.clone();
            let line = match args.format.as_str() {
                "name-version" => format!("{}-{}", p.name, p.version),
                "name=version" => format!("{}={}", p.name, p.version),
                "name-version-source" => format!("{}-{} {source}", p.name, p.version),
                "name=version-source" => format!("{}={} {source}", p.name, p.version),
                "name-(version)" => format!("{} ({})", p.name, p.version),
                "name-(version)-source" => format!("{} ({}) {source}", p.name, p.version),
                template => template
                    .replace("{{.Name}}", &p.name)
                    .replace("{{.Version}}", &p.version)
                    .replace("{{.Source}}", &source)
                    .replace("{{.Arch}}", &arch),
            };
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn clean(args: &CleanArgs) -> Result<ExitCode> {
    use anyhow::Context;
    let dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(apk_repo::Cache::default_root);
    if !dir.exists() {
        println!("{} does not exist; nothing to remove", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        println!("would remove {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing `{}`", dir.display()))?;
    println!("removed {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
