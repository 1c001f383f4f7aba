//! Deserialization helpers: yaml.v3's zero-value treatment of nulls, the
//! value checks that can point at the offending scalar, and the field sets
//! of the items that remember where they were written.

use apk_format::Dependency;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::arch::{Arch, ArchError};
use crate::error::{Origin, SourcePos};
use crate::types::{
    AdditionalCertificate, EntrypointType, Group, LayerFormat, LayeringStrategy, PathMutation,
    PathType, RuntimeKeyringEntry, User,
};

/// A value with the position serde-saphyr saw it at.
pub(crate) type Located<T> = serde_saphyr::Spanned<T>;

fn origin_of<T>(located: &Located<T>) -> Origin {
    let loc = located.referenced;
    if loc.line() == 0 {
        Origin(None)
    } else {
        // The file is filled in by `Origin::stamp` once parsing is done.
        Origin(Some(SourcePos::new("", loc.line(), loc.column())))
    }
}

/// yaml.v3 decodes an explicit null (`key:` with nothing after it) to the
/// zero value; serde would reject it for strings, lists and maps.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A package atom, checked as it is read so the error points at it.
struct PackageAtom(String);

impl<'de> Deserialize<'de> for PackageAtom {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let atom = String::deserialize(deserializer)?;
        match Dependency::parse_strict(&atom) {
            Ok(_) => Ok(PackageAtom(atom)),
            Err(e) => Err(D::Error::custom(format!("invalid package `{atom}`: {e}"))),
        }
    }
}

pub(crate) fn packages<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    let atoms: Option<Vec<PackageAtom>> = Option::deserialize(deserializer)?;
    Ok(atoms.unwrap_or_default().into_iter().map(|a| a.0).collect())
}

/// One `archs` entry: an architecture, or `all`/`host`.
enum ArchItem {
    One(Arch),
    All,
}

impl<'de> Deserialize<'de> for ArchItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.as_str() {
            "all" => Ok(ArchItem::All),
            "host" => Arch::host().map(ArchItem::One).ok_or_else(|| {
                D::Error::custom(ArchError(format!("host ({})", std::env::consts::ARCH)))
            }),
            other => Arch::parse(other)
                .map(ArchItem::One)
                .map_err(D::Error::custom),
        }
    }
}

/// `archs`, normalized as apko's `Architecture.UnmarshalYAML` does; `all`
/// and `host` are expanded here (apko would take them literally and fail
/// later).
pub(crate) fn archs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Arch>, D::Error> {
    let items: Option<Vec<ArchItem>> = Option::deserialize(deserializer)?;
    let mut archs = Vec::new();
    for item in items.unwrap_or_default() {
        match item {
            ArchItem::One(arch) => archs.push(arch),
            ArchItem::All => archs.extend(Arch::ALL),
        }
    }
    Ok(archs)
}

fn optional_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

pub(crate) fn entrypoint_type<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<EntrypointType>, D::Error> {
    match optional_string(deserializer)?.as_str() {
        "" => Ok(None),
        "service-bundle" => Ok(Some(EntrypointType::ServiceBundle)),
        other => Err(D::Error::custom(format!(
            "unsupported entrypoint type `{other}`, the only type is `service-bundle`"
        ))),
    }
}

pub(crate) fn format<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<LayerFormat>, D::Error> {
    match optional_string(deserializer)?.as_str() {
        "" => Ok(None),
        "tar" => Ok(Some(LayerFormat::Tar)),
        "erofs" => Ok(Some(LayerFormat::Erofs)),
        other => Err(D::Error::custom(format!(
            "invalid layer format \"{other}\" (must be \"tar\" or \"erofs\")"
        ))),
    }
}

pub(crate) fn layering_strategy<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<LayeringStrategy>, D::Error> {
    match optional_string(deserializer)?.as_str() {
        "" => Ok(None),
        "origin" => Ok(Some(LayeringStrategy::Origin)),
        other => Err(D::Error::custom(format!(
            "unrecognized layering strategy \"{other}\" (the only strategy is \"origin\")"
        ))),
    }
}

/// The keys of a `runtime_keyring` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuntimeKeyringFields {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    content: String,
}

impl From<Located<RuntimeKeyringFields>> for RuntimeKeyringEntry {
    fn from(located: Located<RuntimeKeyringFields>) -> Self {
        let origin = origin_of(&located);
        let f = located.value;
        RuntimeKeyringEntry {
            name: f.name,
            content: f.content,
            origin,
        }
    }
}

/// The keys of a user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserFields {
    #[serde(default, deserialize_with = "nullable")]
    username: String,
    #[serde(default, deserialize_with = "nullable")]
    uid: u32,
    #[serde(default)]
    gid: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    shell: String,
    #[serde(default, deserialize_with = "nullable")]
    homedir: String,
}

impl From<Located<UserFields>> for User {
    fn from(located: Located<UserFields>) -> Self {
        let origin = origin_of(&located);
        let f = located.value;
        User {
            username: f.username,
            uid: f.uid,
            gid: f.gid,
            shell: f.shell,
            homedir: f.homedir,
            origin,
        }
    }
}

/// The keys of a group.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupFields {
    #[serde(default, deserialize_with = "nullable")]
    groupname: String,
    #[serde(default, deserialize_with = "nullable")]
    gid: u32,
    #[serde(default, deserialize_with = "nullable")]
    members: Vec<String>,
}

impl From<Located<GroupFields>> for Group {
    fn from(located: Located<GroupFields>) -> Self {
        let origin = origin_of(&located);
        let f = located.value;
        Group {
            groupname: f.groupname,
            gid: f.gid,
            members: f.members,
            origin,
        }
    }
}

/// The keys of a path mutation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PathMutationFields {
    #[serde(default, deserialize_with = "nullable")]
    path: String,
    r#type: PathType,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    gid: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    permissions: u32,
    #[serde(default, deserialize_with = "nullable")]
    source: String,
    #[serde(default, deserialize_with = "nullable")]
    recursive: bool,
}

impl From<Located<PathMutationFields>> for PathMutation {
    fn from(located: Located<PathMutationFields>) -> Self {
        let origin = origin_of(&located);
        let f = located.value;
        PathMutation {
            path: f.path,
            r#type: f.r#type,
            uid: f.uid,
            gid: f.gid,
            permissions: f.permissions,
            source: f.source,
            recursive: f.recursive,
            origin,
        }
    }
}

/// The keys of an additional certificate.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateFields {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    content: String,
}

impl From<Located<CertificateFields>> for AdditionalCertificate {
    fn from(located: Located<CertificateFields>) -> Self {
        let origin = origin_of(&located);
        let f = located.value;
        AdditionalCertificate {
            name: f.name,
            content: f.content,
            origin,
        }
    }
}
