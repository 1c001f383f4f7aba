//! Build architectures and the names recipes see for them
//! (`${{build.arch}}`, `${{build.goarch}}`, triplets), as apko's
//! `types.Architecture` spells them.

use std::fmt;

/// An architecture melange can build for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuildArch {
    /// `x86` / `386`.
    X86,
    /// `x86_64` / `amd64`.
    X86_64,
    /// `aarch64` / `arm64`.
    Aarch64,
    /// `armhf` / `arm/v6`.
    Armhf,
    /// `armv7` / `arm/v7`.
    Armv7,
    /// `loongarch64` / `loong64`.
    Loongarch64,
    /// `ppc64le`.
    Ppc64le,
    /// `riscv64`.
    Riscv64,
    /// `s390x`.
    S390x,
}

impl BuildArch {
    /// Every architecture, in apko's order.
    pub const ALL: [BuildArch; 9] = [
        BuildArch::X86,
        BuildArch::X86_64,
        BuildArch::Aarch64,
        BuildArch::Armhf,
        BuildArch::Armv7,
        BuildArch::Loongarch64,
        BuildArch::Ppc64le,
        BuildArch::Riscv64,
        BuildArch::S390x,
    ];

    /// Parses an apk (`x86_64`) or OCI/Go (`amd64`, `arm/v7`) name.
    pub fn parse(name: &str) -> Option<BuildArch> {
        Some(match name {
            "x86" | "386" => BuildArch::X86,
            "x86_64" | "amd64" => BuildArch::X86_64,
            "aarch64" | "arm64" => BuildArch::Aarch64,
            "armhf" | "arm/v6" => BuildArch::Armhf,
            "armv7" | "arm/v7" => BuildArch::Armv7,
            "loongarch64" | "loong64" => BuildArch::Loongarch64,
            "ppc64le" => BuildArch::Ppc64le,
            "riscv64" => BuildArch::Riscv64,
            "s390x" => BuildArch::S390x,
            _ => return None,
        })
    }

    /// The apk name (`${{build.arch}}`, `packages/<arch>/`).
    pub fn apk_name(self) -> &'static str {
        match self {
            BuildArch::X86 => "x86",
            BuildArch::X86_64 => "x86_64",
            BuildArch::Aarch64 => "aarch64",
            BuildArch::Armhf => "armhf",
            BuildArch::Armv7 => "armv7",
            BuildArch::Loongarch64 => "loongarch64",
            BuildArch::Ppc64le => "ppc64le",
            BuildArch::Riscv64 => "riscv64",
            BuildArch::S390x => "s390x",
        }
    }

    /// apko's name, which melange uses for `${{build.goarch}}`.
    pub fn go_name(self) -> &'static str {
        match self {
            BuildArch::X86 => "386",
            BuildArch::X86_64 => "amd64",
            BuildArch::Aarch64 => "arm64",
            BuildArch::Armhf => "arm/v6",
            BuildArch::Armv7 => "arm/v7",
            BuildArch::Loongarch64 => "loong64",
            BuildArch::Ppc64le => "ppc64le",
            BuildArch::Riscv64 => "riscv64",
            BuildArch::S390x => "s390x",
        }
    }

    /// The GNU triplet with libc flavor `libc` (`gnu` or `musl`).
    pub fn gnu_triplet(self, libc: &str) -> String {
        match self {
            BuildArch::X86 => format!("i486-pc-linux-{libc}"),
            BuildArch::X86_64 => format!("x86_64-pc-linux-{libc}"),
            BuildArch::Aarch64 => format!("aarch64-unknown-linux-{libc}"),
            BuildArch::Armhf => format!("arm-unknown-linux-{libc}eabihf"),
            BuildArch::Armv7 => format!("armv7l-unknown-linux-{libc}eabihf"),
            BuildArch::Ppc64le => format!("powerpc64le-unknown-linux-{libc}"),
            BuildArch::S390x => format!("s390x-ibm-linux-{libc}"),
            BuildArch::Loongarch64 => format!("loong64-unknown-linux-{libc}"),
            BuildArch::Riscv64 => format!("riscv64-unknown-linux-{libc}"),
        }
    }

    /// The Rust target triplet with libc flavor `libc`.
    pub fn rust_triplet(self, libc: &str) -> String {
        match self {
            BuildArch::X86 => format!("i686-unknown-linux-{libc}"),
            BuildArch::X86_64 => format!("x86_64-unknown-linux-{libc}"),
            BuildArch::Aarch64 => format!("aarch64-unknown-linux-{libc}"),
            BuildArch::Armhf => format!("armv6-unknown-linux-{libc}eabihf"),
            BuildArch::Armv7 => format!("armv7-unknown-linux-{libc}eabihf"),
            BuildArch::Ppc64le => format!("powerpc64le-unknown-linux-{libc}"),
            BuildArch::S390x => format!("s390x-unknown-linux-{libc}"),
            BuildArch::Loongarch64 => format!("loong64-unknown-linux-{libc}"),
            BuildArch::Riscv64 => format!("riscv64-unknown-linux-{libc}"),
        }
    }

    /// The architecture of this machine, if it is one of the nine.
    pub fn host() -> Option<BuildArch> {
        match std::env::consts::ARCH {
            "x86" => Some(BuildArch::X86),
            "x86_64" => Some(BuildArch::X86_64),
            "aarch64" => Some(BuildArch::Aarch64),
            "arm" => Some(BuildArch::Armv7),
            "loongarch64" => Some(BuildArch::Loongarch64),
            "powerpc64" => Some(BuildArch::Ppc64le),
            "riscv64" => Some(BuildArch::Riscv64),
            "s390x" => Some(BuildArch::S390x),
            _ => None,
        }
    }
}

impl fmt::Display for BuildArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.apk_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for arch in BuildArch::ALL {
            assert_eq!(BuildArch::parse(arch.apk_name()), Some(arch));
            assert_eq!(BuildArch::parse(arch.go_name()), Some(arch));
        }
        assert_eq!(BuildArch::parse("sparc"), None);
    }

    #[test]
    fn triplets() {
        assert_eq!(BuildArch::X86_64.gnu_triplet("gnu"), "x86_64-pc-linux-gnu");
        assert_eq!(
            BuildArch::Aarch64.rust_triplet("musl"),
            "aarch64-unknown-linux-musl"
        );
        assert_eq!(
            BuildArch::Armv7.gnu_triplet("gnu"),
            "armv7l-unknown-linux-gnueabihf"
        );
    }
}
