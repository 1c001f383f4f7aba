//! melange's package linters, on built packages (`package lint FILE.apk`)
//! or on a package's files in a directory: each linter is required (its
//! findings fail), a warning, or not run, melange's defaults unless the
//! caller names them.

mod checks;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use apk_format::package_read::{EntryKind as TarKind, PackageReader};
use serde_json::Value;

use crate::PkgBuildError;

pub use checks::is_license_file;

/// What an entry is, as the linters tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Dir,
    File,
    Symlink,
    Other,
}

/// One file system entry of a package.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Relative path, `/`-separated.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits with setuid/setgid/sticky.
    pub mode: u32,
    pub size: u64,
    /// Where the content is (regular files).
    content: Option<PathBuf>,
}

/// What one linter found.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub message: String,
    pub details: Option<Value>,
}

/// ELF facts the linters use.
#[derive(Clone, Debug)]
pub(crate) struct ElfInfo {
    /// melange's architecture name (`amd64`, `arm64`, `i386`, …).
    pub machine: String,
    /// Whether any debug section is left.
    pub debug_sections: bool,
}

/// A package as the linters see it.
pub(crate) struct Package {
    pub name: String,
    /// In directory-walk order.
    pub entries: Vec<Entry>,
    /// The recipe (`.melange.yaml`) as generic data, when there is one.
    pub recipe: Option<Value>,
    /// The package's architecture (`.PKGINFO` `arch`), when known.
    pub arch: Option<String>,
    elf_cache: RefCell<HashMap<String, Option<ElfInfo>>>,
}

impl Package {
    fn new(
        name: String,
        mut entries: Vec<Entry>,
        recipe: Option<Value>,
        arch: Option<String>,
    ) -> Package {
        entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
        Package {
            name,
            entries,
            recipe,
            arch,
            elf_cache: RefCell::new(HashMap::new()),
        }
    }

    fn open(&self, e: &Entry) -> Result<File, String> {
        let p = e
            .content
            .as_ref()
            .ok_or_else(|| format!("{}: no content", e.path))?;
        File::open(p).map_err(|err| format!("{}: {err}", e.path))
    }

    /// SHA-256 of a regular file's content, as hex.
    pub fn sha256(&self, e: &Entry) -> Result<String, String> {
        use sha2::{Digest, Sha256};
        let mut f = self.open(e)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|err| format!("{}: {err}", e.path))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// The ELF facts of a regular file; `None` when it is not ELF.
    pub fn elf(&self, e: &Entry) -> Result<Option<ElfInfo>, String> {
        if let Some(cached) = self.elf_cache.borrow().get(&e.path) {
            return Ok(cached.clone());
        }
        let f = self.open(e)?;
        let info = elf_info(f);
        self.elf_cache
            .borrow_mut()
            .insert(e.path.clone(), info.clone());
        Ok(info)
    }
}

fn elf_info(f: File) -> Option<ElfInfo> {
    use object::{Architecture, Object, ObjectSection};
    let cache = object::ReadCache::new(f);
    let magic = object::ReadRef::read_bytes_at(&cache, 0, 4).ok()?;
    if magic != b"\x7fELF" {
        return None;
    }
    let file = object::File::parse(&cache).ok()?;
    let machine = match file.architecture() {
        Architecture::X86_64 | Architecture::X86_64_X32 => "amd64".to_string(),
        Architecture::Aarch64 | Architecture::Aarch64_Ilp32 => "arm64".to_string(),
        Architecture::I386 => "i386".to_string(),
        Architecture::Arm => "arm".to_string(),
        Architecture::PowerPc64 => "ppc64".to_string(),
        Architecture::S390x => "s390".to_string(),
        Architecture::Mips | Architecture::Mips64 | Architecture::Mips64_N32 => "mips".to_string(),
        Architecture::Riscv32 | Architecture::Riscv64 => "riscv".to_string(),
        other => format!("unknown ({other:?})"),
    };
    let debug_sections = file.sections().any(|s| {
        s.name()
            .is_ok_and(|n| n == ".debug" || n.starts_with(".debug_") || n.starts_with(".zdebug"))
    });
    Some(ElfInfo {
        machine,
        debug_sections,
    })
}

