//! `apkforge package scan RECIPE`: melange's `scan`. The recipe's built
//! packages (`<repo>/<arch>/<name>-<version>-r<epoch>.apk`) are analysed
//! again and the `.PKGINFO` that gives is printed (subpackages first, as
//! melange prints them), or with `--diff` compared with the packages' own:
//! a difference is printed as a unified diff and fails the command.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::PackageScanArgs;
use crate::commands::package::compile_recipe;

pub fn run(args: &PackageScanArgs) -> Result<ExitCode> {
    let archs = if args.arch.is_empty() {
        vec!["x86_64".to_string()]
    } else {
        args.arch.clone()
    };
    let keyring = match &args.keyring {
        Some(k) => Some(crate::keyring::load(std::slice::from_ref(k))?),
        None => None,
    };
    let scratch = std::env::temp_dir();
    let mut out = std::io::stdout().lock();
    let mut saw_diff = false;
    let repo = args.repository.to_string_lossy().into_owned();
    let remote = repo.starts_with("http://") || repo.starts_with("https://");
    for arch in &archs {
        let recipe = compile_recipe(&args.recipe, Some(arch), &args.pipeline_dirs)?;
        let arch = recipe.arch.apk_name();
        let downloads;
        let dir = if remote {
            downloads = scratch::TempDir::new_in(&scratch, ".apkforge-scan-")?;
            download(&recipe, &repo, arch, downloads.path())?;
            downloads.path().to_path_buf()
        } else {
            args.repository.join(arch)
        };
        let scanned = pkgbuild::scan(&recipe, &dir, keyring.as_ref(), remote, &scratch)
            .with_context(|| format!("scanning the packages of `{}`", args.recipe.display()))?;
        // melange's order: the subpackages, then the main package.
        let (main, subs) = scanned.split_first().context("the recipe builds nothing")?;
        for s in subs.iter().chain(std::iter::once(main)) {
            for w in &s.warnings {
                eprintln!("warning: {}: {w}", s.name);
            }
            if args.diff {
                let old = found_name(&s.found, &s.name);
                let recipe_name = args.recipe.display().to_string();
                if let Some(d) = diff(&old, &s.found, &recipe_name, &s.generated, args.comments) {
                    saw_diff = true;
                    out.write_all(d.as_bytes())?;
                }
            } else if args.package.as_deref().is_none_or(|p| p == s.name) {
                out.write_all(&s.generated)?;
            }
        }
    }
    out.flush()?;
    if saw_diff {
        bail!("saw diff for {}", args.recipe.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Downloads the recipe's packages from `<repo>/<arch>/` into `dir`; a
/// subpackage the server does not have is left out, as melange does.
fn download(recipe: &recipe::CompiledRecipe, repo: &str, arch: &str, dir: &Path) -> Result<()> {
    let client = apk_repo::HttpClient::new(apk_repo::HttpClient::auth_from_env());
    let version = format!("{}-r{}", recipe.package.version, recipe.package.epoch);
    let mut names = vec![recipe.package.name.to_string()];
    names.extend(recipe.enabled_subpackages().map(|s| s.name.to_string()));
    for (i, name) in names.iter().enumerate() {
        let file_name = format!("{name}-{version}.apk");
        let url = format!("{}/{arch}/{file_name}", repo.trim_end_matches('/'));
        let path = dir.join(&file_name);
        let mut file = std::fs::File::create(&path)?;
        match client.get(&url, None, &mut file) {
            Ok(_) => {}
            Err(apk_repo::HttpError::Status { status: 404, .. }) if i > 0 => {
                eprintln!("warning: {url}: not found; {name} is not scanned");
                drop(file);
                std::fs::remove_file(&path)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `<pkgname>-<pkgver>.apk` from the package's own `.PKGINFO`.
fn found_name(pkginfo: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(pkginfo);
    let field = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    match (field("pkgname"), field("pkgver")) {
        (Some(n), Some(v)) => format!("{n}-{v}.apk"),
        _ => format!("{fallback}.apk"),
    }
}

/// A unified diff (3 lines of context) from `old` to `new`, `None` when
/// they are equal. Comment lines (`#`) are left out of the comparison
/// unless `comments`.
fn diff(old_name: &str, old: &[u8], new_name: &str, new: &[u8], comments: bool) -> Option<String> {
    if old == new {
        return None;
    }
    let lines = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| comments || !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let (x, y) = (lines(old), lines(new));
    if x == y {
        return None;
    }
    let ops = edit_script(&x, &y);
    let mut out = format!("diff {old_name} {new_name}\n--- {old_name}\n+++ {new_name}\n");
    const C: usize = 3;
    // Indexes of ops that change something.
    let changed: Vec<usize> = (0..ops.len())
        .filter(|&i| !matches!(ops[i], Op::Same(..)))
        .collect();
    let mut i = 0;
    while i < changed.len() {
        // A hunk: changes closer than 2*C lines apart belong together.
        let mut j = i;
        while j + 1 < changed.len() && changed[j + 1] - changed[j] <= 2 * C {
            j += 1;
        }
        let start = changed[i].saturating_sub(C);
        let end = (changed[j] + C + 1).min(ops.len());
        let (mut ox, mut oy) = (0, 0);
        for op in &ops[..start] {
            match op {
                Op::Same(..) => (ox, oy) = (ox + 1, oy + 1),
                Op::Del(_) => ox += 1,
                Op::Add(_) => oy += 1,
            }
        }
        let mut body = String::new();
        let (mut cx, mut cy) = (0, 0);
        for op in &ops[start..end] {
            match op {
                Op::Same(a, _) => {
                    body.push_str(&format!(" {}\n", x[*a]));
                    (cx, cy) = (cx + 1, cy + 1);
                }
                Op::Del(a) => {
                    body.push_str(&format!("-{}\n", x[*a]));
                    cx += 1;
                }
                Op::Add(b) => {
                    body.push_str(&format!("+{}\n", y[*b]));
                    cy += 1;
                }
            }
        }
        let first = |o: usize, c: usize| if c == 0 { o } else { o + 1 };
        out.push_str(&format!(
            "@@ -{},{cx} +{},{cy} @@\n{body}",
            first(ox, cx),
            first(oy, cy)
        ));
        i = j + 1;
    }
    Some(out)
}

#[derive(Debug, PartialEq, Eq)]
enum Op {
    Same(usize, usize),
    Del(usize),
    Add(usize),
}

/// The shortest edit script by longest common subsequence (`.PKGINFO`
/// files are a few dozen lines).
fn edit_script(x: &[String], y: &[String]) -> Vec<Op> {
    let (n, m) = (x.len(), y.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for a in (0..n).rev() {
        for b in (0..m).rev() {
            lcs[a][b] = if x[a] == y[b] {
                lcs[a + 1][b + 1] + 1
            } else {
                lcs[a + 1][b].max(lcs[a][b + 1])
            };
        }
    }
    let (mut a, mut b) = (0, 0);
    let mut ops = Vec::new();
    while a < n || b < m {
        if a < n && b < m && x[a] == y[b] {
            ops.push(Op::Same(a, b));
            (a, b) = (a + 1, b + 1);
        } else if a < n && (b == m || lcs[a + 1][b] >= lcs[a][b + 1]) {
            // Deletions before insertions, as diff(1) prints them.
            ops.push(Op::Del(a));
            a += 1;
        } else {
            ops.push(Op::Add(b));
            b += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_a_hunk_with_context() {
        let old = b"# c1\na\nb\nc\nd\ne\nf\ng\nh\n";
        let new = b"# c2\na\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(diff("o", old, "n", old, false), None);
        // Only the comment differs.
        assert_eq!(
            diff("o", old, "n", b"# c2\na\nb\nc\nd\ne\nf\ng\nh\n", false),
            None
        );
        assert_eq!(
            diff("o", old, "n", new, false).unwrap(),
            "diff o n\n--- o\n+++ n\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        let with = diff("o", old, "n", new, true).unwrap();
        assert!(
            with.contains("@@ -1,9 +1,9 @@\n-# c1\n+# c2\n a\n"),
            "{with}"
        );
        // A line added at the end.
        assert_eq!(
            diff("o", b"a\n", "n", b"a\nb\n", false).unwrap(),
            "diff o n\n--- o\n+++ n\n@@ -1,1 +1,2 @@\n a\n+b\n"
        );
    }
}
