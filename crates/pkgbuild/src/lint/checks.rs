//! melange's linters (`pkg/linter/linters`), one function each, over a
//! package's entries.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Entry, EntryKind, Finding, Package};

/// A linter: its name, what to do about a finding, whether melange
/// requires it, warns about it or skips it by default, and the check.
pub(crate) struct Linter {
    pub name: &'static str,
    pub explain: &'static str,
    pub default: Behavior,
    pub check: fn(&Package) -> Result<Option<Finding>, String>,
}

/// melange's default behaviour for a linter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Require,
    Warn,
    Ignore,
}

use Behavior::{Ignore, Require, Warn};

/// Every linter melange has, in name order.
pub(crate) const LINTERS: &[Linter] = &[
    Linter {
        name: "binaryarch",
        explain: "This package contains binaries compiled for unsupported architectures (only aarch64/arm64 and amd64/x86_64 binaries are supported)",
        default: Warn,
        check: binaryarch,
    },
    Linter {
        name: "cudaruntimelib",
        explain: "CUDA driver-specific libraries should be passed into the container by the host. Installing them in an image could override the host libraries and break GPU support. If this library is needed for build-time linking or ldd-check tests, please use a package containing a stub library instead. For libcuda.so, use nvidia-cuda-cudart-$cuda_version. For libnvidia-ml.so, use nvidia-cuda-nvml-dev-$cuda_version.",
        default: Warn,
        check: cuda,
    },
    Linter {
        name: "dev",
        explain: "If this package is creating /dev nodes, it should use udev instead; otherwise, remove any files in /dev",
        default: Require,
        check: dev,
    },
    Linter {
        name: "dll",
        explain: "This package contains Windows libraries",
        default: Warn,
        check: dll,
    },
    Linter {
        name: "documentation",
        explain: "Place documentation into a separate package or remove it",
        default: Ignore,
        check: documentation,
    },
    Linter {
        name: "duplicate",
        explain: "This package contains files with the same name and content in different directories (consider symlinking)",
        default: Warn,
        check: duplicate,
    },
    Linter {
        name: "dylib",
        explain: "This package contains macOS libraries",
        default: Warn,
        check: dylib,
    },
    Linter {
        name: "elfmachine",
        explain: "This package contains ELF files built for another machine than its architecture (`arch` in .PKGINFO): build them for that architecture",
        default: Require,
        check: elf_machine,
    },
    Linter {
        name: "empty",
        explain: "Verify that this package is supposed to be empty; if it is, disable this linter; otherwise check the build",
        default: Ignore,
        check: empty,
    },
    Linter {
        name: "infodir",
        explain: "Remove /usr/share/info/dir from the package (run split/infodir)",
        default: Require,
        check: infodir,
    },
    Linter {
        name: "lddcheck",
        explain: "This package provides shared object files, please add the ldd-check test pipeline",
        default: Warn,
        check: lddcheck,
    },
    Linter {
        name: "libtool/la-files",
        explain: "Remove libtool archive (.la) files from the package, or disable this linter if they are required",
        default: Require,
        check: la_files,
    },
    Linter {
        name: "maninfo",
        explain: "Place documentation into a separate package or remove it",
        default: Warn,
        check: maninfo,
    },
    Linter {
        name: "nonlinux",
        explain: "This package contains references to non-Linux paths",
        default: Warn,
        check: nonlinux,
    },
    Linter {
        name: "object",
        explain: "This package contains intermediate object files (.o files)",
        default: Warn,
        check: object,
    },
    Linter {
        name: "opt",
        explain: "This package should be a -compat package",
        default: Warn,
        check: opt,
    },
    Linter {
        name: "pkgconf",
        explain: "This package provides files in a pkgconfig directory, please add the pkgconf test pipeline",
        default: Warn,
        check: pkgconf,
    },
    Linter {
        name: "python/docs",
        explain: "Remove all docs directories from the package",
        default: Warn,
        check: python_docs,
    },
    Linter {
        name: "python/multiple",
        explain: "Split this package up into multiple packages and verify you are not improperly using pip install",
        default: Warn,
        check: python_multiple,
    },
    Linter {
        name: "python/test",
        explain: "Remove all test directories from the package",
        default: Warn,
        check: python_test,
    },
    Linter {
        name: "sbom",
        explain: "Remove any files in /var/lib/db/sbom from the package",
        default: Warn,
        check: sbom,
    },
    Linter {
        name: "setuidgid",
        explain: "Unset the setuid/setgid bit on the relevant files, or remove this linter",
        default: Require,
        check: setuidgid,
    },
    Linter {
        name: "srv",
        explain: "This package should be a -compat package",
        default: Warn,
        check: srv,
    },
    Linter {
        name: "staticarchive",
        explain: "This package contains static archives (.a files)",
        default: Warn,
        check: static_archive,
    },
    Linter {
        name: "strip",
        explain: "Properly strip all binaries in the pipeline",
        default: Warn,
        check: strip,
    },
    Linter {
        name: "tempdir",
        explain: "Remove any offending files in temporary dirs in the pipeline, or add a /usr/lib/tmpfiles.d/ snippet in the case of dirs under /run/",
        default: Require,
        check: tempdir,
    },
    Linter {
        name: "unsupportedarch",
        explain: "This package contains references to unsupported architectures (only aarch64/arm64 and amd64/x86_64 are supported)",
        default: Warn,
        check: unsupported_arch,
    },
    Linter {
        name: "usrlocal",
        explain: "This package should be a -compat package",
        default: Warn,
        check: usrlocal,
    },
    Linter {
        name: "usrmerge",
        explain: "Move binary to /usr/bin",
        default: Require,
        check: usrmerge,
    },
    Linter {
        name: "varempty",
        explain: "Remove any offending files in /var/empty in the pipeline",
        default: Require,
        check: varempty,
    },
    Linter {
        name: "worldwrite",
        explain: "Change the permissions of any permissive files in the package, disable the linter, or make this a -compat package",
        default: Require,
        check: worldwrite,
    },
];

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// melange's `AllPaths`: every entry matching `pred`, reported with the
/// paths as details.
fn all_paths(
    p: &Package,
    pred: impl Fn(&Entry) -> bool,
    message: impl Fn(&[String]) -> String,
) -> Result<Option<Finding>, String> {
    let paths: Vec<String> = p
        .entries
        .iter()
        .filter(|e| pred(e))
        .map(|e| e.path.clone())
        .collect();
    if paths.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: message(&paths),
        details: Some(json!({ "paths": paths })),
    }))
}

