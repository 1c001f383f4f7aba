//! The `git-checkout` pipeline, done by apkforge on the host with the
//! host's `git`, exactly as melange's pipeline script does it in the
//! guest: clone `repository` at `branch`/`tag` with `depth`, check that
//! HEAD is `expected-commit` (resetting to it on a full-history branch
//! clone), apply `cherry-picks` with the build's timestamp, then place the
//! tree (with its `.git`) at `destination`. Build steps never need the
//! network for it.
//!
//! Checkouts pinned by `expected-commit` are kept in the source cache as a
//! tar (`git-checkout/<key>.tar`, key = every input that shapes the
//! result) with its SHA-256 beside it; a cached tar whose checksum no
//! longer matches is dropped and the repository cloned again.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::Log;

/// What the pipeline's inputs ask for (defaults applied by the compiler).
struct Request<'a> {
    repo: &'a str,
    branch: &'a str,
    tag: &'a str,
    expected: &'a str,
    tip: bool,
    depth: i64,
    recurse: bool,
    shallow_submodules: bool,
    jobs: &'a str,
    cherry_picks: &'a str,
    sparse: &'a str,
    retries: u32,
    backoff: u64,
    max_backoff: u64,
}

fn flag(with: &BTreeMap<String, String>, key: &str) -> Result<bool, String> {
    match with.get(key).map_or("false", |s| s.trim()) {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        other => Err(format!("{key} must be true or false, not `{other}`")),
    }
}

fn number<T: std::str::FromStr>(
    with: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, String> {
    match with.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("{key} must be a number, not `{s}`")),
    }
}

impl<'a> Request<'a> {
    fn parse(with: &'a BTreeMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| with.get(k).map_or("", |s| s.trim());
        let repo = get("repository");
        if repo.is_empty() {
            return Err("no repository given".into());
        }
        let (branch, tag, expected) = (get("branch"), get("tag"), get("expected-commit"));
        let tip = flag(with, "expected-commit-is-branch-tip")?;
        if !branch.is_empty() && !tag.is_empty() {
            return Err(format!(
                "both branch ({branch}) and tag ({tag}) are given; give one"
            ));
        }
        if tip && (branch.is_empty() || expected.is_empty()) {
            return Err(
                "expected-commit-is-branch-tip needs a branch and an expected-commit".into(),
            );
        }
        let depth = match get("depth") {
            "" | "unset" => {
                if !branch.is_empty() && !expected.is_empty() && !tip {
                    -1
                } else {
                    1
                }
            }
            d => d
                .parse::<i64>()
                .ok()
                .filter(|d| *d == -1 || *d > 0)
                .ok_or_else(|| format!("depth must be -1 or a positive number, not `{d}`"))?,
        };
        Ok(Request {
            repo,
            branch,
            tag,
            expected,
            tip,
            depth,
            recurse: flag(with, "recurse-submodules")?,
            shallow_submodules: flag(with, "shallow-submodules")?,
            jobs: with.get("submodule-jobs").map_or("1", |s| s.trim()),
            cherry_picks: with.get("cherry-picks").map_or("", String::as_str),
            sparse: get("sparse-paths"),
            retries: number(with, "max-retries", 3)?,
            backoff: number(with, "initial-backoff", 2)?,
            max_backoff: number(with, "max-backoff", 60)?,
        })
    }

