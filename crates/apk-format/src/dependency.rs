//! Dependency atoms: `[!]name[@tag][op version]`, as written in `D:`, `p:`,
//! `i:` and `/etc/apk/world`.
//!
//! Names may be virtual (`so:libc.musl-x86_64.so.1`, `cmd:sh`, `pc:zlib`,
//! `/bin/sh`); they are plain names to the parser. The tag may also follow
//! the version (`name>=1.0@edge`), the form apko accepts.

use std::fmt;
use std::str::FromStr;

use crate::version::{self, VersionOp};

/// The version part of a dependency.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constraint {
    /// Any version (no operator).
    Any,
    /// `op version`, e.g. `>=1.2-r0`.
    Version {
        /// The operator.
        op: VersionOp,
        /// The version it compares against (kept as written).
        version: String,
    },
    /// `><Q1...`: pinned to one package by its control checksum.
    Checksum(String),
}

/// One dependency atom.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dependency {
    /// `!name`: the named package must not be installed.
    pub conflict: bool,
    /// Package or virtual name.
    pub name: String,
    /// Repository tag (`@edge`).
    pub tag: Option<String>,
    /// Version constraint.
    pub constraint: Constraint,
}

/// Why a dependency atom did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// Nothing to parse.
    #[error("empty dependency")]
    Empty,
    /// Name missing.
    #[error("dependency `{0}` has no package name")]
    NoName(String),
    /// An operator we do not know.
    #[error("dependency `{atom}` has an invalid operator `{op}`")]
    BadOperator {
        /// The whole atom.
        atom: String,
        /// The operator text.
        op: String,
    },
    /// Operator without a version.
    #[error("dependency `{0}` has an operator but no version")]
    NoVersion(String),
    /// Bad version string.
    #[error("dependency `{atom}` has an invalid version `{version}`")]
    BadVersion {
        /// The whole atom.
        atom: String,
        /// The version text.
        version: String,
    },
    /// Empty or malformed tag.
    #[error("dependency `{0}` has an empty repository tag")]
    BadTag(String),
    /// Whitespace or control characters inside the atom.
    #[error("dependency `{0}` contains whitespace or control characters")]
    BadCharacter(String),
}

fn is_comparer(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '~')
}

impl Dependency {
    /// A dependency on any version of `name`.
    pub fn any(name: impl Into<String>) -> Self {
        Dependency {
            conflict: false,
            name: name.into(),
            tag: None,
            constraint: Constraint::Any,
        }
    }

    /// Parses one atom.
    pub fn parse(atom: &str) -> Result<Self, DependencyError> {
        DependencyRef::parse(atom).map(DependencyRef::into_owned)
    }

    /// A view of this atom that borrows its text.
    pub fn borrowed(&self) -> DependencyRef<'_> {
        DependencyRef {
            conflict: self.conflict,
            name: &self.name,
            tag: self.tag.as_deref(),
            constraint: match &self.constraint {
                Constraint::Any => ConstraintRef::Any,
                Constraint::Version { op, version } => ConstraintRef::Version { op: *op, version },
                Constraint::Checksum(sum) => ConstraintRef::Checksum(sum),
            },
        }
    }

    /// Like [`Dependency::parse`], but also rejects versions apk considers
    /// invalid. Packages in the wild carry such versions (apk-tools marks
    /// them broken instead of failing), so only user input is this strict.
    pub fn parse_strict(atom: &str) -> Result<Self, DependencyError> {
        let dep = Dependency::parse(atom)?;
        if let Constraint::Version { version, .. } = &dep.constraint
            && !version::is_valid(version)
        {
            return Err(DependencyError::BadVersion {
                atom: atom.to_string(),
                version: version.clone(),
            });
        }
        Ok(dep)
    }

    /// Parses a space-separated list of atoms (a `D:` or `depend` value).
    pub fn parse_list(list: &str) -> Result<Vec<Self>, DependencyError> {
        list.split_ascii_whitespace()
            .map(Dependency::parse)
            .collect()
    }

    /// Does a package (or provide) called `name` at `version` satisfy this
    /// atom, ignoring the conflict flag and tag? A provide without a version
    /// (`None`) satisfies only unversioned atoms.
    pub fn matches_version(&self, version: Option<&str>) -> bool {
        match (&self.constraint, version) {
            (Constraint::Any, _) => true,
            (Constraint::Version { op, version: want }, Some(have)) => op.matches(have, want),
            _ => false,
        }
    }
}

