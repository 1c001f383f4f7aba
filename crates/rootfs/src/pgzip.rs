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

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Size of each independently compressed chunk.
pub const CHUNK: usize = 1 << 20;

/// A chunk to compress: its place in the stream and its bytes.
type Job = (u64, Vec<u8>);
/// A compressed chunk, by place in the stream, with the chunk's buffer
/// handed back for reuse.
type Done = (u64, io::Result<Vec<u8>>, Vec<u8>);
/// Buffers of written members, for the workers to reuse: fresh memory
/// costs a page fault per page, more than compressing it at level 1.
type Pool = Arc<Mutex<Vec<Vec<u8>>>>;

/// A `Write` that gzips into `inner` using up to `threads` threads.
///
/// Full chunks go to worker threads as they fill, so compression overlaps
/// whatever produces the stream (reading and hashing the tar); members are
/// written to `inner` in stream order as they come back. At most twice
/// `threads` chunks are in flight, which bounds memory.
pub struct ParallelGzip<W: Write> {
    inner: W,
    current: Vec<u8>,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Chunk buffers back from the workers.
    spare: Vec<Vec<u8>>,
    /// Member buffers for the workers.
    pool: Pool,
    /// Compressed chunks that arrived before an earlier one.
    ready: BTreeMap<u64, Vec<u8>>,
    /// Chunks handed out, and the next one to write.
    sent: u64,
    written: u64,
    limit: u64,
}

impl<W: Write> ParallelGzip<W> {
    /// `level` 1 (fast) to 12 (smallest); libdeflate's 6 is the default.
    pub fn new(inner: W, level: u32, threads: usize) -> Self {
        let level = level.clamp(1, 12) as i32;
        let threads = threads.max(1);
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let pool = Pool::default();
        let workers = (0..threads)
            .map(|_| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || worker(&job_rx, &done_tx, &pool, level))
            })
            .collect();
        ParallelGzip {
            inner,
            current: Vec::with_capacity(CHUNK),
            jobs: Some(jobs),
            done,
            workers,
            spare: Vec::new(),
            pool,
            ready: BTreeMap::new(),
            sent: 0,
            written: 0,
            limit: 2 * threads as u64,
        }
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        while self.sent - self.written >= self.limit {
            self.receive_one()?;
        }
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send((self.sent, chunk)).map_err(|_| stopped())?;
        self.sent += 1;
        Ok(())
    }

    /// Waits for one compressed chunk and writes every chunk now in order.
    fn receive_one(&mut self) -> io::Result<()> {
        let (seq, result, mut chunk) = self.done.recv().map_err(|_| stopped())?;
        chunk.clear();
        self.spare.push(chunk);
        self.ready.insert(seq, result?);
        while let Some(member) = self.ready.remove(&self.written) {
            self.inner.write_all(&member)?;
            self.written += 1;
            if let Ok(mut pool) = self.pool.lock() {
                pool.push(member);
            }
        }
        Ok(())
    }

    /// Compresses what is left and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.current.is_empty() || self.sent == 0 {
            let last = std::mem::take(&mut self.current);
            self.send(last)?;
        }
        self.jobs = None;
        while self.written < self.sent {
            self.receive_one()?;
        }
        for w in std::mem::take(&mut self.workers) {
            w.join().map_err(|_| stopped())?;
        }
        self.inner.flush()?;
        let ParallelGzip { inner, .. } = self;
        Ok(inner)
    }
}

fn stopped() -> io::Error {
    io::Error::other("compression thread failed")
}

/// Compresses jobs until the sender is gone, reusing its compressors and
/// the pool's buffers.
fn worker(
    jobs: &Mutex<Receiver<Job>>,
    done: &Sender<Done>,
    pool: &Mutex<Vec<Vec<u8>>>,
    level: i32,
) {
    let mut compressors = Compressors::default();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, chunk)) = job else {
            return;
        };
        let out = pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compressors.gzip(&chunk, level, out)
        }))
        .unwrap_or_else(|_| Err(stopped()));
        if done.send((seq, result, chunk)).is_err() {
            return;
        }
    }
}

/// Samples the probe deflates, and the size of each.
const SAMPLES: usize = 8;
const SAMPLE: usize = 2048;

/// True when deflating `chunk` is worth it: its samples shrink by at least
/// 2 % at level 1. Chunks no bigger than the samples are always deflated.
pub fn worth_deflating(chunk: &[u8]) -> bool {
    Compressors::default().worth_deflating(chunk)
}

/// libdeflate compressors of one thread, made once per level used.
#[derive(Default)]
struct Compressors {
    by_level: Vec<(i32, libdeflater::Compressor)>,
}

impl Compressors {
    fn get(&mut self, level: i32) -> io::Result<&mut libdeflater::Compressor> {
        let i = match self.by_level.iter().position(|(l, _)| *l == level) {
            Some(i) => i,
            None => {
                let lvl = libdeflater::CompressionLvl::new(level).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "bad compression level")
                })?;
                self.by_level
                    .push((level, libdeflater::Compressor::new(lvl)));
                self.by_level.len() - 1
            }
        };
        Ok(&mut self.by_level[i].1)
    }

    fn worth_deflating(&mut self, chunk: &[u8]) -> bool {
        if chunk.len() <= SAMPLES * SAMPLE {
            return true;
        }
        let Ok(c) = self.get(1) else {
            return true;
        };
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

    /// `chunk` as one gzip member, in `out` (reused).
    fn gzip(&mut self, chunk: &[u8], level: i32, mut out: Vec<u8>) -> io::Result<Vec<u8>> {
        let level = if self.worth_deflating(chunk) {
            level
        } else {
            0
        };
        let c = self.get(level)?;
        out.resize(c.gzip_compress_bound(chunk.len()), 0);
        let n = c
            .gzip_compress(chunk, &mut out)
            .map_err(|e| io::Error::other(format!("gzip: {e:?}")))?;
        out.truncate(n);
        Ok(out)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.current.len();
        let n = room.min(buf.len());
        self.current.extend_from_slice(&buf[..n]);
        if self.current.len() == CHUNK {
            let next = self
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(CHUNK));
            let full = std::mem::replace(&mut self.current, next);
            self.send(full)?;
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
