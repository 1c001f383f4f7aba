//! The evaluated recipe a package carries (`.melange.yaml`) parses back as
//! a recipe, for every fourth recipe of the Wolfi corpus (all of them take
//! most of a minute unoptimized).

use std::path::{Path, PathBuf};

use recipe::{BuildArch, CompileOptions, Compiler, Recipe};

fn fixtures() -> PathBuf {
    std::env::var_os("APKFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

#[test]
fn wolfi_recipes_dump_and_parse_back() {
    let root = fixtures().join("wolfi-os");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("recipes"))
        .expect("wolfi-os recipes")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let files: Vec<PathBuf> = files.into_iter().step_by(4).collect();
    assert!(files.len() > 800);
    let compiler = Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        pipeline_dirs: vec![root.join("pipelines")],
        ..CompileOptions::default()
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let compiled = compiler.compile_file(file).unwrap();
                    let locked = vec!["busybox=1.37.0-r0".to_string()];
                    let yaml = compiled.to_melange_yaml(Some(&locked)).unwrap();
                    match Recipe::parse_str(&yaml, file) {
                        Ok(back) => {
                            let same = back.package.name.as_str() == compiled.package.name.as_str()
                                && back.package.version.as_str()
                                    == compiled.package.version.as_str()
                                && back.subpackages.len() == compiled.subpackages.len()
                                && back.environment.contents.packages.len() == 1;
                            if !same {
                                failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("{}: differs", file.display()));
                            }
                        }
                        Err(e) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: {e}", file.display())),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}
