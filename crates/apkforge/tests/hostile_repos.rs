//! Hostile repositories, served over loopback HTTP and signed with a key
//! the config trusts: crafted from the real fixtures inside each test.

mod common;

use common::{apkforge, fail};

use std::fs;
use std::path::{Path, PathBuf};

use apk_format::index::IndexEntry;
use apk_format::index_archive::{read_index_archive, sign_index_archive, write_index_archive};
use apk_format::signing::SigningKey;
use testsupport::{FileServer, ServerOptions, fixtures};

/// A directory served over HTTP (resolving `..` in URLs as nginx does)
/// holding `alpine-3.19` and `x` (links to the fixture repository and its
/// `x86_64/`) and a trusted key `evil.rsa.pub`.
struct Site {
    dir: tempfile::TempDir,
    key: SigningKey,
    server: FileServer,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::os::unix::fs::symlink(fixtures().join("alpine-3.19"), d.join("alpine-3.19")).unwrap();
        std::os::unix::fs::symlink(fixtures().join("alpine-3.19/x86_64"), d.join("x")).unwrap();
        let key = SigningKey::generate("evil.rsa.pub", 2048).unwrap();
        fs::write(d.join("evil.rsa.pub"), key.public_pem().unwrap()).unwrap();
        fs::write(d.join("evil.rsa"), key.private_pem().unwrap()).unwrap();
        let server = FileServer::start(
            d,
            ServerOptions {
                resolve_dot_segments: true,
                ..Default::default()
            },
        );
        Site { dir, key, server }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `repo/x86_64/APKINDEX.tar.gz` holding `entries`, signed.
    fn index(&self, repo: &str, entries: &[IndexEntry]) {
        let dir = self.path().join(repo).join("x86_64");
        fs::create_dir_all(&dir).unwrap();
        let unsigned = write_index_archive("", entries).unwrap();
        let signed = sign_index_archive(&unsigned, &self.key).unwrap();
        fs::write(dir.join("APKINDEX.tar.gz"), signed).unwrap();
    }

    /// A config trusting the site's key, installing `packages` from `repo`.
    fn config(&self, name: &str, repo: &str, packages: &[&str]) -> PathBuf {
        let pkgs: String = packages.iter().map(|p| format!("    - {p}\n")).collect();
        let path = self.path().join(format!("{name}.yaml"));
        fs::write(
            &path,
            format!(
                "contents:\n  keyring:\n    - {url}/evil.rsa.pub\n  repositories:\n    - {url}/{repo}\n  packages:\n{pkgs}archs: [x86_64]\n",
                url = self.server.url
            ),
        )
        .unwrap();
        path
    }

    /// `image build` of a config that must fail; returns stderr after
    /// checking that nothing but the cache appeared in `work`.
    fn build_fails(&self, config: &Path, work: &Path) -> String {
        let outside = |mut l: Vec<String>| {
            l.retain(|p| !p.starts_with("cache"));
            l
        };
        let before = outside(listing(work));
        let out = work.join("out.tar");
        let err = fail(&apkforge(
            &[
                "image",
                "build",
                config.to_str().unwrap(),
                "x:1",
                out.to_str().unwrap(),
                "--cache-dir",
                work.join("cache").to_str().unwrap(),
            ],
            work,
        ));
        assert!(!err.contains("panicked"), "{err}");
        let after = outside(listing(work));
        assert_eq!(before, after, "files appeared outside the cache: {err}");
        let served = listing(self.path());
        assert!(
            served
                .iter()
                .all(|p| !p.contains("apk-v1") && !p.ends_with(".apk")),
            "files appeared in the served directory: {served:?}"
        );
        err
    }
}

/// Every path below `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

fn alpine_entries() -> Vec<IndexEntry> {
    let f = fs::File::open(fixtures().join("alpine-3.19/x86_64/APKINDEX.tar.gz")).unwrap();
    read_index_archive(std::io::BufReader::new(f))
        .unwrap()
        .entries
}

#[test]
fn index_names_and_versions_never_become_paths() {
    let site = Site::new();
    let work = tempfile::tempdir().unwrap();
    // Where the escaping cache file would land.
    fs::create_dir(work.path().join("x")).unwrap();
    let entries = alpine_entries();
    let musl = entries
        .iter()
        .find(|e| e.package.name == "musl")
        .unwrap()
        .clone();
    // The entry's name climbs from `<repo>/x86_64/` (and from the cache's
    // `apk-v1/`) to `x/`, where the server has the real musl package, so its
    // C: matches the download.
    let mut by_name = musl.clone();
    by_name.package.name = "../../x/musl".into();
    by_name.package.provides = vec![apk_format::Dependency::parse("evil=1").unwrap()];
    site.index("byname", &[by_name]);
    let err = site.build_fails(&site.config("byname", "byname", &["evil"]), work.path());
    assert!(
        err.contains("byname/x86_64/APKINDEX.tar.gz")
            && err.contains("../../x/musl")
            && err.contains("package name"),
        "{err}"
    );
    // The same through the version.
    let mut by_version = musl.clone();
    by_version.package.version = format!("1/../../../{}", musl.package.version);
    site.index("byversion", &[by_version]);
    let err = site.build_fails(
        &site.config("byversion", "byversion", &["musl"]),
        work.path(),
    );
    assert!(
        err.contains("byversion/x86_64/APKINDEX.tar.gz") && err.contains("version `1/../"),
        "{err}"
    );
}
