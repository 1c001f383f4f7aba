//! Automatic runtime dependencies and provides of one (sub)package, by the
//! rules of melange's SCA (`pkg/sca/sca.go`, and the merge in
//! `pkg/build/package.go`).
//!
//! # Rules, in melange's generator order
//!
//! 1. **Shared objects**. Every regular file, and every
//!    symlink (followed inside the package), that is ELF:
//!    - `PT_INTERP` → `so:<basename>`, `ld-musl-*` renamed `libc.musl-*`
//!      (Alpine's musl provides `so:libc.musl-x86_64.so.1`);
//!    - each `DT_NEEDED` containing `.so.` → `so:<lib>`;
//!    - for objects without an interpreter or named `*.so`/`*.so.*`: each
//!      `DT_SONAME` → provides `so:<soname>=<digits after .so. or 0>` and
//!      `so-ver:<soname>=<version>` when the file is directly in `lib/`,
//!      `usr/lib/`, `lib64/`, `usr/lib64/` or a directory named by an
//!      `etc/ld.so.conf.d/*.conf` of any package of the build; elsewhere the
//!      same two atoms are *vendored*;
//!    - a Go program built with cgo and a FIPS experiment →
//!      `openssl-config-fipshardened` and `so:libcrypto.so.3`;
//!    - a symlink whose path contains `.so` → `so:<soname>` of the library
//!      its target's base name is in a library directory of (the first
//!      package of the build holding it);
//!    - NVIDIA driver libraries injected by the host are skipped.
//! 2. **Commands**: regular files with `mode & 0o555 == 0o555` directly in
//!    `bin/ sbin/ usr/bin/ usr/sbin/` → `cmd:<name>=<version>`.
//! 3. **Docs**: a `*-doc` package with entries directly in `usr/share/man`
//!    → `man-db`, in `usr/share/info` → `texinfo`.
//! 4. **pkg-config**: `.pc` files (not symlinks) that parse, in
//!    `usr/{local/,}{lib,share}/pkgconfig` or `usr/lib64/pkgconfig` →
//!    `pc:<name>=<version>`, and `pc:<module>` for each `Requires`,
//!    `Requires.private`, `Requires.internal` entry (with its constraint
//!    when [`ScaOptions::versioned_pc_depends`]); elsewhere vendored.
//! 5. **Perl**: `usr/lib/perlN*/*_perl` → `perl~N` (unless `perl` is
//!    configured).
//! 6. **Python**: `.../pythonX.Y/site-packages` → `python-X.Y-base` (unless
//!    a `python*` dependency is configured).
//! 7. **Ruby**: `usr/lib/ruby/gems/X.Y.Z/gems` → `ruby-X.Y` (unless `ruby`
//!    or `ruby-*` is configured).
//! 8. **Shebangs** of files anywhere under `usr/bin`, `usr/local/bin`,
//!    `usr/local/sbin` → `cmd:<interpreter basename>`, understanding
//!    `/usr/bin/env X` and `/usr/bin/env -S X ...`; `python3`, `python`,
//!    `sh`, `awk` and `luajit` are ignored.
//!
//! The generated lists are sorted and deduplicated; `no-commands` drops
//! `cmd:` atoms, `no-depends` all generated dependencies, `no-provides` all
//! generated provides. Then, as melange's `GenerateDependencies` does:
//! generated dependencies that a vendored atom names are dropped; the
//! result is merged with the configured dependencies; provides are the
//! configured plus generated ones; and dependencies the package provides
//! itself are removed (compared by name, `so-ver:X>=` by `so-ver:X`).
//!
//! # Not implemented
//!
//! - Kernel (`linux:<version>`) provides and dependencies from `vmlinuz`
//!   and modules.
//! - `so-ver:<lib>>=<version>` dependencies (`MELANGE_VERSIONED_SHLIB_DEPENDS`),
//!   which need the build environment's resolver.
//!
//! # Deliberate differences from melange
//!
//! - Atoms apk could not read back as written (a command named `a b` or
//!   `a@b`, an empty soname version) are dropped with a [`Warning`]
//!   instead of being written into `.PKGINFO`.
//! - Symlinks resolve inside the package, never on the build host.
//! - Malformed ELF files are skipped with a warning (melange fails the
//!   build when `PT_INTERP` cannot be read).
//! - `lib/perlN/*_perl` (without `usr/`) gives `perl~N`; melange takes the
//!   wrong path component there.
//!
//! # How abuild (Alpine) differs
//!
//! Alpine's packages are built by abuild (`abuild.in`: `scan_shared_objects`,
//! `prepare_command_provides`, `scan_pkgconfig_depends`), whose tracing
//! differs from melange's. These differences show in the Alpine fixtures,
//! and `tests/alpine.rs` excludes exactly these cases, checking each one
//! is the difference named:
//!
//! - **soname versions**: abuild provides `so:<soname>=<suffix of the
//!   file name after .so.>` (`libz.so.1.3.1` → `so:libz.so.1=1.3.1`);
//!   melange takes the digits after `.so.` in the soname (`=1`).
//! - **command symlinks**: abuild provides `cmd:` for symlinks in the bin
//!   directories (`sbin/lbu_commit -> lbu`); melange only for regular files.
//! - **command modes**: abuild provides `cmd:` for files anyone may execute
//!   (root's `test -x`, e.g. setuid `bin/bbsuid`, mode `4111`); melange
//!   needs `mode & 0o555 == 0o555`.
//! - **unversioned commands**: abuild before 3.8 (Alpine 3.13) wrote
//!   `cmd:<name>` without a version; melange writes `=<full version>`.
//!
//! Everything else agrees on all 165 fixture packages: every `so:`
//! dependency, and every provide by name. abuild also differs in ways these
//! packages do not exercise:
//!
//! - it provides libraries without `DT_SONAME` (`so:<file name>=0`), and
//!   looks in `ldpath` and `RPATH` directories too;
//! - it skips command names containing `@`;
//! - it generates no `cmd:` dependencies from shebangs;
//! - it depends on `DT_NEEDED` entries without `.so.` (`libfoo.so`) when an
//!   installed package provides them, and resolves unprovided ones through
//!   `RPATH` to package names; melange drops those satisfied by vendored
//!   sonames anywhere in the package;
//! - it versions `pc:` provides with the `.pc` file's `Version:` and keeps
//!   `Requires` constraints (see [`ScaOptions::versioned_pc_depends`]),
//!   reading only `usr/lib/pkgconfig` and `usr/share/pkgconfig`;
//! - it writes no `so-ver:` provides.

