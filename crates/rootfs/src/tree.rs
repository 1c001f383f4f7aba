//! The in-memory file tree: paths in directory-walk order, file contents
//! referenced by offset into cached package data rather than held in RAM.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A path relative to the root, `/`-separated, ordered the way a directory
/// walk with sorted entries visits it (`a`, `a/b`, `a-b`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TreePath(pub String);

impl Ord for TreePath {
    fn cmp(&self, other: &Self) -> Ordering {
        walk_order(&self.0, &other.0)
    }
}

/// Anything that can be looked up in a map keyed by [`TreePath`] without
/// building one (a `&str` or a `TreePath`), compared in walk order.
pub trait PathKey {
    /// The path.
    fn path(&self) -> &str;
}

impl PathKey for TreePath {
    fn path(&self) -> &str {
        &self.0
    }
}

impl PathKey for &str {
    fn path(&self) -> &str {
        self
    }
}

impl<'a> Borrow<dyn PathKey + 'a> for TreePath {
    fn borrow(&self) -> &(dyn PathKey + 'a) {
        self
    }
}

impl Ord for dyn PathKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        walk_order(self.path(), other.path())
    }
}

impl PartialOrd for dyn PathKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn PathKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.path() == other.path()
    }
}

impl Eq for dyn PathKey + '_ {}

/// The borrowed key for looking `path` up in a map keyed by [`TreePath`].
pub fn key<'a>(path: &'a &'a str) -> &'a (dyn PathKey + 'a) {
    path
}

/// Compares two clean paths in directory-walk order, as comparing their
/// `/`-separated components would, but in one pass over the bytes: `/`
/// ranks below every other byte (a component that is a prefix of another
/// sorts first), and a path that is a prefix of the other sorts first.
pub fn walk_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let common = a.len().min(b.len());
    // Skip the shared prefix a word at a time.
    let mut i = 0;
    let word = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    while i + 8 <= common && word(a, i) == word(b, i) {
        i += 8;
    }
    while i < common && a[i] == b[i] {
        i += 1;
    }
    if i == common {
        return a.len().cmp(&b.len());
    }
    let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
    rank(a[i]).cmp(&rank(b[i]))
}

impl PartialOrd for TreePath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where a regular file's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Generated content held in memory (small files apkforge writes).
    Bytes(Arc<Vec<u8>>),
    /// `size` bytes at `offset` of the uncompressed data tar `source`.
    Source {
        /// Index into [`Tree::sources`].
        source: u32,
        /// Byte offset.
        offset: u64,
        /// Length.
        size: u64,
    },
}

impl Content {
    /// Content length.
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Source { size, .. } => *size,
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Directory.
    Dir,
    /// Regular file.
    File(Content),
    /// Symbolic link to a target (kept as written).
    Symlink(String),
    /// Hard link to another path of the tree.
    Hardlink(String),
    /// Character device.
    CharDevice(u32, u32),
    /// Block device.
    BlockDevice(u32, u32),
    /// Named pipe.
    Fifo,
}

/// One file system object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Permission bits (with setuid/setgid/sticky).
    pub mode: u32,
    /// Owner uid in the image.
    pub uid: u32,
    /// Owner gid in the image.
    pub gid: u32,
    /// Modification time.
    pub mtime: u64,
    /// Extended attributes.
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Index of the installed package that owns it.
    pub owner: Option<u32>,
    /// SHA-1 of the content (files) or link target (symlinks).
    pub sha1: Option<[u8; 20]>,
}

impl Node {
    /// A root-owned node.
    pub fn new(kind: NodeKind, mode: u32, mtime: u64) -> Node {
        Node {
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime,
            xattrs: Vec::new(),
            owner: None,
            sha1: None,
        }
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        self.kind == NodeKind::Dir
    }
}

/// Error manipulating the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// An absolute path, `..`, or other path that would leave the root.
    #[error("path `{0}` is not a safe relative path (absolute or contains `..`)")]
    Unsafe(String),
    /// A parent of the path is not a directory.
    #[error("`{path}`: parent `{parent}` is not a directory")]
    NotADirectory {
        /// The path.
        path: String,
        /// The offending parent.
        parent: String,
    },
    /// Too many symlinks while resolving.
    #[error("`{0}`: too many levels of symbolic links")]
    SymlinkLoop(String),
}

