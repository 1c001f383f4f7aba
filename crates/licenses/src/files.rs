//! Finding license files by name: melange's patterns (from licensee), each
//! with its weight.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

/// A file that by its name holds a license.
#[derive(Clone, Debug, PartialEq)]
pub struct LicenseFile {
    /// Path relative to the scanned directory, `/`-separated.
    pub path: String,
    /// How likely the file is the project's license (higher first; files
    /// in the top directory get 0.5 more).
    pub weight: f64,
}

/// Why the tree could not be walked.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}")]
pub struct WalkError {
    /// The directory or file.
    pub path: std::path::PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

fn patterns() -> &'static [(Regex, f64)] {
    static PATTERNS: OnceLock<Vec<(Regex, f64)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // melange builds these from licensee's expressions; the preferred
        // extensions are quoted with their dot, so `LICENSE.md` matches the
        // "any extension" patterns. Kept as melange has them, since the
        // weights decide the order of the results.
        let preferred = r"\.(?:\.md|\.markdown|\.txt|\.html)$";
        let any_ext = r"(\.[^./]+$)";
        let license = r"(?i)(un)?licen[sc]e";
        let copying = r"(?i)copy(ing|right)";
        let ofl = r"(?i)ofl";
        let patents = r"(?i)patents";
        [
            (format!("(?i)^{license}$"), 1.00),
            (format!("(?i)^{license}{preferred}$"), 0.95),
            (format!("(?i)^{copying}$"), 0.90),
            (format!("(?i)^{copying}{preferred}$"), 0.85),
            (format!("(?i)^{license}{any_ext}$"), 0.80),
            (format!("(?i)^{copying}{any_ext}$"), 0.75),
            (format!("(?i)^{license}[-_][^.]*{any_ext}?$"), 0.70),
            (format!("(?i)^{copying}[-_][^.]*{any_ext}?$"), 0.65),
            (format!(r"(?i)^\w+[-_]{license}[^.]*{any_ext}?$"), 0.60),
            (format!(r"(?i)^\w+[-_]{copying}[^.]*{any_ext}?$"), 0.55),
            (format!("(?i)^{ofl}{preferred}"), 0.50),
            (format!("(?i)^{ofl}{any_ext}"), 0.45),
            (format!("(?i)^{ofl}$"), 0.40),
            (format!("(?i)^{patents}$"), 0.35),
            (format!("(?i)^{patents}{any_ext}$"), 0.30),
        ]
        .into_iter()
        .map(|(p, w)| (Regex::new(&p).expect("valid pattern"), w))
        .collect()
    })
}

/// Directories whose license files are not the project's.
const IGNORED_DIRS: &[&str] = &[
    ".virtualenv",
    "env",
    "node_modules",
    "rust-src",
    "rustc-src",
    "venv",
];

/// Extensions never taken for license files.
const IGNORED_EXT: &[&str] = &[".xml", ".go", ".gemspec", ".spdx", ".header"];

/// The weight of `path` (relative, `/`-separated) as a license file, or
/// `None` when its name does not say it holds a license. The best-weighted
/// pattern wins (melange takes the first in Go's random map order).
pub fn license_file_weight(path: &str) -> Option<f64> {
    static SEMVER: OnceLock<Regex> = OnceLock::new();
    let semver = SEMVER.get_or_init(|| Regex::new(r"-\d+\.\d+\.\d+-").expect("valid pattern"));
    // rust-1.86.0-src is rust-src.
    let path = semver.replace_all(path, "-");
    if path.split('/').any(|c| IGNORED_DIRS.contains(&c)) {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(&path);
    let ext = match name.rfind('.') {
        Some(i) if i > 0 => &name[i..],
        _ => "",
    };
    if IGNORED_EXT.contains(&ext) {
        return None;
    }
    patterns()
        .iter()
        .filter(|(re, _)| re.is_match(name))
        .map(|(_, w)| *w)
        .reduce(f64::max)
}

/// The license files below `root`, best first (ties in path order).
/// Shallow: only the top directory and the one below, nothing under a
/// `vendor` directory. Symbolic links and anything under `melange-out` are
/// left out.
pub fn find_license_files(root: &Path, deep: bool) -> Result<Vec<LicenseFile>, WalkError> {
    let mut out = Vec::new();
    walk(root, "", 1, deep, &mut out)?;
    out.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    Ok(out)
}

fn walk(
    dir: &Path,
    rel: &str,
    depth: usize,
    deep: bool,
    out: &mut Vec<LicenseFile>,
) -> Result<(), WalkError> {
    let err = |path: &Path, source| WalkError {
        path: path.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| err(dir, e))? {
        let e = e.map_err(|e| err(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let kind = e.file_type().map_err(|source| err(&e.path(), source))?;
        entries.push((name, kind));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in entries {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if !deep && (name == "vendor" || depth > 2) {
            continue;
        }
        if kind.is_dir() {
            walk(&dir.join(&name), &path, depth + 1, deep, out)?;
        } else if kind.is_file()
            && !path.contains("melange-out")
            && let Some(w) = license_file_weight(&path)
        {
            out.push(LicenseFile {
                weight: if depth == 1 { w + 0.5 } else { w },
                path,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hold_licenses() {
        for (name, weight) in [
            ("LICENSE", Some(1.0)),
            ("licence", Some(1.0)),
            ("UNLICENSE", Some(1.0)),
            ("COPYING", Some(0.9)),
            ("LICENSE.md", Some(0.8)),
            ("COPYING.txt", Some(0.75)),
            ("LICENSE-MIT", Some(0.7)),
            ("MIT-LICENSE", Some(0.6)),
            ("OFL.txt", Some(0.45)),
            ("PATENTS", Some(0.35)),
            ("license.go", None),
            ("README", None),
            ("node_modules/x/LICENSE", None),
            ("rust-1.86.0-src/LICENSE", None),
        ] {
            assert_eq!(license_file_weight(name), weight, "{name}");
        }
    }

    #[test]
    fn shallow_scans_stop_one_level_down_and_skip_vendor() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "COPYING",
            "a/LICENSE",
            "a/b/LICENSE",
            "vendor/LICENSE",
            "README",
        ] {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let paths = |deep| -> Vec<String> {
            find_license_files(d.path(), deep)
                .unwrap()
                .into_iter()
                .map(|f| f.path)
                .collect()
        };
        assert_eq!(paths(false), ["COPYING", "a/LICENSE"]);
        assert_eq!(
            paths(true),
            ["COPYING", "a/LICENSE", "a/b/LICENSE", "vendor/LICENSE"]
        );
    }
}
