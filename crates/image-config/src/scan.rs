//! A second, lenient look at a config file's YAML for what the typed
//! decode loses: where each repository line was written (for errors about
//! a repository found only at build time) and how numbers were spelled
//! (`permissions: 755` is decimal in YAML, almost always meant as octal).

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::SourcePos;

/// Something worth telling the user that does not make the config invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Where.
    pub at: SourcePos,
    /// What.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

#[derive(Deserialize, Default)]
struct Shadow {
    #[serde(default)]
    contents: Option<ShadowContents>,
    #[serde(default)]
    paths: Option<Vec<ShadowPath>>,
}

#[derive(Deserialize, Default)]
struct ShadowContents {
    #[serde(default)]
    repositories: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    build_repositories: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    runtime_repositories: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
struct ShadowPath {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    permissions: Option<Spanned<String>>,
}

/// What the scan found in one file.
#[derive(Default)]
pub(crate) struct Scan {
    pub repositories: Vec<(String, SourcePos)>,
    pub warnings: Vec<ConfigWarning>,
}

/// Scans one file's bytes; a file the lenient decode cannot read gives
/// nothing (the typed decode reports its errors).
pub(crate) fn scan(bytes: &[u8], file: &Arc<Path>) -> Scan {
    let Ok(Some(shadow)) = goyaml::first_document::<Shadow>(bytes) else {
        return Scan::default();
    };
    let pos = |s: &Spanned<String>| SourcePos {
        file: Arc::clone(file),
        line: s.referenced.line(),
        column: s.referenced.column(),
    };
    let mut out = Scan::default();
    if let Some(c) = shadow.contents {
        for list in [c.repositories, c.build_repositories, c.runtime_repositories]
            .into_iter()
            .flatten()
        {
            for r in list {
                let text = r.value.trim_end_matches('/').to_string();
                out.repositories.push((text, pos(&r)));
            }
        }
    }
    for p in shadow.paths.into_iter().flatten() {
        let Some(perm) = p.permissions else { continue };
        let text = perm.value.trim();
        if looks_like_unprefixed_octal(text) {
            let value: u32 = text.parse().unwrap_or(0);
            out.warnings.push(ConfigWarning {
                at: pos(&perm),
                message: format!(
                    "`permissions: {text}` of `{}` is the decimal number {text} (mode {value:#o}); \
                     write `0{text}` for mode {text} in octal",
                    p.path.unwrap_or_default()
                ),
            });
        }
    }
    out
}

/// `755`, `644`, `1777`: a decimal literal made only of octal digits,
/// without the leading `0` that makes YAML read it as octal.
fn looks_like_unprefixed_octal(text: &str) -> bool {
    (3..=4).contains(&text.len())
        && !text.starts_with('0')
        && text.bytes().all(|b| (b'0'..=b'7').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_permissions_warn_with_their_position() {
        let yaml = b"paths:\n  - path: /a\n    type: directory\n    permissions: 755\n  - path: /b\n    type: directory\n    permissions: 0755\n  - path: /c\n    type: directory\n    permissions: 493\n";
        let file: Arc<Path> = Arc::from(Path::new("x.yaml"));
        let s = scan(yaml, &file);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        let w = &s.warnings[0];
        assert_eq!((w.at.line, w.at.column), (4, 18));
        assert!(
            w.to_string()
                .starts_with("x.yaml:4:18: `permissions: 755` of `/a`"),
            "{w}"
        );
        assert!(w.message.contains("0o1363"), "{w}");
    }

    #[test]
    fn repository_lines_are_located() {
        let yaml = b"contents:\n  repositories:\n    - ./a/\n    - https://x/y\n";
        let file: Arc<Path> = Arc::from(Path::new("x.yaml"));
        let s = scan(yaml, &file);
        let found: Vec<(String, u64)> = s
            .repositories
            .iter()
            .map(|(t, p)| (t.clone(), p.line))
            .collect();
        assert_eq!(
            found,
            vec![("./a".to_string(), 3), ("https://x/y".to_string(), 4)]
        );
    }
}
