//! Recipe trees through the binary: `package graph` in every format (the
//! Argo workflow checked against Argo's schema) and `package build-tree`
//! on a tree of shell-only recipes (tests/data/tree): order, parallel
//! builds, no-op reruns, one-recipe changes, early cutoff, kill and
//! resume, --keep-going, bad input, and an image built from the result.

mod common;

use common::{apkforge, fail, ok};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use testsupport::fixtures;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tree")
}

fn alpine_key() -> PathBuf {
    fixtures().join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
}

/// A temp dir with a copy of the test tree (`good/`, `bad/`) and a
/// signing key `test.rsa`.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["good", "bad"] {
            let to = dir.path().join(sub);
            fs::create_dir(&to).unwrap();
            for e in fs::read_dir(data().join(sub)).unwrap() {
                let p = e.unwrap().path();
                fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
            }
        }
        ok(&apkforge(&["keygen", "test", "--bits", "2048"], dir.path()));
        Tree { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The common flags: key, Alpine's busybox for the environments, a
    /// private apk cache.
    fn flags(&self) -> Vec<String> {
        vec![
            "--signing-key".into(),
            "test.rsa".into(),
            "-r".into(),
            fixtures().join("alpine-3.19").display().to_string(),
            "-k".into(),
            alpine_key().display().to_string(),
            "--apk-cache-dir".into(),
            "cache".into(),
        ]
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(self.flags());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        apkforge(&all, self.path())
    }

    fn build_tree(&self, extra: &[&str]) -> Output {
        let mut args = vec!["package", "build-tree"];
        args.extend(extra);
        self.run(&args)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.path().join(file);
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    fn log(&self, name: &str) -> String {
        fs::read_to_string(
            self.path()
                .join(format!("packages/x86_64/buildlogs/{name}.log")),
        )
        .unwrap_or_default()
    }
}

/// The result column of the final table, by package name.
fn results(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in stdout.lines().skip(1) {
        if line.is_empty() {
            break;
        }
        // `up to date` and `not started` are two words.
        let (result, rest) = if let Some(r) = line.strip_prefix("up to date") {
            ("up to date", r)
        } else if let Some(r) = line.strip_prefix("not started") {
            ("not started", r)
        } else {
            line.split_once(' ').unwrap()
        };
        let name = rest.split_whitespace().next().unwrap().to_string();
        out.insert(name, result.to_string());
    }
    out
}

fn expect(stdout: &str, want: &[(&str, &str)]) {
    let got = results(stdout);
    let want: BTreeMap<String, String> = want
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, want, "{stdout}");
}

const GOOD: [&str; 8] = ["app", "base", "left", "lib", "right", "rt", "tool", "top"];

fn all(result: &str) -> Vec<(&'static str, &str)> {
    GOOD.iter().map(|n| (*n, result)).collect()
}

/// `(start, end)` in ms since the run began, from a build log.
fn span(log: &str) -> (u64, u64) {
    let at = |key: &str| -> u64 {
        let line = log
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no `{key}` in log:\n{log}"));
        line[key.len()..]
            .trim_start_matches(" +")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        at("==> build-tree: started at"),
        at("==> build-tree: finished at"),
    )
}

