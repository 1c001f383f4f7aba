//! Stream helpers: hashing every consumed byte of a gzip member, and bounded
//! reads against decompression bombs.

use std::io::{self, BufRead, Read};

use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Digests of one consumed byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeDigest {
    /// SHA-1 (present when requested).
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 (present when requested).
    pub sha256: Option<[u8; 32]>,
    /// Bytes consumed.
    pub len: u64,
}

/// A `BufRead` that hashes the bytes its consumer consumes, so the raw
/// (compressed) bytes of each gzip member are digested in the same pass that
/// decompresses them.
pub struct HashingBufReader<R> {
    inner: R,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
    len: u64,
}

impl<R: BufRead> HashingBufReader<R> {
    /// Wraps `inner`; nothing is hashed until [`Self::start`].
    pub fn new(inner: R) -> Self {
        HashingBufReader {
            inner,
            sha1: None,
            sha256: None,
            len: 0,
        }
    }

    /// Starts a new range, hashing with the chosen digests.
    pub fn start(&mut self, sha1: bool, sha256: bool) {
        self.sha1 = sha1.then(Sha1::new);
        self.sha256 = sha256.then(Sha256::new);
        self.len = 0;
    }

    /// Starts a new range whose SHA-1 continues `sha1` (a digest carried
    /// over from the previous range) and hashes SHA-256 afresh if asked.
    pub fn start_continuing(&mut self, sha1: Option<Sha1>, sha256: bool) {
        self.sha1 = sha1;
        self.sha256 = sha256.then(Sha256::new);
        self.len = 0;
    }

    /// The SHA-1 state of the current range so far (when hashing SHA-1).
    pub fn sha1_state(&self) -> Option<Sha1> {
        self.sha1.clone()
    }

    /// Ends the current range and returns its digests.
    pub fn finish(&mut self) -> RangeDigest {
        RangeDigest {
            sha1: self.sha1.take().map(|h| h.finalize().into()),
            sha256: self.sha256.take().map(|h| h.finalize().into()),
            len: std::mem::take(&mut self.len),
        }
    }

    /// True when no bytes are left.
    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(self.inner.fill_buf()?.is_empty())
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: BufRead> Read for HashingBufReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingBufReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if amt == 0 {
            return;
        }
        // The buffer is already filled, so this performs no I/O.
        if let Ok(buf) = self.inner.fill_buf() {
            let chunk = &buf[..amt.min(buf.len())];
            if let Some(h) = self.sha1.as_mut() {
                h.update(chunk);
            }
            if let Some(h) = self.sha256.as_mut() {
                h.update(chunk);
            }
        }
        self.len += amt as u64;
        self.inner.consume(amt);
    }
}

/// A reader that fails once more than `limit` bytes have been read.
pub struct LimitedReader<R> {
    inner: R,
    remaining: u64,
    what: &'static str,
}

impl<R> LimitedReader<R> {
    /// Limits `inner` to `limit` bytes; `what` names the stream in the error.
    pub fn new(inner: R, limit: u64, what: &'static str) -> Self {
        LimitedReader {
            inner,
            remaining: limit,
            what,
        }
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes that may still be read.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

/// The error a [`LimitedReader`] fails with; see [`is_limit_exceeded`].
#[derive(Debug, thiserror::Error)]
#[error("{0} is larger than the allowed size")]
pub struct LimitExceeded(pub &'static str);

/// True when `e` (or an error it wraps, as tar and gzip readers wrap their
/// input's errors) is a [`LimitExceeded`].
pub fn is_limit_exceeded(e: &io::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|i| i as _);
    while let Some(err) = cur {
        if err.is::<LimitExceeded>() {
            return true;
        }
        cur = match err.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|i| i as _),
            None => err.source(),
        };
    }
    false
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Only an error if there is more data.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LimitExceeded(self.what),
                )),
            };
        }
        let max = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// A reader that computes the SHA-1 of everything read through it.
pub struct Sha1Reader<R> {
    inner: R,
    hasher: Sha1,
}

impl<R: Read> Sha1Reader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Sha1Reader {
            inner,
            hasher: Sha1::new(),
        }
    }

    /// Reads to the end and returns the digest.
    pub fn finish(mut self) -> io::Result<[u8; 20]> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(self.hasher.finalize().into())
    }
}

impl<R: Read> Read for Sha1Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// SHA-1 of a byte slice.
pub fn sha1(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

/// SHA-256 of a byte slice.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
