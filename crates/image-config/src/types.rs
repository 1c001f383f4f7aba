//! The configuration model: one type per object of apko's schema
//! (`pkg/build/types/types.go`).
//!
//! Field names follow apko's YAML keys exactly. As in apko, an empty string
//! means "not set" for scalar fields. Serialization follows yaml.v3 on apko's
//! struct tags (which fields are omitted when empty), so [`Config::to_yaml`]
//! prints what `apko show-config` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::de;
use crate::error::Origin;
use crate::show;

/// An apko image configuration (`ImageConfiguration`).
///
/// Build one with [`Config::load`] or [`Config::parse_str`]: they record file
/// names in item origins and apply apko's post-processing. The `Deserialize`
/// implementation is meant for serde-saphyr (item positions come from its
/// spans).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Repositories, keys and packages.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Contents::is_empty"
    )]
    pub contents: Contents,
    /// The image entrypoint.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Entrypoint::is_empty"
    )]
    pub entrypoint: Entrypoint,
    /// OCI `Cmd`, shell-split.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub cmd: String,
    /// OCI `StopSignal`.
    #[serde(
        rename = "stop-signal",
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    /// OCI `WorkingDir`.
    #[serde(
        rename = "work-dir",
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub work_dir: String,
    /// Users, groups and the user to run as.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Accounts::is_empty"
    )]
    pub accounts: Accounts,
    /// Architectures as written (normalized, not deduplicated); see
    /// [`Config::effective_archs`].
    #[serde(
        default,
        deserialize_with = "de::archs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub archs: Vec<Arch>,
    /// Environment of the image; see [`Config::environment_with_defaults`].
    #[serde(
        default,
        deserialize_with = "de::nullable",
        serialize_with = "show::natural_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub environment: BTreeMap<String, String>,
    /// Path mutations, applied in order.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<PathMutation>,
    /// `url@commit` of the source, for annotations and the SBOM.
    #[serde(
        rename = "vcs-url",
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub vcs_url: String,
    /// Annotations for manifests, index and config labels.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        serialize_with = "show::natural_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Deprecated in apko: a base config merged under this one. Kept after
    /// loading, as apko does.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub include: String,
    /// OCI `Volumes`.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub volumes: Vec<String>,
    /// Layering; `None` and `Some(default)` both mean one layer (but erofs
    /// rejects any `layering:` key, as apko does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layering: Option<Layering>,
    /// Layer format; `None` means tar.
    #[serde(
        default,
        deserialize_with = "de::format",
        skip_serializing_if = "Option::is_none"
    )]
    pub format: Option<LayerFormat>,
    /// Extra CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Certificates>,
}

/// `contents` (`ImageContents`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contents {
    /// Used to resolve packages, never written into the image.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub build_repositories: Vec<String>,
    /// Written into `/etc/apk/repositories` only, not used to resolve.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub runtime_repositories: Vec<String>,
    /// Used to resolve and written into `/etc/apk/repositories`. Trailing
    /// slashes are trimmed on load.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub repositories: Vec<String>,
    /// Paths or URLs of RSA public keys.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub keyring: Vec<String>,
    /// Inline keys installed into `/etc/apk/keys` after resolution.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub runtime_keyring: Vec<RuntimeKeyringEntry>,
    /// Package atoms (`name`, `name=1.0-r0`, `name@tag`, …), checked with
    /// `apk_format::Dependency::parse_strict` when parsed.
    #[serde(
        default,
        deserialize_with = "de::packages",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub packages: Vec<String>,
    /// Experimental: build on top of an OCI layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseimage: Option<BaseImage>,
}

/// An inline public key for `/etc/apk/keys` (`RuntimeKeyringEntry`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "de::Located<de::RuntimeKeyringFields>")]
pub struct RuntimeKeyringEntry {
    /// File name under `/etc/apk/keys`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// PEM public key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Where the entry was written.
    #[serde(skip)]
    pub origin: Origin,
}

/// `contents.baseimage` (`BaseImageDescriptor`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseImage {
    /// OCI layout directory of the base image.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub image: String,
    /// Directory holding `<arch>/APKINDEX` of the base image's packages.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub apkindex: String,
}

/// `entrypoint` (`ImageEntrypoint`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entrypoint {
    /// `service-bundle` or nothing.
    #[serde(
        default,
        deserialize_with = "de::entrypoint_type",
        serialize_with = "show::entrypoint_type"
    )]
    pub r#type: Option<EntrypointType>,
    /// Shell-split into the OCI `Entrypoint`.
    #[serde(default, deserialize_with = "de::nullable")]
    pub command: String,
    /// Wins over `command`: the entrypoint becomes `/bin/sh -c <fragment>`.
    #[serde(rename = "shell-fragment", default, deserialize_with = "de::nullable")]
    pub shell_fragment: String,
    /// s6 services: name → command.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        serialize_with = "show::natural_map"
    )]
    pub services: BTreeMap<String, String>,
}

/// The only entrypoint type apko knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntrypointType {
    /// `service-bundle`: run s6-svscan over `entrypoint.services`.
    ServiceBundle,
}

impl EntrypointType {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntrypointType::ServiceBundle => "service-bundle",
        }
    }
}

