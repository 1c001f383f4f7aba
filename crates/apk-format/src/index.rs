//! The `APKINDEX` text: blank-line separated records of `X:value` fields.

use crate::record::{FieldError, FieldLayout, PackageRecord, lines, split_field};

/// One package of an index, with the layout it was read in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexEntry {
    /// The package metadata.
    pub package: PackageRecord,
    /// How the fields were laid out (empty for entries built here).
    pub layout: FieldLayout,
}

/// Error reading an APKINDEX text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// A line that is not `X:value`.
    #[error("line {line}: expected `X:value`, found `{text}`")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line (shortened).
        text: String,
    },
    /// A field with a bad value.
    #[error("line {line}: {source}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        #[source]
        source: FieldError,
    },
    /// A record without a name or version.
    #[error("record ending at line {line}: {source}")]
    Incomplete {
        /// 1-based line number of the record's last line.
        line: usize,
        /// What was missing.
        #[source]
        source: FieldError,
    },
}

/// Shortens a line for an error message.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Parses an APKINDEX text.
pub fn parse_index(text: &str) -> Result<Vec<IndexEntry>, IndexError> {
    let mut entries = Vec::new();
    let mut current: Option<IndexEntry> = None;
    let mut last_line = 0;
    for (i, line) in lines(text).enumerate() {
        let line_no = i + 1;
        if line.is_empty() {
            if let Some(entry) = current.take() {
                finish(entry, line_no - 1, &mut entries)?;
            }
            continue;
        }
        let Some((letter, value)) = split_field(line) else {
            return Err(IndexError::BadLine {
                line: line_no,
                text: excerpt(line),
            });
        };
        let entry = current.get_or_insert_with(IndexEntry::default);
        entry
            .package
            .set_field(letter, value, &mut entry.layout)
            .map_err(|source| IndexError::Field {
                line: line_no,
                source,
            })?;
        last_line = line_no;
    }
    if let Some(entry) = current {
        finish(entry, last_line, &mut entries)?;
    }
    Ok(entries)
}

fn finish(entry: IndexEntry, line: usize, out: &mut Vec<IndexEntry>) -> Result<(), IndexError> {
    entry
        .package
        .check_required()
        .map_err(|source| IndexError::Incomplete { line, source })?;
    out.push(entry);
    Ok(())
}

/// Writes an APKINDEX text: each record followed by a blank line.
pub fn write_index(entries: &[IndexEntry]) -> String {
    let mut out = String::with_capacity(entries.len() * 400);
    for entry in entries {
        entry.package.write_fields(&entry.layout, &mut out);
        out.push('\n');
    }
    out
}

/// The index entry apk-tools writes for a package: metadata from its
/// `.PKGINFO` plus `C:` and `S:`. Replaces, triggers and datahash are not
/// index fields. `rewrite_arch` replaces the architecture, as
/// `apk index --rewrite-arch` (which Alpine uses to list `noarch`
/// packages under the repository's architecture).
pub fn entry_for_package(
    record: &PackageRecord,
    checksum: &str,
    file_size: u64,
    rewrite_arch: Option<&str>,
) -> IndexEntry {
    let mut package = record.clone();
    if let Some(arch) = rewrite_arch {
        package.arch = arch.to_string();
    }
    package.checksum = Some(checksum.to_string());
    package.file_size = Some(file_size);
    package.replaces.clear();
    package.replaces_priority = None;
    package.datahash = None;
    package.triggers.clear();
    package.extra.clear();
    IndexEntry {
        package,
        layout: FieldLayout::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_errors() {
        let text = "C:Q1abc=\nP:a\nV:1-r0\nA:x86_64\nS:1\nI:2\nT:d\nU:u\nL:MIT\nD:b c>=1\nZ:odd\n\nP:b\nV:2\n\n";
        let entries = parse_index(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].package.depends.len(), 2);
        assert_eq!(entries[0].package.extra, vec![(b'Z', "odd".to_string())]);
        assert_eq!(write_index(&entries), text);
        let err = parse_index("P:a\nV:1\nS:x\n").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = parse_index("P:a\nnonsense\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(parse_index("V:1\n\n").is_err());
    }

    /// Fuzz finding (target `apkindex`): `P:6\nV:\r` read `V` as `"\r"`,
    /// written back as `V:\r\n`, which reads as an empty (missing) `V`.
    #[test]
    fn carriage_returns_end_lines() {
        assert!(parse_index("P:6\nV:\r").is_err());
        let entries = parse_index("P:a\r\nV:1\r\r\nT:x\ry\r").unwrap();
        assert_eq!(entries[0].package.version, "1");
        assert_eq!(entries[0].package.description, "x\ry");
        assert_eq!(parse_index(&write_index(&entries)).unwrap(), entries);
    }
}