fn not_dir(e: &Entry) -> bool {
    e.kind != EntryKind::Dir
}

fn ext(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.rfind('.').map_or("", |i| &base[i..])
}

fn dev(p: &Package) -> Result<Option<Finding>, String> {
    all_paths(
        p,
        |e| not_dir(e) && e.path.starts_with("dev/"),
        |_| format!("{} writes to /dev", p.name),
    )
}

fn is_doc_file(path: &str) -> bool {
    let doc_suffixes = [
        "README", "READ.ME", "READ", "TODO", "CREDITS", ".md", ".doc", ".docx", ".rst",
    ];
    if doc_suffixes.iter().any(|s| path.ends_with(s)) {
        return true;
    }
    // `.[0-9][a-z]` (man page sections such as `.3p`)
    let b = path.as_bytes();
    b.len() >= 3
        && b[b.len() - 3] == b'.'
        && b[b.len() - 2].is_ascii_digit()
        && b[b.len() - 1].is_ascii_lowercase()
}

fn documentation(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-doc") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && is_doc_file(&e.path),
        |paths| {
            format!(
                "{} contains {} but is not a documentation package",
                p.name,
                plural(paths.len(), "documentation file", "documentation files")
            )
        },
    )
}

fn opt(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-compat") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && e.path.starts_with("opt/"),
        |_| format!("{} writes to /opt", p.name),
    )
}

