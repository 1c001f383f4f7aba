//! Runs stopped part way: SIGTERM and SIGINT leave nothing behind; after
//! SIGKILL the next run removes what was left; a run never removes what a
//! concurrent live run is writing.

mod common;

use common::{apkforge, ok};

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testsupport::{FileServer, ServerOptions, fixtures};

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

/// Entries of `dir` whose names start with one of `prefixes`.
fn temps(dir: &Path, prefixes: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    prefixes.iter().any(|p| name.starts_with(p))
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Every `.tmp-*` below `dir`, at any depth.
fn cache_temps(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                found.push(p.clone());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    found
}

fn spawn(dir: &Path, args: &[&str], tmp: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &mut Child, name: &str) -> String {
    Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "survived {name}");
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    err
}

/// A repository that accepts connections and never answers: an image
/// build stays at its first download for as long as its limit allows.
fn silent_repository() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alpine-3.19", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    url
}

fn image_config(dir: &Path, name: &str, repo: &str) {
    let key = fixtures().join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub");
    fs::write(
        dir.join(name),
        format!(
            "contents:\n  keyring:\n    - {}\n  repositories:\n    - {repo}\n  packages:\n    - busybox\narchs:\n  - x86_64\n",
            key.display()
        ),
    )
    .unwrap();
}

#[test]
fn image_builds_clean_up_after_signals_and_kills() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmp = d.join("tmp");
    fs::create_dir_all(d.join("out")).unwrap();
    fs::create_dir_all(&tmp).unwrap();
    image_config(d, "stuck.yaml", &silent_repository());
    let server = FileServer::start(&fixtures(), ServerOptions::default());
    image_config(d, "good.yaml", &format!("{}/alpine-3.19", server.url));
    let stuck = [
        "image",
        "build",
        "stuck.yaml",
        "x:1",
        "out/x.tar",
        "--cache-dir",
        "cache",
        "--http-timeout",
        "10m",
    ];
    let beside = |d: &Path| temps(&d.join("out"), &[".apkforge"]);
    // The build waits on its index download, its work directory beside
    // the output and the download's temp file in the cache.
    let started = |d: &Path| !beside(d).is_empty() && !cache_temps(&d.join("cache")).is_empty();

    for sig in ["-TERM", "-INT"] {
        let mut child = spawn(d, &stuck, &tmp);
        wait_for("the build to start downloading", || started(d));
        let err = signal(&mut child, sig);
        assert_eq!(beside(d), Vec::<PathBuf>::new(), "after {sig}: {err}");
        assert_eq!(
            cache_temps(&d.join("cache")),
            Vec::<PathBuf>::new(),
            "after {sig}"
        );
    }

    // Killed outright, the build leaves its entries ...
    let mut child = spawn(d, &stuck, &tmp);
    wait_for("the build to start downloading", || started(d));
    signal(&mut child, "-KILL");
    let left = beside(d);
    let left_cache = cache_temps(&d.join("cache"));
    assert_eq!(
        (left.len(), left_cache.len()),
        (1, 1),
        "{left:?} {left_cache:?}"
    );
    // ... which the next build removes ...
    let mut live = spawn(d, &stuck, &tmp);
    let replaced = |d: &Path| {
        let (b, c) = (beside(d), cache_temps(&d.join("cache")));
        b.len() == 1 && b != left && c.len() == 1 && c != left_cache
    };
    wait_for("the next build to replace the stale entries", || {
        replaced(d)
    });
    let live_entries = (beside(d), cache_temps(&d.join("cache")));
    // ... and a build running meanwhile leaves the live build's alone.
    let out = apkforge(
        &[
            "image",
            "build",
            "good.yaml",
            "x:1",
            "out/x.tar",
            "--cache-dir",
            "cache",
        ],
        d,
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("removed"), "{err}");
    assert!(d.join("out/x.tar").is_file());
    assert_eq!((beside(d), cache_temps(&d.join("cache"))), live_entries);
    let err = signal(&mut live, "-TERM");
    assert!(
        err.contains("removed 2 temp file(s) left by interrupted runs"),
        "{err}"
    );
    assert_eq!(beside(d), Vec::<PathBuf>::new());
    assert_eq!(cache_temps(&d.join("cache")), Vec::<PathBuf>::new());
}

/// A signing key, and recipes whose one step sleeps for as long as the
/// file `delay` in their source directory says.
struct Recipes {
    dir: tempfile::TempDir,
}

