//! `${{name}}` substitution and `if:` conditions, with melange's syntax
//! (`pkg/cond`): a reference is `${{`, optional whitespace, a name of
//! `[A-Za-z0-9._-]`, optional whitespace, `}}`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{RecipeError, SourcePos};
use crate::text::Str;

/// The variables visible at one place of a recipe, by bare name
/// (`package.name`, `vars.foo`, `inputs.uri`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    vars: HashMap<String, String>,
}

impl Scope {
    pub(crate) fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// All variables, for [`crate::CompiledRecipe`] consumers.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.vars.iter()
    }
}

/// How references are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Malformed references are errors (scripts, inputs, paths).
    Strict,
    /// Malformed references are kept as written, as melange keeps them in
    /// metadata such as descriptions (`${{range.key == "64" && …}}`).
    Lenient,
    /// Malformed references and unknown names are kept as written (step
    /// names, which melange never fails on).
    Keep,
    /// An `if:` expression: strict, and values of variables melange only
    /// knows at compile time are inserted as Go-quoted strings, so that
    /// `${{build.arch}} == 'x86_64'` compares two strings.
    Condition,
}

/// Variables melange substitutes when it parses a recipe (inserted bare
/// in conditions); every other one is substituted when compiling
/// (inserted quoted).
fn parsed_early(name: &str) -> bool {
    name.starts_with("vars.")
        || name.starts_with("range.")
        || matches!(
            name,
            "package.name"
                | "package.version"
                | "package.epoch"
                | "package.full-version"
                | "package.description"
        )
}

fn is_var_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where byte `offset` of `text` is in the file.
pub(crate) fn pos_in(text: &Str, offset: usize, file: &Arc<Path>) -> SourcePos {
    if text.line == 0 {
        return SourcePos::file_only(file);
    }
    let before = &text.value[..offset.min(text.value.len())];
    let newlines = before.matches('\n').count() as u64;
    let last_line = before.rsplit('\n').next().unwrap_or("");
    let column = text.column + last_line.chars().count() as u64;
    SourcePos::in_file(file, text.line + newlines, column)
}

