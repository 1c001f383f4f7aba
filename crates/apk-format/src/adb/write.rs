//! Writing an ADB block payload the way apk-tools 3 lays it out, so that
//! the same sequence of writes gives the same bytes: values are appended
//! at their alignment (zero padding), identical values are stored once,
//! objects drop trailing null slots, arrays are sorted by their schema.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::AdbError;
use super::value::{ADB_HEADER_LEN, Adb, Val, View, tag};

/// Deepest nesting of objects and arrays a copy follows (the deepest
/// schema, index → packages → package → dependencies → dependency, is 5).
pub const MAX_DEPTH: u32 = 32;

/// Builds an ADB payload.
#[derive(Debug)]
pub struct AdbWriter {
    buf: Vec<u8>,
    seen: HashMap<Vec<u8>, u32>,
}

impl Default for AdbWriter {
    fn default() -> Self {
        AdbWriter::new()
    }
}

impl AdbWriter {
    /// An empty payload: only the header (compat 0, version 0, root null).
    pub fn new() -> AdbWriter {
        AdbWriter {
            buf: vec![0u8; ADB_HEADER_LEN],
            seen: HashMap::new(),
        }
    }

    /// A view of what has been written.
    pub fn view(&self) -> View<'_> {
        View::new(&self.buf)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when only the header is written.
    pub fn is_empty(&self) -> bool {
        self.buf.len() <= ADB_HEADER_LEN
    }

    fn raw(&mut self, parts: &[&[u8]], align: usize) -> u32 {
        let pad = self.buf.len().next_multiple_of(align) - self.buf.len();
        self.buf.resize(self.buf.len() + pad, 0);
        let offset = self.buf.len() as u32;
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        offset
    }

    /// Appends `parts` at `align`, or returns where identical bytes already
    /// are when that place is aligned too.
    fn data(&mut self, parts: &[&[u8]], align: usize) -> u32 {
        let key = parts.concat();
        if let Some(&offset) = self.seen.get(&key)
            && (offset as usize).is_multiple_of(align)
        {
            return offset;
        }
        let offset = self.raw(&[&key], align);
        self.seen.insert(key, offset);
        offset
    }

    /// A blob of the concatenated parts (null when empty).
    pub fn blob_vec(&mut self, parts: &[&[u8]]) -> Val {
        self.blob_impl(parts, true)
    }

    /// A blob (null when empty).
    pub fn blob(&mut self, bytes: &[u8]) -> Val {
        self.blob_impl(&[bytes], true)
    }

    /// A blob that is always stored anew (never shared with an identical
    /// one), for bytes that are filled in later.
    pub fn blob_unshared(&mut self, bytes: &[u8]) -> Val {
        self.blob_impl(&[bytes], false)
    }

    fn blob_impl(&mut self, parts: &[&[u8]], share: bool) -> Val {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let (kind, prefix): (u32, Vec<u8>) = if len > 0xffff {
            (tag::BLOB32, (len as u32).to_le_bytes().to_vec())
        } else if len > 0xff {
            (tag::BLOB16, (len as u16).to_le_bytes().to_vec())
        } else if len > 0 {
            (tag::BLOB8, vec![len as u8])
        } else {
            return Val::NULL;
        };
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
        all.push(&prefix);
        all.extend_from_slice(parts);
        let offset = if share {
            self.data(&all, prefix.len())
        } else {
            self.raw(&all, prefix.len())
        };
        Val::new(kind, offset)
    }

    /// An integer: immediate below 2^28, else stored as 32 or 64 bits.
    pub fn int(&mut self, v: u64) -> Val {
        if v >= 0x1_0000_0000 {
            Val::new(tag::INT64, self.data(&[&v.to_le_bytes()], 4))
        } else if v >= 0x1000_0000 {
            Val::new(tag::INT32, self.data(&[&(v as u32).to_le_bytes()], 4))
        } else {
            Val::new(tag::INT, v as u32)
        }
    }

    /// Writes an object (or array) from its slots, `slots[0]` unused:
    /// trailing nulls are dropped; an object with no fields is null.
    pub fn slots(&mut self, slots: &[Val], kind: u32) -> Val {
        let mut n = slots.len();
        while n > 1 && slots[n - 1].is_null() {
            n -= 1;
        }
        if n <= 1 {
            return Val::NULL;
        }
        let mut bytes = Vec::with_capacity(n * 4);
        bytes.extend_from_slice(&(n as u32).to_le_bytes());
        for v in &slots[1..n] {
            bytes.extend_from_slice(&v.0.to_le_bytes());
        }
        Val::new(kind, self.data(&[&bytes], 4))
    }

