//! The graph as text, Graphviz dot and JSON (the plan other schedulers
//! can use).

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::graph::{Edge, EdgeKind, Graph, Produced};
use crate::order::{Order, Stats};
use crate::plan::{Planned, State};

/// A graph with everything known about it.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    /// The graph.
    pub graph: &'a Graph,
    /// Its build order.
    pub order: &'a Order,
    /// The plan, when the repository was looked at.
    pub plan: Option<&'a [Planned]>,
    /// Per external dependency (`graph.external`), whether a configured
    /// repository has it.
    pub available: &'a [bool],
    /// Recipes left out because they are not built for this architecture.
    pub skipped: &'a [PathBuf],
}

fn edge_line(g: &Graph, e: &Edge) -> String {
    let to = &g.nodes[e.to].name;
    let via = if e.package == *to || e.atom == e.package {
        String::new()
    } else {
        format!(" ({})", e.package)
    };
    format!("{} `{}` -> {to}{via}  at {}", e.kind, e.atom, e.at)
}

/// A cycle as `a -> b -> a`, then one line per edge.
pub fn cycle_text(g: &Graph, cycle: &[Edge]) -> String {
    let mut names: Vec<&str> = cycle
        .iter()
        .map(|e| g.nodes[e.from].name.as_str())
        .collect();
    if let Some(first) = cycle.first() {
        names.push(&g.nodes[first.from].name);
    }
    let mut out = names.join(" -> ");
    for e in cycle {
        let _ = write!(
            out,
            "\n    {} needs {}: {} `{}` at {}",
            g.nodes[e.from].name, g.nodes[e.to].name, e.kind, e.atom, e.at
        );
    }
    out
}

/// `1 cycle`, `2 cycles`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn produced(p: &Produced) -> String {
    if p.provides.is_empty() {
        p.name.clone()
    } else {
        format!("{} (provides {})", p.name, p.provides.join(" "))
    }
}

/// Human-readable: a summary, then the recipes level by level with their
/// edges, then cycles and missing packages.
pub fn text(r: &Report<'_>) -> String {
    let (g, o) = (r.graph, r.order);
    let stats = o.stats(g);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}, {}, {}, {}",
        g.arch,
        plural(stats.nodes, "recipe"),
        plural(stats.edges, "edge"),
        plural(stats.levels, "level"),
        plural(stats.cycles, "cycle")
    );
    let _ = writeln!(out, "longest chain: {}", stats.longest_chain.join(" -> "));
    // Edges and external dependencies per recipe, found once.
    let mut edges_from: Vec<Vec<&Edge>> = vec![Vec::new(); g.nodes.len()];
    for e in &g.edges {
        edges_from[e.from].push(e);
    }
    let mut external_of: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for (x, ext) in g.external.iter().enumerate() {
        external_of[ext.node].push(x);
    }
    let mut current = usize::MAX;
    for i in o.topological() {
        let n = &g.nodes[i];
        if o.level[i] != current {
            current = o.level[i];
            let _ = writeln!(out, "\nlevel {current}");
        }
        let state = match r.plan {
            Some(p) => format!(" [{}]", p[i].state.label()),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} {} ({}){state}",
            n.name,
            n.version,
            n.recipe.display()
        );
        let _ = writeln!(
            out,
            "    makes {}",
            n.packages
                .iter()
                .map(produced)
                .collect::<Vec<_>>()
                .join(", ")
        );
        for e in &edges_from[i] {
            let _ = writeln!(out, "    {}", edge_line(g, e));
        }
        for &x in &external_of[i] {
            let ext = &g.external[x];
            let source = if r.available.get(x).copied().unwrap_or(false) {
                "from a repository"
            } else {
                "MISSING"
            };
            let _ = writeln!(
                out,
                "    {} `{}` {source}  at {}",
                ext.kind, ext.atom, ext.at
            );
        }
    }
    for (c, cycle) in o.cycles.iter().enumerate() {
        let members = o.in_cycle.iter().filter(|x| **x == Some(c)).count();
        let _ = writeln!(
            out,
            "\ncycle {} ({members} recipes): {}",
            c + 1,
            cycle_text(g, cycle)
        );
    }
    let missing = missing(r);
    if !missing.is_empty() {
        let _ = writeln!(out, "\nmissing (no recipe and no repository has them):");
        for m in missing {
            let _ = writeln!(out, "  {m}");
        }
    }
    for s in r.skipped {
        let _ = writeln!(out, "\nskipped (not built for {}): {}", g.arch, s.display());
    }
    out
}

