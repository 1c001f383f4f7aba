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

/// One record of an APKINDEX text: a run of non-empty lines, and where
/// it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawRecord<'a> {
    /// From the start of the first line to the end of the last.
    pub(crate) text: &'a str,
    /// Byte offset of `text` in the whole index text.
    pub(crate) offset: usize,
    /// 1-based number of the first line.
    pub(crate) first_line: usize,
    /// 1-based number of the last line.
    pub(crate) last_line: usize,
}

impl<'a> RawRecord<'a> {
    /// The fields with their 1-based line numbers; a line that is not
    /// `X:value` is an error.
    pub(crate) fn fields(self) -> impl Iterator<Item = Result<(usize, u8, &'a str), IndexError>> {
        lines(self.text).enumerate().map(move |(i, line)| {
            let line_no = self.first_line + i;
            split_field(line)
                .map(|(letter, value)| (line_no, letter, value))
                .ok_or_else(|| IndexError::BadLine {
                    line: line_no,
                    text: excerpt(line),
                })
        })
    }
}

/// Splits an APKINDEX text into records (runs of non-empty lines).
pub(crate) fn raw_records(text: &str) -> impl Iterator<Item = RawRecord<'_>> {
    let mut offset = 0;
    let mut line_no = 0;
    std::iter::from_fn(move || {
        let mut record: Option<RawRecord<'_>> = None;
        while offset < text.len() {
            let rest = &text[offset..];
            let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let raw = &rest[..len];
            let here = offset;
            offset += len;
            line_no += 1;
            if raw.trim_end_matches(['\n', '\r']).is_empty() {
                if record.is_some() {
                    break;
                }
                continue;
            }
            let r = record.get_or_insert(RawRecord {
                text: "",
                offset: here,
                first_line: line_no,
                last_line: line_no,
            });
            r.text = &text[r.offset..here + raw.trim_end_matches('\n').len()];
            r.last_line = line_no;
        }
        record
    })
}

/// Parses one record fully.
pub(crate) fn parse_record(raw: RawRecord<'_>) -> Result<IndexEntry, IndexError> {
    let mut entry = IndexEntry::default();
    for field in raw.fields() {
        let (line, letter, value) = field?;
        entry
            .package
            .set_field(letter, value, &mut entry.layout)
            .map_err(|source| IndexError::Field { line, source })?;
    }
    entry
        .package
        .check_required()
        .map_err(|source| IndexError::Incomplete {
            line: raw.last_line,
            source,
        })?;
    Ok(entry)
}

/// Parses an APKINDEX text.
pub fn parse_index(text: &str) -> Result<Vec<IndexEntry>, IndexError> {
    raw_records(text).map(parse_record).collect()
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
