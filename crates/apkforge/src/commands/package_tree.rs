//! What `package graph` and `package build-tree` share: loading a tree of
//! recipes and the context its recipes are checked and built in.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use apk_format::signing::SigningKey;
use pkgtree::build::BuildContext;
use pkgtree::digest::Settings;
use pkgtree::{Graph, Order, RecipeProblem};
use recipe::{BuildArch, CompileOptions};
use sha2::{Digest, Sha256};

use crate::cli::TreeArgs;
use crate::commands::apk_pack::source_date_epoch;

/// A tree compiled for one architecture.
pub struct LoadedTree {
    pub graph: Graph,
    pub order: Order,
    /// Recipes that cannot be used (parse errors, bad dependency atoms).
    pub problems: Vec<RecipeProblem>,
    /// Recipes not built for this architecture.
    pub skipped: Vec<PathBuf>,
}

pub fn parse_arch(flag: Option<&str>) -> Result<BuildArch> {
    match flag {
        Some(a) => BuildArch::parse(a).with_context(|| format!("unknown architecture `{a}`")),
        None => BuildArch::host().context("cannot tell the host architecture; pass --arch"),
    }
}

/// Finds, compiles and connects the recipes of the tree.
pub fn load_tree(args: &TreeArgs, arch: BuildArch) -> Result<LoadedTree> {
    let files = pkgtree::recipe_files(&args.recipes)?;
    let opts = CompileOptions {
        arch,
        pipeline_dirs: args.pipeline_dirs.clone(),
        ..Default::default()
    };
    let loaded = pkgtree::load(&files, &opts);
    let (graph, mut problems) = Graph::build(arch.apk_name(), loaded.recipes)?;
    problems.extend(loaded.errors);
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    let order = Order::new(&graph);
    Ok(LoadedTree {
        graph,
        order,
        problems,
        skipped: loaded.skipped,
    })
}

/// The error for recipes that cannot be used.
pub fn problems_error(problems: &[RecipeProblem]) -> anyhow::Error {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("  {}", p.message))
        .collect();
    anyhow::anyhow!(
        "{} of the tree's recipes cannot be used (--keep-going builds the others):\n{}",
        problems.len(),
        lines.join("\n")
    )
}

/// The signing key, if any.
pub fn signing_key(args: &TreeArgs) -> Result<Option<SigningKey>> {
    args.signing_key
        .as_deref()
        .map(crate::keyring::load_signing_key)
        .transpose()
}

/// An absolute path for `p` (which need not exist).
fn absolute(p: &Path) -> Result<PathBuf> {
    if p.exists() {
        return p
            .canonicalize()
            .with_context(|| format!("resolving `{}`", p.display()));
    }
    Ok(std::env::current_dir()
        .context("reading the current directory")?
        .join(p))
}

/// The build context: the tree's repository first among the extra
/// repositories, trusted through the signing key's public key. With
/// `prepare` (build-tree) the repository gets an empty index and the
/// public key if it has none; otherwise both are used only if present.
pub fn context<'a>(
    args: &TreeArgs,
    arch: &str,
    key: Option<&'a SigningKey>,
    runner: &'a dyn sandbox::Runner,
    prepare: bool,
) -> Result<BuildContext<'a>> {
    let out_dir = absolute(&args.out_dir)?;
    let index = out_dir.join(arch).join("APKINDEX.tar.gz");
    if prepare && !index.exists() {
        // An empty signed index: the tree's repository is a repository
        // from the start, so every build can name it.
        let dir = out_dir.join(arch);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
        pkgbuild::add_to_index(&out_dir, key, arch, &[])?;
    }
    let mut keyring = Vec::new();
    if let Some(key) = key {
        let pem = key
            .public_pem()
            .context("writing the public key of the signing key")?;
        let pub_path = out_dir.join(&key.public_name);
        if prepare && std::fs::read(&pub_path).ok().as_deref() != Some(pem.as_bytes()) {
            crate::output::write_atomic(&pub_path, 0o644, pem.as_bytes())?;
        }
        if pub_path.is_file() {
            keyring.push(pub_path.display().to_string());
        }
    }
    keyring.extend(args.keyring_append.iter().cloned());
    // The tree's repository comes first; until it has an index (`package
    // graph` before any build) it is left out.
    let mut repositories = Vec::new();
    if index.is_file() {
        repositories.push(out_dir.display().to_string());
    }
    repositories.extend(args.repository_append.iter().cloned());
    let settings = settings(key, source_date_epoch()?)?;
    let cache_dir = args
        .apk_cache_dir
        .clone()
        .unwrap_or_else(apk_repo::Cache::default_root);
    // As `package build`: the source cache given, or ./melange-cache/.
    let source_cache = match &args.cache_dir {
        Some(d) => Some(d.clone()),
        None => Some(PathBuf::from("./melange-cache/")).filter(|d| d.is_dir()),
    }
    .map(|d| absolute(&d))
    .transpose()?;
    let mut ctx = BuildContext::new(
        out_dir,
        arch.to_string(),
        key,
        repositories,
        keyring,
        cache_dir,
        runner,
        settings,
    );
    ctx.set_ignore_signatures(args.ignore_signatures);
    ctx.source_cache = source_cache;
    Ok(ctx)
}

/// The settings that are part of every recipe's inputs.
pub fn settings(key: Option<&SigningKey>, source_date_epoch: u64) -> Result<Settings> {
    let signing_key = match key {
        Some(key) => {
            let pem = key
                .public_pem()
                .context("the public key of the signing key")?;
            Some(format!(
                "{} {}",
                key.public_name,
                hex::encode(Sha256::digest(pem.as_bytes()))
            ))
        }
        None => None,
    };
    Ok(Settings {
        apkforge_version: env!("CARGO_PKG_VERSION").to_string(),
        source_date_epoch,
        signing_key,
    })
}

/// Fails unless the tree has a signing key: the tree's repository must be
/// signed so that its later builds trust it.
pub fn require_key(key: Option<&SigningKey>) -> Result<()> {
    if key.is_none() {
        bail!(
            "build-tree needs --signing-key: later builds install earlier outputs from the tree's \
             signed repository (make a key with `apkforge keygen`)"
        );
    }
    Ok(())
}
