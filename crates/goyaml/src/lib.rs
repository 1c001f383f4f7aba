//! YAML decoding shared by image configs and recipes: the options that make
//! serde-saphyr read files as Go's yaml.v3 does, first-document semantics,
//! and error messages a user can act on.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

/// A position in a YAML file (an apko config, a recipe, a pipeline):
/// `file:line:column`.
///
/// Lines and columns are 1-based and counted in characters, as serde-saphyr
/// reports them. A `line` of 0 means the position inside the file is
/// unknown; such a position displays as just the file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourcePos {
    /// The file as it was named when loaded.
    pub file: Arc<Path>,
    /// 1-based line, 0 if unknown.
    pub line: u64,
    /// 1-based column, 0 if unknown.
    pub column: u64,
}

impl SourcePos {
    /// A position in `file`.
    pub fn new(file: impl AsRef<Path>, line: u64, column: u64) -> Self {
        SourcePos {
            file: Arc::from(file.as_ref()),
            line,
            column,
        }
    }

    /// A position in a file whose name is already shared (no copy).
    pub fn in_file(file: &Arc<Path>, line: u64, column: u64) -> Self {
        SourcePos {
            file: Arc::clone(file),
            line,
            column,
        }
    }

    /// A position naming only the file.
    pub fn file_only(file: impl AsRef<Path>) -> Self {
        Self::new(file, 0, 0)
    }
}

impl fmt::Display for SourcePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// A decoding failure with its 1-based position (0 when unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// 1-based line, 0 if unknown.
    pub line: u64,
    /// 1-based column, 0 if unknown.
    pub column: u64,
    /// One line saying what is wrong.
    pub message: String,
}

/// Options matching yaml.v3's reading of apko and melange files.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // yaml.v3 reads `0755` as octal (Go's base-0 integer parsing).
        legacy_octal_numbers: true,
        with_snippet: false,
    }
}

/// Decodes the first document of `bytes` (yaml.v3's `Decoder.Decode` reads
/// only the first of several); `None` for a document without content.
pub fn first_document<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, DecodeError> {
    match serde_saphyr::from_slice_with_options::<Option<T>>(bytes, options()) {
        Ok(value) => Ok(value),
        Err(serde_saphyr::Error::MultipleDocuments { .. }) => {
            serde_saphyr::from_slice_multiple_with_options::<Option<T>>(bytes, options())
                .map(|docs| docs.into_iter().next().flatten())
                .map_err(|e| describe(&e))
        }
        Err(e) => Err(describe(&e)),
    }
}

/// Turns a serde-saphyr error into a position and a one-line message.
pub fn describe(err: &serde_saphyr::Error) -> DecodeError {
    use serde_saphyr::MessageFormatter as _;
    let (line, column) = err
        .location()
        .map_or((0, 0), |loc| (loc.line(), loc.column()));
    let mut inner = err;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let message = match inner {
        serde_saphyr::Error::InvalidScalar { ty, .. } => match *ty {
            "u32" => "expected a whole number from 0 to 4294967295".into(),
            "u64" => "expected a whole number from 0 up".into(),
            "i64" => "expected a whole number".into(),
            "bool" | "boolean" => "expected true or false".into(),
            other => format!("expected a value of type {other}").into(),
        },
        serde_saphyr::Error::Unexpected { expected, .. } => match *expected {
            "sequence start" => "expected a list".into(),
            "mapping start" => "expected a mapping".into(),
            "string scalar" | "scalar" => "expected a string".into(),
            _ => serde_saphyr::UserMessageFormatter.format_message(inner),
        },
        _ => serde_saphyr::UserMessageFormatter.format_message(inner),
    };
    // The formatter leaves control characters in; keep the message on one line.
    let message = message.chars().fold(String::new(), |mut out, c| {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    });
    DecodeError {
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        n: u32,
        #[serde(default)]
        mode: Option<u32>,
    }

    #[test]
    fn positions_display_as_file_line_column() {
        let file: Arc<Path> = Arc::from(Path::new("a.yaml"));
        assert_eq!(SourcePos::in_file(&file, 3, 7).to_string(), "a.yaml:3:7");
        assert_eq!(
            SourcePos::new("a.yaml", 3, 7),
            SourcePos::in_file(&file, 3, 7)
        );
        assert_eq!(SourcePos::file_only("a.yaml").to_string(), "a.yaml");
    }

    #[test]
    fn reads_the_first_of_several_documents() {
        let doc: Doc = first_document(b"n: 1\n---\nn: 2\n").unwrap().unwrap();
        assert_eq!(doc.n, 1);
    }

    #[test]
    fn empty_document_is_none() {
        assert!(first_document::<Doc>(b"# nothing\n").unwrap().is_none());
    }

    #[test]
    fn leading_zero_is_octal() {
        let doc: Doc = first_document(b"n: 1\nmode: 0755\n").unwrap().unwrap();
        assert_eq!(doc.mode, Some(0o755));
    }

    #[test]
    fn errors_are_located_and_plain() {
        let err = first_document::<Doc>(b"n: -3\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 4));
        assert_eq!(err.message, "expected a whole number from 0 to 4294967295");

        let err = first_document::<Doc>(b"n: 1\nbogus: x\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("bogus"), "{}", err.message);
        assert!(!err.message.contains('\n'), "{}", err.message);
    }
}
