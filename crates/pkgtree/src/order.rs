//! Build order: which recipes must be built before which, cycles, levels.
//!
//! A recipe *needs* another when its build environment names a package the
//! other makes, or a package that one of those depends on at runtime
//! (transitively): installing the environment needs all of them. Runtime
//! and test edges alone do not order builds (packages may depend on each
//! other at runtime; tests are not part of a build).

use std::collections::VecDeque;

use serde::Serialize;

use crate::graph::{Edge, EdgeKind, Graph};

/// The build order of a graph.
#[derive(Debug)]
pub struct Order {
    /// Per node, the nodes it needs, sorted.
    pub needs: Vec<Vec<usize>>,
    /// Per node, the nodes that need it, sorted.
    pub needed_by: Vec<Vec<usize>>,
    /// Cycles: each a closed chain of edges (the last edge leads back to
    /// the first edge's recipe). One per group of recipes that need each
    /// other.
    pub cycles: Vec<Vec<Edge>>,
    /// Per node, the group of mutually dependent recipes it is part of
    /// (an index into `cycles`).
    pub in_cycle: Vec<Option<usize>>,
    /// Per node, its level: 0 when it needs nothing, else one more than
    /// the highest level it needs. The recipes of a cycle share a level.
    pub level: Vec<usize>,
    /// Per node, the cycle that keeps it from being built: the one it is
    /// part of, or one it needs.
    pub blocked_by: Vec<Option<usize>>,
}

/// Summary figures of a graph.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    /// Recipes.
    pub nodes: usize,
    /// Edges (every reference, all kinds).
    pub edges: usize,
    /// Build-order dependencies (`needs` pairs).
    pub needs: usize,
    /// Number of levels (a cycle counts as one recipe).
    pub levels: usize,
    /// A longest chain of needs, from the recipe built first to the last.
    pub longest_chain: Vec<String>,
    /// Cycles.
    pub cycles: usize,
    /// Recipes in cycles.
    pub recipes_in_cycles: usize,
    /// Recipes that cannot be built because they need a cycle.
    pub blocked_by_cycles: usize,
}

impl Order {
    /// Computes the order of `g`.
    pub fn new(g: &Graph) -> Order {
        let n = g.nodes.len();
        let mut runtime: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut build: Vec<Vec<usize>> = vec![Vec::new(); n];
        for e in &g.edges {
            match e.kind {
                EdgeKind::Runtime => runtime[e.from].push(e.to),
                EdgeKind::Build => build[e.from].push(e.to),
                EdgeKind::Test => {}
            }
        }
        // Runtime closures, memoized per node.
        let mut closure: Vec<Option<Vec<usize>>> = vec![None; n];
        let mut needs: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut mark = vec![usize::MAX; n];
        for a in 0..n {
            let mut out = Vec::new();
            for &b in &build[a] {
                let c = closure[b].get_or_insert_with(|| reach(b, &runtime, &mut mark));
                for &x in c.iter() {
                    if x != a {
                        out.push(x);
                    }
                }
            }
            out.sort_unstable();
            out.dedup();
            needs[a] = out;
        }
        let mut needed_by: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, list) in needs.iter().enumerate() {
            for &b in list {
                needed_by[b].push(a);
            }
        }
        // Components come out of Tarjan's algorithm dependencies first.
        let sccs = strongly_connected(&needs);
        let mut in_cycle = vec![None; n];
        let mut cycles = Vec::new();
        let mut level = vec![0usize; n];
        let mut blocked_by: Vec<Option<usize>> = vec![None; n];
        for comp in &sccs {
            let cycle = (comp.len() > 1).then(|| {
                cycles.push(cycle_edges(g, comp, &needs, &build, &runtime));
                cycles.len() - 1
            });
            let outside = comp
                .iter()
                .flat_map(|&x| needs[x].iter().copied())
                .filter(|y| comp.binary_search(y).is_err());
            let mut l = 0;
            let mut blocked = cycle;
            for y in outside {
                l = l.max(level[y] + 1);
                blocked = blocked.or(blocked_by[y]);
            }
            for &x in comp {
                in_cycle[x] = cycle;
                level[x] = l;
                blocked_by[x] = blocked;
            }
        }
        Order {
            needs,
            needed_by,
            cycles,
            in_cycle,
            level,
            blocked_by,
        }
    }

    /// Every node, by level (then file order): each comes after
    /// everything it needs, except within a cycle.
    pub fn topological(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.needs.len()).collect();
        v.sort_by_key(|&i| (self.level[i], i));
        v
    }

    /// Figures for reports and benchmarks.
    pub fn stats(&self, g: &Graph) -> Stats {
        let levels = self.level.iter().max().map_or(0, |m| m + 1);
        // Walk back from a node of the highest level along needs one level
        // lower.
        let mut chain = Vec::new();
        let top = (0..self.level.len()).find(|&i| self.level[i] + 1 == levels);
        if let Some(mut cur) = top {
            chain.push(cur);
            while self.level[cur] > 0 {
                let want = self.level[cur] - 1;
                // A cycle's recipes share their level: look at all of them.
                let members: Vec<usize> = match self.in_cycle[cur] {
                    Some(c) => (0..self.level.len())
                        .filter(|&i| self.in_cycle[i] == Some(c))
                        .collect(),
                    None => vec![cur],
                };
                let next = members
                    .iter()
                    .flat_map(|&m| self.needs[m].iter().copied())
                    .find(|&x| self.level[x] == want);
                match next {
                    Some(x) => {
                        chain.push(x);
                        cur = x;
                    }
                    None => break,
                }
            }
        }
        chain.reverse();
        let name = |i: usize| match self.in_cycle[i] {
            Some(c) => format!("{} (cycle {})", g.nodes[i].name, c + 1),
            None => g.nodes[i].name.clone(),
        };
        Stats {
            nodes: g.nodes.len(),
            edges: g.edges.len(),
            needs: self.needs.iter().map(Vec::len).sum(),
            levels,
            longest_chain: chain.into_iter().map(name).collect(),
            cycles: self.cycles.len(),
            recipes_in_cycles: self.in_cycle.iter().flatten().count(),
            blocked_by_cycles: (0..g.nodes.len())
                .filter(|&i| self.blocked_by[i].is_some() && self.in_cycle[i].is_none())
                .count(),
        }
    }
}