    /// The cache key: everything that shapes the checkout.
    fn cache_key(&self, source_date_epoch: u64) -> String {
        let mut h = Sha256::new();
        for part in [
            "git-checkout-v1",
            self.repo,
            self.branch,
            self.tag,
            self.expected,
            &self.tip.to_string(),
            &self.depth.to_string(),
            &self.recurse.to_string(),
            &self.shallow_submodules.to_string(),
            self.sparse,
            self.cherry_picks,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        if !self.cherry_picks.trim().is_empty() {
            h.update(source_date_epoch.to_string().as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// Runs `git` in `dir` with none of the host user's configuration, within
/// the process's network time limits ([`apk_repo::Timeouts`], the command
/// line's `--http-timeout` and `--http-deadline`): an HTTP transfer that
/// stays silent for the stall limit fails (git's low-speed limit), and a
/// command still running at the deadline is killed, whatever the transport.
fn git(dir: &Path, home: &Path, args: &[&str], env: &[(&str, String)]) -> Result<String, String> {
    let limits = apk_repo::Timeouts::process_default();
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
        .env(
            "GIT_HTTP_LOW_SPEED_TIME",
            limits.stall.as_secs().max(1).to_string(),
        )
        .env("LC_ALL", "C")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `git` ({e}); git-checkout needs git on the host"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limits.deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`git {}` was stopped after {} s, the network deadline (--http-deadline)",
                    args.join(" "),
                    limits.deadline.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("`git {}`: {e}", args.join(" "))),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if status.success() {
        return Ok(String::from_utf8_lossy(&out).trim().to_string());
    }
    let err = String::from_utf8_lossy(&err);
    let said: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    Err(format!(
        "`git {}` failed: {}",
        args.join(" "),
        said[said.len().saturating_sub(3)..].join("; ")
    ))
}

/// Reads a child's pipe to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// Checks out the repository `with` describes into `dest` (a host
/// directory inside the workspace). `scratch` is a private directory for
/// the clone; `cache` the source cache, if any.
pub fn checkout(
    with: &BTreeMap<String, String>,
    dest: &Path,
    scratch: &Path,
    cache: Option<&Path>,
    source_date_epoch: u64,
    log: &dyn Log,
) -> Result<(), String> {
    let req = Request::parse(with)?;
    let entry = cache.filter(|_| !req.expected.is_empty()).map(|c| {
        c.join("git-checkout")
            .join(req.cache_key(source_date_epoch))
    });
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    if let Some(entry) = &entry
        && from_cache(entry, dest, log)?
    {
        return Ok(());
    }
    let home = scratch.join("home");
    let work = scratch.join("clone");
    std::fs::create_dir_all(&home).map_err(|e| format!("{}: {e}", home.display()))?;
    clone(&req, &work, &home, log)?;
    verify(&req, &work, &home, log)?;
    cherry_pick(&req, &work, &home, source_date_epoch, log)?;
    if let Some(entry) = &entry {
        // A cache that cannot be written only costs the next build time.
        if let Err(e) = store(entry, &work) {
            log.line(&format!("    warning: not cached: {e}"));
        }
    }
    crate::steps::copy_tree(&work, dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

fn clone(req: &Request<'_>, work: &Path, home: &Path, log: &dyn Log) -> Result<(), String> {
    let mut args: Vec<String> = [
        "clone",
        "--quiet",
        "--origin=origin",
        "--config=user.name=Melange Build",
        "--config=user.email=melange-build@cgr.dev",
        "--config=advice.detachedHead=false",
    ]
    .map(String::from)
    .to_vec();
    let reference = if req.tag.is_empty() {
        req.branch
    } else {
        req.tag
    };
    if !reference.is_empty() {
        args.push(format!("--branch={reference}"));
    }
    if req.recurse {
        args.push("--recurse-submodules".into());
        args.push(format!("--jobs={}", req.jobs));
        if req.shallow_submodules {
            args.push("--shallow-submodules".into());
        }
    }
    if !req.sparse.is_empty() {
        args.extend(["--sparse".into(), "--filter=blob:none".into()]);
    }
    if req.depth != -1 {
        args.push(format!("--depth={}", req.depth));
    }
    args.extend([
        "--".into(),
        req.repo.to_string(),
        work.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    log.line(&format!(
        "    cloning {}{}",
        req.repo,
        if reference.is_empty() {
            String::new()
        } else {
            format!(" at {reference}")
        }
    ));
    let mut wait = req.backoff;
    let mut attempt = 0;
    let parent = work.parent().unwrap_or(work);
    // Retries stop at the network deadline, as HTTP downloads' do.
    let deadline = apk_repo::Timeouts::process_default().deadline;
    let started = Instant::now();
    loop {
        match git(parent, home, &args, &[]) {
            Ok(_) => break,
            Err(e)
                if attempt >= req.retries
                    || started.elapsed() + Duration::from_secs(wait) >= deadline =>
            {
                return Err(if attempt == 0 {
                    e
                } else {
                    format!("{e} (after {} attempts)", attempt + 1)
                });
            }
            Err(e) => {
                attempt += 1;
                log.line(&format!(
                    "    {e}; retrying in {wait}s ({attempt}/{})",
                    req.retries
                ));
                let _ = std::fs::remove_dir_all(work);
                std::thread::sleep(Duration::from_secs(wait));
                wait = (wait * 2).min(req.max_backoff);
            }
        }
    }
    if !req.sparse.is_empty() {
        let mut a = vec!["sparse-checkout", "set", "--cone"];
        a.extend(req.sparse.split_whitespace());
        git(work, home, &a, &[])?;
    }
    Ok(())
}

/// melange's commit checks: HEAD (or the tag) must be `expected-commit`.
fn verify(req: &Request<'_>, work: &Path, home: &Path, log: &dyn Log) -> Result<(), String> {
    if !req.tag.is_empty() {
        // `clone --branch` prefers a branch of the same name: take the tag.
        let depth = format!("--depth={}", req.depth);
        let refspec = format!("+refs/tags/{0}:refs/origin/tags/{0}", req.tag);
        let mut a = vec!["fetch", "--quiet", "origin"];
        if req.depth != -1 {
            a.push(&depth);
        }
        a.extend(["--no-tags", &refspec]);
        git(work, home, &a, &[])?;
        let tag_ref = format!("origin/tags/{}", req.tag);
        git(work, home, &["checkout", "--quiet", &tag_ref], &[])?;
        let found = git(work, home, &["rev-parse", "--verify", "HEAD"], &[])?;
        if req.expected.is_empty() || req.expected == found {
            return Ok(());
        }
        let object = git(
            work,
            home,
            &[
                "rev-parse",
                "--verify",
                "--end-of-options",
                &format!("refs/origin/tags/{}", req.tag),
            ],
            &[],
        )?;
        if object != req.expected {
            return Err(format!(
                "expected commit {} for tag {}, found {found}",
                req.expected, req.tag
            ));
        }
        log.line(&format!(
            "    warning: expected-commit {} is the annotated tag object of {}; its commit is {found}",
            req.expected, req.tag
        ));
        return Ok(());
    }
    let found = git(work, home, &["rev-parse", "--verify", "HEAD"], &[])?;
    if req.expected.is_empty() || req.expected == found {
        return Ok(());
    }
    let on = if req.branch.is_empty() {
        "HEAD"
    } else {
        req.branch
    };
    if req.tip {
        return Err(format!(
            "expected commit {} is not the tip of branch {on} ({found})",
            req.expected
        ));
    }
    if req.depth != -1 {
        return Err(format!(
            "expected commit {} on {on}, found {found}; set depth to -1 to reset to it",
            req.expected
        ));
    }
    if git(
        work,
        home,
        &["merge-base", "--is-ancestor", req.expected, &found],
        &[],
    )
    .is_err()
    {
        return Err(format!(
            "expected commit {} is not reachable from {on} (tip {found})",
            req.expected
        ));
    }
    log.line(&format!(
        "    {on} is at {found}; resetting to the expected commit {}",
        req.expected
    ));
    git(
        work,
        home,
        &["reset", "--quiet", "--hard", req.expected],
        &[],
    )
    .map(|_| ())
}

fn cherry_pick(
    req: &Request<'_>,
    work: &Path,
    home: &Path,
    source_date_epoch: u64,
    log: &dyn Log,
) -> Result<(), String> {
    let date = format!("@{}", source_date_epoch.max(315_532_800));
    let mut fetched: Vec<String> = Vec::new();
    for raw in req.cherry_picks.lines() {
        let line = raw.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let Some((what, comment)) = line.split_once(':') else {
            return Err(format!(
                "cherry-pick `{}` is not `[branch/]commit: comment`",
                line.trim()
            ));
        };
        if comment.trim().is_empty() {
            return Err(format!("cherry-pick `{}` has no comment", what.trim()));
        }
        let what = what.trim();
        let (branch, hash) = match what.rsplit_once('/') {
            Some((b, h)) => (b, h),
            None => ("", what),
        };
        if !branch.is_empty() && !fetched.iter().any(|b| b == branch) {
            let shallow = git(work, home, &["rev-parse", "--is-shallow-repository"], &[])?;
            let refspec = format!("{branch}:{branch}");
            let mut a = vec!["fetch", "--quiet"];
            if shallow == "true" {
                a.push("--unshallow");
            }
            a.extend(["origin", &refspec]);
            git(work, home, &a, &[])?;
            fetched.push(branch.to_string());
        }
        git(
            work,
            home,
            &["cherry-pick", "-x", hash],
            &[("GIT_COMMITTER_DATE", date.clone())],
        )
        .map_err(|e| format!("cherry-pick of {hash} failed: {e}"))?;
        log.line(&format!("    cherry-picked {hash}: {}", comment.trim()));
    }
    Ok(())
}

fn sha256_of(file: &mut std::fs::File) -> std::io::Result<String> {
    file.seek(SeekFrom::Start(0))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// Unpacks a cached checkout into `dest`; false when there is none (or
/// it was corrupted and has been removed).
fn from_cache(entry: &Path, dest: &Path, log: &dyn Log) -> Result<bool, String> {
    let tar = entry.with_extension("tar");
    let sum = entry.with_extension("tar.sha256");
    let (Ok(mut file), Ok(want)) = (std::fs::File::open(&tar), std::fs::read_to_string(&sum))
    else {
        return Ok(false);
    };
    let got = sha256_of(&mut file).map_err(|e| format!("{}: {e}", tar.display()))?;
    if got != want.trim() {
        log.line(&format!(
            "    source cache entry {} is corrupted (sha256 {got}, recorded {}); cloning again",
            tar.display(),
            want.trim()
        ));
        let _ = std::fs::remove_file(&tar);
        let _ = std::fs::remove_file(&sum);
        return Ok(false);
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| format!("{}: {e}", tar.display()))?;
    crate::fetch::unpack(Box::new(std::io::BufReader::new(file)), dest, 0)
        .map_err(|e| format!("{}: {e}", tar.display()))?;
    log.line(&format!(
        "    checkout from the source cache ({})",
        tar.display()
    ));
    Ok(true)
}

/// Writes the checkout at `work` to the cache as `<entry>.tar` and its
/// checksum, each through a temp file and a rename.
fn store(entry: &Path, work: &Path) -> Result<(), String> {
    let dir: PathBuf = entry.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    let mut tmp = scratch::file_in(&dir, crate::TEMP_PREFIX).map_err(err)?;
    {
        let mut b = tar::Builder::new(std::io::BufWriter::new(tmp.as_file_mut()));
        b.follow_symlinks(false);
        b.append_dir_all(".", work).map_err(err)?;
        b.into_inner()
            .map_err(err)?
            .into_inner()
            .map_err(|e| err(e.into_error()))?;
    }
    let sum = sha256_of(tmp.as_file_mut()).map_err(err)?;
    tmp.persist(entry.with_extension("tar"))
        .map_err(|e| err(e.error))?;
    let mut side = scratch::file_in(&dir, crate::TEMP_PREFIX).map_err(err)?;
    std::io::Write::write_all(side.as_file_mut(), format!("{sum}\n").as_bytes()).map_err(err)?;
    side.persist(entry.with_extension("tar.sha256"))
        .map_err(|e| err(e.error))?;
    Ok(())
}
