//! The package info object shared by v3 packages and indexes: reading it
//! into a [`PackageRecord`], and writing it from `.PKGINFO` lines or from
//! `key:value` fields the way apk-tools 3 does.

use super::AdbError;
use super::schema::{dep, pkginfo as pi};
use super::value::{Obj, Val, tag};
use super::write::{AdbWriter, DEPENDENCY};
use crate::dependency::{Constraint, Dependency};
use crate::record::PackageRecord;
use crate::version::VersionOp;

/// `match` bit of a conflict (`!name`).
const CONFLICT: u64 = 16;
/// `match` of a dependency on any version.
const ANY: u8 = 7;

/// A package info object read into a record, with its raw identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V3Info {
    /// The metadata.
    pub record: PackageRecord,
    /// `hashes`: in an index, the package's identity (SHA-256 of a v3
    /// package's ADB block, SHA-1 of a v2 package's control section); in a
    /// package, a 20-byte unique ID.
    pub hashes: Vec<u8>,
    /// `tags`.
    pub tags: Vec<String>,
}

fn text(o: &Obj<'_>, field: u32, what: &str) -> Result<String, AdbError> {
    Ok(o.text(field, what)?.unwrap_or_default().to_string())
}

/// Reads a pkginfo object.
pub fn read_info(o: &Obj<'_>) -> Result<V3Info, AdbError> {
    let opt_text = |field: u32, what: &str| -> Result<Option<String>, AdbError> {
        Ok(o.text(field, what)?.map(str::to_string))
    };
    let opt_int = |field: u32| -> Result<Option<u64>, AdbError> {
        Ok(if o.val(field).is_null() {
            None
        } else {
            Some(o.int(field)?)
        })
    };
    let record = PackageRecord {
        name: text(o, pi::NAME, "name")?,
        version: text(o, pi::VERSION, "version")?,
        arch: text(o, pi::ARCH, "arch")?,
        description: text(o, pi::DESCRIPTION, "description")?,
        url: text(o, pi::URL, "url")?,
        license: text(o, pi::LICENSE, "license")?,
        origin: opt_text(pi::ORIGIN, "origin")?,
        maintainer: opt_text(pi::MAINTAINER, "maintainer")?,
        build_time: opt_int(pi::BUILD_TIME)?,
        commit: o.blob(pi::REPO_COMMIT)?.map(hex::encode),
        file_size: opt_int(pi::FILE_SIZE)?,
        installed_size: o.int(pi::INSTALLED_SIZE)?,
        depends: read_deps(&o.obj(pi::DEPENDS)?)?,
        provides: read_deps(&o.obj(pi::PROVIDES)?)?,
        install_if: read_deps(&o.obj(pi::INSTALL_IF)?)?,
        replaces: read_deps(&o.obj(pi::REPLACES)?)?,
        provider_priority: opt_int(pi::PROVIDER_PRIORITY)?,
        ..PackageRecord::default()
    };
    if record.name.is_empty() {
        return Err(AdbError::Malformed("package info has no name".into()));
    }
    if record.version.is_empty() {
        return Err(AdbError::Malformed(format!(
            "package info of `{}` has no version",
            record.name
        )));
    }
    let tags_obj = o.obj(pi::TAGS)?;
    let mut tags = Vec::new();
    for v in tags_obj.items() {
        let b = tags_obj.view().blob(v)?.unwrap_or_default();
        tags.push(String::from_utf8_lossy(b).into_owned());
    }
    Ok(V3Info {
        record,
        hashes: o.blob(pi::HASHES)?.unwrap_or_default().to_vec(),
        tags,
    })
}

/// Reads a dependency array.
pub fn read_deps(arr: &Obj<'_>) -> Result<Vec<Dependency>, AdbError> {
    let view = arr.view();
    let mut out = Vec::with_capacity(arr.len() as usize);
    for v in arr.items() {
        let d = view.obj(v)?;
        let name = d.text(dep::NAME, "dependency name")?.unwrap_or_default();
        if name.is_empty() {
            return Err(AdbError::Malformed("dependency without a name".into()));
        }
        let version = d.text(dep::VERSION, "dependency version")?;
        let bits = d.int(dep::MATCH)?;
        let conflict = bits & CONFLICT != 0;
        let op_bits = (bits & !CONFLICT) as u8;
        let constraint = match version {
            None => Constraint::Any,
            Some(version) => {
                let op_bits = if op_bits == 0 { 1 } else { op_bits };
                match VersionOp::from_bits(op_bits) {
                    _ if op_bits == ANY => Constraint::Any,
                    Some(op) if op.as_str() == "><" => Constraint::Checksum(version.to_string()),
                    Some(op) => Constraint::Version {
                        op,
                        version: version.to_string(),
                    },
                    None => {
                        return Err(AdbError::Malformed(format!(
                            "dependency `{name}` has an invalid match value {bits}"
                        )));
                    }
                }
            }
        };
        out.push(Dependency {
            conflict,
            name: name.to_string(),
            tag: None,
            constraint,
        });
    }
    Ok(out)
}