/// One finding of one linter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LintFinding {
    /// The linter (`worldwrite`, `libtool/la-files`, …).
    #[serde(skip)]
    pub linter: String,
    /// What it found (first line: a summary).
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub explain: String,
    /// The paths or files involved, as melange reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// What the linters found in one package.
#[derive(Clone, Debug, Default)]
pub struct LintReport {
    /// Package name.
    pub package: String,
    /// `name-version-rN` when known.
    pub full_name: String,
    /// Findings of warning linters.
    pub warnings: Vec<LintFinding>,
    /// Findings of required linters: the package fails.
    pub failures: Vec<LintFinding>,
    /// Trouble reading `.melange.yaml` (the recipe-aware linters then say
    /// so), as melange warns.
    pub recipe_warning: Option<String>,
}

/// Names of the linters melange requires by default.
pub fn default_required() -> Vec<&'static str> {
    checks::LINTERS
        .iter()
        .filter(|l| l.default == checks::Behavior::Require)
        .map(|l| l.name)
        .collect()
}

/// Names of the linters melange warns about by default.
pub fn default_warn() -> Vec<&'static str> {
    checks::LINTERS
        .iter()
        .filter(|l| l.default == checks::Behavior::Warn)
        .map(|l| l.name)
        .collect()
}

/// Every linter name.
pub fn all_linters() -> Vec<&'static str> {
    checks::LINTERS.iter().map(|l| l.name).collect()
}

fn check_names(names: &[String]) -> Result<(), PkgBuildError> {
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| !checks::LINTERS.iter().any(|l| l.name == n.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(PkgBuildError::Lint(format!(
        "unknown linter{} {}; the linters are {}",
        if unknown.len() > 1 { "s" } else { "" },
        unknown
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        all_linters().join(", ")
    )))
}

fn run(
    package: &Package,
    require: &[String],
    warn: &[String],
) -> Result<LintReport, PkgBuildError> {
    let mut report = LintReport {
        package: package.name.clone(),
        ..Default::default()
    };
    for (names, required) in [(warn, false), (require, true)] {
        for name in names {
            let Some(linter) = checks::LINTERS.iter().find(|l| l.name == name.as_str()) else {
                continue;
            };
            let finding = match (linter.check)(package) {
                Ok(None) => continue,
                Ok(Some(f)) => f,
                Err(message) => Finding {
                    message,
                    details: None,
                },
            };
            let f = LintFinding {
                linter: linter.name.to_string(),
                message: finding.message,
                explain: linter.explain.to_string(),
                details: finding.details,
            };
            if required {
                report.failures.push(f);
            } else {
                report.warnings.push(f);
            }
        }
    }
    Ok(report)
}

/// Lints the files of package `name` in `dir` (such as
/// `melange-out/<name>` of a build). `recipe` is the evaluated recipe,
/// `arch` the package's architecture.
pub fn lint_dir(
    name: &str,
    dir: &Path,
    recipe: Option<Value>,
    arch: Option<&str>,
    require: &[String],
    warn: &[String],
) -> Result<LintReport, PkgBuildError> {
    check_names(require)?;
    check_names(warn)?;
    let mut entries = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let err = |p: &Path, e: std::io::Error| PkgBuildError::Work {
        path: p.to_path_buf(),
        source: e,
    };
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).map_err(|e| err(&d, e))? {
            let path = item.map_err(|e| err(&d, e))?.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|e| err(&path, e))?;
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let kind = if meta.is_dir() {
                stack.push(path.clone());
                EntryKind::Dir
            } else if meta.file_type().is_symlink() {
                EntryKind::Symlink
            } else if meta.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            use std::os::unix::fs::MetadataExt;
            entries.push(Entry {
                path: rel,
                kind,
                mode: meta.mode() & 0o7777,
                size: meta.len(),
                content: (kind == EntryKind::File).then_some(path),
            });
        }
    }
    run(
        &Package::new(name.to_string(), entries, recipe, arch.map(str::to_string)),
        require,
        warn,
    )
}