fn srv(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-compat") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && e.path.starts_with("srv/"),
        |_| format!("{} writes to /srv", p.name),
    )
}

fn usrlocal(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-compat") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && e.path.starts_with("usr/local/"),
        |_| format!("{} contains /usr/local path in non-compat package", p.name),
    )
}

fn varempty(p: &Package) -> Result<Option<Finding>, String> {
    all_paths(
        p,
        |e| not_dir(e) && e.path.starts_with("var/empty/"),
        |_| format!("{} writes to /var/empty", p.name),
    )
}

fn infodir(p: &Package) -> Result<Option<Finding>, String> {
    all_paths(
        p,
        |e| not_dir(e) && e.path.starts_with("usr/share/info/dir/"),
        |_| format!("{} writes to /usr/share/info/dir/", p.name),
    )
}

fn object(p: &Package) -> Result<Option<Finding>, String> {
    all_paths(
        p,
        |e| not_dir(e) && ext(&e.path) == ".o",
        |paths| {
            format!(
                "{} contains {}. This is usually wrong. In most cases they should be removed",
                p.name,
                plural(
                    paths.len(),
                    "intermediate object file",
                    "intermediate object files"
                )
            )
        },
    )
}

fn la_files(p: &Package) -> Result<Option<Finding>, String> {
    all_paths(
        p,
        |e| not_dir(e) && ext(&e.path) == ".la",
        |paths| {
            format!(
                "{} contains {}. Remove them in the build pipeline; if this package legitimately needs to ship .la files, disable this linter via checks.disabled",
                p.name,
                plural(
                    paths.len(),
                    "libtool archive (.la) file",
                    "libtool archive (.la) files"
                )
            )
        },
    )
}

fn static_archive(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-dev") || p.name.ends_with("-static") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && ext(&e.path) == ".a",
        |paths| {
            format!(
                "{} contains {}. Static archives bloat packages and should typically be in -dev packages or removed",
                p.name,
                plural(paths.len(), "static archive", "static archives")
            )
        },
    )
}

fn dll(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-dev") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && ext(&e.path) == ".dll",
        |paths| {
            format!(
                "{} contains {}",
                p.name,
                plural(paths.len(), "DLL file", "DLL files")
            )
        },
    )
}

fn dylib(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-dev") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && ext(&e.path) == ".dylib",
        |paths| {
            format!(
                "{} contains {}",
                p.name,
                plural(paths.len(), "dylib file", "dylib files")
            )
        },
    )
}

fn cuda(p: &Package) -> Result<Option<Finding>, String> {
    let is_driver_lib = |path: &str| {
        ["usr/lib/libcuda.so", "usr/lib/libnvidia-ml.so"]
            .iter()
            .any(|base| {
                path.strip_prefix(base).is_some_and(|rest| {
                    rest.split('.')
                        .skip(1)
                        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                        && (rest.is_empty() || rest.starts_with('.'))
                })
            })
    };
    all_paths(
        p,
        |e| not_dir(e) && is_driver_lib(&e.path),
        |_| format!("{} contains CUDA driver-specific libraries", p.name),
    )
}

fn sbom(p: &Package) -> Result<Option<Finding>, String> {
    all_paths(
        p,
        |e| {
            not_dir(e)
                && e.path
                    .rsplit_once('/')
                    .is_some_and(|(d, _)| d == "var/lib/db/sbom")
                && !e.path.ends_with(".spdx.json")
        },
        |_| format!("{} writes to var/lib/db/sbom", p.name),
    )
}

