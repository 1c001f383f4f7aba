//! Parsing: template text split into text and actions, actions lexed
//! into tokens and parsed into pipelines, blocks nested into nodes.

use serde_json::Value;

use super::{Arg, Command, Node, Pipeline, TemplateError, err};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Dot,
    Str(String),
    Num(f64),
    Bool(bool),
    Ident(String),
    Pipe,
    Open,
    Close(Vec<String>),
    Declare,
    Assign,
    Comma,
}

fn lex(action: &str) -> Result<Vec<Token>, TemplateError> {
    let chars: Vec<char> = action.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    let fields = |i: &mut usize| -> Vec<String> {
        let mut f = Vec::new();
        while *i < chars.len() && chars[*i] == '.' {
            *i += 1;
            let start = *i;
            while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            f.push(chars[start..*i].iter().collect());
        }
        f
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                out.push(Token::Pipe);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                i += 1;
                out.push(Token::Close(fields(&mut i)));
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Declare);
                i += 2;
            }
            '=' => {
                out.push(Token::Assign);
                i += 1;
            }
            '.' => {
                if chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    out.push(Token::Field(fields(&mut i)));
                } else {
                    out.push(Token::Dot);
                    i += 1;
                }
            }
            '$' => {
                i += 1;
                let name = ident(&mut i);
                out.push(Token::Var(name, fields(&mut i)));
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => return err(format!("unterminated string in `{action}`")),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(c) => s.push(*c),
                                None => return err("unterminated string"),
                            }
                        }
                        Some(c) => s.push(*c),
                    }
                    i += 1;
                }
                i += 1;
                out.push(Token::Str(s));
            }
            '`' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|c| *c == '`') else {
                    return err(format!("unterminated raw string in `{action}`"));
                };
                out.push(Token::Str(chars[start..start + len].iter().collect()));
                i = start + len + 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse()
                    .map_err(|_| TemplateError(format!("bad number `{text}`")))?;
                out.push(Token::Num(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let word = ident(&mut i);
                out.push(match word.as_str() {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    _ => Token::Ident(word),
                });
            }
            other => return err(format!("unexpected `{other}` in `{action}`")),
        }
    }
    Ok(out)
}

struct PipeParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl PipeParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn pipeline(&mut self, nested: bool) -> Result<Pipeline, TemplateError> {
        let mut decl = Vec::new();
        // `$x :=` or `$i, $v :=`
        let save = self.pos;
        let mut names = Vec::new();
        while let Some(Token::Var(name, f)) = self.peek().cloned() {
            if !f.is_empty() {
                break;
            }
            self.pos += 1;
            names.push(name);
            if self.peek() == Some(&Token::Comma) {
                self.pos += 1;
                continue;
            }
            break;
        }
        if !names.is_empty() && matches!(self.peek(), Some(Token::Declare | Token::Assign)) {
            self.pos += 1;
            decl = names;
        } else {
            self.pos = save;
        }
        let mut commands = vec![Command { args: Vec::new() }];
        while let Some(tok) = self.peek().cloned() {
            self.pos += 1;
            let arg = match tok {
                Token::Pipe => {
                    commands.push(Command { args: Vec::new() });
                    continue;
                }
                Token::Close(fields) if nested => {
                    // Handled by the caller: put the token back.
                    self.pos -= 1;
                    let _ = fields;
                    break;
                }
                Token::Field(f) => Arg::Field(f),
                Token::Var(n, f) => Arg::Var(n, f),
                Token::Dot => Arg::Dot,
                Token::Str(s) => Arg::Lit(Value::String(s)),
                Token::Num(n) => Arg::Lit(serde_json::json!(n)),
                Token::Bool(b) => Arg::Lit(Value::Bool(b)),
                Token::Ident(name) => Arg::Call(name),
                Token::Open => {
                    let inner = self.pipeline(true)?;
                    match self.peek().cloned() {
                        Some(Token::Close(fields)) => {
                            self.pos += 1;
                            Arg::Sub(Box::new(inner), fields)
                        }
                        _ => return err("missing `)`"),
                    }
                }
                other => return err(format!("unexpected {other:?}")),
            };
            if let Some(c) = commands.last_mut() {
                c.args.push(arg);
            }
        }
        if commands.iter().any(|c| c.args.is_empty()) {
            return err("empty command in pipeline");
        }
        Ok(Pipeline { decl, commands })
    }
}

