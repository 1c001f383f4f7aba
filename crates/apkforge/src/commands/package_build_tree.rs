//! `apkforge package build-tree DIR|RECIPE... [-j N] [--keep-going] [--dry-run]`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pkgtree::plan::State;
use pkgtree::{Blocker, Events, Graph, Order, Outcome, RunOptions};

use crate::cli::PackageBuildTreeArgs;
use crate::commands::package::linters;
use crate::commands::package_tree::{
    LoadedTree, context, load_tree, parse_arch, problems_error, require_key, signing_key,
};

pub fn run(args: &PackageBuildTreeArgs) -> Result<ExitCode> {
    let arch = parse_arch(args.arch.as_deref())?;
    let lint_require = linters(args.lint_require.as_deref(), "--lint-require", || {
        pkgbuild::lint::default_required()
    })?;
    let lint_warn = linters(args.lint_warn.as_deref(), "--lint-warn", || {
        pkgbuild::lint::default_warn()
    })?;
    crate::commands::package::check_runnable(arch)?;
    let key = signing_key(&args.tree)?;
    require_key(key.as_ref())?;
    let tree = load_tree(&args.tree, arch)?;
    if !tree.problems.is_empty() && !args.keep_going {
        return Err(problems_error(&tree.problems));
    }
    if !tree.order.cycles.is_empty() && !args.keep_going {
        let cycles: Vec<String> = tree
            .order
            .cycles
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "  cycle {}: {}",
                    i + 1,
                    pkgtree::render::cycle_text(&tree.graph, c)
                )
            })
            .collect();
        bail!(
            "the tree has {} (--keep-going builds what does not need them):\n{}",
            pkgtree::render::plural(cycles.len(), "dependency cycle"),
            cycles.join("\n")
        );
    }
    std::fs::create_dir_all(&args.tree.out_dir)
        .with_context(|| format!("creating `{}`", args.tree.out_dir.display()))?;
    let runner = crate::commands::package_runner::runner(&args.runner)?;
    let mut ctx = context(
        &args.tree,
        arch.apk_name(),
        key.as_ref(),
        runner.as_ref(),
        true,
    )?;
    ctx.network = args.network;
    ctx.debug = args.debug;
    ctx.lint_require = lint_require;
    ctx.lint_warn = lint_warn;
    ctx.persist_lint_results = args.persist_lint_results;
    if args.dry_run {
        let plan = pkgtree::plan::plan(&ctx, &tree.graph, &tree.order);
        print_plan(&tree, &plan);
        return Ok(ExitCode::SUCCESS);
    }
    let mut swept = pkgbuild::sweep_stale_in(
        &ctx.work_root,
        &ctx.out_dir,
        &[arch.apk_name()],
        ctx.source_cache.as_deref(),
        &ctx.cache_dir,
    );
    swept.extend(pkgtree::state::sweep_stale_records(
        &ctx.out_dir,
        arch.apk_name(),
    ));
    crate::commands::report_swept(&swept);
    let started = Instant::now();
    let progress = Progress::new(&tree.graph, std::io::stderr().is_terminal());
    let outcomes = pkgtree::run(
        &ctx,
        &tree.graph,
        &tree.order,
        RunOptions {
            jobs: args.jobs,
            keep_going: args.keep_going,
        },
        &progress,
    );
    progress.finish();
    // Logs are shown under --out-dir as given.
    let shown = |p: &Path| match p.strip_prefix(&ctx.out_dir) {
        Ok(rel) => args.tree.out_dir.join(rel),
        Err(_) => p.to_path_buf(),
    };
    let ok = print_table(&tree, &outcomes, started.elapsed(), &shown);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Progress on stderr: a bar with what is building on a terminal, a line
/// per build otherwise.
struct Progress<'g> {
    graph: &'g Graph,
    bar: Option<indicatif::ProgressBar>,
    building: Mutex<Vec<String>>,
}

