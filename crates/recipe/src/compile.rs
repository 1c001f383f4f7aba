//! The compiler: from a parsed recipe to a [`CompiledRecipe`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::arch::BuildArch;
use crate::compiled::{CompiledRecipe, CompiledSubpackage, CompiledTest};
use crate::env::Environment;
use crate::error::RecipeError;
use crate::library::Library;
use crate::pipeline::Step;
use crate::steps::{StepCompiler, StepContext};
use crate::subst::{Mode, Scope, evaluate, pos_in, substitute};
use crate::text::{Str, StrMap};
use crate::types::{Copyright, Dependencies, Package, Recipe, Scriptlets, Test};
use crate::update::Update;
use crate::validate::{expand_subpackages, validate_expanded};
use crate::vars::package_scope;
use image_config::{Group, User};

/// The build workspace inside the guest.
pub const WORKSPACE: &str = "/home/build";
/// Where packages are assembled inside the guest (`${{targets.outdir}}`).
pub const OUT_DIR: &str = "/home/build/melange-out";

/// Variables melange sets in every build environment unless the recipe
/// does.
pub const DEFAULT_ENVIRONMENT: [(&str, &str); 7] = [
    ("HOME", "/home/build"),
    ("GOPATH", "/home/build/.cache/go"),
    ("GOMODCACHE", "/var/cache/melange/gomodcache"),
    ("UV_CACHE_DIR", "/var/cache/melange/uv"),
    ("PIP_CACHE_DIR", "/var/cache/melange/pip"),
    ("COMPOSER_CACHE_DIR", "/var/cache/melange/composer"),
    ("npm_config_cache", "/var/cache/melange/npm"),
];

/// How to compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Target architecture (`${{build.arch}}` and the triplets).
    pub arch: BuildArch,
    /// Directories searched, in order, for `uses:` pipelines before the
    /// built-in ones (`--pipeline-dir`).
    pub pipeline_dirs: Vec<PathBuf>,
    /// Vars replacing or adding to the recipe's (`--vars-file`).
    pub vars: BTreeMap<String, String>,
    /// Build options to enable (`--build-option`).
    pub build_options: Vec<String>,
    /// Commit used for packages that set none (`--git-commit`).
    pub commit: Option<String>,
    /// libc flavor of `${{host.triplet.*}}`: `gnu` (melange's default).
    pub libc: String,
    /// Build environment variables from `--env-file`; the recipe's own
    /// `environment.environment` entries win.
    pub environment: BTreeMap<String, String>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            arch: BuildArch::host().unwrap_or(BuildArch::X86_64),
            pipeline_dirs: Vec::new(),
            vars: BTreeMap::new(),
            build_options: Vec::new(),
            commit: None,
            libc: "gnu".to_string(),
            environment: BTreeMap::new(),
        }
    }
}

/// Compiles recipes with one set of options, parsing each pipeline
/// definition once. It can be shared between threads.
#[derive(Debug)]
pub struct Compiler {
    options: CompileOptions,
    library: Library,
}

/// Reads, validates and compiles the recipe at `path`.
pub fn compile(
    path: impl AsRef<Path>,
    options: &CompileOptions,
) -> Result<CompiledRecipe, RecipeError> {
    Compiler::new(options.clone()).compile_file(path)
}

impl Compiler {
    /// A compiler with `options`.
    pub fn new(options: CompileOptions) -> Self {
        let library = Library::new(options.pipeline_dirs.clone());
        Compiler { options, library }
    }

    /// The options.
    pub fn options(&self) -> &CompileOptions {
        &self.options
    }

