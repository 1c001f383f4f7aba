//! `/etc/passwd`, `/etc/group` and `/etc/shadow` as apko writes them.

use crate::layer::read_small;
use crate::tree::{Tree, TreeError};

/// A user to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Numeric uid (never 0: root exists already).
    pub uid: u32,
    /// Primary gid (defaults to the uid).
    pub gid: Option<u32>,
    /// Login shell (default `/bin/sh`).
    pub shell: Option<String>,
    /// Home directory (default `/home/<name>`).
    pub home: Option<String>,
}

/// A group to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Numeric gid.
    pub gid: u32,
    /// Member user names.
    pub members: Vec<String>,
}

fn append_lines(existing: Option<Vec<u8>>, lines: &[String]) -> Vec<u8> {
    let mut out = existing.unwrap_or_default();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Adds users and groups. `/etc/passwd` is always present afterwards (even
/// empty); `/etc/group` and `/etc/shadow` only change when there is
/// something to add. Home directories are created 0700, owned by the user.
pub fn apply_accounts(tree: &mut Tree, users: &[User], groups: &[Group]) -> Result<(), TreeError> {
    let passwd = read_small(tree, "etc/passwd");
    if !users.is_empty() || passwd.is_none() {
        let lines: Vec<String> = users
            .iter()
            .map(|u| {
                format!(
                    "{}:x:{}:{}:Account created by apkforge:{}:{}",
                    u.name,
                    u.uid,
                    u.gid.unwrap_or(u.uid),
                    home_of(u),
                    u.shell.as_deref().unwrap_or("/bin/sh")
                )
            })
            .collect();
        let mode = tree.get("etc/passwd").map_or(0o644, |n| n.mode);
        tree.write_file("etc/passwd", append_lines(passwd, &lines), mode, 0)?;
    }
    if !groups.is_empty() {
        let existing = read_small(tree, "etc/group");
        let lines: Vec<String> = groups
            .iter()
            .map(|g| format!("{}:x:{}:{}", g.name, g.gid, g.members.join(",")))
            .collect();
        let mode = tree.get("etc/group").map_or(0o644, |n| n.mode);
        tree.write_file("etc/group", append_lines(existing, &lines), mode, 0)?;
    }
    if !users.is_empty() {
        let existing = read_small(tree, "etc/shadow");
        let lines: Vec<String> = users
            .iter()
            .map(|u| format!("{}:!:::::::", u.name))
            .collect();
        let mode = tree.get("etc/shadow").map_or(0o640, |n| n.mode);
        tree.write_file("etc/shadow", append_lines(existing, &lines), mode, 0)?;
    }
    for u in users {
        let home = home_of(u);
        let rel = home.trim_start_matches('/');
        if rel.is_empty() || tree.get(rel).is_some() {
            continue;
        }
        if let Some((parent, _)) = rel.rsplit_once('/') {
            tree.mkdir_all(parent, 0o755, 0)?;
        }
        tree.mkdir_all(rel, 0o700, 0)?;
        if let Some(n) = tree.get_mut(rel) {
            n.uid = u.uid;
            n.gid = u.gid.unwrap_or(u.uid);
        }
    }
    Ok(())
}

fn home_of(u: &User) -> String {
    u.home
        .clone()
        .unwrap_or_else(|| format!("/home/{}", u.name))
}

/// Resolves `run-as` (a name or a number) to a numeric uid using the
/// image's final `/etc/passwd`. Unknown names are returned unchanged.
pub fn resolve_run_as(tree: &Tree, run_as: &str) -> String {
    if run_as.parse::<u32>().is_ok() {
        return run_as.to_string();
    }
    let (user, group) = match run_as.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (run_as, None),
    };
    let passwd = read_small(tree, "etc/passwd").unwrap_or_default();
    let uid = String::from_utf8_lossy(&passwd).lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[0] == user).then(|| f[2].to_string())
    });
    match (uid, group) {
        (Some(uid), Some(g)) => format!("{uid}:{g}"),
        (Some(uid), None) => uid,
        (None, _) => run_as.to_string(),
    }
}
