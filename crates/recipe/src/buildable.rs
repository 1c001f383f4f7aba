//! Checks melange makes before it builds (not when it loads or compiles a
//! recipe): the package version must parse as an apk version, with apko's
//! parser (`apk.ParseVersion`, which melange's `BuildPackage` calls). The
//! version becomes part of file names and of `.PKGINFO` and `APKINDEX`
//! lines, so `x/../../esc` or a newline must never get through.
//!
//! Beyond melange: metadata that becomes a `.PKGINFO`/`APKINDEX` value
//! (descriptions, URLs, commits, licenses) must be one line; a trailing line
//! break (YAML block scalars `|`) is allowed and dropped when packaging.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::compiled::CompiledRecipe;
use crate::error::{RecipeError, SourcePos};
use crate::text::Str;

/// apko's `versionRegex` (pkg/apk/apk/version.go), which melange uses.
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]+)((\.[0-9]+)*)([a-z]?)((_alpha|_beta|_pre|_rc)([0-9]*))?((_cvs|_svn|_git|_hg|_p)([0-9]*))?((-r)([0-9]+))?$",
    )
    .unwrap_or_else(|e| panic!("version pattern: {e}"))
});

/// Why `version` fails apko's `ParseVersion`, or `None` when it parses.
pub fn version_problem(version: &str) -> Option<&'static str> {
    if !VERSION.is_match(version) {
        return Some(
            "it must match ^[0-9]+(\\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc)[0-9]*)?(_(cvs|svn|git|hg|p)[0-9]*)?(-r[0-9]+)?$",
        );
    }
    // Go's strconv.Atoi: every number must fit in an int64.
    let numbers_fit = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .all(|n| n.parse::<i64>().is_ok());
    (!numbers_fit).then_some("a number in it does not fit in 64 bits")
}

fn at(s: &Str, file: &Arc<Path>) -> SourcePos {
    SourcePos::new(file, s.line, s.column)
}

fn one_line(what: &str, s: &Str, file: &Arc<Path>) -> Result<(), RecipeError> {
    if s.trim_end_matches(['\n', '\r'])
        .contains(['\n', '\r', '\0'])
    {
        return Err(RecipeError::invalid(
            at(s, file),
            format!("{what} must be a single line (it becomes a .PKGINFO and APKINDEX value)"),
        ));
    }
    Ok(())
}

/// Checks a compiled recipe before it is built: the version as melange
/// checks it, and single-line package metadata. Errors point at `file`'s
/// line and column.
pub fn check_buildable(recipe: &CompiledRecipe, file: &Path) -> Result<(), RecipeError> {
    let file: Arc<Path> = Arc::from(file);
    let p = &recipe.package;
    if let Some(problem) = version_problem(&p.version) {
        return Err(RecipeError::invalid(
            at(&p.version, &file),
            format!(
                "unable to parse version `{}`: {problem}",
                p.version.escape_debug()
            ),
        ));
    }
    one_line("package.description", &p.description, &file)?;
    one_line("package.url", &p.url, &file)?;
    one_line("package.commit", &p.commit, &file)?;
    for c in &p.copyright {
        one_line("package.copyright.license", &c.license, &file)?;
    }
    for s in &recipe.subpackages {
        one_line("subpackage description", &s.description, &file)?;
        one_line("subpackage url", &s.url, &file)?;
        one_line("subpackage commit", &s.commit, &file)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_apko_parses_them() {
        for ok in [
            "1",
            "1.2.3",
            "1.2.3a",
            "1.0_rc1",
            "1.0_p2",
            "1.0_beta_git20240101",
            "2.1-r3",
            "0.0.0_alpha",
        ] {
            assert_eq!(version_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "world",
            "x/../../esc",
            "1.0\nP:evil",
            "1.0/x",
            "1.0-r1-r2",
            "1.0_p1_rc1",
            "1.2.3~abc",
            "v1.0",
            "1.0 ",
        ] {
            assert!(version_problem(bad).is_some(), "{bad:?}");
        }
        assert!(version_problem("99999999999999999999").is_some());
    }
}
