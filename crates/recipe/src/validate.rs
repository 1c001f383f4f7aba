//! melange's checks of a parsed recipe (`Configuration.validate`), and the
//! `range:` expansion they need.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::error::RecipeError;
use crate::pipeline::Step;
use crate::subst::{Mode, Scope, substitute};
use crate::text::Str;
use crate::types::{Cpe, Dependencies, Recipe, SetCap, Subpackage};
use crate::vars::{at, package_scope};

/// One subpackage after `range:` expansion.
pub(crate) struct Expanded<'a> {
    /// The subpackage as written.
    pub sp: &'a Subpackage,
    /// `package.*`, `vars.*` and, for ranged subpackages, `range.key` and
    /// `range.value`.
    pub scope: Scope,
    /// The substituted name.
    pub name: Str,
}

/// Expands ranged subpackages: one per item of the named `data:` entry, in
/// key order.
pub(crate) fn expand_subpackages<'a>(
    recipe: &'a Recipe,
    scope: &Scope,
    file: &Arc<Path>,
) -> Result<Vec<Expanded<'a>>, RecipeError> {
    let data: HashMap<&str, &BTreeMap<String, Str>> = recipe
        .data
        .iter()
        .map(|d| (d.name.as_str(), &d.items))
        .collect();
    let mut out = Vec::new();
    for sp in &recipe.subpackages {
        if sp.range.is_empty() {
            let name = sp
                .name
                .with_value(substitute(&sp.name, scope, Mode::Strict, file)?);
            out.push(Expanded {
                sp,
                scope: scope.clone(),
                name,
            });
            continue;
        }
        let Some(items) = data.get(sp.range.as_str()) else {
            return Err(RecipeError::invalid(
                at(&sp.range, file),
                format!(
                    "subpackage `{}` ranges over undefined data `{}`",
                    sp.name, sp.range
                ),
            ));
        };
        for (key, value) in items.iter() {
            let mut scope = scope.clone();
            scope.set("range.key", key.as_str());
            scope.set("range.value", value.as_str());
            let name = sp
                .name
                .with_value(substitute(&sp.name, &scope, Mode::Strict, file)?);
            out.push(Expanded { sp, scope, name });
        }
    }
    Ok(out)
}

/// Validates a parsed recipe as melange does when loading it.
pub(crate) fn validate(recipe: &Recipe, file: &Arc<Path>) -> Result<(), RecipeError> {
    let scope = package_scope(recipe, &BTreeMap::new(), file)?;
    let subpackages = expand_subpackages(recipe, &scope, file)?;
    validate_expanded(recipe, &scope, &subpackages, file)
}

pub(crate) fn validate_expanded(
    recipe: &Recipe,
    scope: &Scope,
    subpackages: &[Expanded<'_>],
    file: &Arc<Path>,
) -> Result<(), RecipeError> {
    let pkg = &recipe.package;
    if !valid_package_name(&pkg.name) {
        return Err(RecipeError::invalid(
            at(&pkg.name, file),
            format!(
                "package name `{}` must match ^[a-zA-Z\\d][a-zA-Z\\d+_.-]*$",
                pkg.name
            ),
        ));
    }
    if pkg.version.is_empty() {
        return Err(RecipeError::invalid(
            at(&pkg.version, file),
            "package version must not be empty",
        ));
    }
    check_priorities(&pkg.dependencies, scope, file)?;
    check_steps(&recipe.pipeline, file)?;
    check_setcap(&pkg.setcap, file)?;

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, exp) in subpackages.iter().enumerate() {
        let name = exp.name.as_str();
        if name == pkg.name.as_str() {
            return Err(RecipeError::invalid(
                at(&exp.name, file),
                format!("subpackage `{name}` has the same name as the main package"),
            ));
        }
        if let Some(first) = seen.insert(name, i) {
            return Err(RecipeError::invalid(
                at(&exp.name, file),
                format!("duplicate subpackage name `{name}` (subpackages {first} and {i})"),
            ));
        }
        if !valid_package_name(name) {
            return Err(RecipeError::invalid(
                at(&exp.name, file),
                format!("subpackage name `{name}` must match ^[a-zA-Z\\d][a-zA-Z\\d+_.-]*$"),
            ));
        }
        check_priorities(&exp.sp.dependencies, &exp.scope, file)?;
        check_steps(&exp.sp.pipeline, file)?;
        check_setcap(&exp.sp.setcap, file)?;
    }
    if let Some(test) = &recipe.test {
        check_steps(&test.pipeline, file)?;
    }
    for sp in &recipe.subpackages {
        if let Some(test) = &sp.test {
            check_steps(&test.pipeline, file)?;
        }
    }
    check_cpe(&pkg.cpe, file)
}

