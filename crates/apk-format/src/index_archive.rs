//! `APKINDEX.tar.gz`: an optional signature gzip member followed by one
//! member holding the `DESCRIPTION` and `APKINDEX` files. The signature
//! covers every byte after the first member.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::Compression;
use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

use crate::index::{IndexEntry, IndexError, parse_index, write_index};
use crate::index_text::IndexText;
use crate::package_read::{SignatureStatus, verify_signatures};
use crate::package_write::{gzip_encoder, signature_member};
use crate::signing::{KeyError, Keyring, Signature, SignatureAlgorithm, SigningKey};
use crate::stream::{HashingBufReader, LimitedReader, RangeDigest};
use crate::tar_write::{TarHeader, TarKind, TarWriter};

/// Default of [`IndexLimits::max_bytes`] (the 17k-entry Alpine community
/// index is about 10 MiB).
pub const INDEX_LIMIT: u64 = 256 << 20;

/// Default of [`IndexLimits::max_entries`].
pub const INDEX_ENTRY_LIMIT: u64 = 500_000;

/// Bounds on what reading one index archive may take, enforced while it is
/// decompressed: nothing past them is buffered or parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexLimits {
    /// Decompressed bytes of all members together.
    pub max_bytes: u64,
    /// Package records of the APKINDEX.
    pub max_entries: u64,
}

impl Default for IndexLimits {
    fn default() -> Self {
        IndexLimits {
            max_bytes: INDEX_LIMIT,
            max_entries: INDEX_ENTRY_LIMIT,
        }
    }
}

static MAX_BYTES: AtomicU64 = AtomicU64::new(INDEX_LIMIT);
static MAX_ENTRIES: AtomicU64 = AtomicU64::new(INDEX_ENTRY_LIMIT);

impl IndexLimits {
    /// The limits every index read of this process applies.
    pub fn current() -> IndexLimits {
        IndexLimits {
            max_bytes: MAX_BYTES.load(Ordering::Relaxed),
            max_entries: MAX_ENTRIES.load(Ordering::Relaxed),
        }
    }

    /// Sets the limits for every later index read of this process (the
    /// binary does so once, from its configuration).
    pub fn set_current(self) {
        MAX_BYTES.store(self.max_bytes, Ordering::Relaxed);
        MAX_ENTRIES.store(self.max_entries, Ordering::Relaxed);
    }
}

/// Error reading an index archive.
#[derive(Debug, thiserror::Error)]
pub enum IndexArchiveError {
    /// Gzip or tar error.
    #[error("corrupt index archive: {0}")]
    Corrupt(#[source] io::Error),
    /// No `APKINDEX` file inside.
    #[error("index archive has no APKINDEX file")]
    NoIndex,
    /// The APKINDEX text is not UTF-8.
    #[error("APKINDEX is not valid UTF-8")]
    NotUtf8,
    /// The APKINDEX text is malformed.
    #[error("APKINDEX {0}")]
    Index(#[from] IndexError),
    /// The decompressed index is larger than [`IndexLimits::max_bytes`].
    #[error(
        "index expands past {0} bytes, the limit for indexes (a decompression bomb, or set a higher limit)"
    )]
    TooLarge(u64),
    /// The APKINDEX has more records than [`IndexLimits::max_entries`].
    #[error("APKINDEX has more than {0} entries, the limit for indexes")]
    TooManyEntries(u64),
    /// The signature member of a signed archive is malformed.
    #[error("signature section holds something other than .SIGN.* entries")]
    BadSignatureSection,
}

/// A read index archive.
#[derive(Debug, Clone)]
pub struct IndexArchive {
    /// Signatures from the first member (empty when unsigned).
    pub signatures: Vec<Signature>,
    /// Digest of the signed bytes (everything after the signature member).
    pub signed_digest: RangeDigest,
    /// `DESCRIPTION` content.
    pub description: Option<String>,
    /// Package entries.
    pub entries: Vec<IndexEntry>,
}

impl IndexArchive {
    /// Checks the signature against `keyring`.
    pub fn verify(&self, keyring: &Keyring) -> SignatureStatus {
        verify_signatures(&self.signatures, keyring, &self.signed_digest)
    }
}

struct Member {
    signatures: Vec<Signature>,
    files: Vec<(String, Vec<u8>)>,
}

/// What one archive read may still take.
struct Budget {
    limits: IndexLimits,
    bytes_left: u64,
    entries: RecordCounter,
}

impl Budget {
    fn new() -> Budget {
        let limits = IndexLimits::current();
        Budget {
            limits,
            bytes_left: limits.max_bytes,
            entries: RecordCounter::default(),
        }
    }