/// Writes melange's `lint-<full name>.json` (the findings by linter) into
/// `dir`, when there are findings; returns the file written.
pub fn persist(report: &LintReport, dir: &Path) -> Result<Option<PathBuf>, PkgBuildError> {
    if report.warnings.is_empty() && report.failures.is_empty() {
        return Ok(None);
    }
    let mut findings: std::collections::BTreeMap<&str, Vec<&LintFinding>> = Default::default();
    for f in report.warnings.iter().chain(&report.failures) {
        findings.entry(&f.linter).or_default().push(f);
    }
    let json = serde_json::json!({
        "package_name": report.full_name,
        "findings": findings,
    });
    let name = format!("lint-{}.json", report.full_name);
    if report.full_name.contains('/') || report.full_name.starts_with('.') {
        return Err(PkgBuildError::Lint(format!(
            "not writing lint results for `{}`: the name would leave `{}`",
            report.full_name,
            dir.display()
        )));
    }
    let path = dir.join(name);
    let work = |source| PkgBuildError::Work {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(work)?;
    let mut tmp = scratch::file_in(dir, crate::TEMP_PREFIX).map_err(work)?;
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    std::io::Write::write_all(tmp.as_file_mut(), text.as_bytes()).map_err(work)?;
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(work)?;
    }
    scratch::persist(tmp, &path).map_err(work)?;
    Ok(Some(path))
}

