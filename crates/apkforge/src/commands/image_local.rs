//! `apkforge image publish --local`: build, then load the image into the
//! local engine through the Docker Engine API (`DOCKER_HOST`) and apply
//! every tag given (apko loads under a cache name and, through a typo
//! fixed in apko#1880, skipped the user's tags).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::ImagePublishArgs;
use crate::commands::image_build::{BuildInputs, build_config, write_sboms};

/// `repo[:tag]` → (`repo`, `tag`), `latest` when there is no tag.
fn split_tag(reference: &str) -> (&str, &str) {
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => (
            &reference[..last_slash + i],
            &reference[last_slash + i + 1..],
        ),
        None => (reference, "latest"),
    }
}

pub fn run(args: &ImagePublishArgs) -> Result<ExitCode> {
    let engine = docker_engine::Client::from_env()?;
    // The engine must answer before anything is built.
    let version = engine.version().with_context(|| {
        format!(
            "--local: cannot reach the engine at {} (set DOCKER_HOST=unix:///path/to/socket)",
            engine.socket().display()
        )
    })?;
    let work = scratch::TempDir::new_in(&std::env::temp_dir(), ".apkforge-publish-")
        .context("creating a work directory")?;
    let built = build_config(&BuildInputs {
        config: &args.config,
        resolve: &args.resolve,
        annotations: &args.build.annotations,
        lockfile: args.build.lockfile.as_deref(),
        build_date: args.build.build_date.as_deref(),
        compression_level: args.build.compression_level,
        work_dir: work.path(),
        vcs: args.build.vcs,
    })?;
    let arch = built
        .archs
        .iter()
        .find(|a| a.image.platform.architecture == version.arch)
        .unwrap_or(&built.archs[0]);
    if arch.image.platform.architecture != version.arch {
        eprintln!(
            "warning: the engine runs {}; loading the {} image",
            version.arch, arch.image.platform
        );
    }
    let archive = work.path().join("image.tar");
    let (first_repo, first_tag) = split_tag(&args.tags[0]);
    let first = format!("{first_repo}:{first_tag}");
    oci::write_docker_archive(
        &archive,
        &[first.as_str()],
        std::slice::from_ref(&arch.image),
        &built.index_annotations,
    )?;
    let loaded = engine
        .load_image(&archive)
        .context("--local: loading the image")?;
    let id = arch.image.config_digest.clone();
    if crate::output::shows(1) {
        eprintln!("loaded {} ({})", loaded.join(", "), id);
    }
    for tag in &args.tags {
        let (repo, t) = split_tag(tag);
        engine
            .tag_image(&id, repo, t)
            .with_context(|| format!("--local: tagging {id} as {repo}:{t}"))?;
        if crate::output::shows(1) {
            eprintln!("tagged {repo}:{t}");
        }
    }
    if args.build.sbom {
        let dir = args
            .build
            .sbom_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
        let images: Vec<oci::Image> = built.archs.iter().map(|a| a.image.clone()).collect();
        let index = oci::build_index(&images, &built.index_annotations);
        write_sboms(
            &dir,
            &args.tags[0],
            &built,
            &index,
            &args.build.sbom_formats,
        )?;
    }
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn tags_split_after_the_last_slash() {
        assert_eq!(split_tag("app"), ("app", "latest"));
        assert_eq!(split_tag("app:1.0"), ("app", "1.0"));
        assert_eq!(
            split_tag("localhost:5000/team/app:v2"),
            ("localhost:5000/team/app", "v2")
        );
        assert_eq!(
            split_tag("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
    }
}
