//! One module per command.

mod apk_inspect;
pub mod apk_pack;
mod apk_v3;
mod apk_verify;
mod apk_version;
pub mod image_build;
mod image_diff;
mod image_inputs;
mod image_local;
pub mod image_lock;
mod image_publish;
pub mod image_request;
mod image_show;
mod image_size;
mod image_why;
mod index;
mod keygen;
mod login;
mod package;
mod package_build_tree;
mod package_bump;
mod package_graph;
mod package_index;
mod package_keygen;
mod package_license;
mod package_lint;
mod package_query;
mod package_runner;
mod package_scan;
mod package_sign;
mod package_sign_index;
mod package_test;
mod package_tree;
mod sign;
mod template;

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{ApkCommand, Cli, Command, CompletionArgs, ImageCommand, PackageCommand};

/// Runs the parsed command line.
pub fn run(mut cli: Cli) -> Result<ExitCode> {
    crate::output::set_log_level(&cli.log_level);
    set_index_limits()?;
    apk_repo::Timeouts::set_process_default(http_timeouts(&cli)?);
    // melange's `license-check --workdir` is where sources go, not a
    // directory to run in.
    if let Command::Package(PackageCommand::LicenseCheck(args)) = &mut cli.command {
        args.workdir = cli.workdir.take();
    }
    if let Some(dir) = &cli.workdir {
        std::env::set_current_dir(dir)
            .with_context(|| format!("-C/--workdir `{}`", dir.display()))?;
    }
    match cli.command {
        Command::Completion(args) => completion(&args),
        Command::Apk(command) => run_apk(command),
        Command::Index(args) => index::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Image(command) => run_image(command),
        Command::Login(args) => login::run(&args),
        Command::Package(command) => run_package(command),
    }
}

/// Index limits from `APKFORGE_INDEX_MAX_BYTES` and
/// `APKFORGE_INDEX_MAX_ENTRIES` (docs/SECURITY.md), else the defaults.
fn set_index_limits() -> Result<()> {
    use apk_format::index_archive::IndexLimits;
    let mut limits = IndexLimits::default();
    for (var, slot) in [
        ("APKFORGE_INDEX_MAX_BYTES", &mut limits.max_bytes),
        ("APKFORGE_INDEX_MAX_ENTRIES", &mut limits.max_entries),
    ] {
        if let Some(value) = std::env::var_os(var) {
            let text = value.to_string_lossy();
            *slot = text
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("{var}=`{text}`: expected a positive whole number"))?;
        }
    }
    limits.set_current();
    Ok(())
}

/// `--http-timeout` and `--http-deadline` (or their environment
/// variables) over the defaults.
fn http_timeouts(cli: &Cli) -> Result<apk_repo::Timeouts> {
    let mut t = apk_repo::Timeouts::DEFAULT;
    let pick =
        |flag: &Option<String>, name: &str, env: &str| -> Result<Option<std::time::Duration>> {
            let (text, from) = match (flag, std::env::var(env)) {
                (Some(v), _) => (v.clone(), format!("--{name}")),
                (None, Ok(v)) if !v.is_empty() => (v, env.to_owned()),
                _ => return Ok(None),
            };
            parse_seconds_or_duration(&text)
                .filter(|d| !d.is_zero())
                .map(Some)
                .with_context(|| {
                    format!("{from} `{text}` is not a positive duration (e.g. `30`, `30s`, `2m`)")
                })
        };
    if let Some(d) = pick(&cli.http_timeout, "http-timeout", "APKFORGE_HTTP_TIMEOUT")? {
        t.stall = d;
    }
    if let Some(d) = pick(
        &cli.http_deadline,
        "http-deadline",
        "APKFORGE_HTTP_DEADLINE",
    )? {
        t.deadline = d;
    }
    Ok(t)
}

/// Whole seconds (`30`) or a Go duration (`1m30s`, `500ms`).
fn parse_seconds_or_duration(text: &str) -> Option<std::time::Duration> {
    match text.parse::<u64>() {
        Ok(secs) => Some(std::time::Duration::from_secs(secs)),
        Err(_) => pkgbuild::parse_duration(text),
    }
}

