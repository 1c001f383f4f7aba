//! The crate graph keeps the edges docs/ARCHITECTURE.md forbids out.

use std::collections::BTreeMap;
use std::process::Command;

fn workspace_deps() -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null()) // normal dependencies only
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn forbidden_edges_are_absent() {
    let deps = workspace_deps();
    assert!(deps.len() >= 14, "{:?}", deps.keys());
    for (name, list) in &deps {
        if name == "apkforge" {
            continue;
        }
        for ui in ["clap", "anyhow", "indicatif"] {
            assert!(
                !list.contains(&ui.to_string()),
                "library `{name}` depends on `{ui}`"
            );
        }
    }
    let only = |name: &str, allowed: &[&str]| {
        for d in &deps[name] {
            assert!(allowed.contains(&d.as_str()), "`{name}` depends on `{d}`");
        }
    };
    // The solver is pure: no I/O crates (a hasher for its name tables).
    only("apk-solve", &["apk-format", "rustc-hash", "thiserror"]);
    // rootfs never talks to repositories; the orchestrator wires them.
    assert!(!deps["rootfs"].contains(&"apk-repo".to_string()));
    // Image builds do not depend on package builds.
    assert!(!deps["image"].contains(&"pkgbuild".to_string()));
    assert!(!deps["image"].contains(&"recipe".to_string()));
    // Recipe trees sit on top of single builds: only the binary uses them,
    // and they build through pkgbuild, not by running the binary.
    for (name, list) in &deps {
        if name != "apkforge" {
            assert!(
                !list.contains(&"pkgtree".to_string()),
                "`{name}` depends on `pkgtree`"
            );
        }
    }
    assert!(deps["pkgtree"].contains(&"pkgbuild".to_string()));
    only(
        "pkgtree",
        &[
            "apk-format",
            "apk-repo",
            "apk-solve",
            "image",
            "pkgbuild",
            "recipe",
            "sandbox",
            "scratch",
            "hex",
            "serde",
            "serde_json",
            "serde-saphyr",
            "sha2",
            "tempfile",
            "thiserror",
        ],
    );
}
