//! A compiled recipe written back as a recipe: what melange stores in each
//! package as `.melange.yaml` (its `Configuration`, evaluated, with the
//! build environment locked to the versions installed).

use std::collections::BTreeMap;

use crate::compiled::{CompiledRecipe, CompiledStep, CompiledSubpackage, CompiledTest};
use crate::error::RecipeError;
use crate::pipeline::Step;
use crate::text::Str;
use crate::types::{Recipe, Subpackage, Test};

impl CompiledRecipe {
    /// The recipe as melange records it in `.melange.yaml`: every
    /// substitution made, ranged subpackages expanded (no `data:`, no
    /// `range:`), vars final (no `var-transforms:`), `uses:` steps with
    /// their inputs and expanded children. `locked` replaces the build
    /// environment's package list (melange writes `name=version` of every
    /// installed package); `None` keeps the list as compiled.
    ///
    /// The result parses with [`Recipe::parse_str`].
    pub fn to_recipe(&self, locked: Option<&[String]>) -> Recipe {
        let mut environment = self.environment.clone();
        if let Some(locked) = locked {
            environment.contents.packages = locked.iter().map(Str::new).collect();
        }
        Recipe {
            package: self.package.clone(),
            environment,
            capabilities: self.capabilities.clone(),
            pipeline: steps(&self.pipeline),
            subpackages: self.subpackages.iter().map(subpackage).collect(),
            data: Vec::new(),
            update: self.update.clone(),
            vars: self
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), Str::new(v)))
                .collect(),
            var_transforms: Vec::new(),
            options: self.options.clone(),
            test: self.test.as_ref().map(test),
        }
    }

    /// [`CompiledRecipe::to_recipe`] as YAML (two-space indent, as melange
    /// writes it).
    pub fn to_melange_yaml(&self, locked: Option<&[String]>) -> Result<String, RecipeError> {
        let options = serde_saphyr::ser_options! {
            indent_step: 2,
            compact_list_indent: false,
            // Long one-line values (URLs, paths) stay plain scalars.
            folded_wrap_chars: usize::MAX,
        };
        serde_saphyr::to_string_with_options(&self.to_recipe(locked), options)
            .map_err(|e| RecipeError::Dump(e.to_string()))
    }
}

fn steps(list: &[CompiledStep]) -> Vec<Step> {
    list.iter().map(step).collect()
}

fn step(s: &CompiledStep) -> Step {
    Step {
        if_: Str::new(&s.if_),
        name: Str::new(&s.name),
        uses: Str::new(&s.uses),
        with: (!s.with.is_empty()).then(|| {
            s.with
                .iter()
                .map(|(k, v)| (k.clone(), Str::new(v)))
                .collect::<BTreeMap<_, _>>()
        }),
        runs: Str::new(&s.runs),
        pipeline: steps(&s.pipeline),
        label: Str::new(&s.label),
        assertions: s.assertions.clone(),
        working_directory: Str::new(&s.working_directory),
        environment: s
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), Str::new(v)))
            .collect(),
        ..Step::default()
    }
}

fn test(t: &CompiledTest) -> Test {
    Test {
        environment: t.environment.clone(),
        pipeline: steps(&t.pipeline),
    }
}

fn subpackage(s: &CompiledSubpackage) -> Subpackage {
    Subpackage {
        if_: s.if_.clone(),
        range: Str::default(),
        name: s.name.clone(),
        pipeline: steps(&s.pipeline),
        dependencies: s.dependencies.clone(),
        options: s.options.clone(),
        scriptlets: s.scriptlets.clone(),
        description: s.description.clone(),
        annotations: s.annotations.clone(),
        url: s.url.clone(),
        commit: s.commit.clone(),
        checks: s.checks.clone(),
        test: s.test.as_ref().map(test),
        setcap: s.setcap.clone(),
    }
}
