//! apk dependency resolution with apko's semantics.
//!
//! Given repositories (parsed `APKINDEX` records) and a world (the
//! dependency atoms an image asks for), [`resolve`] picks the packages to
//! install and orders them dependencies first. [`resolve_multi_arch`] does
//! the same for several architectures at once, keeping every package at
//! one version across all of them. Everything here is pure: no I/O, no
//! printing, and the same inputs always give the same output.
//!
//! # The algorithm
//!
//! It is apko's greedy resolver (`pkg/apk/apk/repo.go`,
//! `GetPackagesWithDependencies`), because that is what images are built
//! with and results should match. It does not backtrack: a choice that
//! later turns out wrong is an error, where apk-tools' SAT-like solver
//! might have found another answer.
//!
//! - **Names.** Every package is found under its name and under every name
//!   it provides (`so:`, `cmd:`, `pc:`, `/bin/sh`, ...).
//! - **Disqualification.** Versioned atoms (of the world, then of each
//!   package as its dependencies are walked) exclude, for the rest of the
//!   resolution, every provider whose version does not match; `!name`
//!   atoms exclude what they match; choosing a package excludes other
//!   providers of its versioned provides. For multi-arch resolutions a
//!   name+version missing from any other architecture is excluded from the
//!   start (apko's `disqualifyDifference`).
//! - **World.** World atoms are picked fewest-candidates-first, then each
//!   is walked depth first: at each level the dependency with the fewest
//!   candidates goes first (ties by atom text), children are installed
//!   before parents, and a dependency already met by the package itself or
//!   by a package whose dependencies were walked is skipped.
//! - **Candidate order** (apko's `comparePackages`): already chosen at the
//!   same version; origin already pulled in at the same version (keeps
//!   subpackages together); repository tag equal to the requested one
//!   (untagged when none is); newest version of the requested name
//!   (the provide's version for virtual names); newest version of the
//!   package; highest `provider_priority`; newest version; name.
//! - **Pins.** Packages of a repository with a tag are eligible only when
//!   the atom carries that tag, when a pinned world atom led to them, or
//!   when they are the package already chosen for that name.
//! - **`so:` versions.** A `so:X=V` (also `>=`, `<=`) whose `V` has no
//!   `-rN` compares as `0.V`, in dependencies and provides alike (apko's
//!   melange compatibility rewrite).
//! - **install_if.** After the world's closure, packages whose
//!   `install_if` atoms are all met (`!` atoms: met by nothing selected)
//!   are added with their dependencies, repeatedly until nothing more
//!   triggers. Per name the best triggered package by the candidate order
//!   is taken; packages of tagged repositories need the tag in the world.
//! - **Checks.** The result must hold one package per name and versioned
//!   provide, match no `!conflict`, and meet every dependency; anything
//!   else is an error rather than a broken image.
//!
//! Where this deliberately differs from apko:
//! - versions compare as apk-tools compares them (`apk_format::version`),
//!   including `~` fuzzy matching; apko has its own stricter parser;
//! - a versioned atom is met by the candidate's own version or by its
//!   versioned provide of that name; apko's candidate filter also accepts
//!   a versioned provide of any other name;
//! - `><Q1...` checksum atoms select the package with that control
//!   checksum (apko treats them as unparseable versions);
//! - `!name` atoms in the world are allowed (apko cannot look them up);
//! - `install_if` runs after the whole closure over every selected
//!   package, resolves the triggered package's dependencies and
//!   understands `!` atoms; apko checks it per world atom, over that
//!   atom's dependencies only, and adds the package without its
//!   dependencies. Triggered packages come after the closure in the order;
//! - inconsistent results (two versions of a name, a matched conflict)
//!   are errors; apko silently keeps the first;
//! - a package whose dependency walk has completed is not walked again
//!   when reached through another name (apko re-walks it, which only
//!   repeats listed packages but is exponential on adversarial graphs),
//!   and chains deeper than 1000 links are an error (the walk uses an
//!   explicit stack, so deep chains cost no call stack).
//!
//! `replaces` plays no part in resolution (it matters when files are laid
//! out).
//!
//! # Errors
//!
//! A [`SolveError`] is data: the root (world atom, or `install_if`), the
//! chain of `package depends on atom` steps that led to the failure, and
//! the failure, which for "no candidate" lists every package of the name
//! and why it is out (version constraint and who required it, `!`
//! conflict, already provided by a chosen package, pinned to a tag,
//! missing on another architecture). Its `Display` renders all of it.

#![deny(missing_docs)]

mod error;
mod index;
mod selection;
mod solver;
mod walk;

use std::borrow::Cow;
use std::collections::HashSet;

use apk_format::index_text::IndexText;
use apk_format::{Dependency, PackageRecord};

pub use error::{Candidate, Exclusion, Problem, Root, SolveError, Step};

use index::Index;

/// The packages of a repository, in index order.
#[derive(Clone, Debug)]
pub enum Packages {
    /// Parsed records.
    Records(Vec<PackageRecord>),
    /// A checked index text: the resolver reads the fields it needs in
    /// place, and records are parsed only for the packages asked for.
    Index(IndexText),
}

