//! The tree as an Argo Workflows `Workflow`: a DAG with one task per recipe
//! and architecture, each running `apkforge package build` in a container,
//! the repository shared through a volume claim and the signing key
//! mounted from a Kubernetes secret.
//!
//! Task `depends` are the build order with implied dependencies removed
//! (if `a` needs `b` and `c`, and `b` needs `c`, `a` depends on `b` only),
//! which keeps workflows of thousands of recipes small.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::graph::Graph;
use crate::order::Order;

/// Where the volume claim is mounted; the build runs there.
pub const WORK_DIR: &str = "/work";
/// Where the signing key secret is mounted.
pub const KEY_DIR: &str = "/var/run/apkforge/signing-key";

/// How the workflow runs builds.
#[derive(Clone, Debug)]
pub struct ArgoOptions {
    /// The container image with apkforge (and bubblewrap).
    pub image: String,
    /// The PersistentVolumeClaim holding the recipes (at its root, as in
    /// the current directory) and the repository.
    pub volume_claim: String,
    /// The Secret holding the signing key and its public key.
    pub signing_key_secret: String,
    /// The key's file name in the secret (`melange.rsa`); the public key is
    /// expected beside it as `<name>.pub`.
    pub signing_key_name: String,
    /// The repository directory, relative to the volume's root.
    pub out_dir: String,
    /// Extra repositories (`-r`), as given.
    pub repositories: Vec<String>,
    /// Extra keys (`-k`), as given.
    pub keyrings: Vec<String>,
    /// Pipeline directories, as given.
    pub pipeline_dirs: Vec<String>,
    /// Recipe paths are written relative to this directory (the one that
    /// becomes the volume's root).
    pub base: PathBuf,
}

/// A valid Argo name (`[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 128 bytes).
fn argo_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.starts_with('-') {
        out.remove(0);
    }
    if out.is_empty() {
        out.push('x');
    }
    out.truncate(100);
    out
}

/// An Argo `Workflow` (the fields used here, in Argo's usual order).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    generate_name: String,
}

