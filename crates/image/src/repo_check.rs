//! Repository lines that cannot work, caught before anything is fetched: a
//! local directory that does not exist, a line naming an architecture
//! directory or an `APKINDEX.tar.gz` instead of the repository root.

use apk_repo::{Location, RepoLine};

/// Architecture directory names a repository root holds.
const ARCH_DIRS: &[&str] = &[
    "x86",
    "x86_64",
    "aarch64",
    "armhf",
    "armv7",
    "loongarch64",
    "ppc64le",
    "riscv64",
    "s390x",
    "noarch",
];

/// What is wrong with a repository line, or `None` when it may work.
pub fn repository_problem(line: &RepoLine) -> Option<String> {
    let last = match &line.location {
        Location::Local(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Location::Remote(u) => u
            .split(['?', '#'])
            .next()
            .unwrap_or(u)
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    // An apk v3 index named directly (`…/x86_64/Packages.adb`) is a
    // repository of its own, as apk-tools 3 reads such lines.
    if last.ends_with(".adb") {
        return match &line.location {
            Location::Local(p) if !p.is_file() => Some("does not exist".to_string()),
            _ => None,
        };
    }
    if last.ends_with(".tar.gz") || last == "APKINDEX" {
        return Some(format!(
            "names an index file; a repository is the directory that holds `<arch>/APKINDEX.tar.gz` (drop `/{}`)",
            strip_arch_suffix(&line.location, 2)
        ));
    }
    if ARCH_DIRS.contains(&last.as_str()) {
        return Some(format!(
            "names the architecture directory `{last}`; a repository is its parent, which holds `<arch>/APKINDEX.tar.gz` (drop `/{last}`)"
        ));
    }
    if let Location::Local(p) = &line.location {
        if !p.exists() {
            return Some("does not exist".to_string());
        }
        if !p.is_dir() {
            return Some("is not a directory".to_string());
        }
        if p.join("APKINDEX.tar.gz").is_file() || p.join("Packages.adb").is_file() {
            return Some(
                "holds an APKINDEX.tar.gz itself: it is an architecture directory; a repository is its parent".to_string(),
            );
        }
        let any_index = std::fs::read_dir(p)
            .map(|entries| {
                entries.flatten().any(|e| {
                    e.path().join("APKINDEX.tar.gz").is_file()
                        || e.path().join("Packages.adb").is_file()
                })
            })
            .unwrap_or(false);
        if !any_index {
            return Some(
                "holds no `<arch>/APKINDEX.tar.gz` or `<arch>/Packages.adb`: it is not a repository (make one with `apkforge index`)"
                    .to_string(),
            );
        }
    }
    None
}

/// The last `n` segments of a location, for hints.
fn strip_arch_suffix(location: &Location, n: usize) -> String {
    let text = location.to_string();
    let parts: Vec<&str> = text.rsplit('/').take(n).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_files_and_arch_directories_are_named() {
        let p = |s: &str| repository_problem(&RepoLine::parse(s));
        assert!(
            p("https://example.invalid/v3.19/main/x86_64/APKINDEX.tar.gz")
                .unwrap()
                .contains("x86_64/APKINDEX.tar.gz")
        );
        assert!(
            p("https://example.invalid/v3.19/main/x86_64")
                .unwrap()
                .contains("architecture directory `x86_64`")
        );
        assert_eq!(p("https://example.invalid/v3.19/main"), None);
        assert!(
            p("/no/such/dir/anywhere")
                .unwrap()
                .contains("does not exist")
        );
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().to_str().unwrap();
        assert!(p(s).unwrap().contains("holds no"));
        std::fs::create_dir(dir.path().join("aarch64")).unwrap();
        std::fs::write(dir.path().join("aarch64/APKINDEX.tar.gz"), b"").unwrap();
        assert_eq!(p(s), None);
        assert!(
            p(&format!("{s}/aarch64"))
                .unwrap()
                .contains("architecture directory")
        );
    }

    #[test]
    fn v3_indexes_are_repositories() {
        let p = |s: &str| repository_problem(&RepoLine::parse(s));
        assert_eq!(p("https://example.invalid/v3/x86_64/Packages.adb"), None);
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().to_str().unwrap();
        assert!(
            p(&format!("{s}/x86_64/Packages.adb"))
                .unwrap()
                .contains("does not exist")
        );
        std::fs::create_dir(dir.path().join("x86_64")).unwrap();
        std::fs::write(dir.path().join("x86_64/Packages.adb"), b"").unwrap();
        assert_eq!(p(s), None);
        assert_eq!(p(&format!("{s}/x86_64/Packages.adb")), None);
    }
}
