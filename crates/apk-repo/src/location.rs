//! Repository lines (`[@tag ]URL-or-path`) and where their files live.

use std::fmt;
use std::path::PathBuf;

/// Where a repository (or a key) lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// A local directory (or file).
    Local(PathBuf),
    /// An `http://` or `https://` URL, without trailing slash.
    Remote(String),
}

impl Location {
    /// Parses a URL or a path. `file://` URLs become paths.
    pub fn parse(s: &str) -> Location {
        let s = s.trim();
        if s.starts_with("http://") || s.starts_with("https://") {
            Location::Remote(s.trim_end_matches('/').to_string())
        } else if let Some(path) = s.strip_prefix("file://") {
            Location::Local(PathBuf::from(path))
        } else {
            let trimmed = s.trim_end_matches('/');
            Location::Local(PathBuf::from(if trimmed.is_empty() { s } else { trimmed }))
        }
    }

    /// Appends `/`-separated path segments.
    pub fn join(&self, rel: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(rel)),
            Location::Remote(u) => Location::Remote(format!("{u}/{rel}")),
        }
    }

    /// The last path segment (a key's file name).
    pub fn file_name(&self) -> Option<String> {
        match self {
            Location::Local(p) => p.file_name().and_then(|n| n.to_str()).map(str::to_string),
            Location::Remote(u) => {
                let path = u.split(['?', '#']).next().unwrap_or(u);
                path.rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Remote(u) => f.write_str(&redact(u)),
        }
    }
}

/// Hides a password in `scheme://user:password@host/...`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// One repository: a location and an optional `@tag` pin.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoLine {
    /// The pin tag of `@tag url` lines.
    pub tag: Option<String>,
    /// Where it lives.
    pub location: Location,
    /// The line as written (for `/etc/apk/repositories`).
    pub text: String,
}

impl RepoLine {
    /// Parses `url`, `path` or `@tag url`.
    pub fn parse(line: &str) -> RepoLine {
        let line = line.trim();
        let (tag, rest) = match line.strip_prefix('@') {
            Some(rest) => match rest.split_once(char::is_whitespace) {
                Some((tag, url)) => (Some(tag.to_string()), url.trim()),
                None => (Some(rest.to_string()), ""),
            },
            None => (None, line),
        };
        let location = Location::parse(rest);
        let text = match &tag {
            Some(t) => format!("@{t} {}", rest.trim_end_matches('/')),
            None => rest.trim_end_matches('/').to_string(),
        };
        RepoLine {
            tag,
            location,
            text,
        }
    }

    /// Location of the index for `arch`.
    pub fn index_location(&self, arch: &str) -> Location {
        self.location.join(&format!("{arch}/APKINDEX.tar.gz"))
    }

    /// Location of a package file for `arch`.
    pub fn package_location(&self, arch: &str, name: &str, version: &str) -> Location {
        self.location.join(&format!("{arch}/{name}-{version}.apk"))
    }
}

impl fmt::Display for RepoLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(t) => write!(f, "@{t} {}", self.location),
            None => write!(f, "{}", self.location),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let r = RepoLine::parse("@edge https://dl-cdn.alpinelinux.org/alpine/edge/main/");
        assert_eq!(r.tag.as_deref(), Some("edge"));
        assert_eq!(
            r.index_location("x86_64"),
            Location::Remote(
                "https://dl-cdn.alpinelinux.org/alpine/edge/main/x86_64/APKINDEX.tar.gz".into()
            )
        );
        assert_eq!(
            r.text,
            "@edge https://dl-cdn.alpinelinux.org/alpine/edge/main"
        );
        let l = RepoLine::parse("./packages");
        assert_eq!(l.location, Location::Local("./packages".into()));
        assert_eq!(
            redact("https://u:secret@h.example/x"),
            "https://u:***@h.example/x"
        );
        assert_eq!(
            Location::parse("https://h/keys/a.rsa.pub")
                .file_name()
                .as_deref(),
            Some("a.rsa.pub")
        );
    }
}
