//! The fully evaluated recipe that [`crate::compile()`] returns.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::arch::BuildArch;
use crate::env::Environment;
use crate::pipeline::Assertions;
use crate::text::{Str, StrMap};
use crate::types::{
    BuildOption, Capabilities, Checks, Dependencies, Package, PackageOptions, Scriptlets, SetCap,
};
use crate::update::Update;

/// A recipe with every substitution made, every `range:` expanded and
/// every `uses:` replaced by the steps of its pipeline.
///
/// Serializes (with serde, e.g. to JSON) with melange's keys.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CompiledRecipe {
    /// The architecture it was compiled for (apk name).
    #[serde(serialize_with = "arch_name")]
    pub arch: BuildArch,
    /// The main package, substituted; `commit` falls back to
    /// [`crate::CompileOptions::commit`].
    pub package: Package,
    /// The build environment: substituted, with the packages every enabled
    /// step `needs` appended (first occurrence kept), the `build` user and
    /// group and melange's default variables (`HOME`, `GOPATH`, …) added
    /// where missing, and enabled build options applied.
    pub environment: Environment,
    /// Runner capabilities.
    #[serde(skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: Capabilities,
    /// The main package's steps.
    pub pipeline: Vec<CompiledStep>,
    /// Subpackages, ranged ones expanded (one per data item, in key order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subpackages: Vec<CompiledSubpackage>,
    /// Every var, after overrides, build options and var-transforms.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Update monitoring, substituted where melange substitutes it.
    pub update: Update,
    /// Build options the recipe declares.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, BuildOption>,
    /// Tests of the main package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<CompiledTest>,
    /// What the enabled [`crate::HOST_PIPELINES`] steps need (`git`,
    /// `wget`): they run on the host, so these join the environment only
    /// when a repository provides them (build steps may call them, as
    /// they could under melange).
    #[serde(skip)]
    pub optional_packages: Vec<String>,
}

fn arch_name<S: serde::Serializer>(arch: &BuildArch, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(arch.apk_name())
}

/// A subpackage after range expansion and substitution.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CompiledSubpackage {
    /// Name.
    pub name: Str,
    /// The condition after substitution (empty if none).
    #[serde(rename = "if", skip_serializing_if = "str::is_empty")]
    pub if_: Str,
    /// Whether the condition holds (true without one). Disabled subpackages
    /// are not built.
    pub enabled: bool,
    /// The `range:` item it was made from: `(data name, key, value)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(String, String, String)>,
    /// Description.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: Str,
    /// Home page.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub url: Str,
    /// Commit (the package's when not set).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub commit: Str,
    /// Declared dependencies.
    #[serde(skip_serializing_if = "Dependencies::is_empty")]
    pub dependencies: Dependencies,
    /// Dependency analysis switches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<PackageOptions>,
    /// Install scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scriptlets: Option<Scriptlets>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: StrMap,
    /// Linter settings.
    #[serde(skip_serializing_if = "Checks::is_empty")]
    pub checks: Checks,
    /// File capabilities (melange parses but ignores them on subpackages;
    /// apkforge applies them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setcap: Vec<SetCap>,
    /// Steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pipeline: Vec<CompiledStep>,
    /// Tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<CompiledTest>,
}

/// A test block.
#[derive(Clone, Debug, Serialize)]
pub struct CompiledTest {
    /// The test environment: substituted, plus the package under test and
    /// what enabled steps need (sorted, deduplicated, as melange does), and
    /// the `build` user and group.
    pub environment: Environment,
    /// Steps.
    pub pipeline: Vec<CompiledStep>,
}

/// One step with everything resolved.
///
/// A step that came from `uses:` keeps the name and the inputs that
/// differ from their defaults for information, and carries the pipeline's
/// steps as children. To run a step: skip it and its children when
/// `enabled` is false; otherwise run `runs` (if not empty) with `/bin/sh`
/// in `working_directory` (relative to `/home/build` unless absolute, the
/// workspace itself when empty) with the build environment's variables
/// overlaid by `environment`, then the children in order.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CompiledStep {
    /// Name (empty if none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The pipeline this step expanded (empty if none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uses: String,
    /// Inputs given with values other than their defaults.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub with: BTreeMap<String, String>,
    /// The condition after substitution (empty if none).
    #[serde(rename = "if", skip_serializing_if = "String::is_empty")]
    pub if_: String,
    /// Whether the condition holds (true without one).
    #[serde(skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// The shell script (empty if none), substituted. Comments are kept.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub runs: String,
    /// Effective working directory (inherited from the parent when not
    /// set); empty means `/home/build`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_directory: String,
    /// Effective step variables: the parents' merged with the step's own.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Assertions on the children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assertions: Option<Assertions>,
    /// Children.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pipeline: Vec<CompiledStep>,
    /// Every input of the `uses:` pipeline with its value (defaults
    /// applied).
    #[serde(skip)]
    pub inputs: BTreeMap<String, String>,
    /// The step is a built-in [`crate::HOST_PIPELINES`] pipeline: run it
    /// on the host from [`CompiledStep::inputs`] instead of its children.
    #[serde(skip)]
    pub host: bool,
    /// Where the step is written.
    #[serde(skip)]
    pub at: Option<crate::SourcePos>,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl CompiledStep {
    /// The working directory as an absolute guest path.
    pub fn absolute_working_directory(&self) -> String {
        if self.working_directory.starts_with('/') {
            self.working_directory.clone()
        } else if self.working_directory.is_empty() || self.working_directory == "." {
            "/home/build".to_string()
        } else {
            format!("/home/build/{}", self.working_directory)
        }
    }

    /// The steps that run, depth first, with `if:` applied: each yielded
    /// step is enabled and all its ancestors are.
    pub fn enabled_steps(&self) -> Vec<&CompiledStep> {
        let mut out = Vec::new();
        fn walk<'a>(s: &'a CompiledStep, out: &mut Vec<&'a CompiledStep>) {
            if !s.enabled {
                return;
            }
            out.push(s);
            for c in &s.pipeline {
                walk(c, out);
            }
        }
        walk(self, &mut out);
        out
    }
}

impl CompiledRecipe {
    /// Pretty-printed JSON, for `package compile`.
    pub fn to_json_pretty(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The subpackages that are built (their `if:` holds).
    pub fn enabled_subpackages(&self) -> impl Iterator<Item = &CompiledSubpackage> {
        self.subpackages.iter().filter(|s| s.enabled)
    }
}
