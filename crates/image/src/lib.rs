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