fn is_man_or_info(path: &str) -> bool {
    let compressed = |s: &str| -> bool {
        let s = ["gz", "bz2", "xz", "lzma", "Z"]
            .iter()
            .find_map(|c| s.strip_suffix(&format!(".{c}")))
            .unwrap_or(s);
        s.contains('.')
    };
    let man = |rest: &str| -> bool {
        // `` or `/manN…` or `/manN…/NAME.N…[.gz]`
        if rest.is_empty() {
            return true;
        }
        let Some(rest) = rest.strip_prefix("/man") else {
            return false;
        };
        let (section, page) = rest.split_once('/').unwrap_or((rest, ""));
        if !section.starts_with(|c: char| c.is_ascii_digit()) {
            return false;
        }
        page.is_empty()
            || (!page.contains('/')
                && page.split_once('.').is_some_and(|(n, s)| {
                    !n.is_empty() && s.starts_with(|c: char| c.is_ascii_digit())
                })
                && compressed(page))
    };
    for prefix in ["usr/share/man", "usr/local/share/man", "usr/man"] {
        if let Some(rest) = path.strip_prefix(prefix)
            && man(rest)
        {
            return true;
        }
    }
    for prefix in ["usr/share/info/", "usr/local/share/info/"] {
        if let Some(name) = path.strip_prefix(prefix) {
            if name == "dir" {
                return true;
            }
            if name.contains('/') {
                continue;
            }
            let stem = ["gz", "bz2", "xz", "lzma", "Z"]
                .iter()
                .find_map(|c| name.strip_suffix(&format!(".{c}")))
                .unwrap_or(name);
            let stem = stem
                .rsplit_once('-')
                .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .map_or(stem, |(s, _)| s);
            if stem.len() > ".info".len() && stem.ends_with(".info") {
                return true;
            }
        }
    }
    false
}

fn maninfo(p: &Package) -> Result<Option<Finding>, String> {
    if p.name.ends_with("-doc") {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && is_man_or_info(&e.path),
        |paths| {
            format!(
                "{} contains {} but is not a documentation package",
                p.name,
                plural(paths.len(), "man/info file", "man/info files")
            )
        },
    )
}

fn empty(p: &Package) -> Result<Option<Finding>, String> {
    let found = p
        .entries
        .iter()
        .any(|e| e.kind != EntryKind::Dir && !e.path.starts_with("var/lib/db/sbom/"));
    Ok((!found).then(|| Finding {
        message: "package is empty but no-provides is not set".into(),
        details: None,
    }))
}

fn mode_octal(mode: u32) -> String {
    format!("{:o}", mode & 0o7777)
}

fn setuidgid(p: &Package) -> Result<Option<Finding>, String> {
    let mut files = Vec::new();
    for e in p.entries.iter().filter(|e| e.kind == EntryKind::File) {
        let mut parts = Vec::new();
        for (bit, name) in [(0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky")] {
            if e.mode & bit != 0 {
                parts.push(name);
            }
        }
        if !parts.is_empty() {
            files.push(json!({"path": e.path, "mode": mode_octal(e.mode), "permissions": parts}));
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!(
            "{} contains {} with special permissions (setuid/setgid)",
            p.name,
            plural(files.len(), "file", "files")
        ),
        details: Some(json!({ "files": files })),
    }))
}

fn worldwrite(p: &Package) -> Result<Option<Finding>, String> {
    let mut files = Vec::new();
    for e in p.entries.iter().filter(|e| e.kind == EntryKind::File) {
        if e.mode & 0o002 != 0 {
            let mut perms = vec!["world-writable"];
            if e.mode & 0o111 != 0 {
                perms.push("executable");
            }
            files.push(json!({"path": e.path, "mode": mode_octal(e.mode), "permissions": perms}));
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!(
            "{} contains {}",
            p.name,
            plural(files.len(), "world-writeable file", "world-writeable files")
        ),
        details: Some(json!({ "files": files })),
    }))
}

fn tempdir(p: &Package) -> Result<Option<Finding>, String> {
    let tmpfiles = p
        .entries
        .iter()
        .any(|e| e.path.starts_with("usr/lib/tmpfiles.d/"));
    all_paths(
        p,
        |e| {
            let is_dir = e.kind == EntryKind::Dir;
            if !is_dir && (e.path.starts_with("tmp/") || e.path.starts_with("var/tmp/")) {
                return true;
            }
            if e.path.starts_with("var/run/") {
                return true;
            }
            if e.path.starts_with("run/") {
                return !is_dir || !tmpfiles;
            }
            false
        },
        |_| format!("{} writes to a temp dir", p.name),
    )
}

