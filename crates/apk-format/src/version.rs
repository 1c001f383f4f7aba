//! apk version strings: validation, ordering and matching, as apk-tools does it.
//!
//! The grammar is `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}`.
//! Comparison walks both strings token by token. Numbers compare numerically,
//! except that a component with a leading zero compares as a string (as in
//! Gentoo). Pre-release suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) sort before
//! the bare version, post-release suffixes (`_cvs`, `_svn`, `_git`, `_hg`, `_p`)
//! after it. Invalid versions still get a total order (apk-tools falls back to
//! comparing the remaining text), so sorting never fails.

use std::cmp::Ordering;
use std::fmt;

/// Kind of one token in a version string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks: pre-release suffixes sort below `None`, post-release above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

fn suffix_value(s: &[u8]) -> Option<Suffix> {
    Some(match s {
        b"alpha" => Suffix::Alpha,
        b"beta" => Suffix::Beta,
        b"pre" => Suffix::Pre,
        b"rc" => Suffix::Rc,
        b"cvs" => Suffix::Cvs,
        b"svn" => Suffix::Svn,
        b"git" => Suffix::Git,
        b"hg" => Suffix::Hg,
        b"p" => Suffix::P,
        _ => return None,
    })
}

/// Tokenizer state over one version string.
struct Tokens<'a> {
    rest: &'a [u8],
    token: Token,
    suffix: Suffix,
    number: u64,
    value: &'a [u8],
}

impl<'a> Tokens<'a> {
    fn first(s: &'a [u8]) -> Self {
        let mut t = Tokens {
            rest: s,
            token: Token::InitialDigit,
            suffix: Suffix::None,
            number: 0,
            value: &[],
        };
        t.parse_digits();
        t
    }

    fn parse_digits(&mut self) {
        let len = self.rest.iter().take_while(|c| c.is_ascii_digit()).count();
        let (digits, rest) = self.rest.split_at(len);
        // apk-tools accumulates in a u64 and lets it wrap; do the same so
        // ordering of absurdly long numbers stays identical.
        self.number = digits.iter().fold(0u64, |n, d| {
            n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        });
        self.value = digits;
        self.rest = rest;
        if digits.is_empty() {
            self.token = Token::Invalid;
        }
    }

    fn next(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.token = Token::End;
            return;
        };
        match c {
            b'a'..=b'z' => {
                if self.token > Token::Digit {
                    return self.invalid();
                }
                self.value = &self.rest[..1];
                self.rest = &self.rest[1..];
                self.token = Token::Letter;
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if self.token > Token::Digit {
                        return self.invalid();
                    }
                    self.rest = &self.rest[1..];
                }
                self.token = match self.token {
                    Token::InitialDigit | Token::Digit => Token::Digit,
                    Token::Suffix => Token::SuffixNo,
                    _ => return self.invalid(),
                };
                self.parse_digits();
            }
            b'_' => {
                if self.token > Token::SuffixNo {
                    return self.invalid();
                }
                self.rest = &self.rest[1..];
                let len = self
                    .rest
                    .iter()
                    .take_while(|c| c.is_ascii_lowercase())
                    .count();
                let (word, rest) = self.rest.split_at(len);
                self.value = word;
                self.rest = rest;
                match suffix_value(word) {
                    Some(s) => {
                        self.suffix = s;
                        self.token = Token::Suffix;
                    }
                    None => self.invalid(),
                }
            }
            b'~' => {
                if self.token >= Token::CommitHash {
                    return self.invalid();
                }
                self.rest = &self.rest[1..];
                let len = self
                    .rest
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                    .count();
                let (hash, rest) = self.rest.split_at(len);
                self.value = hash;
                self.rest = rest;
                if hash.is_empty() {
                    return self.invalid();
                }
                self.token = Token::CommitHash;
            }
            b'-' => {
                if self.token >= Token::RevisionNo || !self.rest.starts_with(b"-r") {
                    return self.invalid();
                }
                self.rest = &self.rest[2..];
                self.token = Token::RevisionNo;
                self.parse_digits();
            }
            _ => self.invalid(),
        }
    }

    fn invalid(&mut self) {
        self.token = Token::Invalid;
    }
}

