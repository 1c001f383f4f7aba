//! Running build steps in a sandbox. [`Runner`] is the seam: a runner gets
//! a root filesystem, bind mounts, a user, capabilities, an environment, a
//! network flag and a timeout ([`RunSpec`]) and runs one command.
//! [`Bubblewrap`] is the runner melange uses on Linux; [`Docker`] runs
//! steps in containers through the Docker Engine API; [`emulation`] tells
//! whether another architecture's programs run here.
#![deny(missing_docs)]

mod bubblewrap;
mod docker;
pub mod emulation;
mod idmap;

use std::path::PathBuf;
use std::time::Duration;

pub use bubblewrap::Bubblewrap;
pub use docker::Docker;

/// The capabilities a step gets by default: Docker's default set, which
/// melange grants in every runner.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability name Linux knows (for checking recipes).
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability set of a step: [`DEFAULT_CAPABILITIES`] plus `add`
/// minus `drop` (names with or without `CAP_`, any case; `ALL` in `drop`
/// drops everything not added). Returns the bad name on error.
pub fn capabilities(add: &[String], drop: &[String]) -> Result<Vec<String>, String> {
    let norm = |s: &str| -> Result<String, String> {
        let up = s.trim().to_ascii_uppercase();
        let full = if up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        if full == "CAP_ALL" || ALL_CAPABILITIES.contains(&full.as_str()) {
            Ok(full)
        } else {
            Err(s.to_string())
        }
    };
    let mut set: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
    for d in drop {
        let d = norm(d)?;
        set.retain(|c| d != "CAP_ALL" && *c != d);
    }
    for a in add {
        let a = norm(a)?;
        if a == "CAP_ALL" {
            set = ALL_CAPABILITIES.iter().map(|s| s.to_string()).collect();
        } else if !set.contains(&a) {
            set.push(a);
        }
    }
    Ok(set)
}

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

/// The root filesystem of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Root {
    /// A directory used as `/`, writable.
    Dir(PathBuf),
    /// A read-only `lower` directory (shared between builds) under a
    /// private writable `upper` layer: writes land in `upper`, `lower`
    /// stays untouched. `work` is the overlay's scratch directory and
    /// `merged` an empty directory where the union is assembled; all four
    /// on one filesystem, the last three private to the build.
    Layered {
        /// Shared, never written.
        lower: PathBuf,
        /// Receives every change.
        upper: PathBuf,
        /// Scratch directory of the union mount.
        work: PathBuf,
        /// Mount point of the union.
        merged: PathBuf,
    },
}

/// One command to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    /// Root filesystem.
    pub root: Root,
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
    /// User id the command runs as.
    pub uid: u32,
    /// Group id the command runs as.
    pub gid: u32,
    /// The command's capabilities (names such as `CAP_CHOWN`); see
    /// [`capabilities`].
    pub capabilities: Vec<String>,
    /// Kill the command (and everything it started) after this long.
    pub timeout: Option<Duration>,
    /// Connect the command to this process's terminal (stdin, stdout,
    /// stderr) instead of capturing its output.
    pub interactive: bool,
    /// The root as an image of the runner's engine (runners that
    /// [`Runner::needs_image`]; see [`Runner::provide_image`]).
    pub image: Option<String>,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            root: Root::Dir(PathBuf::new()),
            binds: Vec::new(),
            workdir: "/".into(),
            env: Vec::new(),
            argv: Vec::new(),
            network: false,
            uid: 0,
            gid: 0,
            capabilities: DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect(),
            timeout: None,
            interactive: false,
            image: None,
        }
    }
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Killed,
    /// It ran past [`RunSpec::timeout`] and was killed.
    TimedOut,
}

impl Outcome {
    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == Outcome::Exited(0)
    }
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
    /// The sandbox could not be set up.
    #[error("setting up the sandbox: {0}")]
    Setup(String),
    /// Waiting failed.
    #[error("waiting for the sandbox: {0}")]
    Wait(#[source] std::io::Error),
    /// The kernel (or a security module) refused the sandbox's namespaces.
    #[error(
        "bubblewrap cannot create its namespaces on this machine (`{said}`): unprivileged user namespaces are blocked here, as Ubuntu's AppArmor (kernel.apparmor_restrict_unprivileged_userns=1), a disabled kernel.unprivileged_userns_clone or a container's seccomp profile do. Build with `--runner docker`, or let bwrap create user namespaces (an AppArmor profile for it, or the sysctl set to allow them)"
    )]
    Namespaces {
        /// What bubblewrap said.
        said: String,
    },
}

/// Runs commands in isolation.
pub trait Runner: Sync {
    /// Short name (`bubblewrap`).
    fn name(&self) -> &'static str;
    /// Whether [`Root::Layered`] roots work; when not, callers give a
    /// private [`Root::Dir`].
    fn supports_layered_root(&self) -> bool;
    /// Runs `spec`; every output line (stdout and stderr) goes to `log`
    /// unless the run is interactive.
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(&str)) -> Result<Outcome, SandboxError>;
    /// A shell command line that enters the sandbox of `spec` by hand
    /// (for a kept failed build).
    fn describe(&self, spec: &RunSpec) -> String;
    /// The runs over `root` are over (the build ended): what the runner
    /// keeps for them (a container) can go.
    fn release(&self, root: &Root) {
        let _ = root;
    }
    /// Whether runs take their root from an image ([`RunSpec::image`])
    /// rather than from the root's directory.
    fn needs_image(&self) -> bool {
        false
    }
    /// Makes the image `tag` available to runs and returns the reference
    /// for [`RunSpec::image`]; `write` writes it as a docker archive to the
    /// path it is given, called only when the runner's engine lacks it.
    fn provide_image(
        &self,
        tag: &str,
        write: &mut dyn FnMut(&std::path::Path) -> Result<(), String>,
    ) -> Result<String, SandboxError> {
        let _ = write;
        Ok(tag.to_string())
    }
}