#[derive(Clone, Debug, Serialize)]
struct Spec {
    entrypoint: String,
    volumes: Vec<Value>,
    templates: Vec<Template>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Template {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dag: Option<Dag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<Container>,
}

#[derive(Clone, Debug, Serialize)]
struct Dag {
    tasks: Vec<Task>,
}

#[derive(Clone, Debug, Serialize)]
struct Task {
    name: String,
    template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    depends: Option<String>,
    arguments: Value,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    image: String,
    command: Vec<String>,
    args: Vec<String>,
    working_dir: String,
    volume_mounts: Vec<Value>,
}

/// The workflow, and the recipes left out (in or behind a cycle, which a
/// DAG cannot express), as `arch/name`.
pub fn workflow(trees: &[(&Graph, &Order)], opts: &ArgoOptions) -> (Workflow, Vec<String>) {
    let mut tasks = Vec::new();
    let mut templates = Vec::new();
    let mut left_out = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    for (g, o) in trees {
        let arch_part = argo_name(&g.arch);
        // Recipes that need others install them from the tree's repository;
        // the first ones run before it exists.
        let template = format!("build-{arch_part}");
        let first = format!("build-first-{arch_part}");
        let (mut uses_template, mut uses_first) = (false, false);
        // Unique task names per node.
        let names: Vec<String> = g
            .nodes
            .iter()
            .map(|n| {
                let base = format!("{arch_part}-{}", argo_name(&n.name));
                let mut name = base.clone();
                let mut k = 2;
                while !used.insert(name.clone()) {
                    name = format!("{base}-{k}");
                    k += 1;
                }
                name
            })
            .collect();
        let reduced = reduced_needs(o);
        for i in o.topological() {
            let n = &g.nodes[i];
            if o.blocked_by[i].is_some() {
                left_out.push(format!("{}/{}", g.arch, n.name));
                continue;
            }
            let deps: Vec<&str> = reduced[i].iter().map(|&d| names[d].as_str()).collect();
            let template = if deps.is_empty() {
                uses_first = true;
                &first
            } else {
                uses_template = true;
                &template
            };
            tasks.push(Task {
                name: names[i].clone(),
                template: template.clone(),
                depends: (!deps.is_empty()).then(|| deps.join(" && ")),
                arguments: json!({"parameters": [
                    {"name": "recipe", "value": relative(&n.recipe, &opts.base)},
                    {"name": "source", "value": source_flag(&n.recipe, &n.name, &opts.base)},
                ]}),
            });
        }
        if uses_first {
            templates.push(build_template(&first, &g.arch, false, opts));
        }
        if uses_template {
            templates.push(build_template(&template, &g.arch, true, opts));
        }
    }
    let mut all = vec![Template {
        name: "tree".into(),
        dag: Some(Dag { tasks }),
        inputs: None,
        node_selector: None,
        container: None,
    }];
    all.extend(templates);
    let wf = Workflow {
        api_version: "argoproj.io/v1alpha1",
        kind: "Workflow",
        metadata: Metadata {
            generate_name: "apkforge-tree-".into(),
        },
        spec: Spec {
            entrypoint: "tree".into(),
            volumes: vec![
                json!({"name": "work", "persistentVolumeClaim": {"claimName": opts.volume_claim}}),
                json!({"name": "signing-key", "secret": {"secretName": opts.signing_key_secret}}),
            ],
            templates: all,
        },
    };
    (wf, left_out)
}

/// The workspace a tree build gives a recipe, as one `package build`
/// argument: its `<name>/` directory, or nothing.
fn source_flag(recipe: &Path, name: &str, base: &Path) -> String {
    match crate::digest::source_dir(recipe, name) {
        Some(dir) => format!("--source-dir={}", relative(&dir, base)),
        None => "--empty-workspace".to_string(),
    }
}

fn relative(path: &Path, base: &Path) -> String {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    abs.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// The container template that builds one recipe for `arch`, with the
/// tree's repository among its repositories when `with_tree`.
fn build_template(name: &str, arch: &str, with_tree: bool, opts: &ArgoOptions) -> Template {
    let key = format!("{KEY_DIR}/{}", opts.signing_key_name);
    let mut args: Vec<String> = vec![
        "package".into(),
        "build".into(),
        "{{inputs.parameters.recipe}}".into(),
        "{{inputs.parameters.source}}".into(),
        "--arch".into(),
        arch.into(),
        "--out-dir".into(),
        opts.out_dir.clone(),
        "--signing-key".into(),
        key.clone(),
    ];
    if with_tree {
        args.extend([
            "-r".into(),
            format!("{WORK_DIR}/{}", opts.out_dir),
            "-k".into(),
            format!("{key}.pub"),
        ]);
    }
    for r in &opts.repositories {
        args.extend(["-r".into(), r.clone()]);
    }
    for k in &opts.keyrings {
        args.extend(["-k".into(), k.clone()]);
    }
    for p in &opts.pipeline_dirs {
        args.extend(["--pipeline-dir".into(), p.clone()]);
    }
    let go_arch = recipe::BuildArch::parse(arch).map_or(arch, |a| a.go_name());
    Template {
        name: name.to_string(),
        dag: None,
        inputs: Some(json!({"parameters": [{"name": "recipe"}, {"name": "source"}]})),
        node_selector: Some(json!({
            "kubernetes.io/arch": go_arch.split('/').next().unwrap_or(go_arch)
        })),
        container: Some(Container {
            image: opts.image.clone(),
            command: vec!["apkforge".into()],
            args,
            working_dir: WORK_DIR.into(),
            volume_mounts: vec![
                json!({"name": "work", "mountPath": WORK_DIR}),
                json!({"name": "signing-key", "mountPath": KEY_DIR, "readOnly": true}),
            ],
        }),
    }
}

/// Per node, its needs minus those implied by another need.
fn reduced_needs(o: &Order) -> Vec<Vec<usize>> {
    let n = o.needs.len();
    let words = n.div_ceil(64);
    // reach[i]: every node i needs, directly or not (acyclic part only).
    let mut reach = vec![0u64; n * words];
    for i in o.topological() {
        if o.blocked_by[i].is_some() {
            continue;
        }
        for &d in &o.needs[i] {
            reach[i * words + d / 64] |= 1 << (d % 64);
            for w in 0..words {
                let v = reach[d * words + w];
                reach[i * words + w] |= v;
            }
        }
    }
    let has = |i: usize, d: usize| reach[i * words + d / 64] & (1 << (d % 64)) != 0;
    (0..n)
        .map(|i| {
            o.needs[i]
                .iter()
                .copied()
                .filter(|&d| !o.needs[i].iter().any(|&e| e != d && has(e, d)))
                .collect()
        })
        .collect()
}

/// The workflow as YAML.
pub fn to_yaml(wf: &Workflow) -> Result<String, String> {
    serde_saphyr::to_string(wf).map_err(|e| e.to_string())
}
