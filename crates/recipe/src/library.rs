//! Finding the pipeline a `uses:` names: user pipeline directories first,
//! then the pipelines built into the binary. Definitions are parsed once
//! per [`crate::Compiler`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{RecipeError, SourcePos};
use crate::load::parse_pipeline;
use crate::pipeline::Step;

macro_rules! builtins {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../pipelines/", $name, ".yaml")))),*]
    };
}

/// The directory built-in pipelines are named in (`<builtin>/NAME.yaml`).
pub(crate) const BUILTIN_DIR: &str = "<builtin>";

/// The built-in pipelines: name and YAML text.
static BUILTINS: &[(&str, &str)] = builtins![
    "R/build",
    "autoconf/configure",
    "autoconf/make",
    "autoconf/make-install",
    "cargo/build",
    "cmake/build",
    "cmake/configure",
    "cmake/install",
    "fetch",
    "git-am",
    "git-checkout",
    "go/build",
    "go/build/v2",
    "go/bump",
    "go/covdata",
    "go/install",
    "llvm/covreport",
    "make",
    "maven/configure-mirror",
    "maven/pombump",
    "meson/compile",
    "meson/configure",
    "meson/install",
    "npm/install",
    "patch",
    "pecl/install",
    "pecl/phpize",
    "perl/cleanup",
    "perl/make",
    "python/build",
    "python/build-wheel",
    "python/import",
    "python/install",
    "python/test",
    "ruby/build",
    "ruby/clean",
    "ruby/install",
    "split/alldocs",
    "split/bin",
    "split/debug",
    "split/dev",
    "split/infodir",
    "split/lib",
    "split/locales",
    "split/manpages",
    "split/static",
    "strip",
    "xcover/ensure",
    "xcover/profile",
    "xcover/status",
    "xcover/stop",
    "xcover/wait",
];

/// The YAML of a built-in pipeline, by its `uses:` name.
pub fn builtin_pipeline(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, y)| *y)
}

/// The names of the built-in pipelines, sorted.
pub fn builtin_pipeline_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(n, _)| *n)
}

/// A parsed definition and the file it came from.
#[derive(Debug)]
pub(crate) struct Definition {
    /// `None` for an empty file.
    pub step: Option<Step>,
    /// As named in errors.
    pub file: Arc<Path>,
}

/// Pipeline lookup with a cache of parsed definitions.
#[derive(Debug, Default)]
pub(crate) struct Library {
    dirs: Vec<PathBuf>,
    cache: Mutex<HashMap<String, Arc<Definition>>>,
}

impl Library {
    pub(crate) fn new(dirs: Vec<PathBuf>) -> Self {
        Library {
            dirs,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The definition `uses` names; `at` is where the name is written.
    pub(crate) fn get(&self, uses: &str, at: &SourcePos) -> Result<Arc<Definition>, RecipeError> {
        if let Some(def) = self.cache.lock().map_err(|_| poisoned())?.get(uses) {
            return Ok(Arc::clone(def));
        }
        if uses.starts_with('/') || uses.split('/').any(|c| c == "..") {
            return Err(RecipeError::invalid(
                at.clone(),
                format!("invalid pipeline name `{uses}`: no absolute paths or `..`"),
            ));
        }
        let mut searched = Vec::new();
        let mut found = None;
        for dir in &self.dirs {
            let path = dir.join(format!("{uses}.yaml"));
            match std::fs::read(&path) {
                Ok(bytes) => {
                    found = Some((bytes, path));
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => searched.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => searched.push(path),
                Err(source) => return Err(RecipeError::Read { path, source }),
            }
        }
        let (bytes, path) = match found {
            Some((bytes, path)) => (bytes, path),
            None => match builtin_pipeline(uses) {
                Some(text) => (
                    text.as_bytes().to_vec(),
                    PathBuf::from(format!("{BUILTIN_DIR}/{uses}.yaml")),
                ),
                None => {
                    searched.push(PathBuf::from(format!("<builtin>/{uses}.yaml")));
                    return Err(RecipeError::PipelineNotFound {
                        at: at.clone(),
                        uses: uses.to_string(),
                        searched,
                    });
                }
            },
        };
        let file: Arc<Path> = Arc::from(path.as_path());
        let step = parse_pipeline(&bytes, &file).map_err(|e| RecipeError::InPipeline {
            at: at.clone(),
            uses: uses.to_string(),
            source: Box::new(e),
        })?;
        let def = Arc::new(Definition { step, file });
        self.cache
            .lock()
            .map_err(|_| poisoned())?
            .insert(uses.to_string(), Arc::clone(&def));
        Ok(def)
    }
}

fn poisoned() -> RecipeError {
    RecipeError::Options("pipeline cache poisoned by a panic".to_string())
}
