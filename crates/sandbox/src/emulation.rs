//! Whether this machine can run another architecture's programs: user-mode
//! emulation registered in `binfmt_misc`.
//!
//! A sandbox root holds no emulator, so the registration must carry the
//! `F` flag (the kernel opens the interpreter when it is registered and
//! uses that open file in every mount namespace). [`check`] reads the
//! registrations and tells, for an apk architecture name, whether its ELF
//! programs run here, natively or emulated, and if not what to do.

use std::path::{Path, PathBuf};

/// Where the kernel's `binfmt_misc` registrations are.
pub const BINFMT_MISC: &str = "/proc/sys/fs/binfmt_misc";

/// Why another architecture's programs cannot run here.
#[derive(Debug, thiserror::Error)]
pub enum EmulationError {
    /// Not an architecture we know the ELF machine of.
    #[error("no ELF machine is known for architecture `{0}`")]
    UnknownArch(String),
    /// `binfmt_misc` is not mounted.
    #[error(
        "this {host} machine cannot run {arch} programs: {dir} is not mounted, so no emulator is registered. As root: `mount -t binfmt_misc binfmt_misc {dir}`, install qemu-user-static (Debian: `apt-get install qemu-user-static`) and register its emulator with the F flag: `echo '{register}' > {dir}/register`",
        dir = .dir.display()
    )]
    NotMounted {
        /// The host's architecture.
        host: String,
        /// The target.
        arch: String,
        /// The binfmt_misc directory.
        dir: PathBuf,
        /// The registration line that makes them run.
        register: String,
    },
    /// `binfmt_misc` is switched off.
    #[error("this {host} machine cannot run {arch} programs: {} says `disabled`; as root: `echo 1 > {}`", .status.display(), .status.display())]
    Disabled {
        /// The host's architecture.
        host: String,
        /// The target.
        arch: String,
        /// `binfmt_misc/status`.
        status: PathBuf,
    },
    /// Nothing handles the target's programs.
    #[error(
        "this {host} machine cannot run {arch} programs: no emulator is registered for them in {dir}. As root: install qemu-user-static (Debian: `apt-get install qemu-user-static`) and register its emulator with the F flag: `echo '{register}' > {dir}/register`",
        dir = .dir.display()
    )]
    NotRegistered {
        /// The host's architecture.
        host: String,
        /// The target.
        arch: String,
        /// The binfmt_misc directory.
        dir: PathBuf,
        /// The registration line that makes them run.
        register: String,
    },
    /// A registration exists but is unusable in a sandbox.
    #[error(
        "this {host} machine cannot run {arch} programs in a sandbox: {} ({interpreter}) {problem}. As root: `echo -1 > {}` and register {interpreter} again with the F flag",
        .entry.display(), .entry.display()
    )]
    Unusable {
        /// The host's architecture.
        host: String,
        /// The target.
        arch: String,
        /// The registration file.
        entry: PathBuf,
        /// Its interpreter.
        interpreter: String,
        /// What is wrong (`is disabled`, `lacks the F flag`).
        problem: String,
    },
}

/// How a target's programs run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Execution {
    /// The CPU runs them.
    Native,
    /// This registration's interpreter runs them.
    Emulated {
        /// The registration file.
        entry: PathBuf,
        /// The emulator.
        interpreter: String,
    },
}

/// ELF identification of an apk architecture: 64-bit, big-endian, e_machine.
fn elf_machine(arch: &str) -> Option<(bool, bool, u16)> {
    Some(match arch {
        "x86_64" => (true, false, 62),
        "aarch64" => (true, false, 183),
        "x86" => (false, false, 3),
        "armhf" | "armv7" => (false, false, 40),
        "ppc64le" => (true, false, 21),
        "s390x" => (true, true, 22),
        "riscv64" => (true, false, 243),
        "loongarch64" => (true, false, 258),
        _ => return None,
    })
}

/// QEMU's name for an apk architecture (`qemu-<name>-static`).
fn qemu_name(arch: &str) -> &str {
    match arch {
        "x86" => "i386",
        "armhf" | "armv7" => "arm",
        other => other,
    }
}

/// The apk architecture of this machine.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "arm" => "armv7",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The first 20 bytes of an ELF executable (`e_type` 2) or shared object
/// (`e_type` 3) for the architecture.
fn elf_header(is64: bool, big: bool, machine: u16, e_type: u16) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = if is64 { 2 } else { 1 };
    h[5] = if big { 2 } else { 1 };
    h[6] = 1;
    let (t, m) = if big {
        (e_type.to_be_bytes(), machine.to_be_bytes())
    } else {
        (e_type.to_le_bytes(), machine.to_le_bytes())
    };
    h[16..18].copy_from_slice(&t);
    h[18..20].copy_from_slice(&m);
    h
}

/// The line that registers Debian's qemu-user-static emulator for the
/// architecture (magic and mask as QEMU's own `qemu-binfmt-conf.sh` writes
/// them: any ELF executable or shared object of that machine), F flag set.
fn registration(arch: &str, is64: bool, big: bool, machine: u16) -> String {
    let magic = elf_header(is64, big, machine, 2);
    let mut mask = [0xffu8; 20];
    mask[7] = 0;
    mask[if big { 17 } else { 16 }] = 0xfe;
    let esc = |b: &[u8]| b.iter().map(|x| format!("\\x{x:02x}")).collect::<String>();
    let q = qemu_name(arch);
    format!(
        ":qemu-{q}:M::{}:{}:/usr/bin/qemu-{q}-static:F",
        esc(&magic),
        esc(&mask)
    )
}

/// One `binfmt_misc` registration, as its file reads.
#[derive(Debug, Default)]
struct Registration {
    enabled: bool,
    interpreter: String,
    flags: String,
    offset: usize,
    magic: Vec<u8>,
    mask: Vec<u8>,
    extension: bool,
}

