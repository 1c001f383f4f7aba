//! The recipe model: one type per object of melange's schema
//! (`pkg/config/config.go`). Keys are melange's YAML keys; every struct
//! rejects unknown keys, as melange's `KnownFields(true)` decoder does.
//!
//! Strings are [`Str`]s, which remember their position so that errors found
//! after parsing (unknown variables, bad names) can point at them. The same
//! types carry the substituted values in a [`crate::CompiledRecipe`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::env::Environment;
use crate::pipeline::Step;
use crate::text::{Str, StrMap, is_false, nullable};
use crate::update::Update;

/// A melange recipe (`Configuration`), as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Recipe {
    /// The main package.
    #[serde(default, deserialize_with = "nullable")]
    pub package: Package,
    /// The build environment: an apko image configuration.
    #[serde(default, deserialize_with = "nullable")]
    pub environment: Environment,
    /// Linux capabilities for the build runner.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Capabilities::is_empty"
    )]
    pub capabilities: Capabilities,
    /// The main package's build steps.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pipeline: Vec<Step>,
    /// Further packages split from the same build.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subpackages: Vec<Subpackage>,
    /// Named tables that subpackage `range:` iterates over.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub data: Vec<RangeData>,
    /// Update monitoring (consumed by other tools; parsed and kept).
    #[serde(default, deserialize_with = "nullable")]
    pub update: Update,
    /// `${{vars.NAME}}` values.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub vars: StrMap,
    /// Regex rewrites that define more vars.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub var_transforms: Vec<VarTransform>,
    /// Build options, enabled with `--build-option`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub options: BTreeMap<String, BuildOption>,
    /// Tests of the main package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,
}

/// `package:`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Package {
    /// Package name (`^[a-zA-Z\d][a-zA-Z\d+_.-]*$`).
    #[serde(default)]
    pub name: Str,
    /// The version exactly as written (`1.10` stays `1.10`).
    #[serde(default)]
    pub version: Str,
    /// The `-rN` release number.
    #[serde(default, deserialize_with = "nullable")]
    pub epoch: u64,
    /// One-line description.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub description: Str,
    /// Free-form annotations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: StrMap,
    /// Upstream home page.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub url: Str,
    /// Commit of the recipe's repository.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub commit: Str,
    /// Architectures to build for; empty means all.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub target_architecture: Vec<Str>,
    /// Licenses.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub copyright: Vec<Copyright>,
    /// Declared dependencies.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Dependencies::is_empty"
    )]
    pub dependencies: Dependencies,
    /// Switches for dependency analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<PackageOptions>,
    /// Install scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scriptlets: Option<Scriptlets>,
    /// Linter settings.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Checks::is_empty"
    )]
    pub checks: Checks,
    /// CPE fields for vulnerability matching.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Cpe::is_empty"
    )]
    pub cpe: Cpe,
    /// File capabilities set after the pipelines.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub setcap: Vec<SetCap>,
    /// Build timeout, a Go duration (`2h30m`) or nanoseconds.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub timeout: Str,
    /// Advisory build resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Advisory test resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_resources: Option<Resources>,
}

/// One `copyright:` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Copyright {
    /// License paths, typically `*`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<Str>,
    /// Copyright statement.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub attestation: Str,
    /// License expression, written to `.PKGINFO` as is.
    #[serde(default)]
    pub license: Str,
    /// Workspace path of the license text.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub license_path: Str,
    /// License detection override.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub detection_override: Str,
}

/// `dependencies:` of a package or subpackage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dependencies {
    /// Runtime dependencies (`depend`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub runtime: Vec<Str>,
    /// Extra provides.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub provides: Vec<Str>,
    /// Packages whose files this one may overwrite.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub replaces: Vec<Str>,
    /// An integer, as text.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub provider_priority: Str,
    /// An integer, as text.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub replaces_priority: Str,
}

impl Dependencies {
    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        *self == Dependencies::default()
    }
}

/// `options:` of a package or subpackage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageOptions {
    /// No automatic provides.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub no_provides: bool,
    /// No automatic depends.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub no_depends: bool,
    /// No `cmd:` provides.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub no_commands: bool,
    /// Unversioned `so:` depends.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub no_versioned_shlib_deps: bool,
}

/// `scriptlets:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scriptlets {
    /// A script run when files under some paths change.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Trigger::is_empty"
    )]
    pub trigger: Trigger,
    /// `.pre-install`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub pre_install: Str,
    /// `.post-install`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub post_install: Str,
    /// `.pre-deinstall`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub pre_deinstall: Str,
    /// `.post-deinstall`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub post_deinstall: Str,
    /// `.pre-upgrade`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub pre_upgrade: Str,
    /// `.post-upgrade`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub post_upgrade: Str,
}