fn usrmerge(p: &Package) -> Result<Option<Finding>, String> {
    let dirs = ["sbin", "bin", "usr/sbin", "lib", "lib64"];
    let paths: Vec<String> = p
        .entries
        .iter()
        .filter(|e| !e.path.starts_with("var/lib/db/sbom"))
        .filter(|e| {
            dirs.iter()
                .any(|d| e.path == *d || e.path.starts_with(&format!("{d}/")))
        })
        .map(|e| e.path.clone())
        .collect();
    if paths.is_empty() {
        return Ok(None);
    }
    let mut message = "Package contains paths in violation of usrmerge:".to_string();
    for path in &paths {
        message.push('\n');
        message.push_str(path);
    }
    Ok(Some(Finding {
        message,
        details: Some(json!({ "paths": paths })),
    }))
}

/// Whether the (sub)package's tests use one of `pipelines`; `None` without
/// the recipe.
fn has_test(p: &Package, pipelines: &[&str]) -> Option<bool> {
    let recipe = p.recipe.as_ref()?;
    let tests = if recipe["package"]["name"].as_str() == Some(p.name.as_str()) {
        &recipe["test"]
    } else {
        recipe["subpackages"]
            .as_array()
            .and_then(|s| {
                s.iter()
                    .find(|s| s["name"].as_str() == Some(p.name.as_str()))
            })
            .map_or(&Value::Null, |s| &s["test"])
    };
    Some(tests["pipeline"].as_array().is_some_and(|steps| {
        steps
            .iter()
            .any(|s| s["uses"].as_str().is_some_and(|u| pipelines.contains(&u)))
    }))
}

fn pkgconf(p: &Package) -> Result<Option<Finding>, String> {
    let test = has_test(p, &["test/pkgconf"]);
    if test == Some(true) {
        return Ok(None);
    }
    let is_pc = |path: &str| {
        path.starts_with("usr/lib/pkgconfig/") || path.starts_with("usr/share/pkgconfig/")
    };
    all_paths(
        p,
        |e| not_dir(e) && is_pc(&e.path),
        |_| match test {
            None => format!(
                "{} contains pkgconfig files but missing .melange.yaml",
                p.name
            ),
            Some(_) => format!(
                "{} contains pkgconfig files but test/pkgconf is not configured",
                p.name
            ),
        },
    )
}

fn is_shared_object(path: &str) -> bool {
    let mut s = path;
    loop {
        if s.ends_with(".so") {
            return true;
        }
        match s.rsplit_once('.') {
            Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => s = head,
            _ => return false,
        }
    }
}

fn lddcheck(p: &Package) -> Result<Option<Finding>, String> {
    let test = has_test(p, &["test/ldd-check", "test/tw/ldd-check"]);
    if test == Some(true) {
        return Ok(None);
    }
    all_paths(
        p,
        |e| not_dir(e) && is_shared_object(&e.path),
        |_| match test {
            None => format!(
                "{} contains shared objects but missing .melange.yaml",
                p.name
            ),
            Some(_) => format!(
                "{} contains shared objects but test/ldd-check is not configured",
                p.name
            ),
        },
    )
}

/// The entries of `usr/lib/python3.*/site-packages` (none, or an error
/// when more than one Python version is installed).
fn site_packages(p: &Package) -> Result<Vec<String>, String> {
    let versions: Vec<&str> = p
        .entries
        .iter()
        .filter_map(|e| e.path.strip_prefix("usr/lib/"))
        .filter(|rest| !rest.contains('/') && rest.starts_with("python3."))
        .collect();
    match versions.len() {
        0 => return Ok(Vec::new()),
        1 => {}
        n => return Err(format!("more than one Python version detected: {n} found")),
    }
    let prefix = format!("usr/lib/{}/site-packages/", versions[0]);
    Ok(p.entries
        .iter()
        .filter_map(|e| e.path.strip_prefix(&prefix))
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .map(str::to_string)
        .collect())
}

