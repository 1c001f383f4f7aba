//! melange recipes: parsing, validation and compilation.
//!
//! The front half of `apkforge package build`: a recipe (melange's YAML,
//! unchanged) is parsed strictly ([`Recipe::parse_str`], [`Recipe::load`]),
//! then compiled for one architecture ([`compile()`], [`Compiler`]) into a
//! [`CompiledRecipe`] in which every `${{…}}` is substituted, every
//! `range:` subpackage expanded and every `uses:` replaced by the steps of
//! the pipeline it names, with its inputs checked and defaulted.
//!
//! # Parsing
//!
//! Every key melange accepts is modelled ([`types`], [`env`](mod@env), [`update`],
//! [`pipeline`]); an unknown key is a [`RecipeError::Parse`] at
//! `file:line:column`. Scalars keep their source text ([`Str`]):
//! `version: 1.10` stays `1.10`, `strip-prefix: n` stays `n`. Only the first
//! YAML document is read, as yaml.v3 does.
//!
//! # Substitution
//!
//! References are `${{ name }}` (whitespace allowed inside the braces).
//! Known names, by context:
//!
//! | names | where |
//! |---|---|
//! | `package.name`, `.version`, `.epoch`, `.full-version`, `.description`, `.srcdir` | everywhere |
//! | `vars.*` (recipe vars, then `--vars` overrides, build options, then var-transforms in order) | everywhere |
//! | `targets.outdir`, `targets.destdir`, `targets.contextdir`, `targets.package.<name>` | everywhere |
//! | `targets.subpkgdir`, `subpkg.name` | subpackages and their tests |
//! | `context.name` (the package being built or tested) | everywhere |
//! | `build.arch` (apk), `build.goarch` (apko/OCI name), `host.triplet.gnu`, `host.triplet.rust`, `cross.triplet.{gnu,rust}.{glibc,musl}` | everywhere |
//! | `range.key`, `range.value` | ranged subpackages |
//! | `options.<name>.enabled` | everywhere |
//! | `inputs.*` | inside a pipeline a `uses:` expands (and its nested steps) |
//!
//! An unknown name is [`RecipeError::UnknownVariable`], with the line of the
//! reference. Like melange, metadata (descriptions, URLs, licenses,
//! scriptlets, annotations) keeps a `${{` that does not start a well-formed
//! reference as written (wolfi's openblas has `${{range.key == "64" && …}}`
//! in descriptions, which melange leaves alone); in scripts, inputs, paths,
//! package lists and conditions it is an error.
//!
//! `var-transforms` use the `regex` crate, whose syntax and replacement
//! expansion (`$1`, `${1}`, `$name`, `${name}`, `$$`) match Go's RE2 for the
//! patterns recipes use.
//!
//! `if:` conditions are evaluated as melange's `pkg/cond` does: quoted
//! strings compared with `==`/`!=`, combined left to right by `&&`/`||`
//! with equal precedence, parentheses. Variables melange substitutes when
//! compiling (`build.arch`, `inputs.*`, `targets.*`, …) are inserted quoted,
//! so `${{build.arch}} == 'x86_64'` works; those it substitutes when parsing
//! (`package.*`, `vars.*`, `range.*`) are inserted bare and must be quoted
//! in the recipe (`"${{range.key}}" == ""`).
//!
//! # Pipelines
//!
//! `uses: NAME` loads `<dir>/NAME.yaml` from each
//! [`CompileOptions::pipeline_dirs`] entry in order, then the built-in
//! pipeline of that name ([`builtin_pipeline_names`]; the YAML files are in
//! this crate's `pipelines/` and embedded in the binary). The pipeline's
//! `inputs` are checked against `with:` (an undeclared key is
//! [`RecipeError::UnknownInput`], a missing required one
//! [`RecipeError::MissingInput`], a malformed checksum or commit
//! [`RecipeError::InvalidInput`]); a value that is absent or empty takes the
//! default; values may refer to the enclosing scope and to sibling inputs.
//! The pipeline's `needs.packages` (for enabled steps only) are appended to
//! the build environment. Nested steps inherit the working directory and
//! environment variables of their parent and the inputs of enclosing
//! pipelines. Errors inside a pipeline file are wrapped in
//! [`RecipeError::InPipeline`] naming the `uses:` that loaded it.
//!
//! Pipeline definition files are parsed with the step schema plus a
//! top-level or per-step `description` (which wolfi's pipelines use and
//! melange ignores); other unknown keys are errors.
//!
//! # Differences from melange (known gaps)
//!
//! - `runs:` scripts are kept as written: melange re-prints them through a
//!   shell parser, which drops comments and normalizes formatting.
//! - Vars may refer to `package.*` and to other vars (melange fails or
//!   depends on map order); everything is substituted in one pass, so
//!   metadata also sees compile-time names (`targets.*`, `build.arch`).
//! - Unknown names in metadata are errors (melange leaves them as written).
//! - Subpackages whose `if:` is false contribute no `needs` (melange
//!   gathers them anyway); the main environment's package list is
//!   deduplicated, first occurrence kept.
//! - A `description:` key on a recipe step is rejected (as melange does),
//!   though accepted in pipeline files.
//! - The built-in pipelines are this project's own scripts with melange's
//!   input names, required flags and defaults; their shell differs from
//!   melange's (see each file's `description`). Their `needs` are what the
//!   scripts run: `autoconf/configure` needs nothing (melange adds
//!   autoconf, automake and libtool, which `./configure` does not use; its
//!   `autoreconf -vfi` fallback, for a `configure.ac` without `configure`,
//!   then needs them in the environment and says so);
//!   `maven/configure-mirror` writes its settings to `$HOME/.m2` (and
//!   `/root/.m2` when writable), since steps run as the build user;
//!   `fetch` needs wget, `strip` binutils and scanelf, `patch` GNU patch,
//!   `git-checkout` git, the `split/*` pipelines busybox. `go/build` does
//!   not run gobump for `deps` (it uses `go mod edit -require`).
//! - yaml.v3 accepts `yes`/`no`/`on`/`off` for boolean fields; here only
//!   `true`/`false` (all that real recipes use).
//! - `package.version` is checked when a recipe is built, not when it is
//!   loaded or compiled, as melange does ([`check_buildable`]);
//!   `timeout` is kept as text.
//! - Package metadata that becomes `.PKGINFO` values (descriptions, URLs,
//!   commits, licenses) must be one line when building ([`check_buildable`]);
//!   melange writes line breaks through, which injects lines.

#![warn(missing_docs)]

pub mod arch;
pub mod buildable;
pub mod bump;
pub mod compile;
pub mod compiled;
pub mod copyright;
mod dump;
pub mod env;
pub mod error;
mod library;
mod load;
pub mod pipeline;
mod query;
mod steps;
mod subst;
pub mod template;
pub mod text;
pub mod types;
pub mod update;
mod validate;
mod vars;

/// Built-in pipelines that only download and that apkforge runs itself,
/// on the host, so that build steps need no network. Their `needs` go to
/// [`CompiledRecipe::optional_packages`].
pub const HOST_PIPELINES: [&str; 2] = ["fetch", "git-checkout"];

pub use arch::BuildArch;
pub use buildable::check_buildable;
pub use compile::{CompileOptions, Compiler, compile};
pub use compiled::{CompiledRecipe, CompiledStep, CompiledSubpackage, CompiledTest};
pub use env::Environment;
pub use error::{RecipeError, SourcePos};
pub use library::{builtin_pipeline, builtin_pipeline_names};
pub use pipeline::Step;
pub use text::{Str, StrMap};
pub use types::{Package, Recipe, Subpackage};
