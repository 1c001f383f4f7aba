//! apk v3 files in `apk inspect`, `apk verify`, `apk pack --format v3` and
//! `index --format v3`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use apk_format::adb::compress;
use apk_format::adb::container::Compression;
use apk_format::adb::index::{IndexWriter, identity_checksum, read_index, write_adb_file};
use apk_format::adb::package::V3PackageReader;
use apk_format::adb::package_write::V3PackageBuilder;
use apk_format::adb::schema;
use apk_format::package_read::{EntryKind, PackageReader, SignatureStatus};
use apk_format::package_write::TreeEntry;
use apk_format::record::PackageRecord;
use apk_format::signing::{Keyring, SigningKey};
use serde::Serialize;

use crate::cli::{IndexArgs, InspectArgs};
use crate::keyring;
use crate::output::{AtomicFile, write_atomic};

/// True when the file starts like an apk v3 file (`ADB`).
pub fn is_v3(path: &Path) -> bool {
    let mut head = [0u8; 3];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"ADB"
}

/// The compression a `--compression` value names (deflate by default).
pub fn compression(spec: Option<&str>) -> Result<Compression> {
    match spec {
        None => Ok(Compression::Deflate),
        Some(s) => compress::parse(s).with_context(|| {
            format!("--compression `{s}`: expected `none`, `deflate` or `deflate:0`..`deflate:9`")
        }),
    }
}

fn status_word(status: &SignatureStatus) -> &'static str {
    match status {
        SignatureStatus::Valid { .. } => "valid",
        SignatureStatus::Invalid { .. } => "invalid",
        SignatureStatus::UnknownKey { .. } => "unknown-key",
        SignatureStatus::Unsigned => "unsigned",
    }
}

