//! apk license strings → valid SPDX license expressions.
//!
//! An apk's `license` is free text that is *usually* an SPDX expression
//! (`GPL-2.0-or-later AND MIT`), sometimes with non-SPDX names
//! (`Public-Domain`), unknown exceptions (`GPL-3.0-or-later WITH
//! OpenSSL-Exception`) or no operators at all (`MIT BSD`). The result here
//! always validates:
//!
//! - identifiers found on the SPDX license list (case-insensitively) are
//!   written in their canonical case, with a trailing `+` kept; deprecated
//!   combined ids (`GPL-2.0-with-classpath-exception`) are written as
//!   `license WITH exception`;
//! - unknown identifiers, and `X WITH Y` whose exception is unknown, become
//!   `LicenseRef-apk-…` with an [`ExtractedLicense`] holding the original
//!   text (a given `LicenseRef-x` becomes `LicenseRef-apk-x`, see
//!   `license_ref` for why);
//! - a string that is not an expression at all becomes one
//!   `LicenseRef-apk-…`;
//! - an empty string becomes `NOASSERTION`.

use sha2::{Digest, Sha256};

/// The SPDX "no assertion" value.
pub const NOASSERTION: &str = "NOASSERTION";

/// A license that is not on the SPDX list, declared in the document.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExtractedLicense {
    /// `LicenseRef-…`.
    pub id: String,
    /// The original text it stands for.
    pub text: String,
}

/// A license string made valid for SPDX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedLicense {
    /// The expression (or `NOASSERTION`).
    pub expression: String,
    /// `LicenseRef-…`s the expression uses.
    pub extracted: Vec<ExtractedLicense>,
}

impl NormalizedLicense {
    /// True when the expression uses only SPDX list identifiers (so it can
    /// stand as a CycloneDX `expression` without extra declarations).
    pub fn is_pure_spdx(&self) -> bool {
        self.extracted.is_empty() && self.expression != NOASSERTION
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    And,
    Or,
    With,
    Word(&'a str),
}

fn tokenize(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else {
            return out;
        };
        if c == '(' || c == ')' {
            out.push(if c == '(' { Token::Open } else { Token::Close });
            rest = &rest[1..];
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        out.push(match word {
            w if w.eq_ignore_ascii_case("and") => Token::And,
            w if w.eq_ignore_ascii_case("or") => Token::Or,
            w if w.eq_ignore_ascii_case("with") => Token::With,
            w => Token::Word(w),
        });
        rest = &rest[end..];
    }
}

#[derive(Debug)]
enum Node<'a> {
    License(&'a str),
    With(&'a str, &'a str),
    And(Vec<Node<'a>>),
    Or(Vec<Node<'a>>),
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&Token<'a>> {
        self.pos += 1;
        self.tokens.get(self.pos - 1)
    }

    fn or(&mut self) -> Option<Node<'a>> {
        let mut terms = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Some(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Node::Or(terms)
        })
    }

    fn and(&mut self) -> Option<Node<'a>> {
        let mut terms = vec![self.with()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            terms.push(self.with()?);
        }
        Some(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Node::And(terms)
        })
    }

    fn with(&mut self) -> Option<Node<'a>> {
        match self.next()? {
            Token::Open => {
                let inner = self.or()?;
                (self.next() == Some(&Token::Close)).then_some(inner)
            }
            Token::Word(license) => {
                let license = *license;
                if self.peek() == Some(&Token::With) {
                    self.pos += 1;
                    match self.next()? {
                        Token::Word(exception) => Some(Node::With(license, exception)),
                        _ => None,
                    }
                } else {
                    Some(Node::License(license))
                }
            }
            _ => None,
        }
    }
}

fn parse(s: &str) -> Option<Node<'_>> {
    let mut parser = Parser {
        tokens: tokenize(s),
        pos: 0,
    };
    let node = parser.or()?;
    (parser.pos == parser.tokens.len()).then_some(node)
}

/// `[A-Za-z0-9.-]+`, the SPDX idstring.
pub(crate) fn is_idstring(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// The canonical spelling of a license list identifier (case-insensitive,
/// `+` kept).
fn canonical_license(word: &str) -> Option<String> {
    let (base, plus) = match word.strip_suffix('+') {
        Some(base) => (base, "+"),
        None => (word, ""),
    };
    let name = match spdx::license_id(base) {
        Some(id) if id.name == base => id.name,
        _ => {
            spdx::identifiers::LICENSES
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(base))?
                .name
        }
    };
    Some(format!("{name}{plus}"))
}

