//! `image lock`, `image build-minirootfs` and `image dot`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use image::BuildOptions;
use image::lock::Lock;

use crate::cli::{DotArgs, ImageLockArgs, MinirootfsArgs, ResolveArgs};
use crate::commands::image_request::{build_date, build_request, cache_dir, load_config};
use crate::output::write_atomic;

fn options(flags: &ResolveArgs, work: &Path, sde: Option<u64>) -> BuildOptions {
    BuildOptions {
        cache_dir: cache_dir(flags),
        offline: flags.offline,
        ignore_signatures: flags.ignore_signatures,
        source_date_epoch: sde,
        compression_level: 6,
        jobs: 8,
        work_dir: work.to_path_buf(),
        lock: None,
    }
}

/// Reads a lock file and checks it belongs to the config.
pub fn read_lock(path: &Path, config_checksum: &str) -> Result<Lock> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading lock file `{}`", path.display()))?;
    let lock: Lock = image::lock::parse_lock(&bytes)
        .with_context(|| format!("lock file `{}`", path.display()))?;
    if lock.config.checksum != config_checksum {
        bail!(
            "lock file `{}` was made for a different config (checksum {}, the config now has {}); run `apkforge image lock` again",
            path.display(),
            lock.config.checksum,
            config_checksum
        );
    }
    Ok(lock)
}

pub fn lock(args: &ImageLockArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.resolve.include_paths)?;
    loaded.config.validate()?;
    let req = build_request(&loaded.config, &args.resolve)?;
    let opts = options(&args.resolve, &std::env::temp_dir(), None);
    let mut client = image::build::client(&opts);
    let keys = image::build::load_keys(&mut client, &req)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    let resolved = image::build::resolve(&client, &req, &image::Quiet)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    let name = args
        .config
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("apko.yaml");
    let lock = image::lock::make_lock(&client, name, &loaded.checksum, &req, &resolved, &keys)?;
    let out = args.output.clone().unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("apko");
        args.config.with_file_name(format!("{stem}.lock.json"))
    });
    write_atomic(&out, 0o644, &image::lock::to_json(&lock))?;
    println!(
        "wrote {} ({} packages)",
        out.display(),
        lock.contents.packages.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn minirootfs(args: &MinirootfsArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.resolve.include_paths)?;
    loaded.config.validate()?;
    let mut flags = args.resolve.clone();
    // One architecture: --build-arch (apko's flag), else --arch, else the host.
    let arch = match (&args.build_arch, flags.arch.as_slice()) {
        (Some(a), _) => a.clone(),
        (None, [one]) => one.clone(),
        (None, []) => image_config::Arch::host()
            .context("cannot tell the host architecture; pass --build-arch")?
            .apk_name()
            .to_string(),
        (None, many) => bail!(
            "build-minirootfs builds one architecture; --arch names {}",
            many.join(", ")
        ),
    };
    let arch = image_config::Arch::parse(&arch)
        .with_context(|| "--build-arch/--arch".to_string())?
        .apk_name()
        .to_string();
    flags.arch = vec![arch];
    let req = build_request(&loaded.config, &flags)?;
    let parent = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    crate::commands::sweep_stale(
        &[(
            parent.clone(),
            &[
                crate::commands::WORK_PREFIX,
                crate::output::OUTPUT_TEMP_PREFIX,
            ][..],
        )],
        Some(&crate::commands::image_request::cache_dir(&flags)),
    );
    let work = scratch::TempDir::new_in(&parent, crate::commands::WORK_PREFIX)?;
    let opts = options(&flags, work.path(), build_date(args.build_date.as_deref())?);
    let built = image::build(
        &req,
        &opts,
        &crate::commands::image_build::LogReporter::new(false),
    )
    .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    let layer = &built.archs[0].image.layers[0];
    // The blob may be a hard link into the layer cache: the output gets
    // its own copy, so changing it can never change the cache.
    let mut out = crate::output::AtomicFile::create(&args.output)?;
    let mut src = std::fs::File::open(&layer.blob)
        .with_context(|| format!("reading `{}`", layer.blob.display()))?;
    std::io::copy(&mut src, out.file())
        .with_context(|| format!("writing `{}`", args.output.display()))?;
    out.commit(0o644)?;
    println!(
        "wrote {} ({}, {})",
        args.output.display(),
        built.archs[0].arch,
        layer.digest
    );
    Ok(ExitCode::SUCCESS)
}

pub fn dot(args: &DotArgs) -> Result<ExitCode> {
    let mut loaded = load_config(&args.config, &args.resolve.include_paths)?;
    loaded.config.validate()?;
    let req = build_request(&loaded.config, &args.resolve)?;
    let opts = options(&args.resolve, &std::env::temp_dir(), None);
    let mut client = image::build::client(&opts);
    image::build::load_keys(&mut client, &req)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    let resolved = image::build::resolve(&client, &req, &image::Quiet)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))?;
    let Some((_, pkgs)) = resolved.first() else {
        bail!("nothing resolved")
    };
    println!("digraph packages {{");
    println!("  rankdir=LR;");
    for w in &req.packages {
        println!(
            "  \"world\" -> \"{}\";",
            w.split(['=', '<', '>', '~', '@']).next().unwrap_or(w)
        );
    }
    for (_, p) in pkgs {
        for d in p.depends.iter().filter(|d| !d.conflict) {
            let provider = pkgs
                .iter()
                .find(|(_, q)| q.name == d.name || q.provides.iter().any(|pr| pr.name == d.name));
            if let Some((_, q)) = provider
                && q.name != p.name
            {
                println!("  \"{}\" -> \"{}\" [label=\"{}\"];", p.name, q.name, d.name);
            }
        }
    }
    println!("}}");
    Ok(ExitCode::SUCCESS)
}
