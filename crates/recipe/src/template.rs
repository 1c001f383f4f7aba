//! The part of Go's `text/template` that `melange query` templates use,
//! over JSON-like data: text and actions (`{{ .A.B }}`, trim markers
//! `{{-` / `-}}`, comments), `if` / `else if` / `else`, `range` (with
//! `$i, $v :=` and `else`), `with`, variables (`$x := …`, `$`), pipelines
//! (`a | b`), parenthesized expressions, and the functions `index`, `len`,
//! `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`,
//! `or`, `not`. Values print as Go prints them (`[a b]`, `map[k:v]`).

use std::fmt::Write as _;

use serde_json::Value;

/// A template or evaluation error, saying where in the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

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

#[derive(Debug, Clone)]
enum Arg {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Dot,
    Lit(Value),
    Call(String),
    Sub(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone)]
struct Command {
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
struct Pipeline {
    decl: Vec<String>,
    commands: Vec<Command>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
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

impl Template {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let items = split(text)?;
        let mut pos = 0;
        let (nodes, term) = nodes(&items, &mut pos)?;
        if let Some(t) = term {
            return err(format!("unexpected `{{{{{t}}}}}`"));
        }
        Ok(Template { nodes })
    }

    /// Evaluates the template with `data` as `.` and `$`.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), data.clone())];
        exec(&self.nodes, data, &mut vars, &mut out)?;
        Ok(out)
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// How Go's `fmt` prints a value with `%v`.
pub fn go_format(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_format).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(o) => format!(
            "map[{}]",
            o.iter()
                .map(|(k, v)| format!("{k}:{}", go_format(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn field(mut v: Value, names: &[String]) -> Result<Value, TemplateError> {
    for n in names {
        v = match v {
            Value::Object(mut o) => o.remove(n).unwrap_or(Value::String(String::new())),
            Value::Null => return err(format!("nil pointer evaluating .{n}")),
            other => {
                return err(format!(
                    "can't evaluate field {n} in `{}`",
                    go_format(&other)
                ));
            }
        };
    }
    Ok(v)
}

fn lookup(vars: &[(String, Value)], name: &str) -> Result<Value, TemplateError> {
    let key = if name.is_empty() {
        "$".to_string()
    } else {
        format!("${name}")
    };
    vars.iter()
        .rev()
        .find(|(n, _)| *n == key)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| TemplateError(format!("undefined variable {key}")))
}

fn eval_arg(
    arg: &Arg,
    dot: &Value,
    vars: &mut Vec<(String, Value)>,
) -> Result<Value, TemplateError> {
    match arg {
        Arg::Field(f) => field(dot.clone(), f),
        Arg::Var(n, f) => field(lookup(vars, n)?, f),
        Arg::Dot => Ok(dot.clone()),
        Arg::Lit(v) => Ok(v.clone()),
        Arg::Call(name) => call(name, Vec::new()),
        Arg::Sub(p, f) => field(eval_pipeline(p, dot, vars)?, f),
    }
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, TemplateError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => err("incompatible types for comparison"),
    }
}

fn printf(args: &[Value]) -> Result<String, TemplateError> {
    let Some(Value::String(format)) = args.first() else {
        return err("printf needs a format string");
    };
    let mut out = String::new();
    let mut rest = args[1..].iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s' | 'v' | 'd') => match rest.next() {
                Some(v) => out.push_str(&go_format(v)),
                None => out.push_str("%!v(MISSING)"),
            },
            Some('q') => match rest.next() {
                Some(v) => {
                    let _ = write!(out, "{:?}", go_format(v));
                }
                None => out.push_str("%!q(MISSING)"),
            },
            Some(other) => return err(format!("printf verb %{other} is not supported")),
            None => out.push('%'),
        }
    }
    Ok(out)
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, TemplateError> {
    let n = args.len();
    let want = |k: usize| {
        if n == k {
            Ok(())
        } else {
            err(format!("wrong number of args for {name}: want {k} got {n}"))
        }
    };
    Ok(match name {
        "index" => {
            let mut it = args.into_iter();
            let mut v = it
                .next()
                .ok_or_else(|| TemplateError("index of nothing".into()))?;
            for key in it {
                v = match (v, &key) {
                    (Value::Array(a), Value::Number(i)) => {
                        let i = i.as_f64().unwrap_or(-1.0);
                        if i < 0.0 || i as usize >= a.len() {
                            return err(format!("index out of range: {i}"));
                        }
                        a[i as usize].clone()
                    }
                    (Value::Object(mut o), Value::String(k)) => o.remove(k).unwrap_or(Value::Null),
                    (other, _) => {
                        return err(format!("can't index item of type {}", go_format(&other)));
                    }
                };
            }
            v
        }
        "len" => {
            want(1)?;
            match &args[0] {
                Value::Array(a) => serde_json::json!(a.len()),
                Value::Object(o) => serde_json::json!(o.len()),
                Value::String(s) => serde_json::json!(s.len()),
                other => return err(format!("len of {}", go_format(other))),
            }
        }
        "print" => Value::String(args.iter().map(go_format).collect::<Vec<_>>().join("")),
        "println" => Value::String(format!(
            "{}\n",
            args.iter().map(go_format).collect::<Vec<_>>().join(" ")
        )),
        "printf" => Value::String(printf(&args)?),
        "not" => {
            want(1)?;
            Value::Bool(!truthy(&args[0]))
        }
        "and" => args
            .iter()
            .find(|v| !truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|v| truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "eq" => {
            if n < 2 {
                return err("eq needs two arguments");
            }
            Value::Bool(args[1..].iter().any(|b| *b == args[0]))
        }
        "ne" => {
            want(2)?;
            Value::Bool(args[0] != args[1])
        }
        "lt" | "le" | "gt" | "ge" => {
            want(2)?;
            let o = compare(&args[0], &args[1])?;
            Value::Bool(match name {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        other => return err(format!("function \"{other}\" not defined")),
    })
}

fn eval_pipeline(
    p: &Pipeline,
    dot: &Value,
    vars: &mut Vec<(String, Value)>,
) -> Result<Value, TemplateError> {
    let mut prev: Option<Value> = None;
    for cmd in &p.commands {
        let value = match &cmd.args[0] {
            Arg::Call(name) => {
                let mut args = Vec::new();
                for a in &cmd.args[1..] {
                    args.push(eval_arg(a, dot, vars)?);
                }
                args.extend(prev.take());
                call(name, args)?
            }
            first => {
                if cmd.args.len() > 1 || prev.is_some() {
                    return err("can't give arguments to a non-function");
                }
                eval_arg(first, dot, vars)?
            }
        };
        prev = Some(value);
    }
    let value = prev.unwrap_or(Value::Null);
    for name in &p.decl {
        vars.push((format!("${name}"), value.clone()));
    }
    Ok(value)
}

fn exec(
    nodes: &[Node],
    dot: &Value,
    vars: &mut Vec<(String, Value)>,
    out: &mut String,
) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = eval_pipeline(p, dot, vars)?;
                if p.decl.is_empty() {
                    out.push_str(&go_format(&v));
                }
            }
            Node::If(p, body, otherwise) => {
                let depth = vars.len();
                let v = eval_pipeline(p, dot, vars)?;
                exec(if truthy(&v) { body } else { otherwise }, dot, vars, out)?;
                vars.truncate(depth);
            }
            Node::With(p, body, otherwise) => {
                let depth = vars.len();
                let v = eval_pipeline(p, dot, vars)?;
                if truthy(&v) {
                    exec(body, &v, vars, out)?;
                } else {
                    exec(otherwise, dot, vars, out)?;
                }
                vars.truncate(depth);
            }
            Node::Range(p, body, otherwise) => {
                let depth = vars.len();
                let decl = p.decl.clone();
                let plain = Pipeline {
                    decl: Vec::new(),
                    commands: p.commands.clone(),
                };
                let v = eval_pipeline(&plain, dot, vars)?;
                let items: Vec<(Value, Value)> = match v {
                    Value::Array(a) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, x)| (serde_json::json!(i), x))
                        .collect(),
                    Value::Object(o) => o.into_iter().map(|(k, x)| (Value::String(k), x)).collect(),
                    Value::Null => Vec::new(),
                    other => return err(format!("range can't iterate over {}", go_format(&other))),
                };
                if items.is_empty() {
                    exec(otherwise, dot, vars, out)?;
                }
                for (key, item) in items {
                    let mark = vars.len();
                    match decl.as_slice() {
                        [] => {}
                        [v] => vars.push((format!("${v}"), item.clone())),
                        [k, v, ..] => {
                            vars.push((format!("${k}"), key));
                            vars.push((format!("${v}"), item.clone()));
                        }
                    }
                    exec(body, &item, vars, out)?;
                    vars.truncate(mark);
                }
                vars.truncate(depth);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &str, data: &Value) -> String {
        Template::parse(t).unwrap().render(data).unwrap()
    }

    #[test]
    fn fields_blocks_and_functions() {
        let d = json!({
            "Package": {"Name": "crane", "Version": "0.20.2", "Epoch": 1},
            "Subpackages": [{"Name": "a"}, {"Name": "b"}],
            "Vars": {"x": "y"},
            "Empty": []
        });
        assert_eq!(
            render(
                "{{ .Package.Name }}-{{ .Package.Version }}-r{{ .Package.Epoch }}",
                &d
            ),
            "crane-0.20.2-r1"
        );
        assert_eq!(
            render("{{ range .Subpackages }}{{ .Name }},{{ end }}", &d),
            "a,b,"
        );
        assert_eq!(
            render(
                "{{ range $i, $s := .Subpackages }}{{ $i }}={{ $s.Name }} {{ end }}",
                &d
            ),
            "0=a 1=b "
        );
        assert_eq!(render("{{ index .Vars \"x\" }}", &d), "y");
        assert_eq!(render("{{ len .Subpackages }}", &d), "2");
        assert_eq!(render("{{ (index .Subpackages 1).Name }}", &d), "b");
        assert_eq!(
            render(
                "{{ if .Empty }}x{{ else if .Vars }}v{{ else }}z{{ end }}",
                &d
            ),
            "v"
        );
        assert_eq!(
            render("{{ range .Empty }}x{{ else }}none{{ end }}", &d),
            "none"
        );
        assert_eq!(
            render("{{ with .Package }}{{ .Name }}{{ end }}", &d),
            "crane"
        );
        assert_eq!(
            render("{{ $n := .Package.Name }}{{ $n | printf \"%s!\" }}", &d),
            "crane!"
        );
        assert_eq!(
            render("{{ eq .Package.Name \"crane\" }} {{ not true }}", &d),
            "true false"
        );
        assert_eq!(render("a  {{- .Package.Name -}}  b", &d), "acraneb");
        assert_eq!(
            render("{{ .Subpackages }}", &json!({"Subpackages": ["a", "b"]})),
            "[a b]"
        );
        assert_eq!(render("{{/* comment */}}x", &d), "x");
    }

    #[test]
    fn errors_say_what() {
        assert!(Template::parse("{{ if .X }}").is_err());
        assert!(Template::parse("{{ .X ").is_err());
        let e = Template::parse("{{ nope .X }}")
            .unwrap()
            .render(&json!({}))
            .unwrap_err();
        assert!(e.0.contains("nope"), "{e}");
    }
}
