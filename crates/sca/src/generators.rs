//! melange's generators other than shared objects: commands, `-doc`
//! packages, pkg-config, Perl, Python, Ruby and shebangs; and the
//! `ld.so.conf.d` scan that extends the library directories.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};

use crate::pkgconfig::{self, PcDependency};
use crate::shebang::{self, base_name};
use crate::tree::{Tree, base_of, dir_of, is_in_dir};
use crate::{Ctx, Kind, ScaError};

/// Directories whose executables provide `cmd:` names.
pub const BIN_DIRS: [&str; 4] = ["bin/", "sbin/", "usr/bin/", "usr/sbin/"];

/// Directories whose `.pc` files provide `pc:` names (elsewhere they are
/// vendored).
pub const PKGCONFIG_DIRS: [&str; 5] = [
    "usr/local/lib/pkgconfig/",
    "usr/local/share/pkgconfig/",
    "usr/lib/pkgconfig/",
    "usr/lib64/pkgconfig/",
    "usr/share/pkgconfig/",
];

/// Directories whose scripts' shebangs become `cmd:` dependencies (the
/// whole subtree of each).
pub const SHEBANG_DIRS: [&str; 3] = ["usr/bin/", "usr/local/bin/", "usr/local/sbin/"];

/// Largest `.pc` or `ld.so.conf.d` file read.
const MAX_TEXT_FILE: u64 = 4 << 20;

fn read_text(path: &std::path::Path) -> io::Result<Option<String>> {
    let mut data = Vec::new();
    File::open(path)?
        .take(MAX_TEXT_FILE + 1)
        .read_to_end(&mut data)?;
    if data.len() as u64 > MAX_TEXT_FILE {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&data).into_owned()))
}

/// melange's `getLdSoConfDLibPaths`: absolute lines of every regular
/// `etc/ld.so.conf.d/**.conf` in every package of the build, made relative.
pub(crate) fn ld_so_conf_dirs(trees: &[Tree]) -> Result<Vec<String>, ScaError> {
    let mut dirs = Vec::new();
    for tree in trees {
        for item in tree.walk() {
            if !item.path.starts_with("etc/ld.so.conf.d/") || !item.path.ends_with(".conf") {
                continue;
            }
            let Some(file) = tree.entry(item.node).filter(|f| f.kind == Kind::File) else {
                continue;
            };
            let io_err = |source| ScaError::Io {
                path: file.source.clone(),
                source,
            };
            let text = read_text(&file.source).map_err(io_err)?.ok_or_else(|| {
                io_err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "ld.so.conf.d file too large",
                ))
            })?;
            for line in text.lines() {
                if let Some(dir) = line.strip_prefix('/') {
                    dirs.push(dir.to_string());
                }
            }
        }
    }
    Ok(dirs)
}

/// `cmd:<name>=<version>` for regular files executable by everyone
/// (`mode & 0o555 == 0o555`) directly in [`BIN_DIRS`].
pub(crate) fn commands(ctx: &mut Ctx) {
    let tree = ctx.tree;
    for item in tree.walk() {
        let Some(entry) = tree.entry(item.node) else {
            continue;
        };
        if entry.kind == Kind::File
            && entry.mode & 0o555 == 0o555
            && is_in_dir(&item.path, &BIN_DIRS)
        {
            let provide = format!("cmd:{}={}", base_of(&item.path), ctx.opts.version);
            ctx.provide(&item.path, provide);
        }
    }
}

/// A `-doc` package with entries directly in `usr/share/man` depends on
/// `man-db`; with entries directly in `usr/share/info`, on `texinfo`.
pub(crate) fn docs(ctx: &mut Ctx) {
    if !ctx.opts.package_name.ends_with("-doc") {
        return;
    }
    let tree = ctx.tree;
    for item in tree.walk() {
        if is_in_dir(&item.path, &["usr/share/man"]) {
            ctx.runtime(&item.path, "man-db".into());
        }
        if is_in_dir(&item.path, &["usr/share/info"]) {
            ctx.runtime(&item.path, "texinfo".into());
        }
    }
}

fn pc_dependency(dep: &PcDependency, versioned: bool) -> String {
    match (&dep.constraint, versioned) {
        (Some((op, version)), true) => format!("pc:{}{op}{version}", dep.name),
        _ => format!("pc:{}", dep.name),
    }
}

