//! melange's own SCA test packages (`pkg/sca/testdata`): our generators must
//! produce what melange's `sca_test.go` expects of its `Analyze`, and the
//! packages melange built with today's rules must get the `.PKGINFO`
//! dependencies and provides they have.

mod common;

use std::path::PathBuf;

use apk_format::Dependency;
use sca::{Generated, ScaOptions, ScaResult, analyze};

fn testdata() -> PathBuf {
    testsupport::fixtures().join("melange-testdata/pkg/sca/testdata")
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs SCA on a test package with its recipe's options and configured
/// runtime dependencies.
fn run(apk: &str, opts: impl FnOnce(&mut ScaOptions)) -> (ScaResult, apk_format::PackageRecord) {
    let apk = testdata().join(apk);
    let record = common::record(&apk);
    let dir = tempfile::tempdir().unwrap();
    let files = common::unpack(&apk, dir.path());
    let mut options = ScaOptions {
        package_name: record.name.clone(),
        version: record.version.clone(),
        ..ScaOptions::default()
    };
    opts(&mut options);
    (analyze(&files, &options).unwrap(), record)
}

fn generated(runtime: &[&str], provides: &[&str], vendored: &[&str]) -> Generated {
    Generated {
        runtime: strings(runtime),
        provides: strings(provides),
        vendored: strings(vendored),
    }
}

fn atoms(deps: &[Dependency]) -> Vec<String> {
    deps.iter().map(|d| d.to_string()).collect()
}

/// `TestExecableSharedObjects`: libraries that are also executables
/// (`PT_INTERP` set) still provide their sonames because of their names.
#[test]
fn libcap_executable_shared_objects() {
    let (r, record) = run("libcap-2.69-r0.apk", |_| {});
    assert_eq!(
        r.generated,
        generated(
            &[
                "so:ld-linux-aarch64.so.1",
                "so:libc.so.6",
                "so:libcap.so.2",
                "so:libpsx.so.2"
            ],
            &[
                "so-ver:libcap.so.2=2.69-r0",
                "so-ver:libpsx.so.2=2.69-r0",
                "so:libcap.so.2=2",
                "so:libpsx.so.2=2"
            ],
            &[],
        )
    );
    // This .PKGINFO predates that rule (melange then provided nothing and
    // depended on its own sonames); the interpreter and libc agree.
    assert_eq!(
        atoms(&record.depends),
        [
            "so:ld-linux-aarch64.so.1",
            "so:libc.so.6",
            "so:libcap.so.2",
            "so:libpsx.so.2"
        ]
    );
    assert_eq!(
        atoms(&r.depends),
        ["so:ld-linux-aarch64.so.1", "so:libc.so.6"]
    );
}

/// `TestVendoredPkgConfig`: `.pc` files and sonames outside the provided
/// directories are vendored; `usr/libexec` is not a library directory.
#[test]
fn neon_vendored_pkgconfig() {
    let (r, _) = run("neon-4604-r0.apk", |_| {});
    assert_eq!(
        r.generated,
        generated(
            &[
                "so:ld-linux-aarch64.so.1",
                "so:libc.so.6",
                "so:libecpg.so.6",
                "so:libpgtypes.so.3",
                "so:libpq.so.5"
            ],
            &[],
            &[
                "pc:libecpg=4604-r0",
                "pc:libecpg_compat=4604-r0",
                "pc:libpgtypes=4604-r0",
                "pc:libpq=4604-r0",
                "so-ver:libecpg_compat.so.3=4604-r0",
                "so:libecpg_compat.so.3=3"
            ],
        )
    );
    // The apk holds a slice of the real package (its .PKGINFO describes the
    // whole one), so only the rules above can be compared.
    assert_eq!(r.vendored, r.generated.vendored);
}

/// `TestPerlSca`.
#[test]
fn perl_json() {
    let (r, _) = run("perl-json-4.11-r0.apk", |_| {});
    assert_eq!(r.generated, generated(&["perl~5"], &[], &[]));
    // Configuring `perl` turns the rule off.
    let (r, _) = run("perl-json-4.11-r0.apk", |o| {
        o.runtime = vec![Dependency::any("perl")];
    });
    assert_eq!(r.generated, Generated::default());
    assert_eq!(atoms(&r.depends), ["perl"]);
    assert_eq!(r.warnings.len(), 1);
}

/// `TestRubySca`; this package was built with the rule, so its .PKGINFO
/// agrees exactly.
#[test]
fn ruby_base64() {
    let (r, record) = run("ruby3.2-base64-0.2.0-r2.apk", |_| {});
    assert_eq!(r.generated, generated(&["ruby-3.2"], &[], &[]));
    assert_eq!(r.depends, record.depends);
    assert_eq!(r.provides, record.provides);
}

/// `TestDocSca`.
#[test]
fn bash_doc() {
    let (r, _) = run("bash-doc-5.2.37-r2.apk", |_| {});
    assert_eq!(r.generated, generated(&["man-db", "texinfo"], &[], &[]));
    // Only `-doc` packages get the rule.
    let (r, _) = run("bash-doc-5.2.37-r2.apk", |o| o.package_name = "bash".into());
    assert_eq!(r.generated, Generated::default());
}

/// `TestUnstableSonames`: a non-numeric soname suffix gives version 0, and
/// the `.so` symlink depends on the soname of its target.
#[test]
fn aws_unstable_sonames() {
    let configured = [
        "aws-c-auth",
        "aws-c-cal",
        "aws-c-common",
        "aws-c-http",
        "aws-c-io",
        "aws-checksums",
    ];
    let (r, record) = run("aws-c-s3-0.4.9-r0.apk", |o| {
        o.runtime = configured.iter().map(|d| Dependency::any(*d)).collect();
    });
    assert_eq!(
        r.generated,
        generated(
            &[
                "so:ld-linux-aarch64.so.1",
                "so:libaws-c-auth.so.1.0.0",
                "so:libaws-c-cal.so.1.0.0",
                "so:libaws-c-common.so.1",
                "so:libaws-c-http.so.1.0.0",
                "so:libaws-c-io.so.1.0.0",
                "so:libaws-c-s3.so.0unstable",
                "so:libaws-checksums.so.1.0.0",
                "so:libc.so.6"
            ],
            &[
                "so-ver:libaws-c-s3.so.0unstable=0.4.9-r0",
                "so:libaws-c-s3.so.0unstable=0"
            ],
            &[],
        )
    );
    // Dependencies (configured ∪ generated − self-provided) are exactly the
    // .PKGINFO's; its provide predates `0` for non-numeric versions and
    // `so-ver:`.
    assert_eq!(r.depends, record.depends);
    assert_eq!(
        atoms(&record.provides),
        ["so:libaws-c-s3.so.0unstable=0unstable"]
    );
}

/// `TestShbangDeps`: with `no-provides`, which must not turn off
/// dependencies. Built by melange with today's rules: exact .PKGINFO.
#[test]
fn shbang_test() {
    let (r, record) = run("generated/x86_64/shbang-test-1-r1.apk", |o| {
        o.no_provides = true;
    });
    let want = [
        "cmd:bash",
        "cmd:envDashSCmd",
        "cmd:python3.12",
        "so:ld-linux-x86-64.so.2",
        "so:libc.so.6",
    ];
    assert_eq!(r.generated, generated(&want, &[], &[]));
    assert_eq!(r.depends, record.depends);
    assert_eq!(r.provides, record.provides);
    assert!(r.provides.is_empty());
    // `#!/usr/bin/env` without a program is warned about, not fatal.
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // Without the option every script is a command.
    let (r, _) = run("generated/x86_64/shbang-test-1-r1.apk", |_| {});
    assert_eq!(r.provides.len(), 14);
    assert!(
        r.provides
            .iter()
            .all(|p| p.name.starts_with("cmd:") && p.to_string().ends_with("=1-r1"))
    );
    // no-commands removes the cmd: provides and the shebang dependencies.
    let (r, _) = run("generated/x86_64/shbang-test-1-r1.apk", |o| {
        o.no_commands = true;
    });
    assert!(r.provides.is_empty());
    assert_eq!(
        atoms(&r.depends),
        ["so:ld-linux-x86-64.so.2", "so:libc.so.6"]
    );
    // no-depends drops generated dependencies but keeps configured ones.
    let (r, _) = run("generated/x86_64/shbang-test-1-r1.apk", |o| {
        o.no_depends = true;
        o.runtime = vec![Dependency::parse("busybox>=1.36").unwrap()];
    });
    assert_eq!(atoms(&r.depends), ["busybox>=1.36"]);
    assert!(r.generated.runtime.is_empty());
}

/// An `etc/ld.so.conf.d` file alone generates nothing (and its directory
/// is read without error); the .PKGINFO agrees.
#[test]
fn ld_so_conf_d_test() {
    let (r, record) = run("generated/x86_64/ld-so-conf-d-test-1-r1.apk", |_| {});
    assert_eq!(r.generated, Generated::default());
    assert_eq!(r.depends, record.depends);
    assert_eq!(r.provides, record.provides);
}
