//! CPU architectures, under both their OCI and apk names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One of the nine architectures apko builds for.
///
/// The order (`Ord`) is that of the OCI names as strings (`386`, `amd64`,
/// `arm/v6`, `arm/v7`, `arm64`, `loong64`, `ppc64le`, `riscv64`, `s390x`),
/// which is how apko sorts architectures and the manifests of an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// OCI `386`, apk `x86`.
    X86,
    /// OCI `amd64`, apk `x86_64`.
    X86_64,
    /// OCI `arm` variant `v6`, apk `armhf`.
    ArmV6,
    /// OCI `arm` variant `v7`, apk `armv7`.
    ArmV7,
    /// OCI `arm64`, apk `aarch64`.
    Aarch64,
    /// OCI `loong64`, apk `loongarch64`.
    Loongarch64,
    /// `ppc64le` in both.
    Ppc64le,
    /// `riscv64` in both.
    Riscv64,
    /// `s390x` in both.
    S390x,
}

/// An architecture name that is not one apko knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown architecture `{0}`, expected one of 386, amd64, arm64, arm/v6, arm/v7, loong64, \
     ppc64le, riscv64, s390x (or apk names x86, x86_64, aarch64, armhf, armv7, loongarch64), \
     `all` or `host`"
)]
pub struct ArchError(pub String);

impl Arch {
    /// Every architecture, in apko's `types.AllArchs` order (what `all`
    /// means, and what is built when neither the config nor the command line
    /// names any).
    pub const ALL: [Arch; 9] = [
        Arch::X86,
        Arch::X86_64,
        Arch::Aarch64,
        Arch::ArmV6,
        Arch::ArmV7,
        Arch::Loongarch64,
        Arch::Ppc64le,
        Arch::Riscv64,
        Arch::S390x,
    ];

    /// Parses one OCI or apk name (`amd64` or `x86_64`, `arm/v7` or `armv7`).
    /// `all` and `host` are list-level words: see [`Arch::parse_list`].
    pub fn parse(name: &str) -> Result<Arch, ArchError> {
        Ok(match name {
            "386" | "x86" => Arch::X86,
            "amd64" | "x86_64" => Arch::X86_64,
            "arm/v6" | "armhf" => Arch::ArmV6,
            "arm/v7" | "armv7" => Arch::ArmV7,
            "arm64" | "aarch64" => Arch::Aarch64,
            "loong64" | "loongarch64" => Arch::Loongarch64,
            "ppc64le" => Arch::Ppc64le,
            "riscv64" => Arch::Riscv64,
            "s390x" => Arch::S390x,
            other => return Err(ArchError(other.to_string())),
        })
    }