fn python_docs(p: &Package) -> Result<Option<Finding>, String> {
    let found = site_packages(p)?.iter().any(|b| b == "doc" || b == "docs");
    Ok(found.then(|| Finding {
        message: "docs directory encountered in Python site-packages directory".into(),
        details: None,
    }))
}

fn python_test(p: &Package) -> Result<Option<Finding>, String> {
    let found = site_packages(p)?
        .iter()
        .any(|b| b == "test" || b == "tests");
    Ok(found.then(|| Finding {
        message: "tests directory encountered in Python site-packages directory".into(),
        details: None,
    }))
}

fn python_multiple(p: &Package) -> Result<Option<Finding>, String> {
    let mut names = std::collections::BTreeSet::new();
    for base in site_packages(p)? {
        if base.starts_with('_') || ["test", "tests", "doc", "docs"].contains(&base.as_str()) {
            continue;
        }
        let e = ext(&base);
        if [".egg-info", ".dist-info", ".pth"].contains(&e) {
            continue;
        }
        // The module name: before the first dot (`yaml.py`, `_x.cpython-312.so`).
        let stem = base.split('.').next().unwrap_or("");
        if !stem.is_empty() {
            names.insert(format!("{stem:?}"));
        }
    }
    if names.len() <= 1 {
        return Ok(None);
    }
    let list: Vec<String> = names.into_iter().collect();
    Ok(Some(Finding {
        message: format!(
            "multiple Python packages detected: {} found ({})",
            list.len(),
            list.join(", ")
        ),
        details: Some(json!({"count": list.len(), "packages": list})),
    }))
}

fn nonlinux(p: &Package) -> Result<Option<Finding>, String> {
    let platforms: [(&str, &[&str]); 2] = [
        (
            "macos",
            &["darwin", "macos", "mac_os", "mac-os", "osx", "os_x", "os-x"],
        ),
        ("windows", &["windows", "win32", "win64"]),
    ];
    let mut refs = Vec::new();
    for e in p.entries.iter().filter(|e| e.kind != EntryKind::Dir) {
        let lower = e.path.to_ascii_lowercase();
        if let Some((platform, _)) = platforms
            .iter()
            .find(|(_, vs)| vs.iter().any(|v| lower.contains(v)))
        {
            refs.push(json!({"path": e.path, "platform": platform}));
        }
    }
    if refs.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!("{} contains {} non-Linux reference(s)", p.name, refs.len()),
        details: Some(json!({ "references": refs })),
    }))
}

fn unsupported_arch(p: &Package) -> Result<Option<Finding>, String> {
    let supported = ["aarch64", "arm64", "amd64", "x86_64", "x86-64"];
    let archs = [
        "i386", "i686", "x86_32", "x86-32", "ppc64", "ppc64le", "powerpc", "s390x", "s390", "mips",
        "mipsel", "mips64", "riscv", "riscv64", "sparc", "sparc64", "ia64", "m68k",
    ];
    let mut files = Vec::new();
    'entries: for e in p.entries.iter().filter(|e| e.kind != EntryKind::Dir) {
        let lower = e.path.to_ascii_lowercase();
        let (dir, base) = lower
            .rsplit_once('/')
            .map_or((".", lower.as_str()), |(d, b)| (d, b));
        for arch in archs {
            if dir.contains(&format!("/{arch}/")) || dir.contains(&format!("/{arch}")) {
                files.push(json!({"path": e.path, "arch": arch}));
                continue 'entries;
            }
            for sep in ["-", "_", "."] {
                let hit = base.contains(&format!("{sep}{arch}{sep}"))
                    || base.contains(&format!("{sep}{arch}."))
                    || base.ends_with(&format!("{sep}{arch}"));
                if hit && !supported.iter().any(|s| lower.contains(s)) {
                    files.push(json!({"path": e.path, "arch": arch}));
                    continue 'entries;
                }
            }
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!(
            "{} contains {} unsupported architecture reference(s)",
            p.name,
            files.len()
        ),
        details: Some(json!({ "files": files })),
    }))
}

