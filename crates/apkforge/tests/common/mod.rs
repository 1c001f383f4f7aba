//! Helpers shared by the end-to-end tests: run the binary, check outcomes.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `apkforge` in `dir` with a fixed SOURCE_DATE_EPOCH.
pub fn apkforge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap_or_else(|e| panic!("running apkforge: {e}"))
}

/// Asserts success; returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts failure; returns stderr.
pub fn fail(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "unexpected success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts two files have identical bytes (without dumping them).
pub fn assert_same_file(a: &Path, b: &Path) {
    let (x, y) = (
        std::fs::read(a).unwrap_or_default(),
        std::fs::read(b).unwrap_or_default(),
    );
    assert!(
        x == y,
        "{} ({} bytes) and {} ({} bytes) differ",
        a.display(),
        x.len(),
        b.display(),
        y.len()
    );
}
