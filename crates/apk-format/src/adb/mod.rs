//! apk-tools 3 formats: the ADB container (schemas, nested objects and
//! arrays, blob and integer encodings, signature and data blocks), v3
//! packages and `Packages.adb` indexes, read as streams and written
//! byte-for-byte as apk-tools 3 writes them.

pub mod compress;
pub mod container;
pub mod data_tar;
pub mod index;
pub mod package;
pub mod package_write;
pub mod pkginfo;
pub mod schema;
pub mod sign;
pub mod value;
pub mod write;

pub use container::Compression;
pub use value::{Adb, Obj, Val};

/// Largest ADB block read into memory (a whole distribution's index is a
/// few tens of MiB).
pub const ADB_LIMIT: u64 = 512 << 20;

/// Largest signature block accepted.
pub const SIG_LIMIT: u64 = 64 << 10;

/// Error reading an ADB file.
#[derive(Debug, thiserror::Error)]
pub enum AdbError {
    /// Not an ADB file at all.
    #[error("not an apk v3 (ADB) file")]
    NotAdb,
    /// The stream ended early.
    #[error("truncated ADB file")]
    Truncated,
    /// I/O or decompression failure.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// The file is of another schema (e.g. an index where a package was expected).
    #[error("ADB schema is {} ({found:#010x}), expected {} ({expected:#010x})", schema::name(*found), schema::name(*expected))]
    Schema {
        /// Expected schema ID.
        expected: u32,
        /// Schema ID of the file.
        found: u32,
    },
    /// A structural error (bad block order, reference out of range, ...).
    #[error("malformed ADB: {0}")]
    Malformed(String),
    /// An index with more packages than [`IndexLimits::max_entries`](crate::index_archive::IndexLimits::max_entries).
    #[error("Packages.adb has {count} packages, more than {limit}, the limit for indexes")]
    TooManyPackages {
        /// Packages in the index.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// A block over the size limit.
    #[error("{what} of {len} bytes is larger than the allowed {limit} bytes")]
    TooLarge {
        /// Which block.
        what: &'static str,
        /// Its length.
        len: u64,
        /// The limit.
        limit: u64,
    },
}
