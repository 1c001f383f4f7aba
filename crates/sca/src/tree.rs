//! A package's file tree as melange's generators see it: entries in
//! `fs.WalkDir` order, directories implied by deeper paths, and symlinks
//! resolved inside the package (never on the host).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::{FileInfo, Kind, ScaError};

/// Symlink hops followed before a path is declared unresolvable (Linux's
/// `MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// An entry given by the caller (index into the file list).
    Entry(usize),
    /// A directory only implied by deeper paths (or the root).
    ImpliedDir,
}

/// One step of the walk.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// Normalized relative path.
    pub path: String,
    /// What it is.
    pub node: Node,
}

/// The tree of one package.
pub(crate) struct Tree<'a> {
    files: &'a [FileInfo],
    nodes: HashMap<String, Node>,
    walk: Vec<Item>,
}

/// `a/./b//c/` → `a/b/c`; `None` for paths that climb (`..`) or are empty.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// `fs.WalkDir` visits a directory's entries in lexical order, each
/// directory's contents right after it: that is a component-wise order.
fn walk_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

impl<'a> Tree<'a> {
    /// Indexes `files`. Later duplicates win, as when a tar is extracted;
    /// paths that climb out of the package are ignored.
    pub(crate) fn new(files: &'a [FileInfo]) -> Self {
        let mut nodes = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            let Some(path) = normalize(&f.path) else {
                continue;
            };
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                nodes.entry(parent.to_string()).or_insert(Node::ImpliedDir);
                dir = parent;
            }
            nodes.insert(path, Node::Entry(i));
        }
        let mut walk: Vec<Item> = nodes
            .iter()
            .map(|(path, node)| Item {
                path: path.clone(),
                node: *node,
            })
            .collect();
        walk.sort_by(|a, b| walk_order(&a.path, &b.path));
        Tree { files, nodes, walk }
    }

    /// Every path in walk order.
    pub(crate) fn walk(&self) -> &[Item] {
        &self.walk
    }

    /// The entry behind a node, if the caller gave one.
    pub(crate) fn entry(&self, node: Node) -> Option<&'a FileInfo> {
        match node {
            Node::Entry(i) => self.files.get(i),
            Node::ImpliedDir => None,
        }
    }

    /// Is `node` a directory (given or implied)?
    pub(crate) fn is_dir(&self, node: Node) -> bool {
        match self.entry(node) {
            Some(f) => f.kind == Kind::Dir,
            None => true,
        }
    }

    /// The node at `path` itself (`lstat`).
    pub(crate) fn lookup(&self, path: &str) -> Option<Node> {
        if path.is_empty() {
            return Some(Node::ImpliedDir);
        }
        self.nodes.get(path).copied()
    }

    /// Follows symlinks in every component of `path` (`stat`); absolute
    /// targets are taken relative to the package root and `..` stops at
    /// the root, as inside a chroot. `None` when nothing is there, a
    /// component is not a directory, or links loop.
    pub(crate) fn resolve(&self, path: &str) -> Option<Node> {
        let mut pending: Vec<String> = path.rsplit('/').map(str::to_string).collect();
        let mut current: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            let parent = self.lookup(&current.join("/"))?;
            if !self.is_dir(parent) {
                return None;
            }
            current.push(part);
            let node = self.lookup(&current.join("/"))?;
            if let Some(FileInfo {
                kind: Kind::Symlink(target),
                ..
            }) = self.entry(node)
            {
                hops += 1;
                if hops > MAX_HOPS {
                    return None;
                }
                current.pop();
                if target.starts_with('/') {
                    current.clear();
                }
                pending.extend(target.rsplit('/').map(str::to_string));
            }
        }
        self.lookup(&current.join("/"))
    }

    /// The regular file `path` leads to after following symlinks.
    pub(crate) fn resolve_file(&self, path: &str) -> Option<&'a FileInfo> {
        self.entry(self.resolve(path)?)
            .filter(|f| f.kind == Kind::File)
    }
}

/// `filepath.Dir` of a normalized relative path.
pub(crate) fn dir_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir,
        None => ".",
    }
}

/// `filepath.Base` of a normalized relative path.
pub(crate) fn base_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((_, base)) => base,
        None => path,
    }
}