/// Why a value could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    /// A field value apk-tools 3 refuses.
    #[error("`{field}` has invalid value `{value}`: {reason}")]
    BadValue {
        /// Field name.
        field: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The same field twice.
    #[error("`{0}` appears twice")]
    Duplicate(String),
}

fn bad(field: &'static str, value: &str, reason: &'static str) -> InfoError {
    InfoError::BadValue {
        field,
        value: value.to_string(),
        reason,
    }
}

/// Writes one dependency object from its text (apk's `dependency_fromstring`).
pub fn write_dependency(w: &mut AdbWriter, atom: &str) -> Result<Val, InfoError> {
    let err = || bad("dependency", atom, "not a valid dependency");
    let (conflict, rest) = match atom.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, atom),
    };
    let is_cmp = |c: char| matches!(c, '<' | '>' | '=' | '~');
    let (name, op, version) = match rest.find(is_cmp) {
        Some(i) => {
            let after = &rest[i..];
            let op_len = after.find(|c| !is_cmp(c)).unwrap_or(after.len());
            let op = VersionOp::parse(&after[..op_len]).ok_or_else(err)?;
            (&rest[..i], op.bits(), Some(&after[op_len..]))
        }
        None => (rest, ANY, None),
    };
    if let Some(v) = version
        && op != 6
        && !crate::version::is_valid(v)
    {
        return Err(err());
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_graphic() && !matches!(c, b'<' | b'>' | b'=' | b'~' | b'!'))
    {
        return Err(err());
    }
    let op = u64::from(op) | if conflict { CONFLICT } else { 0 };
    let name_v = w.blob(name.as_bytes());
    let mut fields = vec![name_v];
    if op != u64::from(ANY) {
        fields.push(w.blob(version.unwrap_or_default().as_bytes()));
        if op != 1 {
            fields.push(w.int(op));
        }
    }
    Ok(w.object(&fields))
}

/// Writes a dependency array from atoms, sorted and de-duplicated, tagged
/// as apk-tools tags it (`kind_tag`).
pub fn write_dependency_array<'a>(
    w: &mut AdbWriter,
    atoms: impl IntoIterator<Item = &'a str>,
    kind_tag: u32,
) -> Result<Val, InfoError> {
    let mut items = Vec::new();
    for a in atoms {
        items.push(write_dependency(w, a)?);
    }
    w.sort_items(&mut items, &DEPENDENCY, true);
    Ok(w.array(&items, kind_tag))
}

/// Splits a dependency list at spaces, tabs and newlines.
pub fn split_deps(list: &str) -> impl Iterator<Item = &str> {
    list.split([' ', '\t', '\n', '\r'])
        .filter(|s| !s.is_empty())
}

fn hex_blob(w: &mut AdbWriter, field: &'static str, value: &str) -> Result<Val, InfoError> {
    if !value.len().is_multiple_of(2) || value.len() > 512 {
        return Err(bad(field, value, "not an even number of hex digits"));
    }
    let bytes = hex::decode(value).map_err(|_| bad(field, value, "not hex"))?;
    Ok(w.blob(&bytes))
}

fn number(field: &'static str, value: &str) -> Result<u64, InfoError> {
    value
        .parse::<u64>()
        .map_err(|_| bad(field, value, "not a number"))
}

/// Field names of a pkginfo object, by field number.
pub const FIELD_NAMES: [&str; 21] = [
    "name",
    "version",
    "hashes",
    "description",
    "arch",
    "license",
    "origin",
    "maintainer",
    "url",
    "repo-commit",
    "build-time",
    "installed-size",
    "file-size",
    "provider-priority",
    "depends",
    "provides",
    "replaces",
    "install-if",
    "recommends",
    "layer",
    "tags",
];

