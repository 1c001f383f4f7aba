//! apko's greedy resolver (`GetPackagesWithDependencies`), on index ids.
//!
//! The phases, in order:
//! 1. the world's versioned and `!` atoms disqualify packages; then world
//!    atoms are chosen fewest-candidates-first, each choice disqualifying
//!    other providers of its versioned provides;
//! 2. each world atom is walked depth first (`walk.rs`), children
//!    before parents, giving the install order;
//! 3. `install_if` packages whose atoms are all met are added, with their
//!    dependencies, until nothing more triggers;
//! 4. the selection is checked: one package per name, no `!conflict`
//!    matched, every dependency met.

use std::cmp::Ordering;

use apk_format::{Dependency, DependencyRef, version};

use crate::error::{Candidate, Exclusion, Problem, Root, SolveError, Step};
use crate::index::{FastMap, Index, NameId, Pid, Want};

/// Why a package was disqualified (apko's `dq` map).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reason<'a> {
    /// A versioned (or checksum) requirement it does not meet.
    Version {
        dep: DependencyRef<'a>,
        by: Option<Pid>,
    },
    /// A `!conflict` that matches it.
    Conflict {
        dep: DependencyRef<'a>,
        by: Option<Pid>,
    },
    /// Another chosen package provides one of its names.
    AlreadyProvided { name: NameId, by: Pid },
    /// Its name and version are missing for another architecture.
    MissingOnArch(&'a str),
}

/// Packages chosen so far, by name, and the versions of their origins:
/// the "existing" preference of apko's candidate order.
#[derive(Clone, Default)]
pub(crate) struct Existing<'a> {
    pub(crate) by_name: FastMap<NameId, Pid>,
    origins: FastMap<&'a str, &'a str>,
}

impl<'a> Existing<'a> {
    pub(crate) fn add(&mut self, ix: &Index<'a>, pid: Pid) {
        self.by_name.insert(ix.name_of(pid), pid);
        let pkg = ix.pkg(pid);
        if let Some(origin) = pkg.origin.filter(|o| !o.is_empty()) {
            self.origins.insert(origin, pkg.version);
        }
    }
}

/// A failure before its root is attached.
pub(crate) struct Fail {
    pub(crate) chain: Vec<Step>,
    pub(crate) problem: Box<Problem>,
}

/// apko's `dependenciesMap`: name → package, in insertion order.
#[derive(Default)]
pub(crate) struct Chosen {
    order: Vec<NameId>,
    map: FastMap<NameId, Pid>,
}

impl Chosen {
    fn set(&mut self, nid: NameId, pid: Pid, overwrite: bool) {
        match self.map.get(&nid) {
            None => {
                self.order.push(nid);
                self.map.insert(nid, pid);
            }
            Some(_) if overwrite => {
                self.map.insert(nid, pid);
            }
            Some(_) => {}
        }
    }

    pub(crate) fn snapshot<'a>(&self, ix: &Index<'a>) -> Existing<'a> {
        let mut e = Existing::default();
        for nid in &self.order {
            e.add(ix, self.map[nid]);
        }
        e
    }
}

/// The packages to install, in order, one per name.
#[derive(Default)]
pub(crate) struct Install {
    pub(crate) list: Vec<Pid>,
    pub(crate) by_name: FastMap<NameId, Pid>,
}

/// The state of one resolution.
pub(crate) struct Run<'i, 'a> {
    pub(crate) ix: &'i Index<'a>,
    pub(crate) dq: Vec<Option<Reason<'a>>>,
    /// apko's `selected`: names (and versioned provides) of packages whose
    /// dependencies are being or have been walked.
    pub(crate) selected: FastMap<NameId, Pid>,
    /// Packages whose walk has completed.
    pub(crate) walked: Vec<bool>,
}

/// How deep a dependency chain may go. Real chains are a few dozen links;
/// the limit keeps hostile indexes from exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 1000;

