//! Why a resolution failed, as data and as readable text.
//!
//! A [`SolveError`] names what was being satisfied ([`Root`]), the chain of
//! `package depends on dependency` steps that led from there to the failure
//! ([`Step`]), and the failure itself ([`Problem`]). Packages are named the
//! way apk names them, `name-version`.

use std::fmt::{self, Write as _};

use apk_format::Dependency;

/// A resolution that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(self))]
pub struct SolveError {
    /// The architecture being resolved, for multi-arch resolutions.
    pub arch: Option<String>,
    /// What was being satisfied when the problem showed.
    pub root: Box<Root>,
    /// The dependencies followed from the root to the problem.
    pub chain: Vec<Step>,
    /// What went wrong at the end of the chain.
    pub problem: Box<Problem>,
}

/// What a failed chain started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// A dependency of the world (what the image asks for).
    World(Dependency),
    /// A package added because all of its `install_if` atoms were satisfied.
    InstallIf {
        /// The package (`name-version`).
        package: String,
        /// Its `install_if` atoms.
        install_if: Vec<Dependency>,
    },
    /// The final consistency check of the whole selection.
    Selection,
}

/// One link of the chain: `package` depends on `dependency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The package (`name-version`).
    pub package: String,
    /// The dependency it declares.
    pub dependency: Dependency,
}

/// The failure at the end of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No package has the name or provides it.
    NothingProvides {
        /// The name looked up.
        name: String,
        /// Every repository searched.
        repositories: Vec<String>,
    },
    /// Packages have or provide the name, but every one is excluded.
    NoCandidate {
        /// Each package that has or provides the name, and why it is out.
        candidates: Vec<Candidate>,
    },
    /// A package chosen earlier for the name does not satisfy the constraint.
    SelectedMismatch {
        /// The package selected before (`name-version`).
        selected: String,
    },
    /// Two different packages are, or provide with a version, one name.
    Clash {
        /// The package being added (`name-version`).
        package: String,
        /// The package already selected (`name-version`).
        other: String,
        /// The name both claim.
        name: String,
    },
    /// A `!conflict` matches a selected package.
    Conflict {
        /// The package declaring the conflict, `None` for the world.
        package: Option<String>,
        /// The conflict atom (without its `!`).
        conflict: Dependency,
        /// The selected package it matches (`name-version`).
        selected: String,
    },
    /// The dependency chain is longer than the resolver follows.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A selected package's dependency is met by nothing selected.
    Unsatisfied {
        /// The package (`name-version`).
        package: String,
        /// Its dependency.
        dependency: Dependency,
    },
}

/// A package that could have satisfied a dependency, and why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `name-version`.
    pub package: String,
    /// The repository holding it.
    pub repository: String,
    /// The repository's pin tag, if any.
    pub tag: Option<String>,
    /// The matching provide (`so:libfoo.so.1=1`) when the package is a
    /// candidate through its provides rather than its name.
    pub provides: Option<String>,
    /// Why it was excluded.
    pub reason: Exclusion,
}

/// Why a candidate was excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// It does not satisfy a version (or checksum) constraint.
    Version {
        /// The constraint.
        dependency: Dependency,
        /// The package requiring it (`name-version`), `None` for the world.
        required_by: Option<String>,
    },
    /// A `!conflict` excludes it.
    Conflict {
        /// The conflict atom (without its `!`).
        dependency: Dependency,
        /// The package declaring it, `None` for the world.
        by: Option<String>,
    },
    /// An already selected package provides the same name with another version.
    AlreadyProvided {
        /// The name.
        name: String,
        /// The selected package (`name-version`).
        by: String,
    },
    /// It comes from a repository pinned to a tag nobody asked for.
    Pinned {
        /// The tag.
        tag: String,
    },
    /// The same name and version is not available for another architecture.
    MissingOnArch {
        /// That architecture.
        arch: String,
    },
}

fn render(e: &SolveError) -> String {
    let mut out = String::new();
    if let Some(arch) = &e.arch {
        let _ = write!(out, "{arch}: ");
    }
    match &*e.root {
        Root::World(dep) => {
            let _ = write!(out, "cannot satisfy `{dep}`");
        }
        Root::InstallIf {
            package,
            install_if,
        } => {
            let _ = write!(
                out,
                "cannot add {package} (its install_if `{}` is satisfied)",
                apk_format::dependency::join(install_if)
            );
        }
        Root::Selection => out.push_str("inconsistent selection"),
    }
    if !e.chain.is_empty() {
        out.push_str(": ");
        for (i, step) in e.chain.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{} depends on `{}`", step.package, step.dependency);
        }
    }
    render_problem(&mut out, &e.problem);
    out
}

fn render_problem(out: &mut String, problem: &Problem) {
    match problem {
        Problem::NothingProvides { repositories, .. } => {
            let _ = write!(
                out,
                ", which nothing in the repositories ({}) provides",
                repositories.join(", ")
            );
        }
        Problem::NoCandidate { candidates } => {
            out.push_str(", which no available package satisfies:");
            for c in candidates {
                let _ = write!(out, "\n  {} ({}", c.package, c.repository);
                if let Some(tag) = &c.tag {
                    let _ = write!(out, " @{tag}");
                }
                out.push(')');
                if let Some(p) = &c.provides {
                    let _ = write!(out, " providing `{p}`");
                }
                out.push_str(": ");
                render_exclusion(out, &c.reason);
            }
        }
        Problem::SelectedMismatch { selected } => {
            let _ = write!(
                out,
                ", which the already selected {selected} does not satisfy"
            );
        }
        Problem::Clash {
            package,
            other,
            name,
        } => {
            let _ = write!(
                out,
                ": {package} conflicts with the already selected {other} over `{name}`"
            );
        }
        Problem::Conflict {
            package,
            conflict,
            selected,
        } => {
            let who = package.as_deref().unwrap_or("the world");
            let _ = write!(
                out,
                ": {who} forbids `{conflict}`, but {selected} is selected"
            );
        }
        Problem::TooDeep { limit } => {
            let _ = write!(out, ": the dependency chain is longer than {limit} links");
        }
        Problem::Unsatisfied {
            package,
            dependency,
        } => {
            let _ = write!(
                out,
                ": nothing selected satisfies `{dependency}`, a dependency of {package}"
            );
        }
    }
}

fn requirer(by: &Option<String>) -> &str {
    by.as_deref().unwrap_or("the world")
}

fn render_exclusion(out: &mut String, reason: &Exclusion) {
    let _ = match reason {
        Exclusion::Version {
            dependency,
            required_by,
        } => write!(
            out,
            "does not satisfy `{dependency}` (required by {})",
            requirer(required_by)
        ),
        Exclusion::Conflict { dependency, by } => {
            write!(out, "excluded by `!{dependency}` of {}", requirer(by))
        }
        Exclusion::AlreadyProvided { name, by } => write!(
            out,
            "conflicts with the already selected {by}, which provides `{name}`"
        ),
        Exclusion::Pinned { tag } => write!(out, "pinned to @{tag}, which was not requested"),
        Exclusion::MissingOnArch { arch } => write!(out, "missing on arch {arch}"),
    };
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} depends on `{}`", self.package, self.dependency)
    }
}