mod elf;
mod generators;
mod goinfo;
pub mod pkgconfig;
pub mod shebang;
mod so;
mod tree;

use std::path::PathBuf;

use apk_format::dependency::Dependency;

pub use elf::{ElfError, ElfInfo, inspect as inspect_elf};
pub use generators::{BIN_DIRS, PKGCONFIG_DIRS, SHEBANG_DIRS};
pub use so::{HOST_PROVIDED_LIBRARIES, interpreter_dependency, soname_version};
pub use tree::files_from_dir;

use tree::Tree;

/// Library directories whose sonames are provided (more come from
/// `etc/ld.so.conf.d`).
pub const LIB_DIRS: [&str; 4] = ["lib/", "usr/lib/", "lib64/", "usr/lib64/"];

/// What an entry of the package is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (hard links included).
    File,
    /// A symbolic link and its target as stored.
    Symlink(String),
    /// A directory.
    Dir,
    /// Anything else (device, FIFO, socket): ignored.
    Other,
}

/// One entry of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// Path inside the package, relative, `/`-separated (`usr/bin/foo`).
    pub path: String,
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
    /// What the entry is.
    pub kind: Kind,
    /// Where to read a regular file's contents (unused for other kinds).
    pub source: PathBuf,
}

/// The package being analysed and its build options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaOptions {
    /// Package name (a `-doc` suffix turns on the docs rule).
    pub package_name: String,
    /// Full version, `<version>-r<epoch>` (e.g. `1.2-r0`).
    pub version: String,
    /// `options: no-provides`.
    pub no_provides: bool,
    /// `options: no-depends`.
    pub no_depends: bool,
    /// `options: no-commands`.
    pub no_commands: bool,
    /// Configured `dependencies.runtime`.
    pub runtime: Vec<Dependency>,
    /// Configured `dependencies.provides`.
    pub provides: Vec<Dependency>,
    /// Keep pkg-config `Requires` constraints (`pc:glib-2.0>=2.50`) as
    /// abuild does; melange drops them (`pc:glib-2.0`).
    pub versioned_pc_depends: bool,
}

/// What the generators produced before merging: melange's
/// `sca.Analyze` output, options applied, each list sorted and deduplicated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// Generated runtime dependencies.
    pub runtime: Vec<String>,
    /// Generated provides.
    pub provides: Vec<String>,
    /// Sonames and `.pc` files found outside the provided directories.
    pub vendored: Vec<String>,
}

/// Something worth telling the user that did not stop the analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Path inside the package.
    pub path: String,
    /// What happened.
    pub message: String,
}

/// The package's dependencies and provides, as `.PKGINFO` gets them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaResult {
    /// `depend =`: configured ∪ generated (minus vendored), minus what the
    /// package provides itself; in melange's (string) order.
    pub depends: Vec<Dependency>,
    /// `provides =`: configured ∪ generated, in string order.
    pub provides: Vec<Dependency>,
    /// `# vendored =` comment lines.
    pub vendored: Vec<String>,
    /// The generators' raw output.
    pub generated: Generated,
    /// Files skipped or oddities met on the way.
    pub warnings: Vec<Warning>,
}

/// Why the analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum ScaError {
    /// A file or directory could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An ELF file could not be read.
    #[error(transparent)]
    Elf(#[from] ElfError),
}

/// Shared state of one analysis.
pub(crate) struct Ctx<'a> {
    pub tree: &'a Tree<'a>,
    pub relatives: &'a [Tree<'a>],
    pub lib_dirs: Vec<String>,
    pub opts: &'a ScaOptions,
    pub out: Generated,
    pub warnings: Vec<Warning>,
}

