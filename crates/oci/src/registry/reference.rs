//! Image references: `[registry/]repository[:tag][@digest]`, normalised
//! the way docker and go-containerregistry do (no registry means Docker
//! Hub, single-component Hub repositories live under `library/`).

use std::fmt;

use super::RegistryError;

/// The registry host Docker Hub references are normalised to (the one
/// go-containerregistry uses and prints).
pub const DOCKER_HUB: &str = "index.docker.io";

/// Key of Docker Hub in docker config files.
pub const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `host[:port]` (Docker Hub as [`DOCKER_HUB`]).
    pub registry: String,
    /// Repository path, e.g. `library/alpine`.
    pub repository: String,
    /// Tag, if given.
    pub tag: Option<String>,
    /// `algorithm:hex`, if given.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `[registry/]repository[:tag][@digest]`.
    pub fn parse(input: &str) -> Result<Reference, RegistryError> {
        let bad = |reason: &str| RegistryError::InvalidReference {
            reference: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(bad("empty"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(bad("the digest is not ALGORITHM:HEX"));
                }
                (r, Some(d.to_owned()))
            }
            None => (input, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(bad(
                        "the tag must be 1-128 characters of [A-Za-z0-9_.-], not starting with . or -",
                    ));
                }
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if !valid_registry(&registry) {
            return Err(bad("the registry host is not HOST[:PORT]"));
        }
        let registry = normalize_registry(&registry);
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !valid_repository(&repository) {
            return Err(bad(
                "the repository must be lowercase path components of [a-z0-9] separated by . _ __ or -",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository@digest`.
    pub fn with_digest(&self, digest: &str) -> String {
        format!("{}@{}", self.name(), digest)
    }

    /// The same repository with `tag` (and no digest).
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        }
    }
}

/// `registry/repository[:tag][@digest]`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Docker Hub's aliases become [`DOCKER_HUB`]; a scheme and trailing
/// path (`https://host/v1/`) are dropped; anything else is kept.
pub fn normalize_registry(registry: &str) -> String {
    let host = registry
        .strip_prefix("https://")
        .or_else(|| registry.strip_prefix("http://"))
        .unwrap_or(registry);
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        other => other.to_owned(),
    }
}

/// Host part of `host[:port]` (`[::1]` for bracketed IPv6).
pub(crate) fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return match registry.find(']') {
            Some(i) => &registry[..=i],
            None => registry,
        };
    }
    registry.split(':').next().unwrap_or(registry)
}

/// `localhost`, `127.0.0.0/8` or `[::1]`, with any port.
pub fn is_loopback(registry: &str) -> bool {
    let host = host_of(registry);
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn valid_registry(r: &str) -> bool {
    if r.is_empty() {
        return false;
    }
    let (host, port) = if r.starts_with('[') {
        match r.find(']') {
            Some(i) => (&r[1..i], r[i + 1..].strip_prefix(':')),
            None => return false,
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    host_ok && port_ok
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

fn valid_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some((algo, hex)) => {
            !algo.is_empty()
                && algo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                && hex.len() >= 32
                && hex
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c))
        }
        None => false,
    }
}

/// Path components of `[a-z0-9]` joined by `.`, `_`, `__` or runs of `-`.
fn valid_repository(repo: &str) -> bool {
    !repo.is_empty()
        && repo.len() <= 255
        && repo.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
                return false;
            }
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                if alnum(b) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && !alnum(bytes[i]) {
                    i += 1;
                }
                let sep = &component[start..i];
                if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
                    return false;
                }
            }
            true
        })
}

#[cfg(test)]
mod tests {
    use super::{Reference, is_loopback};

    fn parse(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(s).unwrap();
        (r.registry, r.repository, r.tag, r.digest)
    }

    #[test]
    fn references_normalise_like_docker() {
        assert_eq!(
            parse("alpine"),
            (
                "index.docker.io".into(),
                "library/alpine".into(),
                None,
                None
            )
        );
        assert_eq!(
            parse("docker.io/foo/bar:1.0"),
            (
                "index.docker.io".into(),
                "foo/bar".into(),
                Some("1.0".into()),
                None
            )
        );
        assert_eq!(
            parse("127.0.0.1:5000/a/b:t"),
            (
                "127.0.0.1:5000".into(),
                "a/b".into(),
                Some("t".into()),
                None
            )
        );
        assert_eq!(
            parse("localhost/x"),
            ("localhost".into(), "x".into(), None, None)
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parse(&format!("reg.io:443/x/y:v@{d}")),
            (
                "reg.io:443".into(),
                "x/y".into(),
                Some("v".into()),
                Some(d.clone())
            )
        );
        let r = Reference::parse("127.0.0.1:5000/app:1").unwrap();
        assert_eq!(r.to_string(), "127.0.0.1:5000/app:1");
        assert_eq!(r.with_digest(&d), format!("127.0.0.1:5000/app@{d}"));
    }

    #[test]
    fn bad_references_are_rejected() {
        for bad in [
            "",
            "UPPER/case",
            "reg.io/a//b",
            "reg.io/a:",
            "reg.io/a:-x",
            "reg.io/a@sha256:short",
            "reg.io/-a",
            "reg.io:port/a",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1:5000",
            "localhost",
            "localhost:1",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1:5000",
            "registry.example.com",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