/// `pc:<name>=<version>` for `.pc` files in [`PKGCONFIG_DIRS`] (vendored
/// elsewhere), and `pc:` dependencies on their `Requires`,
/// `Requires.private` and `Requires.internal` modules. Symlinked and
/// unparsable files are skipped.
pub(crate) fn pkg_config(ctx: &mut Ctx) -> Result<(), ScaError> {
    let tree = ctx.tree;
    for item in tree.walk() {
        let path = item.path.as_str();
        let Some(name) = base_of(path).strip_suffix(".pc") else {
            continue;
        };
        let Some(file) = tree.entry(item.node).filter(|f| f.kind == Kind::File) else {
            continue;
        };
        let text = match read_text(&file.source) {
            Ok(Some(text)) => text,
            Ok(None) => {
                ctx.warn(path, "pkg-config file too large".into());
                continue;
            }
            Err(source) => {
                return Err(ScaError::Io {
                    path: file.source.clone(),
                    source,
                });
            }
        };
        let pc = match pkgconfig::parse(&text) {
            Ok(pc) => pc,
            Err(e) => {
                ctx.warn(path, format!("unable to load .pc file: {e}"));
                continue;
            }
        };
        let provide = format!("pc:{name}={}", ctx.opts.version);
        if !is_in_dir(path, &PKGCONFIG_DIRS) {
            ctx.vendor(path, provide);
            continue;
        }
        ctx.provide(path, provide);
        let versioned = ctx.opts.versioned_pc_depends;
        for dep in pc
            .requires
            .iter()
            .chain(&pc.requires_private)
            .chain(&pc.requires_internal)
        {
            ctx.runtime(path, pc_dependency(dep, versioned));
        }
    }
    Ok(())
}

/// Go's `path.Match` for the patterns used here: `*`, `[...]` classes with
/// ranges and `^` negation, and literal characters; never crosses `/`.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    fn class(pat: &[char], c: char) -> Option<(bool, usize)> {
        // pat starts after '['; returns (matched, length consumed incl. ']').
        let mut i = 0;
        let negate = pat.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < pat.len() {
            if pat[i] == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            let lo = pat[i];
            if i + 2 < pat.len() && pat[i + 1] == '-' && pat[i + 2] != ']' {
                matched |= lo <= c && c <= pat[i + 2];
                i += 3;
            } else {
                matched |= lo == c;
                i += 1;
            }
        }
        None
    }
    fn go(pat: &[char], name: &[char]) -> bool {
        match pat.first() {
            None => name.is_empty(),
            Some('*') => (0..=name.len())
                .take_while(|&k| k == 0 || name[k - 1] != '/')
                .any(|k| go(&pat[1..], &name[k..])),
            Some('[') => {
                let Some((&c, rest)) = name.split_first() else {
                    return false;
                };
                match class(&pat[1..], c) {
                    Some((true, used)) if c != '/' => go(&pat[1 + used..], rest),
                    _ => false,
                }
            }
            Some(&p) => name.first() == Some(&p) && go(&pat[1..], &name[1..]),
        }
    }
    let pat: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    go(&pat, &name)
}

/// Does `path` match a `/`-separated glob, component by component?
fn glob_path(pattern: &str, path: &str) -> bool {
    let pats: Vec<&str> = pattern.split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    pats.len() == parts.len() && pats.iter().zip(&parts).all(|(p, n)| glob_match(p, n))
}

/// The first walk entry matching any of `patterns` (earlier patterns win).
fn first_glob<'t>(tree: &'t Tree, patterns: &[&str]) -> Option<&'t str> {
    patterns.iter().find_map(|pattern| {
        tree.walk()
            .iter()
            .map(|i| i.path.as_str())
            .find(|p| glob_path(pattern, p))
    })
}

fn configured(ctx: &Ctx, pred: impl Fn(&str) -> bool) -> bool {
    ctx.opts.runtime.iter().any(|d| pred(&d.to_string()))
}

/// Perl modules (`usr/lib/perlN*/*_perl`) depend on `perl~N`.
pub(crate) fn perl(ctx: &mut Ctx) {
    let Some(path) = first_glob(
        ctx.tree,
        &["usr/lib/perl[0-9]*/*_perl", "lib/perl[0-9]*/*_perl"],
    ) else {
        return;
    };
    if configured(ctx, |d| d == "perl") {
        ctx.warn(path, "Perl dependency 'perl' already specified".into());
        return;
    }
    // The `perlN` directory is the parent of the module directory.
    let perl_dir = base_of(dir_of(path));
    let version = perl_dir
        .strip_prefix("perl")
        .unwrap_or(perl_dir)
        .to_string();
    ctx.runtime(path, format!("perl~{version}"));
}

