//! Recipe trees: many melange recipes built as one repository.
//!
//! - [`load`](mod@load) finds the recipes of a tree and compiles them;
//! - [`graph`] makes one node per recipe and an edge wherever a build
//!   environment, test environment or runtime dependency names a package
//!   another recipe makes;
//! - [`order`] derives the build order, levels and cycles;
//! - [`digest`] and [`state`] say what a recipe's packages are made from
//!   and whether the repository holds them;
//! - [`build`] checks and builds one recipe, [`run`] a whole tree (in
//!   order, in parallel, incrementally), [`plan`] says what a run would do;
//! - [`render`] writes the graph as text, dot or JSON, [`argo`] as an Argo
//!   Workflows `Workflow`.
#![deny(missing_docs)]

pub mod argo;
pub mod build;
pub mod digest;
pub mod envres;
pub mod graph;
pub mod load;
pub mod order;
pub mod plan;
pub mod render;
pub mod run;
pub mod state;

use std::path::PathBuf;

pub use graph::{Edge, EdgeKind, External, Graph, Node, Site};
pub use load::{Loaded, LoadedRecipe, RecipeProblem, load, recipe_files};
pub use order::{Order, Stats};
pub use run::{Blocker, Events, Outcome, RunOptions, run};

/// Error working with a tree.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A recipe file or directory cannot be read.
    #[error("{}: {source}", path.display())]
    Input {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No recipe was found.
    #[error("no recipes (`*.yaml`) found in {}", .0.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", "))]
    Empty(Vec<PathBuf>),
    /// Two recipes make a package of the same name.
    #[error("package `{package}` is made by two recipes: {} and {}", first.display(), second.display())]
    DuplicatePackage {
        /// The package.
        package: String,
        /// One recipe.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}