    /// An object from fields 1..: `fields[i]` is field `i + 1`.
    pub fn object(&mut self, fields: &[Val]) -> Val {
        let mut slots = Vec::with_capacity(fields.len() + 1);
        slots.push(Val::NULL);
        slots.extend_from_slice(fields);
        self.slots(&slots, tag::OBJECT)
    }

    /// Sorts array items (of kind `kind`) (apk's `adb_wa_sort`), dropping
    /// identical neighbours when `unique` (`adb_wa_sort_unique`).
    pub fn sort_items(&self, items: &mut Vec<Val>, kind: &Kind, unique: bool) {
        let view = self.view();
        items.sort_by(|a, b| compare(view, kind, *a, *b));
        if unique {
            items.dedup();
        }
    }

    /// An array of `items` tagged `kind_tag` (apk-tools tags some arrays
    /// as objects, depending on how they were built).
    pub fn array(&mut self, items: &[Val], kind_tag: u32) -> Val {
        let mut slots = Vec::with_capacity(items.len() + 1);
        slots.push(Val::NULL);
        slots.extend(items.iter().copied().filter(|v| !v.is_null()));
        self.slots(&slots, kind_tag)
    }

    /// Copies a value of another payload into this one, children first, as
    /// `adb_w_copy` does. Values copied once are not copied again (the
    /// result would be the same shared bytes), and nesting deeper than any
    /// schema goes is refused, so crafted self-referencing or exponentially
    /// shared objects cannot recurse without end.
    pub fn copy(&mut self, src: View<'_>, v: Val) -> Result<Val, AdbError> {
        let mut memo = HashMap::new();
        self.copy_at(src, v, 0, &mut memo)
    }

    fn copy_at(
        &mut self,
        src: View<'_>,
        v: Val,
        depth: u32,
        memo: &mut HashMap<u32, Val>,
    ) -> Result<Val, AdbError> {
        if depth > MAX_DEPTH {
            return Err(AdbError::Malformed(format!(
                "values nested deeper than {MAX_DEPTH} levels"
            )));
        }
        match v.kind() {
            tag::SPECIAL | tag::INT => Ok(v),
            tag::INT32 | tag::BLOB8 | tag::BLOB16 | tag::BLOB32 | tag::INT64 => {
                let bytes = src.stored(v)?;
                let align = match v.kind() {
                    tag::INT32 | tag::BLOB32 => 4,
                    tag::INT64 => 8,
                    tag::BLOB16 => 2,
                    _ => 1,
                };
                Ok(Val::new(v.kind(), self.data(&[bytes], align)))
            }
            tag::ARRAY | tag::OBJECT => {
                if let Some(done) = memo.get(&v.0) {
                    return Ok(*done);
                }
                let obj = src.obj(v)?;
                let n = obj.num_slots();
                let mut bytes = Vec::with_capacity(n as usize * 4);
                bytes.extend_from_slice(&n.to_le_bytes());
                for i in 1..n {
                    let c = self.copy_at(src, obj.val(i), depth + 1, memo)?;
                    bytes.extend_from_slice(&c.0.to_le_bytes());
                }
                let out = Val::new(v.kind(), self.data(&[&bytes], 4));
                memo.insert(v.0, out);
                Ok(out)
            }
            _ => Err(AdbError::Malformed(format!(
                "value {:#010x} has an unknown type",
                v.0
            ))),
        }
    }

    /// Sets the root value and returns the finished payload.
    pub fn finish(mut self, root: Val) -> Adb {
        self.buf[4..8].copy_from_slice(&root.0.to_le_bytes());
        Adb::from_written(self.buf)
    }
}

