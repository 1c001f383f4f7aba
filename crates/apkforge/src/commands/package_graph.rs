//! `apkforge package graph DIR|RECIPE... [--format text|json|dot|argo]`

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use pkgtree::argo::ArgoOptions;
use pkgtree::plan::Planned;
use pkgtree::render::{self, Report};

use crate::cli::{GraphFormat, PackageGraphArgs};
use crate::commands::package_tree::{
    LoadedTree, context, load_tree, parse_arch, problems_error, signing_key,
};

pub fn run(args: &PackageGraphArgs) -> Result<ExitCode> {
    let archs = if args.archs.is_empty() {
        vec![parse_arch(None)?]
    } else {
        args.archs
            .iter()
            .map(|a| parse_arch(Some(a)))
            .collect::<Result<Vec<_>>>()?
    };
    let argo = match args.format {
        GraphFormat::Argo => Some(argo_options(args)?),
        _ => None,
    };
    let key = signing_key(&args.tree)?;
    let runner = sandbox::Bubblewrap::default();
    let mut trees: Vec<(LoadedTree, Vec<bool>, Option<Vec<Planned>>)> = Vec::new();
    for arch in archs {
        let tree = load_tree(&args.tree, arch)?;
        if !tree.problems.is_empty() {
            return Err(problems_error(&tree.problems));
        }
        let ctx = context(&args.tree, arch.apk_name(), key.as_ref(), &runner, false)?;
        let available = ctx.availability(&tree.graph);
        let plan = (args.format == GraphFormat::Json)
            .then(|| pkgtree::plan::plan(&ctx, &tree.graph, &tree.order));
        trees.push((tree, available, plan));
    }
    let reports: Vec<Report<'_>> = trees
        .iter()
        .map(|(t, available, plan)| Report {
            graph: &t.graph,
            order: &t.order,
            plan: plan.as_deref(),
            available,
            skipped: &t.skipped,
        })
        .collect();
    match args.format {
        GraphFormat::Text => {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print!("{}", render::text(r));
            }
        }
        GraphFormat::Dot => {
            for r in &reports {
                print!("{}", render::dot(r));
            }
        }
        GraphFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&render::json(&reports))?);
        }
        GraphFormat::Argo => {
            let opts = argo.context("argo options")?;
            let pairs: Vec<_> = trees.iter().map(|(t, _, _)| (&t.graph, &t.order)).collect();
            let (wf, left_out) = pkgtree::argo::workflow(&pairs, &opts);
            if !left_out.is_empty() {
                eprintln!(
                    "warning: {} recipes are in or behind a cycle and left out of the workflow: {}",
                    left_out.len(),
                    left_out.join(", ")
                );
            }
            print!(
                "{}",
                pkgtree::argo::to_yaml(&wf).map_err(anyhow::Error::msg)?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn argo_options(args: &PackageGraphArgs) -> Result<ArgoOptions> {
    let need = |v: &Option<String>, flag: &str| -> Result<String> {
        v.clone()
            .with_context(|| format!("--format argo needs {flag}"))
    };
    let base = std::env::current_dir().context("reading the current directory")?;
    let out = &args.tree.out_dir;
    let out_rel = if out.is_absolute() {
        match out.strip_prefix(&base) {
            Ok(p) => p.to_path_buf(),
            Err(_) => bail!(
                "--out-dir `{}` must be inside the current directory for --format argo (the \
                 volume holds this directory)",
                out.display()
            ),
        }
    } else {
        out.clone()
    };
    let out_dir = out_rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<std::path::PathBuf>()
        .display()
        .to_string();
    let key_name = match (&args.signing_key_name, &args.tree.signing_key) {
        (Some(n), _) => n.clone(),
        (None, Some(k)) => k
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "melange.rsa".into()),
        (None, None) => "melange.rsa".into(),
    };
    Ok(ArgoOptions {
        image: need(&args.image, "--image REF")?,
        volume_claim: need(&args.volume_claim, "--volume-claim NAME")?,
        signing_key_secret: need(&args.signing_key_secret, "--signing-key-secret NAME")?,
        signing_key_name: key_name,
        out_dir,
        repositories: args.tree.repository_append.clone(),
        keyrings: args.tree.keyring_append.clone(),
        pipeline_dirs: args
            .tree
            .pipeline_dirs
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        base,
    })
}