/// `accounts` (`ImageAccounts`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// User name or UID for the OCI `User`.
    #[serde(rename = "run-as", default, deserialize_with = "de::nullable")]
    pub run_as: String,
    /// Users appended to `/etc/passwd` and `/etc/shadow`.
    #[serde(default, deserialize_with = "de::nullable")]
    pub users: Vec<User>,
    /// Groups appended to `/etc/group`.
    #[serde(default, deserialize_with = "de::nullable")]
    pub groups: Vec<Group>,
}

/// One of `accounts.users`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "de::Located<de::UserFields>")]
pub struct User {
    /// Required.
    pub username: String,
    /// Required and non-zero.
    pub uid: u32,
    /// Defaults to the UID (see [`User::effective_gid`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Defaults to `/bin/sh` at build time.
    pub shell: String,
    /// Defaults to `/home/<username>` (set by [`Config::validate`]).
    pub homedir: String,
    /// Where the user was written.
    #[serde(skip)]
    pub origin: Origin,
}

impl User {
    /// The group ID apko writes: `gid`, or the UID when unset.
    pub fn effective_gid(&self) -> u32 {
        self.gid.unwrap_or(self.uid)
    }

    /// The shell apko writes: `shell`, or `/bin/sh` when unset.
    pub fn effective_shell(&self) -> &str {
        if self.shell.is_empty() {
            "/bin/sh"
        } else {
            &self.shell
        }
    }

    /// The home directory apko writes: `homedir`, or `/home/<username>`.
    pub fn effective_homedir(&self) -> String {
        if self.homedir.is_empty() {
            format!("/home/{}", self.username)
        } else {
            self.homedir.clone()
        }
    }
}

/// One of `accounts.groups`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "de::Located<de::GroupFields>")]
pub struct Group {
    /// Required.
    pub groupname: String,
    /// The group ID.
    pub gid: u32,
    /// Member user names.
    pub members: Vec<String>,
    /// Where the group was written.
    #[serde(skip)]
    pub origin: Origin,
}

/// One of `paths` (`PathMutation`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "de::Located<de::PathMutationFields>")]
pub struct PathMutation {
    /// The path in the image.
    pub path: String,
    /// What to do.
    pub r#type: PathType,
    /// Owner; if only one of uid/gid is set the other is 0, if neither is
    /// set ownership is left alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group; see `uid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Mode bits (04000/02000/01000 are setuid/setgid/sticky). Defaults to
    /// 0, which apko applies as is. Read as yaml.v3 reads integers: `0o755`
    /// and `0755` are octal, `493` decimal (so `755` is *not* rwxr-xr-x).
    pub permissions: u32,
    /// Link target for `hardlink` and `symlink`.
    pub source: String,
    /// Apply to everything below (`directory` and `permissions` only).
    pub recursive: bool,
    /// Where the mutation was written.
    #[serde(skip)]
    pub origin: Origin,
}

/// `paths[].type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathType {
    /// `MkdirAll` with `permissions`.
    Directory,
    /// Create an empty file.
    EmptyFile,
    /// Hard link `path` to `source`.
    Hardlink,
    /// Symlink `path` → `source`.
    Symlink,
    /// Only chmod/chown.
    Permissions,
}

impl PathType {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PathType::Directory => "directory",
            PathType::EmptyFile => "empty-file",
            PathType::Hardlink => "hardlink",
            PathType::Symlink => "symlink",
            PathType::Permissions => "permissions",
        }
    }
}

/// `layering`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layering {
    /// `origin`, the only strategy.
    #[serde(
        default,
        deserialize_with = "de::layering_strategy",
        serialize_with = "show::layering_strategy",
        skip_serializing_if = "Option::is_none"
    )]
    pub strategy: Option<LayeringStrategy>,
    /// Maximum number of layers.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "is_zero_i64"
    )]
    pub budget: i64,
}

impl Layering {
    /// `layering: {}`: asks for nothing, so a single layer.
    pub fn is_empty(&self) -> bool {
        self.strategy.is_none() && self.budget == 0
    }
}

/// `layering.strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayeringStrategy {
    /// Group packages by origin.
    Origin,
}

/// `format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerFormat {
    /// gzip-compressed tar layers.
    Tar,
    /// Experimental EROFS layers.
    Erofs,
}

impl LayerFormat {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerFormat::Tar => "tar",
            LayerFormat::Erofs => "erofs",
        }
    }
}

/// `certificates` (`ImageCertificates`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificates {
    /// Inline certificates.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub additional: Vec<AdditionalCertificate>,
    /// Virtual package names whose providers contribute certificates.
    #[serde(
        default,
        deserialize_with = "de::nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub providers: Vec<String>,
}

/// One of `certificates.additional` (`AdditionalCertificateEntry`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "de::Located<de::CertificateFields>")]
pub struct AdditionalCertificate {
    /// File-name-safe name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// One PEM certificate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Where the entry was written.
    #[serde(skip)]
    pub origin: Origin,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

impl Contents {
    /// True when nothing is set (yaml.v3 omits the key then).
    pub fn is_empty(&self) -> bool {
        self == &Contents::default()
    }
}

impl Entrypoint {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Entrypoint::default()
    }
}

impl Accounts {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Accounts::default()
    }
}
