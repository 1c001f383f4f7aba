//! Busybox applet links, from `/etc/busybox-paths.d/*` as apko does.

use crate::layer::read_small;
use crate::tree::{Node, NodeKind, Tree, TreeError};

/// If `/bin/busybox` exists, creates a symlink to it for every applet path
/// listed in `/etc/busybox-paths.d/*`. Existing entries are left alone;
/// parents get busybox's mtime.
pub fn link_applets(tree: &mut Tree) -> Result<usize, TreeError> {
    let Some(bb) = tree.get("bin/busybox") else {
        return Ok(0);
    };
    let mtime = bb.mtime;
    let lists: Vec<String> = tree
        .children_of("etc/busybox-paths.d")
        .map(|(p, _)| p.to_string())
        .collect();
    let mut added = 0;
    for list in lists {
        let Some(text) = read_small(tree, &list) else {
            continue;
        };
        for line in String::from_utf8_lossy(&text).lines() {
            let Ok(Some(path)) = crate::tree::normalize(line.trim()) else {
                continue;
            };
            if tree.get(&path).is_some() {
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
    }
    Ok(added)
}
