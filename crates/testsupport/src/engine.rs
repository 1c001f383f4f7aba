//! A Docker Engine API to test against: podman's API service on a unix
//! socket. `scripts/test.sh` starts one for the whole run and exports
//! `APKFORGE_TEST_DOCKER_HOST` (with the two containers config files it
//! uses); without it, the first test that asks starts one for its process,
//! which stops itself after a minute without requests.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running engine.
#[derive(Clone, Debug)]
pub struct Engine {
    /// `unix:///.../podman.sock`, for `DOCKER_HOST`.
    pub host: String,
    /// `CONTAINERS_CONF` and `CONTAINERS_STORAGE_CONF` of the service, so a
    /// `podman` command sees the same images.
    pub env: Vec<(String, PathBuf)>,
}

impl Engine {
    /// A `podman` command on the engine's storage.
    pub fn podman(&self) -> Command {
        let mut c = Command::new("podman");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
}

/// The shared engine (started on first use when the environment names none).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        if let Ok(host) = std::env::var("APKFORGE_TEST_DOCKER_HOST")
            && !host.is_empty()
        {
            let env = [
                ("CONTAINERS_CONF", "APKFORGE_TEST_CONTAINERS_CONF"),
                (
                    "CONTAINERS_STORAGE_CONF",
                    "APKFORGE_TEST_CONTAINERS_STORAGE_CONF",
                ),
            ]
            .iter()
            .filter_map(|(k, var)| std::env::var_os(var).map(|v| (k.to_string(), PathBuf::from(v))))
            .collect();
            return Engine { host, env };
        }
        start()
    })
}

/// Writes the config files this machine needs (runc, ulimits it allows, no
/// network, private storage) into `dir`; returns the environment.
pub fn write_config(dir: &std::path::Path) -> Vec<(String, PathBuf)> {
    for d in ["root", "run", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).expect("podman dirs");
    }
    let conf = dir.join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\nnetns = \"none\"\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{0}/events.log\"\ntmp_dir = \"{0}/tmp\"\n",
            dir.display()
        ),
    )
    .expect("containers.conf");
    let storage = dir.join("storage.conf");
    std::fs::write(
        &storage,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/run\"\n",
            dir.display()
        ),
    )
    .expect("storage.conf");
    vec![
        ("CONTAINERS_CONF".to_string(), conf),
        ("CONTAINERS_STORAGE_CONF".to_string(), storage),
    ]
}

fn start() -> Engine {
    let dir = std::env::temp_dir().join(format!("apkforge-engine-{}", std::process::id()));
    let env = write_config(&dir);
    let socket = dir.join("podman.sock");
    let log = std::fs::File::create(dir.join("service.log")).expect("service log");
    let mut cmd = Command::new("podman");
    for (k, v) in &env {
        cmd.env(k, v);
    }
    cmd.args(["system", "service", "--time=60"])
        .arg(format!("unix://{}", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot start podman's API service ({e}); scripts/test.sh installs podman")
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "podman system service exited ({status}): {}",
                std::fs::read_to_string(dir.join("service.log")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "podman's API service did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The service stops by itself after --time of idleness.
    std::mem::forget(child);
    Engine {
        host: format!("unix://{}", socket.display()),
        env,
    }
}
