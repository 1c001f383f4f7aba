//! `apkforge index -o APKINDEX.tar.gz [--signing-key K] [--merge OLD] APK...`

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use anyhow::{Context, Result};
use apk_format::index::{IndexEntry, entry_for_package};
use apk_format::index_archive::{read_index_archive, sign_index_archive, write_index_archive};
use apk_format::package_read::PackageReader;
use apk_format::version;

use crate::cli::IndexArgs;
use crate::keyring::load_signing_key;
use crate::output::write_atomic;

pub fn run(args: &IndexArgs) -> Result<ExitCode> {
    // Load the key first: a bad key must fail before any work.
    let key = args
        .signing_key
        .as_deref()
        .map(load_signing_key)
        .transpose()?;
    if args.format == crate::cli::Format::V3 {
        return super::apk_v3::index(args, key.as_ref());
    }
    if args.pkgname_spec.is_some() || args.compression.is_some() {
        anyhow::bail!("--pkgname-spec and --compression apply to --format v3 indexes only");
    }
    let mut entries: Vec<IndexEntry> = Vec::new();
    if let Some(old) = &args.merge {
        let file = File::open(old).with_context(|| format!("opening index `{}`", old.display()))?;
        let archive = read_index_archive(BufReader::new(file))
            .with_context(|| format!("reading index `{}`", old.display()))?;
        entries = archive.entries;
    }
    // Where each name+version sits in `entries`: a package replaces the
    // entry of the same name and version (from --merge or an earlier
    // argument), found in constant time so big repositories index linearly.
    let mut position: HashMap<(String, String), usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let key = (e.package.name.clone(), e.package.version.clone());
        position.entry(key).or_insert(i);
    }
    for path in &args.packages {
        let file = File::open(path).with_context(|| format!("opening `{}`", path.display()))?;
        let size = file.metadata()?.len();
        let reading = || format!("reading package `{}`", path.display());
        let pkg = PackageReader::new(BufReader::new(file)).with_context(reading)?;
        let record = pkg.record.clone();
        // Over control and data for a package without datahash (apk-tools 2).
        let checksum = pkg.identity().with_context(reading)?.checksum;
        let entry = entry_for_package(&record, &checksum, size, args.rewrite_arch.as_deref());
        let key = (entry.package.name.clone(), entry.package.version.clone());
        match position.get(&key) {
            Some(&i) => entries[i] = entry,
            None => {
                position.insert(key, entries.len());
                entries.push(entry);
            }
        }
    }
    // Sorted by name, then version, like apk-tools: the output does not
    // depend on argument order.
    entries.sort_by(|a, b| {
        a.package
            .name
            .cmp(&b.package.name)
            .then_with(|| version::compare(&a.package.version, &b.package.version))
    });
    let mut bytes = write_index_archive(&args.description, &entries)?;
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
