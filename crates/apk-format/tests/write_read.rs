//! Packages and indexes written here read back, verify, and are
//! byte-identical when built twice.

use std::io::Cursor;

use apk_format::Dependency;
use apk_format::index::entry_for_package;
use apk_format::index_archive::{read_index_archive, sign_index_archive, write_index_archive};
use apk_format::package_read::{EntryKind, PackageReader, SignatureStatus};
use apk_format::package_write::{PackageBuilder, TreeEntry};
use apk_format::record::PackageRecord;
use apk_format::signing::{Keyring, SigningKey};

fn record() -> PackageRecord {
    PackageRecord {
        name: "hello".into(),
        version: "1.2.3-r0".into(),
        arch: "x86_64".into(),
        description: "says hello".into(),
        url: "https://example.org".into(),
        license: "MIT".into(),
        depends: vec![Dependency::parse("so:libc.musl-x86_64.so.1").unwrap()],
        provides: vec![Dependency::parse("cmd:hello=1.2.3-r0").unwrap()],
        ..Default::default()
    }
}

fn build(key: &SigningKey, epoch: u64) -> (Vec<u8>, String) {
    let mut b = PackageBuilder::new(record(), epoch);
    b.entry(TreeEntry::dir("usr", 0o755))
        .entry(TreeEntry::dir("usr/bin", 0o755))
        .entry(TreeEntry::file(
            "usr/bin/hello",
            0o755,
            b"#!/bin/sh\necho hello\n".to_vec(),
        ))
        .entry(TreeEntry::symlink("usr/bin/hi", "hello"))
        .entry(TreeEntry::file(
            format!("usr/share/{}/long", "x".repeat(120)),
            0o644,
            vec![7u8; 5000],
        ))
        .script(".post-install", b"#!/bin/sh\nexit 0\n".to_vec());
    let mut out = Vec::new();
    let written = b
        .write(&mut out, &mut Cursor::new(Vec::new()), Some(key))
        .unwrap();
    (out, written.checksum)
}

#[test]
fn written_package_verifies_and_is_reproducible() {
    let key = SigningKey::generate("test-key.rsa.pub", 2048).unwrap();
    let mut ring = Keyring::new();
    ring.add(key.public_key());
    let (a, checksum) = build(&key, 1_700_000_000);
    let (b, _) = build(&key, 1_700_000_000);
    assert_eq!(a, b, "same inputs must give identical bytes");
    let (c, _) = build(&key, 1_700_000_001);
    assert_ne!(a, c, "build date is part of the output");

    let pkg = PackageReader::new(&a[..]).unwrap();
    assert_eq!(pkg.checksum(), Some(checksum));
    assert_eq!(
        pkg.verify_signature(&ring),
        SignatureStatus::Valid {
            key: "test-key.rsa.pub".into()
        }
    );
    assert_eq!(pkg.record.name, "hello");
    assert_eq!(pkg.record.build_time, Some(1_700_000_000));
    assert_eq!(pkg.record.provides, record().provides);
    assert_eq!(pkg.control_files[0].name, ".post-install");
    let datahash = pkg.record.datahash.clone().unwrap();
    let mut seen = Vec::new();
    let report = pkg
        .read_data(|e, r| {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf)?;
            seen.push((
                e.path.clone(),
                e.kind.clone(),
                e.sha1.is_some(),
                e.mtime,
                buf.len(),
            ));
            Ok(())
        })
        .unwrap();
    assert_eq!(hex::encode(report.datahash), datahash);
    assert!(report.checksum_mismatches.is_empty());
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen[0].0, "usr");
    assert!(seen.iter().all(|s| s.3 == 1_700_000_000));
    let hi = seen.iter().find(|s| s.0 == "usr/bin/hi").unwrap();
    assert_eq!(hi.1, EntryKind::Symlink("hello".into()));
    assert!(hi.2, "symlinks carry a checksum");
    assert!(seen.iter().any(|s| s.0.ends_with("/long") && s.4 == 5000));

    // A flipped byte in the data section is caught.
    let mut bad = a.clone();
    let n = bad.len();
    bad[n - 40] ^= 0x55;
    let pkg = PackageReader::new(&bad[..]).unwrap();
    assert!(pkg.verify_signature(&ring).is_valid(), "control untouched");
    // Either the deflate stream/CRC breaks or the hash differs.
    let result = pkg.read_data(|_, r| std::io::copy(r, &mut std::io::sink()).map(|_| ()));
    if let Ok(report) = result {
        assert_ne!(hex::encode(report.datahash), datahash);
    }
}

