//! The installed database (`lib/apk/db/installed`): package records followed
//! by the directories and files each package owns.

use crate::index::excerpt;
use crate::record::{
    FieldError, FieldLayout, PackageRecord, is_package_letter, lines, split_field,
};

/// Owner and mode of a file or directory (`M:` / `a:` lines: `uid:gid:mode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Digits the mode was written with (apko pads to 4, apk-tools does not).
    pub mode_width: u8,
    /// apk-tools' checksum of the extended attributes (`Q1…`, see
    /// [`xattr_checksum`]), written as a fourth field when there are any.
    pub xattr_checksum: Option<String>,
}

impl Acl {
    fn parse(s: &str) -> Option<Acl> {
        let mut parts = s.splitn(4, ':');
        let uid = parts.next()?.parse().ok()?;
        let gid = parts.next()?.parse().ok()?;
        let text = parts.next()?;
        let mode = u32::from_str_radix(text, 8).ok()?;
        let mode_width = u8::try_from(text.len()).ok()?;
        let xattr_checksum = parts.next().map(str::to_string);
        Some(Acl {
            uid,
            gid,
            mode,
            mode_width,
            xattr_checksum,
        })
    }

    fn render(&self) -> String {
        let width = usize::from(self.mode_width);
        let mut out = format!("{}:{}:{:0width$o}", self.uid, self.gid, self.mode);
        if let Some(x) = &self.xattr_checksum {
            out.push(':');
            out.push_str(x);
        }
        out
    }
}

/// The SHA-1 apk-tools records for a file's extended attributes: over the
/// attributes sorted by name, each as big-endian 32-bit length and bytes
/// of the name, then of the value. `None` without attributes.
pub fn xattr_sha1(xattrs: &[(String, Vec<u8>)]) -> Option<[u8; 20]> {
    if xattrs.is_empty() {
        return None;
    }
    let mut sorted: Vec<&(String, Vec<u8>)> = xattrs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut data = Vec::new();
    for (name, value) in sorted {
        for part in [name.as_bytes(), value.as_slice()] {
            data.extend_from_slice(&(part.len() as u32).to_be_bytes());
            data.extend_from_slice(part);
        }
    }
    Some(crate::stream::sha1(&data))
}

/// [`xattr_sha1`] as the `Q1…` text of an installed-database ACL.
pub fn xattr_checksum(xattrs: &[(String, Vec<u8>)]) -> Option<String> {
    xattr_sha1(xattrs).map(|d| crate::record::q1_checksum(&d))
}

/// A file owned by a package (`R:` with optional `a:` and `Z:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledFile {
    /// Base name.
    pub name: String,
    /// Owner and mode, when not the default.
    pub acl: Option<Acl>,
    /// `Q1` checksum of the content (or of the link target).
    pub checksum: Option<String>,
}

/// A directory a package owns files in (`F:` with optional `M:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledDir {
    /// Path relative to the root, without leading slash (`""` for the root).
    pub path: String,
    /// Owner and mode, when not the default.
    pub acl: Option<Acl>,
    /// Files directly in this directory.
    pub files: Vec<InstalledFile>,
}

/// One package of the installed database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstalledPackage {
    /// Package metadata.
    pub package: PackageRecord,
    /// Layout of the package fields.
    pub layout: FieldLayout,
    /// Owned directories and files.
    pub dirs: Vec<InstalledDir>,
}

/// Error reading the installed database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstalledError {
    /// A line that is not `X:value`.
    #[error("line {line}: expected `X:value`, found `{text}`")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line (shortened).
        text: String,
    },
    /// A file line before any `F:` line, or an `a:`/`Z:` without `R:`.
    #[error("line {line}: `{letter}:` is not preceded by the line it belongs to")]
    Orphan {
        /// 1-based line number.
        line: usize,
        /// The field letter.
        letter: char,
    },
    /// A bad `uid:gid:mode` triple.
    #[error("line {line}: bad owner/mode `{text}` (expected uid:gid:octal-mode)")]
    BadAcl {
        /// 1-based line number.
        line: usize,
        /// The value.
        text: String,
    },
    /// A package field with a bad value.
    #[error("line {line}: {source}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        #[source]
        source: FieldError,
    },
    /// A record without name or version.
    #[error("record ending at line {line}: {source}")]
    Incomplete {
        /// 1-based line number.
        line: usize,
        /// What was missing.
        #[source]
        source: FieldError,
    },
}

