//! Building a tree: recipes in build order, up to `jobs` at a time, each
//! checked against the record of its last build first.
//!
//! A recipe starts once everything it needs is settled (built or up to
//! date); its inputs are then exact, so a dependency rebuilt
//! byte-identical leaves it up to date. After a failure, what needs the
//! failed recipe is blocked; without `keep_going` nothing new starts.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::build::{BuildContext, FileLog, Verdict};
use crate::graph::Graph;
use crate::order::Order;

/// What happened to one recipe.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Built; why, and where its log is.
    Built {
        /// Why it was built.
        reasons: Vec<String>,
        /// The build log.
        log: PathBuf,
        /// Wall time (check and build).
        time: Duration,
    },
    /// Its packages were already made from the same inputs.
    UpToDate {
        /// Wall time of the check.
        time: Duration,
    },
    /// The build (or the check) failed.
    Failed {
        /// The error.
        error: String,
        /// The build log, if the build started.
        log: Option<PathBuf>,
        /// Wall time.
        time: Duration,
    },
    /// Not attempted: it needs a recipe that failed or is in a cycle.
    Blocked(Blocker),
    /// Not attempted: the run stopped after a failure.
    NotStarted,
}

/// Why a recipe is blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// This recipe (a node index) failed.
    Failed(usize),
    /// This cycle (an index into [`Order::cycles`]).
    Cycle(usize),
}

impl Outcome {
    /// Whether the recipe's packages are in place.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Built { .. } | Outcome::UpToDate { .. })
    }
}

/// Receives progress; the CLI draws it.
pub trait Events: Sync {
    /// A recipe's build starts (after its check said so).
    fn building(&self, _node: usize, _reasons: &[String]) {}
    /// A recipe is settled.
    fn finished(&self, _node: usize, _outcome: &Outcome) {}
}

/// How to run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Builds at a time (at least 1).
    pub jobs: usize,
    /// Build everything that does not need a failed recipe.
    pub keep_going: bool,
}

struct Sched {
    /// Per node, needs not yet settled.
    remaining: Vec<usize>,
    /// Nodes ready to start: (level, node).
    ready: BTreeSet<(usize, usize)>,
    outcomes: Vec<Option<Outcome>>,
    running: usize,
    stop: bool,
}

/// Builds every recipe of `graph` that needs it; returns each recipe's
/// outcome, by node index.
pub fn run(
    ctx: &BuildContext<'_>,
    graph: &Graph,
    order: &Order,
    opts: RunOptions,
    events: &dyn Events,
) -> Vec<Outcome> {
    let n = graph.nodes.len();
    let mut s = Sched {
        remaining: order.needs.iter().map(Vec::len).collect(),
        ready: BTreeSet::new(),
        outcomes: vec![None; n],
        running: 0,
        stop: false,
    };
    for i in 0..n {
        if let Some(c) = order.blocked_by[i] {
            s.outcomes[i] = Some(Outcome::Blocked(Blocker::Cycle(c)));
        } else if s.remaining[i] == 0 {
            s.ready.insert((order.level[i], i));
        }
    }
    for i in 0..n {
        if let Some(o) = &s.outcomes[i] {
            events.finished(i, o);
        }
    }
    let state = Mutex::new(s);
    let wake = Condvar::new();
    let workers = opts.jobs.max(1).min(n.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| worker(ctx, graph, order, opts, events, &state, &wake));
        }
    });
    let s = state.into_inner().unwrap_or_else(|e| e.into_inner());
    s.outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::NotStarted))
        .collect()
}

fn worker(
    ctx: &BuildContext<'_>,
    graph: &Graph,
    order: &Order,
    opts: RunOptions,
    events: &dyn Events,
    state: &Mutex<Sched>,
    wake: &Condvar,
) {
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let node = {
            let mut s = lock();
            loop {
                if !s.stop
                    && let Some(first) = s.ready.pop_first()
                {
                    s.running += 1;
                    break Some(first.1);
                }
                if s.running == 0 {
                    break None;
                }
                s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(i) = node else {
            wake.notify_all();
            return;
        };
        let outcome = settle(ctx, graph, i, events);
        events.finished(i, &outcome);
        let mut s = lock();
        s.running -= 1;
        if outcome.is_success() {
            for &d in &order.needed_by[i] {
                s.remaining[d] -= 1;
                if s.remaining[d] == 0 && s.outcomes[d].is_none() {
                    s.ready.insert((order.level[d], d));
                }
            }
        } else {
            if !opts.keep_going {
                s.stop = true;
            }
            // Everything that needs it, directly or not.
            let mut stack = order.needed_by[i].clone();
            while let Some(d) = stack.pop() {
                if s.outcomes[d].is_none() {
                    let o = Outcome::Blocked(Blocker::Failed(i));
                    events.finished(d, &o);
                    s.outcomes[d] = Some(o);
                    s.ready.remove(&(order.level[d], d));
                    stack.extend(order.needed_by[d].iter().copied());
                }
            }
        }
        s.outcomes[i] = Some(outcome);
        drop(s);
        wake.notify_all();
    }
}

/// Checks and, if needed, builds one recipe.
fn settle(ctx: &BuildContext<'_>, graph: &Graph, i: usize, events: &dyn Events) -> Outcome {
    let node = &graph.nodes[i];
    let started = Instant::now();
    let checked = match ctx.check(node) {
        Ok(c) => c,
        Err(error) => {
            return Outcome::Failed {
                error,
                log: None,
                time: started.elapsed(),
            };
        }
    };
    let reasons = match checked.verdict {
        Verdict::UpToDate => {
            return Outcome::UpToDate {
                time: started.elapsed(),
            };
        }
        Verdict::Build(reasons) => reasons,
    };
    events.building(i, &reasons);
    let log_path = ctx.log_path(node);
    let log = match FileLog::create(&log_path) {
        Ok(l) => l,
        Err(e) => {
            return Outcome::Failed {
                error: format!("creating {}: {e}", log_path.display()),
                log: None,
                time: started.elapsed(),
            };
        }
    };
    let ms = |t: Instant| t.duration_since(ctx.started).as_millis();
    use pkgbuild::Log;
    log.line(&format!(
        "==> build-tree: {} {} ({})",
        node.name,
        node.version,
        node.recipe.display()
    ));
    log.line(&format!("==> build-tree: because {}", reasons.join("; ")));
    log.line(&format!("==> build-tree: started at +{} ms", ms(started)));
    let result = ctx.build(node, checked.parts, &log);
    let end = Instant::now();
    match result {
        Ok(_) => {
            log.line(&format!("==> build-tree: finished at +{} ms", ms(end)));
            Outcome::Built {
                reasons,
                log: log_path,
                time: end - started,
            }
        }
        Err(error) => {
            log.line(&format!(
                "==> build-tree: failed at +{} ms: {error}",
                ms(end)
            ));
            Outcome::Failed {
                error,
                log: Some(log_path),
                time: end - started,
            }
        }
    }
}
