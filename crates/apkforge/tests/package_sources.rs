//! Sources fetched on the host: `git-checkout` against a real git server
//! on loopback (tags, branches, expected commits, cherry-picks), `fetch`
//! over loopback HTTP, the source cache (`--cache-dir`) with corrupted
//! entries, and the source directory copied into the workspace.

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::path::Path;

use testsupport::git::{GitServer, Repo, git};
use testsupport::{FileServer, ServerOptions, fixtures};

/// A recipe whose environment is Alpine's busybox (no git, no network).
fn recipe(name: &str, pipeline: &str) -> String {
    let fx = fixtures();
    format!(
        "package:\n  name: {name}\n  version: 1.0.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\nenvironment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\npipeline:\n{pipeline}",
        fx = fx.display()
    )
}

fn build(dir: &Path, recipe: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "package",
        "build",
        recipe,
        "--out-dir",
        out,
        "--apk-cache-dir",
        "apkcache",
        "--cache-dir",
        "srccache",
    ];
    args.extend_from_slice(extra);
    apkforge(&args, dir)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The demo files of a built package with their contents.
fn contents(dir: &Path, apk: &str) -> Vec<(String, String)> {
    let unpacked = dir.join(format!("unpacked-{}", apk.replace('/', "_")));
    fs::create_dir_all(&unpacked).unwrap();
    let files = [
        "usr/share/demo/tag.txt",
        "usr/share/demo/branch.txt",
        "usr/share/demo/head",
    ];
    common::untar(&dir.join(apk), &unpacked, &files);
    files
        .iter()
        .map(|f| (f.to_string(), fs::read_to_string(unpacked.join(f)).unwrap()))
        .collect()
}

