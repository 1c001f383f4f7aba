//! The Docker runner: steps run in a container of the build environment
//! through the Docker Engine API on a unix socket (Docker, or podman's
//! API service), as melange's docker runner runs them.
//!
//! The environment arrives as an image the caller builds and hands over
//! once ([`Runner::provide_image`]); each distinct sandbox (root, binds,
//! network, capabilities) gets one long-lived container of it, whose
//! first process waits on its open standard input, and each step is an
//! exec in that container, so changes to the root outside the workspace
//! carry from step to step as they do over bubblewrap's private layer.
//! Binds are bind mounts; the network is off (`none`) unless asked
//! (then the host's). As in melange's docker runner, steps run as root in
//! the container (with the step's capabilities): a container engine gives
//! a non-root user no capabilities, so the build user could neither
//! `chown` nor write outside the workspace, and files root makes are
//! packaged as root's, as the build user's are under bubblewrap.
//! A build's containers are removed when it ends ([`Runner::release`]),
//! any left when the runner is dropped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, channel};

use docker_engine::Client;
use serde_json::json;

use crate::{Outcome, Root, RunSpec, Runner, SandboxError};

/// The label of the runner's containers.
const LABEL: &str = "dev.apkforge.runner";
/// The label naming the process that owns a container:
/// `<hostname>:<pid>:<start time of the process>`.
const OWNER: &str = "dev.apkforge.owner";

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// When the process `pid` started (field 22 of `/proc/<pid>/stat`, in
/// clock ticks since boot): a pid and its start time name one process.
fn process_start(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: fields after its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

fn owner() -> String {
    let pid = std::process::id().to_string();
    let start = process_start(&pid).unwrap_or_default();
    format!("{}:{pid}:{start}", hostname())
}

/// The Docker runner.
#[derive(Debug)]
pub struct Docker {
    client: Client,
    /// Container ids (and the root they stand for) by sandbox.
    containers: Mutex<HashMap<String, (Root, String)>>,
}

fn engine(e: docker_engine::EngineError) -> SandboxError {
    SandboxError::Setup(format!("container engine: {e}"))
}

impl Docker {
    /// A runner on the engine at `DOCKER_HOST` (`unix:///path`), else
    /// `/var/run/docker.sock`. Fails when the engine cannot be reached or
    /// answers with an error, so nothing is built against a missing one.
    pub fn from_env() -> Result<Docker, SandboxError> {
        let client = Client::from_env().map_err(engine)?;
        Docker::new(client)
    }

    /// A runner on `client`'s engine, checked with `GET /_ping`.
    pub fn new(client: Client) -> Result<Docker, SandboxError> {
        client.ping().map_err(|e| {
            SandboxError::Setup(format!(
                "the Docker runner needs a container engine: {e} (set DOCKER_HOST=unix:///path/to/docker.sock, or start podman's with `podman system service --time=0 unix:///path/to/sock`)"
            ))
        })?;
        let docker = Docker {
            client,
            containers: Mutex::new(HashMap::new()),
        };
        docker.sweep();
        Ok(docker)
    }

    /// Removes the containers that runs killed before they could clean up
    /// left: those whose owner (label `dev.apkforge.owner`) is a process
    /// of this machine that no longer exists.
    fn sweep(&self) {
        let Ok(found) = self.client.list_containers(&format!("{LABEL}=docker")) else {
            return;
        };
        let host = hostname();
        for (id, labels) in found {
            let Some(owner) = labels.get(OWNER).and_then(|v| v.as_str()) else {
                continue;
            };
            let mut parts = owner.rsplitn(3, ':');
            let (Some(start), Some(pid), Some(on)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if on == host && process_start(pid).as_deref() != Some(start) {
                self.remove(&id);
            }
        }
    }

    /// The sandbox a spec runs in: everything fixed at container creation.
    fn key(spec: &RunSpec) -> String {
        format!(
            "{:?}|{:?}|{:?}|{}|{:?}",
            spec.image, spec.root, spec.binds, spec.network, spec.capabilities
        )
    }

    /// The container for `spec`, created and started on first use.
    fn container(&self, spec: &RunSpec) -> Result<String, SandboxError> {
        let key = Docker::key(spec);
        let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, id)) = containers.get(&key) {
            return Ok(id.clone());
        }
        let image = spec.image.as_deref().ok_or_else(|| {
            SandboxError::Setup("the Docker runner needs the environment as an image".into())
        })?;
        let binds: Vec<String> = spec
            .binds
            .iter()
            .map(|b| {
                format!(
                    "{}:{}:{}",
                    b.source.display(),
                    b.target,
                    if b.read_only { "ro" } else { "rw" }
                )
            })
            .collect();
        let config = json!({
            "Image": image,
            "Entrypoint": ["/bin/sh"],
            "Cmd": [],
            "OpenStdin": true,
            "StdinOnce": false,
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": false,
            "User": "0:0",
            "WorkingDir": "/",
            "Env": [],
            "Hostname": "apkforge",
            "NetworkDisabled": !spec.network,
            "Labels": {LABEL: "docker", OWNER: owner()},
            "HostConfig": {
                "Binds": binds,
                "NetworkMode": if spec.network { "host" } else { "none" },
                "CapDrop": ["ALL"],
                "CapAdd": spec.capabilities,
                "AutoRemove": false,
            },
        });
        let id = self
            .client
            .create_container(None, &config)
            .map_err(engine)?;
        containers.insert(key, (spec.root.clone(), id.clone()));
        drop(containers);
        self.client.start_container(&id).map_err(engine)?;
        Ok(id)
    }
}