/// Resolves `world` over `ix`; `excluded` holds per-package arch exclusions.
pub(crate) fn solve<'a>(
    ix: &Index<'a>,
    excluded: &[Option<&'a str>],
    world: &'a [Dependency],
) -> Result<Vec<Pid>, SolveError> {
    let mut run = Run {
        ix,
        dq: excluded
            .iter()
            .map(|e| e.map(Reason::MissingOnArch))
            .collect(),
        selected: FastMap::default(),
        walked: vec![false; excluded.len()],
    };
    let root_err = |root: Root, f: Fail| SolveError {
        arch: None,
        root: Box::new(root),
        chain: f.chain,
        problem: f.problem,
    };
    let world: Vec<DependencyRef<'a>> = world.iter().map(Dependency::borrowed).collect();
    let positive: Vec<DependencyRef<'a>> = world.iter().copied().filter(|d| !d.conflict).collect();

    // Phase 1: constrain, then pick world atoms fewest-candidates-first.
    run.constrain(world.iter().copied(), None);
    let mut chosen = Chosen::default();
    let mut remaining = positive.clone();
    while !remaining.is_empty() {
        let mut next: Option<(usize, NameId, Vec<Pid>)> = None;
        for (i, dep) in remaining.iter().enumerate() {
            let (nid, cands) = run
                .world_candidates(*dep)
                .map_err(|f| root_err(Root::World(dep.into_owned()), f))?;
            if next.as_ref().is_none_or(|n| cands.len() < n.2.len()) {
                next = Some((i, nid, cands));
            }
        }
        let (i, nid, cands) = next.expect("remaining is not empty");
        let dep = remaining[i];
        let pid = run.best(&cands, nid, None, dep.tag);
        chosen.set(ix.name_of(pid), pid, true);
        remaining.retain(|d| *d != dep);
        run.disqualify_conflicts(pid);
    }

    // Phase 2: walk each world atom's dependencies.
    let mut install = Install::default();
    for &dep in &positive {
        let root = || Root::World(dep.into_owned());
        let (nid, cands) = run.world_candidates(dep).map_err(|f| root_err(root(), f))?;
        let pid = run.best(&cands, nid, None, dep.tag);
        let mut existing = chosen.snapshot(ix);
        let deps = run
            .walk(pid, dep.tag, &mut existing)
            .map_err(|f| root_err(root(), f))?;
        run.add_all(&mut install, &mut chosen, deps.into_iter().chain([pid]))
            .map_err(|f| root_err(root(), f))?;
    }

    // Phase 3: install_if, to a fixed point.
    let tags: Vec<&str> = positive.iter().filter_map(|d| d.tag).collect();
    loop {
        let triggered = run.triggered(&install, &chosen, &tags);
        if triggered.is_empty() {
            break;
        }
        for pid in triggered {
            // An earlier addition of this round may have settled it.
            if install.by_name.contains_key(&ix.name_of(pid))
                || run.dq[pid as usize].is_some()
                || !run.still_triggered(pid, &install)
            {
                continue;
            }
            let root = || Root::InstallIf {
                package: ix.label(pid),
                install_if: ix.pkg(pid).install_if.to_vec(),
            };
            let mut existing = chosen.snapshot(ix);
            let deps = run
                .walk(pid, ix.tag(pid), &mut existing)
                .map_err(|f| root_err(root(), f))?;
            run.add_all(&mut install, &mut chosen, deps.into_iter().chain([pid]))
                .map_err(|f| root_err(root(), f))?;
        }
    }

    // Phase 4: the selection must be consistent.
    run.check(&install.list, &world)
        .map_err(|problem| SolveError {
            arch: None,
            root: Box::new(Root::Selection),
            chain: Vec::new(),
            problem,
        })?;
    Ok(install.list)
}

