//! Every index in the fixtures parses, round-trips, and verifies.

mod common;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use apk_format::index::{entry_for_package, parse_index, write_index};
use apk_format::index_archive::{IndexArchive, read_index_archive, read_index_archive_text};
use apk_format::installed::{parse_installed, write_installed};
use apk_format::package_read::{PackageReader, SignatureStatus};

fn read(path: &Path) -> IndexArchive {
    read_index_archive(BufReader::new(File::open(path).unwrap()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_roundtrip(archive: &IndexArchive, what: &str) {
    let text = write_index(&archive.entries);
    let again = parse_index(&text).unwrap();
    assert_eq!(again, archive.entries, "{what}: parse → write → parse");
}

#[test]
fn all_fixture_indexes_parse_and_roundtrip() {
    let fx = common::fixtures();
    let archives = common::files_with_suffix(&fx, "APKINDEX.tar.gz");
    assert!(
        archives.len() >= 12,
        "found only {} indexes",
        archives.len()
    );
    for path in &archives {
        let a = read(path);
        assert_roundtrip(&a, &path.display().to_string());
    }
    // Loose APKINDEX texts (apko's base-image metadata, an extracted index).
    for path in common::files_with_suffix(&fx, "/APKINDEX") {
        let text = std::fs::read_to_string(&path).unwrap();
        let entries = parse_index(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!entries.is_empty());
        assert_eq!(parse_index(&write_index(&entries)).unwrap(), entries);
    }
}

/// The lazily parsed form of every fixture index holds the same records,
/// and the same signature digest, as the full parse.
#[test]
fn text_indexes_match_full_parse() {
    let fx = common::fixtures();
    for path in common::files_with_suffix(&fx, "APKINDEX.tar.gz") {
        let full = read(&path);
        let lazy = read_index_archive_text(BufReader::new(File::open(&path).unwrap())).unwrap();
        assert_eq!(lazy.index.entries(), full.entries, "{}", path.display());
        assert_eq!(lazy.signed_digest, full.signed_digest);
        assert_eq!(lazy.description, full.description);
        for (i, e) in full.entries.iter().enumerate() {
            let f = lazy.index.fields(i);
            assert_eq!(
                (f.name, f.version),
                (e.package.name.as_str(), e.package.version.as_str())
            );
        }
    }
}

#[test]
fn snapshot_indexes_have_all_entries_and_write_back_byte_exact() {
    let fx = common::fixtures();
    let main = read(&fx.join("alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz"));
    let community = read(&fx.join("alpine-3.19-snapshot/community/x86_64/APKINDEX.tar.gz"));
    assert_eq!(main.entries.len(), 5443);
    assert_eq!(community.entries.len(), 17587);
    // The original text comes back byte for byte.
    let raw = std::process::Command::new("tar")
        .args(["xzOf"])
        .arg(fx.join("alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz"))
        .arg("APKINDEX")
        .output()
        .unwrap();
    assert!(raw.status.success());
    assert_eq!(write_index(&main.entries).as_bytes(), &raw.stdout[..]);
}

#[test]
fn signed_indexes_verify() {
    let fx = common::fixtures();
    let alpine = common::keyring(&[fx.join("alpine-keys")]);
    for p in [
        "alpine-3.19/x86_64/APKINDEX.tar.gz",
        "alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz",
        "alpine-3.19-snapshot/community/x86_64/APKINDEX.tar.gz",
        "alpine-3.13-aarch64/aarch64/APKINDEX.tar.gz",
        "apko-testdata/pkg/apk/apk/testdata/alpine-316/APKINDEX.tar.gz",
        "apko-testdata/pkg/apk/apk/testdata/alpine-317/APKINDEX.tar.gz",
    ] {
        let status = read(&fx.join(p)).verify(&alpine);
        assert!(status.is_valid(), "{p}: {status}");
    }
    let wolfi = common::keyring(&[fx.join("wolfi/keys")]);
    assert!(
        read(&fx.join("wolfi/bootstrap-index/x86_64/APKINDEX.tar.gz"))
            .verify(&wolfi)
            .is_valid()
    );
    let cli = fx.join("apko-testdata/internal/cli/testdata");
    let melange = common::keyring(&[cli.clone(), cli.join("private_packages")]);
    for p in [
        "packages/x86_64/APKINDEX.tar.gz",
        "packages/aarch64/APKINDEX.tar.gz",
        "private_packages/packages/x86_64/APKINDEX.tar.gz",
        "private_packages/packages/aarch64/APKINDEX.tar.gz",
    ] {
        let status = read(&cli.join(p)).verify(&melange);
        assert!(status.is_valid(), "{p}: {status}");
    }
    let td = fx.join("apko-testdata/pkg/apk/apk/testdata");
    let rsa256 = common::keyring(&[td.join("rsa256-signed")]);
    assert!(
        read(&td.join("rsa256-signed/APKINDEX.tar.gz"))
            .verify(&rsa256)
            .is_valid()
    );
    let chainguard = common::keyring(&[td.join("signing/keys")]);
    let signing = read(&td.join("signing/APKINDEX.tar.gz"));
    assert_eq!(signing.signatures.len(), 3);
    assert!(signing.verify(&chainguard).is_valid());
    // The unsigned one is reported as such; a wrong keyring as unknown key.
    assert_eq!(
        read(&td.join("APKINDEX.tar.gz")).verify(&alpine),
        SignatureStatus::Unsigned
    );
    assert!(matches!(
        read(&fx.join("alpine-3.19/x86_64/APKINDEX.tar.gz")).verify(&wolfi),
        SignatureStatus::UnknownKey { .. }
    ));
}

#[test]
fn tampered_index_fails_verification() {
    let fx = common::fixtures();
    let alpine = common::keyring(&[fx.join("alpine-keys")]);
    let bytes = std::fs::read(fx.join("alpine-3.19/x86_64/APKINDEX.tar.gz")).unwrap();
    let a = read_index_archive(&bytes[..]).unwrap();
    // Re-compress the same tar content with a different gzip level: the
    // content is intact but the signed bytes differ.
    let signed = apk_format::index_archive::strip_signature(&bytes).unwrap();
    let sig_len = bytes.len() - signed.len();
    let mut tar = Vec::new();
    std::io::copy(&mut flate2::read::GzDecoder::new(signed), &mut tar).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    std::io::Write::write_all(&mut enc, &tar).unwrap();
    let mut tampered = bytes[..sig_len].to_vec();
    tampered.extend(enc.finish().unwrap());
    let t = read_index_archive(&tampered[..]).unwrap();
    assert_eq!(t.entries, a.entries);
    assert!(matches!(t.verify(&alpine), SignatureStatus::Invalid { .. }));
}

#[test]
fn installed_databases_roundtrip_byte_exact() {
    let fx = common::fixtures();
    let td = fx.join("apko-testdata/pkg/apk/apk/testdata");
    let mut files = common::files_with_suffix(&td.join("installed"), "");
    files.push(td.join("root/usr/lib/apk/db/installed"));
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let db = parse_installed(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!db.is_empty());
        let written = write_installed(&db);
        assert_eq!(parse_installed(&written).unwrap(), db, "{}", path.display());
        // apko's deliberately odd `bad-top-level-perms` (M: after R:, modes
        // without leading zeros) only round-trips semantically.
        if !path.ends_with("bad-top-level-perms") {
            assert_eq!(written, text, "{}", path.display());
        }
    }
}

#[test]
fn index_built_from_packages_matches_alpine_original() {
    let fx = common::fixtures();
    let original = read(&fx.join("alpine-3.19/x86_64/APKINDEX.tar.gz"));
    let mut built = Vec::new();
    for apk in common::files_with_suffix(&fx.join("alpine-3.19/x86_64"), ".apk") {
        let size = std::fs::metadata(&apk).unwrap().len();
        let pkg = PackageReader::new(BufReader::new(File::open(&apk).unwrap())).unwrap();
        built.push(entry_for_package(
            &pkg.record,
            &pkg.checksum().unwrap(),
            size,
            Some("x86_64"),
        ));
    }
    assert_eq!(built.len(), 100);
    for orig in &original.entries {
        let ours = built
            .iter()
            .find(|e| e.package.name == orig.package.name)
            .unwrap_or_else(|| panic!("{} missing", orig.package.name));
        let mut expected = orig.package.clone();
        expected.extra.clear();
        assert_eq!(ours.package, expected, "{}", orig.package.name);
    }
}
