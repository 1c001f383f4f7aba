//! `apkforge image show-config` and `image show-packages`.

use std::process::ExitCode;

use std::io::Write;

use anyhow::Result;

use crate::cli::{CleanArgs, ShowConfigArgs, ShowPackagesArgs};
use crate::commands::image_request::{build_request, cache_dir, load_config};
use crate::commands::template::Template;

pub fn show_config(args: &ShowConfigArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.include_paths)?;
    loaded.config.validate()?;
    print!("{}", loaded.config.to_yaml()?);
    Ok(ExitCode::SUCCESS)
}

/// apko's named formats for `show-packages --format`.
const PACKAGE_FORMATS: &[(&str, &str)] = &[
    ("name-version", "{{ .Name }} {{ .Version }}"),
    (
        "name-version-source",
        "{{ .Name }} {{ .Version }} {{ .Source }}",
    ),
    ("name=version", "{{ .Name }}={{ .Version }}"),
    (
        "name=version-source",
        "{{ .Name }}={{ .Version }} {{ .Source }}",
    ),
    ("name-(version)", "{{ .Name }} ({{ .Version }})"),
    (
        "name-(version)-source",
        "{{ .Name }} ({{ .Version }}) {{ .Source }}",
    ),
    ("packagelock", "- {{ .Name }}={{ .Version }}"),
    (
        "packagelock-source",
        "- {{ .Name }}={{ .Version }} # {{ .Source }}",
    ),
];

/// Fields a `--format` template may use.
const PACKAGE_FIELDS: &[&str] = &["Name", "Version", "Source", "Arch", "Origin", "License"];

pub fn show_packages(args: &ShowPackagesArgs) -> Result<ExitCode> {
    let format = PACKAGE_FORMATS
        .iter()
        .find(|(name, _)| *name == args.format)
        .map_or(args.format.as_str(), |(_, t)| t);
    let template = Template::parse(format, PACKAGE_FIELDS)?;
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
    let several = resolved.len() > 1;
    let mut out = std::io::stdout().lock();
    for (arch, pkgs) in resolved {
        // As apko, a heading per architecture when there are several (on
        // stderr, so the list itself stays pasteable).
        if several {
            out.flush()?;
            eprintln!("packages for {arch}");
        }
        for (repo, p) in pkgs {
            let source = repo
                .package_location(&arch, &p.name, &p.version)
                .to_string();
            let line = template.render(|field| match field {
                "Name" => p.name.clone(),
                "Version" => p.version.clone(),
                "Source" => source.clone(),
                "Arch" => arch.clone(),
                "Origin" => p.origin.clone().unwrap_or_else(|| p.name.clone()),
                _ => p.license.clone(),
            });
            writeln!(out, "{line}")?;
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
