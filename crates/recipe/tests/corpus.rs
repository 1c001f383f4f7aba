//! Every recipe of the public Wolfi distribution compiles for x86_64 with
//! Wolfi's own pipelines, and melange's test configurations load (or fail)
//! as they do in melange.

// The corpus test reports its timing and the first failures on stderr.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use recipe::{BuildArch, CompileOptions, Compiler, Recipe};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

const WOLFI_RECIPES: usize = 3393;

#[test]
fn every_wolfi_recipe_compiles() {
    let root = fixtures().join("wolfi-os");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("recipes"))
        .expect("wolfi-os recipes")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), WOLFI_RECIPES);

    let compiler = Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        pipeline_dirs: vec![root.join("pipelines")],
        ..CompileOptions::default()
    });
    let start = Instant::now();
    let failures = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    match compiler.compile_file(file) {
                        Ok(compiled) => {
                            // Every compiled recipe serializes.
                            assert!(!compiled.to_json_pretty().is_empty());
                        }
                        Err(e) => {
                            let mut msg = e.to_string();
                            let mut src = std::error::Error::source(&e);
                            while let Some(s) = src {
                                msg.push_str(&format!(": {s}"));
                                src = s.source();
                            }
                            failures.lock().unwrap().push(msg);
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "compiled {} recipes in {elapsed:?}, {} failures",
        files.len(),
        failures.len()
    );
    for f in failures.iter().take(40) {
        eprintln!("  {f}");
    }
    assert!(failures.is_empty(), "{} recipes failed", failures.len());
    // Well under a minute on two cores, even unoptimized.
    assert!(
        elapsed.as_secs() < 60,
        "compiling the corpus took {elapsed:?}"
    );
}

#[test]
fn melange_test_configurations_load_or_fail_as_in_melange() {
    let dir = fixtures().join("melange-testdata/pkg/build/testdata");
    let valid = [
        "configuration_load/env-vars-set-that-have-default-values.melange.yaml",
        "configuration_load/github.melange.yaml",
        "configuration_load/range-subpackages.melange.yaml",
        "configuration_load/release-monitor.melange.yaml",
        "test_configuration_load/py3-pandas.melange.yaml",
        "test_configuration_load/range-subpackages.melange.yaml",
        "build_configs/7zip-two-fetches.yaml",
        "build_configs/bogus-version.yaml",
        "build_configs/crane.yaml",
        "build_configs/sed.yaml",
    ];
    let invalid = [
        (
            "configuration_load/invalid-duplicate-package-name.melange.yaml",
            "same name as the main package",
        ),
        (
            "configuration_load/invalid-package-name.melange.yaml",
            "must match",
        ),
        (
            "configuration_load/invalid-range-subpackage-name.melange.yaml",
            "must match",
        ),
        (
            "configuration_load/missing-package-name.melange.yaml",
            "must match",
        ),
        (
            "configuration_load/unknown-fields.melange.yaml",
            "unknown field `repositories`",
        ),
        (
            "configuration_load/uses-and-runs.melange.yaml",
            "both `uses` and `runs`",
        ),
        (
            "configuration_load/with-and-runs.melange.yaml",
            "`with` but no `uses`",
        ),
    ];
    for file in valid {
        if let Err(e) = Recipe::load(dir.join(file)) {
            panic!("{file}: {e}");
        }
    }
    for (file, want) in invalid {
        match Recipe::load(dir.join(file)) {
            Ok(_) => panic!("{file} loaded"),
            Err(e) => assert!(e.to_string().contains(want), "{file}: {e}"),
        }
    }

    // The build configurations also compile with the built-in pipelines.
    let compiler = Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        ..CompileOptions::default()
    });
    for file in [
        "7zip-two-fetches.yaml",
        "bogus-version.yaml",
        "crane.yaml",
        "sed.yaml",
    ] {
        let c = compiler
            .compile_file(dir.join("build_configs").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!c.pipeline.is_empty());
    }
    // Ranges expand over sorted keys, as in melange's test (whose go/build
    // step lacks the required `output`, so a stand-in is used).
    let stub = Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        pipeline_dirs: vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stub-pipelines"),
        ],
        ..CompileOptions::default()
    });
    let c = stub
        .compile_file(dir.join("configuration_load/range-subpackages.melange.yaml"))
        .unwrap();
    let names: Vec<&str> = c.subpackages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cats",
            "dogs",
            "turtles",
            "donatello",
            "leonardo",
            "michelangelo",
            "raphael"
        ]
    );
    assert_eq!(
        c.subpackages[3].pipeline[0].runs,
        "donatello's color is purple"
    );
    let c = compiler
        .compile_file(
            dir.join("configuration_load/env-vars-set-that-have-default-values.melange.yaml"),
        )
        .unwrap();
    assert_eq!(
        c.environment.environment["HOME"],
        "/home/build/special-case"
    );
    assert_eq!(c.environment.environment["GOPATH"], "/var/cache/melange/go");
    assert_eq!(
        c.environment.environment["GOMODCACHE"],
        "/var/cache/melange/gomodcache"
    );
}
