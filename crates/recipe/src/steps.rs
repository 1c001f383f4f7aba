//! Compiling steps: `uses:` expansion with input validation, substitution
//! of scripts, paths, conditions and variables, inheritance of working
//! directory and environment, and gathering of `needs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::compiled::CompiledStep;
use crate::error::{RecipeError, SourcePos};
use crate::library::{Definition, Library};
use crate::pipeline::{Needs, Step};
use crate::subst::{Mode, Scope, evaluate, pos_in, substitute};
use crate::text::{Str, StrMap};

/// How deep `uses:` and `pipeline:` may nest (a pipeline that uses itself
/// would otherwise never end).
const MAX_DEPTH: usize = 32;

/// Where a list of steps is compiled.
#[derive(Clone, Copy)]
pub(crate) struct StepContext<'a> {
    /// Variables, including the inputs of enclosing pipelines.
    pub scope: &'a Scope,
    /// The file the steps were written in.
    pub file: &'a Arc<Path>,
    /// Inherited working directory.
    pub workdir: &'a str,
    /// Inherited step variables.
    pub env: &'a BTreeMap<String, String>,
    /// Whether every enclosing step is enabled (only then are `needs`
    /// gathered).
    pub enabled: bool,
    /// Nesting depth.
    pub depth: usize,
}

/// Input names and values.
type Inputs = BTreeMap<String, String>;

/// Compiles steps and collects what they need.
pub(crate) struct StepCompiler<'l> {
    pub library: &'l Library,
    /// What the enabled built-in pipelines that apkforge runs on the host
    /// need; added to the environment when a repository has them.
    pub optional_needs: Vec<String>,
    /// Packages needed by enabled steps, in step order.
    pub needs: Vec<String>,
}

/// A field of the step being compiled and the file it was written in
/// (the recipe, or the definition `uses:` loaded).
type Sourced<'a, T> = (&'a T, &'a Arc<Path>, bool);

