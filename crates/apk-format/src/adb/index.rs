//! `Packages.adb`: the apk v3 repository index. Reading it into index
//! entries, and writing it exactly as `apk mkndx` does.

use std::io::BufRead;

use super::container::{self, BlockKind, BlockReader, Compression};
use super::pkginfo::{InfoError, V3Info, read_info, write_v2_pkginfo};
use super::schema::{self, index as ndx, pkginfo as pi};
use super::sign::{self, V3Signature};
use super::value::{Adb, Val, tag};
use super::write::{AdbWriter, PKGINFO};
use super::{ADB_LIMIT, AdbError, SIG_LIMIT};
use crate::index::IndexEntry;
use crate::index_archive::IndexLimits;
use crate::package_read::SignatureStatus;
use crate::pkginfo::{PkgInfo, PkgInfoLine};
use crate::record::{FieldLayout, q1_checksum};
use crate::signing::Keyring;

/// A parsed `Packages.adb`.
#[derive(Clone, Debug)]
pub struct V3Index {
    /// The ADB payload.
    pub adb: Adb,
    /// Compression of the file.
    pub compression: Compression,
    /// Signatures.
    pub signatures: Vec<V3Signature>,
    /// `description`.
    pub description: Option<String>,
    /// `pkgname-spec`: where packages are, relative to the repository.
    pub pkgname_spec: Option<String>,
    /// The packages.
    pub packages: Vec<V3Info>,
}

impl V3Index {
    /// Checks the signatures against `keyring`.
    pub fn verify(&self, keyring: &Keyring) -> SignatureStatus {
        sign::verify(&self.signatures, keyring, schema::INDEX, self.adb.bytes())
    }

    /// The values of the package entries, in index order.
    pub fn package_values(&self) -> Result<Vec<Val>, AdbError> {
        Ok(self.adb.root_obj()?.obj(ndx::PACKAGES)?.items().collect())
    }

    /// The packages as index entries; `C:` is the identity (`Q1` + SHA-1
    /// for v2 packages, `Q2` + SHA-256 for v3 packages).
    pub fn entries(&self) -> Vec<IndexEntry> {
        self.packages
            .iter()
            .map(|p| {
                let mut package = p.record.clone();
                package.checksum = identity_checksum(&p.hashes);
                IndexEntry {
                    package,
                    layout: FieldLayout::default(),
                }
            })
            .collect()
    }
}

/// The textual checksum of an index identity: `Q1` + base64 for 20 bytes
/// (SHA-1), `Q2` + base64 for 32 bytes (SHA-256), as apk-tools writes them.
pub fn identity_checksum(hashes: &[u8]) -> Option<String> {
    use base64::Engine as _;
    match hashes.len() {
        20 => Some(q1_checksum(hashes)),
        32 => {
            let mut s = String::from("Q2");
            base64::engine::general_purpose::STANDARD.encode_string(hashes, &mut s);
            Some(s)
        }
        _ => None,
    }
}