#[test]
fn build_tree_orders_parallelizes_and_rebuilds_only_what_changed() {
    let t = Tree::new();
    let d = t.path();

    // First run, two at a time: everything is built.
    let out = ok(&t.build_tree(&["good", "-j", "2"]));
    expect(&out, &all("built"));
    // Each build started after what it needs had finished ...
    let spans: BTreeMap<&str, (u64, u64)> = GOOD.iter().map(|n| (*n, span(&t.log(n)))).collect();
    for (a, needs) in [
        ("left", &["base"][..]),
        ("right", &["base"]),
        ("lib", &["tool"]),
        ("app", &["lib"]),
        ("top", &["left", "right", "rt", "base"]),
    ] {
        for n in needs {
            assert!(
                spans[a].0 >= spans[n].1,
                "{a} started at {} before {n} finished at {}",
                spans[a].0,
                spans[n].1
            );
        }
    }
    // ... and two builds ran at the same time.
    let overlapping = GOOD.iter().any(|a| {
        GOOD.iter()
            .any(|b| a < b && spans[a].0 < spans[b].1 && spans[b].0 < spans[a].1)
    });
    assert!(overlapping, "no two builds overlapped with -j 2: {spans:?}");
    let index = d.join("packages/x86_64/APKINDEX.tar.gz");
    ok(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            "packages/test.rsa.pub",
            index.to_str().unwrap(),
        ],
        d,
    ));

    // Nothing changed: nothing is built.
    let out = ok(&t.build_tree(&["good"]));
    expect(&out, &all("up to date"));

    // A change to tool that leaves lib's package as it was: tool and lib
    // are rebuilt, app is not (early cutoff).
    t.edit("good/tool.yaml", "tool 1", "tool 2");
    let plan = ok(&t.build_tree(&["good", "--dry-run"]));
    assert!(plan.contains("recipe changed"), "{plan}");
    assert!(
        plan.lines()
            .any(|l| l.starts_with("maybe") && l.contains("app") && l.contains("after lib")),
        "{plan}"
    );
    assert!(
        plan.lines()
            .any(|l| l.starts_with("build ") && l.contains("tool")),
        "{plan}"
    );
    let app_before = fs::read(d.join("packages/x86_64/app-1.0.0-r0.apk")).unwrap();
    let out = ok(&t.build_tree(&["good"]));
    let mut want = all("up to date");
    for (n, r) in want.iter_mut() {
        if *n == "tool" || *n == "lib" {
            *r = "built";
        }
    }
    expect(&out, &want);
    assert!(
        out.contains("build environment changed (tool rebuilt)"),
        "{out}"
    );
    assert_eq!(
        fs::read(d.join("packages/x86_64/app-1.0.0-r0.apk")).unwrap(),
        app_before
    );

    // A change to base: base and what builds with its packages (left with
    // base-dev, which embeds the changed recipe, right with base) and with
    // those (top) are rebuilt.
    t.edit("good/base.yaml", "echo \"base", "echo \"new base");
    let out = ok(&t.build_tree(&["good", "-j", "2"]));
    let rebuilt = ["base", "left", "right", "top"];
    let want: Vec<(&str, &str)> = GOOD
        .iter()
        .map(|n| {
            (
                *n,
                if rebuilt.contains(n) {
                    "built"
                } else {
                    "up to date"
                },
            )
        })
        .collect();
    expect(&out, &want);
    let out = ok(&t.build_tree(&["good"]));
    expect(&out, &all("up to date"));

    // The repository serves an image build: top, right and left with what
    // they depend on at runtime (rt, base).
    let fx = fixtures();
    let cfg = format!(
        "contents:\n  keyring:\n    - {key}\n    - packages/test.rsa.pub\n  repositories:\n    - {fx}/alpine-3.19\n    - packages\n  packages:\n    - busybox\n    - top\n    - left\n    - right\narchs: [x86_64]\n",
        key = alpine_key().display(),
        fx = fx.display()
    );
    fs::write(d.join("image.yaml"), cfg).unwrap();
    fs::create_dir(d.join("layout")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "image.yaml",
            "tree:latest",
            "layout/",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let out = common::run_image(
        &d.join("layout"),
        "latest",
        d,
        Some(&[
            "/bin/sh",
            "-c",
            "cat /usr/share/top/data /usr/share/rt/data /usr/share/base/VERSION",
        ]),
    );
    assert_eq!(out, "top\nrt\nnew base 1.0.0\n");
}