#[test]
fn index_archive_write_sign_read() {
    let key = SigningKey::generate("idx.rsa.pub", 2048).unwrap();
    let (apk, checksum) = build(&key, 0);
    let pkg = PackageReader::new(&apk[..]).unwrap();
    let entry = entry_for_package(&pkg.record, &checksum, apk.len() as u64, None);
    let unsigned = write_index_archive("test repo", std::slice::from_ref(&entry)).unwrap();
    assert_eq!(
        unsigned,
        write_index_archive("test repo", std::slice::from_ref(&entry)).unwrap()
    );
    let signed = sign_index_archive(&unsigned, &key).unwrap();
    // Re-signing replaces the signature instead of stacking another.
    assert_eq!(sign_index_archive(&signed, &key).unwrap(), signed);
    let read = read_index_archive(&signed[..]).unwrap();
    let mut ring = Keyring::new();
    ring.add(key.public_key());
    assert!(read.verify(&ring).is_valid());
    assert_eq!(read.description.as_deref(), Some("test repo"));
    assert_eq!(read.entries.len(), 1);
    assert_eq!(
        read.entries[0].package.checksum.as_deref(),
        Some(checksum.as_str())
    );
    assert_eq!(read.entries[0].package.file_size, Some(apk.len() as u64));
    // No builddate written for epoch 0, as melange.
    assert_eq!(read.entries[0].package.build_time, None);
}

/// Owners, their names, xattrs, hard links and extra control files come
/// out as melange writes them.
#[test]
fn owners_xattrs_hardlinks_and_control_files() {
    use apk_format::package_write::{Content, WriteError};
    let entry = |path: &str, kind, uid, gid| TreeEntry {
        path: path.into(),
        kind,
        mode: 0o644,
        uid,
        gid,
        xattrs: Vec::new(),
        content: Content::Bytes(b"data\n".to_vec()),
    };
    let mut b = PackageBuilder::new(record(), 1_700_000_000);
    let mut capped = entry("usr/bin/ping", EntryKind::File, 0, 0);
    capped
        .xattrs
        .push(("security.capability".into(), vec![1, 0, 0, 3, 0, 32, 0, 0]));
    b.entry(entry("var/lib/app/a", EntryKind::File, 65532, 65532))
        .entry(entry(
            "var/lib/app/b",
            EntryKind::Hardlink("var/lib/app/a".into()),
            65532,
            65532,
        ))
        .entry(capped)
        .owner_names(
            [(0, "root".into()), (65532, "nonroot".into())].into(),
            [(0, "root".into())].into(),
        )
        .control_file(".melange.yaml", b"package:\n  name: hello\n".to_vec())
        .script(".post-install", b"#!/bin/sh\n".to_vec());
    let mut out = Vec::new();
    b.write(&mut out, &mut Cursor::new(Vec::new()), None)
        .unwrap();
    let pkg = PackageReader::new(&out[..]).unwrap();
    let names: Vec<(&str, u32)> = pkg
        .control_files
        .iter()
        .map(|c| (c.name.as_str(), c.mode))
        .collect();
    assert_eq!(names, [(".melange.yaml", 0o644), (".post-install", 0o755)]);
    let mut seen = Vec::new();
    pkg.read_data(|e, r| {
        seen.push(e.clone());
        std::io::copy(r, &mut std::io::sink()).map(|_| ())
    })
    .unwrap();
    let get = |p: &str| seen.iter().find(|e| e.path == p).unwrap();
    let a = get("var/lib/app/a");
    assert_eq!(
        (a.uid, a.gid, a.uname.as_str(), a.gname.as_str()),
        (65532, 65532, "nonroot", "")
    );
    let link = get("var/lib/app/b");
    assert_eq!(link.kind, EntryKind::Hardlink("var/lib/app/a".into()));
    assert_eq!(
        link.sha1, a.sha1,
        "a hard link carries its content's checksum"
    );
    assert_eq!(
        get("usr/bin/ping").xattrs,
        [(
            "security.capability".to_string(),
            vec![1, 0, 0, 3, 0, 32, 0, 0]
        )]
    );

    // A link to a path that is not a file before it is refused.
    let mut b = PackageBuilder::new(record(), 0);
    b.entry(entry("a", EntryKind::Hardlink("z".into()), 0, 0));
    let err = b
        .write(&mut Vec::new(), &mut Cursor::new(Vec::new()), None)
        .unwrap_err();
    assert!(matches!(err, WriteError::BadHardlink { .. }), "{err}");
}