/// melange's `isInDir`: is the path's directory one of `dirs`? A trailing
/// `/` is allowed, and a `/...` suffix matches the whole subtree.
pub(crate) fn is_in_dir<S: AsRef<str>>(path: &str, dirs: &[S]) -> bool {
    let mydir = dir_of(path);
    dirs.iter().any(|d| {
        let d = d.as_ref();
        if let Some(prefix) = d.strip_suffix("/...") {
            mydir == prefix
                || mydir
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        } else {
            mydir == d || d.strip_suffix('/') == Some(mydir)
        }
    })
}

/// Lists a directory tree the way a package's files are described to
/// [`crate::analyze`]: every entry below `dir` in walk order, with its
/// permission bits, symlink targets, and `source` pointing at the entry on
/// disk. Names that are not UTF-8 are converted lossily in `path` only.
pub fn files_from_dir(dir: &Path) -> Result<Vec<FileInfo>, ScaError> {
    let mut out = Vec::new();
    walk_dir(dir, "", &mut out)?;
    Ok(out)
}

fn walk_dir(dir: &Path, prefix: &str, out: &mut Vec<FileInfo>) -> Result<(), ScaError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaError::Io { path, source }
    };
    let mut entries: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .map(|e| {
            let e = e.map_err(io_err(dir))?;
            Ok((e.file_name().to_string_lossy().into_owned(), e.path()))
        })
        .collect::<Result<_, ScaError>>()?;
    entries.sort();
    for (name, source) in entries {
        let meta = fs::symlink_metadata(&source).map_err(io_err(&source))?;
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            let target = fs::read_link(&source).map_err(io_err(&source))?;
            Kind::Symlink(target.to_string_lossy().into_owned())
        } else if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        let is_dir = kind == Kind::Dir;
        out.push(FileInfo {
            path: path.clone(),
            mode: mode_bits(&meta),
            kind,
            source: source.clone(),
        });
        if is_dir {
            walk_dir(&source, &path, out)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o555
    } else {
        0o755
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: Kind) -> FileInfo {
        FileInfo {
            path: path.to_string(),
            mode: 0o755,
            kind,
            source: PathBuf::new(),
        }
    }

    #[test]
    fn walk_order_is_component_wise() {
        let files = vec![
            entry("a-c", Kind::File),
            entry("a/b", Kind::File),
            entry("./x//y/", Kind::Dir),
            entry("../escape", Kind::File),
        ];
        let tree = Tree::new(&files);
        let paths: Vec<&str> = tree.walk().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["a", "a/b", "a-c", "x", "x/y"]);
        assert_eq!(tree.lookup("a"), Some(Node::ImpliedDir));
        assert!(tree.lookup("escape").is_none());
    }

    #[test]
    fn symlinks_resolve_inside_the_package() {
        let files = vec![
            entry("usr/lib/libz.so.1.3", Kind::File),
            entry("usr/lib/libz.so.1", Kind::Symlink("libz.so.1.3".into())),
            entry("lib", Kind::Symlink("usr/lib".into())),
            entry("abs", Kind::Symlink("/lib/libz.so.1".into())),
            entry("up", Kind::Symlink("../../../usr/lib/libz.so.1".into())),
            entry("loop1", Kind::Symlink("loop2".into())),
            entry("loop2", Kind::Symlink("loop1".into())),
            entry("dangling", Kind::Symlink("/nowhere".into())),
            entry("notdir", Kind::Symlink("usr/lib/libz.so.1/x".into())),
        ];
        let tree = Tree::new(&files);
        for p in ["lib/libz.so.1", "abs", "up", "usr/lib/libz.so.1"] {
            let f = tree.resolve_file(p).unwrap_or_else(|| panic!("{p}"));
            assert_eq!(f.path, "usr/lib/libz.so.1.3");
        }
        for p in ["loop1", "dangling", "notdir", "lib/missing"] {
            assert!(tree.resolve(p).is_none(), "{p}");
        }
        assert!(tree.is_dir(tree.resolve("lib").unwrap()));
    }

    #[test]
    fn in_dir() {
        assert!(is_in_dir("usr/lib/libz.so", &["usr/lib/"]));
        assert!(is_in_dir("my/lib/libz.so", &["my/lib"]));
        assert!(!is_in_dir("usr/lib/x/libz.so", &["usr/lib/"]));
        assert!(is_in_dir("usr/lib/x/libz.so", &["usr/..."]));
        assert!(is_in_dir("usr/libz.so", &["usr/..."]));
        assert!(!is_in_dir("usrx/libz.so", &["usr/..."]));
        assert!(!is_in_dir("libz.so", &["usr/lib/"]));
        assert!(is_in_dir("libz.so", &["."]));
    }
}
