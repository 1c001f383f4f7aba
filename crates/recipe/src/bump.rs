//! `melange bump`: a recipe moved to a new version by editing its text in
//! place (everything else, comments and layout included, stays as
//! written): `package.version` becomes the new version (double-quoted),
//! `package.epoch` goes back to 0 (or up by one when the version does not
//! change), `fetch` steps get the checksums of what their URI now names,
//! and `git-checkout` steps the given `expected-commit`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{RecipeError, SourcePos};
use crate::pipeline::Step;
use crate::subst::{Mode, substitute};
use crate::text::Str;
use crate::types::Recipe;
use crate::vars::package_scope;

/// A replacement of the text between two byte offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Start offset.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// The new text.
    pub text: String,
}

/// A `fetch` step whose checksums must be computed from its new URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchToUpdate {
    /// The URI with the new version substituted.
    pub uri: String,
    /// Where the step is written.
    pub at: SourcePos,
    /// Extent of `expected-sha256`'s value, when the step has one.
    pub sha256: Option<(usize, usize)>,
    /// Extent of `expected-sha512`'s value, when the step has one.
    pub sha512: Option<(usize, usize)>,
}

/// What bumping a recipe changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BumpPlan {
    /// Edits of version, epoch and expected commits.
    pub edits: Vec<Edit>,
    /// The new epoch.
    pub epoch: u64,
    /// `fetch` steps to download, in pipeline order.
    pub fetches: Vec<FetchToUpdate>,
}

/// Byte offset of a 1-based line and character column.
fn offset(text: &str, line: u64, column: u64) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line as usize - 2)?.0 + 1
    };
    let rest = &text[start..];
    let col = rest
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(rest.len(), |(i, _)| i);
    Some(start + col)
}

/// The byte extent of the scalar that starts at `start`: a quoted string
/// with its quotes, or a plain scalar up to a comment or the line's end.
fn scalar_extent(text: &str, start: usize) -> (usize, usize) {
    let b = text.as_bytes();
    match b.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            (start, (i + 1).min(b.len()))
        }
        Some(b'\'') => {
            let mut i = start + 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            (start, (i + 1).min(b.len()))
        }
        _ => {
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let line = &text[start..line_end];
            let end = line.find(" #").map_or(line_end, |i| start + i);
            (start, start + text[start..end].trim_end().len())
        }
    }
}

fn extent_of(text: &str, s: &Str) -> Option<(usize, usize)> {
    if s.line == 0 {
        return None;
    }
    let start = offset(text, s.line, s.column)?;
    Some(scalar_extent(text, start))
}

/// The extent of `epoch:`'s value in the top-level `package:` mapping.
fn epoch_extent(text: &str) -> Option<(usize, usize)> {
    let mut in_package = false;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if !content.starts_with([' ', '\t'])
            && !content.trim().is_empty()
            && !content.starts_with('#')
        {
            in_package = content.trim_end() == "package:" || content.starts_with("package:");
            continue;
        }
        if !in_package {
            continue;
        }
        let trimmed = content.trim_start();
        if let Some(rest) = trimmed.strip_prefix("epoch:") {
            let value_start =
                start + (content.len() - rest.len()) + (rest.len() - rest.trim_start().len());
            return Some(scalar_extent(text, value_start));
        }
    }
    None
}

/// Whether a `git-checkout` tag follows `package.version` (directly or
/// through a var or var-transform), as melange decides it.
fn depends_on_version(tag: &str, recipe: &Recipe) -> bool {
    const V: &str = "${{package.version}}";
    if tag.contains(V) {
        return true;
    }
    let mut rest = tag;
    while let Some(i) = rest.find("${{vars.") {
        let after = &rest[i + "${{vars.".len()..];
        let Some(end) = after.find("}}") else { break };
        let name = &after[..end];
        if recipe.vars.get(name).is_some_and(|v| v.contains(V))
            || recipe
                .var_transforms
                .iter()
                .any(|t| t.to.as_str() == name && t.from.contains(V))
        {
            return true;
        }
        rest = &after[end..];
    }
    false
}

fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
    for s in steps {
        out.push(s);
        walk(&s.pipeline, out);
    }
}