/// Deprecated list ids that stand for a license with an exception, and
/// their current spelling (the bare GNU ids mean `-only`, as SPDX says for
/// `GPL-2.0`). Some validators know these names only as exceptions.
const DEPRECATED_WITH: &[(&str, &str, &str)] = &[
    (
        "GPL-2.0-with-GCC-exception",
        "GPL-2.0-only",
        "GCC-exception-2.0",
    ),
    (
        "GPL-2.0-with-autoconf-exception",
        "GPL-2.0-only",
        "Autoconf-exception-2.0",
    ),
    (
        "GPL-2.0-with-bison-exception",
        "GPL-2.0-only",
        "Bison-exception-2.2",
    ),
    (
        "GPL-2.0-with-classpath-exception",
        "GPL-2.0-only",
        "Classpath-exception-2.0",
    ),
    (
        "GPL-2.0-with-font-exception",
        "GPL-2.0-only",
        "Font-exception-2.0",
    ),
    (
        "GPL-3.0-with-GCC-exception",
        "GPL-3.0-only",
        "GCC-exception-3.1",
    ),
    (
        "GPL-3.0-with-autoconf-exception",
        "GPL-3.0-only",
        "Autoconf-exception-3.0",
    ),
    ("eCos-2.0", "GPL-2.0-or-later", "eCos-exception-2.0"),
    ("wxWindows", "LGPL-2.0-or-later", "WxWindows-exception-3.1"),
];

/// `license WITH exception` for a deprecated combined id.
fn deprecated_with(word: &str) -> Option<(&'static str, &'static str)> {
    DEPRECATED_WITH
        .iter()
        .find(|(old, _, _)| old.eq_ignore_ascii_case(word))
        .map(|(_, license, exception)| (*license, *exception))
}

/// The canonical spelling of an exception identifier.
fn canonical_exception(word: &str) -> Option<&'static str> {
    match spdx::exception_id(word) {
        Some(id) => Some(id.name),
        None => spdx::identifiers::EXCEPTIONS
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(word))
            .map(|e| e.name),
    }
}

/// The prefix of every `LicenseRef` this crate writes.
const REF_PREFIX: &str = "LicenseRef-apk-";

/// `LicenseRef-apk-<text>` when `text` is an idstring (a given
/// `LicenseRef-x` becomes `LicenseRef-apk-x`), otherwise the text with other
/// characters replaced by `-` and a short hash of the original.
///
/// Why a namespace of our own: SPDX license refs are local to a document,
/// but validators built on ScanCode's database (such as `pyspdxtools`)
/// resolve some `LicenseRef-` names as aliases of their own entries (e.g.
/// `LicenseRef-KFQF-Accepted-GPL` is an *exception* there) and then reject
/// the expression. The original text is kept in the extracted info.
pub(crate) fn license_ref(text: &str) -> ExtractedLicense {
    let given = text.strip_prefix("LicenseRef-").unwrap_or(text);
    let id = if is_idstring(given) {
        format!("{REF_PREFIX}{given}")
    } else {
        let cleaned: String = given
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let cleaned = cleaned.trim_matches('-');
        let hash = hex::encode(&Sha256::digest(text.as_bytes())[..4]);
        if cleaned.is_empty() {
            format!("{REF_PREFIX}{hash}")
        } else {
            format!("{REF_PREFIX}{cleaned}-{hash}")
        }
    };
    ExtractedLicense {
        id,
        text: text.to_owned(),
    }
}

fn render(node: &Node<'_>, out: &mut String, extracted: &mut Vec<ExtractedLicense>) {
    let mut reference = |text: String, out: &mut String| {
        let lic = license_ref(&text);
        out.push_str(&lic.id);
        extracted.push(lic);
    };
    match node {
        Node::License(word) => match (deprecated_with(word), canonical_license(word)) {
            (Some((license, exception)), _) => {
                out.push_str(license);
                out.push_str(" WITH ");
                out.push_str(exception);
            }
            (None, Some(name)) => out.push_str(&name),
            (None, None) => reference((*word).to_owned(), out),
        },
        Node::With(license, exception) => {
            let known = canonical_license(license).filter(|_| deprecated_with(license).is_none());
            match (known, canonical_exception(exception)) {
                (Some(l), Some(e)) => {
                    out.push_str(&l);
                    out.push_str(" WITH ");
                    out.push_str(e);
                }
                _ => reference(format!("{license} WITH {exception}"), out),
            }
        }
        Node::And(terms) | Node::Or(terms) => {
            let op = if matches!(node, Node::And(_)) {
                " AND "
            } else {
                " OR "
            };
            for (i, term) in terms.iter().enumerate() {
                if i > 0 {
                    out.push_str(op);
                }
                // Not needed for precedence (AND binds tighter than OR)
                // but kept for readability in both directions.
                let paren = matches!(
                    (node, term),
                    (Node::And(_), Node::Or(_)) | (Node::Or(_), Node::And(_))
                );
                if paren {
                    out.push('(');
                }
                render(term, out, extracted);
                if paren {
                    out.push(')');
                }
            }
        }
    }
}