/// `apk verify` of a v3 package or `Packages.adb`: one line per failed
/// check. As apk-tools 3 does, a package's signature is checked before
/// anything in its ADB block is decoded, then every file is checked.
pub fn verify(path: &Path, ring: &Keyring, allow_unsigned: bool) -> Vec<String> {
    use apk_format::adb::AdbError;
    use apk_format::adb::package::V3PackageError;
    let open = || File::open(path).map(BufReader::new);
    let file = match open() {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot open: {e}")],
    };
    let pkg = match V3PackageReader::open_verified(file, ring) {
        Ok(p) => p,
        Err(V3PackageError::Untrusted(SignatureStatus::Unsigned)) if allow_unsigned => {
            match open()
                .map_err(V3PackageError::Io)
                .and_then(V3PackageReader::new)
            {
                Ok(p) => p,
                Err(e) => return vec![e.to_string()],
            }
        }
        Err(V3PackageError::Adb(AdbError::Schema { found, .. })) if found == schema::INDEX => {
            let index = open()
                .map_err(|e| e.to_string())
                .and_then(|f| read_index(f).map_err(|e| e.to_string()));
            return match index {
                Ok(index) => match index.verify(ring) {
                    SignatureStatus::Valid { .. } => Vec::new(),
                    SignatureStatus::Unsigned if allow_unsigned => Vec::new(),
                    status => vec![format!("UNTRUSTED signature: {status}")],
                },
                Err(e) => vec![format!("unreadable index: {e}")],
            };
        }
        Err(e) => return vec![e.to_string()],
    };
    match pkg.read_data(|_, _| Ok(())) {
        Ok(_) => Vec::new(),
        Err(e) => vec![e.to_string()],
    }
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    #[serde(rename = "type")]
    kind: &'static str,
    mode: String,
    user: String,
    group: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

#[derive(Serialize)]
struct Report {
    format: &'static str,
    name: String,
    version: String,
    arch: String,
    /// `Q2` + SHA-256 of the ADB block: the package's identity in an index.
    checksum: String,
    compression: String,
    info: Vec<(String, String)>,
    signature: String,
    scripts: Vec<(String, usize)>,
    triggers: Vec<String>,
    files: Vec<FileReport>,
}

/// `apk inspect` of a v3 package: metadata, signature, scripts, files;
/// every file is checked while listing.
pub fn inspect(args: &InspectArgs) -> Result<ExitCode> {
    let file =
        File::open(&args.file).with_context(|| format!("opening `{}`", args.file.display()))?;
    let pkg = V3PackageReader::new(BufReader::new(file))
        .with_context(|| format!("reading package `{}`", args.file.display()))?;
    let signature = if args.keys.keyring.is_empty() {
        if pkg.signatures.is_empty() {
            "unsigned".to_string()
        } else {
            "unchecked".to_string()
        }
    } else {
        let ring = keyring::load(&args.keys.keyring)?;
        status_word(&pkg.verify_signature(&ring)).to_string()
    };
    let r = &pkg.meta.info.record;
    let mut info = vec![
        ("name".to_string(), r.name.clone()),
        ("version".to_string(), r.version.clone()),
        ("unique-id".to_string(), hex::encode(&pkg.meta.info.hashes)),
    ];
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            info.push((k.to_string(), v));
        }
    };
    push("description", Some(r.description.clone()));
    push("arch", Some(r.arch.clone()));
    push("license", Some(r.license.clone()));
    push("origin", r.origin.clone());
    push("maintainer", r.maintainer.clone());
    push("url", Some(r.url.clone()));
    push("repo-commit", r.commit.clone());
    push("build-time", r.build_time.map(|t| t.to_string()));
    push("installed-size", Some(r.installed_size.to_string()));
    push(
        "provider-priority",
        r.provider_priority.map(|p| p.to_string()),
    );
    let deps = |d: &[apk_format::Dependency]| Some(apk_format::dependency::join(d));
    push("depends", deps(&r.depends));
    push("provides", deps(&r.provides));
    push("replaces", deps(&r.replaces));
    push("install-if", deps(&r.install_if));
    let report_base = (
        r.name.clone(),
        r.version.clone(),
        r.arch.clone(),
        identity_checksum(&pkg.identity).unwrap_or_default(),
        pkg.compression.to_string(),
    );
    let scripts = pkg
        .meta
        .scripts
        .iter()
        .map(|(n, c)| (n.clone(), c.len()))
        .collect();
    let triggers = pkg.meta.triggers.clone();
    let mut files = Vec::new();
    pkg.read_data(|e, _| {
        let (kind, target) = match &e.kind {
            EntryKind::File => ("file", None),
            EntryKind::Directory => ("dir", None),
            EntryKind::Symlink(t) => ("symlink", Some(t.clone())),
            EntryKind::Hardlink(t) => ("hardlink", Some(t.clone())),
            EntryKind::CharDevice { .. } => ("char", None),
            EntryKind::BlockDevice { .. } => ("block", None),
            EntryKind::Fifo => ("fifo", None),
        };
        files.push(FileReport {
            path: e.path.clone(),
            kind,
            mode: format!("{:04o}", e.mode),
            user: e.user.clone(),
            group: e.group.clone(),
            size: e.size,
            target,
            sha256: e.sha256.map(hex::encode),
        });
        Ok(())
    })
    .with_context(|| format!("reading data of `{}`", args.file.display()))?;
    let (name, version, arch, checksum, compression) = report_base;
    let report = Report {
        format: "v3",
        name,
        version,
        arch,
        checksum,
        compression,
        info,
        signature,
        scripts,
        triggers,
        files,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {} ({}) [apk v3]",
        report.name, report.version, report.arch
    );
    for (k, v) in &report.info {
        println!("  {k:<18} {v}");
    }
    println!("checksum           {}", report.checksum);
    println!("compression        {}", report.compression);
    println!("signature          {}", report.signature);
    if !report.scripts.is_empty() {
        println!("scripts:");
        for (n, len) in &report.scripts {
            println!("  {n} ({len} bytes)");
        }
    }
    if !report.triggers.is_empty() {
        println!("triggers           {}", report.triggers.join(" "));
    }
    println!("files:");
    for f in &report.files {
        let target = f
            .target
            .as_deref()
            .map(|t| format!(" -> {t}"))
            .unwrap_or_default();
        println!(
            "  {:<8} {} {:>8}:{:<8} {:>10} {}{target}",
            f.kind, f.mode, f.user, f.group, f.size, f.path
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `apk pack --format v3`.
pub fn pack(
    output: &Path,
    record: PackageRecord,
    build_date: u64,
    entries: Vec<TreeEntry>,
    scripts: Vec<(String, Vec<u8>)>,
    key: Option<&SigningKey>,
    compression: Compression,
) -> Result<ExitCode> {
    let mut builder = V3PackageBuilder::new(record, build_date);
    builder.entries(entries);
    for (name, content) in scripts {
        builder.script(name, content);
    }
    let mut out = AtomicFile::create(output)?;
    let mut writer = std::io::BufWriter::new(out.file());
    let written = builder
        .write(&mut writer, key, compression)
        .with_context(|| format!("packing `{}`", output.display()))?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing `{}`", output.display()))?;
    out.commit(0o644)?;
    println!(
        "wrote {} ({}, {} bytes, {})",
        output.display(),
        written.record.name_version(),
        written.file_size,
        written.record.checksum.unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `index --format v3`: a `Packages.adb` as `apk mkndx` writes it, packages
/// in argument order (v2 and v3 packages alike).
pub fn index(args: &IndexArgs, key: Option<&SigningKey>) -> Result<ExitCode> {
    if args.rewrite_arch.is_some() {
        bail!(
            "--rewrite-arch is not part of v3 indexes; use --pkgname-spec '<arch>/${{name}}-${{version}}.apk' instead (as apk mkndx says)"
        );
    }
    if let Some(spec) = &args.pkgname_spec {
        apk_repo::v3::expand_spec(spec, "test", "1", "noarch", "")
            .with_context(|| "--pkgname-spec".to_string())?;
    }
    let compression = compression(args.compression.as_deref())?;
    let mut w = IndexWriter::new();
    let mut names: Vec<(String, String)> = Vec::new();
    let merged = match &args.merge {
        Some(old) => {
            let file =
                File::open(old).with_context(|| format!("opening index `{}`", old.display()))?;
            Some(
                read_index(BufReader::new(file))
                    .with_context(|| format!("reading index `{}`", old.display()))?,
            )
        }
        None => None,
    };
    for path in &args.packages {
        let file = File::open(path).with_context(|| format!("opening `{}`", path.display()))?;
        let size = file.metadata()?.len();
        let reading = || format!("reading package `{}`", path.display());
        if is_v3(path) {
            let pkg = V3PackageReader::new(BufReader::new(file)).with_context(reading)?;
            let r = &pkg.meta.info.record;
            names.push((r.name.clone(), r.version.clone()));
            w.add_v3(&pkg.adb, size).with_context(reading)?;
        } else {
            let pkg = PackageReader::new(BufReader::new(file)).with_context(reading)?;
            names.push((pkg.record.name.clone(), pkg.record.version.clone()));
            let sha1 = pkg.control_digest.sha1.unwrap_or_default();
            w.add_v2(&pkg.pkginfo, &sha1, size).with_context(reading)?;
        }
    }
    if let Some(old) = &merged {
        let values = old.package_values()?;
        for (p, v) in old.packages.iter().zip(values) {
            let key = (p.record.name.clone(), p.record.version.clone());
            if !names.contains(&key) {
                w.add_copy(old, v)?;
            }
        }
    }
    let count = w.len();
    let adb = w.finish(Some(&args.description), args.pkgname_spec.as_deref());
    let signatures = match key {
        Some(k) => vec![apk_format::adb::sign::sign(k, schema::INDEX, adb.bytes())?],
        None => Vec::new(),
    };
    let mut stream = Vec::new();
    write_adb_file(&mut stream, schema::INDEX, &adb, &signatures)?;
    let bytes = compress::compress_all(&stream, compression)?;
    write_atomic(&args.output, 0o644, &bytes)?;
    println!(
        "wrote {} ({count} packages{})",
        args.output.display(),
        key.map(|k| format!(", signed with {}", k.public_name))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
