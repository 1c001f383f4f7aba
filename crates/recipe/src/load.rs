//! Reading recipes and pipeline definitions: YAML decoding with positions,
//! and melange's structural checks.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{RecipeError, SourcePos};
use crate::pipeline::Step;
use crate::types::Recipe;

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
    goyaml::first_document(bytes).map_err(|e| RecipeError::Parse {
        at: SourcePos::in_file(file, e.line, e.column),
        message: e.message,
    })
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
                        at: SourcePos::in_file(file, line, column),
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
