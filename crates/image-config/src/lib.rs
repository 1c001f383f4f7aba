//! The apko image configuration (`apko.yaml`), read the way apko reads it.
//!
//! - [`Config::load`] reads a file and everything it `include:`s, merges
//!   them with apko's rules ([`Config::merge_base`]) and computes the config
//!   checksum apko puts in lock files. [`Config::parse_str`] parses a single
//!   document.
//! - Unknown keys and wrong types are errors that point at the spot:
//!   `apko.yaml:7:3: unknown field `pakages`, expected one of …`. So are
//!   invalid package atoms, architectures and enum values.
//! - [`Config::validate`] runs apko's preflight checks and fills in the
//!   defaults apko fills in; its errors name the offending item's position.
//! - [`Config::to_yaml`] prints `show-config` output and
//!   [`Config::to_apko_json`] the `/etc/apko.json` bytes.
//! - [`Config::entrypoint_argv`], [`Config::cmd_argv`],
//!   [`Config::environment_with_defaults`] and [`Config::effective_archs`]
//!   give the builder the OCI config values.
//!
//! YAML is decoded with serde-saphyr. Integers follow yaml.v3 (apko's
//! decoder): `0755`, `0o755` and `0x1ed` are all 493 (see
//! [`parse_octal_or_decimal`]), and `key:` with no value is the zero value.

mod arch;
mod argv;
mod de;
mod error;
mod json;
mod load;
mod merge;
mod scan;
mod show;
mod types;
mod validate;

pub use arch::{Arch, ArchError};
pub use argv::{
    DEFAULT_PATH, DEFAULT_SSL_CERT_FILE, SplitError, parse_octal_or_decimal, split_words,
};
pub use error::{ConfigError, Origin, SourcePos};
pub use load::{LoadOptions, LoadedConfig};
pub use scan::ConfigWarning;
pub use types::{
    Accounts, AdditionalCertificate, BaseImage, Certificates, Config, Contents, Entrypoint,
    EntrypointType, Group, LayerFormat, Layering, LayeringStrategy, PathMutation, PathType,
    RuntimeKeyringEntry, User,
};
pub use validate::{NAME_PATTERN, is_valid_file_name};
