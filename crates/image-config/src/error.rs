//! Errors and source positions.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a configuration file (the path given by the caller, or
/// the include path joined with the `include:` value).
pub use goyaml::SourcePos;

/// Where a configuration item (a user, a path mutation, …) was written.
///
/// Filled in when the item is parsed from a file and `None` for items built
/// in code. It never takes part in comparisons: two configs that differ only
/// in where their items came from are equal.
#[derive(Clone, Debug, Default)]
pub struct Origin(pub Option<SourcePos>);

impl Origin {
    /// The position, if known.
    pub fn pos(&self) -> Option<&SourcePos> {
        self.0.as_ref()
    }

    /// Sets the file of a position recorded during deserialization, where
    /// the file is not yet known.
    pub(crate) fn stamp(&mut self, file: &Arc<Path>) {
        if let Some(pos) = &mut self.0 {
            pos.file = Arc::clone(file);
        }
    }
}

impl PartialEq for Origin {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Origin {}

/// Everything that can go wrong loading, validating or rendering a config.
///
/// Every variant that concerns a file names it; parse and validation errors
/// carry `file:line:column` where the position is known, and display as
/// `<file>:<line>:<column>: <what was expected>`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configuration file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The configuration file, or the target of an `include:`, does not exist
    /// in the working directory or any include path.
    #[error("{}{}: not found (looked in: {})", prefix(at.as_ref()), path.display(), join_paths(searched))]
    NotFound {
        /// The `include:` value's position, for includes.
        at: Option<SourcePos>,
        /// The path as written.
        path: PathBuf,
        /// Every candidate that was tried.
        searched: Vec<PathBuf>,
    },
    /// The YAML is malformed, or does not fit the schema: unknown keys,
    /// wrong types, invalid values (package atoms, architectures, enums).
    #[error("{at}: {message}")]
    Parse {
        /// Where serde-saphyr located the problem (file only if unknown).
        at: SourcePos,
        /// What was expected.
        message: String,
    },
    /// A file includes itself, directly or through other files.
    #[error("include cycle: {}", join_paths(chain))]
    IncludeCycle {
        /// The files in include order, ending with the one included again.
        chain: Vec<PathBuf>,
    },
    /// The configuration parsed but is not valid (apko's `Validate` and the
    /// checks apko makes when loading).
    #[error("{}{message}", prefix(at.as_ref()))]
    Invalid {
        /// The offending item's position, if known.
        at: Option<SourcePos>,
        /// What is wrong.
        message: String,
    },
    /// The configuration could not be rendered (`show-config`, apko.json).
    #[error("cannot render configuration: {0}")]
    Render(String),
}

impl ConfigError {
    /// The file the error concerns, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigError::Read { path, .. } => Some(path),
            ConfigError::NotFound { at: Some(at), .. } => Some(&at.file),
            ConfigError::NotFound { path, .. } => Some(path),
            ConfigError::Parse { at, .. } => Some(&at.file),
            ConfigError::IncludeCycle { chain } => chain.first().map(PathBuf::as_path),
            ConfigError::Invalid { at, .. } => at.as_ref().map(|at| &*at.file),
            ConfigError::Render(_) => None,
        }
    }

    /// The position the error points at, if known.
    pub fn location(&self) -> Option<&SourcePos> {
        match self {
            ConfigError::NotFound { at, .. } | ConfigError::Invalid { at, .. } => at.as_ref(),
            ConfigError::Parse { at, .. } => Some(at),
            _ => None,
        }
    }

    pub(crate) fn invalid(at: Option<&SourcePos>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            at: at.cloned(),
            message: message.into(),
        }
    }
}

fn prefix(at: Option<&SourcePos>) -> String {
    match at {
        Some(at) => format!("{at}: "),
        None => String::new(),
    }
}

fn join_paths(paths: &[PathBuf]) -> String {
    let parts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    if parts.is_empty() {
        "nowhere".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_positions() {
        assert_eq!(SourcePos::new("a.yaml", 3, 7).to_string(), "a.yaml:3:7");
        assert_eq!(SourcePos::file_only("a.yaml").to_string(), "a.yaml");
        let e = ConfigError::invalid(Some(&SourcePos::new("x.yaml", 1, 2)), "bad");
        assert_eq!(e.to_string(), "x.yaml:1:2: bad");
        assert_eq!(e.path(), Some(Path::new("x.yaml")));
        assert_eq!(ConfigError::invalid(None, "bad").to_string(), "bad");
    }

    #[test]
    fn origins_never_differ() {
        let a = Origin(Some(SourcePos::new("a", 1, 1)));
        assert_eq!(a, Origin(None));
    }
}