/// Build-time linting, as melange does it before packaging: each
/// package's `melange-out/<name>` with `opts.lint_require` (minus the
/// package's `checks.disabled`, which become warnings) and
/// `opts.lint_warn`. Warnings are logged; required findings fail.
pub(crate) fn lint_build(
    recipe: &recipe::CompiledRecipe,
    opts: &crate::BuildOptions<'_>,
    workspace: &Path,
    locked: &[String],
    log: &dyn crate::Log,
) -> Result<(), PkgBuildError> {
    if opts.lint_require.is_empty() && opts.lint_warn.is_empty() {
        return Ok(());
    }
    let value = recipe
        .to_melange_yaml(Some(locked))
        .ok()
        .and_then(|y| serde_saphyr::from_str::<Value>(&y).ok());
    let mut packages = vec![(recipe.package.name.to_string(), &recipe.package.checks)];
    packages.extend(
        recipe
            .enabled_subpackages()
            .map(|s| (s.name.to_string(), &s.checks)),
    );
    let mut failed = Vec::new();
    for (name, checks) in packages {
        let disabled: Vec<String> = checks.disabled.iter().map(ToString::to_string).collect();
        let require: Vec<String> = opts
            .lint_require
            .iter()
            .filter(|l| !disabled.contains(l))
            .cloned()
            .collect();
        let mut warn = opts.lint_warn.clone();
        for d in disabled {
            if !warn.contains(&d) {
                warn.push(d);
            }
        }
        let dir = workspace.join("melange-out").join(&name);
        let arch = recipe.arch.apk_name();
        let mut report = lint_dir(&name, &dir, value.clone(), Some(arch), &require, &warn)?;
        if opts.persist_lint_results {
            report.full_name = format!(
                "{name}-{}-r{}",
                recipe.package.version, recipe.package.epoch
            );
            if let Some(path) = persist(&report, &opts.out_dir.join(arch))? {
                log.line(&format!("    saved lint results to {}", path.display()));
            }
        }
        for f in &report.warnings {
            log.line(&format!(
                "    warning: {name}: [{}] {}",
                f.linter, f.message
            ));
        }
        for f in report.failures {
            failed.push(format!("{name}: [{}] {}", f.linter, f.message));
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(PkgBuildError::Lint(format!(
        "required linters failed (no package written): {}",
        failed.join("; ")
    )))
}

/// Lints a built package file. Its data is read once; regular files'
/// contents go to numbered files below `scratch` (never to their own
/// paths), so nothing in the package can write elsewhere.
pub fn lint_apk(
    apk: &Path,
    require: &[String],
    warn: &[String],
    scratch: &Path,
) -> Result<LintReport, PkgBuildError> {
    check_names(require)?;
    check_names(warn)?;
    let bad = |reason: String| PkgBuildError::Output {
        what: apk.display().to_string(),
        reason,
    };
    let file = File::open(apk).map_err(|e| bad(e.to_string()))?;
    let pkg = PackageReader::new(BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let name = pkg.record.name.clone();
    let full_name = format!("{}-{}", pkg.record.name, pkg.record.version);
    let arch = Some(pkg.record.arch.clone()).filter(|a| !a.is_empty());
    let (recipe, recipe_warning) =
        match pkg.control_files.iter().find(|c| c.name == ".melange.yaml") {
            None => (None, Some("could not open .melange.yaml file".to_string())),
            Some(c) => match serde_saphyr::from_slice::<Value>(&c.content) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(format!("parsing .melange.yaml: {e}"))),
            },
        };
    let dir = tempfile::Builder::new()
        .prefix("apkforge-lint-")
        .tempdir_in(scratch)
        .map_err(|source| PkgBuildError::Work {
            path: scratch.to_path_buf(),
            source,
        })?;
    let mut entries = Vec::new();
    let mut stored: HashMap<String, (PathBuf, u64)> = HashMap::new();
    let mut n = 0usize;
    pkg.read_data(|e, content| {
        let path = e
            .path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() {
            return std::io::copy(content, &mut std::io::sink()).map(|_| ());
        }
        let (kind, stored_at, size) = match &e.kind {
            TarKind::File => {
                n += 1;
                let at = dir.path().join(n.to_string());
                let mut out = File::create(&at)?;
                let size = std::io::copy(content, &mut out)?;
                stored.insert(path.clone(), (at.clone(), size));
                (EntryKind::File, Some(at), size)
            }
            TarKind::Hardlink(target) => {
                let t = target.trim_start_matches("./");
                match stored.get(t) {
                    Some((at, size)) => (EntryKind::File, Some(at.clone()), *size),
                    None => (EntryKind::File, None, 0),
                }
            }
            TarKind::Directory => (EntryKind::Dir, None, 0),
            TarKind::Symlink(_) => (EntryKind::Symlink, None, 0),
            _ => (EntryKind::Other, None, 0),
        };
        entries.push(Entry {
            path,
            kind,
            mode: e.mode & 0o7777,
            size,
            content: stored_at,
        });
        std::io::copy(content, &mut std::io::sink()).map(|_| ())
    })
    .map_err(|e| bad(e.to_string()))?;
    let mut report = run(&Package::new(name, entries, recipe, arch), require, warn)?;
    report.full_name = full_name;
    report.recipe_warning = recipe_warning;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_aware_linters_read_the_tests_of_the_package() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("usr/lib/pkgconfig")).unwrap();
        std::fs::write(dir.path().join("usr/lib/libz.so.1"), b"not elf").unwrap();
        std::fs::write(dir.path().join("usr/lib/pkgconfig/z.pc"), b"Name: z\n").unwrap();
        let warn = vec!["lddcheck".to_string(), "pkgconf".to_string()];
        let lint = |recipe: Option<Value>| {
            let r = lint_dir("zlib", dir.path(), recipe, None, &[], &warn).unwrap();
            r.warnings
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            lint(None),
            [
                "zlib contains shared objects but missing .melange.yaml",
                "zlib contains pkgconfig files but missing .melange.yaml"
            ]
        );
        let recipe = serde_json::json!({
            "package": {"name": "zlib"},
            "test": {"pipeline": [{"uses": "test/ldd-check"}]}
        });
        assert_eq!(
            lint(Some(recipe)),
            ["zlib contains pkgconfig files but test/pkgconf is not configured"]
        );
        let sub = serde_json::json!({
            "package": {"name": "other"},
            "subpackages": [{"name": "zlib", "test": {"pipeline": [{"uses": "test/pkgconf"}]}}]
        });
        assert_eq!(
            lint(Some(sub)),
            ["zlib contains shared objects but test/ldd-check is not configured"]
        );
        let err = lint_dir("zlib", dir.path(), None, None, &["nope".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
    }
}
