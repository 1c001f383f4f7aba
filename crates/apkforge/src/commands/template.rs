//! The part of Go's `text/template` that apko's `show-packages --format`
//! uses: text with `{{ .Field }}` actions (spaces and `{{-`/`-}}` trim
//! markers allowed). Any other action, or an unknown field, is an error
//! naming it, as Go's template package fails on them.

use anyhow::{Result, bail};

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
}

/// A parsed template over a fixed set of fields.
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; `fields` are the names `.Name` etc. may use.
    pub fn parse(text: &str, fields: &[&str]) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut trim_next = false;
        while let Some(start) = rest.find("{{") {
            let mut before = &rest[..start];
            if trim_next {
                before = before.trim_start();
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("template `{text}`: unclosed action (missing `}}}}`)");
            };
            let mut action = &after[..end];
            if let Some(a) = action.strip_prefix("- ") {
                before = before.trim_end();
                action = a;
            } else if action.starts_with('-') && action.len() > 1 {
                bail!("template `{text}`: `{{{{-` must be followed by a space");
            }
            trim_next = false;
            if let Some(a) = action.strip_suffix(" -") {
                trim_next = true;
                action = a;
            }
            if !before.is_empty() {
                pieces.push(Piece::Text(before.to_string()));
            }
            let action = action.trim();
            let Some(field) = action.strip_prefix('.') else {
                bail!(
                    "template `{text}`: `{{{{{action}}}}}` is not supported; use fields {}",
                    known(fields)
                );
            };
            if !fields.contains(&field) {
                bail!(
                    "template `{text}`: unknown field `.{field}`; the fields are {}",
                    known(fields)
                );
            }
            pieces.push(Piece::Field(field.to_string()));
            rest = &after[end + 2..];
        }
        let tail = if trim_next { rest.trim_start() } else { rest };
        if !tail.is_empty() {
            pieces.push(Piece::Text(tail.to_string()));
        }
        Ok(Template { pieces })
    }

    /// Renders with `value(field)` for each field.
    pub fn render(&self, value: impl Fn(&str) -> String) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Field(f) => value(f),
            })
            .collect()
    }
}

fn known(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!(".{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::Template;

    const FIELDS: &[&str] = &["Name", "Version"];

    fn render(t: &str) -> String {
        Template::parse(t, FIELDS).unwrap().render(|f| {
            if f == "Name" {
                "busybox".into()
            } else {
                "1.0".into()
            }
        })
    }

    #[test]
    fn fields_with_and_without_spaces() {
        assert_eq!(render("{{.Name}}={{ .Version }}"), "busybox=1.0");
        assert_eq!(render("- {{ .Name }} x"), "- busybox x");
        assert_eq!(render("a  {{- .Name -}}  b"), "abusyboxb");
    }

    #[test]
    fn unknown_fields_and_actions_are_errors() {
        let err = Template::parse("{{ .Nope }}", FIELDS)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown field `.Nope`") && err.contains(".Name, .Version"),
            "{err}"
        );
        assert!(Template::parse("{{ range . }}", FIELDS).is_err());
        assert!(Template::parse("{{ .Name", FIELDS).is_err());
    }
}