/// The schema of a value, as far as sorting needs it.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Bytes compared as apk's `apk_blob_sort` (memcmp, then length).
    Blob,
    /// A version compared as apk versions.
    Version,
    /// An integer.
    Int,
    /// An object with these fields (field `i` is `fields[i - 1]`).
    Object(&'static [Kind]),
    /// An array of one kind.
    Array(&'static Kind),
}

/// Dependency object.
pub const DEPENDENCY: Kind = Kind::Object(&[Kind::Blob, Kind::Version, Kind::Int]);
/// Array of dependencies.
pub const DEPENDENCY_ARRAY: Kind = Kind::Array(&DEPENDENCY);
/// Package info object.
pub const PKGINFO: Kind = Kind::Object(&[
    Kind::Blob,
    Kind::Version,
    Kind::Blob,
    Kind::Blob,
    Kind::Blob,
    Kind::Blob,
    Kind::Blob,
    Kind::Blob,
    Kind::Blob,
    Kind::Blob,
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Int,
    DEPENDENCY_ARRAY,
    DEPENDENCY_ARRAY,
    DEPENDENCY_ARRAY,
    DEPENDENCY_ARRAY,
    DEPENDENCY_ARRAY,
    Kind::Int,
    Kind::Array(&Kind::Blob),
]);
/// ACL object.
pub const ACL: Kind = Kind::Object(&[Kind::Int, Kind::Blob, Kind::Blob, Kind::Array(&Kind::Blob)]);
/// File object.
pub const FILE: Kind = Kind::Object(&[
    Kind::Blob,
    ACL,
    Kind::Int,
    Kind::Int,
    Kind::Blob,
    Kind::Blob,
]);
/// Directory object.
pub const DIR: Kind = Kind::Object(&[Kind::Blob, ACL, Kind::Array(&FILE)]);

fn blob_or_empty<'a>(view: View<'a>, v: Val) -> &'a [u8] {
    view.blob(v).ok().flatten().unwrap_or_default()
}

/// Compares two values of `kind` the way apk's schema comparators do
/// (`adb_ro_cmpobj` in exact mode for objects and arrays).
pub fn compare(view: View<'_>, kind: &Kind, a: Val, b: Val) -> Ordering {
    match kind {
        Kind::Blob => {
            let (x, y) = (blob_or_empty(view, a), blob_or_empty(view, b));
            let n = x.len().min(y.len());
            x[..n].cmp(&y[..n]).then(x.len().cmp(&y.len()))
        }
        Kind::Version => {
            let x = String::from_utf8_lossy(blob_or_empty(view, a));
            let y = String::from_utf8_lossy(blob_or_empty(view, b));
            crate::version::compare(&x, &y)
        }
        Kind::Int => {
            let (x, y) = (view.int(a).unwrap_or(0), view.int(b).unwrap_or(0));
            x.cmp(&y)
        }
        Kind::Object(_) | Kind::Array(_) => {
            let (Ok(x), Ok(y)) = (view.obj(a), view.obj(b)) else {
                return Ordering::Equal;
            };
            let n = x.num_slots().max(y.num_slots()).max(1);
            for i in 1..n {
                let field = match kind {
                    Kind::Object(fields) => fields.get(i as usize - 1),
                    Kind::Array(item) => Some(*item),
                    _ => None,
                };
                let Some(field) = field else {
                    return Ordering::Equal;
                };
                let r = compare(view, field, x.val(i), y.val(i));
                if r != Ordering::Equal {
                    return r;
                }
            }
            Ordering::Equal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding (target `adb_index`): an object whose slot points at
    /// itself made the copy recurse until the stack overflowed.
    #[test]
    fn self_referencing_objects_do_not_recurse_forever() {
        // Header, root = object at 8; object: 2 slots, slot 1 = itself.
        let mut b = vec![0u8; 8];
        b[4..8].copy_from_slice(&Val::new(tag::OBJECT, 8).0.to_le_bytes());
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&Val::new(tag::OBJECT, 8).0.to_le_bytes());
        let mut w = AdbWriter::new();
        let err = w.copy(View::new(&b), Val::new(tag::OBJECT, 8)).unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
        // Shared children (a chain of objects whose two slots both point to
        // the next one) are copied once each, not 2^depth times.
        let mut b = vec![0u8; 8];
        let levels = 30u32;
        for i in 0..levels {
            let next = 8 + (i + 1) * 12;
            b.extend_from_slice(&3u32.to_le_bytes());
            let child = if i + 1 == levels {
                Val::new(tag::INT, 7)
            } else {
                Val::new(tag::OBJECT, next)
            };
            b.extend_from_slice(&child.0.to_le_bytes());
            b.extend_from_slice(&child.0.to_le_bytes());
        }
        let mut w = AdbWriter::new();
        w.copy(View::new(&b), Val::new(tag::OBJECT, 8)).unwrap();
    }
}
