//! The variables every part of a recipe sees: `package.*`, `vars.*` and
//! the vars made by `var-transforms`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::error::{RecipeError, SourcePos};
use crate::subst::{Mode, Scope, pos_in, substitute};
use crate::text::Str;
use crate::types::Recipe;

/// Builds the scope melange substitutes when it parses a recipe
/// (`buildConfigMap` + `PerformVarSubstitutions`): package name, version,
/// epoch, full version and description, every var (with `overrides`
/// replacing the recipe's values) and the var-transforms, in order.
///
/// Unlike melange, a var may refer to `package.*` and to other vars.
pub(crate) fn package_scope(
    recipe: &Recipe,
    overrides: &BTreeMap<String, String>,
    file: &Arc<Path>,
) -> Result<Scope, RecipeError> {
    let pkg = &recipe.package;
    for (what, s) in [("name", &pkg.name), ("version", &pkg.version)] {
        if s.contains("${{") {
            return Err(RecipeError::invalid(
                pos_in(s, 0, file),
                format!("package {what} cannot contain substitutions"),
            ));
        }
    }
    let mut scope = Scope::default();
    scope.set("package.name", pkg.name.as_str());
    scope.set("package.version", pkg.version.as_str());
    scope.set("package.epoch", pkg.epoch.to_string());
    scope.set(
        "package.full-version",
        format!("{}-r{}", pkg.version, pkg.epoch),
    );
    scope.set("package.description", "");

    let mut raw: BTreeMap<&str, Str> = recipe
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in overrides {
        raw.insert(k.as_str(), Str::new(v.clone()));
    }
    let mut resolver = VarResolver {
        raw: &raw,
        done: BTreeMap::new(),
        visiting: HashSet::new(),
        file,
    };
    for name in raw.keys() {
        resolver.resolve(name, &scope)?;
    }
    for (name, value) in resolver.done {
        scope.set(format!("vars.{name}"), value);
    }

    for t in &recipe.var_transforms {
        let from = substitute(&t.from, &scope, Mode::Strict, file)?;
        let re = Regex::new(&t.match_).map_err(|e| {
            RecipeError::invalid(
                pos_in(&t.match_, 0, file),
                format!(
                    "var-transform `match` is not a valid regular expression: {}",
                    first_line(&e.to_string())
                ),
            )
        })?;
        if t.to.is_empty() {
            return Err(RecipeError::invalid(
                pos_in(&t.match_, 0, file),
                "var-transform has no `to`",
            ));
        }
        // Go's Regexp.ReplaceAllString and the regex crate expand `$1`,
        // `${1}`, `$name`, `${name}` and `$$` alike (the longest run of
        // letters, digits and `_` is the name; a `$` not followed by a name
        // is kept).
        let output = re.replace_all(&from, t.replace.as_str()).into_owned();
        scope.set(format!("vars.{}", t.to), output);
    }

    let description = substitute(&pkg.description, &scope, Mode::Lenient, file)?;
    scope.set("package.description", description);
    Ok(scope)
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| s.lines().next().unwrap_or(s))
}

struct VarResolver<'a> {
    raw: &'a BTreeMap<&'a str, Str>,
    done: BTreeMap<String, String>,
    visiting: HashSet<String>,
    file: &'a Arc<Path>,
}

impl VarResolver<'_> {
    fn resolve(&mut self, name: &str, base: &Scope) -> Result<(), RecipeError> {
        if self.done.contains_key(name) {
            return Ok(());
        }
        let text = &self.raw[name];
        if !text.contains("${{") {
            self.done.insert(name.to_string(), text.value.clone());
            return Ok(());
        }
        if !self.visiting.insert(name.to_string()) {
            return Err(RecipeError::invalid(
                pos_in(text, 0, self.file),
                format!("var `{name}` refers to itself"),
            ));
        }
        // Resolve the vars this one mentions first.
        let mut rest = text.value.as_str();
        while let Some(i) = rest.find("${{vars.") {
            let tail = &rest[i + 8..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .unwrap_or(tail.len());
            let dep = &tail[..end];
            if self.raw.contains_key(dep) {
                self.resolve(dep, base)?;
            }
            rest = &tail[end..];
        }
        let mut scope = base.clone();
        for (k, v) in &self.done {
            scope.set(format!("vars.{k}"), v.clone());
        }
        let value = substitute(text, &scope, Mode::Strict, self.file)?;
        self.visiting.remove(name);
        self.done.insert(name.to_string(), value);
        Ok(())
    }
}

/// `SourcePos` of a scalar, or of the file.
pub(crate) fn at(s: &Str, file: &Arc<Path>) -> SourcePos {
    pos_in(s, 0, file)
}
