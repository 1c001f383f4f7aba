//! Rule-by-rule tests on small synthetic packages.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use super::*;
use crate::elf::tests::ElfBuilder;

/// A package under construction in a temporary directory.
struct Pkg {
    dir: tempfile::TempDir,
}

impl Pkg {
    fn new() -> Self {
        Pkg {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, path: &str, mode: u32, contents: &[u8]) -> &Self {
        let p = self.dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    fn link(&self, path: &str, target: &str) -> &Self {
        let p = self.dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
        self
    }

    fn files(&self) -> Vec<FileInfo> {
        files_from_dir(self.dir.path()).unwrap()
    }
}

fn elf(interp: Option<&str>, needed: &[&str], soname: Option<&str>) -> Vec<u8> {
    ElfBuilder {
        interp: interp.map(|i| format!("{i}\0").into_bytes()),
        needed: needed.iter().map(|s| s.to_string()).collect(),
        soname: soname.map(str::to_string),
        extra: None,
    }
    .build()
}

fn opts(name: &str) -> ScaOptions {
    ScaOptions {
        package_name: name.into(),
        version: "1.2-r3".into(),
        ..ScaOptions::default()
    }
}

fn strings(deps: &[Dependency]) -> Vec<String> {
    deps.iter().map(|d| d.to_string()).collect()
}

const MUSL: &str = "/lib/ld-musl-x86_64.so.1";

#[test]
fn shared_objects_provides_and_self_dependencies() {
    let pkg = Pkg::new();
    pkg.file(
        "usr/lib/libfoo.so.1.2.3",
        0o755,
        &elf(
            None,
            &["libc.musl-x86_64.so.1", "libz.so.1"],
            Some("libfoo.so.1"),
        ),
    )
    .link("usr/lib/libfoo.so.1", "libfoo.so.1.2.3")
    .link("usr/lib/libfoo.so", "libfoo.so.1")
    .file(
        "usr/bin/foo",
        0o755,
        &elf(
            Some(MUSL),
            &["libfoo.so.1", "libc.musl-x86_64.so.1", "libdl.so"],
            None,
        ),
    );
    let r = analyze(&pkg.files(), &opts("foo")).unwrap();
    assert_eq!(
        r.generated.runtime,
        ["so:libc.musl-x86_64.so.1", "so:libfoo.so.1", "so:libz.so.1"]
    );
    assert_eq!(
        r.generated.provides,
        [
            "cmd:foo=1.2-r3",
            "so-ver:libfoo.so.1=1.2-r3",
            "so:libfoo.so.1=1"
        ]
    );
    // The package's own soname is no dependency; `libdl.so` (no `.so.`)
    // never was one.
    assert_eq!(
        strings(&r.depends),
        ["so:libc.musl-x86_64.so.1", "so:libz.so.1"]
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn vendored_sonames_satisfy_dependencies() {
    let pkg = Pkg::new();
    pkg.file(
        "opt/app/lib/libvendored.so.2",
        0o755,
        &elf(None, &[], Some("libvendored.so.2")),
    )
    .file(
        "opt/app/bin/app",
        0o755,
        &elf(
            Some(MUSL),
            &["libvendored.so.2", "libc.musl-x86_64.so.1"],
            None,
        ),
    );
    let r = analyze(&pkg.files(), &opts("app")).unwrap();
    assert_eq!(
        r.vendored,
        ["so-ver:libvendored.so.2=1.2-r3", "so:libvendored.so.2=2"]
    );
    assert!(r.provides.is_empty());
    assert_eq!(strings(&r.depends), ["so:libc.musl-x86_64.so.1"]);
    // A configured dependency is kept even when vendored.
    let mut o = opts("app");
    o.runtime = vec![Dependency::any("so:libvendored.so.2")];
    let r = analyze(&pkg.files(), &o).unwrap();
    assert_eq!(
        strings(&r.depends),
        ["so:libc.musl-x86_64.so.1", "so:libvendored.so.2"]
    );
}

#[test]
fn executables_with_sonames_provide_nothing_unless_named_so() {
    let pkg = Pkg::new();
    pkg.file(
        "usr/lib/tool",
        0o755,
        &elf(Some(MUSL), &[], Some("libtool-ish.so.1")),
    )
    .file(
        "usr/lib/libexe.so.4",
        0o755,
        &elf(Some(MUSL), &[], Some("libexe.so.4")),
    );
    let r = analyze(&pkg.files(), &opts("x")).unwrap();
    assert_eq!(
        r.generated.provides,
        ["so-ver:libexe.so.4=1.2-r3", "so:libexe.so.4=4"]
    );
}

#[test]
fn ld_so_conf_d_adds_library_directories() {
    let pkg = Pkg::new();
    pkg.file(
        "etc/ld.so.conf.d/x.conf",
        0o644,
        b"# comment\n/my/lib\r\nrelative/ignored\n\n/deep/...\n",
    )
    .file(
        "my/lib/liba.so.1",
        0o755,
        &elf(None, &[], Some("liba.so.1")),
    )
    .file(
        "deep/x/y/libb.so.2",
        0o755,
        &elf(None, &[], Some("libb.so.2")),
    )
    .file("other/libc.so.3", 0o755, &elf(None, &[], Some("libc.so.3")));
    let r = analyze(&pkg.files(), &opts("x")).unwrap();
    let provides = strings(&r.provides);
    assert!(
        provides.contains(&"so:liba.so.1=1".to_string()),
        "{provides:?}"
    );
    assert!(
        provides.contains(&"so:libb.so.2=2".to_string()),
        "{provides:?}"
    );
    assert_eq!(r.vendored, ["so-ver:libc.so.3=1.2-r3", "so:libc.so.3=3"]);
}

#[test]
fn dev_symlink_depends_on_sibling_soname() {
    let main = Pkg::new();
    main.file(
        "usr/lib/libfoo.so.1.0",
        0o755,
        &elf(None, &[], Some("libfoo.so.1")),
    )
    .file("etc/ld.so.conf.d/foo.conf", 0o644, b"/usr/lib/foo\n")
    .file(
        "usr/lib/foo/libbar.so.5.1",
        0o755,
        &elf(None, &[], Some("libbar.so.5")),
    );
    let dev = Pkg::new();
    dev.link("usr/lib/libfoo.so", "libfoo.so.1.0")
        .link("usr/lib/foo/libbar.so", "/usr/lib/foo/libbar.so.5.1")
        .link("usr/lib/libmissing.so", "libmissing.so.9");
    let main_files = main.files();
    let dev_files = dev.files();
    let r = analyze_build(&dev_files, &[&main_files, &dev_files], &opts("foo-dev")).unwrap();
    assert_eq!(strings(&r.depends), ["so:libbar.so.5", "so:libfoo.so.1"]);
    // Alone, the links lead nowhere.
    let r = analyze(&dev_files, &opts("foo-dev")).unwrap();
    assert!(r.depends.is_empty());
    // The main package's own link is self-provided.
    let r = analyze_build(&main_files, &[&main_files, &dev_files], &opts("foo")).unwrap();
    assert!(r.depends.is_empty(), "{:?}", r.depends);
}

#[test]
fn host_provided_libraries_are_skipped() {
    let pkg = Pkg::new();
    pkg.file(
        "usr/lib/libcuda.so.1",
        0o755,
        &elf(
            None,
            &["libnvidia-ml.so.1", "libm.so.6"],
            Some("libcuda.so.1"),
        ),
    );
    let r = analyze(&pkg.files(), &opts("nv")).unwrap();
    assert_eq!(strings(&r.depends), ["so:libm.so.6"]);
    assert!(r.provides.is_empty());
}

#[test]
fn commands_need_regular_files_executable_by_all() {
    let pkg = Pkg::new();
    pkg.file("usr/bin/ok", 0o755, b"")
        .file("bin/ro", 0o555, b"")
        .file("usr/bin/private", 0o700, b"")
        .file("usr/bin/suid", 0o4111, b"")
        .file("usr/bin/sub/deep", 0o755, b"")
        .file("usr/libexec/helper", 0o755, b"")
        .file("usr/bin/a b", 0o755, b"")
        .file("usr/bin/a@b", 0o755, b"")
        .link("usr/bin/alias", "ok");
    let r = analyze(&pkg.files(), &opts("c")).unwrap();
    assert_eq!(strings(&r.provides), ["cmd:ok=1.2-r3", "cmd:ro=1.2-r3"]);
    // Atoms apk would misread are dropped with a warning.
    let warned: Vec<&str> = r.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warned, ["usr/bin/a b", "usr/bin/a@b"]);
}

#[test]
fn options() {
    let pkg = Pkg::new();
    pkg.file("usr/bin/tool", 0o755, b"#!/usr/bin/env bash\n")
        .file(
            "usr/lib/libt.so.1",
            0o755,
            &elf(None, &["libz.so.1"], Some("libt.so.1")),
        )
        .link("usr/lib/libt.so", "libt.so.1");
    let files = pkg.files();
    let base = analyze(&files, &opts("t")).unwrap();
    assert_eq!(strings(&base.depends), ["cmd:bash", "so:libz.so.1"]);
    assert_eq!(
        strings(&base.provides),
        [
            "cmd:tool=1.2-r3",
            "so-ver:libt.so.1=1.2-r3",
            "so:libt.so.1=1"
        ]
    );

    let mut o = opts("t");
    o.no_commands = true;
    let r = analyze(&files, &o).unwrap();
    assert_eq!(strings(&r.depends), ["so:libz.so.1"]);
    assert_eq!(
        strings(&r.provides),
        ["so-ver:libt.so.1=1.2-r3", "so:libt.so.1=1"]
    );

    // Without provides nothing is self-provided: the `.so` link's own
    // soname stays a dependency, as in melange.
    let mut o = opts("t");
    o.no_provides = true;
    o.provides = vec![Dependency::parse("t-compat=1").unwrap()];
    let r = analyze(&files, &o).unwrap();
    assert_eq!(
        strings(&r.depends),
        ["cmd:bash", "so:libt.so.1", "so:libz.so.1"]
    );
    assert_eq!(strings(&r.provides), ["t-compat=1"]);

    let mut o = opts("t");
    o.no_depends = true;
    o.runtime = vec![
        Dependency::parse("so:libt.so.1").unwrap(),
        Dependency::parse("busybox>1").unwrap(),
    ];
    let r = analyze(&files, &o).unwrap();
    // Configured dependencies stay, minus those the package provides.
    assert_eq!(strings(&r.depends), ["busybox>1"]);
}

#[test]
fn results_sort_as_strings() {
    // melange sorts atoms as strings: `cmd:a-b=` before `cmd:a=`.
    let pkg = Pkg::new();
    pkg.file("usr/bin/a", 0o755, b"")
        .file("usr/bin/a-b", 0o755, b"");
    let r = analyze(&pkg.files(), &opts("s")).unwrap();
    assert_eq!(strings(&r.provides), ["cmd:a-b=1.2-r3", "cmd:a=1.2-r3"]);
}

#[test]
fn self_provided_removal() {
    let runtime: Vec<String> = [
        "so:a.so.1",
        "so-ver:a.so.1>=2",
        "so-ver:b.so.1>=2",
        "pc:x",
        "c",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let provided: Vec<String> = ["so:a.so.1=1", "so-ver:a.so.1=2", "pc:x=1.0-r0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        remove_self_provided(&runtime, &provided),
        ["so-ver:b.so.1", "c"]
    );
}

#[test]
fn shebangs() {
    let pkg = Pkg::new();
    pkg.file("usr/bin/a", 0o755, b"#!/bin/bash\n")
        .file("usr/bin/b", 0o644, b"#!/usr/bin/env -S perl -w\n")
        .file("usr/local/sbin/sub/c", 0o755, b"#!/usr/bin/python3.12\n")
        .file("usr/bin/d", 0o755, b"#!/bin/sh\n")
        .file("usr/bin/e", 0o755, b"#!/usr/bin/env\n")
        .file("usr/sbin/f", 0o755, b"#!/usr/bin/ruby\n")
        .file("bin/g", 0o755, b"#!/usr/bin/tclsh\n")
        .link("usr/bin/h", "/usr/sbin/f");
    let r = analyze(&pkg.files(), &opts("sh")).unwrap();
    assert_eq!(
        r.generated.runtime,
        ["cmd:bash", "cmd:perl", "cmd:python3.12"]
    );
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].path, "usr/bin/e");
}

#[test]
fn pkg_config() {
    let pc = b"prefix=/usr\nName: foo\nVersion: 2.0\n\
               Requires: glib-2.0 >= 2.50, zlib\nRequires.private: libffi\n";
    let pkg = Pkg::new();
    pkg.file("usr/lib/pkgconfig/foo.pc", 0o644, pc)
        .file(
            "usr/share/pkgconfig/bar.pc",
            0o644,
            b"Name: bar\nRequires: foo\n",
        )
        .file("opt/x/lib/pkgconfig/vend.pc", 0o644, b"Requires: y\n")
        .file("usr/lib/pkgconfig/broken.pc", 0o644, b"Requires: ${nope}\n")
        .link("usr/lib/pkgconfig/alias.pc", "foo.pc");
    let r = analyze(&pkg.files(), &opts("foo-dev")).unwrap();
    assert_eq!(strings(&r.provides), ["pc:bar=1.2-r3", "pc:foo=1.2-r3"]);
    // `pc:foo` is self-provided.
    assert_eq!(strings(&r.depends), ["pc:glib-2.0", "pc:libffi", "pc:zlib"]);
    assert_eq!(r.vendored, ["pc:vend=1.2-r3"]);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].path, "usr/lib/pkgconfig/broken.pc");

