//! `environment:`: the apko image configuration of a build or test guest
//! (apko's `ImageConfiguration`, every key it accepts).
//!
//! Values are kept loosely typed (package atoms are not checked here, since
//! they may hold `${{…}}` until compiled); the image engine validates the
//! compiled environment. Serialization uses apko's keys, so a compiled
//! environment can be handed to the image-config parser as YAML or JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::{Str, StrMap, is_false, nullable};

/// A build or test environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Environment {
    /// Repositories, keys and packages.
    #[serde(default, deserialize_with = "nullable")]
    pub contents: Contents,
    /// Image entrypoint (meaningless for builds; accepted).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Entrypoint::is_empty"
    )]
    pub entrypoint: Entrypoint,
    /// Image command.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub cmd: Str,
    /// Stop signal.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub stop_signal: Str,
    /// Working directory.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub work_dir: Str,
    /// Users, groups, and who runs the steps.
    #[serde(default, deserialize_with = "nullable")]
    pub accounts: Accounts,
    /// Architectures.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub archs: Vec<Str>,
    /// Environment variables of every step.
    #[serde(default, deserialize_with = "nullable")]
    pub environment: StrMap,
    /// Path mutations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<PathMutation>,
    /// Source URL.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub vcs_url: Str,
    /// Annotations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: StrMap,
    /// Deprecated base configuration.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub include: Str,
    /// Volumes.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub volumes: Vec<Str>,
    /// Layering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layering: Option<Layering>,
    /// Layer format.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub format: Str,
    /// Extra certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Certificates>,
}

/// `contents:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contents {
    /// Resolution-only repositories.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub build_repositories: Vec<Str>,
    /// Repositories written into the guest only.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub runtime_repositories: Vec<Str>,
    /// Repositories.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub repositories: Vec<Str>,
    /// Public keys.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub keyring: Vec<Str>,
    /// Inline keys.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub runtime_keyring: Vec<NamedContent>,
    /// Package atoms.
    #[serde(default, deserialize_with = "nullable")]
    pub packages: Vec<Str>,
    /// Experimental base image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseimage: Option<BaseImage>,
}

/// A `{name, content}` pair (runtime keys, certificates).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedContent {
    /// Name.
    #[serde(default)]
    pub name: Str,
    /// PEM text.
    #[serde(default)]
    pub content: Str,
}

/// `contents.baseimage`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseImage {
    /// OCI layout directory.
    #[serde(default)]
    pub image: Str,
    /// Directory with `<arch>/APKINDEX`.
    #[serde(default)]
    pub apkindex: Str,
}

/// `entrypoint:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entrypoint {
    /// `service-bundle` or empty.
    #[serde(default, rename = "type", skip_serializing_if = "str::is_empty")]
    pub type_: Str,
    /// Command.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub command: Str,
    /// Shell fragment.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub shell_fragment: Str,
    /// s6 services.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub services: StrMap,
}

impl Entrypoint {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Entrypoint::default()
    }
}

/// `accounts:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Accounts {
    /// User name or uid the steps run as.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub run_as: Str,
    /// Users.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub users: Vec<User>,
    /// Groups.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<Group>,
}

/// A user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Name.
    #[serde(default)]
    pub username: Str,
    /// Uid.
    #[serde(default, deserialize_with = "nullable")]
    pub uid: u32,
    /// Gid (defaults to the uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Login shell.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub shell: Str,
    /// Home directory.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub homedir: Str,
}

/// A group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Name.
    #[serde(default)]
    pub groupname: Str,
    /// Gid.
    #[serde(default, deserialize_with = "nullable")]
    pub gid: u32,
    /// Members.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub members: Vec<Str>,
}

/// A path mutation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathMutation {
    /// Path.
    #[serde(default)]
    pub path: Str,
    /// `directory`, `empty-file`, `hardlink`, `symlink` or `permissions`.
    #[serde(default, rename = "type")]
    pub type_: Str,
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Mode bits.
    #[serde(default, deserialize_with = "nullable")]
    pub permissions: u32,
    /// Link target.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub source: Str,
    /// Recursive.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub recursive: bool,
}

/// `layering:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layering {
    /// `origin`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strategy: Str,
    /// Layer budget.
    #[serde(default, deserialize_with = "nullable")]
    pub budget: u32,
}

/// `certificates:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificates {
    /// Inline certificates.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub additional: Vec<NamedContent>,
    /// Virtual package names whose providers contribute certificates.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub providers: Vec<Str>,
}
