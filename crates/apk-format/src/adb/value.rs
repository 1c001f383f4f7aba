//! Reading values out of an ADB block payload: tagged 32-bit values, the
//! integer and blob encodings, objects and arrays. Every reference is
//! bounds-checked; a malformed value is an error, never a panic.

use super::AdbError;

/// Value types (the high nibble of a tag).
pub mod tag {
    /// null, true, false.
    pub const SPECIAL: u32 = 0x0;
    /// Immediate integer below 2^28.
    pub const INT: u32 = 0x1;
    /// 32-bit integer stored elsewhere.
    pub const INT32: u32 = 0x2;
    /// 64-bit integer stored elsewhere.
    pub const INT64: u32 = 0x3;
    /// Blob with a u8 length.
    pub const BLOB8: u32 = 0x8;
    /// Blob with a le16 length.
    pub const BLOB16: u32 = 0x9;
    /// Blob with a le32 length.
    pub const BLOB32: u32 = 0xa;
    /// Array.
    pub const ARRAY: u32 = 0xd;
    /// Object.
    pub const OBJECT: u32 = 0xe;
}

/// One tagged value: type in the high nibble, immediate or offset below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Val(pub u32);

impl Val {
    /// The null value (an absent field).
    pub const NULL: Val = Val(0);

    /// Builds a value from a type and a 28-bit payload.
    pub fn new(kind: u32, payload: u32) -> Val {
        Val((kind << 28) | (payload & 0x0fff_ffff))
    }

    /// The type nibble.
    pub fn kind(self) -> u32 {
        self.0 >> 28
    }

    /// The immediate value or offset.
    pub fn payload(self) -> u32 {
        self.0 & 0x0fff_ffff
    }

    /// True for null.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

/// The payload of an ADB block: a 8-byte header (`compat_ver`, `ver`,
/// reserved, root value) followed by the values it references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adb {
    bytes: Vec<u8>,
}

/// Size of the ADB payload header.
pub const ADB_HEADER_LEN: usize = 8;

impl Adb {
    /// Wraps a block payload, checking its header.
    pub fn new(bytes: Vec<u8>) -> Result<Adb, AdbError> {
        if bytes.len() < ADB_HEADER_LEN {
            return Err(AdbError::Malformed(format!(
                "ADB block of {} bytes is shorter than its header",
                bytes.len()
            )));
        }
        if bytes[0] != 0 {
            return Err(AdbError::Malformed(format!(
                "ADB format compat version {} is not supported (only 0)",
                bytes[0]
            )));
        }
        Ok(Adb { bytes })
    }

    /// A payload built by the writer (header already valid).
    pub(crate) fn from_written(bytes: Vec<u8>) -> Adb {
        Adb { bytes }
    }

    /// The raw payload (what signatures and identity hashes cover).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The raw payload, mutable (to fill in a package's unique ID).
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The root value.
    pub fn root(&self) -> Val {
        Val(le32(&self.bytes, 4))
    }

    /// A reading view of the payload.
    pub fn view(&self) -> View<'_> {
        View { bytes: &self.bytes }
    }

    /// The root object.
    pub fn root_obj(&self) -> Result<Obj<'_>, AdbError> {
        self.view().obj(self.root())
    }

    /// An integer value (null reads as 0).
    pub fn int(&self, v: Val) -> Result<u64, AdbError> {
        self.view().int(v)
    }

    /// A blob value, `None` for null.
    pub fn blob(&self, v: Val) -> Result<Option<&[u8]>, AdbError> {
        self.view().blob(v)
    }

    /// An object or array (null reads as empty).
    pub fn obj(&self, v: Val) -> Result<Obj<'_>, AdbError> {
        self.view().obj(v)
    }
}

/// Reads values out of ADB payload bytes (a finished block or one being
/// written).
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    bytes: &'a [u8],
}

