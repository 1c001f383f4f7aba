//! The apk-tools 3 fixtures (`alpine-3.19-v3`): every v3 package and index
//! is read and verified as apk-tools 3 does, tampered copies are rejected,
//! and indexes written here equal apk-tools' own byte for byte.

mod common;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use apk_format::adb::container::{self, Compression};
use apk_format::adb::index::{IndexWriter, read_index, write_adb_file};
use apk_format::adb::package::{V3PackageError, V3PackageReader};
use apk_format::adb::{schema, sign};
use apk_format::package_read::{EntryKind, PackageReader};
use apk_format::signing::{Keyring, PublicKey, SigningKey};

fn v3() -> PathBuf {
    common::fixtures().join("alpine-3.19-v3")
}

fn fixture_key() -> Keyring {
    let mut ring = Keyring::new();
    let path = v3().join("keys/apkforge-fixtures-v3.rsa.pub");
    let pem = std::fs::read(&path).unwrap();
    ring.add(PublicKey::from_pem("apkforge-fixtures-v3.rsa.pub", &pem).unwrap());
    ring
}

fn signing_key() -> SigningKey {
    let pem = std::fs::read(v3().join("keys/apkforge-fixtures-v3.rsa")).unwrap();
    SigningKey::from_pem("apkforge-fixtures-v3.rsa", &pem).unwrap()
}

fn packages() -> Vec<PathBuf> {
    common::files_with_suffix(&v3().join("x86_64"), ".apk")
}

