//! `apkforge apk pack DIR -o OUT --name N --version V --arch A`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apk_format::Dependency;
use apk_format::package_write::{PackageBuilder, is_script_name, tree_from_dir};
use apk_format::record::PackageRecord;
use apk_format::version;

use crate::cli::PackArgs;
use crate::keyring::load_signing_key;
use crate::output::AtomicFile;

/// SOURCE_DATE_EPOCH, or 0 when unset or empty.
pub fn source_date_epoch() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH `{v}` is not a number of seconds")),
        _ => Ok(0),
    }
}

fn atoms(list: &[String], what: &str) -> Result<Vec<Dependency>> {
    list.iter()
        .map(|a| Dependency::parse_strict(a).with_context(|| format!("--{what} `{a}`")))
        .collect()
}

/// Architectures a package may be built for: apk-tools' names and `noarch`.
const PACKAGE_ARCHS: &[&str] = &[
    "noarch",
    "x86",
    "x86_64",
    "aarch64",
    "armhf",
    "armv7",
    "loongarch64",
    "ppc64le",
    "riscv64",
    "s390x",
    "mips64",
    "ppc",
    "ppc64",
    "s390",
];

/// apk-tools' rule for package names: a letter or digit first, then
/// letters, digits and `+-_.`.
fn check_name(name: &str) -> Result<()> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c));
    if !ok {
        bail!(
            "--name `{name}` is not a valid package name: it must start with a letter or digit and hold only letters, digits and `+-_.`"
        );
    }
    Ok(())
}

pub fn run(args: &PackArgs) -> Result<ExitCode> {
    check_name(&args.name)?;
    if !PACKAGE_ARCHS.contains(&args.arch.as_str()) {
        bail!(
            "--arch `{}` is not an apk architecture; expected one of {}",
            args.arch,
            PACKAGE_ARCHS.join(", ")
        );
    }
    if let Some(origin) = &args.origin {
        check_name(origin).context("--origin")?;
    }
    if !version::is_valid(&args.version) {
        bail!("--version `{}` is not a valid apk version", args.version);
    }
    if !args.dir.is_dir() {
        bail!("`{}` is not a directory", args.dir.display());
    }
    let key = args
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    let record = PackageRecord {
        name: args.name.clone(),
        version: args.version.clone(),
        arch: args.arch.clone(),
        description: args.description.clone(),
        url: args.url.clone(),
        license: args.license.clone(),
        origin: Some(args.origin.clone().unwrap_or_else(|| args.name.clone())),
        depends: atoms(&args.depends, "depend")?,
        provides: atoms(&args.provides, "provides")?,
        install_if: atoms(&args.install_if, "install-if")?,
        ..Default::default()
    };
    let entries = tree_from_dir(&args.dir)?;
    let mut scripts = Vec::new();
    for s in &args.scripts {
        let (name, file) = s
            .split_once('=')
            .with_context(|| format!("--script `{s}` is not NAME=FILE"))?;
        if !is_script_name(name) {
            bail!(
                "--script `{name}` is not a script name apk knows (.pre-install, .post-install, .pre-upgrade, .post-upgrade, .pre-deinstall, .post-deinstall, .trigger)"
            );
        }
        let content = std::fs::read(PathBuf::from(file))
            .with_context(|| format!("reading script `{file}`"))?;
        scripts.push((name.to_string(), content));
    }
    if args.format == crate::cli::Format::V3 {
        let compression = super::apk_v3::compression(args.compression.as_deref())?;
        return super::apk_v3::pack(
            &args.output,
            record,
            source_date_epoch()?,
            entries,
            scripts,
            key.as_ref(),
            compression,
        );
    }
    if args.compression.is_some() {
        bail!("--compression applies to --format v3 packages only");
    }
    let mut builder = PackageBuilder::new(record, source_date_epoch()?);
    builder.entries(entries);
    for (name, content) in scripts {
        builder.script(name, content);
    }
    let mut out = AtomicFile::create(&args.output)?;
    let mut scratch = tempfile::tempfile().context("creating a scratch file")?;
    let mut writer = std::io::BufWriter::new(out.file());
    let written = builder
        .write(&mut writer, &mut scratch, key.as_ref())
        .with_context(|| format!("packing `{}`", args.dir.display()))?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing `{}`", args.output.display()))?;
    out.commit(0o644)?;
    println!(
        "wrote {} ({}, {} bytes, {})",
        args.output.display(),
        written.record.name_version(),
        written.file_size,
        written.checksum
    );
    Ok(ExitCode::SUCCESS)
}