    let mut o = opts("foo-dev");
    o.versioned_pc_depends = true;
    let r = analyze(&pkg.files(), &o).unwrap();
    assert_eq!(
        strings(&r.depends),
        ["pc:glib-2.0>=2.50", "pc:libffi", "pc:zlib"]
    );
}

#[test]
fn language_runtimes() {
    let pkg = Pkg::new();
    pkg.file("usr/lib/perl5/vendor_perl/JSON.pm", 0o644, b"")
        .file("usr/lib/python3.12/site-packages/m/__init__.py", 0o644, b"")
        .file("usr/lib/ruby/gems/3.3.0/gems/x/x.rb", 0o644, b"");
    let r = analyze(&pkg.files(), &opts("mix")).unwrap();
    assert_eq!(
        strings(&r.depends),
        ["perl~5", "python-3.12-base", "ruby-3.3"]
    );
    let mut o = opts("mix");
    o.runtime = vec![
        Dependency::any("python3"),
        Dependency::any("ruby"),
        Dependency::any("perl"),
    ];
    let r = analyze(&pkg.files(), &o).unwrap();
    assert_eq!(strings(&r.depends), ["perl", "python3", "ruby"]);
    assert_eq!(r.warnings.len(), 3);

    let pkg = Pkg::new();
    pkg.file("lib/perl5/vendor_perl/X.pm", 0o644, b"").file(
        "usr/lib/python/site-packages/x.py",
        0o644,
        b"",
    );
    let r = analyze(&pkg.files(), &opts("old")).unwrap();
    assert_eq!(strings(&r.depends), ["perl~5"]);
}