fn split_tag<'a>(atom: &str, s: &'a str) -> Result<(&'a str, Option<&'a str>), DependencyError> {
    match s.split_once('@') {
        Some((_, "")) => Err(DependencyError::BadTag(atom.to_string())),
        Some((name, tag)) => Ok((name, Some(tag))),
        None => Ok((s, None)),
    }
}

/// The version part of a [`DependencyRef`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstraintRef<'a> {
    /// Any version.
    Any,
    /// `op version`.
    Version {
        /// The operator.
        op: VersionOp,
        /// The version, as written.
        version: &'a str,
    },
    /// `><Q1...`.
    Checksum(&'a str),
}

/// A dependency atom that borrows its text: parsing one allocates nothing,
/// so a resolver can read the atoms of thousands of index records cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DependencyRef<'a> {
    /// `!name`.
    pub conflict: bool,
    /// Package or virtual name.
    pub name: &'a str,
    /// Repository tag.
    pub tag: Option<&'a str>,
    /// Version constraint.
    pub constraint: ConstraintRef<'a>,
}

impl<'a> DependencyRef<'a> {
    /// Parses one atom (the grammar of [`Dependency::parse`]).
    pub fn parse(atom: &'a str) -> Result<Self, DependencyError> {
        if atom.is_empty() {
            return Err(DependencyError::Empty);
        }
        // Printable ASCII (the usual case) needs no character decoding.
        let plain = atom.bytes().all(|b| b > b' ' && b < 0x7f);
        if !plain && atom.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DependencyError::BadCharacter(atom.to_string()));
        }
        let (conflict, rest) = match atom.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, atom),
        };
        // The comparers are ASCII, so a byte search finds the same place.
        let first_comparer = rest
            .bytes()
            .position(|b| matches!(b, b'<' | b'>' | b'=' | b'~'));
        let (name_tag, op_version) = match first_comparer {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let (name, mut tag) = split_tag(atom, name_tag)?;
        if name.is_empty() {
            return Err(DependencyError::NoName(atom.to_string()));
        }
        let constraint = match op_version {
            None => ConstraintRef::Any,
            Some(ov) => {
                let op_len = ov.find(|c| !is_comparer(c)).unwrap_or(ov.len());
                let (op_text, version) = ov.split_at(op_len);
                // apko's form puts the tag after the version.
                let version = match version.split_once('@') {
                    Some((v, t)) if tag.is_none() => {
                        // A tag holding `<>=~` could not be written back in
                        // front of the operator.
                        if t.is_empty() || t.contains(is_comparer) {
                            return Err(DependencyError::BadTag(atom.to_string()));
                        }
                        tag = Some(t);
                        v
                    }
                    _ => version,
                };
                if version.is_empty() {
                    return Err(DependencyError::NoVersion(atom.to_string()));
                }
                let op = VersionOp::parse(op_text).ok_or_else(|| DependencyError::BadOperator {
                    atom: atom.to_string(),
                    op: op_text.to_string(),
                })?;
                // Exactly less-or-greater, however spelled (`><`, `<>`), pins
                // a checksum, as in apk-tools.
                if op.as_str() == "><" {
                    ConstraintRef::Checksum(version)
                } else {
                    ConstraintRef::Version { op, version }
                }
            }
        };
        Ok(DependencyRef {
            conflict,
            name,
            tag,
            constraint,
        })
    }

    /// Parses a space-separated list of atoms, stopping at the first bad one.
    pub fn parse_list(list: &'a str) -> impl Iterator<Item = Result<Self, DependencyError>> + 'a {
        list.split_ascii_whitespace().map(DependencyRef::parse)
    }

    /// The owned atom.
    pub fn into_owned(self) -> Dependency {
        Dependency {
            conflict: self.conflict,
            name: self.name.to_string(),
            tag: self.tag.map(str::to_string),
            constraint: match self.constraint {
                ConstraintRef::Any => Constraint::Any,
                ConstraintRef::Version { op, version } => Constraint::Version {
                    op,
                    version: version.to_string(),
                },
                ConstraintRef::Checksum(sum) => Constraint::Checksum(sum.to_string()),
            },
        }
    }
}

