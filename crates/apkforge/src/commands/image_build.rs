//! `apkforge image build CONFIG TAG OUT`

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use image::{ArchImage, BuildOptions, BuildOutput, Reporter};

use crate::cli::ImageBuildArgs;
use crate::commands::image_request::{build_date, build_request, cache_dir, load_config};
use crate::output::write_atomic;

/// Progress on stderr: a download bar on a terminal, plain lines otherwise.
pub struct LogReporter {
    pub fancy: bool,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl LogReporter {
    /// A reporter; `fancy` draws bars (use when stderr is a terminal).
    pub fn new(fancy: bool) -> LogReporter {
        let fancy = fancy && crate::output::colors_enabled();
        LogReporter {
            fancy,
            bar: std::sync::Mutex::new(None),
        }
    }
}

impl Reporter for LogReporter {
    fn phase(&self, message: &str) {
        if !crate::output::shows(1) {
            return;
        }
        if self.fancy {
            eprintln!("\x1b[1m==>\x1b[0m {message}");
        } else {
            eprintln!("==> {message}");
        }
    }

    fn warn(&self, message: &str) {
        if crate::output::shows(2) {
            eprintln!("warning: {message}");
        }
    }

    fn fetch_started(&self, total: usize) {
        if !self.fancy || !crate::output::shows(1) {
            return;
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("    {bar:30} {pos}/{len} packages {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }

    fn package_ready(&self, name: &str, bytes: u64) {
        if !self.fancy && crate::output::shows(0) {
            eprintln!("    {name} ({bytes} bytes)");
        }
        if let Ok(b) = self.bar.lock()
            && let Some(bar) = b.as_ref()
        {
            bar.set_message(name.to_string());
            bar.inc(1);
        }
    }

    fn fetch_finished(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// Where `image build` writes.
enum Output {
    /// An OCI layout directory (existing layout, empty, or new).
    Layout(PathBuf),
    /// A docker archive file (the target of a symlink, if OUT is one).
    Tar(PathBuf),
    /// A docker archive on standard output (`-`).
    Stdout,
}

/// Decides what OUT is, refusing what cannot be written safely: a device,
/// FIFO or socket; a directory that is not an OCI layout; a dangling
/// symbolic link (a link to a file is written through, never replaced).
fn output_target(out: &Path) -> Result<Output> {
    if out == Path::new("-") {
        return Ok(Output::Stdout);
    }
    let wants_dir = out.to_string_lossy().ends_with('/');
    let path = match std::fs::symlink_metadata(out) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(out).with_context(|| {
            format!(
                "`{}` is a symbolic link to something that does not exist; refusing to replace the link",
                out.display()
            )
        })?,
        _ => out.to_path_buf(),
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => {
            let empty = std::fs::read_dir(&path)
                .with_context(|| format!("reading `{}`", path.display()))?
                .next()
                .is_none();
            if empty || path.join("oci-layout").is_file() {
                Ok(Output::Layout(path))
            } else {
                bail!(
                    "`{}` is a directory that is not an OCI layout (no `oci-layout` file, not empty); give an empty or new directory for a layout, or a file name for a docker archive",
                    out.display()
                )
            }
        }
        Ok(m) if m.is_file() => {
            if wants_dir {
                bail!("`{}` is a file, not a directory", out.display());
            }
            Ok(Output::Tar(path))
        }
        Ok(m) => {
            let kind = scratch::special_kind(m.file_type()).unwrap_or("not a regular file");
            bail!(
                "`{}` is {kind}; the output must be a file, an OCI layout directory or `-` for standard output",
                out.display()
            )
        }
        Err(_) if wants_dir => Ok(Output::Layout(path)),
        Err(_) => Ok(Output::Tar(path)),
    }
}

/// Refuses an image reference a registry or engine would refuse
/// (`UPPER:latest`, `a:b:c`, `:latest`), before anything is built.
pub fn check_reference(reference: &str) -> Result<()> {
    oci::registry::Reference::parse(reference)
        .map(drop)
        .with_context(|| format!("`{reference}` is not a valid image reference"))
}

/// The tag part of `name:tag` (`latest` when there is none).
fn tag_part(reference: &str) -> &str {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') && !name.is_empty() => tag,
        _ => "latest",
    }
}

pub fn parse_annotations(flags: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in flags {
        let (k, v) = a
            .split_once(':')
            .with_context(|| format!("--annotations `{a}` is not KEY:VALUE"))?;
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            bail!("--annotations key `{k}` must match ^[a-z0-9-.]+$");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// What `image build` and `image publish` share.
pub struct BuildInputs<'a> {
    pub config: &'a Path,
    pub resolve: &'a crate::cli::ResolveArgs,
    pub annotations: &'a [String],
    pub lockfile: Option<&'a Path>,
    pub build_date: Option<&'a str>,
    pub compression_level: u32,
    pub work_dir: &'a Path,
    /// Add git source/revision annotations (`--vcs`).
    pub vcs: bool,
}

/// Loads and validates the config, applies the flags and builds.
pub fn build_config(inputs: &BuildInputs<'_>) -> Result<BuildOutput> {
    let mut loaded = load_config(inputs.config, &inputs.resolve.include_paths)?;
    loaded.config.validate()?;
    let mut req = build_request(&loaded.config, inputs.resolve)?;
    let lock = inputs
        .lockfile
        .map(|p| crate::commands::image_lock::read_lock(p, &loaded.checksum))
        .transpose()?;
    if inputs.vcs && loaded.config.vcs_url.is_empty() {
        for (k, v) in crate::commands::image_request::vcs_annotations(inputs.config) {
            req.annotations.entry(k).or_insert(v);
        }
    }
    req.annotations
        .extend(parse_annotations(inputs.annotations)?);
    let opts = BuildOptions {
        cache_dir: cache_dir(inputs.resolve),
        offline: inputs.resolve.offline,
        ignore_signatures: inputs.resolve.ignore_signatures,
        source_date_epoch: build_date(inputs.build_date)?,
        compression_level: inputs.compression_level.clamp(1, 9),
        jobs: 8,
        work_dir: inputs.work_dir.to_path_buf(),
        lock,
    };
    if inputs.resolve.ignore_signatures {
        eprintln!("warning: --ignore-signatures: repository index signatures are NOT verified");
    }
    let reporter = LogReporter::new(std::io::stderr().is_terminal());
    image::build(&req, &opts, &reporter)
        .map_err(crate::commands::image_request::locate_build_error(&loaded))
}

pub fn run(args: &ImageBuildArgs) -> Result<ExitCode> {
    for f in &args.build.sbom_formats {
        if f != "spdx" && f != "cyclonedx" {
            bail!("--sbom-formats: unknown format `{f}` (expected spdx, cyclonedx)");
        }
    }
    check_reference(&args.tag)?;
    let target = output_target(&args.output)?;
    // The directory results and SBOMs go to (SBOMs of `-` only with --sbom-path).
    let out_parent = match &target {
        Output::Layout(dir) => dir.clone(),
        Output::Tar(file) => match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
        Output::Stdout => PathBuf::from("."),
    };
    if let Output::Tar(_) = target
        && !out_parent.is_dir()
    {
        bail!("output directory `{}` does not exist", out_parent.display());
    }
    let work_parent = match &target {
        Output::Layout(dir) => dir
            .parent()
            .filter(|p| p.is_dir())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
        Output::Tar(_) => out_parent.clone(),
        Output::Stdout => std::env::temp_dir(),
    };
    // Only the work directory's exact prefix in a shared temp directory;
    // the output's own temp files where outputs are written.
    let written: &[&str] = &[crate::output::OUTPUT_TEMP_PREFIX, ".tmp-"];
    let mut beside = vec![
        (work_parent.clone(), &[crate::commands::WORK_PREFIX][..]),
        (out_parent.clone(), written),
    ];
    if let Output::Layout(dir) = &target {
        beside.push((dir.join("blobs/sha256"), written));
    }
    crate::commands::sweep_stale(&beside, Some(&cache_dir(&args.resolve)));
    let work = scratch::TempDir::new_in(&work_parent, crate::commands::WORK_PREFIX)
        .context("creating a work directory beside the output")?;
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
    let index = match &target {
        Output::Layout(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating `{}`", dir.display()))?;
            oci::write_oci_layout(
                dir,
                &images,
                &built.index_annotations,
                Some(tag_part(&args.tag)),
            )?
        }
        Output::Tar(file) => oci::write_docker_archive(
            file,
            &[args.tag.as_str()],
            &images,
            &built.index_annotations,
        )?,
        Output::Stdout => {
            let stdout = std::io::stdout().lock();
            let (_, index) = oci::write_docker_archive_to(
                std::io::BufWriter::with_capacity(1 << 16, stdout),
                Path::new("standard output"),
                &[args.tag.as_str()],
                &images,
                &built.index_annotations,
            )?;
            index
        }
    };
    let sbom_dir = match (&target, &args.build.sbom_path) {
        (_, Some(dir)) => Some(dir.clone()),
        (Output::Stdout, None) => None,
        _ => Some(out_parent.clone()),
    };
    if args.build.sbom && sbom_dir.is_none() && crate::output::shows(2) {
        eprintln!("note: no SBOMs for `-` without --sbom-path DIR");
    }
    if args.build.sbom
        && let Some(dir) = sbom_dir
    {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
        write_sboms(&dir, &args.tag, &built, &index, &args.build.sbom_formats)?;
    }
    for a in built.archs.iter().filter(|_| crate::output::shows(1)) {
        eprintln!(
            "{}: {} ({})",
            a.arch,
            a.image.manifest_digest,
            image::build::plural(a.installed.len(), "package", "packages")
        );
    }
    let line = format!("wrote {} ({})", args.output.display(), index.digest);
    if let Output::Stdout = target {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn sbom_input(tag: &str, a: &ArchImage) -> sbom::SbomInput {
    let get = |k: &str| {
        a.os_release
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let os_id = get("ID").unwrap_or_else(|| "unknown".into());
    let os_version = get("VERSION_ID").unwrap_or_default();
    let namespace = if os_id == "unknown" {
        "alpine".to_string()
    } else {
        os_id.clone()
    };
    sbom::SbomInput {
        document_name: format!("sbom-sha256:{}", a.layer.digest_hex),
        namespace_seed: a.image.manifest_digest.clone(),
        created: image::time::rfc3339(a.created),
        os_name: get("NAME").unwrap_or_else(|| "apkforge-generated image".into()),
        os_version: os_version.clone(),
        arch: a.arch.clone(),
        image_digest: Some(a.image.manifest_digest.clone()),
        image_purl_name: Some(
            tag.rsplit_once(':')
                .map_or(tag, |(n, _)| n)
                .rsplit('/')
                .next()
                .unwrap_or(tag)
                .to_string(),
        ),
        packages: a
            .installed
            .iter()
            .map(|p| sbom::SbomPackage {
                name: p.name.clone(),
                version: p.version.clone(),
                arch: p.arch.clone(),
                license: p.license.clone(),
                description: p.description.clone(),
                url: p.url.clone(),
                origin: p.origin.clone().unwrap_or_else(|| p.name.clone()),
                checksum_sha1_hex: p
                    .checksum
                    .as_deref()
                    .and_then(apk_format::record::decode_q1)
                    .map(hex::encode),
                maintainer: p.maintainer.clone(),
            })
            .collect(),
        distro: (!os_version.is_empty()).then(|| format!("{os_id}-{os_version}")),
        namespace,
        os_id,
        organization: None,
    }
}

pub fn write_sboms(
    dir: &Path,
    tag: &str,
    built: &BuildOutput,
    index: &oci::Index,
    formats: &[String],
) -> Result<()> {
    for a in &built.archs {
        let input = sbom_input(tag, a);
        for f in formats {
            let (name, bytes) = match f.as_str() {
                "cyclonedx" => (
                    format!("sbom-{}.cdx.json", a.arch),
                    sbom::cyclonedx_json(&input),
                ),
                _ => (
                    format!("sbom-{}.spdx.json", a.arch),
                    sbom::spdx_json(&input),
                ),
            };
            write_atomic(&dir.join(name), 0o644, &bytes)?;
        }
    }
    if formats.iter().any(|f| f == "spdx") {
        let input = sbom::IndexSbomInput {
            document_name: format!("sbom-{}", index.digest),
            namespace_seed: index.digest.clone(),
            created: image::time::rfc3339(built.created),
            index_digest: index.digest.clone(),
            purl_name: Some(
                tag.rsplit_once(':')
                    .map_or(tag, |(n, _)| n)
                    .rsplit('/')
                    .next()
                    .unwrap_or(tag)
                    .to_string(),
            ),
            images: built
                .archs
                .iter()
                .map(|a| sbom::IndexImage {
                    digest: a.image.manifest_digest.clone(),
                    arch: a.arch.clone(),
                })
                .collect(),
            organization: None,
        };
        write_atomic(
            &dir.join("sbom-index.spdx.json"),
            0o644,
            &sbom::spdx_index_json(&input),
        )?;
    }
    Ok(())
}
