//! apko's `Validate`: preflight checks, and the defaults it fills in.

use std::collections::HashSet;

use apk_format::Dependency;

use crate::argv::split_words;
use crate::error::ConfigError;
use crate::types::{Config, EntrypointType, LayerFormat};

/// The pattern apko requires of certificate and runtime key names.
pub const NAME_PATTERN: &str = "^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$";

/// Whether `name` matches [`NAME_PATTERN`]: not empty, only ASCII letters,
/// digits, `_`, `-` and `.`, and not starting with `.`.
pub fn is_valid_file_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Config {
    /// Checks the configuration and fills in defaults, as apko's `Validate`
    /// does before every build (and before `show-config` prints). Call it
    /// once, after merging command-line overrides (`--package-append`, …).
    ///
    /// Changes made, as in apko:
    /// - `entrypoint.type: service-bundle` sets `entrypoint.command` to
    ///   `/bin/s6-svscan /sv` and appends package `s6`;
    /// - users without `homedir` get `/home/<username>`.
    ///
    /// Errors, as in apko: a user without a name or with UID 0, a group
    /// without a name, the erofs format with a `layering` key, an additional
    /// certificate without a name or with a name not matching
    /// [`NAME_PATTERN`], a runtime key without name or content, with a bad
    /// name, or named twice.
    ///
    /// Errors apko reports only later, while building: a package atom that
    /// does not parse, `layering` with a budget but no strategy, and an
    /// entrypoint command or cmd whose quotes do not close.
    ///
    /// Errors name the file, line and column of the offending item when it
    /// came from a file.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        if self.entrypoint.r#type == Some(EntrypointType::ServiceBundle) {
            self.entrypoint.command = "/bin/s6-svscan /sv".to_string();
            // Duplicates are harmless: apk fixes up the world file.
            self.contents.packages.push("s6".to_string());
        }

        for user in &mut self.accounts.users {
            let at = user.origin.pos();
            if user.username.is_empty() {
                return Err(ConfigError::invalid(
                    at,
                    format!(
                        "configured user with UID {} has no configured user name",
                        user.uid
                    ),
                ));
            }
            if user.uid == 0 {
                return Err(ConfigError::invalid(
                    at,
                    format!(
                        "configured user `{}` has UID 0 (to run as root, use `run-as: 0`)",
                        user.username
                    ),
                ));
            }
            if user.homedir.is_empty() {
                user.homedir = format!("/home/{}", user.username);
            }
        }

        for group in &self.accounts.groups {
            if group.groupname.is_empty() {
                return Err(ConfigError::invalid(
                    group.origin.pos(),
                    format!(
                        "configured group with GID {} has no configured group name",
                        group.gid
                    ),
                ));
            }
        }

        if self.format == Some(LayerFormat::Erofs) && self.layering.is_some() {
            return Err(ConfigError::invalid(
                None,
                "layering is not supported with format \"erofs\" yet (use one or the other)",
            ));
        }

        if let Some(certs) = &self.certificates {
            for cert in &certs.additional {
                let at = cert.origin.pos();
                if cert.name.is_empty() {
                    return Err(ConfigError::invalid(
                        at,
                        "configured additional certificate has no name",
                    ));
                }
                if !is_valid_file_name(&cert.name) {
                    return Err(ConfigError::invalid(
                        at,
                        format!(
                            "configured additional certificate {:?} has an invalid name, it must match {NAME_PATTERN}",
                            cert.name
                        ),
                    ));
                }
            }
        }

        let mut seen = HashSet::new();
        for key in &self.contents.runtime_keyring {
            let at = key.origin.pos();
            if key.name.is_empty() {
                return Err(ConfigError::invalid(
                    at,
                    "configured runtime_keyring entry has no name",
                ));
            }
            if key.content.is_empty() {
                return Err(ConfigError::invalid(
                    at,
                    format!("runtime_keyring entry {:?} has no content", key.name),
                ));
            }
            if !is_valid_file_name(&key.name) {
                return Err(ConfigError::invalid(
                    at,
                    format!(
                        "runtime_keyring entry {:?} has an invalid name, it must match {NAME_PATTERN}",
                        key.name
                    ),
                ));
            }
            if !seen.insert(key.name.as_str()) {
                return Err(ConfigError::invalid(
                    at,
                    format!("runtime_keyring entry {:?} is a duplicate", key.name),
                ));
            }
        }

        for atom in &self.contents.packages {
            if let Err(e) = Dependency::parse_strict(atom) {
                return Err(ConfigError::invalid(
                    None,
                    format!("invalid package `{atom}`: {e}"),
                ));
            }
        }

        if let Some(layering) = &self.layering
            && layering.strategy.is_none()
            && layering.budget != 0
        {
            return Err(ConfigError::invalid(
                None,
                "unrecognized layering strategy \"\" (layering.budget needs strategy: origin)",
            ));
        }

        if self.entrypoint.shell_fragment.is_empty() {
            split_words(&self.entrypoint.command).map_err(|e| {
                ConfigError::invalid(None, format!("unable to parse entrypoint command: {e}"))
            })?;
        }
        split_words(&self.cmd)
            .map_err(|e| ConfigError::invalid(None, format!("unable to parse cmd: {e}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_like_apko() {
        for ok in ["my-cert.pem", "mirror.rsa.pub", "a", "_x", "-x", "A.b-c_d"] {
            assert!(is_valid_file_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".hidden-cert",
            "trying/../../../to/break",
            "my-cert@123!",
            "subdir/mirror.rsa.pub",
            "a b",
            "é",
        ] {
            assert!(!is_valid_file_name(bad), "{bad}");
        }
    }
}