/// Turns an apk license string into a valid SPDX license expression.
pub fn normalize_license(license: &str) -> NormalizedLicense {
    let trimmed = license.trim();
    if trimmed.is_empty() || trimmed == NOASSERTION {
        return NormalizedLicense {
            expression: NOASSERTION.to_owned(),
            extracted: Vec::new(),
        };
    }
    let mut extracted = Vec::new();
    let expression = match parse(trimmed) {
        Some(node) => {
            let mut out = String::new();
            render(&node, &mut out, &mut extracted);
            out
        }
        None => {
            let lic = license_ref(trimmed);
            let id = lic.id.clone();
            extracted.push(lic);
            id
        }
    };
    extracted.sort();
    extracted.dedup();
    NormalizedLicense {
        expression,
        extracted,
    }
}

#[cfg(test)]
mod tests {
    use super::{NOASSERTION, normalize_license};

    fn norm(s: &str) -> (String, Vec<String>) {
        let n = normalize_license(s);
        (
            n.expression,
            n.extracted.into_iter().map(|e| e.id).collect(),
        )
    }

    #[test]
    fn spdx_expressions_pass_through() {
        for s in [
            "MIT",
            "GPL-2.0-only",
            "GPL-2.0-or-later OR LGPL-3.0-or-later",
            "BSD-3-Clause AND BSD-4-Clause AND GPL-2.0-or-later AND HPND",
            "GPL-2.0+",
            "Apache-2.0 WITH LLVM-exception",
        ] {
            assert_eq!(norm(s), (s.to_owned(), vec![]), "{s}");
        }
    }

    #[test]
    fn case_and_parentheses_are_canonical() {
        assert_eq!(norm("mit and gpl-2.0-only").0, "MIT AND GPL-2.0-only");
        assert_eq!(
            norm("ISC AND ( BSD-3-Clause OR MIT )").0,
            "ISC AND (BSD-3-Clause OR MIT)"
        );
        assert_eq!(norm("((MIT))").0, "MIT");
        assert_eq!(norm("MIT AND ISC OR Zlib").0, "(MIT AND ISC) OR Zlib");
    }

    #[test]
    fn unknown_parts_become_license_refs() {
        assert_eq!(
            norm("Public-Domain AND MIT"),
            (
                "LicenseRef-apk-Public-Domain AND MIT".to_owned(),
                vec!["LicenseRef-apk-Public-Domain".to_owned()]
            )
        );
        let (expr, refs) = norm("GPL-3.0-or-later WITH OpenSSL-Exception");
        assert_eq!(refs.len(), 1);
        assert_eq!(expr, refs[0]);
        assert!(expr.starts_with("LicenseRef-apk-GPL-3.0-or-later-WITH-OpenSSL-Exception-"));
        let (expr, refs) = norm("MIT BSD");
        assert!(expr.starts_with("LicenseRef-apk-MIT-BSD-"), "{expr}");
        assert_eq!(refs, vec![expr.clone()]);
        assert_eq!(norm("LicenseRef-custom").0, "LicenseRef-apk-custom");
        assert_eq!(
            norm("LicenseRef-KDE-Accepted-LGPL AND LicenseRef-KFQF-Accepted-GPL").0,
            "LicenseRef-apk-KDE-Accepted-LGPL AND LicenseRef-apk-KFQF-Accepted-GPL"
        );
        // An exception used as a license, and a dangling operator.
        assert!(norm("Classpath-exception-2.0").0.starts_with("LicenseRef-"));
        assert!(norm("MIT AND").0.starts_with("LicenseRef-apk-MIT-AND-"));
    }

    #[test]
    fn deprecated_combined_ids_get_with() {
        assert_eq!(
            norm("GPL-2.0-with-classpath-exception AND MIT").0,
            "GPL-2.0-only WITH Classpath-exception-2.0 AND MIT"
        );
        assert_eq!(
            norm("wxwindows").0,
            "LGPL-2.0-or-later WITH WxWindows-exception-3.1"
        );
        assert!(
            norm("eCos-2.0 WITH GCC-exception-2.0")
                .0
                .starts_with("LicenseRef-")
        );
    }

    #[test]
    fn empty_is_noassertion() {
        assert_eq!(norm("").0, NOASSERTION);
        assert_eq!(norm("  ").0, NOASSERTION);
    }

    #[test]
    fn refs_of_different_texts_differ() {
        let a = norm("foo bar").0;
        let b = norm("foo_bar").0;
        assert_ne!(a, b);
    }
}
