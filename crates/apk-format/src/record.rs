//! Package metadata shared by APKINDEX entries, the installed database and
//! `.PKGINFO`, plus the `X:value` field codec used by the first two.

use crate::dependency::{self, Dependency, DependencyError, DependencyRef};

/// Metadata of one package, independent of where it was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageRecord {
    /// `P:` / `pkgname`.
    pub name: String,
    /// `V:` / `pkgver` (full version with `-rN`).
    pub version: String,
    /// `A:` / `arch`.
    pub arch: String,
    /// `T:` / `pkgdesc`.
    pub description: String,
    /// `U:` / `url`.
    pub url: String,
    /// `L:` / `license`.
    pub license: String,
    /// `o:` / `origin`.
    pub origin: Option<String>,
    /// `m:` / `maintainer`.
    pub maintainer: Option<String>,
    /// `t:` / `builddate` (unix seconds).
    pub build_time: Option<u64>,
    /// `c:` / `commit`.
    pub commit: Option<String>,
    /// `S:`: size of the .apk file.
    pub file_size: Option<u64>,
    /// `I:` / `size`: installed size.
    pub installed_size: u64,
    /// `C:`: `Q1` + base64 SHA-1 of the control gzip stream.
    pub checksum: Option<String>,
    /// `D:` / `depend`.
    pub depends: Vec<Dependency>,
    /// `p:` / `provides`.
    pub provides: Vec<Dependency>,
    /// `i:` / `install_if`.
    pub install_if: Vec<Dependency>,
    /// `r:` / `replaces`.
    pub replaces: Vec<Dependency>,
    /// `k:` / `provider_priority`.
    pub provider_priority: Option<u64>,
    /// `q:` / `replaces_priority`.
    pub replaces_priority: Option<u64>,
    /// `datahash` (.PKGINFO only): hex SHA-256 of the data gzip stream.
    pub datahash: Option<String>,
    /// `triggers` (.PKGINFO only): trigger directory globs.
    pub triggers: Vec<String>,
    /// Fields this model does not know, in order: `(letter, value)`.
    pub extra: Vec<(u8, String)>,
}

/// A field of an `X:value` record that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A number field that is not a number.
    #[error("field `{letter}:` has `{value}`, which is not a number")]
    BadNumber {
        /// Field letter.
        letter: char,
        /// Its value.
        value: String,
    },
    /// A dependency list that does not parse.
    #[error("field `{letter}:`: {source}")]
    BadDependency {
        /// Field letter.
        letter: char,
        /// What was wrong.
        #[source]
        source: DependencyError,
    },
    /// The same single-valued field twice.
    #[error("field `{0}:` appears twice")]
    Duplicate(char),
    /// Required field missing.
    #[error("field `{0}:` is missing")]
    Missing(char),
}

/// Canonical field order of APKINDEX entries as apk-tools writes them.
pub const INDEX_ORDER: &[u8] = b"CPVASITULomtckDpirq";

/// Field letters that carry package metadata in `X:value` records.
pub fn is_package_letter(letter: u8) -> bool {
    INDEX_ORDER.contains(&letter)
}

fn parse_number(letter: u8, value: &str) -> Result<u64, FieldError> {
    value.parse().map_err(|_| FieldError::BadNumber {
        letter: letter as char,
        value: value.to_string(),
    })
}

fn parse_deps(letter: u8, value: &str) -> Result<Vec<Dependency>, FieldError> {
    Dependency::parse_list(value).map_err(|source| FieldError::BadDependency {
        letter: letter as char,
        source,
    })
}

/// The atoms of an `i:` value: apko writes them as a Go slice (`[a b]`).
pub fn install_if_list(value: &str) -> &str {
    value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value)
}

/// How an `i:` value was written: apko prints it as a Go slice (`i:[a b]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InstallIfStyle {
    /// `i:a b`, as apk-tools writes it.
    #[default]
    Plain,
    /// `i:[a b]`, as apko writes it.
    GoSlice,
}

/// Remembers how a record was laid out so it can be written back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldLayout {
    /// Field letters in the order they appeared.
    pub order: Vec<u8>,
    /// Style of the `i:` field.
    pub install_if_style: InstallIfStyle,
}