    /// Parses a list of names as apko's `ParseArchitectures` does for
    /// `--arch`: names are normalized, deduplicated and sorted. `all` stands
    /// for every architecture and `host` for the machine's own; unlike apko,
    /// both are honoured anywhere in the list, not only alone.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<Arch>, ArchError> {
        let mut archs = Vec::new();
        for name in names {
            match name.as_ref() {
                "all" => archs.extend(Arch::ALL),
                "host" => archs.push(
                    Arch::host()
                        .ok_or_else(|| ArchError(format!("host ({})", std::env::consts::ARCH)))?,
                ),
                other => archs.push(Arch::parse(other)?),
            }
        }
        archs.sort();
        archs.dedup();
        Ok(archs)
    }

    /// The architecture of the machine we run on, if apko knows it.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86" => Some(Arch::X86),
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            "arm" => Some(Arch::ArmV7),
            "loongarch64" => Some(Arch::Loongarch64),
            "powerpc64" if cfg!(target_endian = "little") => Some(Arch::Ppc64le),
            "riscv64" => Some(Arch::Riscv64),
            "s390x" => Some(Arch::S390x),
            _ => None,
        }
    }

    /// The apk name (`x86_64`), used in repository paths, `/etc/apk/arch`
    /// and package file names.
    pub fn apk_name(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "x86_64",
            Arch::ArmV6 => "armhf",
            Arch::ArmV7 => "armv7",
            Arch::Aarch64 => "aarch64",
            Arch::Loongarch64 => "loongarch64",
            Arch::Ppc64le => "ppc64le",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
        }
    }

    /// apko's name for the architecture (`amd64`, `arm/v7`): the OCI
    /// architecture with its variant, as written in configs and `apko.json`.
    pub fn oci_name(self) -> &'static str {
        match self {
            Arch::X86 => "386",
            Arch::X86_64 => "amd64",
            Arch::ArmV6 => "arm/v6",
            Arch::ArmV7 => "arm/v7",
            Arch::Aarch64 => "arm64",
            Arch::Loongarch64 => "loong64",
            Arch::Ppc64le => "ppc64le",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
        }
    }

    /// The OCI platform `architecture` (`arm` for both 32-bit arms).
    pub fn oci_architecture(self) -> &'static str {
        match self {
            Arch::ArmV6 | Arch::ArmV7 => "arm",
            other => other.oci_name(),
        }
    }

    /// The OCI platform `variant` (`v6`, `v7`), if any.
    pub fn oci_variant(self) -> Option<&'static str> {
        match self {
            Arch::ArmV6 => Some("v6"),
            Arch::ArmV7 => Some("v7"),
            _ => None,
        }
    }
}

impl fmt::Display for Arch {
    /// Displays the apko/OCI name (`amd64`, `arm/v7`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.oci_name())
    }
}

impl FromStr for Arch {
    type Err = ArchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arch::parse(s)
    }
}

impl Serialize for Arch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.oci_name())
    }
}

impl<'de> Deserialize<'de> for Arch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Arch::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for arch in Arch::ALL {
            assert_eq!(Arch::parse(arch.oci_name()), Ok(arch));
            assert_eq!(Arch::parse(arch.apk_name()), Ok(arch));
        }
        assert_eq!(Arch::parse("armhf"), Ok(Arch::ArmV6));
        assert_eq!(Arch::ArmV7.oci_architecture(), "arm");
        assert_eq!(Arch::ArmV7.oci_variant(), Some("v7"));
        assert_eq!(Arch::Aarch64.oci_variant(), None);
        assert_eq!(Arch::Loongarch64.apk_name(), "loongarch64");
        assert!(Arch::parse("apples").is_err());
    }

    #[test]
    fn lists_like_apko() {
        // apko's TestParseArchitectures cases.
        assert_eq!(
            Arch::parse_list(&["riscv64", "amd64", "arm/v6"]).unwrap(),
            [Arch::X86_64, Arch::ArmV6, Arch::Riscv64]
        );
        assert_eq!(
            Arch::parse_list(&["amd64", "amd64", "arm64"]).unwrap(),
            [Arch::X86_64, Arch::Aarch64]
        );
        assert_eq!(
            Arch::parse_list(&["x86_64", "amd64", "arm64", "arm/v6", "armhf"]).unwrap(),
            [Arch::X86_64, Arch::ArmV6, Arch::Aarch64]
        );
        let mut all = Arch::ALL.to_vec();
        all.sort();
        assert_eq!(Arch::parse_list(&["all"]).unwrap(), all);
        assert_eq!(Arch::parse_list::<&str>(&[]).unwrap(), []);
        if let Some(host) = Arch::host() {
            assert_eq!(Arch::parse_list(&["host"]).unwrap(), [host]);
        }
    }

    #[test]
    fn order_is_oci_string_order() {
        let mut names: Vec<&str> = Arch::ALL.iter().map(|a| a.oci_name()).collect();
        names.sort();
        let mut archs = Arch::ALL.to_vec();
        archs.sort();
        let sorted: Vec<&str> = archs.iter().map(|a| a.oci_name()).collect();
        assert_eq!(names, sorted);
    }
}
