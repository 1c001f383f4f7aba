//! `apkforge apk inspect FILE [--json]`

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use anyhow::{Context, Result};
use apk_format::package_read::{
    DataEntry, EntryKind, PackageReader, SignatureStatus, signed_digest_without_datahash,
    verify_signatures,
};
use apk_format::pkginfo::PkgInfoLine;
use serde::Serialize;

use crate::cli::InspectArgs;
use crate::keyring;

#[derive(Serialize)]
struct Report {
    name: String,
    version: String,
    arch: String,
    checksum: String,
    pkginfo: Vec<(String, String)>,
    signature: SignatureReport,
    scripts: Vec<ScriptReport>,
    /// Control files other than `.PKGINFO` and scripts (`.melange.yaml`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    control_files: Vec<ScriptReport>,
    files: Vec<FileReport>,
    datahash: DatahashReport,
    bad_file_checksums: Vec<String>,
}

#[derive(Serialize)]
struct SignatureReport {
    /// valid, invalid, unknown-key, unsigned or unchecked.
    status: String,
    keys: Vec<String>,
    algorithms: Vec<String>,
}

#[derive(Serialize)]
struct ScriptReport {
    name: String,
    mode: String,
    size: usize,
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    #[serde(rename = "type")]
    kind: &'static str,
    mode: String,
    uid: u32,
    gid: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    uname: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    gname: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    /// Extended attributes, values in hex.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    xattrs: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct DatahashReport {
    expected: Option<String>,
    actual: String,
    ok: bool,
}

fn file_report(e: &DataEntry) -> FileReport {
    let (kind, target) = match &e.kind {
        EntryKind::File => ("file", None),
        EntryKind::Directory => ("dir", None),
        EntryKind::Symlink(t) => ("symlink", Some(t.clone())),
        EntryKind::Hardlink(t) => ("hardlink", Some(t.clone())),
        EntryKind::CharDevice { .. } => ("char", None),
        EntryKind::BlockDevice { .. } => ("block", None),
        EntryKind::Fifo => ("fifo", None),
    };
    FileReport {
        path: e.path.clone(),
        kind,
        mode: format!("{:04o}", e.mode),
        uid: e.uid,
        gid: e.gid,
        uname: e.uname.clone(),
        gname: e.gname.clone(),
        size: e.size,
        target,
        sha1: e.sha1.map(hex::encode),
        xattrs: e
            .xattrs
            .iter()
            .map(|(k, v)| (k.clone(), hex::encode(v)))
            .collect(),
    }
}

pub fn run(args: &InspectArgs) -> Result<ExitCode> {
    if super::apk_v3::is_v3(&args.file) {
        return super::apk_v3::inspect(args);
    }
    let file =
        File::open(&args.file).with_context(|| format!("opening `{}`", args.file.display()))?;
    let pkg = PackageReader::new(BufReader::new(file))
        .with_context(|| format!("reading package `{}`", args.file.display()))?;
    let signature = if args.keys.keyring.is_empty() {
        SignatureReport {
            status: if pkg.signatures.is_empty() {
                "unsigned"
            } else {
                "unchecked"
            }
            .into(),
            keys: pkg.signatures.iter().map(|s| s.key_name.clone()).collect(),
            algorithms: pkg
                .signatures
                .iter()
                .map(|s| s.algorithm.entry_prefix().trim_matches('.').into())
                .collect(),
        }
    } else {
        let ring = keyring::load(&args.keys.keyring)?;
        // Without datahash, apk-tools 2 signs control and data together.
        let status = match pkg.record.datahash {
            None if !pkg.signatures.is_empty() => {
                let file = File::open(&args.file)
                    .with_context(|| format!("opening `{}`", args.file.display()))?;
                let digest =
                    signed_digest_without_datahash(BufReader::new(file), pkg.signature_len)
                        .with_context(|| format!("reading `{}`", args.file.display()))?;
                verify_signatures(&pkg.signatures, &ring, &digest)
            }
            _ => pkg.verify_signature(&ring),
        };
        SignatureReport {
            status: match &status {
                SignatureStatus::Valid { .. } => "valid",
                SignatureStatus::Invalid { .. } => "invalid",
                SignatureStatus::UnknownKey { .. } => "unknown-key",
                SignatureStatus::Unsigned => "unsigned",
            }
            .into(),
            keys: pkg.signatures.iter().map(|s| s.key_name.clone()).collect(),
            algorithms: pkg
                .signatures
                .iter()
                .map(|s| s.algorithm.entry_prefix().trim_matches('.').into())
                .collect(),
        }
    };
    let pkginfo = pkg
        .pkginfo
        .lines
        .iter()
        .filter_map(|l| match l {
            PkgInfoLine::Field { key, value } => Some((key.clone(), value.clone())),
            _ => None,
        })
        .collect();
    let (scripts, other): (Vec<_>, Vec<_>) = pkg
        .control_files
        .iter()
        .partition(|c| apk_format::package_write::is_script_name(&c.name));
    let other_control = other
        .iter()
        .map(|c| ScriptReport {
            name: c.name.clone(),
            mode: format!("{:04o}", c.mode),
            size: c.content.len(),
        })
        .collect();
    let scripts = scripts
        .iter()
        .map(|c| ScriptReport {
            name: c.name.clone(),
            mode: format!("{:04o}", c.mode),
            size: c.content.len(),
        })
        .collect();
    let (name, version, arch) = (
        pkg.record.name.clone(),
        pkg.record.version.clone(),
        pkg.record.arch.clone(),
    );
    let expected = pkg.record.datahash.clone();
    let mut files = Vec::new();
    let data = pkg
        .read_data(|e, _| {
            files.push(file_report(e));
            Ok(())
        })
        .with_context(|| format!("reading data of `{}`", args.file.display()))?;
    let actual = hex::encode(data.datahash);
    let report = Report {
        name,
        version,
        arch,
        checksum: data.checksum.clone(),
        pkginfo,
        signature,
        scripts,
        control_files: other_control,
        files,
        datahash: DatahashReport {
            ok: expected.as_deref() == Some(actual.as_str()),
            expected,
            actual,
        },
        bad_file_checksums: data.checksum_mismatches,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(r: &Report) {
    println!("{} {} ({})", r.name, r.version, r.arch);
    for (k, v) in &r.pkginfo {
        println!("  {k:<18} {v}");
    }
    println!("checksum           {}", r.checksum);
    let keys = if r.signature.keys.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.signature.keys.join(", "))
    };
    println!("signature          {}{keys}", r.signature.status);
    println!(
        "datahash           {}",
        if r.datahash.ok {
            "ok".to_string()
        } else {
            format!("MISMATCH (data section hashes to {})", r.datahash.actual)
        }
    );
    if !r.bad_file_checksums.is_empty() {
        println!("bad file checksums {}", r.bad_file_checksums.join(", "));
    }
    if !r.scripts.is_empty() {
        println!("scripts:");
        for s in &r.scripts {
            println!("  {} {} ({} bytes)", s.mode, s.name, s.size);
        }
    }
    if !r.control_files.is_empty() {
        println!("control files:");
        for s in &r.control_files {
            println!("  {} {} ({} bytes)", s.mode, s.name, s.size);
        }
    }
    println!("files:");
    for f in &r.files {
        let target = f
            .target
            .as_deref()
            .map(|t| format!(" -> {t}"))
            .unwrap_or_default();
        println!(
            "  {:<8} {} {:>5}:{:<5} {:>10} {}{target}",
            f.kind, f.mode, f.uid, f.gid, f.size, f.path
        );
    }
}
