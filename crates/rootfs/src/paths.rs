//! apko's `paths` mutations: directories, empty files, links and
//! permission changes.

use crate::tree::{Node, NodeKind, Tree, TreeError, normalize};

/// What a mutation does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// `directory`: create (with parents).
    Directory,
    /// `empty-file`.
    EmptyFile,
    /// `hardlink` to `source`.
    Hardlink,
    /// `symlink` pointing to `source`.
    Symlink,
    /// `permissions`: change mode and owner only.
    Permissions,
}

/// One `paths` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMutation {
    /// Target path (absolute in the config).
    pub path: String,
    /// What to do.
    pub kind: PathKind,
    /// Owner uid (with `gid`; both unset leaves ownership alone).
    pub uid: Option<u32>,
    /// Owner gid.
    pub gid: Option<u32>,
    /// Mode (apko's default is 0).
    pub permissions: u32,
    /// Link source.
    pub source: Option<String>,
    /// Apply to everything below a directory too.
    pub recursive: bool,
}

/// Error applying a mutation.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// Bad path.
    #[error("paths: `{path}`: {source}")]
    Tree {
        /// The mutation's path.
        path: String,
        /// What failed.
        #[source]
        source: TreeError,
    },
    /// The target exists already (for creating mutations).
    #[error("paths: `{0}` already exists and is not a directory")]
    Exists(String),
    /// A link without source, or a permissions change of a missing path.
    #[error("paths: `{path}`: {reason}")]
    Invalid {
        /// The mutation's path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Applies the mutations in order.
pub fn apply_paths(tree: &mut Tree, mutations: &[PathMutation]) -> Result<(), PathError> {
    for m in mutations {
        apply_one(tree, m)?;
    }
    Ok(())
}

fn apply_one(tree: &mut Tree, m: &PathMutation) -> Result<(), PathError> {
    let tree_err = |source| PathError::Tree {
        path: m.path.clone(),
        source,
    };
    let invalid = |reason: &str| PathError::Invalid {
        path: m.path.clone(),
        reason: reason.to_string(),
    };
    let rel = normalize(m.path.trim_start_matches('/'))
        .map_err(tree_err)?
        .ok_or_else(|| invalid("cannot change the root"))?;
    let rel = tree.resolve_parent(&rel).map_err(tree_err)?;
    let parent = rel.rsplit_once('/').map(|(p, _)| p.to_string());
    match m.kind {
        PathKind::Directory => tree.mkdir_all(&rel, 0o755, 0).map_err(tree_err)?,
        PathKind::EmptyFile => {
            if tree.get(&rel).is_some() {
                return Err(PathError::Exists(m.path.clone()));
            }
            tree.write_file(&rel, Vec::new(), 0o644, 0)
                .map_err(tree_err)?;
        }
        PathKind::Symlink | PathKind::Hardlink => {
            let source = m
                .source
                .clone()
                .ok_or_else(|| invalid("a link needs `source`"))?;
            if let Some(p) = &parent {
                tree.mkdir_all(p, 0o755, 0).map_err(tree_err)?;
            }
            let kind = if m.kind == PathKind::Symlink {
                NodeKind::Symlink(source)
            } else {
                let target = normalize(source.trim_start_matches('/'))
                    .map_err(tree_err)?
                    .ok_or_else(|| invalid("hard link to the root"))?;
                match tree.get(&target) {
                    Some(n) if matches!(n.kind, NodeKind::File(_)) => NodeKind::Hardlink(target),
                    _ => {
                        return Err(invalid(&format!(
                            "hard link source `{source}` is not a file"
                        )));
                    }
                }
            };
            if tree.get(&rel).is_some_and(Node::is_dir) {
                return Err(PathError::Exists(m.path.clone()));
            }
            tree.insert(&rel, Node::new(kind, 0o777, 0));
        }
        PathKind::Permissions => {
            if tree.get(&rel).is_none() {
                return Err(invalid("does not exist"));
            }
        }
    }
    // Every mutation ends with a permissions change, as in apko.
    let mut targets = vec![rel.clone()];
    if m.recursive && matches!(m.kind, PathKind::Directory | PathKind::Permissions) {
        targets.extend(tree.children_of(&rel).map(|(p, _)| p.to_string()));
    }
    for t in targets {
        if let Some(node) = tree.get_mut(&t) {
            if !matches!(node.kind, NodeKind::Symlink(_)) {
                node.mode = m.permissions & 0o7777;
            }
            if m.uid.is_some() || m.gid.is_some() {
                node.uid = m.uid.unwrap_or(0);
                node.gid = m.gid.unwrap_or(0);
            }
        }
    }
    Ok(())
}