impl<'g> Progress<'g> {
    fn new(graph: &'g Graph, fancy: bool) -> Progress<'g> {
        let bar = fancy.then(|| {
            let bar = indicatif::ProgressBar::new(graph.nodes.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} recipes, {elapsed}  {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            graph,
            bar,
            building: Mutex::new(Vec::new()),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn show_building(&self, list: &[String]) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("building {}", list.join(", ")));
        }
    }
}

impl Events for Progress<'_> {
    fn building(&self, node: usize, reasons: &[String]) {
        let n = &self.graph.nodes[node];
        let mut list = self.building.lock().unwrap_or_else(|e| e.into_inner());
        list.push(n.name.clone());
        if self.bar.is_some() {
            self.show_building(&list);
        } else {
            eprintln!(
                "==> building {} {} ({})",
                n.name,
                n.version,
                reasons.join("; ")
            );
        }
    }

    fn finished(&self, node: usize, outcome: &Outcome) {
        let n = &self.graph.nodes[node];
        let mut list = self.building.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|x| *x != n.name);
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if let Outcome::Failed { error, .. } = outcome {
                    bar.println(format!("failed: {}: {error}", n.name));
                }
                self.show_building(&list);
            }
            None => match outcome {
                Outcome::Built { time, .. } => {
                    eprintln!("==> built {} in {}", n.name, seconds(*time));
                }
                Outcome::Failed { error, log, .. } => {
                    let log = log
                        .as_ref()
                        .map(|l| format!(" (log: {})", l.display()))
                        .unwrap_or_default();
                    eprintln!("==> failed: {}: {error}{log}", n.name);
                }
                _ => {}
            },
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Rows padded to the widest cell of each column.
fn print_rows(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn print_plan(tree: &LoadedTree, plan: &[pkgtree::plan::Planned]) {
    let g = &tree.graph;
    let mut rows = Vec::new();
    for i in tree.order.topological() {
        let (n, p) = (&g.nodes[i], &plan[i]);
        rows.push(vec![
            p.state.label().to_string(),
            n.name.clone(),
            n.version.clone(),
            p.reasons.join("; "),
        ]);
    }
    for p in &tree.problems {
        rows.push(vec![
            "skipped".into(),
            p.path.display().to_string(),
            "-".into(),
            p.message.clone(),
        ]);
    }
    print_rows(&["plan", "package", "version", "why"], &rows);
    let count = |s: State| plan.iter().filter(|p| p.state == s).count();
    println!(
        "\n{} to build, {} maybe, {} up to date, {} blocked",
        count(State::Build),
        count(State::Maybe),
        count(State::UpToDate),
        count(State::Blocked)
    );
}

/// The final table; returns whether everything is built or up to date.
fn print_table(
    tree: &LoadedTree,
    outcomes: &[Outcome],
    wall: Duration,
    shown: &dyn Fn(&Path) -> PathBuf,
) -> bool {
    let (g, o): (&Graph, &Order) = (&tree.graph, &tree.order);
    let mut rows = Vec::new();
    let mut counts = [0usize; 5];
    for i in o.topological() {
        let n = &g.nodes[i];
        let (result, time, detail) = match &outcomes[i] {
            Outcome::Built { reasons, time, .. } => {
                counts[0] += 1;
                ("built", seconds(*time), reasons.join("; "))
            }
            Outcome::UpToDate { time } => {
                counts[1] += 1;
                ("up to date", seconds(*time), String::new())
            }
            Outcome::Failed { error, log, time } => {
                counts[2] += 1;
                let detail = match log {
                    Some(l) => format!("{error} (log: {})", shown(l).display()),
                    None => error.clone(),
                };
                ("failed", seconds(*time), detail)
            }
            Outcome::Blocked(b) => {
                counts[3] += 1;
                let by = match b {
                    Blocker::Failed(f) => format!("by {} (failed)", g.nodes[*f].name),
                    Blocker::Cycle(c) if o.in_cycle[i] == Some(*c) => {
                        format!("in cycle {}", c + 1)
                    }
                    Blocker::Cycle(c) => format!("by cycle {}", c + 1),
                };
                ("blocked", "-".into(), by)
            }
            Outcome::NotStarted => {
                counts[4] += 1;
                ("not started", "-".into(), "stopped after a failure".into())
            }
        };
        rows.push(vec![
            result.to_string(),
            n.name.clone(),
            n.version.clone(),
            time,
            detail,
        ]);
    }
    for p in &tree.problems {
        counts[2] += 1;
        rows.push(vec![
            "failed".into(),
            p.path.display().to_string(),
            "-".into(),
            "-".into(),
            p.message.clone(),
        ]);
    }
    print_rows(&["result", "package", "version", "time", "detail"], &rows);
    println!(
        "\n{} built, {} up to date, {} failed, {} blocked, {} not started in {}",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        seconds(wall)
    );
    counts[2] + counts[3] + counts[4] == 0
}