fn parse_registration(text: &str) -> Registration {
    let mut r = Registration::default();
    for line in text.lines() {
        let line = line.trim();
        if line == "enabled" {
            r.enabled = true;
        } else if let Some(v) = line.strip_prefix("interpreter ") {
            r.interpreter = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("flags:") {
            r.flags = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("offset ") {
            r.offset = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("magic ") {
            r.magic = hex(v.trim());
        } else if let Some(v) = line.strip_prefix("mask ") {
            r.mask = hex(v.trim());
        } else if line.starts_with("extension ") {
            r.extension = true;
        }
    }
    r
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

impl Registration {
    fn matches(&self, header: &[u8]) -> bool {
        if self.extension || self.magic.is_empty() {
            return false;
        }
        self.magic.iter().enumerate().all(|(i, m)| {
            let mask = self.mask.get(i).copied().unwrap_or(0xff);
            header
                .get(self.offset + i)
                .is_some_and(|b| b & mask == m & mask)
        })
    }
}

/// Whether programs of apk architecture `arch` run on this machine, reading
/// the registrations in `dir` (normally [`BINFMT_MISC`]).
pub fn check_in(dir: &Path, arch: &str) -> Result<Execution, EmulationError> {
    let host = host_arch();
    let native = arch == host || (host == "x86_64" && arch == "x86");
    if native {
        return Ok(Execution::Native);
    }
    let (is64, big, machine) =
        elf_machine(arch).ok_or_else(|| EmulationError::UnknownArch(arch.to_string()))?;
    let register = registration(arch, is64, big, machine);
    let status = dir.join("status");
    let Ok(state) = std::fs::read_to_string(&status) else {
        return Err(EmulationError::NotMounted {
            host: host.into(),
            arch: arch.into(),
            dir: dir.to_path_buf(),
            register,
        });
    };
    if state.trim() != "enabled" {
        return Err(EmulationError::Disabled {
            host: host.into(),
            arch: arch.into(),
            status,
        });
    }
    let headers = [2u16, 3].map(|t| elf_header(is64, big, machine, t));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    entries.sort();
    let mut unusable = None;
    for entry in entries {
        let file = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if file == "status" || file == "register" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&entry) else {
            continue;
        };
        let r = parse_registration(&text);
        if !headers.iter().all(|h| r.matches(h)) {
            continue;
        }
        let problem = if !r.enabled {
            "is disabled"
        } else if !r.flags.contains('F') {
            "lacks the F flag, so its interpreter cannot be found inside a sandbox's root"
        } else {
            return Ok(Execution::Emulated {
                entry,
                interpreter: r.interpreter,
            });
        };
        unusable.get_or_insert(EmulationError::Unusable {
            host: host.into(),
            arch: arch.into(),
            entry,
            interpreter: r.interpreter,
            problem: problem.into(),
        });
    }
    Err(unusable.unwrap_or(EmulationError::NotRegistered {
        host: host.into(),
        arch: arch.into(),
        dir: dir.to_path_buf(),
        register,
    }))
}

/// [`check_in`] on this machine's registrations.
pub fn check(arch: &str) -> Result<Execution, EmulationError> {
    check_in(Path::new(BINFMT_MISC), arch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AARCH64: &str = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";

    fn other() -> &'static str {
        if host_arch() == "aarch64" {
            "s390x"
        } else {
            "aarch64"
        }
    }

    #[test]
    fn registration_lines_are_qemus() {
        assert_eq!(
            registration("aarch64", true, false, 183),
            r":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F"
        );
    }

    #[test]
    fn native_needs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            check_in(dir.path(), host_arch()).unwrap(),
            Execution::Native
        );
        assert!(matches!(
            check_in(dir.path(), "sparc"),
            Err(EmulationError::UnknownArch(_))
        ));
    }

    #[test]
    fn registrations_are_read_and_judged() {
        let dir = tempfile::tempdir().unwrap();
        let arch = other();
        let e = check_in(dir.path(), arch).unwrap_err();
        assert!(matches!(e, EmulationError::NotMounted { .. }), "{e}");
        assert!(e.to_string().contains("qemu-user-static"), "{e}");
        std::fs::write(dir.path().join("status"), "enabled\n").unwrap();
        std::fs::write(dir.path().join("register"), "").unwrap();
        let e = check_in(dir.path(), arch).unwrap_err();
        assert!(matches!(e, EmulationError::NotRegistered { .. }), "{e}");
        if arch != "aarch64" {
            return;
        }
        let entry = dir.path().join("qemu-aarch64");
        std::fs::write(&entry, AARCH64.replace("flags: F", "flags: ")).unwrap();
        let e = check_in(dir.path(), arch).unwrap_err();
        assert!(e.to_string().contains("lacks the F flag"), "{e}");
        std::fs::write(&entry, AARCH64).unwrap();
        assert_eq!(
            check_in(dir.path(), arch).unwrap(),
            Execution::Emulated {
                entry,
                interpreter: "/usr/bin/qemu-aarch64-static".into()
            }
        );
        // An x86_64 registration does not run aarch64 programs.
        let x = "enabled\ninterpreter /usr/bin/qemu-x86_64-static\nflags: F\noffset 0\nmagic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefe00fffffffffffffffffeffffff\n";
        std::fs::write(dir.path().join("qemu-aarch64"), x).unwrap();
        assert!(check_in(dir.path(), arch).is_err());
        std::fs::write(dir.path().join("status"), "disabled\n").unwrap();
        let e = check_in(dir.path(), arch).unwrap_err();
        assert!(matches!(e, EmulationError::Disabled { .. }), "{e}");
    }
}
