//! Running build steps in a sandbox. [`Runner`] is the seam; [`Bubblewrap`]
//! runs a command with a prepared root filesystem as `/`, the workspace
//! bound at `/home/build`, uid 0 inside a user namespace, a clean
//! environment, and no network unless asked.
#![deny(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A directory bound into the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// Host path.
    pub source: PathBuf,
    /// Path inside the sandbox.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
}

/// One command to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSpec {
    /// Root filesystem (a directory on the host).
    pub root: PathBuf,
    /// Extra binds (the workspace among them).
    pub binds: Vec<Bind>,
    /// Working directory inside the sandbox.
    pub workdir: String,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// argv.
    pub argv: Vec<String>,
    /// Share the host network.
    pub network: bool,
}

/// Error running a step.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The runner program could not be started.
    #[error("cannot start `{program}`: {source} (is it installed?)")]
    Spawn {
        /// The program.
        program: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting failed.
    #[error("waiting for the sandbox: {0}")]
    Wait(#[source] std::io::Error),
}

/// Runs commands in isolation.
pub trait Runner: Sync {
    /// Short name (`bubblewrap`).
    fn name(&self) -> &'static str;
    /// Runs `spec`; every output line (stdout and stderr) goes to `log`.
    /// Returns the exit code (`None` when killed by a signal).
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(&str)) -> Result<Option<i32>, SandboxError>;
}

/// The bubblewrap runner (Debian's `bwrap`).
#[derive(Clone, Debug)]
pub struct Bubblewrap {
    /// The `bwrap` program.
    pub program: PathBuf,
}

impl Default for Bubblewrap {
    fn default() -> Self {
        Bubblewrap {
            program: PathBuf::from("bwrap"),
        }
    }
}

impl Bubblewrap {
    /// The bwrap arguments for `spec`.
    pub fn args(&self, spec: &RunSpec) -> Vec<String> {
        let mut a: Vec<String> = ["--unshare-all", "--die-with-parent", "--new-session"]
            .map(String::from)
            .to_vec();
        if spec.network {
            a.push("--share-net".into());
        }
        a.extend(["--bind".into(), spec.root.display().to_string(), "/".into()]);
        for b in &spec.binds {
            a.push(if b.read_only { "--ro-bind" } else { "--bind" }.into());
            a.push(b.source.display().to_string());
            a.push(b.target.clone());
        }
        a.extend(
            [
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--tmpfs",
                "/tmp",
                "--uid",
                "0",
                "--gid",
                "0",
                "--hostname",
                "apkforge",
                "--clearenv",
            ]
            .map(String::from),
        );
        for (k, v) in &spec.env {
            a.extend(["--setenv".into(), k.clone(), v.clone()]);
        }
        a.extend(["--chdir".into(), spec.workdir.clone(), "--".into()]);
        a.extend(spec.argv.iter().cloned());
        a
    }
}

impl Runner for Bubblewrap {
    fn name(&self) -> &'static str {
        "bubblewrap"
    }

    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(&str)) -> Result<Option<i32>, SandboxError> {
        let mut child = Command::new(&self.program)
            .args(self.args(spec))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SandboxError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        // Interleave both streams line by line through one channel.
        let (tx, rx) = std::sync::mpsc::channel::<String>();
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
        for line in rx {
            log(&line);
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(SandboxError::Wait)?;
        Ok(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_busybox_in_a_root_without_network() {
        let root = tempfile::tempdir().unwrap();
        let ws = tempfile::tempdir().unwrap();
        for d in ["bin", "proc", "dev", "tmp", "home/build"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("busybox-static is needed (scripts/test.sh installs it)");
        std::fs::copy(busybox, root.path().join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", root.path().join("bin/sh")).unwrap();
        let spec = RunSpec {
            root: root.path().to_path_buf(),
            binds: vec![Bind { source: ws.path().to_path_buf(), target: "/home/build".into(), read_only: false }],
            workdir: "/home/build".into(),
            env: vec![("PATH".into(), "/bin".into()), ("X".into(), "y".into())],
            argv: vec!["/bin/sh".into(), "-c".into(), "/bin/busybox id -u; echo $X; /bin/busybox ip link | /bin/busybox grep -c ': ' ; echo out > f; exit 3".into()],
            network: false,
        };
        let mut lines = Vec::new();
        let code = Bubblewrap::default()
            .run(&spec, &mut |l| lines.push(l.to_string()))
            .unwrap();
        assert_eq!(code, Some(3));
        assert_eq!(lines[0], "0");
        assert_eq!(lines[1], "y");
        assert_eq!(lines[2], "1", "only loopback without --network: {lines:?}");
        assert_eq!(
            std::fs::read_to_string(ws.path().join("f")).unwrap(),
            "out\n"
        );
    }
}
