//! What the image builder derives from a configuration: argv vectors,
//! the environment, the architectures to build.

use std::num::ParseIntError;

use crate::arch::Arch;
use crate::error::ConfigError;
use crate::types::{Config, Layering};

/// `PATH` apko sets unless the configuration does.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin";
/// `SSL_CERT_FILE` apko sets unless the configuration does.
pub const DEFAULT_SSL_CERT_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A command line whose quoting is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A `\` at the very end.
    #[error("EOF found after escape character")]
    TrailingEscape,
    /// A quote that never closes.
    #[error("EOF found when expecting closing quote")]
    UnclosedQuote,
}

/// Splits a command line into words exactly as `github.com/google/shlex`
/// (which apko uses for `entrypoint.command` and `cmd`) does:
///
/// - words are separated by space, tab, CR and LF;
/// - `'…'` is literal; inside `"…"` a backslash escapes *any* character;
/// - outside quotes a backslash escapes any character (a backslash-newline
///   is a literal newline, not a continuation);
/// - `#` at the start of a word starts a comment running to the end of the
///   line; inside a word it is literal;
/// - quotes glue onto the word around them, and `""` is an empty word.
pub fn split_words(line: &str) -> Result<Vec<String>, SplitError> {
    #[derive(PartialEq)]
    enum State {
        Start,
        Word,
        Escape,
        QuotedEscape,
        DoubleQuoted,
        SingleQuoted,
        Comment,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Start;
    for c in line.chars() {
        let space = matches!(c, ' ' | '\t' | '\r' | '\n');
        state = match state {
            State::Start => match c {
                _ if space => State::Start,
                '"' => State::DoubleQuoted,
                '\'' => State::SingleQuoted,
                '\\' => State::Escape,
                '#' => State::Comment,
                _ => {
                    word.push(c);
                    State::Word
                }
            },
            State::Word => match c {
                _ if space => {
                    words.push(std::mem::take(&mut word));
                    State::Start
                }
                '"' => State::DoubleQuoted,
                '\'' => State::SingleQuoted,
                '\\' => State::Escape,
                _ => {
                    word.push(c);
                    State::Word
                }
            },
            State::Escape => {
                word.push(c);
                State::Word
            }
            State::QuotedEscape => {
                word.push(c);
                State::DoubleQuoted
            }
            State::DoubleQuoted => match c {
                '"' => State::Word,
                '\\' => State::QuotedEscape,
                _ => {
                    word.push(c);
                    State::DoubleQuoted
                }
            },
            State::SingleQuoted => match c {
                '\'' => State::Word,
                _ => {
                    word.push(c);
                    State::SingleQuoted
                }
            },
            State::Comment => {
                if c == '\n' {
                    State::Start
                } else {
                    State::Comment
                }
            }
        };
    }
    match state {
        State::Start | State::Comment => {}
        State::Word => words.push(word),
        State::Escape | State::QuotedEscape => return Err(SplitError::TrailingEscape),
        State::DoubleQuoted | State::SingleQuoted => return Err(SplitError::UnclosedQuote),
    }
    Ok(words)
}

/// Parses an integer as yaml.v3 reads one for apko (Go's base-0 rules):
/// `0o755`, `0755` (leading zero: octal), `0x1ed`, `0b111101101` and `493`
/// all give 493. Underscores are ignored, and a leading `+` is allowed.
///
/// So in a config `permissions: 0755` and `permissions: 0o755` both mean
/// rwxr-xr-x, while `permissions: 755` is the decimal 755 (0o1363), exactly
/// as in apko.
pub fn parse_octal_or_decimal(text: &str) -> Result<u32, ParseIntError> {
    let cleaned: String = text.trim().chars().filter(|&c| c != '_').collect();
    let unsigned = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    // Reject a second sign that from_str_radix would accept.
    if digits.starts_with(['+', '-']) {
        return "-".parse::<u32>();
    }
    u32::from_str_radix(digits, radix)
}

impl Config {
    /// The OCI `Entrypoint`: `["/bin/sh", "-c", shell-fragment]` if a
    /// shell fragment is set, else `entrypoint.command` split into words
    /// ([`split_words`]), else empty.
    pub fn entrypoint_argv(&self) -> Result<Vec<String>, ConfigError> {
        if !self.entrypoint.shell_fragment.is_empty() {
            return Ok(vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                self.entrypoint.shell_fragment.clone(),
            ]);
        }
        split_words(&self.entrypoint.command).map_err(|e| {
            ConfigError::invalid(None, format!("unable to parse entrypoint command: {e}"))
        })
    }

    /// The OCI `Cmd`: `cmd` split into words, or empty.
    pub fn cmd_argv(&self) -> Result<Vec<String>, ConfigError> {
        split_words(&self.cmd)
            .map_err(|e| ConfigError::invalid(None, format!("unable to parse cmd: {e}")))
    }

    /// The OCI `Env`: every `environment` entry as `K=V`, plus
    /// [`DEFAULT_PATH`] and [`DEFAULT_SSL_CERT_FILE`] unless set, sorted as
    /// strings (Go's `sort.Strings` over the `K=V` lines).
    pub fn environment_with_defaults(&self) -> Vec<String> {
        let mut env: Vec<String> = self
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (k, v) in [
            ("PATH", DEFAULT_PATH),
            ("SSL_CERT_FILE", DEFAULT_SSL_CERT_FILE),
        ] {
            if !self.environment.contains_key(k) {
                env.push(format!("{k}={v}"));
            }
        }
        env.sort();
        env
    }

    /// The architectures to build: `cli` if not empty (the caller parses
    /// `--arch` with [`Arch::parse_list`]), else the config's `archs`, else
    /// all of them; deduplicated and sorted, the order apko's index has.
    pub fn effective_archs(&self, cli: &[Arch]) -> Vec<Arch> {
        let mut archs = if !cli.is_empty() {
            cli.to_vec()
        } else if !self.archs.is_empty() {
            self.archs.clone()
        } else {
            Arch::ALL.to_vec()
        };
        archs.sort();
        archs.dedup();
        archs
    }

    /// The layering to apply, if any: `None` when `layering` is absent or
    /// `{}` (one layer).
    pub fn layering_enabled(&self) -> Option<&Layering> {
        self.layering.as_ref().filter(|l| !l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn splits_like_google_shlex() {
        assert_eq!(
            split("one \"two three\" four"),
            ["one", "two three", "four"]
        );
        assert_eq!(split("/bin/sh -l"), ["/bin/sh", "-l"]);
        assert_eq!(
            split("/usr/sbin/nginx -c /etc/nginx/nginx.conf -g \"daemon off;\""),
            [
                "/usr/sbin/nginx",
                "-c",
                "/etc/nginx/nginx.conf",
                "-g",
                "daemon off;"
            ]
        );
        assert_eq!(split("a\"b\"'c'd"), ["abcd"]);
        assert_eq!(split("a \"\" b"), ["a", "", "b"]);
        assert_eq!(split("a \"x\\qy\" b"), ["a", "xqy", "b"]);
        assert_eq!(split("a\\ b c"), ["a b", "c"]);
        assert_eq!(split("a #comment\nb"), ["a", "b"]);
        assert_eq!(split("a#b"), ["a#b"]);
        assert_eq!(split("  "), Vec::<String>::new());
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split_words("a 'b"), Err(SplitError::UnclosedQuote));
        assert_eq!(split_words("a \"b"), Err(SplitError::UnclosedQuote));
        assert_eq!(split_words("a\\"), Err(SplitError::TrailingEscape));
    }

    #[test]
    fn integers_like_yaml_v3() {
        for (text, want) in [
            ("0o755", 0o755),
            ("0755", 0o755),
            ("493", 493),
            ("755", 755),
            ("0x1ed", 0o755),
            ("0b111101101", 0o755),
            ("0", 0),
            ("00", 0),
            ("1_000", 1000),
            ("+8", 8),
        ] {
            assert_eq!(parse_octal_or_decimal(text), Ok(want), "{text}");
        }
        for bad in ["", "0o", "089", "-1", "abc", "0x", "+-1", "4294967296"] {
            assert!(parse_octal_or_decimal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn environment_defaults() {
        let mut c = Config::default();
        assert_eq!(
            c.environment_with_defaults(),
            [
                format!("PATH={DEFAULT_PATH}"),
                format!("SSL_CERT_FILE={DEFAULT_SSL_CERT_FILE}")
            ]
        );
        c.environment.insert("PATH".into(), "/bin".into());
        c.environment.insert("A_B".into(), "1".into());
        c.environment.insert("A".into(), "2".into());
        assert_eq!(
            c.environment_with_defaults(),
            [
                "A=2".to_string(),
                "A_B=1".to_string(),
                "PATH=/bin".to_string(),
                format!("SSL_CERT_FILE={DEFAULT_SSL_CERT_FILE}")
            ]
        );
    }

    #[test]
    fn argv() {
        let mut c = Config::default();
        assert!(c.entrypoint_argv().unwrap().is_empty());
        c.entrypoint.command = "/bin/sh -l".into();
        assert_eq!(c.entrypoint_argv().unwrap(), ["/bin/sh", "-l"]);
        c.entrypoint.shell_fragment = "echo 'hi' && exit".into();
        assert_eq!(
            c.entrypoint_argv().unwrap(),
            ["/bin/sh", "-c", "echo 'hi' && exit"]
        );
        c.cmd = "'unclosed".into();
        assert!(c.cmd_argv().is_err());
    }

    #[test]
    fn archs_to_build() {
        let mut c = Config::default();
        let mut all = Arch::ALL.to_vec();
        all.sort();
        assert_eq!(c.effective_archs(&[]), all);
        c.archs = vec![Arch::Aarch64, Arch::X86_64, Arch::Aarch64];
        assert_eq!(c.effective_archs(&[]), [Arch::X86_64, Arch::Aarch64]);
        assert_eq!(c.effective_archs(&[Arch::S390x]), [Arch::S390x]);
    }
}
