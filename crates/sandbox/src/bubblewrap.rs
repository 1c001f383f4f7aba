//! The bubblewrap runner (Debian's `bwrap`), with melange's sandbox: new
//! user, pid, ipc, uts and (unless networking is on) network namespaces,
//! the root bound at `/`, `/proc`, `/dev`, `/sys` read-only, a clean
//! environment, the requested user and exactly the requested capabilities.
//!
//! As root, the user namespace is mapped by us (see [`crate::idmap`]) while
//! bwrap waits (`--userns-block-fd`), so steps run as the build user yet
//! can give files any owner. Otherwise bwrap maps the caller to the
//! requested user, as melange does when it runs unprivileged. A
//! [`Root::Layered`] root is assembled with an overlay mount in a private
//! mount namespace (`unshare --mount`) just before bwrap starts, so the
//! mount disappears with the sandbox.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};

use crate::{Outcome, Root, RunSpec, Runner, SandboxError};

/// fds bwrap reports its child on and waits on while we map the user
/// namespace.
const INFO_FD: i32 = 8;
const BLOCK_FD: i32 = 9;

/// Mounts the overlay (`$1` lower, `$2` upper, `$3` work, `$4` mount
/// point) and runs the rest of the arguments.
const OVERLAY_SCRIPT: &str = r#"mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" || exit 125
shift 4
exec "$@""#;

/// The bubblewrap runner.
#[derive(Clone, Debug)]
pub struct Bubblewrap {
    /// The `bwrap` program.
    pub program: PathBuf,
    /// Whether we run as root (and so map user namespaces and mount
    /// overlays ourselves).
    pub privileged: bool,
}

impl Default for Bubblewrap {
    fn default() -> Self {
        Bubblewrap {
            program: PathBuf::from("bwrap"),
            privileged: effective_uid() == Some(0),
        }
    }
}

/// This process's effective uid, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl Bubblewrap {
    /// The bwrap arguments for `spec`; `fds` adds the fds through which
    /// bwrap reports its child (and, as root, waits while we map the user
    /// namespace).
    pub fn args(&self, spec: &RunSpec, fds: bool) -> Vec<String> {
        // The root first, as melange does.
        let root = match &spec.root {
            Root::Dir(d) => d,
            Root::Layered { merged, .. } => merged,
        };
        let mut a: Vec<String> = vec!["--bind".into(), root.display().to_string(), "/".into()];
        for b in &spec.binds {
            a.push(if b.read_only { "--ro-bind" } else { "--bind" }.into());
            a.push(b.source.display().to_string());
            a.push(b.target.clone());
        }
        a.push("--unshare-user".into());
        if fds {
            a.extend(["--info-fd".into(), INFO_FD.to_string()]);
            if self.privileged {
                a.extend(["--userns-block-fd".into(), BLOCK_FD.to_string()]);
            }
        }
        a.extend(
            [
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-cgroup-try",
                "--die-with-parent",
                "--hostname",
                "apkforge",
            ]
            .map(String::from),
        );
        if !spec.interactive {
            a.push("--new-session".into());
        }
        if !spec.network {
            a.push("--unshare-net".into());
        }
        a.extend(
            [
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--ro-bind",
                "/sys",
                "/sys",
            ]
            .map(String::from),
        );
        if spec.network {
            a.extend(["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"].map(String::from));
        }
        a.extend([
            "--uid".into(),
            spec.uid.to_string(),
            "--gid".into(),
            spec.gid.to_string(),
            "--cap-drop".into(),
            "ALL".into(),
        ]);
        for c in &spec.capabilities {
            a.extend(["--cap-add".into(), c.clone()]);
        }
        a.push("--clearenv".into());
        for (k, v) in &spec.env {
            a.extend(["--setenv".into(), k.clone(), v.clone()]);
        }
        a.extend(["--chdir".into(), spec.workdir.clone(), "--".into()]);
        a.extend(spec.argv.iter().cloned());
        a
    }

    /// The program and arguments that run `spec` (the overlay wrapper
    /// first for layered roots).
    fn command_line(&self, spec: &RunSpec, fds: bool) -> Result<Vec<String>, SandboxError> {
        let mut line = Vec::new();
        if let Root::Layered {
            lower,
            upper,
            work,
            merged,
        } = &spec.root
        {
            if !self.privileged {
                return Err(SandboxError::Setup(
                    "a layered root needs root privileges".into(),
                ));
            }
            for p in [lower, upper, work, merged] {
                let s = p.display().to_string();
                if s.contains([',', ':', '\\']) {
                    return Err(SandboxError::Setup(format!(
                        "`{s}`: overlay directories must not contain `,`, `:` or `\\`"
                    )));
                }
            }
            line.extend(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "--",
                    "/bin/sh",
                ]
                .map(String::from),
            );
            line.extend(["-c".into(), OVERLAY_SCRIPT.into(), "sh".into()]);
            for p in [lower, upper, work, merged] {
                line.push(p.display().to_string());
            }
        }
        line.push(self.program.display().to_string());
        line.extend(self.args(spec, fds));
        Ok(line)
    }
}

/// Reads bwrap's `--info-fd` JSON (to its end: bwrap closes it before it
/// goes on) and returns the sandbox's first process, pid 1 inside.
fn read_child_pid(mut info: impl Read) -> Option<u32> {
    let mut text = String::new();
    info.read_to_string(&mut text).ok()?;
    let rest = text.split("\"child-pid\":").nth(1)?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Lets bwrap's child go on once its user namespace maps `uid`/`gid`.
fn map_user_namespace(pid: u32, block: OwnedFd, uid: u32, gid: u32) -> Result<(), SandboxError> {
    for (file, id) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, crate::idmap::swap_map(id))
            .map_err(|e| SandboxError::Setup(format!("writing {path}: {e}")))?;
    }
    let mut block = std::fs::File::from(block);
    block
        .write_all(b"1")
        .map_err(|e| SandboxError::Setup(format!("releasing bwrap: {e}")))
}