impl fmt::Display for DependencyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.conflict {
            f.write_str("!")?;
        }
        f.write_str(self.name)?;
        if let Some(tag) = self.tag {
            write!(f, "@{tag}")?;
        }
        match self.constraint {
            ConstraintRef::Any => Ok(()),
            ConstraintRef::Version { op, version } => write!(f, "{op}{version}"),
            ConstraintRef::Checksum(sum) => write!(f, "><{sum}"),
        }
    }
}

impl FromStr for Dependency {
    type Err = DependencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dependency::parse(s)
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.borrowed().fmt(f)
    }
}

/// Writes a list of atoms separated by single spaces.
pub fn join(deps: &[Dependency]) -> String {
    let mut out = String::new();
    for (i, d) in deps.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&d.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> Dependency {
        let d = Dependency::parse(s).unwrap();
        assert_eq!(d.to_string(), s, "round trip of {s}");
        d
    }

    #[test]
    fn atoms() {
        assert_eq!(rt("musl").constraint, Constraint::Any);
        let d = rt("so:libc.musl-x86_64.so.1=1");
        assert_eq!(d.name, "so:libc.musl-x86_64.so.1");
        assert!(d.matches_version(Some("1")));
        let d = rt("!busybox<1.2");
        assert!(d.conflict);
        let d = rt("openrc>=0.24.1-r6");
        assert!(d.matches_version(Some("0.52.1-r2")));
        assert!(!d.matches_version(Some("0.24.1-r5")));
        let d = rt("busybox~1.36");
        assert!(d.matches_version(Some("1.36.1-r15")));
        let d = rt("foo@edge>2");
        assert_eq!(d.tag.as_deref(), Some("edge"));
        let d = Dependency::parse("foo>2@edge").unwrap();
        assert_eq!(d.to_string(), "foo@edge>2");
        rt("/bin/sh");
        rt("cmd:sh");
        rt("pc:zlib>=1.2");
        rt("busybox><Q1abc=");
        assert!(Dependency::parse("foo>=").is_err());
        assert!(Dependency::parse("foo>=1.0bc").is_ok());
        assert!(Dependency::parse_strict("foo>=1.0bc").is_err());
        assert!(Dependency::parse_strict("foo=>!1").is_err());
        assert!(Dependency::parse("foo=!1").is_ok());
        assert!(Dependency::parse("foo<>1").is_ok());
        assert!(Dependency::parse(">=1").is_err());
        assert!(Dependency::parse("foo@").is_err());
    }

    /// Fuzz finding (target `pkginfo`): `<>` parsed as a version operator
    /// but was written as `><`, which reads back as a checksum pin.
    #[test]
    fn less_greater_is_a_checksum_however_spelled() {
        let d = Dependency::parse("arc<>h").unwrap();
        assert_eq!(d.constraint, Constraint::Checksum("h".to_string()));
        assert_eq!(Dependency::parse(&d.to_string()).unwrap(), d);
        let d = Dependency::parse("foo~<>1").unwrap();
        assert_eq!(Dependency::parse(&d.to_string()).unwrap(), d);
    }

    /// Fuzz finding (target `apkindex`): `ca<ncopa@alpinelinux.org>` took
    /// `alpinelinux.org>` as a tag, written back as
    /// `ca@alpinelinux.org><ncopa` (a checksum pin).
    #[test]
    fn tag_after_version_has_no_operator_characters() {
        assert!(matches!(
            Dependency::parse("ca<ncopa@alpinelinux.org>"),
            Err(DependencyError::BadTag(_))
        ));
        assert!(Dependency::parse("foo>1@a~b").is_err());
        assert_eq!(rt("foo@edge>1").tag.as_deref(), Some("edge"));
    }
}
