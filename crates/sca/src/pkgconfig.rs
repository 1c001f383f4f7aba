//! `.pc` files, parsed with the grammar of chainguard-dev/go-pkgconfig (the
//! parser melange uses), so the same files are accepted and refused:
//!
//! ```text
//! document   = { "\n" | comment | key "=" value | list-key ":" deps | key ":" value }
//! comment    = "#" [^#\n]*
//! key        = [A-Za-z0-9_.]+
//! list-key   = "Requires.private" | "Requires.internal" | "Requires" | "Provides"
//! deps       = { dep [","] }
//! dep        = ident op version | ident
//! ident      = [A-Za-z0-9_.-]+        op = "<=" | "<" | "=" | ">=" | ">"
//! version    = [A-Za-z0-9.-]+
//! ```
//!
//! Whitespace other than newlines may stand before any token. Values run to
//! the end of the line. Dependency lists are not variable-expanded, so a
//! `Requires: ${x}` line makes the whole file unparsable (melange then skips
//! it). Anything left unparsed is an error.

use std::collections::HashMap;

/// One `Requires`-style entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcDependency {
    /// The module name.
    pub name: String,
    /// Version constraint: operator (`<`, `<=`, `=`, `>=`, `>`) and version.
    pub constraint: Option<(String, String)>,
}

/// The parts of a `.pc` file SCA uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PcFile {
    /// Variables, expanded as they were defined.
    pub variables: HashMap<String, String>,
    /// `Name:`, expanded.
    pub name: String,
    /// `Version:`, expanded.
    pub version: String,
    /// `Requires:`.
    pub requires: Vec<PcDependency>,
    /// `Requires.private:`.
    pub requires_private: Vec<PcDependency>,
    /// `Requires.internal:`.
    pub requires_internal: Vec<PcDependency>,
    /// `Provides:`.
    pub provides: Vec<PcDependency>,
}

/// Where a `.pc` file stopped parsing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unparsable pkg-config data at line {line}: {text:?}")]
pub struct PcError {
    /// 1-based line number.
    pub line: usize,
    /// The unparsed rest of that line.
    pub text: String,
}

