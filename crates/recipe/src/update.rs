//! `update:`: how new upstream versions are found. Only other tools act on
//! it; it is parsed strictly (so typos are caught) and kept.

use serde::{Deserialize, Serialize};

use crate::text::{Str, is_false, nullable};

/// `update:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Update {
    /// Whether updates are monitored.
    #[serde(default, deserialize_with = "nullable")]
    pub enabled: bool,
    /// Updates are made by hand.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub manual: bool,
    /// Versions must be taken one after another.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub require_sequential: bool,
    /// The monitor is shared with other recipes.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub shared: bool,
    /// Separator replacing `.` in upstream versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub version_separator: Str,
    /// Versions to ignore.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore_regex_patterns: Vec<Str>,
    /// release-monitoring.org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_monitor: Option<ReleaseMonitor>,
    /// GitHub releases or tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GitHubMonitor>,
    /// Git tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitMonitor>,
    /// OCI tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciMonitor>,
    /// Version data streams.
    #[serde(
        default,
        rename = "version_data",
        skip_serializing_if = "Option::is_none"
    )]
    pub version_data: Option<VersionDataMonitor>,
    /// Rewrites of upstream versions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub version_transform: Vec<VersionTransform>,
    /// Why updates are disabled.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub exclude_reason: Str,
    /// Periodic checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Accept pre-release tags.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub enable_prerelease_tags: bool,
}

/// `update.release-monitor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReleaseMonitor {
    /// Project id.
    #[serde(default, deserialize_with = "nullable")]
    pub identifier: i64,
    /// Prefix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_prefix: Str,
    /// Suffix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_suffix: Str,
    /// Only versions containing this.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub version_filter_contains: Str,
    /// Only versions starting with this.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub version_filter_prefix: Str,
}

/// `update.github`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GitHubMonitor {
    /// `owner/repo`.
    #[serde(default)]
    pub identifier: Str,
    /// Prefix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_prefix: Str,
    /// Suffix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_suffix: Str,
    /// Tag filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter: Str,
    /// Tag prefix filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter_prefix: Str,
    /// Tag substring filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter_contains: Str,
    /// Use tags rather than releases.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub use_tag: bool,
}

/// `update.git`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GitMonitor {
    /// Prefix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_prefix: Str,
    /// Suffix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_suffix: Str,
    /// Tag prefix filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter_prefix: Str,
    /// Tag substring filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter_contains: Str,
}

/// `update.oci`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OciMonitor {
    /// Image reference.
    #[serde(default)]
    pub identifier: Str,
    /// Prefix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_prefix: Str,
    /// Suffix removed from versions.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub strip_suffix: Str,
    /// Tag prefix filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter_prefix: Str,
    /// Tag substring filter.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub tag_filter_contains: Str,
}

/// `update.version_data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionDataMonitor {
    /// Version format.
    #[serde(default, rename = "version_format")]
    pub version_format: Str,
    /// Sources.
    #[serde(default, deserialize_with = "nullable")]
    pub sources: Vec<VersionDataSource>,
}

/// One `version_data.sources` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionDataSource {
    /// Name.
    #[serde(default)]
    pub name: Str,
    /// Stream.
    #[serde(default)]
    pub stream: Str,
    /// Ignored versions.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignore: Vec<Str>,
    /// Commit source.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub commit_source: Str,
    /// Use releases.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub use_release: bool,
}

/// One `version-transform` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionTransform {
    /// Pattern.
    #[serde(default, rename = "match")]
    pub match_: Str,
    /// Replacement.
    #[serde(default)]
    pub replace: Str,
}

/// `update.schedule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `daily`, `weekly` or `monthly`.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub period: Str,
    /// Why.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub reason: Str,
}
