//! An APKINDEX kept as its text: checked once as [`parse_index`] checks
//! it, with the position of every record and of the few fields a resolver
//! reads of every package. Full records are parsed on demand, so resolving
//! over 23k packages costs the text plus about a hundred bytes a package
//! instead of thousands of small allocations per record.
//!
//! [`parse_index`]: crate::index::parse_index

use crate::index::{IndexEntry, IndexError, RawRecord, excerpt, parse_record};
use crate::record::{FieldError, PackageRecord, install_if_list, split_field};

/// A byte range of the text; `start == u32::MAX` means absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const NONE: Span = Span {
        start: u32::MAX,
        len: 0,
    };
    const EMPTY: Span = Span { start: 0, len: 0 };

    fn get(self, text: &str) -> Option<&str> {
        (self.start != u32::MAX)
            .then(|| &text[self.start as usize..(self.start + self.len) as usize])
    }
}

/// Where one record and its resolver fields are.
#[derive(Clone, Debug)]
struct Record {
    whole: Span,
    first_line: u32,
    last_line: u32,
    name: Span,
    version: Span,
    arch: Span,
    origin: Span,
    checksum: Span,
    provider_priority: Option<u64>,
    depends: Span,
    provides: Span,
    install_if: Span,
}

/// The fields of one record a resolver needs, borrowed from the text.
/// Dependency lists are space-separated atoms, each known to parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFields<'a> {
    /// `P:`
    pub name: &'a str,
    /// `V:`
    pub version: &'a str,
    /// `A:` (empty when absent).
    pub arch: &'a str,
    /// `o:`
    pub origin: Option<&'a str>,
    /// `C:`
    pub checksum: Option<&'a str>,
    /// `k:`
    pub provider_priority: Option<u64>,
    /// `D:` atoms.
    pub depends: &'a str,
    /// `p:` atoms.
    pub provides: &'a str,
    /// `i:` atoms (without apko's `[...]`).
    pub install_if: &'a str,
}

/// A checked APKINDEX text; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct IndexText {
    text: String,
    records: Vec<Record>,
}

/// Text longer than this cannot be addressed by the 32-bit spans (the
/// archive reader refuses indexes above 512 MiB anyway).
const MAX_TEXT: usize = u32::MAX as usize - 1;

impl IndexText {
    /// Checks `text` (the errors of [`crate::index::parse_index`], in the
    /// same order) and locates its records, in one pass over the lines.
    pub fn parse(text: String) -> Result<IndexText, IndexError> {
        if text.len() > MAX_TEXT {
            return Err(IndexError::BadLine {
                line: 0,
                text: "(index text larger than 4 GiB)".into(),
            });
        }
        let bytes = text.as_bytes();
        let mut records = Vec::with_capacity(text.len() / 600);
        let mut current: Option<Record> = None;
        let (mut pos, mut line_no) = (0usize, 0u32);
        while pos < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            line_no += 1;
            let line = text[pos..end].trim_end_matches('\r');
            if line.is_empty() {
                if let Some(r) = current.take() {
                    records.push(finish(r)?);
                }
            } else {
                let r = current.get_or_insert_with(|| Record::new(pos, line_no));
                r.whole.len = (end - r.whole.start as usize) as u32;
                r.last_line = line_no;
                scan_field(r, line, line_no, pos)?;
            }
            pos = end + 1;
        }
        if let Some(r) = current {
            records.push(finish(r)?);
        }
        records.shrink_to_fit();
        Ok(IndexText { text, records })
    }

    /// Number of packages.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the index lists no package.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The resolver fields of package `i`.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn fields(&self, i: usize) -> RecordFields<'_> {
        let r = &self.records[i];
        let t = self.text.as_str();
        RecordFields {
            name: r.name.get(t).unwrap_or_default(),
            version: r.version.get(t).unwrap_or_default(),
            arch: r.arch.get(t).unwrap_or_default(),
            origin: r.origin.get(t),
            checksum: r.checksum.get(t),
            provider_priority: r.provider_priority,
            depends: r.depends.get(t).unwrap_or_default(),
            provides: r.provides.get(t).unwrap_or_default(),
            install_if: r.install_if.get(t).unwrap_or_default(),
        }
    }

    /// Package `i` parsed in full, with its field layout. The record was
    /// checked when the text was read, so this cannot fail.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn entry(&self, i: usize) -> IndexEntry {
        let r = &self.records[i];
        let raw = RawRecord {
            text: r.whole.get(&self.text).unwrap_or_default(),
            offset: r.whole.start as usize,
            first_line: r.first_line as usize,
            last_line: r.last_line as usize,
        };
        parse_record(raw).unwrap_or_default()
    }

    /// The record of package `i` (see [`IndexText::entry`]).
    pub fn record(&self, i: usize) -> PackageRecord {
        self.entry(i).package
    }

    /// Every package parsed in full, in index order.
    pub fn entries(&self) -> Vec<IndexEntry> {
        (0..self.len()).map(|i| self.entry(i)).collect()
    }
}