impl PackageRecord {
    /// Applies one `X:value` field. Unknown letters go to `extra`.
    pub fn set_field(
        &mut self,
        letter: u8,
        value: &str,
        layout: &mut FieldLayout,
    ) -> Result<(), FieldError> {
        match letter {
            b'P' => self.name = value.to_string(),
            b'V' => self.version = value.to_string(),
            b'A' => self.arch = value.to_string(),
            b'T' => self.description = value.to_string(),
            b'U' => self.url = value.to_string(),
            b'L' => self.license = value.to_string(),
            b'o' => self.origin = Some(value.to_string()),
            b'm' => self.maintainer = Some(value.to_string()),
            b't' => self.build_time = Some(parse_number(letter, value)?),
            b'c' => self.commit = Some(value.to_string()),
            b'S' => self.file_size = Some(parse_number(letter, value)?),
            b'I' => self.installed_size = parse_number(letter, value)?,
            b'C' => self.checksum = Some(value.to_string()),
            b'D' => self.depends = parse_deps(letter, value)?,
            b'p' => self.provides = parse_deps(letter, value)?,
            b'i' => {
                if install_if_list(value).len() != value.len() {
                    layout.install_if_style = InstallIfStyle::GoSlice;
                    self.install_if = parse_deps(letter, install_if_list(value))?;
                } else {
                    self.install_if = parse_deps(letter, value)?;
                    // A plain list whose text would be written back looking
                    // like a Go slice (` [a]`, or `[a<>b]@t` shown as
                    // `[a@t><b]`) reads back the same only as a slice.
                    let text = dependency::join(&self.install_if);
                    if text.starts_with('[') && text.ends_with(']') {
                        layout.install_if_style = InstallIfStyle::GoSlice;
                    }
                }
            }
            b'r' => self.replaces = parse_deps(letter, value)?,
            b'k' => self.provider_priority = Some(parse_number(letter, value)?),
            b'q' => self.replaces_priority = Some(parse_number(letter, value)?),
            _ => self.extra.push((letter, value.to_string())),
        }
        layout.order.push(letter);
        Ok(())
    }

    /// Checks one `X:value` field the way [`PackageRecord::set_field`]
    /// would apply it, without keeping anything: `set_field` fails on a
    /// field exactly when this does.
    pub fn check_field(letter: u8, value: &str) -> Result<(), FieldError> {
        let deps = |list: &str| {
            DependencyRef::parse_list(list)
                .try_for_each(|d| d.map(drop))
                .map_err(|source| FieldError::BadDependency {
                    letter: letter as char,
                    source,
                })
        };
        match letter {
            b't' | b'S' | b'I' | b'k' | b'q' => parse_number(letter, value).map(drop),
            b'D' | b'p' | b'r' => deps(value),
            b'i' => deps(install_if_list(value)),
            _ => Ok(()),
        }
    }

    /// Checks the fields every package record must have.
    pub fn check_required(&self) -> Result<(), FieldError> {
        if self.name.is_empty() {
            return Err(FieldError::Missing('P'));
        }
        if self.version.is_empty() {
            return Err(FieldError::Missing('V'));
        }
        Ok(())
    }

    /// Value of a field as text, or `None` when the record does not carry it.
    fn field_text(&self, letter: u8, style: InstallIfStyle) -> Option<String> {
        let opt_num = |n: Option<u64>| n.map(|n| n.to_string());
        let list = |deps: &[Dependency]| (!deps.is_empty()).then(|| dependency::join(deps));
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        match letter {
            b'P' => Some(self.name.clone()),
            b'V' => Some(self.version.clone()),
            b'A' => text(&self.arch),
            b'T' => text(&self.description),
            b'U' => text(&self.url),
            b'L' => text(&self.license),
            b'o' => self.origin.clone(),
            b'm' => self.maintainer.clone(),
            b't' => opt_num(self.build_time),
            b'c' => self.commit.clone(),
            b'S' => opt_num(self.file_size),
            b'I' => Some(self.installed_size.to_string()),
            b'C' => self.checksum.clone(),
            b'D' => list(&self.depends),
            b'p' => list(&self.provides),
            b'i' => match style {
                InstallIfStyle::GoSlice => {
                    Some(format!("[{}]", dependency::join(&self.install_if)))
                }
                InstallIfStyle::Plain => list(&self.install_if),
            },
            b'r' => list(&self.replaces),
            b'k' => opt_num(self.provider_priority),
            b'q' => opt_num(self.replaces_priority),
            _ => None,
        }
    }