/// bwrap's own message when it could not create its namespaces (user
/// namespaces refused by the kernel, AppArmor or seccomp; the uid map or
/// the loopback device of a new namespace denied).
fn namespace_failure(lines: &[String]) -> Option<String> {
    const SIGNS: [&str; 7] = [
        "namespace",
        "uid map",
        "gid map",
        "setgroups",
        "RTM_NEWADDR",
        "loopback",
        "Operation not permitted",
    ];
    lines
        .iter()
        .find(|l| l.starts_with("bwrap: ") && SIGNS.iter().any(|s| l.contains(s)))
        .cloned()
}

/// Kills the sandbox: its pid 1 (which takes every process of its pid
/// namespace along) and bwrap.
fn kill(child: &mut Child, sandbox_pid: Option<u32>) {
    if let Some(pid) = sandbox_pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` up to `timeout`, handing each output line to `log`
/// on this thread; kills it at the deadline.
fn wait(
    child: &mut Child,
    sandbox_pid: Option<u32>,
    lines: std::sync::mpsc::Receiver<String>,
    timeout: Option<Duration>,
    log: &mut dyn FnMut(&str),
) -> Result<Outcome, SandboxError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match lines.recv_timeout(pause) {
            Ok(line) => {
                log(&line);
                continue;
            }
            Err(RecvTimeoutError::Timeout) => pause = (pause * 2).min(Duration::from_millis(20)),
            Err(RecvTimeoutError::Disconnected) => pause = Duration::from_millis(2),
        }
        if let Some(status) = child.try_wait().map_err(SandboxError::Wait)? {
            break Some(status);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            kill(child, sandbox_pid);
            break None;
        }
    };
    // The output that is still buffered (the pipes close when the
    // sandbox's processes are gone).
    let drain_until = Instant::now() + Duration::from_secs(2);
    while let Ok(line) = lines.recv_timeout(drain_until.saturating_duration_since(Instant::now())) {
        log(&line);
    }
    Ok(match status {
        None => Outcome::TimedOut,
        Some(s) => match s.code() {
            Some(c) => Outcome::Exited(c),
            None => Outcome::Killed,
        },
    })
}

impl Runner for Bubblewrap {
    fn name(&self) -> &'static str {
        "bubblewrap"
    }

    fn supports_layered_root(&self) -> bool {
        self.privileged
    }

    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(&str)) -> Result<Outcome, SandboxError> {
        let line = self.command_line(spec, true)?;
        let pipe = |e: std::io::Error| SandboxError::Setup(format!("creating a pipe: {e}"));
        let (info_r, info_w) = std::io::pipe().map_err(pipe)?;
        let mut cmd = Command::new(&line[0]);
        cmd.args(&line[1..]);
        let mut fds = vec![FdMapping {
            parent_fd: info_w.into(),
            child_fd: INFO_FD,
        }];
        let mut block = None;
        if self.privileged {
            let (block_r, block_w) = std::io::pipe().map_err(pipe)?;
            fds.push(FdMapping {
                parent_fd: block_r.into(),
                child_fd: BLOCK_FD,
            });
            block = Some(OwnedFd::from(block_w));
        }
        cmd.fd_mappings(fds)
            .map_err(|e| SandboxError::Setup(format!("passing fds to bwrap: {e}")))?;
        if spec.interactive {
            cmd.stdin(Stdio::inherit())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit());
        } else {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            program: line[0].clone(),
            source,
        })?;
        // Close our copies of the child's ends.
        drop(cmd);
        // Interleave both streams line by line through one channel.
        let (tx, rx) = channel::<String>();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            }));
        }
        if let Some(err) = child.stderr.take() {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            }));
        }
        drop(tx);
        let sandbox_pid = read_child_pid(info_r);
        let mapped = match (block, sandbox_pid) {
            (None, _) => Ok(()),
            (Some(block), Some(pid)) => map_user_namespace(pid, block, spec.uid, spec.gid),
            (Some(_), None) => Err(SandboxError::Setup("bwrap did not report its child".into())),
        };
        if let Err(e) = mapped {
            kill(&mut child, sandbox_pid);
            // Everything bwrap said before it ended.
            for r in readers {
                let _ = r.join();
            }
            let said: Vec<String> = rx.try_iter().collect();
            return Err(match namespace_failure(&said) {
                Some(said) => SandboxError::Namespaces { said },
                None if said.is_empty() => e,
                None => SandboxError::Setup(said.join("; ")),
            });
        }
        // bwrap's own first words, to tell a refused sandbox from a step
        // that failed.
        let mut first = Vec::new();
        let mut log_first = |line: &str| {
            if first.len() < 4 {
                first.push(line.to_string());
            }
            log(line);
        };
        let outcome = wait(&mut child, sandbox_pid, rx, spec.timeout, &mut log_first);
        for r in readers {
            let _ = r.join();
        }
        if outcome.as_ref().is_ok_and(|o| *o == Outcome::Exited(1))
            && let Some(said) = namespace_failure(&first)
        {
            return Err(SandboxError::Namespaces { said });
        }
        outcome
    }

    fn describe(&self, spec: &RunSpec) -> String {
        match self.command_line(spec, false) {
            Ok(line) => line.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" "),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
