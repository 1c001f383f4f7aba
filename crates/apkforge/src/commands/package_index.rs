//! `apkforge package index [-o OUT] [-s SRC] [-m] [-a ARCH] [--signing-key K] APK...`:
//! melange's `index`. Unlike the top-level `index` (apk-tools' order),
//! entries keep melange's order: those of the merged index first, then new
//! packages in argument order; a package replaces the entry of the same
//! name and version in place.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use anyhow::{Context, Result};
use apk_format::index::{IndexEntry, entry_for_package};
use apk_format::index_archive::{read_index_archive, sign_index_archive, write_index_archive};
use apk_format::package_read::PackageReader;

use crate::cli::PackageIndexArgs;
use crate::keyring::load_signing_key;
use crate::output::write_atomic;

pub fn run(args: &PackageIndexArgs) -> Result<ExitCode> {
    let key = args
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    let mut new = Vec::new();
    for path in &args.packages {
        let file = File::open(path).with_context(|| format!("opening `{}`", path.display()))?;
        let size = file.metadata()?.len();
        let pkg = PackageReader::new(BufReader::new(file))
            .with_context(|| format!("reading package `{}`", path.display()))?;
        if let Some(arch) = &args.arch
            && &pkg.record.arch != arch
        {
            eprintln!(
                "warning: {}-{}: found architecture {}, expecting {arch}; not indexed",
                pkg.record.name, pkg.record.version, pkg.record.arch
            );
            continue;
        }
        let record = pkg.record.clone();
        let checksum = pkg
            .identity()
            .with_context(|| format!("reading package `{}`", path.display()))?
            .checksum;
        new.push(entry_for_package(&record, &checksum, size, None));
    }
    let mut description = String::new();
    let mut entries: Vec<IndexEntry> = Vec::new();
    if args.merge {
        match File::open(&args.source) {
            Ok(f) => {
                let old = read_index_archive(BufReader::new(f))
                    .with_context(|| format!("reading index `{}`", args.source.display()))?;
                description = old.description.unwrap_or_default();
                entries = old.entries;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("opening `{}`", args.source.display()));
            }
        }
    }
    for entry in new {
        let same = |e: &IndexEntry| {
            e.package.name == entry.package.name && e.package.version == entry.package.version
        };
        match entries.iter_mut().find(|e| same(e)) {
            Some(existing) => *existing = entry,
            None => entries.push(entry),
        }
    }
    let mut bytes = write_index_archive(&description, &entries)?;
    if let Some(key) = &key {
        bytes = sign_index_archive(&bytes, key)?;
    }
    write_atomic(&args.output, 0o644, &bytes)?;
    println!(
        "wrote {} ({} packages{})",
        args.output.display(),
        entries.len(),
        key.as_ref()
            .map(|k| format!(", signed with {}", k.public_name))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
