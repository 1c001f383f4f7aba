//! Busybox applet links, as apko makes them: from `/etc/busybox-paths.d/*`
//! when the busybox package ships such a list, otherwise from a built-in
//! table of every applet of each busybox release (older packages, e.g.
//! Alpine 3.13's, have no list).

use apk_format::record::PackageRecord;

use crate::layer::read_small;
use crate::tree::{Node, NodeKind, Tree, TreeError};

/// `[version]` sections of applet paths, generated from busybox's sources
/// by `scripts/busybox-applets.py`.
const TABLE: &str = include_str!("busybox_applets.txt");

/// The applet paths of busybox `version` (`1.32.1-r6`): its release's
/// section of the table, or the newest section for a release the table
/// does not have.
pub fn table_applets(version: &str) -> Vec<&'static str> {
    let release = base_release(version);
    let mut sections: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in TABLE.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(v) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((v, Vec::new()));
        } else if let Some((_, paths)) = sections.last_mut() {
            paths.push(line);
        }
    }
    let chosen = sections
        .iter()
        .position(|(v, _)| Some(*v) == release.as_deref())
        .unwrap_or(sections.len().saturating_sub(1));
    sections.swap_remove(chosen).1
}

/// `1.32.1` of `1.32.1-r6` (or `v1.32.1`), `None` for other shapes.
fn base_release(version: &str) -> Option<String> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let core = v.split_once('-').map_or(v, |(c, _)| c);
    let parts: Vec<&str> = core.split('.').collect();
    (parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then(|| core.to_string())
}

/// If `/bin/busybox` exists, creates a symlink to it for every applet path
/// listed in `/etc/busybox-paths.d/*`, or, without such lists, for every
/// applet of the installed busybox release (the package named `busybox`,
/// else one providing `busybox*`). Existing entries are left alone;
/// parents get busybox's mtime. Returns how many links were made.
pub fn link_applets(tree: &mut Tree, installed: &[PackageRecord]) -> Result<usize, TreeError> {
    let Some(bb) = tree.get("bin/busybox") else {
        return Ok(0);
    };
    let mtime = bb.mtime;
    let lists: Vec<String> = tree
        .children_of("etc/busybox-paths.d")
        .map(|(p, _)| p.to_string())
        .collect();
    let mut paths: Vec<String> = Vec::new();
    for list in &lists {
        if let Some(text) = read_small(tree, list) {
            paths.extend(String::from_utf8_lossy(&text).lines().map(str::to_string));
        }
    }
    if lists.is_empty() {
        let version = installed
            .iter()
            .find(|p| p.name == "busybox")
            .or_else(|| {
                installed
                    .iter()
                    .find(|p| p.provides.iter().any(|d| d.name.contains("busybox")))
            })
            .map(|p| p.version.as_str());
        if let Some(version) = version {
            paths.extend(table_applets(version).into_iter().map(str::to_string));
        }
    }
    let mut added = 0;
    for line in paths {
        let Ok(Some(path)) = crate::tree::normalize(line.trim().trim_start_matches('/')) else {
            continue;
        };
        if path == "bin/busybox" || !path.contains('/') || tree.get(&path).is_some() {
            continue;
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            tree.mkdir_all(parent, 0o755, mtime)?;
        }
        tree.insert(
            &path,
            Node::new(NodeKind::Symlink("/bin/busybox".into()), 0o777, mtime),
        );
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_pick_their_section_and_unknown_ones_the_newest() {
        let old = table_applets("1.32.1-r6");
        assert!(old.contains(&"/bin/cat") && old.contains(&"/bin/ls"));
        assert!(old.contains(&"/bin/uname"));
        let newest = table_applets("1.36.0-r0");
        assert_eq!(table_applets("9.9.9-r0"), newest);
        assert_eq!(table_applets("not-a-version"), newest);
        assert_ne!(old, newest);
        assert_eq!(base_release("v1.33.2-r1").as_deref(), Some("1.33.2"));
    }
}
