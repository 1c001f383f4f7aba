//! `show-config`: the merged configuration as YAML, the way apko prints it
//! (yaml.v3, four-space indentation, apko's field order and `omitempty`
//! rules, repository credentials redacted).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::error::ConfigError;
use crate::types::{Config, EntrypointType, LayeringStrategy};

impl Config {
    /// Renders the configuration as YAML for `image show-config`.
    ///
    /// apko prints the configuration after validation, so call
    /// [`Config::validate`] first to get the same output (home directories
    /// filled in, `s6` added for service bundles). Keys come in apko's struct
    /// order; fields apko tags `omitempty` are left out when empty, the others
    /// (`entrypoint.type`, `accounts.users`, `paths[].source`, …) are always
    /// printed, as yaml.v3 does. Maps are ordered like yaml.v3 orders them
    /// (digit runs compare as numbers). Passwords in `repositories`,
    /// `build_repositories` and `keyring` URLs are replaced by `xxxxx`, and a
    /// malformed repository (`@tag url` with a bad tag, or more than two
    /// words) is an error, both as in apko.
    ///
    /// Parsing the result gives back an equal `Config` unless a password was
    /// redacted.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        let mut redacted = self.clone();
        redact_repositories(&mut redacted.contents.build_repositories)?;
        redact_repositories(&mut redacted.contents.repositories)?;
        for key in &mut redacted.contents.keyring {
            *key = redact_url(key).map_err(|e| {
                ConfigError::Render(format!("parsing public key URL: parse {key:?}: {e}"))
            })?;
        }
        let options = serde_saphyr::ser_options! {
            indent_step: 4,
            compact_list_indent: false,
        };
        serde_saphyr::to_string_with_options(&redacted, options)
            .map_err(|e| ConfigError::Render(e.to_string()))
    }
}

/// apko's `processRepositoryURLs`: `url` or `@tag url`, URL redacted.
fn redact_repositories(repos: &mut [String]) -> Result<(), ConfigError> {
    for repo in repos {
        let parts: Vec<&str> = repo.split(' ').collect();
        let rewritten = match parts.as_slice() {
            [url] => redact_url(url).map_err(|e| url_error(url, &e))?,
            [tag, url] => {
                if !tag.starts_with('@') || tag.len() <= 1 {
                    return Err(ConfigError::Render(format!(
                        "invalid tag format in repository: {tag} (expected @tag format)"
                    )));
                }
                format!("{tag} {}", redact_url(url).map_err(|e| url_error(url, &e))?)
            }
            _ => {
                return Err(ConfigError::Render(format!(
                    "invalid repository format: {repo} (expected either 'url' or '@tag url')"
                )));
            }
        };
        *repo = rewritten;
    }
    Ok(())
}

fn url_error(url: &str, e: &str) -> ConfigError {
    ConfigError::Render(format!("parsing repository URL: parse {url:?}: {e}"))
}

/// Go's `url.Parse(s).Redacted()` for the URLs that occur in configs: the
/// password of `scheme://user:password@host/…` becomes `xxxxx`; anything
/// else is kept as written. Rejects what `url.Parse` rejects most often.
fn redact_url(s: &str) -> Result<String, String> {
    if s.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
        return Err("net/url: invalid control character in URL".to_string());
    }
    if s.starts_with(':') {
        return Err("missing protocol scheme".to_string());
    }
    let Some(scheme_end) = s.find("://") else {
        return Ok(s.to_string());
    };
    let authority_start = scheme_end + 3;
    let rest = &s[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return Ok(s.to_string());
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return Ok(s.to_string());
    };
    Ok(format!(
        "{}{}:xxxxx{}",
        &s[..authority_start],
        &userinfo[..colon],
        &s[authority_start + at..]
    ))
}

/// Serializes a map in yaml.v3's key order.
pub(crate) fn natural_map<S: Serializer>(
    map: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &String)> = map.iter().collect();
    entries.sort_by(|a, b| natural_cmp(a.0, b.0));
    let mut out = serializer.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        out.serialize_entry(k, v)?;
    }
    out.end()
}

/// yaml.v3's ordering of string map keys: letters compare by code point; at
/// the first difference a non-letter sorts before a letter (after a letter
/// when the previous common character was a digit); runs of ASCII digits
/// compare by value, then by length; a prefix sorts first.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut after_digit = false;
    for i in 0..ar.len().min(br.len()) {
        let (ca, cb) = (ar[i], br[i]);
        if ca == cb {
            after_digit = ca.is_ascii_digit();
            continue;
        }
        let (la, lb) = (ca.is_alphabetic(), cb.is_alphabetic());
        if la && lb {
            return ca.cmp(&cb);
        }
        if la || lb {
            // Exactly one is a letter.
            let a_first = if after_digit { la } else { lb };
            return if a_first {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Two non-letters: compare the digit runs starting here. A run that
        // continues a number with a non-zero digit before it counts as
        // non-zero even when it starts with zeros.
        let mut an: u128 = 0;
        let mut bn: u128 = 0;
        if (ca == '0' || cb == '0')
            && ar[..i]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .any(|&c| c != '0')
        {
            an = 1;
            bn = 1;
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .saturating_mul(10)
                .saturating_add(u128::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .saturating_mul(10)
                .saturating_add(u128::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ca.cmp(&cb);
    }
    ar.len().cmp(&br.len())
}

/// `entrypoint.type` has no `omitempty` in apko: printed as `""` when unset.
pub(crate) fn entrypoint_type<S: Serializer>(
    value: &Option<EntrypointType>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.map_or("", EntrypointType::as_str))
}

pub(crate) fn layering_strategy<S: Serializer>(
    value: &Option<LayeringStrategy>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match value {
        Some(LayeringStrategy::Origin) => "origin",
        None => "",
    })
}

impl Serialize for EntrypointType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("https://user:pass@dl-cdn.my.org/alpine/v3.22/main").unwrap(),
            "https://user:xxxxx@dl-cdn.my.org/alpine/v3.22/main"
        );
        assert_eq!(
            redact_url("https://user@host/x").unwrap(),
            "https://user@host/x"
        );
        assert_eq!(
            redact_url("./testdata/packages").unwrap(),
            "./testdata/packages"
        );
        assert!(redact_url("://invalid-url").is_err());
    }

    #[test]
    fn repository_forms_like_apko() {
        let mut ok = vec![
            "@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing".to_string(),
            "@myorg https://user:pass@dl-cdn.my.org/alpine/v3.22/main".to_string(),
        ];
        redact_repositories(&mut ok).unwrap();
        assert_eq!(
            ok[1],
            "@myorg https://user:xxxxx@dl-cdn.my.org/alpine/v3.22/main"
        );
        for bad in [
            "testing https://dl-cdn.alpinelinux.org/alpine/edge/testing",
            "@ https://dl-cdn.alpinelinux.org/alpine/edge/testing",
            "@testing ://invalid-url",
            "://invalid-url",
            "@testing https://example.com extra-part",
        ] {
            assert!(
                redact_repositories(&mut [bad.to_string()]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn natural_order() {
        let mut keys = vec![
            "b", "a10", "a2", "a", "A", "_x", "a_b", "ab", "x1y", "x10", "x1",
        ];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            keys,
            [
                "_x", "A", "a", "a_b", "a2", "a10", "ab", "b", "x1", "x1y", "x10"
            ]
        );
    }
}
