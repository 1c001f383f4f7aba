//! Parallel, deterministic gzip: the stream is cut into fixed 1 MiB chunks,
//! each compressed on its own (libdeflate) into a separate gzip member, and
//! the members are written in order. Concatenated members are one valid
//! gzip stream (RFC 1952 §2.2) that container tools read as usual; the
//! output depends only on the input and the level, never on thread count.
//!
//! A chunk that does not compress (already compressed or random data) is
//! stored rather than deflated: a cheap probe deflates a few small samples
//! at fixed offsets at the fastest level, and when they do not shrink the
//! chunk is written as stored deflate blocks, which costs a copy and a
//! CRC. The decision depends only on the chunk's bytes, so the output stays
//! deterministic.

use std::io::{self, Write};

/// Size of each independently compressed chunk.
pub const CHUNK: usize = 1 << 20;

/// A `Write` that gzips into `inner` using up to `threads` threads.
pub struct ParallelGzip<W: Write> {
    inner: W,
    level: i32,
    threads: usize,
    pending: Vec<Vec<u8>>,
    current: Vec<u8>,
}

impl<W: Write> ParallelGzip<W> {
    /// `level` 1 (fast) to 12 (smallest); libdeflate's 6 is the default.
    pub fn new(inner: W, level: u32, threads: usize) -> Self {
        ParallelGzip {
            inner,
            level: level.clamp(1, 12) as i32,
            threads: threads.max(1),
            pending: Vec::new(),
            current: Vec::with_capacity(CHUNK),
        }
    }

    fn compress_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let level = self.level;
        let chunks = std::mem::take(&mut self.pending);
        let per_thread = chunks.len().div_ceil(self.threads);
        let results: Vec<io::Result<Vec<u8>>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .chunks(per_thread)
                .map(|group| {
                    s.spawn(move || {
                        group
                            .iter()
                            .map(|c| gzip_chunk(c, level))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(io::Error::other("compression thread failed"))]
                    })
                })
                .collect()
        });
        for r in results {
            self.inner.write_all(&r?)?;
        }
        Ok(())
    }

    /// Compresses what is left and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.current.is_empty() || self.pending.is_empty() {
            let last = std::mem::take(&mut self.current);
            self.pending.push(last);
        }
        self.compress_pending()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// Samples the probe deflates, and the size of each.
const SAMPLES: usize = 8;
const SAMPLE: usize = 2048;

/// True when deflating `chunk` is worth it: its samples shrink by at least
/// 2 % at level 1. Chunks no bigger than the samples are always deflated.
pub fn worth_deflating(chunk: &[u8]) -> bool {
    if chunk.len() <= SAMPLES * SAMPLE {
        return true;
    }
    let Ok(lvl) = libdeflater::CompressionLvl::new(1) else {
        return true;
    };
    let mut c = libdeflater::Compressor::new(lvl);
    let mut out = vec![0u8; c.deflate_compress_bound(SAMPLE)];
    let step = (chunk.len() - SAMPLE) / (SAMPLES - 1);
    let mut packed = 0;
    for i in 0..SAMPLES {
        let at = i * step;
        packed += c
            .deflate_compress(&chunk[at..at + SAMPLE], &mut out)
            .unwrap_or(SAMPLE);
    }
    packed * 100 < SAMPLES * SAMPLE * 98
}

fn gzip_chunk(chunk: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let level = if worth_deflating(chunk) { level } else { 0 };
    let lvl = libdeflater::CompressionLvl::new(level)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad compression level"))?;
    let mut c = libdeflater::Compressor::new(lvl);
    let mut out = vec![0u8; c.gzip_compress_bound(chunk.len())];
    let n = c
        .gzip_compress(chunk, &mut out)
        .map_err(|e| io::Error::other(format!("gzip: {e:?}")))?;
    out.truncate(n);
    Ok(out)
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.current.len();
        let n = room.min(buf.len());
        self.current.extend_from_slice(&buf[..n]);
        if self.current.len() == CHUNK {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(CHUNK));
            self.pending.push(full);
            if self.pending.len() >= self.threads * 2 {
                self.compress_pending()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips_and_is_thread_independent() {
        let data: Vec<u8> = (0..3 * CHUNK + 12345)
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect();
        let mut outs = Vec::new();
        for threads in [1, 2, 3] {
            let mut w = ParallelGzip::new(Vec::new(), 6, threads);
            w.write_all(&data).unwrap();
            outs.push(w.finish().unwrap());
        }
        assert_eq!(outs[0], outs[1]);
        assert_eq!(outs[0], outs[2]);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&outs[0][..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let empty = ParallelGzip::new(Vec::new(), 6, 2).finish().unwrap();
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    /// Random data is stored (a few bytes of framing per 64 KiB block),
    /// text next to it in the same stream is still deflated, and the
    /// result reads back.
    #[test]
    fn incompressible_chunks_are_stored() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let random: Vec<u8> = (0..2 * CHUNK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let text: Vec<u8> = b"usr/share/doc/readme: some words repeat\n"
            .iter()
            .copied()
            .cycle()
            .take(CHUNK)
            .collect();
        assert!(!worth_deflating(&random[..CHUNK]));
        assert!(worth_deflating(&text));
        assert!(worth_deflating(&random[..SAMPLE]));
        let mut data = random.clone();
        data.extend_from_slice(&text);
        let mut w = ParallelGzip::new(Vec::new(), 6, 2);
        w.write_all(&data).unwrap();
        let out = w.finish().unwrap();
        // Two stored members (random) plus one small deflated one (text).
        assert!(
            out.len() < 2 * CHUNK + 2 * 200 + CHUNK / 50,
            "{}",
            out.len()
        );
        assert!(out.len() > 2 * CHUNK);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