/// Plans moving the recipe `text` (read from `file`) to `version`, with
/// `expected_commit` for its `git-checkout` steps when given.
pub fn plan(
    text: &str,
    file: &Path,
    version: &str,
    expected_commit: Option<&str>,
) -> Result<BumpPlan, RecipeError> {
    let file: Arc<Path> = Arc::from(file);
    let version = version.trim();
    if version.is_empty() || version.contains(char::is_whitespace) || version.contains("${{") {
        return Err(RecipeError::Invalid {
            at: SourcePos::file_only(&file),
            message: format!("`{version}` is not a version to bump to"),
        });
    }
    let mut recipe = Recipe::parse_bytes(text.as_bytes(), &file)?;
    let here = |s: &Str| SourcePos::in_file(&file, s.line, s.column);
    let Some(version_at) = extent_of(text, &recipe.package.version) else {
        return Err(RecipeError::Invalid {
            at: SourcePos::file_only(&file),
            message: "the recipe has no `package.version` to bump".into(),
        });
    };
    let Some(epoch_at) = epoch_extent(text) else {
        return Err(RecipeError::Invalid {
            at: here(&recipe.package.version),
            message: "the recipe has no `package.epoch` to bump".into(),
        });
    };
    let epoch = if recipe.package.version.as_str() == version {
        recipe.package.epoch + 1
    } else {
        0
    };
    let mut edits = vec![
        Edit {
            start: version_at.0,
            end: version_at.1,
            text: format!("\"{version}\""),
        },
        Edit {
            start: epoch_at.0,
            end: epoch_at.1,
            text: epoch.to_string(),
        },
    ];
    // Evaluate URIs with the new version and epoch.
    recipe.package.version = recipe.package.version.with_value(version.to_string());
    recipe.package.epoch = epoch;
    let scope = package_scope(&recipe, &BTreeMap::new(), &file)?;
    let mut steps = Vec::new();
    walk(&recipe.pipeline, &mut steps);
    let mut fetches = Vec::new();
    let checkouts: Vec<&&Step> = steps
        .iter()
        .filter(|s| s.uses.as_str() == "git-checkout")
        .collect();
    for step in &steps {
        let with = step.with.clone().unwrap_or_default();
        if step.uses.as_str() == "fetch" {
            let Some(uri) = with.get("uri") else { continue };
            fetches.push(FetchToUpdate {
                uri: substitute(uri, &scope, Mode::Keep, &file)?,
                at: here(uri),
                sha256: with.get("expected-sha256").and_then(|s| extent_of(text, s)),
                sha512: with.get("expected-sha512").and_then(|s| extent_of(text, s)),
            });
        }
    }
    if let Some(commit) = expected_commit {
        for step in &checkouts {
            let with = step.with.clone().unwrap_or_default();
            let versioned = with
                .get("tag")
                .is_none_or(|t| depends_on_version(t, &recipe));
            if checkouts.len() > 1 && !versioned {
                continue;
            }
            if let Some(c) = with.get("expected-commit")
                && !c.contains("${{")
                && let Some((start, end)) = extent_of(text, c)
            {
                edits.push(Edit {
                    start,
                    end,
                    text: commit.to_string(),
                });
            }
        }
    }
    Ok(BumpPlan {
        edits,
        epoch,
        fetches,
    })
}

/// Applies edits (in any order; they must not overlap).
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut out = text.to_string();
    for e in sorted {
        out.replace_range(e.start..e.end, &e.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = "package:\n  name: hello # the greeter\n  version: 1.0.0  # upstream\n  epoch: 3\n  description: hi\npipeline:\n  - uses: fetch\n    with:\n      uri: https://example.org/hello-${{package.version}}.tar.gz\n      expected-sha256: 'aaaa'\n  - uses: git-checkout\n    with:\n      repository: https://example.org/x\n      tag: v${{package.version}}\n      expected-commit: 0123\n";

    #[test]
    fn edits_keep_everything_else() {
        let plan = plan(RECIPE, Path::new("r.yaml"), "1.2.0", Some("4567")).unwrap();
        assert_eq!(plan.epoch, 0);
        assert_eq!(
            plan.fetches[0].uri,
            "https://example.org/hello-1.2.0.tar.gz"
        );
        let (s, e) = plan.fetches[0].sha256.unwrap();
        assert_eq!(&RECIPE[s..e], "'aaaa'");
        let mut edits = plan.edits.clone();
        edits.push(Edit {
            start: s,
            end: e,
            text: "bbbb".into(),
        });
        let out = apply(RECIPE, &edits);
        assert_eq!(
            out,
            RECIPE
                .replace("version: 1.0.0  #", "version: \"1.2.0\"  #")
                .replace("epoch: 3", "epoch: 0")
                .replace("'aaaa'", "bbbb")
                .replace("expected-commit: 0123", "expected-commit: 4567")
        );
        // The same version again: the epoch goes up.
        let plan = super::plan(RECIPE, Path::new("r.yaml"), "1.0.0", None).unwrap();
        assert_eq!(plan.epoch, 4);
        assert_eq!(plan.edits.len(), 2);
    }

    #[test]
    fn a_recipe_without_epoch_or_a_bad_version_is_refused() {
        let no_epoch = RECIPE.replace("  epoch: 3\n", "");
        let e = plan(&no_epoch, Path::new("r.yaml"), "2", None).unwrap_err();
        assert!(e.to_string().contains("epoch"), "{e}");
        let e = plan(RECIPE, Path::new("r.yaml"), "1 2", None).unwrap_err();
        assert!(e.to_string().contains("not a version"), "{e}");
    }
}