fn parse_pipeline(action: &str) -> Result<Pipeline, TemplateError> {
    let mut p = PipeParser {
        tokens: lex(action)?,
        pos: 0,
    };
    let pipe = p.pipeline(false)?;
    if p.pos != p.tokens.len() {
        return err(format!("unexpected `)` in `{action}`"));
    }
    Ok(pipe)
}

enum Item {
    Text(String),
    Action(String),
}

fn split(text: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut before = &rest[..start];
        if trim_next {
            before = before.trim_start();
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return err("unclosed action (missing `}}`)");
        };
        let mut action = &after[..end];
        if let Some(a) = action.strip_prefix("- ") {
            before = before.trim_end();
            action = a;
        }
        trim_next = false;
        if let Some(a) = action.strip_suffix(" -") {
            trim_next = true;
            action = a;
        }
        if !before.is_empty() {
            items.push(Item::Text(before.to_string()));
        }
        let action = action.trim();
        if !(action.starts_with("/*") && action.ends_with("*/")) {
            items.push(Item::Action(action.to_string()));
        }
        rest = &after[end + 2..];
    }
    let last = if trim_next { rest.trim_start() } else { rest };
    if !last.is_empty() {
        items.push(Item::Text(last.to_string()));
    }
    Ok(items)
}

/// Parses nodes up to an `end`/`else` (returned as the terminator).
fn nodes(items: &[Item], pos: &mut usize) -> Result<(Vec<Node>, Option<String>), TemplateError> {
    let mut out = Vec::new();
    while *pos < items.len() {
        let item = &items[*pos];
        *pos += 1;
        match item {
            Item::Text(t) => out.push(Node::Text(t.clone())),
            Item::Action(a) => {
                let word = a.split_whitespace().next().unwrap_or("");
                match word {
                    "end" => return Ok((out, Some("end".into()))),
                    "else" => return Ok((out, Some(a.clone()))),
                    "if" | "range" | "with" => out.push(block(word, &a[word.len()..], items, pos)?),
                    "template" | "define" | "block" | "break" | "continue" => {
                        return err(format!("`{word}` is not supported"));
                    }
                    _ => out.push(Node::Action(parse_pipeline(a)?)),
                }
            }
        }
    }
    Ok((out, None))
}

fn block(kind: &str, cond: &str, items: &[Item], pos: &mut usize) -> Result<Node, TemplateError> {
    let pipe = parse_pipeline(cond)?;
    let (body, term) = nodes(items, pos)?;
    let mut otherwise = Vec::new();
    match term.as_deref() {
        Some("end") => {}
        Some(else_action) => {
            let rest = else_action["else".len()..].trim();
            if rest.is_empty() {
                let (e, t) = nodes(items, pos)?;
                if t.as_deref() != Some("end") {
                    return err(format!("`{kind}` without `end`"));
                }
                otherwise = e;
            } else {
                // `else if …` / `else with …`: a nested block ending at the same `end`.
                let word = rest.split_whitespace().next().unwrap_or("");
                otherwise.push(block(word, &rest[word.len()..], items, pos)?);
            }
        }
        None => return err(format!("`{kind}` without `end`")),
    }
    Ok(match kind {
        "if" => Node::If(pipe, body, otherwise),
        "range" => Node::Range(pipe, body, otherwise),
        _ => Node::With(pipe, body, otherwise),
    })
}

/// Parses a whole template into its nodes.
pub(super) fn parse(text: &str) -> Result<Vec<Node>, TemplateError> {
    let items = split(text)?;
    let mut pos = 0;
    let (nodes, term) = nodes(&items, &mut pos)?;
    if let Some(t) = term {
        return err(format!("unexpected `{{{{{t}}}}}`"));
    }
    Ok(nodes)
}
