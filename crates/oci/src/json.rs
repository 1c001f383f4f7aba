//! Compact JSON with the string escaping of Go's `encoding/json`.
//!
//! go-containerregistry marshals configs, manifests and indexes with
//! `json.Marshal`, which escapes `<`, `>`, `&`, U+2028 and U+2029 as
//! `\u003c`-style sequences (lowercase hex). Everything else (control
//! characters, quotes, backslashes) is escaped the same way `serde_json`
//! already does it, so only string fragments need extra care. Field order
//! comes from the serde structs, map keys from `BTreeMap` (byte order, like
//! Go's sorted map keys).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// A compact formatter (the trait's defaults) that escapes like Go's
/// `json.Marshal`.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serializes `value` as compact JSON escaped like Go's `json.Marshal`.
///
/// Serialization of the crate's own types cannot fail (string keys only),
/// so this returns the bytes directly.
pub(crate) fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = Serializer::with_formatter(&mut out, GoFormatter);
    value
        .serialize(&mut ser)
        .expect("OCI documents have string keys only and always serialize");
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::to_vec;

    #[test]
    fn escapes_like_go() {
        let mut m = BTreeMap::new();
        m.insert("b", "x<y>&z\u{2028}\u{2029}\"\\\n\u{1}é");
        m.insert("a", "plain");
        assert_eq!(
            String::from_utf8(to_vec(&m)).unwrap(),
            "{\"a\":\"plain\",\"b\":\"x\\u003cy\\u003e\\u0026z\\u2028\\u2029\\\"\\\\\\n\\u0001é\"}"
        );
    }
}
