//! What is inside an image and why — answers none of apko, melange or
//! apk-tools give:
//!
//! - [`why`]: every dependency chain from a config's packages to one
//!   package (`alpine-base -> openrc -> ifupdown-any -> ifupdown-ng`).
//! - [`size`]: per package its installed bytes, file count and share of the
//!   image; totals and the compressed size.
//! - [`diff`]: packages added, removed, upgraded, downgraded and their size
//!   changes between two builds; optionally the files.
//!
//! Both `size` and `diff` work on an [`Inventory`]: the packages of the
//! image's installed database and its files after all layers are applied,
//! read from layer tar streams (an OCI layout or docker archive through
//! [`oci::read`], or a fresh build), or only the packages of a lock file.
//! No I/O beyond reading those streams; nothing is printed.
#![deny(missing_docs)]

pub mod diff;
pub mod inventory;
pub mod size;
pub mod units;
pub mod why;

pub use inventory::{FileInfo, Inventory, InventoryError, PackageInfo};
