//! The dependency graph of a tree: one node per recipe, an edge wherever a
//! recipe's build environment, test environment or runtime dependencies
//! name a package another recipe makes.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use apk_format::Dependency;
use recipe::{CompiledRecipe, Str};
use serde::Serialize;

use crate::TreeError;
use crate::load::{LoadedRecipe, RecipeProblem};

/// What kind of reference an edge is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// The build environment (`environment.contents.packages`, plus what
    /// the pipelines need).
    Build,
    /// A runtime dependency of the package or a subpackage.
    Runtime,
    /// A test environment of the package or a subpackage.
    Test,
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgeKind::Build => "build",
            EdgeKind::Runtime => "runtime",
            EdgeKind::Test => "test",
        })
    }
}

/// Where a dependency is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Site {
    /// The recipe file.
    pub file: PathBuf,
    /// 1-based line; 0 when the package was added by a pipeline's `needs`
    /// (or the position is otherwise unknown).
    pub line: u64,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{} (a pipeline's needs)", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// One package a recipe makes.
#[derive(Clone, Debug, Serialize)]
pub struct Produced {
    /// Package name.
    pub name: String,
    /// Declared `provides` (as written, `name[=version]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provides: Vec<String>,
}

/// One recipe of the tree.
#[derive(Debug)]
pub struct Node {
    /// The recipe file.
    pub recipe: PathBuf,
    /// The main package's name (the origin of every package it makes).
    pub name: String,
    /// Full version (`1.2.3-r0`).
    pub version: String,
    /// The main package, then each enabled subpackage.
    pub packages: Vec<Produced>,
    /// The evaluated recipe.
    pub compiled: CompiledRecipe,
}

/// A dependency of one recipe on another.
#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    /// Index of the recipe that has the dependency.
    pub from: usize,
    /// Index of the recipe that makes the package.
    pub to: usize,
    /// Which list names it.
    pub kind: EdgeKind,
    /// The atom as written (`foo>=1.2`).
    pub atom: String,
    /// The package of `to` that satisfies it (a package name, or the
    /// package whose `provides` does).
    pub package: String,
    /// Where the atom is written.
    pub at: Site,
}

/// A dependency no recipe of the tree satisfies: it must come from a
/// repository.
#[derive(Clone, Debug, Serialize)]
pub struct External {
    /// Index of the recipe.
    pub node: usize,
    /// Which list names it.
    pub kind: EdgeKind,
    /// The atom as written.
    pub atom: String,
    /// Where.
    pub at: Site,
}

/// The graph of a tree for one architecture.
#[derive(Debug)]
pub struct Graph {
    /// apk architecture.
    pub arch: String,
    /// Recipes, in file order.
    pub nodes: Vec<Node>,
    /// Every edge, grouped by `from`, in the order written.
    pub edges: Vec<Edge>,
    /// Dependencies nothing in the tree satisfies.
    pub external: Vec<External>,
}

/// Who provides a name: `(node, package index, version the name is
/// provided at, provider priority, is the package's own name)`.
#[derive(Clone, Debug)]
struct Provider {
    node: usize,
    package: usize,
    version: Option<String>,
    priority: u64,
    real: bool,
}

fn split_atoms(list: &[Str]) -> impl Iterator<Item = (&str, u64)> {
    list.iter()
        .flat_map(|s| s.split_whitespace().map(move |a| (a, s.line)))
}

impl Graph {
    /// Builds the graph. Two recipes making a package of the same name is
    /// an error; a recipe with a dependency atom that does not parse is
    /// returned as a problem and left out.
    pub fn build(
        arch: &str,
        recipes: Vec<LoadedRecipe>,
    ) -> Result<(Graph, Vec<RecipeProblem>), TreeError> {
        let mut problems = Vec::new();
        let mut nodes = Vec::with_capacity(recipes.len());
        for r in recipes {
            match node(r) {
                Ok(n) => nodes.push(n),
                Err(p) => problems.push(p),
            }
        }
        let mut providers: HashMap<String, Vec<Provider>> = HashMap::new();
        let mut owner: HashMap<&str, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for (j, p) in n.packages.iter().enumerate() {
                if let Some(&other) = owner.get(p.name.as_str()) {
                    return Err(TreeError::DuplicatePackage {
                        package: p.name.clone(),
                        first: nodes[other].recipe.clone(),
                        second: n.recipe.clone(),
                    });
                }
                owner.insert(&p.name, i);
                let priority = priority_of(&n.compiled, j);
                providers.entry(p.name.clone()).or_default().push(Provider {
                    node: i,
                    package: j,
                    version: Some(n.version.clone()),
                    priority,
                    real: true,
                });
                for atom in &p.provides {
                    // Atoms were checked when the node was made.
                    let Ok(d) = Dependency::parse(atom) else {
                        continue;
                    };
                    let version = match &d.constraint {
                        apk_format::dependency::Constraint::Version { version, .. } => {
                            Some(version.clone())
                        }
                        _ => None,
                    };
                    providers.entry(d.name.clone()).or_default().push(Provider {
                        node: i,
                        package: j,
                        version,
                        priority,
                        real: false,
                    });
                }
            }
        }
        let mut edges = Vec::new();
        let mut external = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            for (kind, atom, line) in references(&n.compiled) {
                let Ok(dep) = Dependency::parse(atom) else {
                    continue;
                };
                if dep.conflict {
                    continue;
                }
                let at = Site {
                    file: n.recipe.clone(),
                    line,
                };
                match best_provider(providers.get(&dep.name), &dep) {
                    Some(p) if p.node == i => {}
                    Some(p) => edges.push(Edge {
                        from: i,
                        to: p.node,
                        kind,
                        atom: atom.to_string(),
                        package: nodes[p.node].packages[p.package].name.clone(),
                        at,
                    }),
                    None => external.push(External {
                        node: i,
                        kind,
                        atom: atom.to_string(),
                        at,
                    }),
                }
            }
        }
        Ok((
            Graph {
                arch: arch.to_string(),
                nodes,
                edges,
                external,
            },
            problems,
        ))
    }

    /// The node making package `name`, if any.
    pub fn producer(&self, name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.packages.iter().any(|p| p.name == name))
    }

    /// The node of a recipe file.
    pub fn node_of(&self, recipe: &Path) -> Option<usize> {
        self.nodes.iter().position(|n| n.recipe == recipe)
    }
}