fn open(path: &Path) -> V3PackageReader<BufReader<File>> {
    V3PackageReader::new(BufReader::new(File::open(path).unwrap()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The decompressed ADB stream of a file.
fn decompressed(path: &Path) -> Vec<u8> {
    let (mut r, _) = container::decompress(BufReader::new(File::open(path).unwrap())).unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn key_id_matches_apk_tools() {
    let ring = fixture_key();
    assert_eq!(
        hex::encode(ring.keys()[0].v3_key_id()),
        "0ff82f1ce29d0a964e100a600e2cc6b3"
    );
    assert_eq!(signing_key().v3_key_id(), ring.keys()[0].v3_key_id());
}

#[test]
fn every_package_verifies_and_streams() {
    let ring = fixture_key();
    let tsv = std::fs::read_to_string(v3().join("PACKAGES.tsv")).unwrap();
    let paths = packages();
    assert_eq!(paths.len(), 26);
    for path in &paths {
        let reader = open(path);
        assert!(
            reader.verify_signature(&ring).is_valid(),
            "{}",
            path.display()
        );
        assert!(!reader.verify_signature(&Keyring::new()).is_valid());
        let name = reader.meta.info.record.name.clone();
        let version = reader.meta.info.record.version.clone();
        assert!(
            tsv.lines()
                .any(|l| l.starts_with(&format!("{name}\t{version}\t"))),
            "{name}-{version} not in PACKAGES.tsv"
        );
        let expected_files = reader.meta.entries.iter().filter(|e| e.has_data).count();
        let mut seen = 0;
        let report = reader
            .read_data(|e, r| {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf)?;
                assert_eq!(buf.len() as u64, if e.has_data { e.size } else { 0 });
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(report.data_blocks, expected_files, "{}", path.display());
        assert!(seen >= expected_files);
    }
}

#[test]
fn metadata_as_apk_tools_dumps_it() {
    let r = open(&v3().join("x86_64/busybox-suid-1.36.1-r15.apk"));
    let info = &r.meta.info;
    assert_eq!(info.record.name, "busybox-suid");
    assert_eq!(
        hex::encode(&info.hashes),
        "f571485230385a1fd301a8c9cedf06ed51f4b635"
    );
    assert_eq!(
        info.record.commit.as_deref(),
        Some("d1b6f274f29076967826e0ecf6ebcaa5d360272f")
    );
    assert_eq!(info.record.installed_size, 14248);
    assert_eq!(
        apk_format::dependency::join(&info.record.depends),
        "busybox so:libc.musl-x86_64.so.1"
    );
    assert_eq!(
        apk_format::dependency::join(&info.record.provides),
        "cmd:bbsuid=1.36.1-r15"
    );
    let bbsuid = r
        .meta
        .entries
        .iter()
        .find(|e| e.path == "bin/bbsuid")
        .unwrap();
    assert_eq!(bbsuid.mode, 0o4111);
    assert_eq!(
        (bbsuid.user.as_str(), bbsuid.group.as_str()),
        ("root", "root")
    );
    assert_eq!(
        hex::encode(bbsuid.sha256.unwrap()),
        "8ab3931934c9d903481a069bcdfea5d0b8a1ded251e3fd93845fbdc0a1b9a0bd"
    );
    // The unique ID is SHA-256 of the ADB block with the ID zeroed.
    let mut zeroed = r.adb.bytes().to_vec();
    let pos = zeroed
        .windows(20)
        .position(|w| w == &info.hashes[..])
        .unwrap();
    zeroed[pos..pos + 20].fill(0);
    use sha2::Digest;
    assert_eq!(&sha2::Sha256::digest(&zeroed)[..20], &info.hashes[..]);

    let sh = open(&v3().join("x86_64/busybox-binsh-1.36.1-r15.apk"));
    let link = sh.meta.entries.iter().find(|e| e.path == "bin/sh").unwrap();
    assert_eq!(link.kind, EntryKind::Symlink("/bin/busybox".into()));
    assert_eq!(sh.meta.info.record.provider_priority, Some(100));

    let ti = open(&v3().join("x86_64/ncurses-terminfo-base-6.4_p20231125-r0.apk"));
    let hl = ti
        .meta
        .entries
        .iter()
        .find(|e| e.path == "etc/terminfo/v/vt220")
        .unwrap();
    assert_eq!(hl.kind, EntryKind::Hardlink("etc/terminfo/v/vt200".into()));
    assert!(!hl.has_data);

    let data = open(&v3().join("x86_64/alpine-baselayout-data-3.4.3-r2.apk"));
    let shadow = data
        .meta
        .entries
        .iter()
        .find(|e| e.path == "etc/shadow")
        .unwrap();
    assert_eq!((shadow.mode, shadow.group.as_str()), (0o640, "shadow"));

    let bb = open(&v3().join("x86_64/busybox-1.36.1-r15.apk"));
    assert_eq!(bb.meta.triggers.len(), 5);
    assert!(bb.meta.scripts.iter().any(|(n, _)| n == ".post-install"));
}

#[test]
fn encodings_and_tampering() {
    let ring = fixture_key();
    let variants = v3().join("variants");
    let read_all = |name: &str| -> Result<(), V3PackageError> {
        let r = open(&variants.join(name));
        assert!(r.verify_signature(&ring).is_valid(), "{name}");
        r.read_data(|_, r| std::io::copy(r, &mut std::io::sink()).map(|_| ()))
            .map(|_| ())
    };
    for (name, comp) in [
        (
            "busybox-suid-1.36.1-r15.uncompressed.apk",
            Compression::None,
        ),
        ("busybox-suid-1.36.1-r15.zstd.apk", Compression::Zstd(19)),
    ] {
        assert_eq!(open(&variants.join(name)).compression, comp);
        read_all(name).unwrap();
    }
    let unsigned = open(&variants.join("busybox-suid-1.36.1-r15.unsigned.apk"));
    assert!(unsigned.signatures.is_empty());
    assert!(!unsigned.verify_signature(&ring).is_valid());

    let err = read_all("busybox-suid-1.36.1-r15.data-tampered.apk").unwrap_err();
    assert!(
        matches!(&err, V3PackageError::Integrity { path, .. } if path == "bin/bbsuid"),
        "{err}"
    );
    let file = BufReader::new(
        File::open(variants.join("busybox-suid-1.36.1-r15.adb-tampered.apk")).unwrap(),
    );
    let err = V3PackageReader::open_verified(file, &ring).err().unwrap();
    assert!(matches!(err, V3PackageError::Untrusted(_)), "{err}");
    let file =
        BufReader::new(File::open(variants.join("busybox-suid-1.36.1-r15.unsigned.apk")).unwrap());
    let err = V3PackageReader::open_verified(file, &ring).err().unwrap();
    assert!(
        err.to_string().contains("UNTRUSTED signature: unsigned"),
        "{err}"
    );
}

#[test]
fn indexes_read_and_verify() {
    let ring = fixture_key();
    let idx = read_index(BufReader::new(
        File::open(v3().join("x86_64/Packages.adb")).unwrap(),
    ))
    .unwrap();
    assert!(idx.verify(&ring).is_valid());
    assert!(!idx.verify(&Keyring::new()).is_valid());
    assert_eq!(idx.packages.len(), 26);
    assert_eq!(idx.pkgname_spec, None);
    assert_eq!(
        idx.description.as_deref(),
        Some("apkforge fixtures: Alpine 3.19.1 alpine-base closure converted to apk v3")
    );
    let base = idx
        .entries()
        .into_iter()
        .find(|e| e.package.name == "alpine-base")
        .unwrap();
    assert_eq!(base.package.file_size, Some(698));
    assert_eq!(base.package.arch, "noarch");
    assert!(base.package.checksum.as_deref().unwrap().starts_with("Q2"));

    let v2 = read_index(BufReader::new(
        File::open(v3().join("v2-index/x86_64/Packages.adb")).unwrap(),
    ))
    .unwrap();
    assert!(v2.verify(&ring).is_valid());
    assert_eq!(v2.packages.len(), 100);
    assert_eq!(
        v2.pkgname_spec.as_deref(),
        Some("../../../alpine-3.19/x86_64/${name}-${version}.apk")
    );
    let base = v2
        .entries()
        .into_iter()
        .find(|e| e.package.name == "alpine-base")
        .unwrap();
    assert_eq!(
        base.package.checksum.as_deref(),
        Some("Q1mcpyM8ftLHlvmaMjdLoBo6zq/Fo=")
    );
}

/// Signs `adb` with the fixture key and writes it uncompressed.
fn uncompressed_file(schema_id: u32, adb: &apk_format::adb::Adb) -> Vec<u8> {
    let sig = sign::sign(&signing_key(), schema_id, adb.bytes()).unwrap();
    let mut out = Vec::new();
    write_adb_file(&mut out, schema_id, adb, &[sig]).unwrap();
    out
}

#[test]
fn index_of_v3_packages_equals_apk_tools() {
    let mut w = IndexWriter::new();
    for path in packages() {
        let r = open(&path);
        let size = std::fs::metadata(&path).unwrap().len();
        w.add_v3(&r.adb, size).unwrap();
    }
    let adb = w.finish(
        Some("apkforge fixtures: Alpine 3.19.1 alpine-base closure converted to apk v3"),
        None,
    );
    let ours = uncompressed_file(schema::INDEX, &adb);
    let theirs = decompressed(&v3().join("x86_64/Packages.adb"));
    assert_eq!(ours.len(), theirs.len());
    assert!(ours == theirs, "index payload differs from apk-tools'");
    // Compressed as apk-tools compresses (zlib, level 9): the same file.
    let file = apk_format::adb::compress::compress_all(&ours, Compression::Deflate).unwrap();
    assert!(file == std::fs::read(v3().join("x86_64/Packages.adb")).unwrap());
}

#[test]
fn index_of_v2_packages_equals_apk_tools() {
    let dir = common::fixtures().join("alpine-3.19/x86_64");
    let mut w = IndexWriter::new();
    for path in common::files_with_suffix(&dir, ".apk") {
        let r = PackageReader::new(BufReader::new(File::open(&path).unwrap())).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        w.add_v2(&r.pkginfo, &r.control_digest.sha1.unwrap(), size)
            .unwrap();
    }
    let adb = w.finish(
        Some("apkforge fixtures: v3 index over the original Alpine 3.19.1 v2 packages"),
        Some("../../../alpine-3.19/x86_64/${name}-${version}.apk"),
    );
    let ours = uncompressed_file(schema::INDEX, &adb);
    let theirs = decompressed(&v3().join("v2-index/x86_64/Packages.adb"));
    assert_eq!(ours.len(), theirs.len());
    assert!(ours == theirs, "index payload differs from apk-tools'");
}

/// The v2 package of the same name, converted as the fixtures were made
/// (`apk mkpkg` over its extracted data, root-level dot files dropped).
fn convert_v2(name_version: &str) -> Vec<u8> {
    use apk_format::adb::package_write::V3PackageBuilder;
    use apk_format::package_write::{Content, TreeEntry};
    let path = common::fixtures().join(format!("alpine-3.19/x86_64/{name_version}.apk"));
    let reader = PackageReader::new(BufReader::new(File::open(&path).unwrap())).unwrap();
    let record = reader.record.clone();
    let scripts = reader.control_files.clone();
    let mut entries = Vec::new();
    let mut users = std::collections::BTreeMap::new();
    let mut groups = std::collections::BTreeMap::new();
    reader
        .read_data(|e, r| {
            let mut content = Vec::new();
            r.read_to_end(&mut content)?;
            if !e.path.contains('/') && e.path.starts_with('.') {
                return Ok(());
            }
            users.insert(e.uid, e.uname.clone());
            groups.insert(e.gid, e.gname.clone());
            entries.push(TreeEntry {
                path: e.path.clone(),
                kind: e.kind.clone(),
                mode: e.mode & 0o7777,
                uid: e.uid,
                gid: e.gid,
                xattrs: e.xattrs.clone(),
                content: Content::Bytes(content),
            });
            Ok(())
        })
        .unwrap();
    let mut b = V3PackageBuilder::new(record.clone(), record.build_time.unwrap());
    b.entries(entries).owner_names(users, groups);
    for s in scripts {
        b.script(s.name, s.content);
    }
    let mut out = Vec::new();
    b.write(&mut out, Some(&signing_key()), Compression::None)
        .unwrap();
    out
}

#[test]
fn packages_written_equal_apk_tools() {
    let mut differ = Vec::new();
    for path in packages() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let ours = convert_v2(&name);
        let theirs = decompressed(&path);
        assert!(theirs.len() > 500 && theirs.starts_with(b"ADB.pckg"));
        if ours != theirs {
            differ.push(name);
        }
    }
    assert!(differ.is_empty(), "differ: {differ:?}");
}