#[test]
fn failures_cycles_and_bad_recipes() {
    let t = Tree::new();
    let d = t.path();
    let tree = ["good/base.yaml", "good/rt.yaml", "bad"];

    // Without --keep-going, the cycle is an error naming each edge.
    let err = fail(&t.build_tree(&tree));
    assert!(
        err.contains("cycle 1: cycle-a -> cycle-b -> cycle-a"),
        "{err}"
    );
    assert!(
        err.contains("cycle-a needs cycle-b: build `cycle-b` at bad/cycle-a.yaml:13"),
        "{err}"
    );
    assert!(err.contains("bad/cycle-b.yaml:13"), "{err}");
    assert!(!d.join("packages/x86_64").exists());

    // With it: the failure is reported with its log, what needs it is
    // blocked, the cycle is blocked, the rest is built.
    let out = t.build_tree(&[&tree[..], &["--keep-going", "-j", "2"]].concat());
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    expect(
        &stdout,
        &[
            ("base", "built"),
            ("rt", "built"),
            ("broken", "failed"),
            ("after-broken", "blocked"),
            ("cycle-a", "blocked"),
            ("cycle-b", "blocked"),
        ],
    );
    assert!(stdout.contains("by broken (failed)"), "{stdout}");
    assert!(stdout.contains("in cycle 1"), "{stdout}");
    assert!(
        stdout.contains("exit code 3 (log: ./packages/x86_64/buildlogs/broken.log)"),
        "{stdout}"
    );
    assert!(t.log("broken").contains("about to fail"));
    assert!(!d.join("packages/x86_64/broken-1.0.0-r0.apk").exists());

    // Fixed, the failed recipe and what it blocked are built; the others
    // stay up to date.
    t.edit(
        "bad/broken.yaml",
        "exit 3",
        "mkdir -p ${{targets.destdir}}/x",
    );
    let out = t.build_tree(&[&tree[..], &["--keep-going"]].concat());
    expect(
        &String::from_utf8_lossy(&out.stdout),
        &[
            ("base", "up to date"),
            ("rt", "up to date"),
            ("broken", "built"),
            ("after-broken", "built"),
            ("cycle-a", "blocked"),
            ("cycle-b", "blocked"),
        ],
    );

    // Without --keep-going, a failure stops the run: nothing new starts.
    t.edit("good/rt.yaml", "echo rt", "exit 4; echo rt");
    t.edit("bad/broken.yaml", "mkdir -p", "echo changed; mkdir -p");
    let out = t.build_tree(&["good/rt.yaml", "bad/broken.yaml", "bad/after-broken.yaml"]);
    assert!(!out.status.success());
    expect(
        &String::from_utf8_lossy(&out.stdout),
        &[
            ("rt", "failed"),
            ("broken", "not started"),
            ("after-broken", "not started"),
        ],
    );

    // A recipe that does not parse: an error with file:line, or skipped
    // and reported with --keep-going.
    fs::write(
        d.join("bad/typo.yaml"),
        "package:\n  name: typo\n  version: 1\n  epoch: 0\npipeline:\n  - runz: true\n",
    )
    .unwrap();
    let err = fail(&t.build_tree(&["good/base.yaml", "bad/typo.yaml"]));
    assert!(err.contains("bad/typo.yaml:6:5"), "{err}");
    assert!(err.contains("runz"), "{err}");
    let out = t.build_tree(&["good/base.yaml", "bad/typo.yaml", "--keep-going"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("failed") && l.contains("bad/typo.yaml:6:5")),
        "{stdout}"
    );
    assert_eq!(results(&stdout)["base"], "up to date", "{stdout}");
    let err = fail(&t.run(&["package", "graph", "good/base.yaml", "bad/typo.yaml"]));
    assert!(err.contains("bad/typo.yaml:6:5"), "{err}");

    // Two recipes making the same package.
    fs::write(
        d.join("bad/base-again.yaml"),
        fs::read_to_string(d.join("good/rt.yaml"))
            .unwrap()
            .replace("name: rt", "name: rt2")
            + "subpackages:\n  - name: base-dev\n    pipeline:\n      - runs: true\n",
    )
    .unwrap();
    for cmd in ["graph", "build-tree"] {
        let err = fail(&t.run(&["package", cmd, "good/base.yaml", "bad/base-again.yaml"]));
        assert!(
            err.contains(
                "package `base-dev` is made by two recipes: good/base.yaml and bad/base-again.yaml"
            ),
            "{err}"
        );
    }

    // Build-tree needs a key: the tree's repository must be trusted.
    let err = fail(&apkforge(&["package", "build-tree", "good"], d));
    assert!(err.contains("--signing-key"), "{err}");
}