/// Name prefix of an image build's work directory beside its output.
pub const WORK_PREFIX: &str = ".apkforge-build-";

/// Removes what runs killed before they finished left beside outputs (work
/// directories, results being written, OCI layout and archive temp files:
/// the prefixes given with each directory) and in the cache; what live
/// runs are writing is kept ([`scratch::sweep`]).
pub fn sweep_stale(beside: &[(std::path::PathBuf, &[&str])], cache: Option<&std::path::Path>) {
    let mut removed = Vec::new();
    for (dir, prefixes) in beside {
        removed.extend(scratch::sweep(dir, prefixes).unwrap_or_default());
    }
    if let Some(cache) = cache {
        removed.extend(apk_repo::Cache::new(cache).sweep_stale());
    }
    report_swept(&removed);
}

/// Says what a sweep of stale temp entries removed.
pub fn report_swept(removed: &[std::path::PathBuf]) {
    if removed.is_empty() || !crate::output::shows(1) {
        return;
    }
    eprintln!(
        "removed {} temp file(s) left by interrupted runs",
        removed.len()
    );
    if crate::output::shows(0) {
        for p in removed {
            eprintln!("  {}", p.display());
        }
    }
}

/// Registry client options with the process's HTTP time limits.
pub(crate) fn registry_options() -> oci::registry::ClientOptions {
    let t = apk_repo::Timeouts::process_default();
    oci::registry::ClientOptions {
        timeout: t.stall,
        deadline: t.deadline,
        ..oci::registry::ClientOptions::default()
    }
}

fn run_apk(command: ApkCommand) -> Result<ExitCode> {
    match command {
        ApkCommand::Inspect(args) => apk_inspect::run(&args),
        ApkCommand::Verify(args) => apk_verify::run(&args),
        ApkCommand::Version(args) => apk_version::run(&args),
        ApkCommand::Pack(args) => apk_pack::run(&args),
    }
}

fn run_image(command: ImageCommand) -> Result<ExitCode> {
    match command {
        ImageCommand::Build(args) => image_build::run(&args),
        ImageCommand::Publish(args) => image_publish::run(&args),
        ImageCommand::Lock(args) => image_lock::lock(&args),
        ImageCommand::BuildMinirootfs(args) => image_lock::minirootfs(&args),
        ImageCommand::Dot(args) => image_lock::dot(&args),
        ImageCommand::Clean(args) => image_show::clean(&args),
        ImageCommand::ShowConfig(args) => image_show::show_config(&args),
        ImageCommand::ShowPackages(args) => image_show::show_packages(&args),
        ImageCommand::Why(args) => image_why::run(&args),
        ImageCommand::Size(args) => image_size::run(&args),
        ImageCommand::Diff(args) => image_diff::run(&args),
    }
}

fn run_package(command: PackageCommand) -> Result<ExitCode> {
    match command {
        PackageCommand::Build(args) => package::build(&args),
        PackageCommand::Compile(args) => package::compile(&args),
        PackageCommand::Test(args) => package_test::run(&args),
        PackageCommand::Lint(args) => package_lint::run(&args),
        PackageCommand::Keygen(args) => package_keygen::run(&args),
        PackageCommand::Index(args) => package_index::run(&args),
        PackageCommand::SignIndex(args) => package_sign_index::run(&args),
        PackageCommand::Sign(args) => package_sign::run(&args),
        PackageCommand::PackageVersion(args) => package_query::package_version(&args),
        PackageCommand::Query(args) => package_query::query(&args),
        PackageCommand::Graph(args) => package_graph::run(&args),
        PackageCommand::BuildTree(args) => package_build_tree::run(&args),
        PackageCommand::Bump(args) => package_bump::run(&args),
        PackageCommand::Scan(args) => package_scan::run(&args),
        PackageCommand::LicenseCheck(args) => package_license::run(&args),
    }
}

fn completion(args: &CompletionArgs) -> Result<ExitCode> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "apkforge", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