/// melange's package name rule, `^[a-zA-Z\d][a-zA-Z\d+_.-]*$`.
pub(crate) fn valid_package_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
}

fn check_priorities(
    deps: &Dependencies,
    scope: &Scope,
    file: &Arc<Path>,
) -> Result<(), RecipeError> {
    for p in [&deps.provider_priority, &deps.replaces_priority] {
        let value = substitute(p, scope, Mode::Strict, file)?;
        if !value.is_empty() && value.parse::<i64>().is_err() {
            return Err(RecipeError::invalid(
                at(p, file),
                format!("priority `{value}` must be an integer"),
            ));
        }
    }
    Ok(())
}

/// `uses`, `with` and `runs` combinations (`validatePipelines`).
fn check_steps(steps: &[Step], file: &Arc<Path>) -> Result<(), RecipeError> {
    for step in steps {
        let (line, column) = step.anchor();
        let here = crate::error::SourcePos::in_file(file, line, column);
        if step.with.is_some() && step.uses.is_empty() {
            return Err(RecipeError::invalid(
                here,
                format!("{} has `with` but no `uses`", step.identity()),
            ));
        }
        if !step.uses.is_empty() && !step.runs.is_empty() {
            return Err(RecipeError::invalid(
                here,
                format!("{} cannot have both `uses` and `runs`", step.identity()),
            ));
        }
        if step.with.as_ref().is_some_and(|w| !w.is_empty()) && !step.runs.is_empty() {
            return Err(RecipeError::invalid(
                here,
                format!("{} cannot have both `with` and `runs`", step.identity()),
            ));
        }
        check_steps(&step.pipeline, file)?;
    }
    Ok(())
}

const CAPABILITIES: [&str; 5] = [
    "cap_net_bind_service",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_sys_admin",
];

fn check_setcap(setcap: &[SetCap], file: &Arc<Path>) -> Result<(), RecipeError> {
    for cap in setcap {
        for (names, value) in &cap.add {
            for name in names.split(',') {
                if !CAPABILITIES.contains(&name) {
                    return Err(RecipeError::invalid(
                        at(value, file),
                        format!(
                            "invalid capability `{name}` for path `{}` (valid: {})",
                            cap.path,
                            CAPABILITIES.join(", ")
                        ),
                    ));
                }
            }
        }
        if cap.reason.is_empty() {
            return Err(RecipeError::invalid(
                at(&cap.path, file),
                format!("capabilities of `{}` need a `reason`", cap.path),
            ));
        }
    }
    Ok(())
}

fn check_cpe(cpe: &Cpe, file: &Arc<Path>) -> Result<(), RecipeError> {
    if !cpe.part.is_empty() && cpe.part != "a" && cpe.part != "o" {
        return Err(RecipeError::invalid(
            at(&cpe.part, file),
            format!("invalid CPE part `{}` (must be `a` or `o`)", cpe.part),
        ));
    }
    if cpe.vendor.is_empty() != cpe.product.is_empty() {
        let s = if cpe.vendor.is_empty() {
            &cpe.product
        } else {
            &cpe.vendor
        };
        return Err(RecipeError::invalid(
            at(s, file),
            "CPE vendor and product must each be set if the other is set",
        ));
    }
    for (what, s) in [
        ("vendor", &cpe.vendor),
        ("product", &cpe.product),
        ("edition", &cpe.edition),
        ("language", &cpe.language),
        ("sw_edition", &cpe.sw_edition),
        ("target_sw", &cpe.target_sw),
        ("target_hw", &cpe.target_hw),
        ("other", &cpe.other),
    ] {
        if s.is_empty() {
            continue;
        }
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+_.-".contains(c));
        if !first_ok || !rest_ok || s.as_str() == "*" {
            return Err(RecipeError::invalid(
                at(s, file),
                format!("invalid CPE {what} `{s}` (must match ^[a-z\\d][a-z\\d+_.-]*$)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        for ok in ["a", "py3-foo", "libstdc++", "a_b.c-1"] {
            assert!(valid_package_name(ok), "{ok}");
        }
        for bad in ["", "-a", "boost-\"mobile\"", "a b", "é"] {
            assert!(!valid_package_name(bad), "{bad}");
        }
    }
}
