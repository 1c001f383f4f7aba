//! The image root filesystem, in memory: packages installed from cached data
//! tars (contents stay on disk, referenced by offset), the files apko
//! generates (apk database, accounts, paths, certificates, busybox links),
//! and the deterministic layer tar written from it.
#![deny(missing_docs)]

pub mod accounts;
pub mod apkdb;
pub mod busybox;
pub mod extract;
pub mod install;
pub mod layer;
pub mod ldso;
pub mod owners;
pub mod paths;
pub mod pgzip;
pub mod tree;

pub use install::{InstallError, Installer, PackageSource};
pub use tree::{Content, Node, NodeKind, Tree, TreeError};

/// SHA-1 of a byte slice.
pub fn sha1_of(bytes: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).into()
}