fn is_object_ext(path: &str) -> bool {
    // melange's `\.(a|so|dylib)(\..*)?` on the extension.
    let e = ext(path);
    e == ".a" || e == ".so" || e == ".dylib" || path.contains(".so.")
}

/// ELF candidates melange opens: executables and libraries, by mode or
/// extension, outside the SBOM directory.
fn elf_candidates(p: &Package) -> impl Iterator<Item = &Entry> {
    p.entries.iter().filter(|e| {
        e.kind == EntryKind::File
            && !e.path.starts_with("var/lib/db/sbom/")
            && e.size >= 4
            && (e.mode & 0o111 != 0 || is_object_ext(&e.path))
    })
}

fn strip(p: &Package) -> Result<Option<Finding>, String> {
    let mut binaries = Vec::new();
    for e in elf_candidates(p) {
        if let Some(info) = p.elf(e)?
            && info.debug_sections
        {
            binaries.push(e.path.clone());
        }
    }
    if binaries.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!(
            "{} contains {}",
            p.name,
            plural(binaries.len(), "unstripped binary", "unstripped binaries")
        ),
        details: Some(json!({ "binaries": binaries })),
    }))
}

/// The machine name [`super::ElfInfo`] gives the ELF files of an apk
/// architecture.
fn machine_of(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "armhf" | "armv7" => "arm",
        "ppc64le" => "ppc64",
        "s390x" => "s390",
        "riscv64" => "riscv",
        _ => return None,
    })
}

fn elf_machine(p: &Package) -> Result<Option<Finding>, String> {
    let Some(arch) = p.arch.as_deref() else {
        return Ok(None);
    };
    let Some(want) = machine_of(arch) else {
        return Ok(None);
    };
    let mut binaries = Vec::new();
    for e in elf_candidates(p) {
        if let Some(info) = p.elf(e)?
            && info.machine != want
        {
            binaries.push(json!({"path": e.path, "arch": info.machine}));
        }
    }
    if binaries.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!(
            "{} is built for {arch} but contains {} for another machine",
            p.name,
            plural(binaries.len(), "ELF file", "ELF files")
        ),
        details: Some(json!({ "binaries": binaries })),
    }))
}

fn binaryarch(p: &Package) -> Result<Option<Finding>, String> {
    let mut binaries = Vec::new();
    for e in elf_candidates(p) {
        if let Some(info) = p.elf(e)?
            && !matches!(info.machine.as_str(), "amd64" | "arm64")
        {
            binaries.push(json!({"path": e.path, "arch": info.machine}));
        }
    }
    if binaries.is_empty() {
        return Ok(None);
    }
    Ok(Some(Finding {
        message: format!(
            "{} contains {} compiled for unsupported architecture(s)",
            p.name,
            plural(binaries.len(), "binary", "binaries")
        ),
        details: Some(json!({ "binaries": binaries })),
    }))
}

/// melange's `IsLicenseFile` on a base name (used to leave license files
/// out of the duplicate check).
pub fn is_license_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let (stem, extension) = match lower.rfind('.') {
        Some(i) if i > 0 => (&lower[..i], &lower[i..]),
        _ => (lower.as_str(), ""),
    };
    if [".xml", ".go", ".gemspec", ".spdx", ".header"].contains(&extension) {
        return false;
    }
    let license = |s: &str| {
        let s = s.strip_prefix("un").unwrap_or(s);
        s == "license" || s == "licence"
    };
    let copying = |s: &str| s == "copying" || s == "copyright";
    let word = |s: &str| license(s) || copying(s);
    if word(&lower) || word(stem) {
        return true;
    }
    // LICENSE-MIT, COPYING_X, MIT-LICENSE…
    let parts: Vec<&str> = stem.split(['-', '_']).collect();
    if parts.len() > 1
        && (word(parts[0])
            || parts[1..].iter().any(|p| {
                license(p) || copying(p) || p.starts_with("licen") || p.starts_with("copy")
            }))
    {
        return true;
    }
    stem == "ofl"
        || lower.starts_with("ofl.")
        || lower == "ofl"
        || stem == "patents"
        || lower == "patents"
}

