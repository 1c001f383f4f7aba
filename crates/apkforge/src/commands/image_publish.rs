//! `apkforge image publish CONFIG TAG...`: builds exactly as `image build`
//! does, then pushes the per-arch images and the index (always an index,
//! also for one architecture, as apko) and prints
//! `registry/repository@sha256:...` of the index.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use oci::registry::{
    BlobOutcome, Client, ClientOptions, DockerConfig, PushEvent, PushObserver, Reference,
};

use crate::cli::ImagePublishArgs;
use crate::commands::image_build::{BuildInputs, build_config, write_sboms};
use crate::output::write_atomic;

/// Push progress as log lines on stderr.
struct PushLog;

impl PushObserver for PushLog {
    fn event(&self, event: &PushEvent<'_>) {
        match event {
            PushEvent::Blob {
                repository,
                digest,
                size,
                outcome,
            } => {
                let what = match outcome {
                    BlobOutcome::Present => "already present".to_string(),
                    BlobOutcome::Mounted { from } => format!("mounted from {from}"),
                    BlobOutcome::Uploaded { chunks: 0 } => "uploaded".to_string(),
                    BlobOutcome::Uploaded { chunks } => format!("uploaded in {chunks} chunks"),
                };
                eprintln!("{repository}: blob {digest} ({size} bytes) {what}");
            }
            PushEvent::Manifest { reference, existed } => {
                let what = if *existed {
                    "already present"
                } else {
                    "pushed"
                };
                eprintln!("{reference} {what}");
            }
            PushEvent::Tag { reference } => eprintln!("tagged {reference}"),
        }
    }
}

pub fn run(args: &ImagePublishArgs) -> Result<ExitCode> {
    for f in &args.build.sbom_formats {
        if f != "spdx" && f != "cyclonedx" {
            bail!("--sbom-formats: unknown format `{f}` (expected spdx, cyclonedx)");
        }
    }
    // Everything that can be checked before a long build is checked first.
    let mut targets = Vec::new();
    for t in &args.tags {
        let r = Reference::parse(t)?;
        if r.digest.is_some() {
            bail!("`{t}`: publish needs a tag, not a digest");
        }
        let tag = r.tag.clone().unwrap_or_else(|| "latest".to_string());
        targets.push(r.with_tag(&tag));
    }
    if args.local {
        return crate::commands::image_local::run(args);
    }
    let client = Client::new(
        ClientOptions {
            insecure_registries: args.insecure_registries.clone(),
            monolithic_limit: args.upload_chunk_size,
            chunk_size: args.upload_chunk_size,
            ..crate::commands::registry_options()
        },
        Box::new(DockerConfig::load_default()?),
    );
    // A wrong password or an unreachable registry fails before the build.
    client
        .authenticate_targets(&targets)
        .with_context(|| format!("publishing {}", args.tags.join(", ")))?;
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
    let images: Vec<oci::Image> = built.archs.iter().map(|a| a.image.clone()).collect();
    let index = oci::build_index(&images, &built.index_annotations);

    let report = client
        .push_index(&images, &index, &targets, &PushLog)
        .with_context(|| format!("publishing {}", args.tags.join(", ")))?;
    eprintln!(
        "{} blobs uploaded ({} bytes), {} mounted, {} already present",
        report.uploaded, report.bytes_uploaded, report.mounted, report.present
    );

    if args.build.sbom {
        let dir = args
            .build
            .sbom_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
        write_sboms(
            &dir,
            &args.tags[0],
            &built,
            &index,
            &args.build.sbom_formats,
        )?;
    }
    if let Some(path) = &args.image_refs {
        // apko's order: each architecture's image, then the index.
        let mut refs = report.images.join("\n");
        refs.push('\n');
        refs.push_str(&report.index);
        refs.push('\n');
        write_atomic(path, 0o644, refs.as_bytes())?;
    }
    for a in &built.archs {
        eprintln!(
            "{}: {} ({} packages)",
            a.arch,
            a.image.manifest_digest,
            a.installed.len()
        );
    }
    println!("{}", report.index);
    Ok(ExitCode::SUCCESS)
}