/// `atom (kind dependency of recipe at file:line)` for every external
/// dependency no repository has, each once (a pipeline used several times
/// names the same need several times).
pub fn missing(r: &Report<'_>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    r.graph
        .external
        .iter()
        .enumerate()
        .filter(|(x, _)| !r.available.get(*x).copied().unwrap_or(false))
        .map(|(_, e)| {
            format!(
                "{} ({} dependency of {} at {})",
                e.atom, e.kind, r.graph.nodes[e.node].name, e.at
            )
        })
        .filter(|line| seen.insert(line.clone()))
        .collect()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz: one node per recipe, one edge per build-order dependency
/// kind (build solid, runtime dashed, test dotted); cycles in red.
pub fn dot(r: &Report<'_>) -> String {
    let (g, o) = (r.graph, r.order);
    let mut out = String::from("digraph tree {\n  rankdir=LR;\n  node [shape=box];\n");
    for (i, n) in g.nodes.iter().enumerate() {
        let color = if o.in_cycle[i].is_some() {
            ", color=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [label={}{color}];",
            quote(&n.name),
            quote(&format!("{}\\n{}", n.name, n.version))
        );
    }
    let mut seen = std::collections::HashSet::new();
    for e in &g.edges {
        if !seen.insert((e.from, e.to, e.kind)) {
            continue;
        }
        let style = match e.kind {
            EdgeKind::Build => "solid",
            EdgeKind::Runtime => "dashed",
            EdgeKind::Test => "dotted",
        };
        let red = if o.in_cycle[e.from].is_some() && o.in_cycle[e.from] == o.in_cycle[e.to] {
            ", color=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {} [style={style}{red}];",
            quote(&g.nodes[e.from].name),
            quote(&g.nodes[e.to].name)
        );
    }
    out.push_str("}\n");
    out
}

#[derive(Serialize)]
struct JsonNode<'a> {
    name: &'a str,
    version: &'a str,
    recipe: &'a std::path::Path,
    level: usize,
    packages: &'a [Produced],
    needs: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cycle: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasons: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    from: &'a str,
    to: &'a str,
    kind: EdgeKind,
    atom: &'a str,
    package: &'a str,
    file: &'a std::path::Path,
    line: u64,
}

#[derive(Serialize)]
struct JsonExternal<'a> {
    recipe: &'a str,
    kind: EdgeKind,
    atom: &'a str,
    file: &'a std::path::Path,
    line: u64,
    available: bool,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    arch: &'a str,
    stats: Stats,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
    cycles: Vec<Vec<JsonEdge<'a>>>,
    external: Vec<JsonExternal<'a>>,
    skipped: &'a [PathBuf],
}

fn json_edge<'a>(g: &'a Graph, e: &'a Edge) -> JsonEdge<'a> {
    JsonEdge {
        from: &g.nodes[e.from].name,
        to: &g.nodes[e.to].name,
        kind: e.kind,
        atom: &e.atom,
        package: &e.package,
        file: &e.at.file,
        line: e.at.line,
    }
}

/// The plan as JSON: for each architecture, the recipes (level, packages,
/// needs in build order, state and input digest when the repository was
/// looked at), every edge, the cycles and the external dependencies.
pub fn json(reports: &[Report<'_>]) -> serde_json::Value {
    let archs: Vec<JsonGraph<'_>> = reports
        .iter()
        .map(|r| {
            let (g, o) = (r.graph, r.order);
            JsonGraph {
                arch: &g.arch,
                stats: o.stats(g),
                nodes: g
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| JsonNode {
                        name: &n.name,
                        version: &n.version,
                        recipe: &n.recipe,
                        level: o.level[i],
                        packages: &n.packages,
                        needs: o.needs[i]
                            .iter()
                            .map(|&d| g.nodes[d].name.as_str())
                            .collect(),
                        cycle: o.in_cycle[i].map(|c| c + 1),
                        state: r.plan.map(|p| p[i].state),
                        reasons: r.plan.map(|p| p[i].reasons.as_slice()),
                        inputs: r.plan.and_then(|p| p[i].inputs.as_deref()),
                    })
                    .collect(),
                edges: g.edges.iter().map(|e| json_edge(g, e)).collect(),
                cycles: o
                    .cycles
                    .iter()
                    .map(|c| c.iter().map(|e| json_edge(g, e)).collect())
                    .collect(),
                external: g
                    .external
                    .iter()
                    .enumerate()
                    .map(|(x, e)| JsonExternal {
                        recipe: &g.nodes[e.node].name,
                        kind: e.kind,
                        atom: &e.atom,
                        file: &e.at.file,
                        line: e.at.line,
                        available: r.available.get(x).copied().unwrap_or(false),
                    })
                    .collect(),
                skipped: r.skipped,
            }
        })
        .collect();
    serde_json::json!({ "archs": archs })
}
