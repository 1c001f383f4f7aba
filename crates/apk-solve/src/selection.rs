//! The selection as a whole: which `install_if` packages it triggers
//! (phase 3) and whether it is consistent (phase 4).

use apk_format::DependencyRef;

use crate::error::Problem;
use crate::index::{FastMap, NameId, Pid, Want};
use crate::solver::{Chosen, Install, Run};

impl<'a> Run<'_, 'a> {
    /// Every name the selected packages have or provide → those packages.
    pub(crate) fn names_index(&self, list: &[Pid]) -> FastMap<NameId, Vec<Pid>> {
        let mut by_name: FastMap<NameId, Vec<Pid>> = FastMap::default();
        for &pid in list {
            by_name.entry(self.ix.name_of(pid)).or_default().push(pid);
            for p in self.ix.provides(pid) {
                let v = by_name.entry(p.name).or_default();
                if v.last() != Some(&pid) {
                    v.push(pid);
                }
            }
        }
        by_name
    }

    /// Is an atom met by the selection (`!` atoms: matched by nothing)?
    fn atom_met(&self, sel: &FastMap<NameId, Vec<Pid>>, atom: DependencyRef<'_>) -> bool {
        let want = Want::of(atom);
        let found = self.ix.name(atom.name).is_some_and(|nid| {
            sel.get(&nid)
                .is_some_and(|v| v.iter().any(|&p| self.ix.matches(p, nid, &want)))
        });
        found != atom.conflict
    }

    /// `install_if` packages now triggered: one per name (the best by
    /// apko's order), ordered by name. Packages of a tagged repository
    /// count only when the world asks for that tag.
    pub(crate) fn triggered(&self, install: &Install, chosen: &Chosen, tags: &[&str]) -> Vec<Pid> {
        let ix = self.ix;
        let sel = self.names_index(&install.list);
        let mut cands: Vec<Pid> = sel
            .keys()
            .flat_map(|&n| ix.triggered_by(n))
            .copied()
            .collect();
        cands.sort_unstable();
        cands.dedup();
        cands.retain(|&c| {
            self.dq[c as usize].is_none()
                && !install.by_name.contains_key(&ix.name_of(c))
                && ix.tag(c).is_none_or(|t| tags.contains(&t))
                && ix.pkg(c).install_if.iter().all(|a| self.atom_met(&sel, a))
        });
        cands.sort_by(|&a, &b| ix.name_str(a).cmp(ix.name_str(b)).then(a.cmp(&b)));
        let existing = chosen.snapshot(ix);
        let mut out = Vec::new();
        for group in cands.chunk_by(|&a, &b| ix.name_of(a) == ix.name_of(b)) {
            out.push(self.best(group, ix.name_of(group[0]), Some(&existing), None));
        }
        out
    }

    /// Are `pid`'s install_if atoms still met? Only `!` atoms can stop
    /// holding as packages are added.
    pub(crate) fn still_triggered(&self, pid: Pid, install: &Install) -> bool {
        let atoms = self.ix.pkg(pid).install_if;
        if !atoms.iter().any(|a| a.conflict) {
            return true;
        }
        let sel = self.names_index(&install.list);
        atoms.iter().all(|a| self.atom_met(&sel, a))
    }

    /// Phase 4: one package per name and versioned provide, no `!`
    /// conflict matched (a package never conflicts with itself), every
    /// dependency met.
    pub(crate) fn check(
        &self,
        list: &[Pid],
        world: &[DependencyRef<'a>],
    ) -> Result<(), Box<Problem>> {
        let ix = self.ix;
        let label = |p: Pid| ix.label(p);
        let mut claims: FastMap<NameId, Pid> = FastMap::default();
        for &pid in list {
            let provided = ix.provides(pid).iter().filter(|p| p.is_versioned());
            let names = [ix.name_of(pid)]
                .into_iter()
                .chain(provided.map(|p| p.name));
            for nid in names {
                match claims.insert(nid, pid) {
                    Some(o) if o != pid => {
                        return Err(Box::new(Problem::Clash {
                            package: label(pid),
                            other: label(o),
                            name: ix.name_strs[nid as usize].to_string(),
                        }));
                    }
                    _ => {}
                }
            }
        }
        let sel = self.names_index(list);
        let conflicts = world.iter().filter(|d| d.conflict).map(|&d| (None, d));
        let declared = list.iter().flat_map(|&p| {
            ix.pkg(p)
                .depends
                .iter()
                .filter(|d| d.conflict)
                .map(move |d| (Some(p), d))
        });
        for (by, dep) in conflicts.chain(declared) {
            let Some(nid) = ix.name(dep.name) else {
                continue;
            };
            let want = Want::of(dep);
            for &p in sel.get(&nid).map(Vec::as_slice).unwrap_or_default() {
                if Some(p) != by && ix.matches(p, nid, &want) {
                    return Err(Box::new(Problem::Conflict {
                        package: by.map(label),
                        conflict: DependencyRef {
                            conflict: false,
                            ..dep
                        }
                        .into_owned(),
                        selected: label(p),
                    }));
                }
            }
        }
        for &pid in list {
            for dep in ix.pkg(pid).depends.iter().filter(|d| !d.conflict) {
                let met = ix.name(dep.name).is_some_and(|nid| {
                    ix.has_name(pid, nid)
                        || sel.get(&nid).is_some_and(|v| {
                            let want = Want::of(dep);
                            v.iter().any(|&p| ix.matches(p, nid, &want))
                        })
                });
                if !met {
                    return Err(Box::new(Problem::Unsatisfied {
                        package: label(pid),
                        dependency: dep.into_owned(),
                    }));
                }
            }
        }
        Ok(())
    }
}
