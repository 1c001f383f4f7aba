//! Every package of the Alpine fixtures (3.19 x86_64 and 3.13 aarch64, built
//! by abuild) against its own `.PKGINFO`: the `so:` and `cmd:` provides and
//! the `so:` dependencies Alpine declares must be ours, and we must generate
//! none it lacks, except where abuild's rules differ from melange's (listed
//! in the crate documentation); each such case is checked to be exactly
//! that difference.
#![allow(clippy::print_stdout)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sca::{FileInfo, Kind, LIB_DIRS, ScaOptions, analyze, inspect_elf, soname_version};

/// Why one Alpine atom differs from ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Exception {
    /// abuild versions a soname by the file name (`libz.so.1.3.1` →
    /// `so:libz.so.1=1.3.1`), melange by the soname (`=1`).
    SonameVersionFromFileName,
    /// abuild provides `cmd:` for symlinks in the bin directories.
    CommandSymlink,
    /// abuild provides `cmd:` for files executable by anyone (`test -x` as
    /// root), melange only for `mode & 0o555 == 0o555`.
    CommandNotExecutableByAll,
    /// abuild before 3.8 (Alpine 3.13) wrote `cmd:` provides without a
    /// version; melange writes `=<full version>`.
    UnversionedCommand,
}

fn split(atom: &str) -> (&str, Option<&str>) {
    match atom.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (atom, None),
    }
}

fn entry<'a>(files: &'a [FileInfo], path: &str) -> Option<&'a FileInfo> {
    files.iter().find(|f| f.path == path)
}

/// The bin-directory entry providing command `name`.
fn command_entry<'a>(files: &'a [FileInfo], name: &str) -> Option<&'a FileInfo> {
    ["bin", "sbin", "usr/bin", "usr/sbin"]
        .iter()
        .find_map(|d| entry(files, &format!("{d}/{name}")))
}

/// Is there a library whose soname is `soname` and whose file name ends in
/// `.so.<version>`, in a library directory (abuild's version rule)?
fn file_name_version(files: &[FileInfo], soname: &str, version: &str) -> bool {
    files.iter().any(|f| {
        let dir_ok = LIB_DIRS.iter().any(|d| {
            f.path
                .strip_prefix(d)
                .is_some_and(|rest| !rest.contains('/'))
        });
        f.kind == Kind::File
            && dir_ok
            && f.path.ends_with(&format!(".so.{version}"))
            && inspect_elf(&f.source)
                .ok()
                .flatten()
                .is_some_and(|i| i.sonames.iter().any(|s| s == soname))
    })
}

struct Tally {
    packages: usize,
    exact: usize,
    exceptions: BTreeMap<Exception, Vec<String>>,
    failures: Vec<String>,
}