/// The whole file system of one image.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    nodes: BTreeMap<TreePath, Node>,
    /// Uncompressed data tars that [`Content::Source`] points into.
    pub sources: Vec<std::path::PathBuf>,
    /// SHA-256 of each of [`Tree::sources`] (same index), when it is known
    /// and was checked: what identifies a source's bytes in a layer cache
    /// key ([`crate::layer::layer_key`]). Missing or `None`: unknown.
    pub source_digests: Vec<Option<[u8; 32]>>,
}

/// Normalizes a path from an archive: strips `./` and slashes, rejects
/// absolute paths and `..`. Returns `None` for the root itself.
pub fn normalize(raw: &str) -> Result<Option<String>, TreeError> {
    if raw.starts_with('/') {
        return Err(TreeError::Unsafe(raw.to_string()));
    }
    let mut parts = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(TreeError::Unsafe(raw.to_string())),
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// True for a path [`normalize`] would return unchanged: relative, no empty,
/// `.` or `..` components. Every path of a [`Tree`] is clean.
pub fn is_clean(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Looks a node up by exact path (no symlink resolution).
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(key(&path))
    }

    /// Mutable lookup.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.nodes.get_mut(key(&path))
    }

    /// Inserts or replaces a node. Parents must exist (see [`Tree::mkdir_all`]).
    pub fn insert(&mut self, path: &str, node: Node) -> Option<Node> {
        self.nodes.insert(TreePath(path.to_string()), node)
    }

    /// Removes a node (not its children).
    pub fn remove(&mut self, path: &str) -> Option<Node> {
        self.nodes.remove(key(&path))
    }

    /// All nodes in walk order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.0.as_str(), n))
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Paths strictly below `dir`.
    pub fn children_of<'a>(
        &'a self,
        dir: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        let prefix = format!("{dir}/");
        self.nodes
            .range(TreePath(dir.to_string())..)
            .skip(1)
            .take_while(move |(p, _)| p.0.starts_with(&prefix))
            .map(|(p, n)| (p.0.as_str(), n))
    }

    /// The first parent component of `path` that is a symlink, with its
    /// target: a file written at `path` would be written through it.
    pub fn symlink_parent(&self, path: &str) -> Option<(String, String)> {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            if let Some(Node {
                kind: NodeKind::Symlink(target),
                ..
            }) = self.get(&path[..end])
            {
                return Some((path[..end].to_string(), target.clone()));
            }
            end += 1;
        }
        None
    }

    /// Resolves symlinks in the parent components of `path` inside the
    /// root (absolute targets are relative to it, as in a chroot). A link
    /// whose `..` climbs above the root is an error. The last component is
    /// not followed.
    pub fn resolve_parent(&self, path: &str) -> Result<String, TreeError> {
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => return Ok(path.to_string()),
        };
        let dir = self.resolve_dir(parent, 0)?;
        Ok(if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        })
    }

    fn resolve_dir(&self, path: &str, depth: usize) -> Result<String, TreeError> {
        if depth > 40 {
            return Err(TreeError::SymlinkLoop(path.to_string()));
        }
        let mut resolved: Vec<String> = Vec::new();
        for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if comp == ".." {
                // A link that climbs above the root is an escape attempt.
                if resolved.pop().is_none() {
                    return Err(TreeError::Unsafe(path.to_string()));
                }
                continue;
            }
            resolved.push(comp.to_string());
            let cur = resolved.join("/");
            if let Some(Node {
                kind: NodeKind::Symlink(target),
                ..
            }) = self.get(&cur)
            {
                resolved.pop();
                let base = if target.starts_with('/') {
                    String::new()
                } else {
                    resolved.join("/")
                };
                let joined = format!("{base}/{target}");
                let r = self.resolve_dir(&joined, depth + 1)?;
                resolved = r
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
            }
        }
        Ok(resolved.join("/"))
    }

    /// Creates `path` and missing parents as directories (`mode` for new
    /// ones). Existing directories are left alone; `""` is the root.
    pub fn mkdir_all(&mut self, path: &str, mode: u32, mtime: u64) -> Result<(), TreeError> {
        if !path.is_empty() && !is_clean(path) {
            return Err(TreeError::Unsafe(path.to_string()));
        }
        let mut cur = String::new();
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(comp);
            match self.get(&cur) {
                Some(n) if n.is_dir() => {}
                Some(_) => {
                    return Err(TreeError::NotADirectory {
                        path: path.to_string(),
                        parent: cur.clone(),
                    });
                }
                None => {
                    self.insert(&cur, Node::new(NodeKind::Dir, mode, mtime));
                }
            }
        }
        Ok(())
    }

    /// Adds a generated file with in-memory content (parents created 0755).
    pub fn write_file(
        &mut self,
        path: &str,
        content: Vec<u8>,
        mode: u32,
        mtime: u64,
    ) -> Result<(), TreeError> {
        if !is_clean(path) {
            return Err(TreeError::Unsafe(path.to_string()));
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.mkdir_all(parent, 0o755, mtime)?;
        }
        let sha1 = crate::sha1_of(&content);
        let mut node = Node::new(
            NodeKind::File(Content::Bytes(Arc::new(content))),
            mode,
            mtime,
        );
        node.sha1 = Some(sha1);
        self.insert(path, node);
        Ok(())
    }

    /// Reads a generated (in-memory) file's bytes, if it is one.
    pub fn read_bytes(&self, path: &str) -> Option<&[u8]> {
        match self.get(path) {
            Some(Node {
                kind: NodeKind::File(Content::Bytes(b)),
                ..
            }) => Some(b),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_order_and_resolution() {
        let mut t = Tree::new();
        t.mkdir_all("a/b", 0o755, 0).unwrap();
        t.mkdir_all("a-b", 0o755, 0).unwrap();
        t.mkdir_all("usr/lib", 0o755, 0).unwrap();
        t.insert(
            "lib",
            Node::new(NodeKind::Symlink("usr/lib".into()), 0o777, 0),
        );
        t.insert(
            "evil",
            Node::new(NodeKind::Symlink("/../../..".into()), 0o777, 0),
        );
        let order: Vec<_> = t.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            order,
            vec!["a", "a/b", "a-b", "evil", "lib", "usr", "usr/lib"]
        );
        assert_eq!(t.resolve_parent("lib/libc.so").unwrap(), "usr/lib/libc.so");
        assert!(matches!(
            t.resolve_parent("evil/etc/passwd"),
            Err(TreeError::Unsafe(_))
        ));
        t.insert(
            "abs",
            Node::new(NodeKind::Symlink("/usr/lib".into()), 0o777, 0),
        );
        assert_eq!(t.resolve_parent("abs/x").unwrap(), "usr/lib/x");
        assert!(normalize("../x").is_err());
        assert!(t.write_file("etc/apk/keys/..", vec![], 0o644, 0).is_err());
        assert!(t.write_file("sv/../../x", vec![], 0o644, 0).is_err());
        assert!(t.mkdir_all("/abs", 0o755, 0).is_err());
        assert!(is_clean("a/b") && !is_clean("a//b") && !is_clean("./a"));
        assert!(normalize("/etc").is_err());
        assert_eq!(normalize("./usr/bin/").unwrap().as_deref(), Some("usr/bin"));
        assert_eq!(normalize("./").unwrap(), None);
        let kids: Vec<_> = t.children_of("a").map(|(p, _)| p).collect();
        assert_eq!(kids, vec!["a/b"]);
    }

    /// The one-pass comparison orders clean paths exactly as comparing
    /// their components does.
    #[test]
    fn walk_order_matches_component_order() {
        let names = ["a", "b", "a-b", "a.b", "ab", "a0", "\u{e9}", "A", "a~"];
        let mut paths: Vec<String> = Vec::new();
        for x in names {
            paths.push(x.to_string());
            for y in names {
                paths.push(format!("{x}/{y}"));
                for z in ["a", "ab", "b-c"] {
                    paths.push(format!("{x}/{y}/{z}"));
                    paths.push(format!("{x}{y}/{z}"));
                }
            }
        }
        for p in &paths {
            for q in &paths {
                assert_eq!(
                    walk_order(p, q),
                    p.split('/').cmp(q.split('/')),
                    "{p} vs {q}"
                );
            }
        }
    }
}
