//! The ADB container: an optional compression wrapper (`ADBd`, `ADBc`),
//! the file header (`ADB.` + schema) and a sequence of 8-byte aligned
//! blocks (one ADB, then SIG, then DATA), read as a stream.

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;

use super::AdbError;

/// `ADB.` as a little-endian u32.
pub const MAGIC: u32 = 0x2e42_4441;

/// How a file is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// `ADB.`: not compressed.
    None,
    /// `ADBd`: raw deflate at the default level.
    Deflate,
    /// `ADBc` with algorithm 1 (deflate) and a level.
    DeflateLevel(u8),
    /// `ADBc` with algorithm 2 (zstd) and a level.
    Zstd(u8),
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Deflate => f.write_str("deflate"),
            Compression::DeflateLevel(l) => write!(f, "deflate:{l}"),
            Compression::Zstd(l) => write!(f, "zstd:{l}"),
        }
    }
}

/// True when `head` starts like an ADB file (apk tells v3 from v2 by the
/// first three bytes alone).
pub fn is_adb(head: &[u8]) -> bool {
    head.starts_with(b"ADB")
}

/// The decompressed stream of an ADB file.
pub enum Decompressed<R: BufRead> {
    /// Not compressed.
    Plain(R),
    /// Raw deflate.
    Deflate(Box<DeflateDecoder<R>>),
    /// zstd.
    Zstd(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
}

impl<R: BufRead> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decompressed::Plain(r) => r.read(buf),
            Decompressed::Deflate(r) => r.read(buf),
            Decompressed::Zstd(r) => r.read(buf),
        }
    }
}

/// Reads the compression wrapper and returns the decompressed stream, which
/// starts with the `ADB.` file header.
pub fn decompress<R: BufRead>(mut reader: R) -> Result<(Decompressed<R>, Compression), AdbError> {
    let mut magic = [0u8; 4];
    peek_exact(&mut reader, &mut magic)?;
    if &magic[..3] != b"ADB" {
        return Err(AdbError::NotAdb);
    }
    match magic[3] {
        b'.' => Ok((Decompressed::Plain(reader), Compression::None)),
        b'd' => {
            consume(&mut reader, 4)?;
            Ok((
                Decompressed::Deflate(Box::new(DeflateDecoder::new(reader))),
                Compression::Deflate,
            ))
        }
        b'c' => {
            consume(&mut reader, 4)?;
            let mut spec = [0u8; 2];
            reader.read_exact(&mut spec).map_err(truncated)?;
            match spec[0] {
                0 => Ok((Decompressed::Plain(reader), Compression::None)),
                1 => Ok((
                    Decompressed::Deflate(Box::new(DeflateDecoder::new(reader))),
                    Compression::DeflateLevel(spec[1]),
                )),
                2 => {
                    let dec = ruzstd::decoding::StreamingDecoder::new(reader)
                        .map_err(|e| AdbError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
                    Ok((
                        Decompressed::Zstd(Box::new(dec)),
                        Compression::Zstd(spec[1]),
                    ))
                }
                alg => Err(AdbError::Malformed(format!(
                    "unknown compression algorithm {alg}"
                ))),
            }
        }
        other => Err(AdbError::Malformed(format!(
            "unknown ADB compression marker `ADB{}`",
            other.escape_ascii()
        ))),
    }
}

fn truncated(e: io::Error) -> AdbError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        AdbError::Truncated
    } else {
        AdbError::Io(e)
    }
}

/// Copies the first `buf.len()` bytes without consuming them (needs them to
/// be in one buffer fill, which any `BufReader` of 8+ bytes gives unless the
/// file is shorter).
fn peek_exact<R: BufRead>(reader: &mut R, buf: &mut [u8]) -> Result<(), AdbError> {
    let avail = reader.fill_buf().map_err(AdbError::Io)?;
    if avail.len() < buf.len() {
        return Err(
            if avail.len() < 3 || !avail.starts_with(&b"ADB"[..avail.len().min(3)]) {
                AdbError::NotAdb
            } else {
                AdbError::Truncated
            },
        );
    }
    buf.copy_from_slice(&avail[..buf.len()]);
    Ok(())
}

fn consume<R: BufRead>(reader: &mut R, n: usize) -> Result<(), AdbError> {
    let mut skip = vec![0u8; n];
    reader.read_exact(&mut skip).map_err(truncated)
}

/// Block types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// The ADB (metadata) block.
    Adb,
    /// A signature block.
    Sig,
    /// A data block (file contents).
    Data,
}

/// A block header as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Its type.
    pub kind: BlockKind,
    /// Payload length (without header and padding).
    pub len: u64,
    /// Offset of the payload in the decompressed stream.
    pub offset: u64,
}

/// Reads blocks one after another from a decompressed stream. A block's
/// payload is read with [`BlockReader::read_payload`] or
/// [`BlockReader::payload`]; whatever is left unread, and the padding, is
/// skipped when the next block is requested.
pub struct BlockReader<R: Read> {
    inner: R,
    schema: u32,
    pos: u64,
    /// Bytes of the current block (payload + padding) not consumed yet.
    pending: u64,
}