/// The provider priority of package `j` of a recipe (0 = main package).
fn priority_of(c: &CompiledRecipe, j: usize) -> u64 {
    let deps = if j == 0 {
        &c.package.dependencies
    } else {
        match c.enabled_subpackages().nth(j - 1) {
            Some(s) => &s.dependencies,
            None => return 0,
        }
    };
    deps.provider_priority.parse().unwrap_or(0)
}

/// Picks the provider apk would pick among the tree's recipes: the package
/// of that name if it satisfies the atom, else the provider with the
/// highest priority, then the highest version.
fn best_provider<'a>(
    candidates: Option<&'a Vec<Provider>>,
    dep: &Dependency,
) -> Option<&'a Provider> {
    let ok: Vec<&Provider> = candidates?
        .iter()
        .filter(|p| dep.matches_version(p.version.as_deref()))
        .collect();
    if let Some(real) = ok.iter().find(|p| p.real) {
        return Some(real);
    }
    ok.into_iter().max_by(|a, b| {
        a.priority.cmp(&b.priority).then_with(|| {
            apk_format::version::compare(
                a.version.as_deref().unwrap_or(""),
                b.version.as_deref().unwrap_or(""),
            )
        })
    })
}

/// Every dependency atom of a recipe: build environment, runtime
/// dependencies of each package, test environments.
fn references(c: &CompiledRecipe) -> Vec<(EdgeKind, &str, u64)> {
    let mut out = Vec::new();
    for (a, line) in split_atoms(&c.environment.contents.packages) {
        out.push((EdgeKind::Build, a, line));
    }
    for (a, line) in split_atoms(&c.package.dependencies.runtime) {
        out.push((EdgeKind::Runtime, a, line));
    }
    for s in c.enabled_subpackages() {
        for (a, line) in split_atoms(&s.dependencies.runtime) {
            out.push((EdgeKind::Runtime, a, line));
        }
    }
    let tests = c
        .test
        .iter()
        .chain(c.enabled_subpackages().filter_map(|s| s.test.as_ref()));
    for t in tests {
        for (a, line) in split_atoms(&t.environment.contents.packages) {
            out.push((EdgeKind::Test, a, line));
        }
    }
    out
}

/// Turns a compiled recipe into a node, checking its atoms.
fn node(r: LoadedRecipe) -> Result<Node, RecipeProblem> {
    let c = &r.compiled;
    let mut packages = vec![Produced {
        name: c.package.name.to_string(),
        provides: atoms_of(&c.package.dependencies.provides),
    }];
    for s in c.enabled_subpackages() {
        packages.push(Produced {
            name: s.name.to_string(),
            provides: atoms_of(&s.dependencies.provides),
        });
    }
    let bad = |atom: &str, line: u64, e: &dyn std::error::Error| RecipeProblem {
        path: r.path.clone(),
        message: if line == 0 {
            format!("{}: dependency `{atom}`: {e}", r.path.display())
        } else {
            format!("{}:{line}: dependency `{atom}`: {e}", r.path.display())
        },
    };
    let mut provides: Vec<&Str> = c.package.dependencies.provides.iter().collect();
    for s in c.enabled_subpackages() {
        provides.extend(&s.dependencies.provides);
    }
    for s in provides {
        for a in s.split_whitespace() {
            Dependency::parse(a).map_err(|e| bad(a, s.line, &e))?;
        }
    }
    for (_, a, line) in references(c) {
        Dependency::parse(a).map_err(|e| bad(a, line, &e))?;
    }
    Ok(Node {
        recipe: r.path.clone(),
        name: c.package.name.to_string(),
        version: format!("{}-r{}", c.package.version, c.package.epoch),
        packages,
        compiled: r.compiled,
    })
}

fn atoms_of(list: &[Str]) -> Vec<String> {
    split_atoms(list).map(|(a, _)| a.to_string()).collect()
}