    fn error(&self, e: io::Error) -> IndexArchiveError {
        if crate::stream::is_limit_exceeded(&e) {
            IndexArchiveError::TooLarge(self.limits.max_bytes)
        } else {
            IndexArchiveError::Corrupt(e)
        }
    }
}

/// Counts APKINDEX records (blocks of lines between blank lines) in text
/// fed in pieces.
#[derive(Default)]
struct RecordCounter {
    records: u64,
    /// The last byte fed was a line break (or nothing was fed yet).
    after_break: bool,
    /// A record has started since the last blank line.
    in_record: bool,
}

impl RecordCounter {
    fn feed(&mut self, text: &[u8]) {
        for &b in text {
            if b == b'\n' {
                if self.after_break {
                    self.in_record = false;
                }
                self.after_break = true;
            } else {
                if !self.in_record {
                    self.records += 1;
                    self.in_record = true;
                }
                self.after_break = false;
            }
        }
    }
}

/// Reads `entry` into memory in pieces (the header's size is untrusted),
/// counting records when it is the APKINDEX.
fn read_content<R: Read>(
    entry: &mut R,
    size_hint: u64,
    is_index: bool,
    budget: &mut Budget,
) -> Result<Vec<u8>, IndexArchiveError> {
    // One allocation for an honest header; a lying one reserves no more
    // than the budget (and only what is written to becomes resident).
    let hint = size_hint.min(budget.bytes_left);
    let mut content = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    let mut piece = vec![0u8; 64 * 1024];
    loop {
        let n = match entry.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(budget.error(e)),
        };
        if is_index {
            budget.entries.feed(&piece[..n]);
            if budget.entries.records > budget.limits.max_entries {
                return Err(IndexArchiveError::TooManyEntries(budget.limits.max_entries));
            }
        }
        content.extend_from_slice(&piece[..n]);
    }
    Ok(content)
}