/// `scriptlets.trigger`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Trigger {
    /// The script.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub script: Str,
    /// Paths that trigger it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<Str>,
}

impl Trigger {
    /// Whether no trigger is set.
    pub fn is_empty(&self) -> bool {
        self.script.is_empty() && self.paths.is_empty()
    }
}

/// `checks:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Checks {
    /// Linters downgraded to warnings.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub disabled: Vec<Str>,
}

impl Checks {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.disabled.is_empty()
    }
}

/// `cpe:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpe {
    /// `a` or `o`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub part: Str,
    /// Vendor.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub vendor: Str,
    /// Product.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub product: Str,
    /// Edition.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub edition: Str,
    /// Language.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub language: Str,
    /// Software edition.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub sw_edition: Str,
    /// Target software.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub target_sw: Str,
    /// Target hardware.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub target_hw: Str,
    /// Other.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub other: Str,
}

impl Cpe {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Cpe::default()
    }
}

/// One `setcap:` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetCap {
    /// The file.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub path: Str,
    /// Capability names (comma-separated) to flags (`+ep`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub add: StrMap,
    /// Why; required.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub reason: Str,
}

/// `resources:` / `test-resources:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU count.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub cpu: Str,
    /// CPU model.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub cpumodel: Str,
    /// Memory (`16Gi`).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub memory: Str,
    /// Disk.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub disk: Str,
}

/// `capabilities:` of the build runner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Added.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub add: Vec<Str>,
    /// Dropped.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub drop: Vec<Str>,
}

impl Capabilities {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.drop.is_empty()
    }
}

/// One `subpackages:` entry, as written (before `range:` expansion).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Subpackage {
    /// Condition; the subpackage is skipped when false.
    #[serde(default, rename = "if", skip_serializing_if = "str::is_empty")]
    pub if_: Str,
    /// Name of a `data:` entry: one subpackage per item.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub range: Str,
    /// Name.
    #[serde(default)]
    pub name: Str,
    /// Steps.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pipeline: Vec<Step>,
    /// Declared dependencies.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Dependencies::is_empty"
    )]
    pub dependencies: Dependencies,
    /// Switches for dependency analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<PackageOptions>,
    /// Install scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scriptlets: Option<Scriptlets>,
    /// Description.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub description: Str,
    /// Annotations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: StrMap,
    /// Home page.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub url: Str,
    /// Commit (defaults to the package's).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub commit: Str,
    /// Linter settings.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Checks::is_empty"
    )]
    pub checks: Checks,
    /// Tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,
    /// Accepted and ignored, as melange ignores it for subpackages.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub setcap: Vec<SetCap>,
}

/// One `data:` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeData {
    /// Referenced by `range:`.
    #[serde(default)]
    pub name: Str,
    /// Keys and values, iterated in key order.
    #[serde(default, deserialize_with = "nullable")]
    pub items: StrMap,
}

/// One `var-transforms:` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarTransform {
    /// Input text (with substitutions).
    #[serde(default)]
    pub from: Str,
    /// A Go (RE2) regular expression.
    #[serde(default, rename = "match")]
    pub match_: Str,
    /// Replacement, with `$1`/`${name}` group references.
    #[serde(default)]
    pub replace: Str,
    /// Name of the var defined.
    #[serde(default)]
    pub to: Str,
}

/// One `options:` entry (a build option).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildOption {
    /// Vars overridden when enabled.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub vars: StrMap,
    /// Build environment changes when enabled.
    #[serde(default, deserialize_with = "nullable")]
    pub environment: EnvironmentOption,
}

/// `options.NAME.environment`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentOption {
    /// Contents changes.
    #[serde(default, deserialize_with = "nullable")]
    pub contents: ContentsOption,
}

/// `options.NAME.environment.contents`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentsOption {
    /// Package list changes.
    #[serde(default, deserialize_with = "nullable")]
    pub packages: ListOption,
}

/// A list change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListOption {
    /// Appended.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub add: Vec<Str>,
    /// Removed.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub remove: Vec<Str>,
}

/// `test:` of the package or a subpackage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test {
    /// The test environment.
    #[serde(default, deserialize_with = "nullable")]
    pub environment: Environment,
    /// Test steps.
    #[serde(default, deserialize_with = "nullable")]
    pub pipeline: Vec<Step>,
}