impl StepCompiler<'_> {
    pub(crate) fn steps(
        &mut self,
        steps: &[Step],
        ctx: StepContext<'_>,
    ) -> Result<Vec<CompiledStep>, RecipeError> {
        steps.iter().map(|s| self.step(s, ctx)).collect()
    }

    fn step(&mut self, step: &Step, ctx: StepContext<'_>) -> Result<CompiledStep, RecipeError> {
        let uses_at = pos_in(&step.uses, 0, ctx.file);
        if ctx.depth > MAX_DEPTH {
            return Err(RecipeError::invalid(
                uses_at,
                format!(
                    "{} nests deeper than {MAX_DEPTH} levels (does a pipeline use itself?)",
                    step.identity()
                ),
            ));
        }
        // A step that already has children keeps them: `uses` is then only
        // informative (melange does the same for compiled configs). The
        // download pipelines apkforge runs on the host are expanded again,
        // so that a compiled recipe (`.melange.yaml`) still fetches its
        // sources on the host rather than in a sandbox without network.
        let redo = crate::HOST_PIPELINES.contains(&step.uses.value.as_str());
        let def = if !step.uses.is_empty() && (step.pipeline.is_empty() || redo) {
            Some(self.library.get(&step.uses, &uses_at)?)
        } else {
            None
        };
        let def_step = def.as_ref().and_then(|d| d.step.as_ref());
        let def_file = def.as_ref().map(|d| &d.file);

        // Fields come from the definition where it sets them.
        let pick = |own: &'_ Str, theirs: Option<&'_ Str>| -> (Str, bool) {
            match theirs {
                Some(t) if !t.is_empty() => (t.clone(), true),
                _ => (own.clone(), false),
            }
        };
        let (runs, runs_def) = pick(&step.runs, def_step.map(|d| &d.runs));
        let (workdir, wd_def) = pick(
            &step.working_directory,
            def_step.map(|d| &d.working_directory),
        );
        let (cond, if_def) = pick(&step.if_, def_step.map(|d| &d.if_));
        let (label, _) = pick(&step.label, def_step.map(|d| &d.label));
        let env: Sourced<'_, StrMap> = match (def_step, def_file) {
            (Some(d), Some(f)) if !d.environment.is_empty() => (&d.environment, f, true),
            _ => (&step.environment, ctx.file, false),
        };
        let needs: Option<Sourced<'_, Needs>> = match (def_step, def_file) {
            (Some(d), Some(f)) if d.needs.is_some() => d.needs.as_ref().map(|n| (n, f, true)),
            _ => step.needs.as_ref().map(|n| (n, ctx.file, false)),
        };
        let children: Sourced<'_, Vec<Step>> = match (def_step, def_file) {
            (Some(d), Some(f)) if !d.pipeline.is_empty() => (&d.pipeline, f, true),
            _ => (&step.pipeline, ctx.file, false),
        };
        let assertions = def_step
            .and_then(|d| d.assertions.clone())
            .or_else(|| step.assertions.clone());

        let wrap = |from_def: bool, e: RecipeError| {
            if from_def {
                RecipeError::InPipeline {
                    at: uses_at.clone(),
                    uses: step.uses.value.clone(),
                    source: Box::new(e),
                }
            } else {
                e
            }
        };
        let file_of = |from_def: bool| -> &Arc<Path> {
            match (from_def, def_file) {
                (true, Some(f)) => f,
                _ => ctx.file,
            }
        };

        let mut with_out = BTreeMap::new();
        let mut inputs = BTreeMap::new();
        let owned_scope;
        let scope: &Scope = match &def {
            Some(def) => {
                let (scope, given, all) = self.inputs(step, def, ctx, &uses_at)?;
                with_out = given;
                inputs = all;
                owned_scope = scope;
                &owned_scope
            }
            None => ctx.scope,
        };
        let host = def.as_ref().is_some_and(|d| {
            d.file.starts_with(crate::library::BUILTIN_DIR)
                && crate::HOST_PIPELINES.contains(&step.uses.value.as_str())
        });

        let sub = |s: &Str, from_def: bool, mode: Mode| {
            substitute(s, scope, mode, file_of(from_def)).map_err(|e| wrap(from_def, e))
        };

        let name = substitute(&step.name, scope, Mode::Keep, ctx.file)?;
        let if_ = sub(&cond, if_def, Mode::Condition)?;
        let enabled = if if_.is_empty() {
            true
        } else {
            evaluate(&if_).map_err(|message| {
                wrap(
                    if_def,
                    RecipeError::Condition {
                        at: pos_in(&cond, 0, file_of(if_def)),
                        expr: if_.clone(),
                        message,
                    },
                )
            })?
        };
        let runs = sub(&runs, runs_def, Mode::Strict)?;
        let working_directory = if workdir.is_empty() {
            ctx.workdir.to_string()
        } else {
            sub(&workdir, wd_def, Mode::Strict)?
        };
        let mut environment = ctx.env.clone();
        for (k, v) in env.0 {
            environment.insert(k.clone(), sub(v, env.2, Mode::Strict)?);
        }
        let gather = ctx.enabled && enabled;
        if let Some((needs, _, from_def)) = needs {
            for pkg in &needs.packages {
                let pkg = sub(pkg, from_def, Mode::Strict)?;
                if gather && host {
                    self.optional_needs.push(pkg);
                } else if gather {
                    self.needs.push(pkg);
                }
            }
        }

        let child_ctx = StepContext {
            scope,
            file: children.1,
            workdir: &working_directory,
            env: &environment,
            enabled: gather,
            depth: ctx.depth + 1,
        };
        let pipeline = self
            .steps(children.0, child_ctx)
            .map_err(|e| wrap(children.2, e))?;

        Ok(CompiledStep {
            name,
            uses: step.uses.value.clone(),
            with: with_out,
            if_,
            enabled,
            runs,
            working_directory,
            environment,
            label: label.value,
            assertions,
            pipeline,
            inputs,
            host,
            at: Some(if uses_at.line != 0 {
                uses_at
            } else {
                let (line, column) = step.anchor();
                SourcePos {
                    file: ctx.file.clone(),
                    line,
                    column,
                }
            })
            .filter(|p| p.line != 0),
        })
    }

    /// Checks `with:` against the definition's inputs, applies defaults,
    /// substitutes the values, and returns the scope of the pipeline's steps
    /// (the enclosing scope plus `inputs.*`) and the inputs given with
    /// non-default values.
    fn inputs(
        &self,
        step: &Step,
        def: &Definition,
        ctx: StepContext<'_>,
        uses_at: &SourcePos,
    ) -> Result<(Scope, Inputs, Inputs), RecipeError> {
        let empty = BTreeMap::new();
        let declared = def.step.as_ref().map_or(&empty, |d| &d.inputs);
        let with = step.with.as_ref();
        for (key, value) in with.into_iter().flatten() {
            if !declared.contains_key(key) {
                return Err(RecipeError::UnknownInput {
                    at: pos_in(value, 0, ctx.file),
                    pipeline: step.uses.value.clone(),
                    input: key.clone(),
                    known: declared.keys().cloned().collect(),
                });
            }
        }
        let wrap = |e: RecipeError| RecipeError::InPipeline {
            at: uses_at.clone(),
            uses: step.uses.value.clone(),
            source: Box::new(e),
        };
        // Given values are the caller's text: `${{inputs.x}}` there is the
        // caller's input. A value that is absent or empty (also after
        // substitution, as melange substitutes vars before checking) takes
        // the default.
        let mut scope = ctx.scope.clone();
        let mut resolved: Vec<(&str, &Str, bool, String)> = Vec::new();
        let mut defaults: Vec<(&str, &Str)> = Vec::new();
        for (key, input) in declared {
            let value = match with.and_then(|w| w.get(key)) {
                Some(v) if !v.is_empty() => {
                    Some((v, substitute(v, ctx.scope, Mode::Strict, ctx.file)?))
                }
                _ => None,
            };
            match value {
                Some((text, value)) if !value.is_empty() => {
                    scope.set(format!("inputs.{key}"), value.as_str());
                    resolved.push((key, text, false, value));
                }
                _ => defaults.push((key, &input.default)),
            }
        }
        // Defaults that mention no input first, then the others.
        let mut with_defaults = scope.clone();
        for round in [false, true] {
            for &(key, text) in &defaults {
                if text.contains("${{inputs.") != round {
                    continue;
                }
                let value =
                    substitute(text, &with_defaults, Mode::Strict, &def.file).map_err(wrap)?;
                if !round {
                    with_defaults.set(format!("inputs.{key}"), value.as_str());
                }
                resolved.push((key, text, true, value));
            }
        }
        let mut given = BTreeMap::new();
        let mut all = BTreeMap::new();
        for (key, text, is_default, value) in resolved {
            let file = if is_default { &def.file } else { ctx.file };
            let input = &declared[key];
            if input.required && value.is_empty() {
                return Err(RecipeError::MissingInput {
                    at: uses_at.clone(),
                    pipeline: step.uses.value.clone(),
                    input: key.to_string(),
                });
            }
            if let Some(message) = check_input(key, &value) {
                let err = RecipeError::InvalidInput {
                    at: pos_in(text, 0, file),
                    pipeline: step.uses.value.clone(),
                    input: key.to_string(),
                    message,
                };
                return Err(if is_default { wrap(err) } else { err });
            }
            if !is_default && value != input.default.value {
                given.insert(key.to_string(), value.clone());
            }
            all.insert(key.to_string(), value.clone());
            scope.set(format!("inputs.{key}"), value);
        }
        Ok((scope, given, all))
    }
}

/// melange's checks of checksum and commit inputs (`validateWith`).
fn check_input(key: &str, value: &str) -> Option<String> {
    let want = match key {
        "expected-sha256" => 64,
        "expected-sha512" => 128,
        "expected-commit" => 40,
        _ => return None,
    };
    if value.is_empty() {
        return None;
    }
    if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(format!("`{value}` is not hexadecimal"));
    }
    if value.len() != want {
        return Some(format!(
            "`{value}` has {} hex digits, expected {want}",
            value.len()
        ));
    }
    None
}