/// Decodes a `Q1` or `Q2` checksum into its bytes.
pub fn decode_checksum(sum: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let (want, b64) = if let Some(b) = sum.strip_prefix("Q1") {
        (20, b)
    } else {
        (32, sum.strip_prefix("Q2")?)
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (bytes.len() == want).then_some(bytes)
}

/// Reads a `Packages.adb` (any compression). Signatures are collected, not
/// checked: see [`V3Index::verify`]. The process's index limits apply
/// ([`IndexLimits::current`]): the ADB block may not be larger than
/// `max_bytes` (nor [`ADB_LIMIT`]) and may not hold more than `max_entries`
/// packages.
pub fn read_index<R: BufRead>(reader: R) -> Result<V3Index, AdbError> {
    read_index_within(reader, IndexLimits::current())
}

/// [`read_index`] with these limits.
pub fn read_index_within<R: BufRead>(reader: R, limits: IndexLimits) -> Result<V3Index, AdbError> {
    let (stream, compression) = container::decompress(reader)?;
    let mut blocks = BlockReader::new(stream, schema::INDEX)?;
    let first = blocks
        .next_block()?
        .ok_or(AdbError::Malformed("no ADB block".into()))?;
    if first.kind != BlockKind::Adb {
        return Err(AdbError::Malformed(
            "the first block is not an ADB block".into(),
        ));
    }
    let adb = Adb::new(blocks.read_payload(&first, ADB_LIMIT.min(limits.max_bytes))?)?;
    let mut signatures = Vec::new();
    while let Some(b) = blocks.next_block()? {
        match b.kind {
            BlockKind::Sig => {
                if let Some(sig) = V3Signature::parse(&blocks.read_payload(&b, SIG_LIMIT)?) {
                    signatures.push(sig);
                }
            }
            BlockKind::Adb => return Err(AdbError::Malformed("a second ADB block".into())),
            BlockKind::Data => {
                return Err(AdbError::Malformed("an index has a data block".into()));
            }
        }
    }
    let root = adb.root_obj()?;
    let description = root
        .text(ndx::DESCRIPTION, "description")?
        .map(str::to_string);
    let pkgname_spec = root
        .text(ndx::PKGNAME_SPEC, "pkgname-spec")?
        .map(str::to_string);
    let pkgs = root.obj(ndx::PACKAGES)?;
    let count = u64::from(pkgs.len());
    if count > limits.max_entries {
        return Err(AdbError::TooManyPackages {
            count,
            limit: limits.max_entries,
        });
    }
    let mut packages = Vec::with_capacity(pkgs.len() as usize);
    for (i, v) in pkgs.items().enumerate() {
        let info = read_info(&pkgs.view().obj(v)?).map_err(|e| match e {
            AdbError::Malformed(m) => AdbError::Malformed(format!("package {}: {m}", i + 1)),
            e => e,
        })?;
        packages.push(info);
    }
    Ok(V3Index {
        adb,
        compression,
        signatures,
        description,
        pkgname_spec,
        packages,
    })
}

/// Builds a `Packages.adb` payload with the same writes, in the same order,
/// as `apk mkndx`, so the bytes come out identical.
#[derive(Debug, Default)]
pub struct IndexWriter {
    w: AdbWriter,
    packages: Vec<Val>,
}

/// Error adding a package to an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexWriteError {
    /// The package's ADB block is malformed.
    #[error(transparent)]
    Adb(#[from] AdbError),
    /// A `.PKGINFO` field apk-tools 3 refuses.
    #[error(".PKGINFO: {0}")]
    Info(#[from] InfoError),
}

impl IndexWriter {
    /// An empty index.
    pub fn new() -> IndexWriter {
        IndexWriter::default()
    }

    /// Adds a v3 package from its ADB payload: its package info is copied,
    /// with `file-size` and the identity (SHA-256 of the payload).
    pub fn add_v3(&mut self, package_adb: &Adb, file_size: u64) -> Result<(), IndexWriteError> {
        use sha2::{Digest, Sha256};
        let src = package_adb.view();
        let info = package_adb.root_obj()?.obj(super::schema::package::INFO)?;
        let mut slots = vec![Val::NULL; pi::MAX as usize];
        for i in 1..info.num_slots().min(pi::MAX) {
            slots[i as usize] = self.w.copy(src, info.val(i))?;
        }
        slots[pi::FILE_SIZE as usize] = self.w.int(file_size);
        let identity = Sha256::digest(package_adb.bytes());
        slots[pi::HASHES as usize] = self.w.blob(&identity);
        self.packages.push(self.w.slots(&slots, tag::OBJECT));
        Ok(())
    }

    /// Adds a package entry of another index unchanged (`apk mkndx
    /// --index OLD` reuses entries of packages that did not change).
    pub fn add_copy(&mut self, index: &V3Index, item: Val) -> Result<(), IndexWriteError> {
        let v = self.w.copy(index.adb.view(), item)?;
        self.packages.push(v);
        Ok(())
    }

    /// Adds a v2 package from its `.PKGINFO`, the SHA-1 of its control
    /// section (its identity) and its file size.
    pub fn add_v2(
        &mut self,
        pkginfo: &PkgInfo,
        control_sha1: &[u8; 20],
        file_size: u64,
    ) -> Result<(), IndexWriteError> {
        let fields = pkginfo.lines.iter().filter_map(|l| match l {
            PkgInfoLine::Field { key, value } => Some((key.as_str(), value.as_str())),
            _ => None,
        });
        let mut slots = write_v2_pkginfo(&mut self.w, fields)?;
        slots[pi::FILE_SIZE as usize] = self.w.int(file_size);
        slots[pi::HASHES as usize] = self.w.blob(control_sha1);
        self.packages.push(self.w.slots(&slots, tag::OBJECT));
        Ok(())
    }

    /// Number of packages added.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// True when no package was added.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// Finishes the payload: description, pkgname-spec, the packages sorted.
    pub fn finish(mut self, description: Option<&str>, pkgname_spec: Option<&str>) -> Adb {
        let desc = self.w.blob(description.unwrap_or_default().as_bytes());
        let spec = match pkgname_spec {
            Some(s) => self.w.blob(s.as_bytes()),
            None => Val::NULL,
        };
        let mut items = std::mem::take(&mut self.packages);
        self.w.sort_items(&mut items, &PKGINFO, false);
        // `apk mkndx` stores the package array with the object tag.
        let pkgs = self.w.array(&items, tag::OBJECT);
        let root = self.w.object(&[desc, pkgs, spec]);
        self.w.finish(root)
    }
}

/// Writes an ADB file: compression marker, `ADB.` header, the ADB block
/// and one SIG block per signature.
pub fn write_adb_file<W: std::io::Write>(
    out: &mut W,
    schema_id: u32,
    adb: &Adb,
    signatures: &[V3Signature],
) -> std::io::Result<()> {
    out.write_all(&container::MAGIC.to_le_bytes())?;
    out.write_all(&schema_id.to_le_bytes())?;
    write_block(out, BlockKind::Adb, adb.bytes())?;
    for s in signatures {
        write_block(out, BlockKind::Sig, &s.to_bytes())?;
    }
    Ok(())
}

/// Writes one block with its header and padding.
pub fn write_block<W: std::io::Write>(
    out: &mut W,
    kind: BlockKind,
    payload: &[u8],
) -> std::io::Result<()> {
    let len = payload.len() as u64;
    out.write_all(&container::encode_header(kind, len))?;
    out.write_all(payload)?;
    out.write_all(&[0u8; 8][..container::padding_len(len) as usize])
}