impl Docker {
    fn remove(&self, id: &str) {
        // Killed first: the shell waiting as pid 1 ignores the engine's
        // polite stop and would be waited for.
        let _ = self.client.kill_container(id);
        let _ = self.client.remove_container(id);
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let containers =
            std::mem::take(self.containers.get_mut().unwrap_or_else(|e| e.into_inner()));
        for (_, id) in containers.values() {
            self.remove(id);
        }
    }
}

/// Hands complete lines to `log`, keeping a partial one for later.
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    fn feed(&mut self, bytes: &[u8], log: &mut dyn FnMut(&str)) {
        self.pending.extend_from_slice(bytes);
        while let Some(at) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=at).collect();
            log(String::from_utf8_lossy(&line[..line.len() - 1]).trim_end_matches('\r'));
        }
    }

    fn finish(&mut self, log: &mut dyn FnMut(&str)) {
        if !self.pending.is_empty() {
            log(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
    }
}

impl Runner for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }

    /// The root's directories only name the sandbox; the container's own
    /// writable layer holds the changes.
    fn supports_layered_root(&self) -> bool {
        true
    }

    fn needs_image(&self) -> bool {
        true
    }

    fn release(&self, root: &Root) {
        let gone: Vec<String> = {
            let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<String> = containers
                .iter()
                .filter(|(_, (r, _))| r == root)
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter()
                .filter_map(|k| containers.remove(k).map(|(_, id)| id))
                .collect()
        };
        for id in gone {
            self.remove(&id);
        }
    }

    fn provide_image(
        &self,
        tag: &str,
        write: &mut dyn FnMut(&Path) -> Result<(), String>,
    ) -> Result<String, SandboxError> {
        if let Ok(v) = self.client.inspect_image(tag)
            && let Some(id) = v["Id"].as_str()
        {
            return Ok(id.to_string());
        }
        let dir = scratch::TempDir::new_in(&std::env::temp_dir(), "apkforge-image-")
            .map_err(|e| SandboxError::Setup(format!("a directory for the image: {e}")))?;
        let archive = dir.path().join("environment.tar");
        write(&archive).map_err(|e| SandboxError::Setup(format!("the environment image: {e}")))?;
        self.client.load_image(&archive).map_err(engine)?;
        let v = self.client.inspect_image(tag).map_err(engine)?;
        v["Id"].as_str().map(str::to_string).ok_or_else(|| {
            SandboxError::Setup(format!("the engine does not report an id for {tag}"))
        })
    }

    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(&str)) -> Result<Outcome, SandboxError> {
        if spec.interactive {
            return Err(SandboxError::Setup(
                "an interactive shell needs the bubblewrap runner".into(),
            ));
        }
        let id = self.container(spec)?;
        let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let config = json!({
            "Cmd": spec.argv,
            "Env": env,
            "User": "0:0",
            "WorkingDir": spec.workdir,
            "AttachStdin": false,
            "AttachStdout": true,
            "AttachStderr": true,
            "Tty": false,
        });
        // A watchdog kills the container at the deadline; the exec's output
        // then ends.
        let (done_tx, done_rx) = channel::<()>();
        let timeout = spec.timeout;
        let result = std::thread::scope(|s| {
            let id = id.as_str();
            let watchdog = s.spawn(move || match timeout {
                Some(t) => match done_rx.recv_timeout(t) {
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = self.client.kill_container(id);
                        true
                    }
                    _ => false,
                },
                None => {
                    let _ = done_rx.recv();
                    false
                }
            });
            let mut out = Lines {
                pending: Vec::new(),
            };
            let mut err = Lines {
                pending: Vec::new(),
            };
            let code = self
                .client
                .exec(id, &config, &mut |_| {}, &mut |stream, b| {
                    if stream == 2 {
                        err.feed(b, log)
                    } else {
                        out.feed(b, log)
                    }
                });
            out.finish(log);
            err.finish(log);
            let _ = done_tx.send(());
            let timed_out = watchdog.join().unwrap_or(false);
            (code, timed_out)
        });
        match result {
            (_, true) => Ok(Outcome::TimedOut),
            // An exit status, or 128 + the signal that killed it (the
            // engine does not tell them apart).
            (Ok(code), false) => Ok(i32::try_from(code).map_or(Outcome::Killed, Outcome::Exited)),
            (Err(e), false) => Err(engine(e)),
        }
    }

    fn describe(&self, spec: &RunSpec) -> String {
        let root = match &spec.root {
            Root::Dir(d) => d,
            Root::Layered { lower, .. } => lower,
        };
        let mut line = format!(
            "DOCKER_HOST=unix://{} docker run --rm -it --network {} -w {}",
            self.client.socket().display(),
            if spec.network { "host" } else { "none" },
            spec.workdir
        );
        for b in &spec.binds {
            line.push_str(&format!(
                " -v {}:{}{}",
                b.source.display(),
                b.target,
                if b.read_only { ":ro" } else { "" }
            ));
        }
        line.push_str(&format!(
            " {} /bin/sh  # environment: {}",
            spec.image.as_deref().unwrap_or("IMAGE"),
            root.display()
        ));
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_name_live_processes() {
        let me = std::process::id().to_string();
        let start = process_start(&me).expect("our own start time");
        assert!(start.parse::<u64>().is_ok(), "{start}");
        assert!(owner().ends_with(&format!(":{me}:{start}")));
        // A pid beyond the kernel's maximum belongs to no process.
        assert_eq!(process_start("4194305"), None);
    }
}
