//! Reading recipes and pipeline definitions: YAML decoding with positions,
//! and melange's structural checks.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{RecipeError, SourcePos};
use crate::pipeline::Step;
use crate::types::Recipe;

pub(crate) fn parse_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // yaml.v3 reads `0755` as octal (Go's base-0 integer parsing).
        legacy_octal_numbers: true,
        with_snippet: false,
    }
}

/// Decodes the first document of `bytes` (yaml.v3's `Decoder.Decode` reads
/// only the first of several).
fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    file: &Arc<Path>,
    what: &str,
) -> Result<T, RecipeError> {
    decode_optional(bytes, file)?.ok_or_else(|| RecipeError::Parse {
        at: SourcePos::file_only(file),
        message: format!("the {what} is empty"),
    })
}

/// Like [`decode`], with `None` for a document without content.
fn decode_optional<T: DeserializeOwned>(
    bytes: &[u8],
    file: &Arc<Path>,
) -> Result<Option<T>, RecipeError> {
    Ok(
        match serde_saphyr::from_slice_with_options::<Option<T>>(bytes, parse_options()) {
            Ok(value) => value,
            Err(serde_saphyr::Error::MultipleDocuments { .. }) => {
                serde_saphyr::from_slice_multiple_with_options::<Option<T>>(bytes, parse_options())
                    .map_err(|e| parse_error(&e, file))?
                    .into_iter()
                    .next()
                    .flatten()
            }
            Err(e) => return Err(parse_error(&e, file)),
        },
    )
}

/// Turns a serde-saphyr error into `file:line:column: message`.
fn parse_error(err: &serde_saphyr::Error, file: &Arc<Path>) -> RecipeError {
    use serde_saphyr::MessageFormatter as _;
    let (line, column) = err
        .location()
        .map_or((0, 0), |loc| (loc.line(), loc.column()));
    let mut inner = err;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let message = match inner {
        serde_saphyr::Error::InvalidScalar { ty, .. } => match *ty {
            "u32" | "u64" => "expected a whole number from 0 up".into(),
            "i64" => "expected a whole number".into(),
            "bool" | "boolean" => "expected true or false".into(),
            other => format!("expected a value of type {other}").into(),
        },
        serde_saphyr::Error::Unexpected { expected, .. } => match *expected {
            "sequence start" => "expected a list".into(),
            "mapping start" => "expected a mapping".into(),
            "string scalar" | "scalar" => "expected a string".into(),
            _ => serde_saphyr::UserMessageFormatter.format_message(inner),
        },
        _ => serde_saphyr::UserMessageFormatter.format_message(inner),
    };
    // Keep the message on one line.
    let message: String = message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    RecipeError::Parse {
        at: SourcePos::new(file, line, column),
        message,
    }
}

impl Recipe {
    /// Parses a recipe without checking more than its shape: YAML syntax,
    /// known keys and value types. `file` names the source in errors.
    pub fn parse_str(yaml: &str, file: impl AsRef<Path>) -> Result<Recipe, RecipeError> {
        let file: Arc<Path> = Arc::from(file.as_ref());
        Self::parse_bytes(yaml.as_bytes(), &file)
    }

    pub(crate) fn parse_bytes(bytes: &[u8], file: &Arc<Path>) -> Result<Recipe, RecipeError> {
        let recipe: Recipe = decode(bytes, file, "recipe")?;
        recipe.check_steps(file)?;
        Ok(recipe)
    }

    /// Reads and parses a recipe, then validates it as melange's
    /// `ParseConfiguration` does (names after `range:` expansion, priorities,
    /// steps, capabilities, CPE). Pipelines are not expanded: see
    /// [`crate::compile()`].
    pub fn load(path: impl AsRef<Path>) -> Result<Recipe, RecipeError> {
        let file: Arc<Path> = Arc::from(path.as_ref());
        let bytes = std::fs::read(&file).map_err(|source| RecipeError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let recipe = Self::parse_bytes(&bytes, &file)?;
        crate::validate::validate(&recipe, &file)?;
        Ok(recipe)
    }

    /// Every step list of the recipe, with what it belongs to.
    pub(crate) fn step_lists(&self) -> Vec<&[Step]> {
        let mut lists: Vec<&[Step]> = vec![&self.pipeline];
        if let Some(test) = &self.test {
            lists.push(&test.pipeline);
        }
        for sp in &self.subpackages {
            lists.push(&sp.pipeline);
            if let Some(test) = &sp.test {
                lists.push(&test.pipeline);
            }
        }
        lists
    }

    /// Keys that the step type accepts only in pipeline definitions.
    fn check_steps(&self, file: &Arc<Path>) -> Result<(), RecipeError> {
        fn walk(steps: &[Step], file: &Arc<Path>) -> Result<(), RecipeError> {
            for step in steps {
                if let Some(d) = &step.description {
                    let (line, column) = if d.line != 0 {
                        (d.line, d.column)
                    } else {
                        step.anchor()
                    };
                    return Err(RecipeError::Parse {
                        at: SourcePos::new(file, line, column),
                        message: "unknown field `description` (allowed only in pipeline \
                                  definitions)"
                            .to_string(),
                    });
                }
                walk(&step.pipeline, file)?;
            }
            Ok(())
        }
        for list in self.step_lists() {
            walk(list, file)?;
        }
        Ok(())
    }
}

/// Parses a pipeline definition file (the target of `uses:`). An empty
/// file defines nothing (melange then leaves the step as written).
pub(crate) fn parse_pipeline(bytes: &[u8], file: &Arc<Path>) -> Result<Option<Step>, RecipeError> {
    decode_optional(bytes, file)
}
