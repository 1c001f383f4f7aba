//! Reading and writing the apk package format exactly as apk-tools, apko and
//! melange do: versions, dependency atoms, `.PKGINFO`, `APKINDEX`, the
//! installed database, `.apk` packages and signed indexes.
//!
//! Everything here works on `Read`/`Write` streams; nothing touches the
//! network and nothing prints.
#![deny(missing_docs)]

pub mod adb;
pub mod dependency;
pub mod index;
pub mod index_archive;
pub mod index_text;
pub mod installed;
pub mod names;
pub mod package_read;
pub mod package_write;
pub mod pkginfo;
pub mod record;
pub mod signing;
pub mod stream;
pub mod tar_write;
pub mod version;

pub use dependency::{Constraint, ConstraintRef, Dependency, DependencyRef};
pub use index::IndexEntry;
pub use pkginfo::PkgInfo;
pub use record::PackageRecord;