impl<'a> View<'a> {
    /// A view of payload bytes.
    pub fn new(bytes: &'a [u8]) -> View<'a> {
        View { bytes }
    }

    fn slice(&self, offset: u64, len: u64, what: &str) -> Result<&'a [u8], AdbError> {
        let end = offset
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len() as u64);
        match end {
            Some(end) => Ok(&self.bytes[offset as usize..end as usize]),
            None => Err(AdbError::Malformed(format!(
                "{what} at offset {offset} (+{len} bytes) lies outside the {}-byte ADB block",
                self.bytes.len()
            ))),
        }
    }

    /// An integer value (null reads as 0).
    pub fn int(&self, v: Val) -> Result<u64, AdbError> {
        let off = u64::from(v.payload());
        match v.kind() {
            tag::SPECIAL if v.is_null() => Ok(0),
            tag::INT => Ok(u64::from(v.payload())),
            tag::INT32 => Ok(u64::from(le32(self.slice(off, 4, "integer")?, 0))),
            tag::INT64 => {
                let b = self.slice(off, 8, "integer")?;
                Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
            }
            _ => Err(mismatch(v, "an integer")),
        }
    }

    /// A blob value, `None` for null.
    pub fn blob(&self, v: Val) -> Result<Option<&'a [u8]>, AdbError> {
        let off = u64::from(v.payload());
        let (prefix, len) = match v.kind() {
            tag::SPECIAL if v.is_null() => return Ok(None),
            tag::BLOB8 => (1, u64::from(self.slice(off, 1, "blob")?[0])),
            tag::BLOB16 => {
                let b = self.slice(off, 2, "blob")?;
                (2, u64::from(u16::from_le_bytes([b[0], b[1]])))
            }
            tag::BLOB32 => (4, u64::from(le32(self.slice(off, 4, "blob")?, 0))),
            _ => return Err(mismatch(v, "a blob")),
        };
        self.slice(off + prefix, len, "blob").map(Some)
    }

    /// The raw bytes a blob or indirect integer occupies, length prefix
    /// included (what a copy writes).
    pub fn stored(&self, v: Val) -> Result<&'a [u8], AdbError> {
        let off = u64::from(v.payload());
        let len = match v.kind() {
            tag::INT32 => 4,
            tag::INT64 => 8,
            tag::BLOB8 => 1 + u64::from(self.slice(off, 1, "blob")?[0]),
            tag::BLOB16 => {
                let b = self.slice(off, 2, "blob")?;
                2 + u64::from(u16::from_le_bytes([b[0], b[1]]))
            }
            tag::BLOB32 => 4 + u64::from(le32(self.slice(off, 4, "blob")?, 0)),
            _ => return Err(mismatch(v, "a stored value")),
        };
        self.slice(off, len, "value")
    }

    /// An object or array (null reads as empty).
    pub fn obj(&self, v: Val) -> Result<Obj<'a>, AdbError> {
        match v.kind() {
            tag::SPECIAL if v.is_null() => Ok(Obj {
                view: *self,
                slots: &[],
            }),
            tag::ARRAY | tag::OBJECT => {
                let off = u64::from(v.payload());
                let num = le32(self.slice(off, 4, "object")?, 0);
                if num == 0 {
                    return Err(AdbError::Malformed(format!(
                        "object at offset {off} has no slots"
                    )));
                }
                let slots = self.slice(off, u64::from(num) * 4, "object")?;
                Ok(Obj { view: *self, slots })
            }
            _ => Err(mismatch(v, "an object or array")),
        }
    }
}

fn mismatch(v: Val, want: &str) -> AdbError {
    AdbError::Malformed(format!("value {:#010x} is not {want}", v.0))
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An object or array: numbered slots, slot 0 holding the count.
#[derive(Clone, Copy, Debug)]
pub struct Obj<'a> {
    view: View<'a>,
    slots: &'a [u8],
}

impl<'a> Obj<'a> {
    /// The view this object reads from.
    pub fn view(&self) -> View<'a> {
        self.view
    }

    /// Number of slots including slot 0 (0 for a null object).
    pub fn num_slots(&self) -> u32 {
        (self.slots.len() / 4) as u32
    }

    /// Number of array items (slots after slot 0).
    pub fn len(&self) -> u32 {
        self.num_slots().saturating_sub(1)
    }

    /// True when the array has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slot `i` (null when past the end).
    pub fn val(&self, i: u32) -> Val {
        if i == 0 || i >= self.num_slots() {
            return Val::NULL;
        }
        Val(le32(self.slots, i as usize * 4))
    }

    /// Integer field `i`.
    pub fn int(&self, i: u32) -> Result<u64, AdbError> {
        self.view.int(self.val(i))
    }

    /// Blob field `i`.
    pub fn blob(&self, i: u32) -> Result<Option<&'a [u8]>, AdbError> {
        self.view.blob(self.val(i))
    }

    /// Object or array field `i`.
    pub fn obj(&self, i: u32) -> Result<Obj<'a>, AdbError> {
        self.view.obj(self.val(i))
    }

    /// Text field `i` (UTF-8), `None` when absent.
    pub fn text(&self, i: u32, what: &str) -> Result<Option<&'a str>, AdbError> {
        match self.blob(i)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| AdbError::Malformed(format!("{what} is not UTF-8"))),
        }
    }

    /// Array items 1..=len.
    pub fn items(&self) -> impl Iterator<Item = Val> + '_ {
        (1..self.num_slots()).map(|i| self.val(i))
    }
}