#[test]
fn go_fips_programs_need_openssl() {
    // The Go 1.18+ header and inline strings, as the Go linker writes them.
    let settings = "path\tx\nbuild\tCGO_ENABLED=1\nbuild\tGOEXPERIMENT=systemcrypto\n";
    let framed = format!("0123456789abcdef{settings}\n0123456789abcdef");
    let mut section = b"\xff Go buildinf:\x08\x02".to_vec();
    section.resize(32, 0);
    for s in ["go1.24", framed.as_str()] {
        section.push(s.len() as u8);
        section.extend_from_slice(s.as_bytes());
    }
    let bin = ElfBuilder {
        interp: Some(b"/lib64/ld-linux-x86-64.so.2\0".to_vec()),
        needed: vec!["libc.so.6".into()],
        soname: None,
        extra: Some((".go.buildinfo".into(), section)),
    }
    .build();
    let pkg = Pkg::new();
    pkg.file("usr/bin/gofips", 0o755, &bin);
    let r = analyze(&pkg.files(), &opts("gofips")).unwrap();
    assert_eq!(
        strings(&r.depends),
        [
            "openssl-config-fipshardened",
            "so:ld-linux-x86-64.so.2",
            "so:libc.so.6",
            "so:libcrypto.so.3"
        ]
    );
}

