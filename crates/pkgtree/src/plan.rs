//! The plan of a run, without building: what is up to date, what will be
//! built and why.
//!
//! A recipe whose dependencies are all up to date is checked exactly (its
//! environment resolved, its input digest computed). One that needs a
//! recipe to be rebuilt can only be decided after that build: it is
//! *maybe* rebuilt, unless something of its own already requires it.

use serde::Serialize;

use crate::build::{BuildContext, Verdict};
use crate::graph::Graph;
use crate::order::Order;

/// What a run would do with a recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Nothing to do.
    UpToDate,
    /// It will be built.
    Build,
    /// Built only if a dependency rebuilt first comes out different.
    Maybe,
    /// It cannot be built: it is in a cycle or needs one.
    Blocked,
}

impl State {
    /// As the dry run prints it.
    pub fn label(self) -> &'static str {
        match self {
            State::UpToDate => "up to date",
            State::Build => "build",
            State::Maybe => "maybe",
            State::Blocked => "blocked",
        }
    }
}

/// The plan for one recipe.
#[derive(Clone, Debug, Serialize)]
pub struct Planned {
    /// What will happen.
    pub state: State,
    /// Why.
    pub reasons: Vec<String>,
    /// The digest of its inputs, when they are known now.
    pub inputs: Option<String>,
}

/// Plans every recipe of `graph`, in node order.
pub fn plan(ctx: &BuildContext<'_>, graph: &Graph, order: &Order) -> Vec<Planned> {
    let n = graph.nodes.len();
    let mut out: Vec<Option<Planned>> = vec![None; n];
    for i in order.topological() {
        let node = &graph.nodes[i];
        if let Some(c) = order.blocked_by[i] {
            let reason = if order.in_cycle[i] == Some(c) {
                format!("in cycle {}", c + 1)
            } else {
                format!("needs a recipe in cycle {}", c + 1)
            };
            out[i] = Some(Planned {
                state: State::Blocked,
                reasons: vec![reason],
                inputs: None,
            });
            continue;
        }
        let rebuilt: Vec<&str> = order.needs[i]
            .iter()
            .filter(|&&d| {
                out[d]
                    .as_ref()
                    .is_some_and(|p| matches!(p.state, State::Build | State::Maybe))
            })
            .map(|&d| graph.nodes[d].name.as_str())
            .collect();
        let planned = if rebuilt.is_empty() {
            match ctx.check(node) {
                Ok(c) => match c.verdict {
                    Verdict::UpToDate => Planned {
                        state: State::UpToDate,
                        reasons: Vec::new(),
                        inputs: c.inputs,
                    },
                    Verdict::Build(reasons) => Planned {
                        state: State::Build,
                        reasons,
                        inputs: c.inputs,
                    },
                },
                Err(e) => Planned {
                    state: State::Build,
                    reasons: vec![e],
                    inputs: None,
                },
            }
        } else {
            let after = format!(
                "after {} (rebuilt only if {} different)",
                rebuilt.join(", "),
                if rebuilt.len() == 1 {
                    "its packages come out"
                } else {
                    "their packages come out"
                }
            );
            match ctx.static_reasons(node) {
                Ok((_, reasons)) if !reasons.is_empty() => Planned {
                    state: State::Build,
                    reasons,
                    inputs: None,
                },
                Ok(_) => Planned {
                    state: State::Maybe,
                    reasons: vec![after],
                    inputs: None,
                },
                Err(e) => Planned {
                    state: State::Build,
                    reasons: vec![e],
                    inputs: None,
                },
            }
        };
        out[i] = Some(planned);
    }
    out.into_iter()
        .map(|p| {
            p.unwrap_or(Planned {
                state: State::Blocked,
                reasons: Vec::new(),
                inputs: None,
            })
        })
        .collect()
}