/// Parses an installed database.
pub fn parse_installed(text: &str) -> Result<Vec<InstalledPackage>, InstalledError> {
    let mut out = Vec::new();
    let mut cur: Option<InstalledPackage> = None;
    let mut last = 0;
    for (i, line) in lines(text).enumerate() {
        let line_no = i + 1;
        if line.is_empty() {
            if let Some(p) = cur.take() {
                finish(p, line_no - 1, &mut out)?;
            }
            continue;
        }
        let Some((letter, value)) = split_field(line) else {
            return Err(InstalledError::BadLine {
                line: line_no,
                text: excerpt(line),
            });
        };
        last = line_no;
        let pkg = cur.get_or_insert_with(InstalledPackage::default);
        let orphan = || InstalledError::Orphan {
            line: line_no,
            letter: letter as char,
        };
        let acl = || {
            Acl::parse(value).ok_or_else(|| InstalledError::BadAcl {
                line: line_no,
                text: value.to_string(),
            })
        };
        match letter {
            b'F' => pkg.dirs.push(InstalledDir {
                path: value.to_string(),
                acl: None,
                files: Vec::new(),
            }),
            b'M' => pkg.dirs.last_mut().ok_or_else(orphan)?.acl = Some(acl()?),
            b'R' => pkg
                .dirs
                .last_mut()
                .ok_or_else(orphan)?
                .files
                .push(InstalledFile {
                    name: value.to_string(),
                    acl: None,
                    checksum: None,
                }),
            b'a' | b'Z' => {
                let file = pkg
                    .dirs
                    .last_mut()
                    .and_then(|d| d.files.last_mut())
                    .ok_or_else(orphan)?;
                if letter == b'a' {
                    file.acl = Some(acl()?);
                } else {
                    file.checksum = Some(value.to_string());
                }
            }
            _ if is_package_letter(letter) || pkg.dirs.is_empty() => pkg
                .package
                .set_field(letter, value, &mut pkg.layout)
                .map_err(|source| InstalledError::Field {
                    line: line_no,
                    source,
                })?,
            _ => return Err(orphan()),
        }
    }
    if let Some(p) = cur {
        finish(p, last, &mut out)?;
    }
    Ok(out)
}

fn finish(
    p: InstalledPackage,
    line: usize,
    out: &mut Vec<InstalledPackage>,
) -> Result<(), InstalledError> {
    p.package
        .check_required()
        .map_err(|source| InstalledError::Incomplete { line, source })?;
    out.push(p);
    Ok(())
}

/// Writes an installed database.
pub fn write_installed(packages: &[InstalledPackage]) -> String {
    let mut out = String::new();
    for p in packages {
        p.package.write_fields(&p.layout, &mut out);
        for dir in &p.dirs {
            out.push_str("F:");
            out.push_str(&dir.path);
            out.push('\n');
            if let Some(acl) = &dir.acl {
                out.push_str("M:");
                out.push_str(&acl.render());
                out.push('\n');
            }
            for f in &dir.files {
                out.push_str("R:");
                out.push_str(&f.name);
                out.push('\n');
                if let Some(acl) = &f.acl {
                    out.push_str("a:");
                    out.push_str(&acl.render());
                    out.push('\n');
                }
                if let Some(sum) = &f.checksum {
                    out.push_str("Z:");
                    out.push_str(sum);
                    out.push('\n');
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let text = "P:x\nV:1-r0\nA:x86_64\ni:[]\nF:etc\nM:0:0:0700\nR:a\na:0:0:0600\nZ:Q1aaa=\nR:b\nF:usr\n\n";
        let db = parse_installed(text).unwrap();
        assert_eq!(db[0].dirs.len(), 2);
        assert_eq!(db[0].dirs[0].acl.as_ref().unwrap().mode, 0o700);
        assert_eq!(write_installed(&db), text);
        assert!(parse_installed("P:x\nV:1\nR:a\n").is_err());
        assert!(parse_installed("P:x\nV:1\nF:a\nM:zz\n").is_err());
    }

    #[test]
    fn acls_with_an_xattr_checksum() {
        let text = "P:x\nV:1-r0\nF:usr/bin\nR:ping\na:0:0:755:Q1abc=\nZ:Q1aaa=\n\n";
        let db = parse_installed(text).unwrap();
        let acl = db[0].dirs[0].files[0].acl.as_ref().unwrap();
        assert_eq!(acl.xattr_checksum.as_deref(), Some("Q1abc="));
        assert_eq!(write_installed(&db), text);
        // sha1(be32(4) "user" be32(1) "x")
        let want = crate::stream::sha1(b"\0\0\0\x04user\0\0\0\x01x");
        assert_eq!(xattr_sha1(&[("user".into(), b"x".to_vec())]), Some(want));
        assert_eq!(xattr_sha1(&[]), None);
        let two = [("b".to_string(), vec![2]), ("a".to_string(), vec![1])];
        let mut sorted = two.clone();
        sorted.reverse();
        assert_eq!(xattr_sha1(&two), xattr_sha1(&sorted));
    }

    /// Fuzz finding (target `installed`): `A:\r\r\n` kept one `\r` in the
    /// arch, which the next write and read dropped.
    #[test]
    fn carriage_returns_end_lines() {
        let db = parse_installed("P:x\nV:1\nA:\r\r\nF:usr\nR:a\r\n").unwrap();
        assert_eq!(db[0].package.arch, "");
        assert_eq!(db[0].dirs[0].files[0].name, "a");
        assert_eq!(parse_installed(&write_installed(&db)).unwrap(), db);
    }
}
