//! Every real package in the fixtures is read and verified the way apk-tools
//! would, and the tampered ones fail with the check that failed.

mod common;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use apk_format::package_read::{PackageReader, SignatureStatus};
use apk_format::signing::Keyring;

struct Outcome {
    signature: SignatureStatus,
    datahash_ok: bool,
    mismatches: Vec<String>,
}

fn check(path: &Path, keyring: &Keyring) -> Outcome {
    let file = BufReader::new(File::open(path).unwrap());
    let pkg = PackageReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let signature = pkg.verify_signature(keyring);
    let expected = pkg.record.datahash.clone();
    let report = pkg.read_data(|_, _| Ok(())).unwrap();
    let datahash_ok = expected.is_none_or(|h| h == hex::encode(report.datahash));
    Outcome {
        signature,
        datahash_ok,
        mismatches: report.checksum_mismatches,
    }
}

fn verify_all(dir: &Path, keyring: &Keyring, expected_count: usize) {
    let apks = common::files_with_suffix(dir, ".apk");
    assert_eq!(apks.len(), expected_count, "packages in {}", dir.display());
    for apk in apks {
        let o = check(&apk, keyring);
        assert!(o.signature.is_valid(), "{}: {}", apk.display(), o.signature);
        assert!(o.datahash_ok, "{}: datahash", apk.display());
        assert!(
            o.mismatches.is_empty(),
            "{}: {:?}",
            apk.display(),
            o.mismatches
        );
    }
}

#[test]
fn alpine_319_packages_verify() {
    let fx = common::fixtures();
    let ring = common::keyring(&[fx.join("alpine-keys")]);
    verify_all(&fx.join("alpine-3.19"), &ring, 100);
}

#[test]
fn alpine_313_aarch64_packages_verify() {
    let fx = common::fixtures();
    let ring = common::keyring(&[fx.join("alpine-keys")]);
    verify_all(&fx.join("alpine-3.13-aarch64"), &ring, 65);
}

#[test]
fn alpine_snapshot_packages_verify() {
    let fx = common::fixtures();
    let ring = common::keyring(&[fx.join("alpine-keys")]);
    verify_all(&fx.join("alpine-3.19-snapshot"), &ring, 10);
}

#[test]
fn wolfi_packages_verify() {
    let fx = common::fixtures();
    let ring = common::keyring(&[fx.join("wolfi/keys")]);
    verify_all(&fx.join("wolfi/apks"), &ring, 5);
}

#[test]
fn apko_and_melange_signed_packages_verify() {
    let fx = common::fixtures();
    let cli = fx.join("apko-testdata/internal/cli/testdata");
    let ring = common::keyring(&[
        cli.clone(),
        cli.join("private_packages"),
        fx.join("alpine-keys"),
        fx.join("wolfi/keys"),
    ]);
    verify_all(&cli.join("packages"), &ring, 8);
    verify_all(&cli.join("private_packages/packages"), &ring, 4);
    for p in [
        "apko-testdata/pkg/apk/apk/testdata/alpine-316/alpine-baselayout-3.2.0-r23.apk",
        "melange-testdata/pkg/sca/testdata/libcap-2.69-r0.apk",
        "melange-testdata/pkg/sca/testdata/ruby3.2-base64-0.2.0-r2.apk",
        "melange-testdata/pkg/sign/testdata/test.apk",
        "melange-testdata/pkg/linter/testdata/kubeflow-pipelines-2.1.3-r7.apk",
    ] {
        let o = check(&fx.join(p), &ring);
        assert!(o.signature.is_valid(), "{p}: {}", o.signature);
        assert!(o.datahash_ok && o.mismatches.is_empty(), "{p}");
    }
}

#[test]
fn tampered_wolfi_packages_fail() {
    let fx = common::fixtures();
    let ring = common::keyring(&[fx.join("wolfi/keys")]);
    for apk in common::files_with_suffix(&fx.join("wolfi/apks-tampered"), ".apk") {
        let o = check(&apk, &ring);
        assert!(
            matches!(o.signature, SignatureStatus::Invalid { .. }),
            "{}: {}",
            apk.display(),
            o.signature
        );
        assert!(!o.datahash_ok, "{}: datahash should fail", apk.display());
    }
}

#[test]
fn unknown_key_is_reported() {
    let fx = common::fixtures();
    let ring = common::keyring(&[fx.join("wolfi/keys")]);
    let o = check(
        &fx.join("alpine-3.19/x86_64/musl-1.2.4_git20230717-r4.apk"),
        &ring,
    );
    match o.signature {
        SignatureStatus::UnknownKey { keys } => {
            assert_eq!(
                keys,
                vec!["alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"]
            )
        }
        other => panic!("expected unknown key, got {other}"),
    }
}

#[test]
fn unsigned_packages_read() {
    let fx = common::fixtures();
    let o = check(
        &fx.join("apko-testdata/pkg/apk/apk/testdata/hello-0.1.0-r0.apk"),
        &Keyring::new(),
    );
    assert_eq!(o.signature, SignatureStatus::Unsigned);
}
