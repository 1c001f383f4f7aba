//! `.PKGINFO`: the `key = value` control file inside every package.

use crate::dependency::{Dependency, DependencyError};
use crate::record::PackageRecord;

/// One line of a `.PKGINFO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PkgInfoLine {
    /// `# text` (kept verbatim, without the newline).
    Comment(String),
    /// A line of another shape (apk-tools ignores these; kept verbatim).
    Other(String),
    /// `key = value`.
    Field {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

/// A parsed `.PKGINFO`, lines in their original order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PkgInfo {
    /// The lines.
    pub lines: Vec<PkgInfoLine>,
}

/// Error reading a `.PKGINFO`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkgInfoError {
    /// Not valid UTF-8.
    #[error(".PKGINFO is not valid UTF-8")]
    NotUtf8,
    /// A bad value for a known key.
    #[error(".PKGINFO line {line}: `{key}` has invalid value `{value}`")]
    BadValue {
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// A bad dependency atom.
    #[error(".PKGINFO line {line}: `{key}`: {source}")]
    BadDependency {
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
        /// What was wrong.
        #[source]
        source: DependencyError,
    },
    /// A required key is missing.
    #[error(".PKGINFO has no `{0}`")]
    Missing(&'static str),
}

impl PkgInfo {
    /// Parses `.PKGINFO` bytes.
    pub fn parse(bytes: &[u8]) -> Result<PkgInfo, PkgInfoError> {
        let text = std::str::from_utf8(bytes).map_err(|_| PkgInfoError::NotUtf8)?;
        let mut lines = Vec::new();
        for line in crate::record::lines(text) {
            if line.starts_with('#') {
                lines.push(PkgInfoLine::Comment(line.to_string()));
                continue;
            }
            let field = line
                .split_once(" = ")
                .map(|(key, value)| (key.trim(), value))
                // A trimmed key must not read back as a comment or split
                // elsewhere (`x =\t = v` would be written `x = = v`).
                .filter(|(key, _)| !key.starts_with('#') && !key.ends_with(" ="));
            let Some((key, value)) = field else {
                // Continuation lines of wrapped values and blank lines:
                // apk-tools skips them, so do we (but keep them).
                lines.push(PkgInfoLine::Other(line.to_string()));
                continue;
            };
            lines.push(PkgInfoLine::Field {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        Ok(PkgInfo { lines })
    }

    /// Writes the lines back, each ending in a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                PkgInfoLine::Comment(c) | PkgInfoLine::Other(c) => out.push_str(c),
                PkgInfoLine::Field { key, value } => {
                    out.push_str(key);
                    out.push_str(" = ");
                    out.push_str(value);
                }
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    /// First value of `key`.
    pub fn get<'a>(&'a self, key: &'a str) -> Option<&'a str> {
        self.values(key).next()
    }

    /// All values of `key`, in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines.iter().filter_map(move |l| match l {
            PkgInfoLine::Field { key: k, value } if k == key => Some(value.as_str()),
            _ => None,
        })
    }

    /// Appends `key = value`.
    pub fn push(&mut self, key: &str, value: impl Into<String>) {
        self.lines.push(PkgInfoLine::Field {
            key: key.to_string(),
            value: value.into(),
        });
    }

    /// Interprets the fields as package metadata.
    pub fn to_record(&self) -> Result<PackageRecord, PkgInfoError> {
        let mut r = PackageRecord::default();
        for (i, line) in self.lines.iter().enumerate() {
            let PkgInfoLine::Field { key, value } = line else {
                continue;
            };
            let line_no = i + 1;
            let number = || {
                value.parse::<u64>().map_err(|_| PkgInfoError::BadValue {
                    line: line_no,
                    key: key.clone(),
                    value: value.clone(),
                })
            };
            let deps = || {
                Dependency::parse_list(value).map_err(|source| PkgInfoError::BadDependency {
                    line: line_no,
                    key: key.clone(),
                    source,
                })
            };
            match key.as_str() {
                "pkgname" => r.name = value.clone(),
                "pkgver" => r.version = value.clone(),
                "pkgdesc" => r.description = value.clone(),
                "url" => r.url = value.clone(),
                "builddate" => r.build_time = Some(number()?),
                "size" => r.installed_size = number()?,
                "arch" => r.arch = value.clone(),
                "origin" => r.origin = Some(value.clone()),
                "commit" => r.commit = Some(value.clone()),
                "maintainer" => r.maintainer = Some(value.clone()),
                "license" => {
                    // apk-tools keeps the last license line; melange writes one.
                    r.license = value.clone();
                }
                "depend" => r.depends.extend(deps()?),
                "provides" => r.provides.extend(deps()?),
                "replaces" => r.replaces.extend(deps()?),
                "install_if" => r.install_if.extend(deps()?),
                "triggers" => r
                    .triggers
                    .extend(value.split_ascii_whitespace().map(str::to_string)),
                "provider_priority" => r.provider_priority = Some(number()?),
                "replaces_priority" => r.replaces_priority = Some(number()?),
                "datahash" => r.datahash = Some(value.clone()),
                _ => {}
            }
        }
        if r.name.is_empty() {
            return Err(PkgInfoError::Missing("pkgname"));
        }
        if r.version.is_empty() {
            return Err(PkgInfoError::Missing("pkgver"));
        }
        Ok(r)
    }

    /// Builds a `.PKGINFO` from metadata, in the order melange writes it:
    /// one `depend`, `provides` and `replaces` line per atom, then
    /// `install_if` as one space-separated line (abuild's form).
    /// `datahash` is written when the record has one.
    pub fn from_record(r: &PackageRecord, generator_comment: Option<&str>) -> PkgInfo {
        let mut p = PkgInfo::default();
        if let Some(c) = generator_comment {
            p.lines.push(PkgInfoLine::Comment(format!("# {c}")));
        }
        p.push("pkgname", &r.name);
        p.push("pkgver", &r.version);
        p.push("arch", &r.arch);
        p.push("size", r.installed_size.to_string());
        p.push("origin", r.origin.clone().unwrap_or_else(|| r.name.clone()));
        p.push("pkgdesc", &r.description);
        p.push("url", &r.url);
        p.push("commit", r.commit.clone().unwrap_or_default());
        if let Some(m) = &r.maintainer {
            p.push("maintainer", m);
        }
        if let Some(t) = r.build_time.filter(|t| *t != 0) {
            p.push("builddate", t.to_string());
        }
        if !r.license.is_empty() {
            p.push("license", &r.license);
        }
        for d in &r.depends {
            p.push("depend", d.to_string());
        }
        for d in &r.provides {
            p.push("provides", d.to_string());
        }
        for d in &r.replaces {
            p.push("replaces", d.to_string());
        }
        // One line, atoms separated by spaces, as abuild writes it (melange
        // writes none); apk-tools reads every atom of the line.
        if !r.install_if.is_empty() {
            p.push("install_if", crate::dependency::join(&r.install_if));
        }
        if let Some(k) = r.provider_priority {
            p.push("provider_priority", k.to_string());
        }
        if let Some(k) = r.replaces_priority {
            p.push("replaces_priority", k.to_string());
        }
        if !r.triggers.is_empty() {
            // Each path followed by a space, as melange writes it (apk-tools
            // and apko split on spaces and skip the empty rest).
            let mut line = String::new();
            for t in &r.triggers {
                line.push_str(t);
                line.push(' ');
            }
            p.push("triggers", line);
        }
        if let Some(h) = &r.datahash {
            p.push("datahash", h);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_write() {
        let text = "# Generated by abuild 3.12.0-r0\n# using fakeroot version 1.32.1\npkgname = busybox\npkgver = 1.36.1-r15\nsize = 100\ndepend = so:libc.musl-x86_64.so.1\ndepend = foo>=1\ntriggers = /bin /usr/bin\ndatahash = ab\n";
        let p = PkgInfo::parse(text.as_bytes()).unwrap();
        assert_eq!(p.to_bytes(), text.as_bytes());
        let r = p.to_record().unwrap();
        assert_eq!(r.depends.len(), 2);
        assert_eq!(r.triggers, vec!["/bin", "/usr/bin"]);
        let again = PkgInfo::from_record(&r, None).to_record().unwrap();
        assert_eq!(again.depends, r.depends);
        let odd = PkgInfo::parse(b"pkgname = a\n\tcontinued\npkgver = 1\n").unwrap();
        assert_eq!(odd.to_bytes(), b"pkgname = a\n\tcontinued\npkgver = 1\n");
        assert_eq!(odd.to_record().unwrap().name, "a");
        assert!(
            PkgInfo::parse(b"pkgname = a\nsize = x\npkgver = 1\n")
                .unwrap()
                .to_record()
                .is_err()
        );
        assert!(PkgInfo::parse(&[0xff, 0xfe]).is_err());
    }

    /// Fuzz finding (target `pkginfo`): ` #using fakeroot = x` became the
    /// field `#using fakeroot`, written back as a comment line.
    #[test]
    fn written_lines_read_back_the_same() {
        for text in [
            &b" #using fakeroot = x\n"[..],
            b"x =\t = v\n",
            b"pkgname = a\r",
            b"pkgname = a\r\r\n\r\n",
            b"\tpkgver = 1 = 2\n",
        ] {
            let p = PkgInfo::parse(text).unwrap();
            assert_eq!(PkgInfo::parse(&p.to_bytes()).unwrap(), p, "{text:?}");
        }
        let p = PkgInfo::parse(b" #using fakeroot = x\n").unwrap();
        assert_eq!(
            p.lines,
            vec![PkgInfoLine::Other(" #using fakeroot = x".to_string())]
        );
        assert_eq!(
            PkgInfo::parse(b"pkgname = a\r").unwrap().get("pkgname"),
            Some("a")
        );
        assert_eq!(
            PkgInfo::parse(b"\tpkgver = 1\n").unwrap().get("pkgver"),
            Some("1")
        );
    }
}
