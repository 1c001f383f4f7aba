//! The lookup tables a resolution runs on: every package under its name and
//! every name it provides, and every `install_if` package under the names
//! that can trigger it.
//!
//! Packages get dense ids (`Pid`) in repository order, names get dense ids
//! (`NameId`); provider lists are stored flat (one offset array, one id
//! array). Package fields are read in place, from parsed records or from
//! the checked index text (dependency atoms are parsed when a package is
//! looked at, without allocating), so indexing 23k packages allocates a
//! handful of arrays and a name table.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use apk_format::index_text::IndexText;
use apk_format::version::VersionOp;
use apk_format::{ConstraintRef, Dependency, DependencyRef, PackageRecord};
use rustc_hash::FxHasher;

use crate::{PackageId, Packages, Repository};

/// Dense package id, in repository order.
pub(crate) type Pid = u32;
/// Dense name id.
pub(crate) type NameId = u32;

/// A hash map with a fast hasher for short keys.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A package's dependency atoms (`D:`, `p:` or `i:`), where they are.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Atoms<'a> {
    /// Space-separated atoms of a checked index text.
    Text(&'a str),
    /// Atoms of a parsed record.
    Parsed(&'a [Dependency]),
}

impl<'a> Atoms<'a> {
    /// The atoms, in order.
    pub(crate) fn iter(self) -> impl Iterator<Item = DependencyRef<'a>> + Clone {
        let (text, parsed) = match self {
            Atoms::Text(t) => (t, &[][..]),
            Atoms::Parsed(p) => ("", p),
        };
        // Index texts are checked when read, so every atom parses.
        text.split_ascii_whitespace()
            .filter_map(|a| DependencyRef::parse(a).ok())
            .chain(parsed.iter().map(Dependency::borrowed))
    }

    /// The atoms, owned (for error reports).
    pub(crate) fn to_vec(self) -> Vec<Dependency> {
        self.iter().map(DependencyRef::into_owned).collect()
    }
}

/// Where a package's fields are.
#[derive(Clone, Copy)]
enum Source<'a> {
    Record(&'a PackageRecord),
    Text(&'a IndexText, u32),
}

/// The fields of a package the resolver reads.
#[derive(Clone, Copy)]
pub(crate) struct Pkg<'a> {
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
    pub(crate) origin: Option<&'a str>,
    pub(crate) checksum: Option<&'a str>,
    pub(crate) provider_priority: Option<u64>,
    pub(crate) depends: Atoms<'a>,
    pub(crate) provides: Atoms<'a>,
    pub(crate) install_if: Atoms<'a>,
}