    /// Reads, validates and compiles the recipe at `path`.
    pub fn compile_file(&self, path: impl AsRef<Path>) -> Result<CompiledRecipe, RecipeError> {
        let file: Arc<Path> = Arc::from(path.as_ref());
        let bytes = std::fs::read(&file).map_err(|source| RecipeError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let recipe = Recipe::parse_bytes(&bytes, &file)?;
        self.compile_recipe(&recipe, &file)
    }

    /// Parses, validates and compiles YAML text; `file` names it in errors.
    pub fn compile_str(
        &self,
        yaml: &str,
        file: impl AsRef<Path>,
    ) -> Result<CompiledRecipe, RecipeError> {
        let file: Arc<Path> = Arc::from(file.as_ref());
        let recipe = Recipe::parse_bytes(yaml.as_bytes(), &file)?;
        self.compile_recipe(&recipe, &file)
    }

    /// Validates and compiles a parsed recipe; `file` names it in errors.
    pub fn compile_recipe(
        &self,
        recipe: &Recipe,
        file: &Arc<Path>,
    ) -> Result<CompiledRecipe, RecipeError> {
        let opts = &self.options;
        let mut overrides = opts.vars.clone();
        let mut enabled_options = Vec::new();
        for name in &opts.build_options {
            let Some(option) = recipe.options.get(name) else {
                return Err(RecipeError::Options(format!(
                    "build option `{name}` is not defined by {} (it defines: {})",
                    file.display(),
                    recipe
                        .options
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            for (k, v) in &option.vars {
                overrides.insert(k.clone(), v.value.clone());
            }
            enabled_options.push(option);
        }

        let parsed = package_scope(recipe, &overrides, file)?;
        let subpackages = expand_subpackages(recipe, &parsed, file)?;
        validate_expanded(recipe, &parsed, &subpackages, file)?;

        let pkg_name = recipe.package.name.value.clone();
        let mut scope = parsed.clone();
        let arch = opts.arch;
        let dest = format!("{OUT_DIR}/{pkg_name}");
        scope.set("package.srcdir", WORKSPACE);
        scope.set("targets.outdir", OUT_DIR);
        scope.set("targets.destdir", dest.as_str());
        scope.set("targets.contextdir", dest.as_str());
        scope.set("context.name", pkg_name.as_str());
        scope.set("host.triplet.gnu", arch.gnu_triplet(&opts.libc));
        scope.set("host.triplet.rust", arch.rust_triplet(&opts.libc));
        scope.set("cross.triplet.gnu.glibc", arch.gnu_triplet("gnu"));
        scope.set("cross.triplet.gnu.musl", arch.gnu_triplet("musl"));
        scope.set("cross.triplet.rust.glibc", arch.rust_triplet("gnu"));
        scope.set("cross.triplet.rust.musl", arch.rust_triplet("musl"));
        scope.set("build.arch", arch.apk_name());
        scope.set("build.goarch", arch.go_name());
        scope.set(format!("targets.package.{pkg_name}"), dest.as_str());
        for exp in &subpackages {
            scope.set(
                format!("targets.package.{}", exp.name),
                format!("{OUT_DIR}/{}", exp.name),
            );
        }
        for name in recipe.options.keys() {
            let on = opts.build_options.contains(name);
            scope.set(format!("options.{name}.enabled"), on.to_string());
        }

        let mut steps = StepCompiler {
            library: &self.library,
            needs: Vec::new(),
            optional_needs: Vec::new(),
        };
        let no_env = BTreeMap::new();
        let pipeline = steps.steps(
            &recipe.pipeline,
            StepContext {
                scope: &scope,
                file,
                workdir: "",
                env: &no_env,
                enabled: true,
                depth: 0,
            },
        )?;

        let mut compiled_subpackages = Vec::new();
        for exp in &subpackages {
            let sp = exp.sp;
            let name = exp.name.value.clone();
            let mut sp_scope = scope.clone();
            if let (Some(k), Some(v)) = (exp.scope.get("range.key"), exp.scope.get("range.value")) {
                sp_scope.set("range.key", k);
                sp_scope.set("range.value", v);
            }
            let dir = format!("{OUT_DIR}/{name}");
            sp_scope.set("subpkg.name", name.as_str());
            sp_scope.set("context.name", name.as_str());
            sp_scope.set("targets.subpkgdir", dir.as_str());
            sp_scope.set("targets.contextdir", dir.as_str());

            let if_ = sp
                .if_
                .with_value(substitute(&sp.if_, &sp_scope, Mode::Condition, file)?);
            let enabled = if if_.is_empty() {
                true
            } else {
                evaluate(&if_).map_err(|message| RecipeError::Condition {
                    at: pos_in(&sp.if_, 0, file),
                    expr: if_.value.clone(),
                    message,
                })?
            };
            let pipeline = steps.steps(
                &sp.pipeline,
                StepContext {
                    scope: &sp_scope,
                    file,
                    workdir: "",
                    env: &no_env,
                    enabled,
                    depth: 0,
                },
            )?;
            let test = match &sp.test {
                Some(test) => Some(self.compile_test(
                    test,
                    &sp_scope,
                    file,
                    &name,
                    !test.pipeline.is_empty(),
                )?),
                None => None,
            };
            let s = |x: &Str| lenient(x, &sp_scope, file);
            let commit = if sp.commit.is_empty() {
                package_commit(&recipe.package, opts)
            } else {
                s(&sp.commit)?
            };
            compiled_subpackages.push(CompiledSubpackage {
                name: exp.name.clone(),
                if_,
                enabled,
                range: exp.scope.get("range.key").map(|k| {
                    (
                        sp.range.value.clone(),
                        k.to_string(),
                        exp.scope.get("range.value").unwrap_or("").to_string(),
                    )
                }),
                description: s(&sp.description)?,
                url: s(&sp.url)?,
                commit,
                dependencies: dependencies(&sp.dependencies, &sp_scope, file)?,
                options: sp.options.clone(),
                scriptlets: scriptlets(sp.scriptlets.as_ref(), &sp_scope, file)?,
                annotations: map(&sp.annotations, &sp_scope, file, Mode::Lenient)?,
                checks: sp.checks.clone(),
                setcap: sp.setcap.clone(),
                pipeline,
                test,
            });
        }

        let mut environment = environment(&recipe.environment, &scope, file)?;
        for option in &enabled_options {
            let lo = &option.environment.contents.packages;
            for add in &lo.add {
                environment
                    .contents
                    .packages
                    .push(strict(add, &scope, file)?);
            }
            for remove in &lo.remove {
                environment
                    .contents
                    .packages
                    .retain(|p| p.value != remove.value);
            }
        }
        let mut seen: HashSet<String> = HashSet::new();
        environment
            .contents
            .packages
            .retain(|p| seen.insert(p.value.clone()));
        for need in steps.needs {
            if seen.insert(need.clone()) {
                environment.contents.packages.push(Str::new(need));
            }
        }
        let optional_packages: Vec<String> = steps
            .optional_needs
            .into_iter()
            .filter(|p| seen.insert(p.clone()))
            .collect();
        for (k, v) in &opts.environment {
            environment
                .environment
                .entry(k.clone())
                .or_insert_with(|| Str::new(v.clone()));
        }
        for (k, v) in DEFAULT_ENVIRONMENT {
            let entry = environment.environment.entry(k.to_string()).or_default();
            if entry.is_empty() {
                *entry = Str::new(v);
            }
        }
        add_build_account(&mut environment);

        let test = match &recipe.test {
            Some(test) => Some(self.compile_test(test, &scope, file, &pkg_name, true)?),
            None => None,
        };

        let mut vars = BTreeMap::new();
        for (k, v) in parsed.iter() {
            if let Some(name) = k.strip_prefix("vars.") {
                vars.insert(name.to_string(), v.clone());
            }
        }

        Ok(CompiledRecipe {
            arch,
            package: package(&recipe.package, &scope, file, opts)?,
            environment,
            capabilities: recipe.capabilities.clone(),
            pipeline,
            subpackages: compiled_subpackages,
            vars,
            update: update(&recipe.update, &scope, file)?,
            options: recipe.options.clone(),
            test,
            optional_packages,
        })
    }

    fn compile_test(
        &self,
        test: &Test,
        scope: &Scope,
        file: &Arc<Path>,
        package: &str,
        add_account: bool,
    ) -> Result<CompiledTest, RecipeError> {
        let mut steps = StepCompiler {
            library: &self.library,
            needs: Vec::new(),
            optional_needs: Vec::new(),
        };
        let no_env = BTreeMap::new();
        let pipeline = steps.steps(
            &test.pipeline as &[Step],
            StepContext {
                scope,
                file,
                workdir: "",
                env: &no_env,
                enabled: true,
                depth: 0,
            },
        )?;
        let mut environment = environment(&test.environment, scope, file)?;
        // Sorted and deduplicated as melange does; entries the recipe
        // lists keep their position (a stable sort puts them first among
        // equal names).
        let packages = &mut environment.contents.packages;
        packages.push(Str::new(package));
        packages.extend(steps.needs.into_iter().map(Str::new));
        packages.extend(steps.optional_needs.into_iter().map(Str::new));
        packages.sort_by(|a, b| a.value.cmp(&b.value));
        packages.dedup_by(|later, first| later.value == first.value);
        if add_account {
            add_build_account(&mut environment);
        }
        Ok(CompiledTest {
            environment,
            pipeline,
        })
    }
}

/// melange adds group `build` (gid 1000) and user `build` (uid 1000) to
/// every environment that defines neither.
fn add_build_account(env: &mut Environment) {
    if !env.accounts.groups.iter().any(|g| g.groupname == "build") {
        env.accounts.groups.push(Group {
            groupname: "build".into(),
            gid: 1000,
            members: vec!["build".into()],
            ..Default::default()
        });
    }
    if !env.accounts.users.iter().any(|u| u.username == "build") {
        env.accounts.users.push(User {
            username: "build".into(),
            uid: 1000,
            gid: Some(1000),
            ..Default::default()
        });
    }
}

fn package_commit(pkg: &Package, opts: &CompileOptions) -> Str {
    if pkg.commit.is_empty() {
        Str::new(opts.commit.clone().unwrap_or_default())
    } else {
        pkg.commit.clone()
    }
}

fn strict(s: &Str, scope: &Scope, file: &Arc<Path>) -> Result<Str, RecipeError> {
    Ok(s.with_value(substitute(s, scope, Mode::Strict, file)?))
}

fn lenient(s: &Str, scope: &Scope, file: &Arc<Path>) -> Result<Str, RecipeError> {
    Ok(s.with_value(substitute(s, scope, Mode::Lenient, file)?))
}

fn list(
    items: &[Str],
    scope: &Scope,
    file: &Arc<Path>,
    mode: Mode,
) -> Result<Vec<Str>, RecipeError> {
    items
        .iter()
        .map(|s| Ok(s.with_value(substitute(s, scope, mode, file)?)))
        .collect()
}

fn map(items: &StrMap, scope: &Scope, file: &Arc<Path>, mode: Mode) -> Result<StrMap, RecipeError> {
    items
        .iter()
        .map(|(k, s)| Ok((k.clone(), s.with_value(substitute(s, scope, mode, file)?))))
        .collect()
}

fn dependencies(
    d: &Dependencies,
    scope: &Scope,
    file: &Arc<Path>,
) -> Result<Dependencies, RecipeError> {
    Ok(Dependencies {
        runtime: list(&d.runtime, scope, file, Mode::Strict)?,
        provides: list(&d.provides, scope, file, Mode::Strict)?,
        replaces: list(&d.replaces, scope, file, Mode::Strict)?,
        provider_priority: strict(&d.provider_priority, scope, file)?,
        replaces_priority: strict(&d.replaces_priority, scope, file)?,
    })
}

fn scriptlets(
    s: Option<&Scriptlets>,
    scope: &Scope,
    file: &Arc<Path>,
) -> Result<Option<Scriptlets>, RecipeError> {
    let Some(s) = s else { return Ok(None) };
    let l = |x: &Str| lenient(x, scope, file);
    Ok(Some(Scriptlets {
        trigger: crate::types::Trigger {
            script: l(&s.trigger.script)?,
            paths: list(&s.trigger.paths, scope, file, Mode::Lenient)?,
        },
        pre_install: l(&s.pre_install)?,
        post_install: l(&s.post_install)?,
        pre_deinstall: l(&s.pre_deinstall)?,
        post_deinstall: l(&s.post_deinstall)?,
        pre_upgrade: l(&s.pre_upgrade)?,
        post_upgrade: l(&s.post_upgrade)?,
    }))
}

fn package(
    p: &Package,
    scope: &Scope,
    file: &Arc<Path>,
    opts: &CompileOptions,
) -> Result<Package, RecipeError> {
    let l = |x: &Str| lenient(x, scope, file);
    let mut out = p.clone();
    out.description = p
        .description
        .with_value(scope.get("package.description").unwrap_or("").to_string());
    out.annotations = map(&p.annotations, scope, file, Mode::Lenient)?;
    out.url = l(&p.url)?;
    out.commit = package_commit(p, opts);
    out.target_architecture = list(&p.target_architecture, scope, file, Mode::Lenient)?;
    out.copyright = p
        .copyright
        .iter()
        .map(|c| {
            Ok(Copyright {
                paths: list(&c.paths, scope, file, Mode::Lenient)?,
                attestation: c.attestation.clone(),
                license: l(&c.license)?,
                license_path: l(&c.license_path)?,
                detection_override: c.detection_override.clone(),
            })
        })
        .collect::<Result<_, RecipeError>>()?;
    out.dependencies = dependencies(&p.dependencies, scope, file)?;
    out.scriptlets = scriptlets(p.scriptlets.as_ref(), scope, file)?;
    Ok(out)
}

fn environment(
    e: &Environment,
    scope: &Scope,
    file: &Arc<Path>,
) -> Result<Environment, RecipeError> {
    let mut out = e.clone();
    let c = &mut out.contents;
    c.packages = list(&e.contents.packages, scope, file, Mode::Strict)?;
    c.repositories = list(&e.contents.repositories, scope, file, Mode::Strict)?;
    c.build_repositories = list(&e.contents.build_repositories, scope, file, Mode::Strict)?;
    c.runtime_repositories = list(&e.contents.runtime_repositories, scope, file, Mode::Strict)?;
    c.keyring = list(&e.contents.keyring, scope, file, Mode::Strict)?;
    out.environment = map(&e.environment, scope, file, Mode::Strict)?;
    out.entrypoint.command = lenient(&e.entrypoint.command, scope, file)?;
    out.entrypoint.shell_fragment = lenient(&e.entrypoint.shell_fragment, scope, file)?;
    out.entrypoint.services = map(&e.entrypoint.services, scope, file, Mode::Lenient)?;
    out.cmd = lenient(&e.cmd, scope, file)?;
    out.stop_signal = lenient(&e.stop_signal, scope, file)?;
    out.work_dir = lenient(&e.work_dir, scope, file)?;
    out.vcs_url = lenient(&e.vcs_url, scope, file)?;
    out.annotations = map(&e.annotations, scope, file, Mode::Lenient)?;
    out.volumes = list(&e.volumes, scope, file, Mode::Lenient)?;
    Ok(out)
}

/// The fields melange substitutes in `update:`.
fn update(u: &Update, scope: &Scope, file: &Arc<Path>) -> Result<Update, RecipeError> {
    let l = |x: &Str| lenient(x, scope, file);
    let mut out = u.clone();
    if let Some(rm) = &mut out.release_monitor {
        rm.version_filter_contains = l(&rm.version_filter_contains)?;
        rm.version_filter_prefix = l(&rm.version_filter_prefix)?;
    }
    if let Some(gh) = &mut out.github {
        gh.identifier = l(&gh.identifier)?;
        gh.tag_filter = l(&gh.tag_filter)?;
        gh.tag_filter_prefix = l(&gh.tag_filter_prefix)?;
        gh.tag_filter_contains = l(&gh.tag_filter_contains)?;
    }
    if let Some(git) = &mut out.git {
        git.tag_filter_prefix = l(&git.tag_filter_prefix)?;
        git.tag_filter_contains = l(&git.tag_filter_contains)?;
    }
    Ok(out)
}
