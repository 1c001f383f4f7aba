//! Shared test helpers.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use image_config::{Config, ConfigError, LoadOptions, LoadedConfig};

/// `APKFORGE_FIXTURES`, or `shared/fixtures` beside the repository.
pub fn fixtures() -> PathBuf {
    if let Some(p) = std::env::var_os("APKFORGE_FIXTURES") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        p.is_dir(),
        "fixtures not found at {} (set APKFORGE_FIXTURES)",
        p.display()
    );
    p
}

/// A scratch directory holding the given files.
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// Loads `name` from `dir`, with `dir` as the working directory.
pub fn load_in(dir: &Path, name: &str) -> Result<LoadedConfig, ConfigError> {
    Config::load(
        name,
        &LoadOptions {
            cwd: Some(dir.to_path_buf()),
            include_paths: Vec::new(),
        },
    )
}

/// Parses `yaml` as `apko.yaml` and returns the error message.
pub fn parse_err(yaml: &str) -> String {
    Config::parse_str(yaml, "apko.yaml")
        .expect_err("expected an error")
        .to_string()
}

/// Parses and validates `yaml` as `apko.yaml`, returning the error message.
pub fn validate_err(yaml: &str) -> String {
    let mut config = Config::parse_str(yaml, "apko.yaml").expect("parses");
    config
        .validate()
        .expect_err("expected an error")
        .to_string()
}