/// Waits until `f` holds (up to two minutes).
fn wait_for(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether some process runs `sleep 600` (the slow recipe's step).
fn sleeping() -> bool {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|e| fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x00600\x00"))
}

#[test]
fn interrupted_runs_resume_with_what_is_not_done() {
    let t = Tree::new();
    let d = t.path();
    // slow (level 1, after left, lib and right) sleeps for as long as its
    // source directory says.
    fs::write(
        d.join("good/slow.yaml"),
        fs::read_to_string(d.join("good/right.yaml"))
            .unwrap()
            .replace("name: right", "name: slow")
            .replace("echo right", "sleep \"$(cat delay)\"; echo slow")
            .replace("/right", "/slow"),
    )
    .unwrap();
    fs::create_dir(d.join("good/slow")).unwrap();
    fs::write(d.join("good/slow/delay"), "600").unwrap();
    let start = |signal: &str| {
        let mut args: Vec<String> = ["package", "build-tree", "good"].map(String::from).to_vec();
        args.extend(t.flags());
        let mut child = Command::new(env!("CARGO_BIN_EXE_apkforge"))
            .args(&args)
            .current_dir(d)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("slow to build", || {
            t.log("slow").contains("running the pipeline of slow")
        });
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success());
        // The build's sandbox went with it.
        wait_for("the sandboxed `sleep 600` to end", || !sleeping());
    };
    // Killed outright while slow builds: what was built before stays.
    start("-KILL");
    for n in ["base", "rt", "tool", "left", "lib", "right"] {
        assert!(
            d.join(format!(
                "packages/x86_64/{n}-{}.apk",
                if n == "rt" { "2.1.0-r3" } else { "1.0.0-r0" }
            ))
            .exists(),
            "{n} was not built before the kill"
        );
    }
    // Interrupted (Ctrl-C) the next time: the same.
    fs::remove_file(d.join("packages/x86_64/buildlogs/slow.log")).unwrap();
    start("-INT");
    // The index was never left half-written.
    ok(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            "packages/test.rsa.pub",
            "packages/x86_64/APKINDEX.tar.gz",
        ],
        d,
    ));
    // Temp files a killed run left (among the packages and the build
    // records) are removed by the next run; a file that only looks like
    // one stays.
    let stale = [
        d.join("packages/x86_64/.tmp-AAAAAAAAAAAA"),
        d.join("packages/x86_64/.inputs/.tmp-BBBBBBBBBBBB"),
    ];
    let not_ours = d.join("packages/x86_64/.inputs/.tmp-mine");
    for f in stale.iter().chain([&not_ours]) {
        fs::write(f, "left over").unwrap();
    }
    // Resumed: only slow and what comes after it are built.
    fs::write(d.join("good/slow/delay"), "0").unwrap();
    let out = ok(&t.build_tree(&["good"]));
    for f in &stale {
        assert!(!f.exists(), "{} was not swept", f.display());
    }
    assert!(not_ours.exists());
    let mut want = all("up to date");
    want.push(("slow", "built"));
    for (n, r) in want.iter_mut() {
        if *n == "app" || *n == "top" {
            *r = "built";
        }
    }
    expect(&out, &want);
}

#[test]
fn parallel_package_builds_share_one_index() {
    let t = Tree::new();
    let d = t.path();
    let names = ["base", "rt", "tool"];
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            // As a tree build does it: the recipe's `<name>/` directory (none
            // here) as its workspace, not the recipe's whole directory.
            let mut args: Vec<String> = vec![
                "package".into(),
                "build".into(),
                format!("good/{n}.yaml"),
                "--empty-workspace".into(),
            ];
            args.extend(t.flags());
            Command::new(env!("CARGO_BIN_EXE_apkforge"))
                .args(&args)
                .current_dir(d)
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .output_async()
        })
        .collect();
    for c in children {
        ok(&c.wait_with_output().unwrap());
    }
    // Every build's packages are in the index.
    let x = d.join("index");
    fs::create_dir(&x).unwrap();
    common::untar(
        &d.join("packages/x86_64/APKINDEX.tar.gz"),
        &x,
        &["APKINDEX"],
    );
    let index = fs::read_to_string(x.join("APKINDEX")).unwrap();
    let names: Vec<&str> = index.lines().filter_map(|l| l.strip_prefix("P:")).collect();
    assert_eq!(names, ["base", "base-dev", "rt", "tool"], "{index}");
    // The builds recorded their inputs: a tree run finds them up to date.
    let out = ok(&t.build_tree(&["good/base.yaml", "good/rt.yaml", "good/tool.yaml"]));
    expect(
        &out,
        &[
            ("base", "up to date"),
            ("rt", "up to date"),
            ("tool", "up to date"),
        ],
    );
}

