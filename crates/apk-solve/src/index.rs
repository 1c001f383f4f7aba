//! The lookup tables a resolution runs on: every package under its name and
//! every name it provides, and every `install_if` package under the names
//! that can trigger it.
//!
//! Packages get dense ids (`Pid`) in repository order, names get dense ids
//! (`NameId`); provider lists are stored flat (one offset array, one id
//! array) so building the index for 23k packages is a handful of
//! allocations.

use std::borrow::Cow;
use std::collections::HashMap;

use apk_format::version::VersionOp;
use apk_format::{Constraint, Dependency, PackageRecord};

use crate::{PackageId, Repository};

/// Dense package id, in repository order.
pub(crate) type Pid = u32;
/// Dense name id.
pub(crate) type NameId = u32;

/// What a dependency asks of a package's version.
#[derive(Clone, Debug)]
pub(crate) enum Want<'d> {
    /// Any version.
    Any,
    /// `op version` (the version after apko's `so:` rewrite).
    Version(VersionOp, Cow<'d, str>),
    /// `><Q1...`: one package by control checksum.
    Checksum(&'d str),
}

impl<'d> Want<'d> {
    /// The effective constraint of `dep`, with apko's `so:` rewrite.
    pub(crate) fn of(dep: &'d Dependency) -> Self {
        match &dep.constraint {
            Constraint::Any => Want::Any,
            Constraint::Checksum(sum) => Want::Checksum(sum),
            Constraint::Version { op, version } => {
                Want::Version(*op, so_version(&dep.name, *op, version))
            }
        }
    }
}

/// apko's `so:X=V` quirk (melange PR #1871): a versioned shared-library
/// name whose version has no `-rN` compares as `0.V`, so it sorts below
/// versions that carry the package version. apko rewrites the atom text by
/// cutting at its first `=`, so only operators containing `=` are affected.
pub(crate) fn so_version<'v>(name: &str, op: VersionOp, version: &'v str) -> Cow<'v, str> {
    if name.starts_with("so:") && op.as_str().contains('=') && !ends_with_release(version) {
        Cow::Owned(format!("0.{version}"))
    } else {
        Cow::Borrowed(version)
    }
}