impl Recipes {
    fn new() -> Recipes {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
        fs::create_dir(d.join("tmp")).unwrap();
        let fx = fixtures();
        for (name, delay) in [("slow", "617"), ("quick", "0")] {
            fs::create_dir_all(d.join(name)).unwrap();
            fs::write(d.join(name).join("delay"), delay).unwrap();
            fs::write(
                d.join(name).join(format!("{name}.yaml")),
                format!(
                    "package:\n  name: {name}\n  version: 1.0.0\n  epoch: 0\n  description: sleeps\n  copyright:\n    - license: MIT\n\
                     environment:\n  contents:\n    keyring:\n      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n    repositories:\n      - {fx}/alpine-3.19\n    packages:\n      - busybox\n\
                     pipeline:\n  - runs: |\n      sleep \"$(cat delay)\"\n      mkdir -p ${{{{targets.destdir}}}}/usr/share/{name}\n      echo done > ${{{{targets.destdir}}}}/usr/share/{name}/done\n",
                    fx = fx.display()
                ),
            )
            .unwrap();
        }
        Recipes { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn args(name: &str) -> Vec<String> {
        [
            "package",
            "build",
            &format!("{name}/{name}.yaml"),
            "--signing-key",
            "test.rsa",
            "--out-dir",
            "packages",
            "--apk-cache-dir",
            "cache",
            "--cache-dir",
            "sources",
        ]
        .map(String::from)
        .to_vec()
    }

    fn start(&self, name: &str) -> Child {
        let args = Recipes::args(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spawn(self.path(), &args, &self.path().join("tmp"))
    }

    fn build(&self, name: &str) -> String {
        let mut child = self.start(name);
        let status = child.wait().unwrap();
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        assert!(status.success(), "{err}");
        err
    }

    fn work_dirs(&self) -> Vec<PathBuf> {
        temps(&self.path().join("tmp"), &["apkforge-"])
    }

    /// Temp files beside the packages and in the caches.
    fn other_temps(&self) -> Vec<PathBuf> {
        let d = self.path();
        let mut all = temps(&d.join("packages/x86_64"), &[".tmp"]);
        all.extend(cache_temps(&d.join("cache")));
        all.extend(cache_temps(&d.join("sources")));
        all
    }
}

/// Whether some process runs `sleep 617` (the slow recipe's step; a
/// duration no other test uses).
fn sleeping() -> bool {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|e| fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x00617\x00"))
}

#[test]
fn package_builds_clean_up_after_signals_and_kills() {
    let r = Recipes::new();
    // Builds the environment once, into the cache.
    r.build("quick");
    assert_eq!(r.work_dirs(), Vec::<PathBuf>::new());

    for sig in ["-TERM", "-INT"] {
        let mut child = r.start("slow");
        wait_for("the step to run", sleeping);
        let err = signal(&mut child, sig);
        assert_eq!(r.work_dirs(), Vec::<PathBuf>::new(), "after {sig}: {err}");
        assert_eq!(r.other_temps(), Vec::<PathBuf>::new(), "after {sig}");
        wait_for("the sandbox to end", || !sleeping());
    }

    // Killed outright: the work directory stays ...
    let mut child = r.start("slow");
    wait_for("the step to run", sleeping);
    signal(&mut child, "-KILL");
    wait_for("the sandbox to end", || !sleeping());
    let left = r.work_dirs();
    assert_eq!(left.len(), 1, "{left:?}");
    // ... until the next build removes it ...
    let mut live = r.start("slow");
    wait_for("the step to run", sleeping);
    let now = r.work_dirs();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, left);
    // ... while a build running meanwhile leaves the live build's alone.
    let err = r.build("quick");
    assert!(!err.contains("removed"), "{err}");
    assert_eq!(r.work_dirs(), now);
    assert!(sleeping(), "the live build was disturbed");
    let err = signal(&mut live, "-TERM");
    assert!(
        err.contains("removed 1 temp file(s) left by interrupted runs"),
        "{err}"
    );
    wait_for("the sandbox to end", || !sleeping());
    assert_eq!(r.work_dirs(), Vec::<PathBuf>::new());
    assert_eq!(r.other_temps(), Vec::<PathBuf>::new());
    assert!(
        r.path()
            .join("packages/x86_64/quick-1.0.0-r0.apk")
            .is_file()
    );
}
