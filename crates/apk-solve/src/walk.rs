//! apko's `getPackageDependencies`, on an explicit stack.
//!
//! The dependencies of a package come out deepest first: at each level the
//! dependency with the fewest candidates is chosen (ties by atom text), its
//! own dependencies are walked, then it is listed, then the next. apko
//! recurses; here each package being walked is a [`Frame`], so a long
//! chain costs heap, not stack.

use apk_format::DependencyRef;

use crate::error::{Problem, Step};
use crate::index::{NameId, Pid, Want};
use crate::solver::{Existing, Fail, MAX_DEPTH, Run, chain};

/// One package whose dependencies are being walked.
struct Frame<'a> {
    pkg: Pid,
    /// Dependencies not yet settled, with their atom text (the tie-break).
    pending: Vec<(String, DependencyRef<'a>)>,
    /// Packages listed so far, in install order.
    out: Vec<Pid>,
    /// The dependency being walked and the package chosen for it.
    current: Option<(DependencyRef<'a>, Pid)>,
}

/// The chain of steps down to the frames on the stack, plus `last`.
fn stack_chain(
    run: &Run<'_, '_>,
    stack: &[Frame<'_>],
    last: Option<(Pid, DependencyRef<'_>)>,
) -> Vec<Step> {
    let path: Vec<(Pid, DependencyRef<'_>)> = stack
        .iter()
        .filter_map(|f| f.current.map(|(dep, _)| (f.pkg, dep)))
        .collect();
    chain(run.ix, &path, last)
}

impl<'a> Run<'_, 'a> {
    /// The dependencies of `root` in install order (without `root`).
    /// `allow_pin` lets packages of that tagged repository in.
    pub(crate) fn walk(
        &mut self,
        root: Pid,
        allow_pin: Option<&'a str>,
        existing: &mut Existing<'a>,
    ) -> Result<Vec<Pid>, Fail> {
        let mut stack: Vec<Frame<'a>> = Vec::new();
        match self.enter(root, &stack)? {
            Some(frame) => stack.push(frame),
            None => return Ok(Vec::new()),
        }
        loop {
            let mut frame = stack.pop().expect("the stack is not empty");
            let next = self.next_dependency(&mut frame, &stack, allow_pin, existing);
            match next {
                Err(fail) => return Err(fail),
                Ok(Some((dep, best))) => {
                    frame.current = Some((dep, best));
                    stack.push(frame);
                    if let Some(child) = self.enter(best, &stack)? {
                        stack.push(child);
                    } else {
                        let parent = stack.last_mut().expect("the frame was just pushed");
                        finish_child(parent, Vec::new());
                    }
                }
                Ok(None) => {
                    self.walked[frame.pkg as usize] = true;
                    let Some(parent) = stack.last_mut() else {
                        return Ok(frame.out);
                    };
                    for &d in &frame.out {
                        existing.add(self.ix, d);
                    }
                    finish_child(parent, frame.out);
                }
            }
        }
    }

    /// Starts walking `pkg`, or `None` when there is nothing to walk: it
    /// is an ancestor (a cycle), or its walk already completed (apko walks
    /// it again when reached through another name, which only repeats
    /// packages already listed, at exponential cost on adversarial graphs).
    fn enter(&mut self, pkg: Pid, stack: &[Frame<'a>]) -> Result<Option<Frame<'a>>, Fail> {
        let ix = self.ix;
        let name = ix.name_of(pkg);
        if self.walked[pkg as usize] || stack.iter().any(|f| ix.name_of(f.pkg) == name) {
            return Ok(None);
        }
        if stack.len() >= MAX_DEPTH {
            return Err(Fail {
                chain: stack_chain(self, stack, None),
                problem: Box::new(Problem::TooDeep { limit: MAX_DEPTH }),
            });
        }
        let record = ix.pkg(pkg);
        self.constrain(record.depends.iter(), Some(pkg));
        let pending = record
            .depends
            .iter()
            .filter(|d| !d.conflict)
            .map(|d| (d.to_string(), d))
            .collect();
        Ok(Some(Frame {
            pkg,
            pending,
            out: Vec::new(),
            current: None,
        }))
    }

    /// Settles what it can of `frame`'s pending dependencies and returns
    /// the next one to walk with the package chosen for it, or `None` when
    /// all are settled.
    fn next_dependency(
        &mut self,
        frame: &mut Frame<'a>,
        stack: &[Frame<'a>],
        allow_pin: Option<&'a str>,
        existing: &Existing<'a>,
    ) -> Result<Option<(DependencyRef<'a>, Pid)>, Fail> {
        let ix = self.ix;
        let pkg = frame.pkg;
        let record = ix.pkg(pkg);
        let mut options: Vec<(String, DependencyRef<'a>, NameId, Vec<Pid>)> = Vec::new();
        for (key, dep) in frame.pending.drain(..) {
            let fail = |problem| Fail {
                chain: stack_chain(self, stack, Some((pkg, dep))),
                problem,
            };
            let nid = ix.name(dep.name);
            let want = Want::of(dep);
            if nid.is_some_and(|n| ix.provide(pkg, n).is_some()) {
                continue; // it provides the name itself
            }
            if record.name == dep.name && ix.matches(pkg, ix.name_of(pkg), &want) {
                continue; // it is the name itself
            }
            if let Some(n) = nid
                && let Some(&picked) = self.selected.get(&n)
            {
                if self.selected_satisfies(picked, n, &want) {
                    continue;
                }
                return Err(fail(Box::new(Problem::SelectedMismatch {
                    selected: ix.label(picked),
                })));
            }
            let nid = self.lookup(dep.name).map_err(fail)?;
            let installed = existing.by_name.get(&nid).copied();
            let cands = self.candidates(nid, &want, allow_pin, None, installed);
            if cands.is_empty() {
                let p = self.explain(nid, &want, dep, Some(pkg), allow_pin, None, installed);
                return Err(fail(p));
            }
            if options.iter().all(|o| o.0 != key) {
                options.push((key, dep, nid, cands));
            }
        }
        let Some(lowest) = (0..options.len()).min_by(|&i, &j| {
            let (a, b) = (&options[i], &options[j]);
            a.3.len().cmp(&b.3.len()).then_with(|| a.0.cmp(&b.0))
        }) else {
            return Ok(None);
        };
        let (_, dep, nid, cands) = options.remove(lowest);
        frame.pending = options.into_iter().map(|o| (o.0, o.1)).collect();
        let best = self.best(&cands, nid, Some(existing), None);
        self.disqualify_conflicts(best);
        self.pick(pkg).map_err(|problem| Fail {
            chain: stack_chain(self, stack, Some((pkg, dep))),
            problem,
        })?;
        Ok(Some((dep, best)))
    }
}

/// Lists a walked child's dependencies, then the child, in its parent.
fn finish_child(parent: &mut Frame<'_>, sub: Vec<Pid>) {
    let (_, best) = parent.current.take().expect("a child was being walked");
    parent.out.extend(sub);
    parent.out.push(best);
}