fn token_cmp(a: &Tokens<'_>, b: &Tokens<'_>) -> Ordering {
    match a.token {
        Token::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Token::Digit | Token::InitialDigit | Token::SuffixNo | Token::RevisionNo => {
            a.number.cmp(&b.number)
        }
        Token::Letter => a.value.first().cmp(&b.value.first()),
        Token::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

/// True when `version` is a valid apk version string.
pub fn is_valid(version: &str) -> bool {
    let mut t = Tokens::first(version.as_bytes());
    while t.token < Token::End {
        t.next();
    }
    t.token == Token::End
}

fn compare_impl(a: &str, b: &str, fuzzy: bool) -> Ordering {
    let mut ta = Tokens::first(a.as_bytes());
    let mut tb = Tokens::first(b.as_bytes());
    while ta.token == tb.token && ta.token < Token::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.next();
        tb.next();
    }
    if ta.token == tb.token || (tb.token == Token::End && fuzzy) {
        return Ordering::Equal;
    }
    // All leading components are equal: the longer version is newer unless
    // what follows is a pre-release suffix.
    if ta.token == Token::Suffix && ta.suffix < Suffix::None {
        return Ordering::Less;
    }
    if tb.token == Token::Suffix && tb.suffix < Suffix::None {
        return Ordering::Greater;
    }
    tb.token.cmp(&ta.token)
}

/// Compares two version strings as apk-tools does (`apk version -t`).
pub fn compare(a: &str, b: &str) -> Ordering {
    compare_impl(a, b, false)
}

/// Fuzzy comparison: `a` equals `b` when `b` is a token-wise prefix of `a`.
pub fn compare_fuzzy(a: &str, b: &str) -> Ordering {
    compare_impl(a, b, true)
}

/// A relation between a candidate version and a required one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionOp(u8);

impl VersionOp {
    const EQUAL: u8 = 1;
    const LESS: u8 = 2;
    const GREATER: u8 = 4;
    const FUZZY: u8 = 8;

    /// `=`
    pub const EQ: VersionOp = VersionOp(Self::EQUAL);
    /// `<`
    pub const LT: VersionOp = VersionOp(Self::LESS);
    /// `<=`
    pub const LE: VersionOp = VersionOp(Self::LESS | Self::EQUAL);
    /// `>`
    pub const GT: VersionOp = VersionOp(Self::GREATER);
    /// `>=`
    pub const GE: VersionOp = VersionOp(Self::GREATER | Self::EQUAL);
    /// `~` (fuzzy: same prefix)
    pub const FUZZY_EQ: VersionOp = VersionOp(Self::FUZZY | Self::EQUAL);
    /// `<~`
    pub const FUZZY_LE: VersionOp = VersionOp(Self::FUZZY | Self::EQUAL | Self::LESS);
    /// `>~`
    pub const FUZZY_GE: VersionOp = VersionOp(Self::FUZZY | Self::EQUAL | Self::GREATER);

    /// Parses an operator made of `<`, `>`, `=` and `~` (as apk-tools accepts them).
    pub fn parse(op: &str) -> Option<VersionOp> {
        let mut bits = 0;
        for c in op.bytes() {
            bits |= match c {
                b'<' => Self::LESS,
                b'>' => Self::GREATER,
                b'=' => Self::EQUAL,
                b'~' => Self::FUZZY | Self::EQUAL,
                _ => return None,
            };
        }
        if bits == 0 {
            None
        } else {
            Some(VersionOp(bits))
        }
    }

    /// The canonical spelling of the operator.
    pub fn as_str(self) -> &'static str {
        match self.0 {
            x if x == Self::LESS => "<",
            x if x == Self::LESS | Self::EQUAL => "<=",
            x if x == Self::LESS | Self::EQUAL | Self::FUZZY => "<~",
            x if x == Self::FUZZY | Self::EQUAL || x == Self::FUZZY => "~",
            x if x == Self::EQUAL => "=",
            x if x == Self::GREATER | Self::EQUAL => ">=",
            x if x == Self::GREATER | Self::EQUAL | Self::FUZZY => ">~",
            x if x == Self::GREATER => ">",
            x if x == Self::LESS | Self::GREATER => "><",
            x if x == Self::LESS | Self::GREATER | Self::EQUAL | Self::FUZZY => "<>~",
            _ => "<>=",
        }
    }

    /// The operator as apk-tools' bit mask (`=` 1, `<` 2, `>` 4, `~` 8).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// An operator from apk-tools' bit mask; `None` when no comparison bit
    /// (`<`, `=`, `>`, `~`) is set or other bits are.
    pub fn from_bits(bits: u8) -> Option<VersionOp> {
        (bits != 0 && bits & !0x0f == 0).then_some(VersionOp(bits))
    }

    /// True for the fuzzy operators.
    pub fn is_fuzzy(self) -> bool {
        self.0 & Self::FUZZY != 0
    }

    /// Does `version` satisfy `version OP required`?
    pub fn matches(self, version: &str, required: &str) -> bool {
        let ord = compare_impl(version, required, self.is_fuzzy());
        let bit = match ord {
            Ordering::Less => Self::LESS,
            Ordering::Equal => Self::EQUAL,
            Ordering::Greater => Self::GREATER,
        };
        self.0 & bit != 0
    }
}

impl fmt::Display for VersionOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The symbol `apk version -t` prints for an ordering.
pub fn ordering_symbol(ord: Ordering) -> &'static str {
    match ord {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.0_alpha", "1.0"), Ordering::Less);
        assert_eq!(compare("1.0_p1", "1.0"), Ordering::Greater);
        assert_eq!(compare("1.0-r1", "1.0"), Ordering::Greater);
        assert_eq!(compare("1.01", "1.1"), Ordering::Less);
        assert!(is_valid("1.2.3_rc1_p2~abc-r4"));
        assert!(!is_valid("1.0-r"));
        assert!(!is_valid(""));
        assert!(VersionOp::FUZZY_EQ.matches("3.6.9", "3.6"));
        assert!(!VersionOp::FUZZY_EQ.matches("3.8.0", "3.8.1"));
    }

    /// Fuzz finding (target `version`): `~<>` parsed to all four bits but was
    /// spelled `<>=`, which reads back without the fuzzy bit.
    #[test]
    fn every_operator_spelling_reads_back() {
        let op = VersionOp::parse("~<>").unwrap();
        assert_eq!(VersionOp::parse(op.as_str()), Some(op));
        for a in ["", "<", ">", "=", "~"] {
            for b in ["", "<", ">", "=", "~"] {
                for c in ["", "<", ">", "=", "~"] {
                    let text = format!("{a}{b}{c}");
                    if let Some(op) = VersionOp::parse(&text) {
                        assert_eq!(VersionOp::parse(op.as_str()), Some(op), "{text}");
                    }
                }
            }
        }
    }
}
