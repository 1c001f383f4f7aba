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
    assert_eq!(pkg.checksum(), checksum);
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