impl<R: Read> BlockReader<R> {
    /// Reads the file header. `expected_schema` (0 for any) is checked.
    pub fn new(mut inner: R, expected_schema: u32) -> Result<Self, AdbError> {
        let mut hdr = [0u8; 8];
        inner.read_exact(&mut hdr).map_err(truncated)?;
        let magic = super::value::le32(&hdr, 0);
        if magic != MAGIC {
            return Err(AdbError::NotAdb);
        }
        let schema = super::value::le32(&hdr, 4);
        if expected_schema != 0 && schema != expected_schema {
            return Err(AdbError::Schema {
                expected: expected_schema,
                found: schema,
            });
        }
        Ok(BlockReader {
            inner,
            schema,
            pos: 8,
            pending: 0,
        })
    }

    /// The schema ID of the file header.
    pub fn schema(&self) -> u32 {
        self.schema
    }

    /// Offset in the decompressed stream.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn skip_pending(&mut self) -> Result<(), AdbError> {
        if self.pending > 0 {
            let n = io::copy(&mut (&mut self.inner).take(self.pending), &mut io::sink())
                .map_err(truncated)?;
            self.pos += n;
            if n < self.pending {
                return Err(AdbError::Truncated);
            }
            self.pending = 0;
        }
        Ok(())
    }

    /// The next block header, `None` at the end of the stream.
    pub fn next_block(&mut self) -> Result<Option<Block>, AdbError> {
        self.skip_pending()?;
        let mut word = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match self.inner.read(&mut word[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(AdbError::Io(e)),
            }
        }
        if got == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(AdbError::Truncated);
        }
        let start = self.pos;
        self.pos += 4;
        let type_size = u32::from_le_bytes(word);
        let (kind, raw_size, header_len) = if type_size >> 30 == 3 {
            let mut rest = [0u8; 12];
            self.inner.read_exact(&mut rest).map_err(truncated)?;
            self.pos += 12;
            let kind = type_size & 0x3fff_ffff;
            let size = u64::from_le_bytes(rest[4..12].try_into().unwrap_or_default());
            (kind, size, 16u64)
        } else {
            (type_size >> 30, u64::from(type_size & 0x3fff_ffff), 4u64)
        };
        let kind = match kind {
            0 => BlockKind::Adb,
            1 => BlockKind::Sig,
            2 => BlockKind::Data,
            other => {
                return Err(AdbError::Malformed(format!(
                    "block at offset {start} has unknown type {other}"
                )));
            }
        };
        if raw_size < header_len {
            return Err(AdbError::Malformed(format!(
                "block at offset {start} is shorter than its header"
            )));
        }
        let len = raw_size - header_len;
        let padded = raw_size
            .checked_add(7)
            .map(|s| s & !7)
            .ok_or_else(|| AdbError::Malformed(format!("block at offset {start} is too large")))?;
        self.pending = padded - header_len;
        Ok(Some(Block {
            kind,
            len,
            offset: self.pos,
        }))
    }

    /// Reads the whole payload of `block` into memory, refusing payloads
    /// over `limit` bytes.
    pub fn read_payload(&mut self, block: &Block, limit: u64) -> Result<Vec<u8>, AdbError> {
        if block.len > limit {
            return Err(AdbError::TooLarge {
                what: block_name(block.kind),
                len: block.len,
                limit,
            });
        }
        let mut out = Vec::new();
        self.payload(block)
            .read_to_end(&mut out)
            .map_err(AdbError::Io)?;
        if (out.len() as u64) < block.len {
            return Err(AdbError::Truncated);
        }
        Ok(out)
    }

    /// A reader over the (unread part of the) payload of the current block.
    pub fn payload(&mut self, block: &Block) -> PayloadReader<'_, R> {
        let padding = self.pending.saturating_sub(block.len);
        let remaining = self.pending - padding;
        PayloadReader {
            owner: self,
            remaining,
        }
    }

    /// The decompressed stream after the last block.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

fn block_name(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::Adb => "ADB block",
        BlockKind::Sig => "signature block",
        BlockKind::Data => "data block",
    }
}

/// Reads the payload of one block.
pub struct PayloadReader<'a, R: Read> {
    owner: &'a mut BlockReader<R>,
    remaining: u64,
}

impl<R: Read> Read for PayloadReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.owner.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "ADB stream ends inside a block",
            ));
        }
        self.remaining -= n as u64;
        self.owner.pending -= n as u64;
        self.owner.pos += n as u64;
        Ok(n)
    }
}

/// Length of a block's header for a payload of `len` bytes.
pub fn header_len(len: u64) -> u64 {
    if len <= 0x3fff_ffff - 4 { 4 } else { 16 }
}

/// Encodes a block header for a payload of `len` bytes.
pub fn encode_header(kind: BlockKind, len: u64) -> Vec<u8> {
    let t = match kind {
        BlockKind::Adb => 0u32,
        BlockKind::Sig => 1,
        BlockKind::Data => 2,
    };
    if len <= 0x3fff_ffff - 4 {
        ((t << 30) + 4 + len as u32).to_le_bytes().to_vec()
    } else {
        let mut h = ((3u32 << 30) + t).to_le_bytes().to_vec();
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&(16 + len).to_le_bytes());
        h
    }
}

/// Zero bytes that pad a block of payload `len` to 8 bytes.
pub fn padding_len(len: u64) -> u64 {
    let raw = header_len(len) + len;
    raw.next_multiple_of(8) - raw
}
