//! apko-compatible image builds: from a [`BuildRequest`] (what an
//! `apko.yaml` plus flags describe) to OCI images, one per architecture.
#![deny(missing_docs)]

pub mod base;
pub mod build;
pub mod certs;
pub mod jks;
pub mod layer_cache;
pub mod layering;
pub mod lock;
pub mod lock_v3;
pub mod repo_check;
pub mod request;

pub use apk_repo::time;
pub use build::{ArchImage, BuildError, BuildOutput, Quiet, Reporter, build};
pub use request::{BuildOptions, BuildRequest};

/// A loaded index's packages as the resolver takes them: an APKINDEX text
/// is handed over as it is (records parsed only for what resolution
/// reaches), so memory stays at the text plus about a hundred bytes a
/// package.
pub fn solver_packages(packages: apk_repo::IndexPackages) -> apk_solve::Packages {
    match packages {
        apk_repo::IndexPackages::Text(text) => apk_solve::Packages::Index(text),
        apk_repo::IndexPackages::Entries(entries) => {
            apk_solve::Packages::Records(entries.into_iter().map(|e| e.package).collect())
        }
    }
}
