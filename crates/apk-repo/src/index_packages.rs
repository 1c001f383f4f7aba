//! The packages of a loaded index, and the checks their names pass.

use apk_format::index::IndexEntry;
use apk_format::index_text::IndexText;
use apk_format::record::PackageRecord;

use crate::{Location, RepoError};

/// The packages of a loaded index, in index order.
#[derive(Clone, Debug)]
pub enum IndexPackages {
    /// An APKINDEX kept as its checked text: the text plus about a hundred
    /// bytes a package, records parsed only when asked for.
    Text(IndexText),
    /// Parsed entries (apk-tools 3 indexes).
    Entries(Vec<IndexEntry>),
}

impl IndexPackages {
    /// Number of packages.
    pub fn len(&self) -> usize {
        match self {
            IndexPackages::Text(t) => t.len(),
            IndexPackages::Entries(e) => e.len(),
        }
    }

    /// True when the index lists no package.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record of package `i` (parsed now for a text).
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn record(&self, i: usize) -> PackageRecord {
        match self {
            IndexPackages::Text(t) => t.record(i),
            IndexPackages::Entries(e) => e[i].package.clone(),
        }
    }

    /// Every record, parsed, in index order.
    pub fn records(&self) -> Vec<PackageRecord> {
        (0..self.len()).map(|i| self.record(i)).collect()
    }

    /// Refuses the index when an entry carries a name, version or
    /// architecture that is not safe to use in file names, URLs or the
    /// image's database.
    pub(crate) fn check(&self, location: &Location) -> Result<(), RepoError> {
        match self {
            IndexPackages::Text(t) => (0..t.len()).try_for_each(|i| {
                let f = t.fields(i);
                check_fields(f.name, f.version, f.arch, location)
            }),
            IndexPackages::Entries(e) => e.iter().try_for_each(|e| {
                let p = &e.package;
                check_fields(&p.name, &p.version, &p.arch, location)
            }),
        }
    }
}

pub(crate) fn check_fields(
    name: &str,
    version: &str,
    arch: &str,
    location: &Location,
) -> Result<(), RepoError> {
    use apk_format::names::{check_arch, check_name, check_version};
    let checked = check_name(name)
        .and_then(|()| check_version(version))
        .and_then(|()| match arch {
            "" => Ok(()),
            arch => check_arch(arch),
        });
    checked.map_err(|source| RepoError::InvalidEntry {
        location: location.clone(),
        package: format!("{name}-{version}").escape_debug().to_string(),
        source,
    })
}