fn is_key(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn is_ident(c: char) -> bool {
    is_key(c) || c == '-'
}

fn is_version(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// goparsify's whitespace: Unicode spaces except the newline.
fn skip_ws(s: &str) -> &str {
    s.trim_start_matches(|c: char| c != '\n' && c.is_whitespace())
}

/// A non-empty run of `pred` characters after whitespace.
fn token(s: &str, pred: fn(char) -> bool) -> Option<(&str, &str)> {
    let s = skip_ws(s);
    let end = s.find(|c: char| !pred(c)).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// `ident op version`, or just `ident`.
fn dependency(s: &str) -> Option<(PcDependency, &str)> {
    let (name, rest) = token(s, is_ident)?;
    let after_op = skip_ws(rest);
    let op = ["<=", "<", "=", ">=", ">"]
        .into_iter()
        .find(|op| after_op.starts_with(op));
    if let Some(op) = op
        && let Some((version, rest)) = token(&after_op[op.len()..], is_version)
    {
        let dep = PcDependency {
            name: name.to_string(),
            constraint: Some((op.to_string(), version.to_string())),
        };
        return Some((dep, rest));
    }
    let dep = PcDependency {
        name: name.to_string(),
        constraint: None,
    };
    Some((dep, rest))
}

fn dependency_list(mut s: &str) -> (Vec<PcDependency>, &str) {
    let mut deps = Vec::new();
    while let Some((dep, rest)) = dependency(s) {
        deps.push(dep);
        s = rest;
        let after = skip_ws(s);
        if let Some(rest) = after.strip_prefix(',') {
            s = rest;
        }
    }
    (deps, s)
}

/// The text of a value: the rest of the line after whitespace.
fn value(s: &str) -> (&str, &str) {
    let s = skip_ws(s);
    let end = s.find('\n').unwrap_or(s.len());
    s.split_at(end)
}

/// Longest expanded value accepted: variables that double in size at each
/// definition would otherwise exhaust memory.
const MAX_VALUE: usize = 1 << 20;

impl PcFile {
    /// go-pkgconfig replaces every known `${name}` once per variable; one
    /// pass suffices since stored values are already expanded.
    fn expand(&self, value: &str) -> Option<String> {
        let mut out = value.to_string();
        for (k, v) in &self.variables {
            let pattern = format!("${{{k}}}");
            let count = out.matches(&pattern).count();
            if count > 0 {
                let grown = out.len() - count * pattern.len() + count * v.len();
                if grown > MAX_VALUE {
                    return None;
                }
                out = out.replace(&pattern, v);
            }
        }
        Some(out)
    }
}

/// Parses a `.pc` file (text; invalid UTF-8 is replaced first).
pub fn parse(data: &str) -> Result<PcFile, PcError> {
    let mut pc = PcFile::default();
    let mut s = data;
    let error = |rest: &str| {
        let line = data[..data.len() - rest.len()].matches('\n').count() + 1;
        let text = rest.split('\n').next().unwrap_or_default().to_string();
        PcError { line, text }
    };
    loop {
        s = skip_ws(s);
        if s.is_empty() {
            return Ok(pc);
        }
        if let Some(rest) = s.strip_prefix('\n') {
            s = rest;
            continue;
        }
        if let Some(rest) = s.strip_prefix('#') {
            s = rest.trim_start_matches(|c| c != '#' && c != '\n');
            continue;
        }
        let Some((key, rest)) = token(s, is_key) else {
            return Err(error(s));
        };
        let rest = skip_ws(rest);
        if let Some(rest) = rest.strip_prefix('=') {
            let (v, rest) = value(rest);
            let v = pc.expand(v).ok_or_else(|| error(s))?;
            pc.variables.insert(key.to_string(), v);
            s = rest;
            continue;
        }
        let Some(rest) = rest.strip_prefix(':') else {
            return Err(error(s));
        };
        let list = match key {
            "Requires.private" => Some(&mut pc.requires_private),
            "Requires.internal" => Some(&mut pc.requires_internal),
            "Requires" => Some(&mut pc.requires),
            "Provides" => Some(&mut pc.provides),
            _ => None,
        };
        if let Some(list) = list {
            let (deps, rest) = dependency_list(rest);
            *list = deps;
            s = rest;
            continue;
        }
        let (v, rest) = value(rest);
        let upper = key.to_uppercase();
        if upper == "NAME" || upper == "VERSION" {
            let v = pc.expand(v).ok_or_else(|| error(s))?;
            if upper == "NAME" {
                pc.name = v;
            } else {
                pc.version = v;
            }
        }
        s = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, c: Option<(&str, &str)>) -> PcDependency {
        PcDependency {
            name: name.into(),
            constraint: c.map(|(o, v)| (o.into(), v.into())),
        }
    }

    #[test]
    fn typical_file() {
        let pc = parse(
            "prefix=/usr\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\n\n\
             Name: GLib  \nDescription: C Utility Library\nVersion: 2.78.1\n\
             Requires: glib-2.0 >= 2.50, gobject-2.0,libffi\n\
             Requires.private: zlib=1.2 libpcre2-8 >2 # trailing comment\n\
             Libs: -L${libdir} -lgio-2.0\nCflags: -I${includedir}\n",
        )
        .unwrap();
        assert_eq!(pc.variables["libdir"], "/usr/lib");
        assert_eq!(pc.name, "GLib  ");
        assert_eq!(pc.version, "2.78.1");
        assert_eq!(
            pc.requires,
            [
                dep("glib-2.0", Some((">=", "2.50"))),
                dep("gobject-2.0", None),
                dep("libffi", None)
            ]
        );
        assert_eq!(
            pc.requires_private,
            [
                dep("zlib", Some(("=", "1.2"))),
                dep("libpcre2-8", Some((">", "2")))
            ]
        );
    }

    #[test]
    fn go_pkgconfig_quirks() {
        // Versions stop at characters outside [A-Za-z0-9.-]: the rest is
        // read as another module.
        let pc = parse("Requires: foo >= 1.0_rc1\n").unwrap();
        assert_eq!(
            pc.requires,
            [dep("foo", Some((">=", "1.0"))), dep("_rc1", None)]
        );
        // An operator without a version leaves the operator unparsed.
        assert!(parse("Requires: foo >=\n").is_err());
        // Lists are not expanded, so variables in them are errors.
        let err = parse("x=1\nRequires: ${x}\n").unwrap_err();
        assert_eq!(err.line, 2);
        // Keys with characters outside [A-Za-z0-9_.] are errors.
        assert!(parse("Foo-Bar: baz\n").is_err());
        assert!(parse("just text\n").is_err());
        // Lower-case list keys are ordinary properties.
        assert!(parse("requires: ${x}\n").unwrap().requires.is_empty());
        // `Requires.privatex` is a property, not a list.
        assert!(parse("Requires.privatex: $$\n").is_ok());
        // Empty lists and values are fine; so are CRLF files.
        let pc = parse("Requires:\r\nName:\r\nVersion: 1.0\r\n").unwrap();
        assert!(pc.requires.is_empty());
        assert_eq!(pc.version, "1.0\r");
        // Comments end at the next `#`.
        assert!(parse("# a # b\n## c\n").is_ok());
        // Continuation lines are not supported.
        assert!(parse("Requires: a,\n  b c\n").is_err());
    }

    #[test]
    fn empty_and_hostile_inputs() {
        assert_eq!(parse("").unwrap(), PcFile::default());
        assert!(parse("\u{0}").is_err());
        let long = "a=".to_string() + &"${a}".repeat(1000);
        assert!(parse(&long).is_ok());
        // Doubling variables stop at the size limit instead of exhausting
        // memory.
        let mut bomb = "v0=xxxxxxxxxxxxxxxx\n".to_string();
        for i in 1..40 {
            bomb.push_str(&format!("v{i}=${{v{}}}${{v{}}}\n", i - 1, i - 1));
        }
        assert!(parse(&bomb).is_err());
        assert!(parse("Requires: a, , b\n").is_err());
    }
}