#[test]
fn git_checkout_runs_on_the_host_pinned_and_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repos = d.join("repos");
    fs::create_dir(&repos).unwrap();
    let repo = Repo::new(&repos, "demo");
    let c1 = repo.commit(
        "one",
        &[
            ("version.txt", "1\n"),
            ("sub/a.txt", "a\n"),
            ("other/b.txt", "b\n"),
        ],
    );
    repo.tag("v1.0.0", Some("release 1.0.0"));
    let tag_object = git(&repo.work, &["rev-parse", "v1.0.0"]);
    // A fix on its own branch, cherry-picked below.
    git(&repo.work, &["checkout", "--quiet", "-b", "fixes"]);
    let fix = repo.commit("fix", &[("fix.txt", "fixed\n")]);
    git(&repo.work, &["checkout", "--quiet", "main"]);
    let c2 = repo.commit("two", &[("version.txt", "2\n")]);
    let server = GitServer::start(&repos);
    let url = format!("{}/demo.git", server.url);
    // A repository with the first one as a submodule.
    let outer = Repo::new(&repos, "outer");
    outer.commit("outer", &[("outer.txt", "outer\n")]);
    git(
        &outer.work,
        &[
            "-c",
            "protocol.allow=always",
            "submodule",
            "add",
            "--quiet",
            &url,
            "inner",
        ],
    );
    let outer_commit = outer.commit("with a submodule", &[]);

    fs::create_dir(d.join("recipe")).unwrap();
    fs::write(d.join("recipe/local.txt"), "from the source dir\n").unwrap();
    let pipeline = format!(
        "  - uses: git-checkout\n    with:\n      repository: {url}\n      tag: v1.0.0\n      expected-commit: {c1}\n      destination: tagged\n      cherry-picks: |\n        fixes/{fix}: a fix\n  - uses: git-checkout\n    with:\n      repository: {url}\n      branch: main\n      expected-commit: {c1}\n      destination: branch\n  - uses: git-checkout\n    with:\n      repository: {url}\n      branch: main\n      expected-commit: {c2}\n      destination: tip\n      depth: 1\n  - uses: git-checkout\n    with:\n      repository: {url}\n      branch: main\n      expected-commit: {c2}\n      expected-commit-is-branch-tip: true\n      sparse-paths: sub\n      destination: sparse\n  - uses: git-checkout\n    with:\n      repository: {}/outer.git\n      branch: main\n      expected-commit: {outer_commit}\n      recurse-submodules: true\n      destination: outer\n  - runs: |\n      test -f sparse/sub/a.txt && test ! -e sparse/other\n      test \"$(cat outer/outer.txt outer/inner/version.txt)\" = \"$(printf 'outer\\n2')\"\n      mkdir -p ${{{{targets.destdir}}}}/usr/share/demo\n      cat tagged/version.txt tagged/fix.txt local.txt > ${{{{targets.destdir}}}}/usr/share/demo/tag.txt\n      cat branch/version.txt tip/version.txt > ${{{{targets.destdir}}}}/usr/share/demo/branch.txt\n      cat tip/.git/HEAD > ${{{{targets.destdir}}}}/usr/share/demo/head\n      [ ! -e branch/fix.txt ]\n",
        server.url
    );
    fs::write(d.join("recipe/demo.yaml"), recipe("demo", &pipeline)).unwrap();
    let out = build(d, "recipe/demo.yaml", "out", &[]);
    ok(&out);
    let log = stderr(&out);
    assert!(log.contains(&format!("cloning {url} at v1.0.0")), "{log}");
    assert!(log.contains("git not available"), "{log}");
    let apk = "out/x86_64/demo-1.0.0-r0.apk";
    let files = contents(d, apk);
    assert_eq!(
        files,
        vec![
            (
                "usr/share/demo/tag.txt".to_string(),
                "1\nfixed\nfrom the source dir\n".to_string()
            ),
            (
                "usr/share/demo/branch.txt".to_string(),
                "1\n2\n".to_string()
            ),
            (
                "usr/share/demo/head".to_string(),
                "ref: refs/heads/main\n".to_string()
            ),
        ]
    );
    // The pinned checkouts are in the source cache, with their checksums.
    let cached: Vec<String> = fs::read_dir(d.join("srccache/git-checkout"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        cached.iter().filter(|n| n.ends_with(".tar")).count(),
        5,
        "{cached:?}"
    );

    // Again, from the cache: no clone, the same package.
    let again = build(d, "recipe/demo.yaml", "again", &[]);
    ok(&again);
    let log = stderr(&again);
    assert!(!log.contains("cloning"), "{log}");
    assert_eq!(
        log.matches("checkout from the source cache").count(),
        5,
        "{log}"
    );
    common::assert_same_file(&d.join(apk), &d.join("again/x86_64/demo-1.0.0-r0.apk"));

    // A corrupted entry is noticed and cloned again.
    let entry = d
        .join("srccache/git-checkout")
        .join(cached.iter().find(|n| n.ends_with(".tar")).unwrap());
    let mut bytes = fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&entry, bytes).unwrap();
    let third = build(d, "recipe/demo.yaml", "third", &[]);
    ok(&third);
    let log = stderr(&third);
    assert!(
        log.contains("is corrupted") && log.contains("cloning again"),
        "{log}"
    );
    assert_eq!(log.matches("cloning ").count(), 2, "{log}");
    common::assert_same_file(&d.join(apk), &d.join("third/x86_64/demo-1.0.0-r0.apk"));

    // The annotated tag object is accepted for a tag, with a warning.
    let pipeline = format!(
        "  - uses: git-checkout\n    with:\n      repository: {url}\n      tag: v1.0.0\n      expected-commit: {tag_object}\n  - runs: test \"$(cat version.txt)\" = 1\n"
    );
    fs::write(d.join("recipe/tagobj.yaml"), recipe("tagobj", &pipeline)).unwrap();
    let out = build(d, "recipe/tagobj.yaml", "out", &[]);
    ok(&out);
    assert!(
        stderr(&out).contains("annotated tag object"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_sources_are_clear_errors_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repos = d.join("repos");
    fs::create_dir(&repos).unwrap();
    let repo = Repo::new(&repos, "demo");
    let c1 = repo.commit("one", &[("version.txt", "1\n")]);
    repo.tag("v1", None);
    let c2 = repo.commit("two", &[("version.txt", "2\n")]);
    let server = GitServer::start(&repos);
    let url = format!("{}/demo.git", server.url);
    fs::create_dir(d.join("recipe")).unwrap();
    let attempt = |name: &str, pipeline: String| -> String {
        fs::write(
            d.join(format!("recipe/{name}.yaml")),
            recipe(name, &pipeline),
        )
        .unwrap();
        let err = fail(&build(d, &format!("recipe/{name}.yaml"), "out", &[]));
        assert!(
            !d.join(format!("out/x86_64/{name}-1.0.0-r0.apk")).exists(),
            "{name}: package left behind"
        );
        assert!(!d.join("out/x86_64/APKINDEX.tar.gz").exists());
        // Nothing half-written either: no temporary file in the repository.
        let left: Vec<_> = fs::read_dir(d.join("out/x86_64"))
            .map(|r| r.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{name}: left behind {left:?}");
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    // A tag that moved: recipe line, wanted and found commit.
    let err = attempt(
        "wrongtag",
        format!(
            "  - uses: git-checkout\n    with:\n      repository: {url}\n      tag: v1\n      expected-commit: {c2}\n"
        ),
    );
    assert!(
        err.contains("wrongtag.yaml:17:11")
            && err.contains(&format!("expected commit {c2} for tag v1, found {c1}")),
        "{err}"
    );
    // A branch tip that is not the expected commit with a shallow clone.
    let err = attempt(
        "wrongtip",
        format!(
            "  - uses: git-checkout\n    with:\n      repository: {url}\n      branch: main\n      expected-commit: {c1}\n      depth: 1\n"
        ),
    );
    assert!(
        err.contains(&format!("expected commit {c1} on main, found {c2}")),
        "{err}"
    );
    // A branch pinned to its tip that moved on.
    let err = attempt(
        "moved",
        format!(
            "  - uses: git-checkout\n    with:\n      repository: {url}\n      branch: main\n      expected-commit: {c1}\n      expected-commit-is-branch-tip: true\n"
        ),
    );
    assert!(
        err.contains(&format!(
            "expected commit {c1} is not the tip of branch main ({c2})"
        )),
        "{err}"
    );
    // An unreachable server (nothing listens on port 9 of loopback).
    let err = attempt(
        "unreachable",
        format!(
            "  - uses: git-checkout\n    with:\n      repository: git://127.0.0.1:9/demo.git\n      tag: v1\n      expected-commit: {c1}\n      max-retries: 1\n      initial-backoff: 0\n"
        ),
    );
    assert!(
        err.contains("unreachable.yaml:17:11")
            && err.contains("git-checkout of git://127.0.0.1:9/demo.git")
            && err.contains("after 2 attempts"),
        "{err}"
    );
    // A destination outside the workspace.
    let err = attempt(
        "outside",
        format!(
            "  - uses: git-checkout\n    with:\n      repository: {url}\n      destination: /usr/src/demo\n"
        ),
    );
    assert!(err.contains("outside the workspace"), "{err}");
}

#[test]
fn fetch_reuses_the_source_cache_and_refetches_a_corrupted_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
    let server = FileServer::start(&examples, ServerOptions::default());
    let sha = "e03633e95d22deaf98764ecb879adcd0cf2de60d4baf5658ed6daa58fc7c584c";
    let pipeline = format!(
        "  - uses: fetch\n    with:\n      uri: {}/hello-1.0.0.tar.gz\n      expected-sha256: {sha}\n  - runs: |\n      test -f configure && test -f hello-1.0.0.tar.gz\n      ls /var/cache/melange/sha256:{sha}\n",
        server.url
    );
    fs::create_dir(d.join("recipe")).unwrap();
    fs::write(d.join("recipe/fetched.yaml"), recipe("fetched", &pipeline)).unwrap();
    let gets = || {
        server
            .log()
            .iter()
            .filter(|l| l.starts_with("GET /hello-1.0.0.tar.gz 200"))
            .count()
    };
    ok(&build(d, "recipe/fetched.yaml", "out", &[]));
    assert_eq!(gets(), 1);
    let entry = d.join(format!("srccache/sha256:{sha}"));
    assert!(entry.is_file());
    let out = build(d, "recipe/fetched.yaml", "out", &[]);
    ok(&out);
    assert_eq!(gets(), 1, "served from the cache");
    assert!(stderr(&out).contains("from the source cache"));
    fs::write(&entry, b"not the tarball").unwrap();
    let out = build(d, "recipe/fetched.yaml", "out", &[]);
    ok(&out);
    assert!(stderr(&out).contains("is corrupted"), "{}", stderr(&out));
    assert_eq!(gets(), 2);
    assert_eq!(
        sha256_hex(&fs::read(&entry).unwrap()),
        sha,
        "the cache entry is repaired"
    );
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}