/// Turns a walk path plus a last step into a chain.
pub(crate) fn chain(
    ix: &Index<'_>,
    path: &[(Pid, DependencyRef<'_>)],
    last: Option<(Pid, DependencyRef<'_>)>,
) -> Vec<Step> {
    path.iter()
        .copied()
        .chain(last)
        .map(|(pid, dep)| Step {
            package: ix.label(pid),
            dependency: dep.into_owned(),
        })
        .collect()
}

/// `Some(order)` putting the newer of two versions first; an invalid
/// version loses (as in apko); `None` when they compare equal.
fn newer_first(a: &str, b: &str) -> Option<Ordering> {
    if !version::is_valid(a) {
        return Some(Ordering::Greater);
    }
    if !version::is_valid(b) {
        return Some(Ordering::Less);
    }
    match version::compare(a, b) {
        Ordering::Equal => None,
        o => Some(o.reverse()),
    }
}

impl<'a> Run<'_, 'a> {
    /// May `pid` be used, given the pins in force? Packages of a tagged
    /// repository need the tag requested (`prefer`), inherited from a
    /// pinned parent (`allow`), or to be the package already chosen.
    fn pin_allowed(
        &self,
        pid: Pid,
        allow: Option<&str>,
        prefer: Option<&str>,
        installed: Option<Pid>,
    ) -> bool {
        match self.ix.tag(pid) {
            None => true,
            Some(t) => Some(t) == allow || Some(t) == prefer || installed == Some(pid),
        }
    }

    /// apko's `filterPackages`: providers of `nid` that are not
    /// disqualified, allowed by pins, and satisfy `want`.
    pub(crate) fn candidates(
        &self,
        nid: NameId,
        want: &Want<'_>,
        allow: Option<&str>,
        prefer: Option<&str>,
        installed: Option<Pid>,
    ) -> Vec<Pid> {
        self.ix
            .providers(nid)
            .iter()
            .copied()
            .filter(|&p| {
                self.dq[p as usize].is_none()
                    && self.pin_allowed(p, allow, prefer, installed)
                    && self.ix.matches(p, nid, want)
            })
            .collect()
    }

    /// Candidates for a world atom, or why there are none.
    fn world_candidates(&self, dep: DependencyRef<'a>) -> Result<(NameId, Vec<Pid>), Fail> {
        let want = Want::of(dep);
        let tag = dep.tag;
        let nid = self.lookup(dep.name).map_err(|problem| Fail {
            chain: Vec::new(),
            problem,
        })?;
        let cands = self.candidates(nid, &want, None, tag, None);
        if cands.is_empty() {
            return Err(Fail {
                chain: Vec::new(),
                problem: self.explain(nid, &want, dep, None, None, tag, None),
            });
        }
        Ok((nid, cands))
    }

    /// The id of a name that something provides.
    pub(crate) fn lookup(&self, name: &str) -> Result<NameId, Box<Problem>> {
        match self.ix.name(name) {
            Some(nid) if !self.ix.providers(nid).is_empty() => Ok(nid),
            _ => Err(Box::new(Problem::NothingProvides {
                name: name.to_string(),
                repositories: self.ix.repos.iter().map(|r| r.name.clone()).collect(),
            })),
        }
    }

    /// Why no provider of `nid` can satisfy `dep`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn explain(
        &self,
        nid: NameId,
        want: &Want<'_>,
        dep: DependencyRef<'_>,
        requirer: Option<Pid>,
        allow: Option<&str>,
        prefer: Option<&str>,
        installed: Option<Pid>,
    ) -> Box<Problem> {
        let ix = self.ix;
        let mut candidates = Vec::new();
        for &pid in ix.providers(nid) {
            let reason = if let Some(r) = self.dq[pid as usize] {
                self.exclusion(r)
            } else if !self.pin_allowed(pid, allow, prefer, installed) {
                Exclusion::Pinned {
                    tag: ix.tag(pid).unwrap_or_default().to_string(),
                }
            } else if !ix.matches(pid, nid, want) {
                Exclusion::Version {
                    dependency: dep.into_owned(),
                    required_by: requirer.map(|p| ix.label(p)),
                }
            } else {
                continue;
            };
            candidates.push(Candidate {
                package: ix.label(pid),
                repository: ix.repo_name(pid).to_string(),
                tag: ix.tag(pid).map(str::to_string),
                provides: (ix.name_of(pid) != nid)
                    .then(|| ix.provide_atom(pid, nid).map(|p| p.to_string()))
                    .flatten(),
                reason,
            });
        }
        Box::new(Problem::NoCandidate { candidates })
    }

    fn exclusion(&self, r: Reason<'a>) -> Exclusion {
        let label = |p: Option<Pid>| p.map(|p| self.ix.label(p));
        match r {
            Reason::Version { dep, by } => Exclusion::Version {
                dependency: dep.into_owned(),
                required_by: label(by),
            },
            Reason::Conflict { dep, by } => Exclusion::Conflict {
                dependency: DependencyRef {
                    conflict: false,
                    ..dep
                }
                .into_owned(),
                by: label(by),
            },
            Reason::AlreadyProvided { name, by } => Exclusion::AlreadyProvided {
                name: self.ix.name_strs[name as usize].to_string(),
                by: self.ix.label(by),
            },
            Reason::MissingOnArch(arch) => Exclusion::MissingOnArch {
                arch: arch.to_string(),
            },
        }
    }

    fn disqualify(&mut self, pid: Pid, reason: Reason<'a>) {
        let slot = &mut self.dq[pid as usize];
        if slot.is_none() {
            *slot = Some(reason);
        }
    }

    /// apko's `constrain`: versioned atoms disqualify providers that do not
    /// meet them, `!` atoms disqualify providers they match. `by` itself
    /// is never disqualified (a package may conflict with a name it provides).
    pub(crate) fn constrain(
        &mut self,
        deps: impl IntoIterator<Item = DependencyRef<'a>>,
        by: Option<Pid>,
    ) {
        for dep in deps {
            let Some(nid) = self.ix.name(dep.name) else {
                continue;
            };
            let want = Want::of(dep);
            if dep.conflict {
                let hit = self.candidates(nid, &want, None, dep.tag, None);
                for pid in hit {
                    if Some(pid) != by {
                        self.disqualify(pid, Reason::Conflict { dep, by });
                    }
                }
                continue;
            }
            if matches!(want, Want::Any) {
                continue;
            }
            for &pid in self.ix.providers(nid) {
                if Some(pid) != by
                    && self.dq[pid as usize].is_none()
                    && self.ix.constraint_excludes(pid, nid, &want)
                {
                    self.disqualify(pid, Reason::Version { dep, by });
                }
            }
        }
    }

    /// apko's `disqualifyConflicts`: once `pid` is chosen, other providers
    /// of its versioned provides are out; an unversioned provide only
    /// excludes a package of that very name.
    pub(crate) fn disqualify_conflicts(&mut self, pid: Pid) {
        let ix = self.ix;
        for prov in ix.provides(pid) {
            let nid = prov.name;
            let versioned = prov.is_versioned();
            for &other in ix.providers(nid) {
                if other == pid || self.dq[other as usize].is_some() {
                    continue;
                }
                let conflicting = versioned
                    || ix.name_of(other) == nid
                    || ix.provide(other, nid).is_some_and(|p| p.is_versioned());
                if conflicting {
                    self.disqualify(other, Reason::AlreadyProvided { name: nid, by: pid });
                }
            }
        }
    }

    /// apko's `pick`: record `pid` under its name and versioned provides;
    /// another package already there is a clash.
    pub(crate) fn pick(&mut self, pid: Pid) -> Result<(), Box<Problem>> {
        let ix = self.ix;
        let clash = |other: Pid, nid: NameId| {
            Box::new(Problem::Clash {
                package: ix.label(pid),
                other: ix.label(other),
                name: ix.name_strs[nid as usize].to_string(),
            })
        };
        let nid = ix.name_of(pid);
        match self.selected.get(&nid) {
            Some(&o) if o == pid => return Ok(()),
            Some(&o) => return Err(clash(o, nid)),
            None => {}
        }
        self.selected.insert(nid, pid);
        for prov in ix.provides(pid) {
            let pnid = prov.name;
            match self.selected.get(&pnid) {
                Some(&o) if o != pid => return Err(clash(o, pnid)),
                _ => {}
            }
            if prov.is_versioned() {
                self.selected.insert(pnid, pid);
            }
        }
        Ok(())
    }

    /// apko's `bestPackage`: the first candidate that no other beats.
    pub(crate) fn best(
        &self,
        cands: &[Pid],
        nid: NameId,
        existing: Option<&Existing<'_>>,
        pin: Option<&str>,
    ) -> Pid {
        let mut best = cands[0];
        for &c in &cands[1..] {
            if self.compare(c, best, nid, existing, pin) == Ordering::Less {
                best = c;
            }
        }
        best
    }

    /// apko's `comparePackages`: `Less` means `a` is preferred.
    fn compare(
        &self,
        a: Pid,
        b: Pid,
        nid: NameId,
        existing: Option<&Existing<'_>>,
        pin: Option<&str>,
    ) -> Ordering {
        let ix = self.ix;
        let (pa, pb) = (ix.pkg(a), ix.pkg(b));
        let prefer = |x: bool, y: bool| match (x, y) {
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            _ => None,
        };
        if let Some(ex) = existing {
            // Already chosen at this version.
            let chosen = |pid: Pid| {
                ex.by_name
                    .get(&ix.name_of(pid))
                    .is_some_and(|&e| ix.version(e) == ix.version(pid))
            };
            if let Some(o) = prefer(chosen(a), chosen(b)) {
                return o;
            }
            // Its origin already pulled in, at this version.
            let origin = |pid: Pid| {
                let p = ix.pkg(pid);
                p.origin.is_some_and(|o| {
                    !o.is_empty() && ex.origins.get(o).is_some_and(|v| *v == p.version)
                })
            };
            if let Some(o) = prefer(origin(a), origin(b)) {
                return o;
            }
        }
        if let Some(o) = prefer(ix.tag(a) == pin, ix.tag(b) == pin) {
            return o;
        }
        // Newest by the requested name (an unversioned provide ties).
        if let (Some(va), Some(vb)) = (ix.version_for(a, nid), ix.version_for(b, nid))
            && va != vb
            && let Some(o) = newer_first(&va, &vb)
        {
            return o;
        }
        // Newest by the package name.
        if pa.name == pb.name
            && pa.version != pb.version
            && let Some(o) = newer_first(pa.version, pb.version)
        {
            return o;
        }
        let (ka, kb) = (
            pa.provider_priority.unwrap_or(0),
            pb.provider_priority.unwrap_or(0),
        );
        if ka != kb {
            return kb.cmp(&ka);
        }
        // The newer build, whatever repository has it (apko, not apk-tools).
        if pa.version != pb.version
            && let Some(o) = newer_first(pa.version, pb.version)
        {
            return o;
        }
        pa.name.cmp(pb.name)
    }

    /// Does the package already selected for `nid` satisfy `want`? As in
    /// apko: any version will do for an unversioned atom; else a versioned
    /// provide of the name, or the package's own version, must match.
    pub(crate) fn selected_satisfies(&self, picked: Pid, nid: NameId, want: &Want<'_>) -> bool {
        match want {
            Want::Any => true,
            _ => self.ix.matches(picked, nid, want),
        }
    }

    /// Appends packages to the install list (first of each name wins; a
    /// second, different package of a name is a clash).
    fn add_all(
        &self,
        install: &mut Install,
        chosen: &mut Chosen,
        pids: impl Iterator<Item = Pid>,
    ) -> Result<(), Fail> {
        let ix = self.ix;
        for pid in pids {
            let nid = ix.name_of(pid);
            match install.by_name.get(&nid) {
                None => {
                    install.by_name.insert(nid, pid);
                    install.list.push(pid);
                }
                Some(&o) if o == pid => {}
                Some(&o) => {
                    return Err(Fail {
                        chain: Vec::new(),
                        problem: Box::new(Problem::Clash {
                            package: ix.label(pid),
                            other: ix.label(o),
                            name: ix.name_strs[nid as usize].to_string(),
                        }),
                    });
                }
            }
            chosen.set(nid, pid, false);
        }
        Ok(())
    }
}