impl Record {
    fn new(start: usize, line: u32) -> Record {
        Record {
            whole: Span {
                start: start as u32,
                len: 0,
            },
            first_line: line,
            last_line: line,
            name: Span::EMPTY,
            version: Span::EMPTY,
            arch: Span::EMPTY,
            origin: Span::NONE,
            checksum: Span::NONE,
            provider_priority: None,
            depends: Span::EMPTY,
            provides: Span::EMPTY,
            install_if: Span::EMPTY,
        }
    }
}

/// Checks one `X:value` line starting at byte `at` and notes where the
/// fields a resolver reads are.
fn scan_field(r: &mut Record, line: &str, line_no: u32, at: usize) -> Result<(), IndexError> {
    let Some((letter, value)) = split_field(line) else {
        return Err(IndexError::BadLine {
            line: line_no as usize,
            text: excerpt(line),
        });
    };
    PackageRecord::check_field(letter, value).map_err(|source| IndexError::Field {
        line: line_no as usize,
        source,
    })?;
    // `value` is `line[2..]`, and `line` starts at `at`.
    let span = |v: &str, skip: usize| Span {
        start: (at + 2 + skip) as u32,
        len: v.len() as u32,
    };
    match letter {
        b'P' => r.name = span(value, 0),
        b'V' => r.version = span(value, 0),
        b'A' => r.arch = span(value, 0),
        b'o' => r.origin = span(value, 0),
        b'C' => r.checksum = span(value, 0),
        b'k' => r.provider_priority = value.parse().ok(),
        b'D' => r.depends = span(value, 0),
        b'p' => r.provides = span(value, 0),
        b'i' => {
            let list = install_if_list(value);
            let skip = usize::from(list.len() != value.len());
            r.install_if = span(list, skip);
        }
        _ => {}
    }
    Ok(())
}

/// Ends a record: it must have a name and a version.
fn finish(r: Record) -> Result<Record, IndexError> {
    let missing = if r.name.len == 0 {
        'P'
    } else if r.version.len == 0 {
        'V'
    } else {
        return Ok(r);
    };
    Err(IndexError::Incomplete {
        line: r.last_line as usize,
        source: FieldError::Missing(missing),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::parse_index;

    /// Both readers accept and refuse the same texts, with the same error,
    /// and agree on every record.
    fn same(text: &str) {
        let full = parse_index(text);
        let lazy = IndexText::parse(text.to_string());
        match (full, lazy) {
            (Ok(full), Ok(lazy)) => {
                assert_eq!(lazy.entries(), full, "{text:?}");
                for (i, e) in full.iter().enumerate() {
                    let f = lazy.fields(i);
                    let p = &e.package;
                    assert_eq!(f.name, p.name);
                    assert_eq!(f.version, p.version);
                    assert_eq!(f.arch, p.arch);
                    assert_eq!(f.origin, p.origin.as_deref());
                    assert_eq!(f.checksum, p.checksum.as_deref());
                    assert_eq!(f.provider_priority, p.provider_priority);
                    let atoms = |list: &str| crate::Dependency::parse_list(list).unwrap();
                    assert_eq!(atoms(f.depends), p.depends);
                    assert_eq!(atoms(f.provides), p.provides);
                    assert_eq!(atoms(f.install_if), p.install_if);
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{text:?}"),
            (a, b) => panic!(
                "{text:?}: parse_index {a:?}, IndexText {:?}",
                b.map(|t| t.len())
            ),
        }
    }

    #[test]
    fn agrees_with_parse_index() {
        for text in [
            "",
            "\n\n",
            "C:Q1abc=\nP:a\nV:1-r0\nA:x86_64\nS:1\nI:2\nT:d\nU:u\nL:MIT\nD:b c>=1\nZ:odd\n\nP:b\nV:2\n\n",
            "P:a\nV:1\ni:[b c]\np:so:x=1 cmd:y\nk:10\no:src\n\n\n\nP:b\nV:2\nD:!a\nV:3",
            "P:a\r\nV:1\r\r\nT:x\ry\r",
            "P:6\nV:\r",
            "P:a\nV:1\nS:x\n",
            "P:a\nnonsense\n",
            "P:a\nV:1\nS:x\nnonsense\n",
            "V:1\n\n",
            "P:a\n\nV:1\n",
            "P:a\nV:1\nD:b>\n",
            "P:a\nV:1\ni:[b\n",
            "P:a\nV:1\nk:-1\n",
            "P:a\nV:1\nP:\n",
        ] {
            same(text);
        }
    }
}