/// `start` and everything reachable from it over `adj`.
fn reach(start: usize, adj: &[Vec<usize>], mark: &mut [usize]) -> Vec<usize> {
    let mut out = vec![start];
    mark[start] = start;
    let mut i = 0;
    while i < out.len() {
        let x = out[i];
        i += 1;
        for &y in &adj[x] {
            if mark[y] != start {
                mark[y] = start;
                out.push(y);
            }
        }
    }
    out
}

/// Tarjan's algorithm, iterative; components in reverse topological order.
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut next)) = work.last_mut() {
            if let Some(&w) = adj[v].get(*next) {
                *next += 1;
                if index[w] == usize::MAX {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comp.sort_unstable();
                out.push(comp);
            }
        }
    }
    out
}

/// A closed chain of concrete edges through a strongly connected group:
/// the shortest cycle through its first recipe, each `needs` step spelled
/// out as the build edge and the runtime edges it came from.
fn cycle_edges(
    g: &Graph,
    comp: &[usize],
    needs: &[Vec<usize>],
    build: &[Vec<usize>],
    runtime: &[Vec<usize>],
) -> Vec<Edge> {
    let start = comp[0];
    let inside = |x: usize| comp.binary_search(&x).is_ok();
    // Shortest path start -> ... -> start over needs, within the group.
    let mut prev = vec![usize::MAX; g.nodes.len()];
    let mut queue = VecDeque::from([start]);
    let mut found = None;
    'bfs: while let Some(x) = queue.pop_front() {
        for &y in &needs[x] {
            if !inside(y) {
                continue;
            }
            if y == start {
                found = Some(x);
                break 'bfs;
            }
            if prev[y] == usize::MAX {
                prev[y] = x;
                queue.push_back(y);
            }
        }
    }
    let Some(last) = found else {
        return Vec::new();
    };
    let mut path = vec![last];
    let mut cur = last;
    while cur != start {
        cur = prev[cur];
        path.push(cur);
    }
    path.reverse();
    path.push(start);
    let mut out = Vec::new();
    for w in path.windows(2) {
        out.extend(needs_witness(g, w[0], w[1], build, runtime));
    }
    out
}

/// The concrete edges behind `a` needs `c`: a build edge `a -> b` and the
/// runtime edges from `b` to `c`.
fn needs_witness(
    g: &Graph,
    a: usize,
    c: usize,
    build: &[Vec<usize>],
    runtime: &[Vec<usize>],
) -> Vec<Edge> {
    let edge = |from: usize, to: usize, kind: EdgeKind| {
        g.edges
            .iter()
            .find(|e| e.from == from && e.to == to && e.kind == kind)
            .cloned()
    };
    for &b in &build[a] {
        // BFS b -> c over runtime edges.
        let mut prev = vec![usize::MAX; g.nodes.len()];
        prev[b] = b;
        let mut queue = VecDeque::from([b]);
        while let Some(x) = queue.pop_front() {
            if x == c {
                let mut chain = Vec::new();
                let mut cur = c;
                while cur != b {
                    let p = prev[cur];
                    chain.extend(edge(p, cur, EdgeKind::Runtime));
                    cur = p;
                }
                chain.extend(edge(a, b, EdgeKind::Build));
                chain.reverse();
                return chain;
            }
            for &y in &runtime[x] {
                if prev[y] == usize::MAX {
                    prev[y] = x;
                    queue.push_back(y);
                }
            }
        }
    }
    Vec::new()
}