impl Ctx<'_> {
    pub fn warn(&mut self, path: &str, message: String) {
        self.warnings.push(Warning {
            path: path.to_string(),
            message,
        });
    }

    /// Keeps `atom` if apk reads it back as written: the name (up to the
    /// version) intact, no tag, no conflict marker.
    fn checked(&mut self, path: &str, atom: String) -> Option<String> {
        let name_end = atom.find(['<', '>', '=', '~']).unwrap_or(atom.len());
        match Dependency::parse(&atom) {
            Ok(d) if !d.conflict && d.tag.is_none() && d.name == atom[..name_end] => Some(atom),
            _ => {
                self.warn(path, format!("`{atom}` is not a valid apk atom; dropped"));
                None
            }
        }
    }

    pub fn runtime(&mut self, path: &str, atom: String) {
        if let Some(a) = self.checked(path, atom) {
            self.out.runtime.push(a);
        }
    }

    pub fn provide(&mut self, path: &str, atom: String) {
        if let Some(a) = self.checked(path, atom) {
            self.out.provides.push(a);
        }
    }

    pub fn vendor(&mut self, path: &str, atom: String) {
        if let Some(a) = self.checked(path, atom) {
            self.out.vendored.push(a);
        }
    }
}

/// Analyses one package on its own (see [`analyze_build`]).
pub fn analyze(files: &[FileInfo], opts: &ScaOptions) -> Result<ScaResult, ScaError> {
    analyze_build(files, &[], opts)
}

/// Analyses one package of a build. `relatives` are the files of every
/// package of the build in melange's order (the main package, then the
/// subpackages), this one included: their `etc/ld.so.conf.d` add library
/// directories, and `.so` symlinks may point into them. Empty means this
/// package alone.
pub fn analyze_build(
    files: &[FileInfo],
    relatives: &[&[FileInfo]],
    opts: &ScaOptions,
) -> Result<ScaResult, ScaError> {
    let tree = Tree::new(files);
    let relatives: Vec<Tree> = if relatives.is_empty() {
        vec![Tree::new(files)]
    } else {
        relatives.iter().map(|r| Tree::new(r)).collect()
    };
    let mut lib_dirs: Vec<String> = LIB_DIRS.iter().map(|d| d.to_string()).collect();
    lib_dirs.extend(generators::ld_so_conf_dirs(&relatives)?);
    let mut ctx = Ctx {
        tree: &tree,
        relatives: &relatives,
        lib_dirs,
        opts,
        out: Generated::default(),
        warnings: Vec::new(),
    };
    so::generate(&mut ctx)?;
    generators::commands(&mut ctx);
    generators::docs(&mut ctx);
    generators::pkg_config(&mut ctx)?;
    generators::perl(&mut ctx);
    generators::python(&mut ctx);
    generators::ruby(&mut ctx);
    generators::shebangs(&mut ctx);

    let Ctx {
        out: mut generated,
        warnings,
        ..
    } = ctx;
    for list in [
        &mut generated.runtime,
        &mut generated.provides,
        &mut generated.vendored,
    ] {
        list.sort();
        list.dedup();
    }
    if opts.no_commands {
        generated.provides.retain(|s| !s.starts_with("cmd:"));
        generated.runtime.retain(|s| !s.starts_with("cmd:"));
    }
    if opts.no_depends {
        generated.runtime.clear();
    }
    if opts.no_provides {
        generated.provides.clear();
    }

    let unvendored = remove_self_provided(&generated.runtime, &generated.vendored);
    let mut depends: Vec<String> = opts.runtime.iter().map(|d| d.to_string()).collect();
    depends.extend(unvendored);
    depends.sort();
    depends.dedup();
    let mut provides: Vec<String> = opts.provides.iter().map(|d| d.to_string()).collect();
    provides.extend(generated.provides.iter().cloned());
    provides.sort();
    provides.dedup();
    let depends = remove_self_provided(&depends, &provides);

    Ok(ScaResult {
        depends: parse_all(&depends),
        provides: parse_all(&provides),
        vendored: generated.vendored.clone(),
        generated,
        warnings,
    })
}

/// Every atom here was checked when generated or came from a
/// [`Dependency`], so parsing cannot fail.
fn parse_all(atoms: &[String]) -> Vec<Dependency> {
    atoms
        .iter()
        .filter_map(|a| Dependency::parse(a).ok())
        .collect()
}

/// melange's `removeSelfProvidedDeps`: drops the dependencies named by a
/// provide (the provide's text up to its first `=`); `so-ver:X>=V` counts
/// as `so-ver:X`, and is kept without its version.
pub fn remove_self_provided(runtime: &[String], provided: &[String]) -> Vec<String> {
    let names: std::collections::HashSet<&str> = provided
        .iter()
        .map(|p| p.split('=').next().unwrap_or_default())
        .collect();
    runtime
        .iter()
        .filter_map(|dep| {
            let dep = if dep.starts_with("so-ver:") {
                dep.split_once(">=").map_or(dep.as_str(), |(n, _)| n)
            } else {
                dep.as_str()
            };
            (!names.contains(dep)).then(|| dep.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests;