#[test]
fn malformed_and_missing_files() {
    let mut good = elf(Some(MUSL), &["libz.so.1"], None);
    good.truncate(100);
    let pkg = Pkg::new();
    pkg.file("usr/bin/truncated", 0o755, &good)
        .file("usr/bin/magic-only", 0o755, b"\x7fELF")
        .file("usr/bin/empty", 0o755, b"");
    let r = analyze(&pkg.files(), &opts("bad")).unwrap();
    assert!(r.depends.is_empty());
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);

    let files = vec![FileInfo {
        path: "usr/bin/gone".into(),
        mode: 0o755,
        kind: Kind::File,
        source: Path::new("/nonexistent/sca/file").into(),
    }];
    let err = analyze(&files, &opts("gone")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/sca/file"), "{err}");
}

#[test]
fn files_from_dir_lists_walk_order_and_modes() {
    let pkg = Pkg::new();
    pkg.file("b/x", 0o640, b"x")
        .file("a-c", 0o755, b"")
        .link("a/l", "../b/x");
    let files = pkg.files();
    let listed: Vec<(&str, u32, &Kind)> = files
        .iter()
        .map(|f| (f.path.as_str(), f.mode & 0o777, &f.kind))
        .collect();
    assert_eq!(listed[0].0, "a");
    assert_eq!(listed[1], ("a/l", 0o777, &Kind::Symlink("../b/x".into())));
    assert_eq!(listed[2], ("a-c", 0o755, &Kind::File));
    assert_eq!(listed[4], ("b/x", 0o640, &Kind::File));
    assert!(files_from_dir(Path::new("/nonexistent/sca")).is_err());
}
