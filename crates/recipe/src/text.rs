//! Scalars that remember where they were written, and the deserialization
//! helpers that make serde accept what Go's yaml.v3 accepts.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string scalar with the line and column it was written at.
///
/// Any YAML scalar is accepted and kept as its source text, as Go's yaml.v3
/// does when decoding into a `string`: `version: 1.10` stays `"1.10"`,
/// `extract: false` is `"false"` and `strip-prefix: n` is `"n"`. A null
/// (`key:` with nothing after it) is the empty string. The position never
/// takes part in comparisons and is not serialized: a `Str` serializes as
/// its text.
#[derive(Clone, Default)]
pub struct Str {
    /// The text (after substitution, in compiled recipes).
    pub value: String,
    /// 1-based line of the scalar's first character (for block scalars,
    /// the first line of content); 0 if unknown.
    pub line: u64,
    /// 1-based column; 0 if unknown.
    pub column: u64,
}

impl Str {
    /// A string without a position.
    pub fn new(value: impl Into<String>) -> Self {
        Str {
            value: value.into(),
            line: 0,
            column: 0,
        }
    }

    /// The same position with another text.
    pub fn with_value(&self, value: String) -> Self {
        Str {
            value,
            line: self.line,
            column: self.column,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        &self.value
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.value == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str::new(s)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str::new(s)
    }
}

impl Serialize for Str {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Option<String>>::deserialize(deserializer)?;
        Ok(Str {
            value: spanned.value.unwrap_or_default(),
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        })
    }
}

/// A string-to-string mapping (`with:`, `vars:`, `environment:`, data
/// items). Keys are sorted bytewise, as Go's `sort.Strings` sorts them.
pub type StrMap = BTreeMap<String, Str>;

/// yaml.v3 decodes an explicit null to the zero value; serde would reject
/// it for strings, lists, maps and structs.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `skip_serializing_if` helper.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
