//! The part of Go's `text/template` that `melange query` templates use,
//! over JSON-like data: text and actions (`{{ .A.B }}`, trim markers
//! `{{-` / `-}}`, comments), `if` / `else if` / `else`, `range` (with
//! `$i, $v :=` and `else`), `with`, variables (`$x := …`, `$`), pipelines
//! (`a | b`), parenthesized expressions, and the functions `index`, `len`,
//! `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`,
//! `or`, `not`. Values print as Go prints them (`[a b]`, `map[k:v]`).

use serde_json::Value;

/// A template or evaluation error, saying where in the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

mod eval;
mod parse;

use eval::exec;
pub use eval::go_format;

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

impl Template {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            nodes: parse::parse(text)?,
        })
    }

    /// Evaluates the template with `data` as `.` and `$`.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), data.clone())];
        exec(&self.nodes, data, &mut vars, &mut out)?;
        Ok(out)
    }
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