fn check_package(apk: &Path, tally: &mut Tally) {
    let record = common::record(apk);
    let dir = tempfile::tempdir().unwrap();
    let files = common::unpack(apk, dir.path());
    let opts = ScaOptions {
        package_name: record.name.clone(),
        version: record.version.clone(),
        ..ScaOptions::default()
    };
    let result = analyze(&files, &opts).unwrap();
    let pkg = format!("{}-{}", record.name, record.version);
    let ours_p: BTreeSet<String> = result.provides.iter().map(|d| d.to_string()).collect();
    let ours_d: BTreeSet<String> = result.depends.iter().map(|d| d.to_string()).collect();
    let theirs_p: BTreeSet<String> = record.provides.iter().map(|d| d.to_string()).collect();
    let theirs_d: BTreeSet<String> = record.depends.iter().map(|d| d.to_string()).collect();
    let mut exact = true;
    let except = |e: Exception, what: String, tally: &mut Tally| {
        tally
            .exceptions
            .entry(e)
            .or_default()
            .push(format!("{pkg}: {what}"));
    };

    for atom in theirs_p.iter().filter(|p| p.starts_with("so:")) {
        if ours_p.contains(atom) {
            continue;
        }
        exact = false;
        let (name, version) = split(atom);
        let soname = &name[3..];
        let ours = format!("{name}={}", soname_version(soname));
        if ours_p.contains(&ours) && version.is_some_and(|v| file_name_version(&files, soname, v)) {
            except(
                Exception::SonameVersionFromFileName,
                format!("{atom} vs {ours}"),
                tally,
            );
        } else {
            tally
                .failures
                .push(format!("{pkg}: missing provide {atom}"));
        }
    }
    for atom in theirs_p.iter().filter(|p| p.starts_with("cmd:")) {
        if ours_p.contains(atom) {
            continue;
        }
        exact = false;
        let (name, version) = split(atom);
        let cmd = &name[4..];
        let ours = format!("{name}={}", record.version);
        match command_entry(&files, cmd) {
            _ if version.is_none() && ours_p.contains(&ours) => {
                except(Exception::UnversionedCommand, atom.clone(), tally);
            }
            Some(f) if matches!(f.kind, Kind::Symlink(_)) => {
                except(Exception::CommandSymlink, atom.clone(), tally);
            }
            Some(f) if f.kind == Kind::File && f.mode & 0o111 != 0 && f.mode & 0o555 != 0o555 => {
                except(
                    Exception::CommandNotExecutableByAll,
                    format!("{atom} (mode {:o})", f.mode),
                    tally,
                );
            }
            _ => tally
                .failures
                .push(format!("{pkg}: missing provide {atom}")),
        }
    }
    // Provides of ours Alpine lacks: none, by name (so-ver: is melange's).
    let their_names: BTreeSet<&str> = theirs_p.iter().map(|p| split(p).0).collect();
    for atom in ours_p.iter().filter(|p| !p.starts_with("so-ver:")) {
        if !their_names.contains(split(atom).0) {
            tally.failures.push(format!("{pkg}: extra provide {atom}"));
        }
    }
    // so: dependencies agree exactly.
    for atom in theirs_d.iter().filter(|d| d.starts_with("so:")) {
        if !ours_d.contains(atom) {
            tally.failures.push(format!("{pkg}: missing depend {atom}"));
        }
    }
    for atom in ours_d.iter() {
        if !theirs_d.contains(atom) {
            tally.failures.push(format!("{pkg}: extra depend {atom}"));
        }
    }
    for w in &result.warnings {
        tally
            .failures
            .push(format!("{pkg}: warning {}: {}", w.path, w.message));
    }
    tally.packages += 1;
    if exact {
        tally.exact += 1;
    }
}

fn check_repository(dir: &str, expected_packages: usize) -> Tally {
    let dir = testsupport::fixtures().join(dir);
    let mut tally = Tally {
        packages: 0,
        exact: 0,
        exceptions: BTreeMap::new(),
        failures: Vec::new(),
    };
    for apk in common::apks(&dir) {
        check_package(&apk, &mut tally);
    }
    println!(
        "{}: {} packages, {} exactly as Alpine",
        dir.display(),
        tally.packages,
        tally.exact
    );
    for (e, cases) in &tally.exceptions {
        println!("  {e:?}: {}", cases.len());
        for c in cases {
            println!("    {c}");
        }
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert_eq!(tally.packages, expected_packages);
    tally
}

fn counts(t: &Tally) -> Vec<(Exception, usize)> {
    t.exceptions.iter().map(|(e, v)| (*e, v.len())).collect()
}

#[test]
fn alpine_3_19_x86_64() {
    let t = check_repository("alpine-3.19/x86_64", 100);
    assert_eq!(t.exact, 66);
    assert_eq!(
        counts(&t),
        [
            (Exception::SonameVersionFromFileName, 37),
            (Exception::CommandSymlink, 20),
            (Exception::CommandNotExecutableByAll, 1),
        ]
    );
}

#[test]
fn alpine_3_13_aarch64() {
    let t = check_repository("alpine-3.13-aarch64/aarch64", 65);
    assert_eq!(t.exact, 28);
    assert_eq!(
        counts(&t),
        [
            (Exception::SonameVersionFromFileName, 26),
            (Exception::CommandSymlink, 18),
            (Exception::CommandNotExecutableByAll, 1),
            (Exception::UnversionedCommand, 87),
        ]
    );
}
