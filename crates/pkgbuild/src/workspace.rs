//! Filling the workspace from the source directory as melange does: every
//! regular file (with its permission bits) and the directories holding
//! them, except what `.melangeignore` (gitignore-style patterns) excludes.

use std::path::{Path, PathBuf};

/// One `.melangeignore` pattern.
struct Pattern {
    glob: String,
    /// Only directories match (`dir/`).
    dir_only: bool,
    /// Matched against the whole relative path, not just the name.
    anchored: bool,
}

fn patterns(src: &Path) -> Vec<Pattern> {
    let Ok(text) = std::fs::read_to_string(src.join(".melangeignore")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let dir_only = l.ends_with('/');
            let l = l.trim_end_matches('/');
            let anchored = l.contains('/');
            Pattern {
                glob: l.trim_start_matches('/').to_string(),
                dir_only,
                anchored,
            }
        })
        .collect()
}

/// `*` (not across `/`), `**` (across), `?`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        [b'*', rest @ ..] => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob(rest, &s[i..])),
        [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && glob(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

fn ignored(patterns: &[Pattern], rel: &str, is_dir: bool) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    patterns.iter().any(|p| {
        (!p.dir_only || is_dir)
            && if p.anchored {
                glob(p.glob.as_bytes(), rel.as_bytes())
            } else {
                glob(p.glob.as_bytes(), name.as_bytes())
            }
    })
}

/// Copies `src` into `dest`, skipping the paths in `skip`.
pub fn populate(
    src: &Path,
    dest: &Path,
    skip: &[PathBuf],
) -> Result<(), (PathBuf, std::io::Error)> {
    let patterns = patterns(src);
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.canonicalize().ok()).collect();
    walk(src, dest, "", &patterns, &skip)
}

fn walk(
    dir: &Path,
    dest: &Path,
    rel: &str,
    patterns: &[Pattern],
    skip: &[PathBuf],
) -> Result<(), (PathBuf, std::io::Error)> {
    let err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| (p, e)
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err(dir))?
        .collect::<Result<_, _>>()
        .map_err(err(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ft = entry.file_type().map_err(err(&path))?;
        if ignored(patterns, &rel, ft.is_dir()) {
            continue;
        }
        if ft.is_dir() {
            if path.canonicalize().is_ok_and(|c| skip.contains(&c)) {
                continue;
            }
            walk(&path, dest, &rel, patterns, skip)?;
        } else if ft.is_file() {
            let target = dest.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(err(parent))?;
            }
            std::fs::copy(&path, &target).map_err(err(&target))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn melangeignore_patterns() {
        let pats = |s: &str| {
            s.lines()
                .map(|l| {
                    let dir_only = l.ends_with('/');
                    let l = l.trim_end_matches('/');
                    Pattern {
                        anchored: l.contains('/'),
                        glob: l.trim_start_matches('/').into(),
                        dir_only,
                    }
                })
                .collect::<Vec<_>>()
        };
        let p = pats("*.log\nbuild/\n/top.txt\ndocs/**/*.md");
        assert!(ignored(&p, "a/b/x.log", false));
        assert!(ignored(&p, "build", true));
        assert!(!ignored(&p, "build", false));
        assert!(ignored(&p, "top.txt", false));
        assert!(!ignored(&p, "sub/top.txt", false));
        assert!(ignored(&p, "docs/a/b/c.md", false));
        assert!(!ignored(&p, "src/main.c", false));
    }
}