/// Substitutes every reference in `text`.
pub(crate) fn substitute(
    text: &Str,
    scope: &Scope,
    mode: Mode,
    file: &Arc<Path>,
) -> Result<String, RecipeError> {
    let s = text.value.as_str();
    if !s.contains("${{") {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(found) = s[i..].find("${{") {
        let start = i + found;
        out.push_str(&s[i..start]);
        let mut j = start + 3;
        while j < bytes.len() && is_space(bytes[j]) {
            j += 1;
        }
        let name_start = j;
        while j < bytes.len() && is_var_char(bytes[j]) {
            j += 1;
        }
        let name = &s[name_start..j];
        while j < bytes.len() && is_space(bytes[j]) {
            j += 1;
        }
        let closed = s[j..].starts_with("}}");
        if name.is_empty() || !closed {
            if matches!(mode, Mode::Lenient | Mode::Keep) {
                out.push_str("${{");
                i = start + 3;
                continue;
            }
            let message = if name.is_empty() {
                "empty variable name".to_string()
            } else {
                format!("`{name}` is not followed by `}}}}`")
            };
            return Err(RecipeError::BadReference {
                at: pos_in(text, start, file),
                message,
            });
        }
        let Some(value) = scope.get(name) else {
            if mode == Mode::Keep {
                out.push_str(&s[start..j + 2]);
                i = j + 2;
                continue;
            }
            return Err(RecipeError::UnknownVariable {
                at: pos_in(text, start, file),
                name: name.to_string(),
            });
        };
        if mode == Mode::Condition && !parsed_early(name) {
            out.push_str(&go_quote(value));
        } else {
            out.push_str(value);
        }
        i = j + 2;
    }
    out.push_str(&s[i..]);
    Ok(out)
}

/// Go's `strconv.Quote` for the characters recipes contain.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Evaluates a substituted `if:` expression: comparisons of quoted strings
/// with `==`/`!=`, combined left to right with `&&`/`||` (equal
/// precedence, as in melange), and parentheses. A reference still left is
/// the empty string. The error is a message without a position.
pub(crate) fn evaluate(expr: &str) -> Result<bool, String> {
    let mut p = CondParser {
        s: expr.as_bytes(),
        pos: 0,
    };
    let result = p.expr()?;
    p.skip_space();
    if p.pos != p.s.len() {
        return Err(format!(
            "unexpected `{}` at position {}",
            &expr[p.pos..],
            p.pos
        ));
    }
    Ok(result)
}

struct CondParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl CondParser<'_> {
    fn skip_space(&mut self) {
        while self.pos < self.s.len() && is_space(self.s[self.pos]) {
            self.pos += 1;
        }
    }

    fn rest_starts_with(&self, t: &str) -> bool {
        self.s[self.pos..].starts_with(t.as_bytes())
    }

    fn expr(&mut self) -> Result<bool, String> {
        let mut result = self.atom()?;
        loop {
            self.skip_space();
            let and = self.rest_starts_with("&&");
            if !and && !self.rest_starts_with("||") {
                return Ok(result);
            }
            self.pos += 2;
            let rhs = self.atom()?;
            result = if and { result && rhs } else { result || rhs };
        }
    }

    fn atom(&mut self) -> Result<bool, String> {
        self.skip_space();
        if self.s.get(self.pos) == Some(&b'(') {
            self.pos += 1;
            let inner = self.expr()?;
            self.skip_space();
            if self.s.get(self.pos) != Some(&b')') {
                return Err(format!("expected `)` at position {}", self.pos));
            }
            self.pos += 1;
            return Ok(inner);
        }
        let lhs = self.value()?;
        self.skip_space();
        let eq = self.rest_starts_with("==");
        if !eq && !self.rest_starts_with("!=") {
            return Err(format!("expected `==` or `!=` at position {}", self.pos));
        }
        self.pos += 2;
        let rhs = self.value()?;
        Ok(if eq { lhs == rhs } else { lhs != rhs })
    }

    fn value(&mut self) -> Result<Vec<u8>, String> {
        self.skip_space();
        let Some(&first) = self.s.get(self.pos) else {
            return Err("unexpected end of expression".to_string());
        };
        if first == b'\'' || first == b'"' {
            self.pos += 1;
            let mut out = Vec::new();
            while let Some(&c) = self.s.get(self.pos) {
                if c == first {
                    self.pos += 1;
                    return Ok(out);
                }
                if c == b'\\' && self.pos + 1 < self.s.len() {
                    self.pos += 1;
                    match self.s[self.pos] {
                        e @ (b'\\' | b'\'' | b'"') => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        other => out.extend_from_slice(&[b'\\', other]),
                    }
                } else {
                    out.push(c);
                }
                self.pos += 1;
            }
            return Err("unterminated string".to_string());
        }
        if self.rest_starts_with("${{") {
            self.pos += 3;
            self.skip_space();
            let start = self.pos;
            while self.pos < self.s.len() && is_var_char(self.s[self.pos]) {
                self.pos += 1;
            }
            if start == self.pos {
                return Err(format!("empty variable name at position {start}"));
            }
            self.skip_space();
            if !self.rest_starts_with("}}") {
                return Err(format!("unterminated variable reference at {start}"));
            }
            self.pos += 2;
            return Ok(Vec::new());
        }
        Err(format!(
            "unexpected `{}` at position {}",
            first as char, self.pos
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<Path> {
        Arc::from(Path::new("r.yaml"))
    }

    fn scope() -> Scope {
        let mut s = Scope::default();
        s.set("package.name", "hello");
        s.set("build.arch", "x86_64");
        s.set("range.key", "64");
        s
    }

    fn at(value: &str, line: u64, column: u64) -> Str {
        Str {
            value: value.into(),
            line,
            column,
        }
    }

    #[test]
    fn substitutes_with_whitespace() {
        let out = substitute(
            &at("a ${{ package.name }}-${{build.arch}}", 1, 1),
            &scope(),
            Mode::Strict,
            &file(),
        );
        assert_eq!(out.unwrap(), "a hello-x86_64");
    }

    #[test]
    fn unknown_variable_has_its_line() {
        let err = substitute(
            &at("echo\n  ok\necho ${{vars.nope}}\n", 10, 5),
            &scope(),
            Mode::Strict,
            &file(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.yaml:12:10: unknown variable `vars.nope`"
        );
    }

    #[test]
    fn malformed_kept_in_lenient_mode() {
        let text = at(r#"lib${{range.key == "64" && " (ILP64)" || ""}}"#, 1, 1);
        let out = substitute(&text, &scope(), Mode::Lenient, &file()).unwrap();
        assert_eq!(out, text.value);
        assert!(matches!(
            substitute(&text, &scope(), Mode::Strict, &file()),
            Err(RecipeError::BadReference { .. })
        ));
    }

    #[test]
    fn conditions_quote_late_variables() {
        let s = substitute(
            &at(
                "${{build.arch}} == 'x86_64' && \"${{range.key}}\" == '64'",
                1,
                1,
            ),
            &scope(),
            Mode::Condition,
            &file(),
        )
        .unwrap();
        assert_eq!(s, "\"x86_64\" == 'x86_64' && \"64\" == '64'");
        assert!(evaluate(&s).unwrap());
    }

    #[test]
    fn evaluates_like_melange() {
        assert!(evaluate("'a' == 'a'").unwrap());
        assert!(!evaluate("'a' != 'a'").unwrap());
        assert!(evaluate("'a' == 'b' || 'c' == 'c'").unwrap());
        // Left to right, no precedence: (true || false) && false.
        assert!(!evaluate("'a' == 'a' || 'a' == 'b' && 'a' == 'b'").unwrap());
        assert!(evaluate("('a' == 'b' || 'c' == 'c') && ('x' != 'y')").unwrap());
        assert!(evaluate("${{unknown}} == ''").unwrap());
        assert!(evaluate("'a\\'b' == \"a'b\"").unwrap());
        assert!(evaluate("x86_64 == 'x86_64'").is_err());
        assert!(evaluate("'a' == 'a' junk").is_err());
        assert!(evaluate("'a' = 'a'").is_err());
    }
}
