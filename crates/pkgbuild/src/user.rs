//! Who steps run as, with which capabilities, for how long: melange's
//! `environment.accounts.run-as`, `capabilities:` and `package.timeout`.

use std::time::Duration;

use recipe::{CompiledRecipe, Environment};

use crate::PkgBuildError;

/// The uid and gid steps run as: `run-as` (a user name or uid; `root` and
/// `0` are root) or else the `build` user of `environment.accounts`
/// (uid/gid 1000 unless the recipe defines it otherwise).
pub fn run_as(env: &Environment) -> Result<(u32, u32), PkgBuildError> {
    let users = &env.accounts.users;
    let gid_of = |uid: u32, gid: Option<u32>| gid.unwrap_or(uid);
    let run_as = env.accounts.run_as.trim();
    if run_as.is_empty() {
        return Ok(users
            .iter()
            .find(|u| u.username == "build")
            .map_or((1000, 1000), |u| (u.uid, gid_of(u.uid, u.gid))));
    }
    if run_as == "root" || run_as == "0" {
        return Ok((0, 0));
    }
    if let Ok(uid) = run_as.parse::<u32>() {
        let gid = users
            .iter()
            .find(|u| u.uid == uid)
            .map_or(uid, |u| gid_of(u.uid, u.gid));
        return Ok((uid, gid));
    }
    users
        .iter()
        .find(|u| u.username == run_as)
        .map(|u| (u.uid, gid_of(u.uid, u.gid)))
        .ok_or_else(|| PkgBuildError::Recipe {
            at: crate::at(&env.accounts.run_as),
            reason: format!(
                "run-as `{run_as}` is not a user of environment.accounts (users: {})",
                users
                    .iter()
                    .map(|u| u.username.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// melange's default capabilities plus the recipe's `capabilities.add`,
/// minus its `capabilities.drop`.
pub fn capabilities(recipe: &CompiledRecipe) -> Result<Vec<String>, PkgBuildError> {
    let names = |v: &[recipe::Str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let c = &recipe.capabilities;
    sandbox::capabilities(&names(&c.add), &names(&c.drop)).map_err(|bad| {
        let at = c
            .add
            .iter()
            .chain(&c.drop)
            .find(|s| s.as_str() == bad)
            .map_or_else(String::new, crate::at);
        PkgBuildError::Recipe {
            at,
            reason: format!("`{bad}` is not a Linux capability"),
        }
    })
}

/// `package.timeout`: a Go duration (`1h30m`, `90s`, `1.5h`) or a number
/// of nanoseconds, as yaml.v3 decodes a `time.Duration`. Zero or empty is
/// no timeout.
pub fn timeout(recipe: &CompiledRecipe) -> Result<Option<Duration>, PkgBuildError> {
    let text = recipe.package.timeout.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let d = parse_duration(text).ok_or_else(|| PkgBuildError::Recipe {
        at: crate::at(&recipe.package.timeout),
        reason: format!("timeout `{text}` is not a duration (e.g. `90m`, `2h30m`)"),
    })?;
    Ok((!d.is_zero()).then_some(d))
}

/// A Go `time.ParseDuration` string, or an integer of nanoseconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    if let Ok(ns) = text.parse::<u64>() {
        return Some(Duration::from_nanos(ns));
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h30m"), Some(Duration::from_secs(9000)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1000000000"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration("h"), None);
    }
}
