//! The compression wrapper of ADB files on the writing side: `ADB.`
//! streams as they are, `ADBd` (raw deflate, apk-tools' default) and
//! `ADBc` with deflate at a given level.

use std::io::{self, Write};

use flate2::write::DeflateEncoder;

use super::container::Compression;

/// Compresses an ADB stream into `out` with its marker.
pub enum Encoder<W: Write> {
    /// No compression.
    Plain(W),
    /// Raw deflate.
    Deflate(DeflateEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// Writes the marker and starts compressing. zstd is read, not written.
    pub fn new(mut out: W, compression: Compression) -> io::Result<Encoder<W>> {
        let level = match compression {
            Compression::None => return Ok(Encoder::Plain(out)),
            Compression::Deflate => {
                out.write_all(b"ADBd")?;
                9
            }
            Compression::DeflateLevel(l) => {
                out.write_all(&[b'A', b'D', b'B', b'c', 1, l])?;
                if l == 0 { 9 } else { u32::from(l.min(9)) }
            }
            Compression::Zstd(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "writing zstd-compressed ADB files is not supported (use deflate or none)",
                ));
            }
        };
        Ok(Encoder::Deflate(DeflateEncoder::new(
            out,
            flate2::Compression::new(level),
        )))
    }

    /// Ends the stream and returns the output.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Deflate(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Deflate(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Deflate(e) => e.flush(),
        }
    }
}

/// Compresses a whole ADB stream held in memory (an index). Deflate at
/// apk-tools' default level (9) gives the bytes stock zlib gives, which is
/// what apk-tools links: the same index comes out byte for byte. Other
/// levels use the streaming encoder.
pub fn compress_all(stream: &[u8], compression: Compression) -> io::Result<Vec<u8>> {
    let exact = |marker: &[u8]| {
        let mut out = marker.to_vec();
        out.extend_from_slice(&zlib_bitexact_rs::deflate_raw(stream));
        out
    };
    match compression {
        Compression::Deflate => Ok(exact(b"ADBd")),
        Compression::DeflateLevel(0 | 9) => Ok(exact(&[
            b'A',
            b'D',
            b'B',
            b'c',
            1,
            compression_level(compression),
        ])),
        other => {
            let mut enc = Encoder::new(Vec::new(), other)?;
            enc.write_all(stream)?;
            enc.finish()
        }
    }
}

fn compression_level(c: Compression) -> u8 {
    match c {
        Compression::DeflateLevel(l) | Compression::Zstd(l) => l,
        _ => 0,
    }
}

/// Parses apk-tools' `--compression` spelling: `none`, `deflate`,
/// `deflate:LEVEL`.
pub fn parse(spec: &str) -> Option<Compression> {
    match spec.split_once(':') {
        None => match spec {
            "none" => Some(Compression::None),
            "deflate" => Some(Compression::Deflate),
            _ => None,
        },
        Some(("deflate", level)) => level
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= 9)
            .map(Compression::DeflateLevel),
        Some(_) => None,
    }
}