    /// Writes the record's package fields as `X:value` lines (no blank line
    /// after). With an empty layout the apk-tools order is used and empty
    /// fields are left out; otherwise the layout's order is kept.
    pub fn write_fields(&self, layout: &FieldLayout, out: &mut String) {
        let mut extra = self.extra.iter();
        if layout.order.is_empty() {
            for &letter in INDEX_ORDER {
                if let Some(v) = self.field_text(letter, layout.install_if_style) {
                    push_field(out, letter, &v);
                }
            }
            for (letter, v) in extra {
                push_field(out, *letter, v);
            }
            return;
        }
        for &letter in &layout.order {
            if is_package_letter(letter) {
                let v = self
                    .field_text(letter, layout.install_if_style)
                    .unwrap_or_default();
                push_field(out, letter, &v);
            } else if let Some((l, v)) = extra.next() {
                push_field(out, *l, v);
            }
        }
        for (letter, v) in extra {
            push_field(out, *letter, v);
        }
    }

    /// `name-version`, the way apk names a package.
    pub fn name_version(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// Appends `X:value\n`.
pub fn push_field(out: &mut String, letter: u8, value: &str) {
    out.push(letter as char);
    out.push(':');
    out.push_str(value);
    out.push('\n');
}

/// Splits text into lines at `\n`, dropping every `\r` that ends a line.
///
/// Unlike `str::lines`, which drops one `\r` and only before a `\n`, no line
/// comes back ending in `\r`, so every line survives being written back
/// with a plain `\n`.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_terminator('\n')
        .map(|l| l.trim_end_matches('\r'))
}

/// Splits an `X:value` line. Returns `None` for lines of another shape.
pub fn split_field(line: &str) -> Option<(u8, &str)> {
    let bytes = line.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        Some((bytes[0], &line[2..]))
    } else {
        None
    }
}

/// Formats `Q1` + base64 of a SHA-1 digest, the apk checksum notation.
pub fn q1_checksum(sha1: &[u8]) -> String {
    use base64::Engine as _;
    let mut s = String::with_capacity(30);
    s.push_str("Q1");
    base64::engine::general_purpose::STANDARD.encode_string(sha1, &mut s);
    s
}

/// Decodes a `Q1...` checksum into SHA-1 bytes.
pub fn decode_q1(s: &str) -> Option<[u8; 20]> {
    use base64::Engine as _;
    let b64 = s.strip_prefix("Q1")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz findings (target `installed`): `i:\r[cmd:]` and
    /// `i:[a:b<>c]@t` were plain lists written back as `i:[cmd:]` and
    /// `i:[a:b@t><c]`, which read as Go slices holding other atoms.
    #[test]
    fn plain_install_if_never_writes_a_slice_lookalike() {
        for value in [
            "\r[cmd:]",
            "[a:b<>c]@t",
            " [a b] ",
            "[a]",
            "[a",
            "a]",
            "[]",
            "a b",
        ] {
            let mut r = PackageRecord::default();
            let mut layout = FieldLayout::default();
            r.set_field(b'i', value, &mut layout).unwrap();
            let mut out = String::new();
            r.write_fields(&layout, &mut out);
            let written = out.strip_prefix("i:").unwrap().trim_end_matches('\n');
            let mut again = PackageRecord::default();
            let mut layout_again = FieldLayout::default();
            again.set_field(b'i', written, &mut layout_again).unwrap();
            assert_eq!((&again, &layout_again), (&r, &layout), "{value:?}");
        }
        let mut r = PackageRecord::default();
        let mut layout = FieldLayout::default();
        r.set_field(b'i', "\r[cmd:]", &mut layout).unwrap();
        assert_eq!(r.install_if, vec![Dependency::any("[cmd:]")]);
        assert_eq!(layout.install_if_style, InstallIfStyle::GoSlice);
        let mut layout = FieldLayout::default();
        r.set_field(b'i', "a b", &mut layout).unwrap();
        assert_eq!(layout.install_if_style, InstallIfStyle::Plain);
    }
}