fn read_member<R: BufRead>(src: &mut R, budget: &mut Budget) -> Result<Member, IndexArchiveError> {
    let decoder = LimitedReader::new(GzDecoder::new(src), budget.bytes_left, "index");
    let mut archive = tar::Archive::new(decoder);
    let mut member = Member {
        signatures: Vec::new(),
        files: Vec::new(),
    };
    let entries = archive.entries().map_err(|e| budget.error(e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| budget.error(e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.size();
        let content = read_content(&mut entry, size, name == "APKINDEX", budget)?;
        match SignatureAlgorithm::from_entry_name(&name) {
            Some((algorithm, key)) => member.signatures.push(Signature {
                algorithm,
                key_name: key.to_string(),
                bytes: content,
            }),
            None if name.starts_with(".SIGN.") => {}
            None => member.files.push((name, content)),
        }
    }
    let mut decoder = archive.into_inner();
    io::copy(&mut decoder, &mut io::sink()).map_err(|e| budget.error(e))?;
    budget.bytes_left = decoder.remaining();
    Ok(member)
}

/// An index archive whose APKINDEX is kept as checked text (see
/// [`IndexText`]): what resolution reads.
#[derive(Debug, Clone)]
pub struct IndexArchiveText {
    /// Signatures from the first member (empty when unsigned).
    pub signatures: Vec<Signature>,
    /// Digest of the signed bytes (everything after the signature member).
    pub signed_digest: RangeDigest,
    /// `DESCRIPTION` content.
    pub description: Option<String>,
    /// The packages.
    pub index: IndexText,
}

impl IndexArchiveText {
    /// Checks the signature against `keyring`.
    pub fn verify(&self, keyring: &Keyring) -> SignatureStatus {
        verify_signatures(&self.signatures, keyring, &self.signed_digest)
    }
}

/// Reads (and parses) an index archive.
pub fn read_index_archive<R: BufRead>(reader: R) -> Result<IndexArchive, IndexArchiveError> {
    let parts = read_parts(reader)?;
    let text = std::str::from_utf8(&parts.text).map_err(|_| IndexArchiveError::NotUtf8)?;
    let entries = parse_index(text)?;
    Ok(IndexArchive {
        signatures: parts.signatures,
        signed_digest: parts.signed_digest,
        description: parts.description,
        entries,
    })
}

/// Reads an index archive, checking its APKINDEX but parsing records only
/// on demand.
pub fn read_index_archive_text<R: BufRead>(
    reader: R,
) -> Result<IndexArchiveText, IndexArchiveError> {
    let parts = read_parts(reader)?;
    let text = String::from_utf8(parts.text).map_err(|_| IndexArchiveError::NotUtf8)?;
    Ok(IndexArchiveText {
        signatures: parts.signatures,
        signed_digest: parts.signed_digest,
        description: parts.description,
        index: IndexText::parse(text)?,
    })
}

struct Parts {
    signatures: Vec<Signature>,
    signed_digest: RangeDigest,
    description: Option<String>,
    text: Vec<u8>,
}

fn read_parts<R: BufRead>(reader: R) -> Result<Parts, IndexArchiveError> {
    let budget = &mut Budget::new();
    let mut src = HashingBufReader::new(reader);
    src.start(false, false);
    let first = read_member(&mut src, budget)?;
    src.finish();
    let (signatures, files, signed_digest) = if first.files.is_empty() {
        // A signature member: the rest of the stream is what it signs.
        src.start(true, true);
        let mut files = Vec::new();
        while !src.at_eof().map_err(IndexArchiveError::Corrupt)? {
            let m = read_member(&mut src, budget)?;
            if !m.signatures.is_empty() {
                return Err(IndexArchiveError::BadSignatureSection);
            }
            files.extend(m.files);
        }
        (first.signatures, files, src.finish())
    } else {
        // Unsigned (signature entries mixed into the index tar are not a
        // detached signature and cannot be checked).
        let mut files = first.files;
        while !src.at_eof().map_err(IndexArchiveError::Corrupt)? {
            files.extend(read_member(&mut src, budget)?.files);
        }
        (
            Vec::new(),
            files,
            RangeDigest {
                sha1: None,
                sha256: None,
                len: 0,
            },
        )
    };
    let mut description = None;
    let mut index_text = None;
    for (name, content) in files {
        match name.as_str() {
            "DESCRIPTION" => description = Some(String::from_utf8_lossy(&content).into_owned()),
            "APKINDEX" => index_text = Some(content),
            _ => {}
        }
    }
    Ok(Parts {
        signatures,
        signed_digest,
        description,
        text: index_text.ok_or(IndexArchiveError::NoIndex)?,
    })
}

/// Writes an unsigned index archive (`DESCRIPTION` then `APKINDEX`, tar
/// closed, one gzip member), deterministic for the same entries.
pub fn write_index_archive(description: &str, entries: &[IndexEntry]) -> io::Result<Vec<u8>> {
    let mut tar = TarWriter::new(gzip_encoder(Vec::new(), Compression::new(6)));
    let index = write_index(entries);
    for (name, content) in [
        ("DESCRIPTION", description.as_bytes()),
        ("APKINDEX", index.as_bytes()),
    ] {
        let mut h = TarHeader::new(name, TarKind::File, 0o644);
        h.uname = "root".into();
        h.gname = "root".into();
        h.size = content.len() as u64;
        tar.append(&h, &mut &content[..])?;
    }
    tar.finish()?;
    tar.into_inner().finish()
}

/// Error signing an index.
#[derive(Debug, thiserror::Error)]
pub enum SignIndexError {
    /// The archive is not an index archive.
    #[error(transparent)]
    Read(#[from] IndexArchiveError),
    /// Signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Building the signature member failed.
    #[error("writing signature: {0}")]
    Write(#[source] io::Error),
}

/// Signs an index archive with SHA-256, replacing any existing signature.
pub fn sign_index_archive(archive: &[u8], key: &SigningKey) -> Result<Vec<u8>, SignIndexError> {
    let unsigned = strip_signature(archive)?;
    let digest = Sha256::digest(unsigned);
    let sig = key.sign_sha256_digest(&digest)?;
    let mut out = signature_member(sig.algorithm.entry_prefix(), &sig.key_name, &sig.bytes, 0)
        .map_err(SignIndexError::Write)?;
    out.extend_from_slice(unsigned);
    Ok(out)
}

/// The bytes of an index archive after its signature member (all of it when
/// unsigned).
pub fn strip_signature(archive: &[u8]) -> Result<&[u8], IndexArchiveError> {
    let mut src = HashingBufReader::new(archive);
    src.start(false, false);
    let first = read_member(&mut src, &mut Budget::new())?;
    let len = src.finish().len as usize;
    if first.files.is_empty() && !first.signatures.is_empty() {
        Ok(&archive[len..])
    } else {
        Ok(archive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_across_pieces() {
        let text = b"C:a\nP:one\n\nC:b\nP:two\n\n\nP:three\n";
        for split in 0..text.len() {
            let mut c = RecordCounter::default();
            c.feed(&text[..split]);
            c.feed(&text[split..]);
            assert_eq!(c.records, 3, "split at {split}");
        }
        let mut c = RecordCounter::default();
        c.feed(b"\n\n\n");
        assert_eq!(c.records, 0);
    }
}