/// Writes one pkginfo field from text, as `apk mkpkg -I field:value` does
/// (`adb_wo_val_fromstring`); returns the value for slot `field`.
pub fn write_field(w: &mut AdbWriter, field: u32, value: &str) -> Result<Val, InfoError> {
    match field {
        pi::NAME => {
            let ok = value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
                && value.bytes().all(|c| c.is_ascii_graphic());
            if !ok {
                return Err(bad("name", value, "not a valid package name"));
            }
            Ok(w.blob(value.as_bytes()))
        }
        pi::VERSION => {
            if !crate::version::is_valid(value) {
                return Err(bad("version", value, "not a valid version"));
            }
            Ok(w.blob(value.as_bytes()))
        }
        pi::HASHES | pi::REPO_COMMIT => hex_blob(w, name_static(field), value),
        pi::BUILD_TIME | pi::INSTALLED_SIZE | pi::FILE_SIZE | pi::PROVIDER_PRIORITY | pi::LAYER => {
            Ok(w.int(number(name_static(field), value)?))
        }
        pi::DEPENDS | pi::PROVIDES | pi::REPLACES | pi::INSTALL_IF | pi::RECOMMENDS => {
            write_dependency_array(w, split_deps(value), tag::OBJECT)
        }
        pi::TAGS => {
            let mut items = Vec::new();
            for t in value.split_ascii_whitespace() {
                items.push(w.blob(t.as_bytes()));
            }
            Ok(w.array(&items, tag::OBJECT))
        }
        _ => Ok(w.blob(value.as_bytes())),
    }
}

fn name_static(field: u32) -> &'static str {
    FIELD_NAMES
        .get((field as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("field")
}

/// Field number of a pkginfo field name.
pub fn field_by_name(name: &str) -> Option<u32> {
    FIELD_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| i as u32 + 1)
}

/// Writes the pkginfo of a v2 package from its `.PKGINFO` fields, as
/// `apk mkndx` does (`mkndx_parse_v2meta`): fields in file order, the
/// dependency lists at the end. Returns the slots (index = field number).
pub fn write_v2_pkginfo<'a>(
    w: &mut AdbWriter,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Val>, InfoError> {
    let mut slots = vec![Val::NULL; pi::MAX as usize];
    let mut deps: [Vec<Val>; 3] = Default::default();
    for (key, value) in fields {
        let field = match key {
            "arch" => pi::ARCH,
            "builddate" => pi::BUILD_TIME,
            "commit" => pi::REPO_COMMIT,
            "depend" => pi::DEPENDS,
            "install_if" => pi::INSTALL_IF,
            "license" => pi::LICENSE,
            "maintainer" => pi::MAINTAINER,
            "origin" => pi::ORIGIN,
            "pkgdesc" => pi::DESCRIPTION,
            "pkgname" => pi::NAME,
            "pkgver" => pi::VERSION,
            "provider_priority" => pi::PROVIDER_PRIORITY,
            "provides" => pi::PROVIDES,
            "replaces" => pi::REPLACES,
            "size" => pi::INSTALLED_SIZE,
            "url" => pi::URL,
            _ => continue,
        };
        if !slots[field as usize].is_null() {
            return Err(InfoError::Duplicate(key.to_string()));
        }
        let list = match field {
            pi::DEPENDS => Some(0),
            pi::PROVIDES => Some(1),
            pi::REPLACES => Some(2),
            _ => None,
        };
        if let Some(i) = list {
            for atom in split_deps(value) {
                deps[i].push(write_dependency(w, atom)?);
            }
            continue;
        }
        let v = match field {
            // apk-tools ignores a commit that is not 40 hex digits.
            pi::REPO_COMMIT => {
                let hex40 = value
                    .get(..40)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
                match hex40 {
                    Some(h) => hex_blob(w, "repo-commit", h)?,
                    None => continue,
                }
            }
            _ => write_field(w, field, value)?,
        };
        slots[field as usize] = v;
    }
    for (i, field) in [pi::DEPENDS, pi::PROVIDES, pi::REPLACES].iter().enumerate() {
        let mut items = std::mem::take(&mut deps[i]);
        w.sort_items(&mut items, &DEPENDENCY, true);
        slots[*field as usize] = w.array(&items, tag::ARRAY);
    }
    Ok(slots)
}