impl Packages {
    /// Number of packages.
    pub fn len(&self) -> usize {
        match self {
            Packages::Records(r) => r.len(),
            Packages::Index(t) => t.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record of package `i` (parsed now for an index text).
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn record(&self, i: usize) -> Cow<'_, PackageRecord> {
        match self {
            Packages::Records(r) => Cow::Borrowed(&r[i]),
            Packages::Index(t) => Cow::Owned(t.record(i)),
        }
    }
}

impl Default for Packages {
    fn default() -> Self {
        Packages::Records(Vec::new())
    }
}

impl From<Vec<PackageRecord>> for Packages {
    fn from(records: Vec<PackageRecord>) -> Self {
        Packages::Records(records)
    }
}

impl From<IndexText> for Packages {
    fn from(text: IndexText) -> Self {
        Packages::Index(text)
    }
}

/// One repository: its packages, and how to name it in messages.
#[derive(Clone, Debug, Default)]
pub struct Repository {
    /// The repository URL or path, for messages.
    pub name: String,
    /// The `@tag` it is pinned to: its packages are only eligible when a
    /// world atom carries the tag (or they are reached from such an atom).
    pub tag: Option<String>,
    /// Its packages, in index order.
    pub packages: Packages,
}

impl Repository {
    /// An untagged repository.
    pub fn new(name: impl Into<String>, packages: impl Into<Packages>) -> Self {
        Repository {
            name: name.into(),
            tag: None,
            packages: packages.into(),
        }
    }

    /// A repository pinned to `tag` (`@tag url` in `/etc/apk/repositories`).
    pub fn pinned(
        name: impl Into<String>,
        tag: impl Into<String>,
        packages: impl Into<Packages>,
    ) -> Self {
        Repository {
            name: name.into(),
            tag: Some(tag.into()),
            packages: packages.into(),
        }
    }
}

/// Where a package is: `repos[repo].packages[index]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageId {
    /// Index of the repository in the slice given to the resolver.
    pub repo: usize,
    /// Index of the package in that repository.
    pub index: usize,
}

impl PackageId {
    /// The package's record.
    ///
    /// # Panics
    /// When the id does not belong to `repos`.
    pub fn record(self, repos: &[Repository]) -> Cow<'_, PackageRecord> {
        repos[self.repo].packages.record(self.index)
    }
}

/// The packages to install.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Install order: dependencies before their dependents (cycles broken
    /// where first met), `install_if` additions last; one package per name.
    pub packages: Vec<PackageId>,
}

impl Resolution {
    /// The records, in install order.
    pub fn records<'r>(&self, repos: &'r [Repository]) -> Vec<Cow<'r, PackageRecord>> {
        self.packages.iter().map(|id| id.record(repos)).collect()
    }
}

/// A resolver over a fixed set of repositories, reusable for many worlds.
pub struct Solver<'a> {
    index: Index<'a>,
    /// Per package: the architecture it is missing from, if any.
    excluded: Vec<Option<&'a str>>,
}

impl<'a> Solver<'a> {
    /// Indexes `repos` (every package under its name and provides).
    pub fn new(repos: &'a [Repository]) -> Self {
        let index = Index::new(repos);
        let excluded = vec![None; index.len()];
        Solver { index, excluded }
    }

    /// Resolves `world` (see the crate documentation for the semantics).
    pub fn resolve(&self, world: &[Dependency]) -> Result<Resolution, SolveError> {
        let pids = solver::solve(&self.index, &self.excluded, world)?;
        Ok(Resolution {
            packages: pids.iter().map(|&p| self.index.id(p)).collect(),
        })
    }
}

/// Resolves `world` over `repos`.
pub fn resolve(repos: &[Repository], world: &[Dependency]) -> Result<Resolution, SolveError> {
    Solver::new(repos).resolve(world)
}

/// Resolves `world` for several architectures with one consistent version
/// per package: a name+version missing from any architecture's repositories
/// is excluded everywhere (apko's `disqualifyDifference`). Returns one
/// resolution per architecture, in input order; the error of the first
/// architecture that fails carries its name.
pub fn resolve_multi_arch(
    per_arch: &[(String, Vec<Repository>)],
    world: &[Dependency],
) -> Result<Vec<Resolution>, SolveError> {
    let mut solvers: Vec<Solver<'_>> = per_arch
        .iter()
        .map(|(_, repos)| Solver::new(repos))
        .collect();
    let available: Vec<HashSet<(&str, &str)>> = solvers
        .iter()
        .map(|s| {
            (0..s.index.len() as u32)
                .map(|pid| {
                    let p = s.index.pkg(pid);
                    (p.name, p.version)
                })
                .collect()
        })
        .collect();
    for (a, solver) in solvers.iter_mut().enumerate() {
        for pid in 0..solver.index.len() {
            let p = solver.index.pkg(pid as u32);
            let key = (p.name, p.version);
            solver.excluded[pid] = (0..per_arch.len())
                .find(|&b| b != a && !available[b].contains(&key))
                .map(|b| per_arch[b].0.as_str());
        }
    }
    solvers
        .iter()
        .zip(per_arch)
        .map(|(solver, (arch, _))| {
            solver.resolve(world).map_err(|mut e| {
                e.arch = Some(arch.clone());
                e
            })
        })
        .collect()
}
