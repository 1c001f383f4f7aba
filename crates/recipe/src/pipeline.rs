//! Pipeline steps as written in recipes, and pipeline definitions (the
//! files `uses:` names), which melange decodes into the same structure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::{Str, StrMap, nullable};

/// One pipeline step (melange's `Pipeline`), or a whole pipeline
/// definition file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Step {
    /// Condition (`${{build.arch}} == 'x86_64'`); the step and its
    /// children are skipped when false.
    #[serde(default, rename = "if", skip_serializing_if = "str::is_empty")]
    pub if_: Str,
    /// Display name.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub name: Str,
    /// A pipeline to expand here (`fetch`, `autoconf/make`, …).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub uses: Str,
    /// Inputs of the `uses` pipeline. `None` when absent or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<StrMap>,
    /// A shell script.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub runs: Str,
    /// Nested steps, which inherit the working directory and environment.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pipeline: Vec<Step>,
    /// Declared inputs (in pipeline definitions).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub inputs: BTreeMap<String, Input>,
    /// Packages the step needs in the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Needs>,
    /// Label.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub label: Str,
    /// Checks made after the children ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertions: Option<Assertions>,
    /// Directory to run in, relative to `/home/build` unless absolute.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub working_directory: Str,
    /// Environment variables added for this step and its children.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub environment: StrMap,
    /// Documentation; accepted in pipeline definition files (melange decodes
    /// those leniently and wolfi's use it), rejected in recipes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Str>,
}

/// A declared input of a pipeline definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Documentation.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub description: Str,
    /// Used when the input is not given or given empty.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub default: Str,
    /// Whether a non-empty value must be given.
    #[serde(default, deserialize_with = "nullable")]
    pub required: bool,
}

/// `needs:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    /// Package atoms added to the environment.
    #[serde(default, deserialize_with = "nullable")]
    pub packages: Vec<Str>,
}

/// `assertions:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Assertions {
    /// How many children must run.
    #[serde(default, deserialize_with = "nullable")]
    pub required_steps: i64,
}

impl Step {
    /// The first known position among the step's scalars, for errors about
    /// the step as a whole.
    pub(crate) fn anchor(&self) -> (u64, u64) {
        let mut candidates = vec![&self.uses, &self.name, &self.runs, &self.if_];
        if let Some(with) = &self.with {
            candidates.extend(with.values());
        }
        candidates.push(&self.working_directory);
        candidates
            .into_iter()
            .filter(|s| s.line != 0)
            .map(|s| (s.line, s.column))
            .min()
            .unwrap_or((0, 0))
    }

    /// How the step is called in messages: its name, else its `uses`.
    pub(crate) fn identity(&self) -> String {
        if !self.name.is_empty() {
            format!("step `{}`", self.name)
        } else if !self.uses.is_empty() {
            format!("step `{}`", self.uses)
        } else {
            "step".to_string()
        }
    }
}
