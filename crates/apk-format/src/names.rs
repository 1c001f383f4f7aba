//! Checks on package names, versions and architectures read from untrusted
//! text (indexes, `.PKGINFO`, lock files, recipes, command lines) before
//! they are used in a file name, a path, a URL or written metadata.
//!
//! - A **name** is what apk-tools 3 and melange accept:
//!   `^[A-Za-z0-9][A-Za-z0-9+_.-]*$`.
//! - A **version** starts with a digit and holds only `[A-Za-z0-9._+~-]`.
//!   This is looser than apk's grammar ([`crate::version::is_valid`]) on
//!   purpose: real Alpine indexes carry versions such as `0.99f7-r1` that
//!   apk-tools 2 installs without validating; what matters for safety is
//!   that no version can hold a `/`, a `..` component, whitespace or a
//!   control character.
//! - An **architecture** is `^[A-Za-z0-9_]+$` (`x86_64`, `aarch64`,
//!   `armv7`, `noarch`, ...).
//!
//! With these rules `name-version.apk` and `<arch>/` are always a single,
//! plain path component.

/// Longest name, version or architecture accepted (bytes).
pub const MAX_LEN: usize = 255;

/// Why a name, version or architecture was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{}` is not valid: {reason}", .value.escape_debug())]
pub struct NameError {
    /// `package name`, `version` or `architecture`.
    pub what: &'static str,
    /// The refused text.
    pub value: String,
    /// The rule it breaks.
    pub reason: &'static str,
}

fn check(
    what: &'static str,
    value: &str,
    first: impl Fn(u8) -> bool,
    rest: impl Fn(u8) -> bool,
    rule: &'static str,
) -> Result<(), NameError> {
    let fail = |reason| {
        Err(NameError {
            what,
            value: value.to_string(),
            reason,
        })
    };
    let bytes = value.as_bytes();
    match bytes.first() {
        None => fail("it is empty"),
        Some(_) if bytes.len() > MAX_LEN => fail("it is longer than 255 bytes"),
        Some(&b) if !first(b) => fail(rule),
        Some(_) if !bytes[1..].iter().all(|&b| rest(b)) => fail(rule),
        Some(_) => Ok(()),
    }
}

/// Checks a package name (`^[A-Za-z0-9][A-Za-z0-9+_.-]*$`).
pub fn check_name(name: &str) -> Result<(), NameError> {
    check(
        "package name",
        name,
        |b| b.is_ascii_alphanumeric(),
        |b| b.is_ascii_alphanumeric() || b"+_.-".contains(&b),
        "it must match ^[A-Za-z0-9][A-Za-z0-9+_.-]*$",
    )
}

/// Checks a version read from an index, `.PKGINFO` or lock file.
pub fn check_version(version: &str) -> Result<(), NameError> {
    check(
        "version",
        version,
        |b| b.is_ascii_digit(),
        |b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b),
        "it must start with a digit and hold only letters, digits and ._+~-",
    )
}

/// Checks an architecture name (`^[A-Za-z0-9_]+$`).
pub fn check_arch(arch: &str) -> Result<(), NameError> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    check(
        "architecture",
        arch,
        ok,
        ok,
        "it must match ^[A-Za-z0-9_]+$",
    )
}

/// Checks a file name taken from untrusted text (a key's name from a URL or
/// a discovery document): one plain path component, not `.` or `..`, no
/// `/`, no control characters.
pub fn check_file_name(name: &str) -> Result<(), NameError> {
    let fail = |reason| {
        Err(NameError {
            what: "file name",
            value: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > MAX_LEN {
        return fail("it is longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return fail("it names a directory");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return fail("it holds a slash or a control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "py3-zope.interface", "libstdc++", "R", "a_b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", ".x", "-x", "a b", "a\nb", "é", "x:y"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn versions() {
        for ok in ["1.0-r0", "0.99f7-r1", "1.2.3_rc1_p2~abc-r4", "2024.1.1+x"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "x/../../esc",
            "1.0/../x",
            "1\n",
            "1 0",
            "..",
            ".1",
            "a1",
            "1\0",
        ] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        let e = check_version("1\nP:evil").unwrap_err().to_string();
        assert!(e.contains("1\\nP:evil"), "{e}");
    }

    #[test]
    fn file_names() {
        for ok in [
            "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub",
            "k.pub",
            "..a",
        ] {
            assert!(check_file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a\nb", "a\\b", "a\0"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn archs() {
        for ok in ["x86_64", "aarch64", "noarch", "armv7"] {
            assert!(check_arch(ok).is_ok(), "{ok}");
        }
        for bad in ["", "x86-64", "../x", "a b", "x/y"] {
            assert!(check_arch(bad).is_err(), "{bad}");
        }
    }
}
