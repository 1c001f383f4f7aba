//! `environment:`: the apko image configuration of a build or test guest
//! (apko's `ImageConfiguration`, every key it accepts).
//!
//! The objects a recipe writes literally (users, groups, path mutations,
//! layering, certificates, base image, inline keys) are `image-config`'s own
//! types, checked as apko checks them. The ones whose values may hold
//! `${{…}}` until the recipe is compiled (package lists, repositories,
//! keys, environment variables, entrypoint, `run-as`) are kept here as
//! positioned text ([`Str`]), so substitutions and error messages can point
//! at the recipe; the image engine validates the compiled environment.
//! Serialization uses apko's keys, so a compiled environment can be handed
//! to the image-config parser as YAML or JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use image_config::{BaseImage, Certificates, Group, Layering, PathMutation, User};

use crate::text::{Str, StrMap, nullable};

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
    pub runtime_keyring: Vec<image_config::RuntimeKeyringEntry>,
    /// Package atoms.
    #[serde(default, deserialize_with = "nullable")]
    pub packages: Vec<Str>,
    /// Experimental base image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseimage: Option<BaseImage>,
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

#[cfg(test)]
mod tests {
    use crate::Recipe;

    const HEAD: &str = "package:\n  name: x\n  version: 1\n  epoch: 0\nenvironment:\n";

    #[test]
    fn literal_objects_are_image_configs_own() {
        let r = Recipe::parse_str(
            &format!(
                "{HEAD}  accounts:\n    users:\n      - username: svc\n        uid: 0o1750\n    run-as: svc\n  paths:\n    - path: /srv\n      type: directory\n      permissions: 0755\npipeline: []\n"
            ),
            "r.yaml",
        )
        .unwrap();
        let e = &r.environment;
        // yaml.v3's integers, apko's defaults and positions.
        assert_eq!(e.accounts.users[0].uid, 0o1750);
        assert_eq!(e.accounts.users[0].effective_gid(), 0o1750);
        assert_eq!(e.paths[0].permissions, 0o755);
        assert_eq!(e.paths[0].r#type, image_config::PathType::Directory);
        assert_eq!(e.accounts.run_as.line, 10);
        // apko's checks, at the recipe's position.
        let err = Recipe::parse_str(
            &format!("{HEAD}  paths:\n    - path: /srv\n      type: folder\npipeline: []\n"),
            "r.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("r.yaml:8:13") && err.contains("folder"),
            "{err}"
        );
    }
}
