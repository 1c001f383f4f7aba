//! Evaluation: fields, variables, functions and pipelines over JSON
//! data, printed as Go prints values.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Arg, Node, Pipeline, TemplateError, err};

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

pub(super) fn exec(
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
