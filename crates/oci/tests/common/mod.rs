//! Helpers shared by the integration tests: fixtures, tools, a real
//! busybox layer, directory comparison.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use apk_format::tar_write::{TarHeader, TarKind, TarWriter};
use flate2::{Compression, GzBuilder};
use oci::{Image, ImageConfig, Layer, Platform, build_image};

/// The shared fixtures directory (`APKFORGE_FIXTURES` or
/// `<repo>/../shared/fixtures`).
pub fn fixtures() -> PathBuf {
    match std::env::var_os("APKFORGE_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

/// Path of a required external tool; panics naming it (and its apt
/// package) when it is missing, so the test fails instead of skipping.
pub fn tool(name: &str, apt_package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in
        std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
    {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "required tool `{name}` is not installed (apt package `{apt_package}`; \
         crates/oci/TEST-DEPS lists what these tests need)"
    );
}

/// Runs a command, panicking with its output when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The static busybox that `busybox-static` installs.
pub fn busybox() -> Vec<u8> {
    let path = Path::new("/bin/busybox");
    assert!(
        path.is_file(),
        "required file /bin/busybox is missing (apt package `busybox-static`)"
    );
    fs::read(path).unwrap()
}

/// Writes a deterministic gzip layer with `bin/busybox` and
/// `bin/sh -> busybox` and describes it.
pub fn busybox_layer(dir: &Path) -> Layer {
    let busybox = busybox();
    let path = dir.join("busybox-layer.tar.gz");
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(File::create(&path).unwrap(), Compression::default());
    let mut tar = TarWriter::new(gz);
    let mut bin = TarHeader::new("bin", TarKind::Directory, 0o755);
    bin.mtime = 0;
    tar.append(&bin, &mut std::io::empty()).unwrap();
    let mut bb = TarHeader::new("bin/busybox", TarKind::File, 0o755);
    bb.size = busybox.len() as u64;
    tar.append(&bb, &mut &busybox[..]).unwrap();
    let mut sh = TarHeader::new("bin/sh", TarKind::Symlink, 0o777);
    sh.link = "busybox".into();
    tar.append(&sh, &mut std::io::empty()).unwrap();
    tar.finish().unwrap();
    let mut file = tar.into_inner().finish().unwrap();
    file.flush().unwrap();
    Layer::from_gzip_file(&path).unwrap()
}

/// An image config that runs `/bin/sh -c 'echo ok'`.
pub fn shell_config(platform: Platform) -> ImageConfig {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.title".to_owned(),
        "apkforge <test> & more".to_owned(),
    );
    ImageConfig {
        platform,
        created: "2024-01-02T03:04:05Z".to_owned(),
        entrypoint: vec!["/bin/sh".into(), "-c".into()],
        cmd: vec!["echo ok".into()],
        env: vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".into()],
        working_dir: Some("/".into()),
        volumes: vec!["/data".into()],
        annotations,
        ..ImageConfig::default()
    }
}

/// The busybox image for `platform`.
pub fn shell_image(dir: &Path, platform: Platform) -> Image {
    build_image(&shell_config(platform), vec![busybox_layer(dir)])
}

/// Every file below `dir` with its bytes, by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `sha256:<hex>` of a file.
pub fn file_digest(path: &Path) -> String {
    oci::sha256_digest(&fs::read(path).unwrap())
}

/// Parses JSON bytes.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}