/// Does `version` end in `-r<digits>`?
fn ends_with_release(version: &str) -> bool {
    match version.rfind("-r") {
        Some(i) => {
            let digits = &version[i + 2..];
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// The version a provide carries, after the `so:` rewrite (`None` when it
/// is unversioned).
pub(crate) fn provide_version(p: &Dependency) -> Option<Cow<'_, str>> {
    match &p.constraint {
        Constraint::Version { op, version } => Some(so_version(&p.name, *op, version)),
        _ => None,
    }
}

/// Flat `key → [Pid]` lists.
#[derive(Default)]
struct Lists {
    start: Vec<u32>,
    items: Vec<Pid>,
}

impl Lists {
    /// Builds from `(key, pid)` pairs, keeping their order within a key.
    fn build(keys: usize, pairs: &[(NameId, Pid)]) -> Self {
        let mut start = vec![0u32; keys + 1];
        for &(k, _) in pairs {
            start[k as usize + 1] += 1;
        }
        for i in 0..keys {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut items = vec![0; pairs.len()];
        for &(k, p) in pairs {
            items[fill[k as usize] as usize] = p;
            fill[k as usize] += 1;
        }
        Lists { start, items }
    }

    fn get(&self, key: NameId) -> &[Pid] {
        let k = key as usize;
        if k + 1 >= self.start.len() {
            return &[];
        }
        &self.items[self.start[k] as usize..self.start[k + 1] as usize]
    }
}

/// Lookup tables over a set of repositories.
pub(crate) struct Index<'a> {
    pub(crate) repos: &'a [Repository],
    pub(crate) pkgs: Vec<&'a PackageRecord>,
    pub(crate) ids: Vec<PackageId>,
    pub(crate) pkg_name: Vec<NameId>,
    names: HashMap<&'a str, NameId>,
    pub(crate) name_strs: Vec<&'a str>,
    providers: Lists,
    install_if: Lists,
}

impl<'a> Index<'a> {
    /// Indexes every package of `repos`.
    pub(crate) fn new(repos: &'a [Repository]) -> Self {
        let total: usize = repos.iter().map(|r| r.packages.len()).sum();
        let mut ix = Index {
            repos,
            pkgs: Vec::with_capacity(total),
            ids: Vec::with_capacity(total),
            pkg_name: Vec::with_capacity(total),
            names: HashMap::with_capacity(total * 3),
            name_strs: Vec::with_capacity(total * 3),
            providers: Lists::default(),
            install_if: Lists::default(),
        };
        let mut pairs: Vec<(NameId, Pid)> = Vec::with_capacity(total * 3);
        // Own names first (as apko's name map lists them), then provides.
        for (r, repo) in repos.iter().enumerate() {
            for (i, pkg) in repo.packages.iter().enumerate() {
                let pid = ix.pkgs.len() as Pid;
                let nid = ix.intern(&pkg.name);
                ix.pkgs.push(pkg);
                ix.ids.push(PackageId { repo: r, index: i });
                ix.pkg_name.push(nid);
                pairs.push((nid, pid));
            }
        }
        for pid in 0..ix.pkgs.len() {
            let pkg = ix.pkgs[pid];
            for (j, p) in pkg.provides.iter().enumerate() {
                let nid = ix.intern(&p.name);
                // A name listed twice (or a package providing its own
                // name) makes it one candidate, not two.
                let repeated =
                    nid == ix.pkg_name[pid] || pkg.provides[..j].iter().any(|q| q.name == p.name);
                if !repeated {
                    pairs.push((nid, pid as Pid));
                }
            }
        }
        let mut triggers: Vec<(NameId, Pid)> = Vec::new();
        for pid in 0..ix.pkgs.len() {
            let pkg = ix.pkgs[pid];
            for (j, atom) in pkg.install_if.iter().enumerate() {
                if atom.conflict || pkg.install_if[..j].iter().any(|a| a.name == atom.name) {
                    continue;
                }
                let nid = ix.intern(&atom.name);
                triggers.push((nid, pid as Pid));
            }
        }
        ix.providers = Lists::build(ix.name_strs.len(), &pairs);
        ix.install_if = Lists::build(ix.name_strs.len(), &triggers);
        ix
    }

    fn intern(&mut self, name: &'a str) -> NameId {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = self.name_strs.len() as NameId;
        self.names.insert(name, id);
        self.name_strs.push(name);
        id
    }

    /// The id of a name, if any package has, provides or is triggered by it.
    pub(crate) fn name(&self, name: &str) -> Option<NameId> {
        self.names.get(name).copied()
    }

    /// Packages named `nid` (repository order), then those providing it.
    pub(crate) fn providers(&self, nid: NameId) -> &[Pid] {
        self.providers.get(nid)
    }

    /// Packages with an `install_if` atom on `nid`.
    pub(crate) fn triggered_by(&self, nid: NameId) -> &[Pid] {
        self.install_if.get(nid)
    }

    /// The record of a package.
    pub(crate) fn pkg(&self, pid: Pid) -> &'a PackageRecord {
        self.pkgs[pid as usize]
    }

    /// The name id of a package's own name.
    pub(crate) fn name_of(&self, pid: Pid) -> NameId {
        self.pkg_name[pid as usize]
    }

    /// The pin tag of the repository holding a package.
    pub(crate) fn tag(&self, pid: Pid) -> Option<&'a str> {
        self.repos[self.ids[pid as usize].repo].tag.as_deref()
    }

    /// The name of the repository holding a package.
    pub(crate) fn repo_name(&self, pid: Pid) -> &'a str {
        &self.repos[self.ids[pid as usize].repo].name
    }

    /// `name-version` of a package.
    pub(crate) fn label(&self, pid: Pid) -> String {
        self.pkg(pid).name_version()
    }

    /// The first provide of `pid` named `nid`.
    pub(crate) fn provide(&self, pid: Pid, nid: NameId) -> Option<&'a Dependency> {
        let name = self.name_strs[nid as usize];
        self.pkg(pid).provides.iter().find(|p| p.name == name)
    }

    /// Does `pid` have or provide the name `nid` (any version)?
    pub(crate) fn has_name(&self, pid: Pid, nid: NameId) -> bool {
        self.name_of(pid) == nid || self.provide(pid, nid).is_some()
    }

    /// The version `pid` carries for `nid`: its own version for its own
    /// name, else its (rewritten) provide version, `None` if unversioned.
    pub(crate) fn version_for(&self, pid: Pid, nid: NameId) -> Option<Cow<'a, str>> {
        if self.name_of(pid) == nid {
            return Some(Cow::Borrowed(&self.pkg(pid).version));
        }
        self.provide(pid, nid).and_then(provide_version)
    }

    /// Does `pid` satisfy `nid` + `want`? For a version constraint (as in
    /// apko's `filterPackages`) the package's own version counts even when
    /// it is a candidate through a provide, and so does a versioned provide
    /// of the name; an unversioned provide alone satisfies only unversioned
    /// atoms. A checksum matches only the package itself.
    pub(crate) fn matches(&self, pid: Pid, nid: NameId, want: &Want<'_>) -> bool {
        let pkg = self.pkg(pid);
        let own = self.name_of(pid) == nid;
        match want {
            Want::Any => own || self.provide(pid, nid).is_some(),
            Want::Checksum(sum) => own && pkg.checksum.as_deref() == Some(*sum),
            Want::Version(op, v) => {
                if op.matches(&pkg.version, v) {
                    return own || self.provide(pid, nid).is_some();
                }
                let name = self.name_strs[nid as usize];
                pkg.provides.iter().any(|p| {
                    p.name == name && provide_version(p).is_some_and(|pv| op.matches(&pv, v))
                })
            }
        }
    }

    /// apko's `constrain`: does a versioned requirement exclude `pid` for
    /// the rest of the resolution? Its own name is judged by its version;
    /// otherwise any versioned provide of the name that fails excludes it,
    /// while unversioned provides leave it alone (it just cannot be chosen
    /// for this requirement).
    pub(crate) fn constraint_excludes(&self, pid: Pid, nid: NameId, want: &Want<'_>) -> bool {
        let pkg = self.pkg(pid);
        if self.name_of(pid) == nid {
            return match want {
                Want::Any => false,
                Want::Checksum(sum) => pkg.checksum.as_deref() != Some(*sum),
                Want::Version(op, v) => !op.matches(&pkg.version, v),
            };
        }
        let Want::Version(op, v) = want else {
            return false;
        };
        let name = self.name_strs[nid as usize];
        pkg.provides
            .iter()
            .any(|p| p.name == name && provide_version(p).is_some_and(|pv| !op.matches(&pv, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn so_rewrite_follows_apko() {
        let eq = VersionOp::EQ;
        assert_eq!(so_version("so:libc.musl-x86_64.so.1", eq, "1"), "0.1");
        assert_eq!(so_version("so:libfoo.so.1", VersionOp::GE, "1.2"), "0.1.2");
        assert_eq!(so_version("so:libfoo.so.1", eq, "1.2-r3"), "1.2-r3");
        assert_eq!(so_version("so:libfoo.so.1", VersionOp::LT, "2"), "2");
        assert_eq!(so_version("cmd:foo", eq, "1"), "1");
        assert!(!ends_with_release("1.2-r"));
        assert!(ends_with_release("1-r10"));
    }
}
