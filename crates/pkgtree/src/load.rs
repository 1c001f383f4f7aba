//! Finding the recipes of a tree and compiling them, in parallel.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use recipe::{CompileOptions, CompiledRecipe, Compiler};

use crate::TreeError;

/// A recipe of the tree, compiled for one architecture.
#[derive(Debug)]
pub struct LoadedRecipe {
    /// The recipe file, as it was named.
    pub path: PathBuf,
    /// The fully evaluated recipe.
    pub compiled: CompiledRecipe,
}

/// A recipe that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeProblem {
    /// The recipe file.
    pub path: PathBuf,
    /// What is wrong, starting with `file:line:column` when known.
    pub message: String,
}

/// The result of loading a tree.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Recipes that compiled and are built for the architecture, in file
    /// order.
    pub recipes: Vec<LoadedRecipe>,
    /// Recipes that failed to parse or compile.
    pub errors: Vec<RecipeProblem>,
    /// Recipes whose `target-architecture` excludes the architecture.
    pub skipped: Vec<PathBuf>,
}

/// The recipe files named by `inputs`: each directory contributes its
/// `*.yaml` files (not hidden ones, not recursively), each file itself.
/// Sorted by path within a directory, duplicates dropped.
pub fn recipe_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, TreeError> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| TreeError::Input {
            path: input.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(input).map_err(|source| TreeError::Input {
                path: input.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| TreeError::Input {
                    path: input.clone(),
                    source,
                })?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || !name.ends_with(".yaml") {
                    continue;
                }
                let path = entry.path();
                if path.is_file() {
                    files.push(path);
                }
            }
            files.sort();
            for f in files {
                if seen.insert(f.clone()) {
                    out.push(f);
                }
            }
        } else if seen.insert(input.clone()) {
            out.push(input.clone());
        }
    }
    if out.is_empty() {
        return Err(TreeError::Empty(inputs.to_vec()));
    }
    Ok(out)
}

/// An error with its causes, on one line.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// Whether a recipe's `target-architecture` includes `arch` (an empty
/// list or `all` means every architecture, as in melange).
pub fn builds_for(compiled: &CompiledRecipe, arch: &str) -> bool {
    let list = &compiled.package.target_architecture;
    list.is_empty()
        || list.iter().any(|a| {
            a.as_str() == "all" || recipe::BuildArch::parse(a).is_some_and(|b| b.apk_name() == arch)
        })
}

/// Compiles every file with `options`, on all cores.
pub fn load(files: &[PathBuf], options: &CompileOptions) -> Loaded {
    let compiler = Compiler::new(options.clone());
    let arch = options.arch.apk_name();
    let results: Mutex<Vec<(usize, Result<CompiledRecipe, String>)>> =
        Mutex::new(Vec::with_capacity(files.len()));
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let r = compiler.compile_file(file).map_err(|e| chain(&e));
                    local.push((i, r));
                }
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(local);
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut loaded = Loaded::default();
    for (i, r) in results {
        let path = files[i].clone();
        match r {
            Ok(compiled) if !builds_for(&compiled, arch) => loaded.skipped.push(path),
            Ok(compiled) => loaded.recipes.push(LoadedRecipe { path, compiled }),
            Err(message) => loaded.errors.push(RecipeProblem { path, message }),
        }
    }
    loaded
}