impl<'a> Source<'a> {
    fn pkg(self) -> Pkg<'a> {
        match self {
            Source::Record(r) => Pkg {
                name: &r.name,
                version: &r.version,
                origin: r.origin.as_deref(),
                checksum: r.checksum.as_deref(),
                provider_priority: r.provider_priority,
                depends: Atoms::Parsed(&r.depends),
                provides: Atoms::Parsed(&r.provides),
                install_if: Atoms::Parsed(&r.install_if),
            },
            Source::Text(t, i) => {
                let f = t.fields(i as usize);
                Pkg {
                    name: f.name,
                    version: f.version,
                    origin: f.origin,
                    checksum: f.checksum,
                    provider_priority: f.provider_priority,
                    depends: Atoms::Text(f.depends),
                    provides: Atoms::Text(f.provides),
                    install_if: Atoms::Text(f.install_if),
                }
            }
        }
    }
}

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
    pub(crate) fn of(dep: DependencyRef<'d>) -> Self {
        match dep.constraint {
            ConstraintRef::Any => Want::Any,
            ConstraintRef::Checksum(sum) => Want::Checksum(sum),
            ConstraintRef::Version { op, version } => {
                Want::Version(op, so_version(dep.name, op, version))
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

/// A provide, compact: its name and, when versioned, operator and version.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Provide<'a> {
    pub(crate) name: NameId,
    version: Option<(VersionOp, &'a str)>,
}

impl<'a> Provide<'a> {
    /// Its version after the `so:` rewrite, `None` when unversioned.
    pub(crate) fn version(&self, ix: &Index<'a>) -> Option<Cow<'a, str>> {
        self.version
            .map(|(op, v)| so_version(ix.name_strs[self.name as usize], op, v))
    }

    /// Does it carry a version?
    pub(crate) fn is_versioned(&self) -> bool {
        self.version.is_some()
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
    sources: Vec<Source<'a>>,
    /// Per package: its repository and position there.
    ids: Vec<(u32, u32)>,
    pkg_name: Vec<NameId>,
    versions: Vec<&'a str>,
    /// Every package's provides, flat; `prov_start[pid]..prov_start[pid + 1]`.
    provs: Vec<Provide<'a>>,
    prov_start: Vec<u32>,
    names: FastMap<&'a str, NameId>,
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
            sources: Vec::with_capacity(total),
            ids: Vec::with_capacity(total),
            pkg_name: Vec::with_capacity(total),
            versions: Vec::with_capacity(total),
            provs: Vec::with_capacity(total * 2),
            prov_start: Vec::with_capacity(total + 1),
            names: FastMap::default(),
            name_strs: Vec::with_capacity(total * 2),
            providers: Lists::default(),
            install_if: Lists::default(),
        };
        ix.names.reserve(total * 2);
        let mut pairs: Vec<(NameId, Pid)> = Vec::with_capacity(total * 3);
        // Own names first (as apko's name map lists them), then provides.
        for (r, repo) in repos.iter().enumerate() {
            for i in 0..repo.packages.len() {
                let source = match &repo.packages {
                    Packages::Records(records) => Source::Record(&records[i]),
                    Packages::Index(text) => Source::Text(text, i as u32),
                };
                let pid = ix.sources.len() as Pid;
                let pkg = source.pkg();
                let nid = ix.intern(pkg.name);
                ix.versions.push(pkg.version);
                ix.sources.push(source);
                ix.ids.push((r as u32, i as u32));
                ix.pkg_name.push(nid);
                pairs.push((nid, pid));
            }
        }
        for pid in 0..ix.sources.len() {
            let own = ix.pkg_name[pid];
            let first = pairs.len();
            ix.prov_start.push(ix.provs.len() as u32);
            for p in ix.sources[pid].pkg().provides.iter() {
                let nid = ix.intern(p.name);
                let version = match p.constraint {
                    ConstraintRef::Version { op, version } => Some((op, version)),
                    _ => None,
                };
                ix.provs.push(Provide { name: nid, version });
                // A name listed twice (or a package providing its own
                // name) makes it one candidate, not two.
                if nid != own && !pairs[first..].iter().any(|&(n, _)| n == nid) {
                    pairs.push((nid, pid as Pid));
                }
            }
        }
        ix.prov_start.push(ix.provs.len() as u32);
        let mut triggers: Vec<(NameId, Pid)> = Vec::new();
        for pid in 0..ix.sources.len() {
            let atoms = ix.sources[pid].pkg().install_if;
            for (j, atom) in atoms.iter().enumerate() {
                if atom.conflict || atoms.iter().take(j).any(|a| a.name == atom.name) {
                    continue;
                }
                let nid = ix.intern(atom.name);
                triggers.push((nid, pid as Pid));
            }
        }
        ix.providers = Lists::build(ix.name_strs.len(), &pairs);
        ix.install_if = Lists::build(ix.name_strs.len(), &triggers);
        ix
    }

    fn intern(&mut self, name: &'a str) -> NameId {
        let next = self.name_strs.len() as NameId;
        let id = *self.names.entry(name).or_insert(next);
        if id == next {
            self.name_strs.push(name);
        }
        id
    }

    /// Number of packages.
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }

    /// Where a package is in the repositories.
    pub(crate) fn id(&self, pid: Pid) -> PackageId {
        let (repo, index) = self.ids[pid as usize];
        PackageId {
            repo: repo as usize,
            index: index as usize,
        }
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

    /// The fields of a package.
    pub(crate) fn pkg(&self, pid: Pid) -> Pkg<'a> {
        self.sources[pid as usize].pkg()
    }

    /// The name id of a package's own name.
    pub(crate) fn name_of(&self, pid: Pid) -> NameId {
        self.pkg_name[pid as usize]
    }

    /// The pin tag of the repository holding a package.
    pub(crate) fn tag(&self, pid: Pid) -> Option<&'a str> {
        self.repos[self.ids[pid as usize].0 as usize].tag.as_deref()
    }

    /// The name of the repository holding a package.
    pub(crate) fn repo_name(&self, pid: Pid) -> &'a str {
        &self.repos[self.ids[pid as usize].0 as usize].name
    }

    /// `name-version` of a package.
    pub(crate) fn label(&self, pid: Pid) -> String {
        format!("{}-{}", self.name_str(pid), self.version(pid))
    }

    /// A package's own name.
    pub(crate) fn name_str(&self, pid: Pid) -> &'a str {
        self.name_strs[self.name_of(pid) as usize]
    }

    /// A package's version.
    pub(crate) fn version(&self, pid: Pid) -> &'a str {
        self.versions[pid as usize]
    }

    /// A package's provides, in order.
    pub(crate) fn provides(&self, pid: Pid) -> &[Provide<'a>] {
        let p = pid as usize;
        &self.provs[self.prov_start[p] as usize..self.prov_start[p + 1] as usize]
    }

    /// The first provide of `pid` named `nid`.
    pub(crate) fn provide(&self, pid: Pid, nid: NameId) -> Option<Provide<'a>> {
        self.provides(pid).iter().find(|p| p.name == nid).copied()
    }

    /// The first provide of `pid` named `nid`, as written (for messages).
    pub(crate) fn provide_atom(&self, pid: Pid, nid: NameId) -> Option<DependencyRef<'a>> {
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
            return Some(Cow::Borrowed(self.version(pid)));
        }
        self.provide(pid, nid).and_then(|p| p.version(self))
    }

    /// Does `pid` satisfy `nid` + `want`? For a version constraint (as in
    /// apko's `filterPackages`) the package's own version counts even when
    /// it is a candidate through a provide, and so does a versioned provide
    /// of the name; an unversioned provide alone satisfies only unversioned
    /// atoms. A checksum matches only the package itself.
    pub(crate) fn matches(&self, pid: Pid, nid: NameId, want: &Want<'_>) -> bool {
        let own = self.name_of(pid) == nid;
        match want {
            Want::Any => own || self.provide(pid, nid).is_some(),
            Want::Checksum(sum) => own && self.pkg(pid).checksum == Some(*sum),
            Want::Version(op, v) => {
                if op.matches(self.version(pid), v) {
                    return own || self.provide(pid, nid).is_some();
                }
                self.provides(pid)
                    .iter()
                    .any(|p| p.name == nid && p.version(self).is_some_and(|pv| op.matches(&pv, v)))
            }
        }
    }

    /// apko's `constrain`: does a versioned requirement exclude `pid` for
    /// the rest of the resolution? Its own name is judged by its version;
    /// otherwise any versioned provide of the name that fails excludes it,
    /// while unversioned provides leave it alone (it just cannot be chosen
    /// for this requirement).
    pub(crate) fn constraint_excludes(&self, pid: Pid, nid: NameId, want: &Want<'_>) -> bool {
        if self.name_of(pid) == nid {
            return match want {
                Want::Any => false,
                Want::Checksum(sum) => self.pkg(pid).checksum != Some(*sum),
                Want::Version(op, v) => !op.matches(self.version(pid), v),
            };
        }
        let Want::Version(op, v) = want else {
            return false;
        };
        self.provides(pid)
            .iter()
            .any(|p| p.name == nid && p.version(self).is_some_and(|pv| !op.matches(&pv, v)))
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