trait SpawnOutput {
    fn output_async(&mut self) -> std::process::Child;
}

impl SpawnOutput for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// Validates a YAML document against Argo's official JSON schema with
/// Python's `jsonschema`; returns the error messages.
fn argo_schema_errors(doc: &Path) -> Vec<String> {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
doc = yaml.safe_load(open(sys.argv[2]))
validator = jsonschema.validators.validator_for(schema)(schema)
for e in validator.iter_errors(doc):
    print(e.message[:300].replace("\n", " "))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(fixtures().join("argo-workflows/schema.json"))
        .arg(doc)
        .output()
        .expect("python3 with jsonschema and pyyaml (scripts/test.sh installs them)");
    assert!(
        out.status.success(),
        "validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn graph_in_every_format() {
    let t = Tree::new();
    let d = t.path();
    // Unknown packages and versions the tree does not make are missing.
    fs::write(
        d.join("bad/wants.yaml"),
        "package:\n  name: wants\n  version: 1.0.0\n  epoch: 0\nenvironment:\n  contents:\n    packages:\n      - busybox\n      - nosuch\n      - rt>=3\npipeline:\n  - runs: true\n",
    )
    .unwrap();
    let graph = |extra: &[&str]| {
        let mut args = vec!["package", "graph", "good", "bad"];
        args.extend(extra);
        t.run(&args)
    };

    let text = ok(&graph(&[]));
    assert!(
        text.starts_with("x86_64: 13 recipes, 12 edges, 3 levels, 1 cycle\n"),
        "{text}"
    );
    for want in [
        "makes base, base-dev (provides base-compat=1.0)",
        "build `base-compat>=1.0` -> base (base-dev)  at good/left.yaml:16",
        "runtime `rt` -> rt  at good/right.yaml:11",
        "test `app` -> app  at good/top.yaml:26",
        "build `busybox` from a repository  at good/base.yaml:12",
        "build `nosuch` MISSING  at bad/wants.yaml:9",
        "build `rt>=3` MISSING  at bad/wants.yaml:10",
        "cycle 1 (2 recipes): cycle-a -> cycle-b -> cycle-a",
        "cycle-a needs cycle-b: build `cycle-b` at bad/cycle-a.yaml:13",
        "nosuch (build dependency of wants at bad/wants.yaml:9)",
    ] {
        assert!(text.contains(want), "no `{want}` in:\n{text}");
    }

    let json: serde_json::Value = serde_json::from_str(&ok(&graph(&["--format", "json"]))).unwrap();
    let arch = &json["archs"][0];
    assert_eq!(arch["arch"], "x86_64");
    assert_eq!(arch["stats"]["nodes"], 13);
    assert_eq!(arch["stats"]["longest_chain"].as_array().unwrap().len(), 3);
    let node = |name: &str| {
        arch["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap()
            .clone()
    };
    let top = node("top");
    let mut needs: Vec<&str> = top["needs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    needs.sort();
    assert_eq!(needs, ["base", "left", "right", "rt"]);
    assert_eq!(top["level"], 2);
    assert_eq!(top["state"], "build");
    assert_eq!(node("base")["state"], "build");
    assert_eq!(node("base")["reasons"][0], "not built before");
    assert_eq!(node("cycle-a")["state"], "blocked");
    assert_eq!(node("cycle-a")["cycle"], 1);
    assert_eq!(arch["cycles"][0].as_array().unwrap().len(), 2);
    assert!(
        arch["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == "top" && e["to"] == "app" && e["kind"] == "test")
    );
    // After a build, the plan knows the input digests and that nothing is
    // to do.
    ok(&t.build_tree(&["good/base.yaml"]));
    let json: serde_json::Value = serde_json::from_str(&ok(&t.run(&[
        "package",
        "graph",
        "good/base.yaml",
        "--format",
        "json",
    ])))
    .unwrap();
    let base = &json["archs"][0]["nodes"][0];
    assert_eq!(base["state"], "up-to-date");
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("packages/x86_64/.inputs/base.json")).unwrap())
            .unwrap();
    assert_eq!(base["inputs"], record["inputs"]);

    let dot = ok(&graph(&["--format", "dot"]));
    assert!(dot.starts_with("digraph tree {"), "{dot}");
    assert!(dot.contains("\"top\" -> \"left\" [style=solid];"), "{dot}");
    assert!(dot.contains("\"right\" -> \"rt\" [style=dashed];"), "{dot}");
    assert!(dot.contains("\"top\" -> \"app\" [style=dotted];"), "{dot}");
    assert!(
        dot.contains("\"cycle-a\" -> \"cycle-b\" [style=solid, color=red];"),
        "{dot}"
    );

    let err = fail(&graph(&["--format", "yaml"]));
    assert!(err.contains("invalid value 'yaml'"), "{err}");
    assert!(err.contains("text, json, dot, argo"), "{err}");
    let err = fail(&graph(&["--format", "argo"]));
    assert!(err.contains("--format argo needs --image REF"), "{err}");
}

#[test]
fn argo_workflows_validate_against_argos_schema() {
    let t = Tree::new();
    let d = t.path();
    let argo = |extra: &[&str]| {
        let mut args = vec![
            "package",
            "graph",
            "--format",
            "argo",
            "--image",
            "registry.example/apkforge:1",
            "--volume-claim",
            "recipes",
            "--signing-key-secret",
            "melange-key",
        ];
        args.extend(extra);
        t.run(&args)
    };
    // rt has a source directory (patches and the like), the others none.
    fs::create_dir(d.join("good/rt")).unwrap();
    fs::write(d.join("good/rt/fix.patch"), "").unwrap();
    for (i, extra) in [
        &["good"][..],
        &["good", "bad", "--arch", "x86_64", "--arch", "aarch64"],
        &["good/base.yaml"],
    ]
    .iter()
    .enumerate()
    {
        let out = argo(extra);
        let yaml = ok(&out);
        let file = d.join(format!("workflow-{i}.yaml"));
        fs::write(&file, &yaml).unwrap();
        let errors = argo_schema_errors(&file);
        assert!(errors.is_empty(), "{errors:?}\n{yaml}");
        if extra.contains(&"bad") {
            // The cycle cannot be a DAG: left out, and said so.
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("x86_64/cycle-a"), "{err}");
            assert!(!yaml.contains("cycle-a"), "{yaml}");
            assert!(yaml.contains("kubernetes.io/arch: arm64"), "{yaml}");
            assert!(yaml.contains("name: aarch64-top"), "{yaml}");
        }
    }
    // Read back: task names are valid Argo names, depends name tasks of
    // the workflow, and each task builds its recipe with the key from the
    // secret and the shared repository.
    let wf = fs::read_to_string(d.join("workflow-0.yaml")).unwrap();
    assert!(wf.contains("claimName: recipes"), "{wf}");
    assert!(wf.contains("secretName: melange-key"), "{wf}");
    assert!(
        wf.contains("- /var/run/apkforge/signing-key/test.rsa"),
        "{wf}"
    );
    assert!(wf.contains("- /work/packages"), "{wf}");
    assert!(wf.contains("value: good/top.yaml"), "{wf}");
    assert!(wf.contains("value: --empty-workspace"), "{wf}");
    assert!(wf.contains("value: --source-dir=good/rt\n"), "{wf}");
    assert!(
        wf.contains("depends: x86-64-left && x86-64-right && x86-64-rt"),
        "{wf}"
    );
    // Recipes that need nothing from the tree run before its repository
    // exists, without it.
    assert!(
        wf.contains("name: x86-64-base\n        template: build-first-x86-64\n"),
        "{wf}"
    );
    assert!(
        wf.contains("name: x86-64-top\n        template: build-x86-64\n"),
        "{wf}"
    );
    let names: Vec<&str> = wf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- name: x86-64-"))
        .collect();
    assert_eq!(names.len(), 8, "{wf}");
    for n in &names {
        assert!(
            n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{n}"
        );
    }
    // The validator does reject what Argo rejects.
    let broken = wf.replacen("kind: Workflow", "kind: Workflw", 1);
    fs::write(d.join("broken.yaml"), broken).unwrap();
    assert!(!argo_schema_errors(&d.join("broken.yaml")).is_empty());
    let broken = wf.replacen(
        "    dag:\n      tasks:",
        "    dag:\n      tasks: none\n      x:",
        1,
    );
    fs::write(d.join("broken.yaml"), broken).unwrap();
    assert!(!argo_schema_errors(&d.join("broken.yaml")).is_empty());
}
