//! Errors and source positions.

use std::io;
use std::path::PathBuf;

/// A position in a recipe or pipeline file (built-in pipelines are named
/// `<builtin>/NAME.yaml`).
pub use goyaml::SourcePos;

/// Everything that can go wrong loading or compiling a recipe.
///
/// Every variant that concerns a place in a file carries its
/// [`SourcePos`] and displays as `file:line:column: what`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecipeError {
    /// A compiled recipe could not be written as YAML.
    #[error("writing the evaluated recipe: {0}")]
    Dump(String),
    /// A recipe or pipeline file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Malformed YAML, or YAML that does not fit the schema: unknown keys,
    /// wrong types.
    #[error("{at}: {message}")]
    Parse {
        /// Where the problem is.
        at: SourcePos,
        /// What was expected.
        message: String,
    },
    /// A `${{name}}` that names no variable in its context.
    #[error("{at}: unknown variable `{name}`")]
    UnknownVariable {
        /// The line of the reference (the column is the value's start).
        at: SourcePos,
        /// The variable, without the braces (`vars.foo`).
        name: String,
    },
    /// A `${{` that does not start a well-formed reference.
    #[error("{at}: malformed variable reference: {message}")]
    BadReference {
        /// Where the text is.
        at: SourcePos,
        /// What is wrong.
        message: String,
    },
    /// `uses:` names a pipeline found in no pipeline directory and not
    /// built in.
    #[error(
        "{at}: pipeline `{uses}` not found (looked in: {})",
        join_paths(searched)
    )]
    PipelineNotFound {
        /// The `uses:` value's position.
        at: SourcePos,
        /// The name.
        uses: String,
        /// The files that were tried, ending with the built-in name.
        searched: Vec<PathBuf>,
    },
    /// A `with:` key that the pipeline does not declare among its inputs.
    #[error(
        "{at}: pipeline `{pipeline}` has no input `{input}` (its inputs: {})",
        join(known)
    )]
    UnknownInput {
        /// The value's position.
        at: SourcePos,
        /// The pipeline.
        pipeline: String,
        /// The input as written.
        input: String,
        /// The inputs the pipeline declares.
        known: Vec<String>,
    },
    /// A required input that was not given (or given empty) and has no
    /// default.
    #[error("{at}: pipeline `{pipeline}` requires input `{input}`")]
    MissingInput {
        /// The `uses:` value's position.
        at: SourcePos,
        /// The pipeline.
        pipeline: String,
        /// The input.
        input: String,
    },
    /// An input value that melange checks and rejects (checksums, commits).
    #[error("{at}: input `{input}` of pipeline `{pipeline}`: {message}")]
    InvalidInput {
        /// The value's position.
        at: SourcePos,
        /// The pipeline.
        pipeline: String,
        /// The input.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// An error inside a pipeline definition, reported with the step that
    /// uses it.
    #[error("{at}: in pipeline `{uses}`")]
    InPipeline {
        /// The `uses:` value's position.
        at: SourcePos,
        /// The pipeline.
        uses: String,
        /// The error inside the definition.
        #[source]
        source: Box<RecipeError>,
    },
    /// An `if:` expression that cannot be evaluated.
    #[error("{at}: cannot evaluate condition `{expr}`: {message}")]
    Condition {
        /// The expression's position.
        at: SourcePos,
        /// The expression after substitution.
        expr: String,
        /// What is wrong.
        message: String,
    },
    /// The recipe parsed but is not valid (melange's validation: names,
    /// priorities, `uses` with `runs`, ranges, var-transform patterns …).
    #[error("{at}: {message}")]
    Invalid {
        /// The offending item's position (file only if unknown).
        at: SourcePos,
        /// What is wrong.
        message: String,
    },
    /// The options given to the compiler are unusable.
    #[error("{0}")]
    Options(String),
}

impl RecipeError {
    /// The position the error points at, if any. For errors inside a
    /// pipeline definition, the innermost position.
    pub fn location(&self) -> Option<&SourcePos> {
        match self {
            RecipeError::Read { .. } | RecipeError::Options(_) | RecipeError::Dump(_) => None,
            RecipeError::InPipeline { source, at, .. } => source.location().or(Some(at)),
            RecipeError::Parse { at, .. }
            | RecipeError::UnknownVariable { at, .. }
            | RecipeError::BadReference { at, .. }
            | RecipeError::PipelineNotFound { at, .. }
            | RecipeError::UnknownInput { at, .. }
            | RecipeError::MissingInput { at, .. }
            | RecipeError::InvalidInput { at, .. }
            | RecipeError::Condition { at, .. }
            | RecipeError::Invalid { at, .. } => Some(at),
        }
    }

    /// The innermost error: for [`RecipeError::InPipeline`], the error in
    /// the definition; otherwise `self`.
    pub fn innermost(&self) -> &RecipeError {
        match self {
            RecipeError::InPipeline { source, .. } => source.innermost(),
            other => other,
        }
    }

    pub(crate) fn invalid(at: SourcePos, message: impl Into<String>) -> Self {
        RecipeError::Invalid {
            at,
            message: message.into(),
        }
    }
}

fn join(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn join_paths(paths: &[PathBuf]) -> String {
    let parts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    join(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn display_positions() {
        let file: Arc<Path> = Arc::from(Path::new("a.yaml"));
        assert_eq!(SourcePos::new(&file, 3, 7).to_string(), "a.yaml:3:7");
        assert_eq!(SourcePos::file_only(&file).to_string(), "a.yaml");
        let e = RecipeError::UnknownVariable {
            at: SourcePos::new(&file, 4, 2),
            name: "vars.x".into(),
        };
        assert_eq!(e.to_string(), "a.yaml:4:2: unknown variable `vars.x`");
        let wrapped = RecipeError::InPipeline {
            at: SourcePos::new(&file, 9, 11),
            uses: "p".into(),
            source: Box::new(e),
        };
        assert_eq!(wrapped.location().unwrap().line, 4);
        assert!(matches!(
            wrapped.innermost(),
            RecipeError::UnknownVariable { .. }
        ));
    }
}