/// Python modules (`.../pythonX.Y/site-packages`, the last in walk order)
/// depend on `python-X.Y-base` unless a `python*` dependency is configured.
pub(crate) fn python(ctx: &mut Ctx) {
    let tree = ctx.tree;
    let mut found = None;
    for item in tree.walk() {
        if base_of(&item.path) != "site-packages" {
            continue;
        }
        let parent = base_of(dir_of(&item.path));
        if let Some(version) = parent.strip_prefix("python")
            && tree.is_dir(item.node)
        {
            found = Some((item.path.as_str(), version));
        }
    }
    let Some((path, version)) = found.filter(|(_, v)| !v.is_empty()) else {
        return;
    };
    if configured(ctx, |d| d.starts_with("python")) {
        ctx.warn(path, "Python dependency already specified".into());
        return;
    }
    ctx.runtime(path, format!("python-{version}-base"));
}

/// Ruby gems (`usr/lib/ruby/gems/X.Y.Z/gems`) depend on `ruby-X.Y` unless
/// `ruby` or a `ruby-*` dependency is configured.
pub(crate) fn ruby(ctx: &mut Ctx) {
    // melange's pattern, `[0.9]` included.
    let Some(path) = first_glob(
        ctx.tree,
        &[
            "usr/lib/ruby/gems/[0-9]*.[0-9]*.[0.9]*/gems",
            "lib/ruby/gems/[0-9]*.[0-9]*.[0.9]*/gems",
        ],
    ) else {
        return;
    };
    let full = base_of(dir_of(path));
    let version = match full.rfind('.') {
        Some(i) => &full[..i],
        None => full,
    };
    if version.is_empty() {
        return;
    }
    if configured(ctx, |d| d.starts_with("ruby-") || d == "ruby") {
        ctx.warn(path, "Ruby dependency already specified".into());
        return;
    }
    ctx.runtime(path, format!("ruby-{version}"));
}

/// `cmd:<interpreter>` for the shebangs of files under [`SHEBANG_DIRS`].
pub(crate) fn shebangs(ctx: &mut Ctx) {
    let tree = ctx.tree;
    let mut cmds: BTreeMap<String, String> = BTreeMap::new();
    for item in tree.walk() {
        let path = item.path.as_str();
        if !SHEBANG_DIRS.iter().any(|d| path.starts_with(d)) {
            continue;
        }
        let Some(file) = tree.entry(item.node).filter(|f| f.kind == Kind::File) else {
            continue;
        };
        let Ok(handle) = File::open(&file.source) else {
            ctx.warn(path, "cannot open to read its shebang".into());
            continue;
        };
        match shebang::read_shebang(handle) {
            Ok(Ok(Some(interp))) => {
                cmds.insert(base_name(&interp).to_string(), path.to_string());
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => ctx.warn(path, format!("error reading shbang: {e}")),
            Err(e) => ctx.warn(path, format!("error reading shbang: {e}")),
        }
    }
    for (cmd, path) in cmds {
        ctx.runtime(&path, format!("cmd:{cmd}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("perl[0-9]*", "perl5"));
        assert!(!glob_match("perl[0-9]*", "perlx"));
        assert!(glob_match("*_perl", "vendor_perl"));
        assert!(!glob_match("*_perl", "vendor_perlx"));
        let ruby = "[0-9]*.[0-9]*.[0.9]*";
        assert!(glob_match(ruby, "3.2.0"));
        assert!(glob_match(ruby, "3.3.0+0"));
        // `[0.9]` is melange's typo: a micro version starting with 1-8
        // does not match.
        assert!(!glob_match(ruby, "3.2.1"));
        assert!(glob_match("[^a]b", "xb"));
        assert!(!glob_match("[^a]b", "ab"));
        assert!(!glob_match("[a", "a"));
        assert!(!glob_match("*", "a/b"));
        assert!(glob_path(
            "usr/lib/perl[0-9]*/*_perl",
            "usr/lib/perl5/vendor_perl"
        ));
        assert!(!glob_path(
            "usr/lib/perl[0-9]*/*_perl",
            "usr/lib/perl5/x/vendor_perl"
        ));
    }
}