fn duplicate(p: &Package) -> Result<Option<Finding>, String> {
    let mut by_key: BTreeMap<(String, String), (u64, Vec<String>)> = BTreeMap::new();
    for e in p
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && e.size >= 1024)
    {
        let base = e.path.rsplit('/').next().unwrap_or(&e.path).to_string();
        if is_license_file(&base) {
            continue;
        }
        let hash = p.sha256(e)?;
        by_key
            .entry((hash, base))
            .or_insert_with(|| (e.size, Vec::new()))
            .1
            .push(e.path.clone());
    }
    let mut sets: Vec<(String, u64, Vec<String>)> = by_key
        .into_iter()
        .filter(|(_, (_, paths))| paths.len() > 1)
        .map(|((_, base), (size, mut paths))| {
            paths.sort();
            (base, size, paths)
        })
        .collect();
    if sets.is_empty() {
        return Ok(None);
    }
    let wasted = |s: &(String, u64, Vec<String>)| (s.2.len() as u64 - 1) * s.1;
    sets.sort_by_key(|s| std::cmp::Reverse(wasted(s)));
    let total: u64 = sets.iter().map(wasted).sum();
    let mut lines = Vec::new();
    let mut dups = Vec::new();
    for s in &sets {
        lines.push(format!(
            "  {} copies of '{}' ({} each, wasting {}):",
            s.2.len(),
            s.0,
            humanize(s.1),
            humanize(wasted(s))
        ));
        lines.extend(s.2.iter().map(|p| format!("    {p}")));
        dups.push(json!({
            "basename": s.0, "count": s.2.len(), "size_bytes": s.1, "size": humanize(s.1),
            "wasted_bytes": wasted(s), "wasted_size": humanize(wasted(s)), "paths": s.2,
        }));
    }
    Ok(Some(Finding {
        message: format!(
            "{} contains {} duplicate file(s) with same name in different directories (wasting {} total):\n{}",
            p.name,
            sets.len(),
            humanize(total),
            lines.join("\n")
        ),
        details: Some(json!({
            "total_duplicate_sets": sets.len(), "total_wasted_bytes": total,
            "total_wasted_size": humanize(total), "duplicates": dups,
        })),
    }))
}

/// go-humanize's `Bytes`: SI units, one decimal below 10.
fn humanize(n: u64) -> String {
    if n < 10 {
        return format!("{n} B");
    }
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let v = n as f64 / 1000f64.powi(e as i32);
    if v < 10.0 {
        format!("{:.1} {}", (v * 10.0 + 0.5).floor() / 10.0, units[e])
    } else {
        format!("{:.0} {}", (v + 0.5).floor(), units[e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_classes_as_melange_matches_them() {
        assert!(is_man_or_info("usr/share/man/man1/ls.1.gz"));
        assert!(is_man_or_info("usr/share/man"));
        assert!(is_man_or_info("usr/share/info/dir"));
        assert!(is_man_or_info("usr/share/info/sed.info-2.gz"));
        assert!(!is_man_or_info("usr/share/manual/x"));
        assert!(is_shared_object("usr/lib/libz.so.1.3"));
        assert!(is_shared_object("usr/lib/libz.so"));
        assert!(!is_shared_object("usr/lib/libz.so.x"));
        assert!(is_doc_file("usr/share/doc/x/README"));
        assert!(is_doc_file("usr/share/man/man3/x.3p"));
        assert!(is_license_file("LICENSE"));
        assert!(is_license_file("COPYING.md"));
        assert!(is_license_file("LICENSE-MIT"));
        assert!(is_license_file("MIT-LICENSE"));
        assert!(!is_license_file("license.go"));
        assert!(!is_license_file("main.c"));
        assert_eq!(humanize(5), "5 B");
        assert_eq!(humanize(2048), "2.0 kB");
        assert_eq!(humanize(123456), "123 kB");
    }
}
