//! Owner names to numeric ids, for packages that record owners by name
//! (apk v3): looked up in the tree's `etc/passwd` and `etc/group` once the
//! package is in place (so a package shipping both the account files and
//! files owned by their accounts resolves), `root` is 0 and unknown names
//! are 65534, as apk-tools 3 does.

use std::collections::HashMap;

use crate::layer::read_small;
use crate::tree::Tree;

/// uid/gid of an unknown name.
pub const NOBODY: u32 = 65534;

/// Name-to-id maps of a tree's account files.
#[derive(Debug, Default)]
pub struct Accounts {
    users: HashMap<String, u32>,
    groups: HashMap<String, u32>,
}

fn parse(text: &[u8]) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    for line in String::from_utf8_lossy(text).lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(id) = id.trim().parse::<u32>() {
            // The first entry of a name wins, as getpwnam finds it.
            out.entry(name.to_string()).or_insert(id);
        }
    }
    out
}

impl Accounts {
    /// Reads `etc/passwd` and `etc/group` of the tree.
    pub fn of(tree: &Tree) -> Accounts {
        Accounts {
            users: read_small(tree, "etc/passwd")
                .map(|t| parse(&t))
                .unwrap_or_default(),
            groups: read_small(tree, "etc/group")
                .map(|t| parse(&t))
                .unwrap_or_default(),
        }
    }

    /// The uid of a user name.
    pub fn uid(&self, name: &str) -> u32 {
        lookup(&self.users, name)
    }

    /// The gid of a group name.
    pub fn gid(&self, name: &str) -> u32 {
        lookup(&self.groups, name)
    }
}

fn lookup(map: &HashMap<String, u32>, name: &str) -> u32 {
    match map.get(name) {
        Some(id) => *id,
        None if name == "root" => 0,
        None => NOBODY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_apk_tools() {
        let mut tree = Tree::new();
        tree.mkdir_all("etc", 0o755, 0).unwrap();
        tree.write_file(
            "etc/group",
            b"root:x:0:\nshadow:x:42:\nbad line\n".to_vec(),
            0o644,
            0,
        )
        .unwrap();
        let a = Accounts::of(&tree);
        assert_eq!(a.gid("shadow"), 42);
        assert_eq!(a.gid("root"), 0);
        assert_eq!(a.gid("nogroup"), NOBODY);
        assert_eq!(a.uid("root"), 0);
        assert_eq!(a.uid("daemon"), NOBODY);
    }
}
