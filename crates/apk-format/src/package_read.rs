//! Streaming reader for apk v2 packages: an optional signature gzip member,
//! the control member (`.PKGINFO` and scripts) and the data member, read in
//! one pass with every check apk-tools makes.

use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;
use sha1::Sha1;

use crate::pkginfo::{PkgInfo, PkgInfoError};
use crate::record::{PackageRecord, q1_checksum};
use crate::signing::{Keyring, Signature, SignatureAlgorithm};
use crate::stream::{HashingBufReader, LimitedReader, RangeDigest, Sha1Reader};

/// Largest decompressed signature or control member accepted.
pub const CONTROL_LIMIT: u64 = 64 << 20;

/// Room for tar headers, padding and PAX records beyond a data section's
/// content, allowed whatever the declared size (about 30,000 small files).
pub const DATA_SLACK: u64 = 64 << 20;

/// Largest decompressed data section accepted for a package whose
/// `.PKGINFO` declares `installed_size` bytes: twice the declared size (its
/// headers and padding, and sizes counted in disk blocks by some builders)
/// plus [`DATA_SLACK`]. A data section that expands past it (a gzip bomb)
/// is refused while it is being decompressed.
pub fn data_limit(installed_size: u64) -> u64 {
    installed_size.saturating_mul(2).saturating_add(DATA_SLACK)
}

/// Error reading a package.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The stream ended before a control member.
    #[error("not an apk package: no control section (file empty or truncated)")]
    NoControl,
    /// I/O or gzip/tar error in one section.
    #[error("{section} section: {source}")]
    Section {
        /// `signature`, `control` or `data`.
        section: &'static str,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The control section has no `.PKGINFO`.
    #[error("control section has no .PKGINFO")]
    NoPkgInfo,
    /// `.PKGINFO` is malformed.
    #[error(transparent)]
    PkgInfo(#[from] PkgInfoError),
    /// Bytes after the data section.
    #[error("unexpected data after the data section")]
    TrailingData,
    /// The data section expands past what `.PKGINFO`'s size allows.
    #[error(
        "data section expands past {limit} bytes, the limit for the {declared} bytes .PKGINFO declares (a decompression bomb?)"
    )]
    DataTooLarge {
        /// `size` from `.PKGINFO`.
        declared: u64,
        /// The limit derived from it ([`data_limit`]).
        limit: u64,
    },
    /// `.PKGINFO` names the package in a way that is unsafe to use.
    #[error(".PKGINFO: {0}")]
    InvalidName(#[from] crate::names::NameError),
}

fn section(section: &'static str) -> impl Fn(io::Error) -> PackageError {
    move |source| PackageError::Section { section, source }
}

/// Errors of the data section: [`PackageError::DataTooLarge`] when its
/// limit was hit (wherever in the error chain), else a section error.
fn data_section(declared: u64, limit: u64) -> impl Fn(io::Error) -> PackageError {
    move |source| {
        if crate::stream::is_limit_exceeded(&source) {
            PackageError::DataTooLarge { declared, limit }
        } else {
            PackageError::Section {
                section: "data",
                source,
            }
        }
    }
}

/// A control-section file other than `.PKGINFO` (scripts, `.melange.yaml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlFile {
    /// Entry name, e.g. `.post-install`.
    pub name: String,
    /// Permission bits.
    pub mode: u32,
    /// Content.
    pub content: Vec<u8>,
}

/// Kind of a data entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Directory.
    Directory,
    /// Symbolic link to `target`.
    Symlink(String),
    /// Hard link to another path of the package.
    Hardlink(String),
    /// Character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Named pipe.
    Fifo,
}

/// One entry of the data section, as the tar header describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataEntry {
    /// Path as stored (relative, no leading `./` stripped).
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Owner user name.
    pub uname: String,
    /// Owner group name.
    pub gname: String,
    /// Modification time.
    pub mtime: u64,
    /// Content size (regular files).
    pub size: u64,
    /// `APK-TOOLS.checksum.SHA1` from the PAX header, when present.
    pub sha1: Option<[u8; 20]>,
    /// Extended attributes (`SCHILY.xattr.*`).
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Offset of the content in the uncompressed data tar.
    pub data_offset: u64,
}

/// Result of the signature check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Verified with the named key.
    Valid {
        /// Key that verified.
        key: String,
    },
    /// The package carries no signature.
    Unsigned,
    /// Signed by keys not in the keyring.
    UnknownKey {
        /// Keys the signatures name.
        keys: Vec<String>,
    },
    /// A key was found but the signature does not match.
    Invalid {
        /// Key that was tried.
        key: String,
    },
}

impl SignatureStatus {
    /// True for [`SignatureStatus::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, SignatureStatus::Valid { .. })
    }
}

impl std::fmt::Display for SignatureStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureStatus::Valid { key } => write!(f, "valid (key {key})"),
            SignatureStatus::Unsigned => write!(f, "unsigned"),
            SignatureStatus::UnknownKey { keys } => {
                write!(f, "signed by unknown key {}", keys.join(", "))
            }
            SignatureStatus::Invalid { key } => {
                write!(f, "signature does not match key {key}")
            }
        }
    }
}

/// Digest and sizes of an extracted data section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataDigest {
    /// SHA-256 of the raw data gzip member (`datahash`).
    pub datahash: [u8; 32],
    /// Compressed size.
    pub compressed_len: u64,
    /// Size of the uncompressed tar.
    pub uncompressed_len: u64,
    /// SHA-1 the package's `C:` checksum is made of (see
    /// [`PackageReader::checksum`]): of the control member, or of control
    /// and data members for a package without `datahash`.
    pub identity: [u8; 20],
}

impl DataDigest {
    /// The package's `C:` checksum (`Q1` + base64).
    pub fn checksum(&self) -> String {
        q1_checksum(&self.identity)
    }
}

/// A package's identity, read to its end when it has no `datahash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `C:` checksum as an index carries it.
    pub checksum: String,
    /// SHA-256 of the raw data member: `datahash` as declared, or as
    /// computed for a package without one.
    pub data_sha256: [u8; 32],
}

/// Outcome of reading the data section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataReport {
    /// SHA-256 of the raw data gzip member.
    pub datahash: [u8; 32],
    /// Compressed size of the data member.
    pub compressed_len: u64,
    /// Number of entries.
    pub entries: usize,
    /// Sum of regular file sizes.
    pub content_bytes: u64,
    /// Paths whose content does not match their PAX SHA-1.
    pub checksum_mismatches: Vec<String>,
    /// The package's `C:` checksum (over control and data members for a
    /// package without `datahash`).
    pub checksum: String,
}

/// A package being read: signature and control are parsed on open; the data
/// section is streamed by [`PackageReader::read_data`].
pub struct PackageReader<R: BufRead> {
    src: HashingBufReader<R>,
    /// Signatures in the signature section.
    pub signatures: Vec<Signature>,
    /// The parsed `.PKGINFO`.
    pub pkginfo: PkgInfo,
    /// Metadata from `.PKGINFO`.
    pub record: PackageRecord,
    /// Other control files.
    pub control_files: Vec<ControlFile>,
    /// Digests of the raw control member.
    pub control_digest: RangeDigest,
    /// Size of the signature member (0 when unsigned).
    pub signature_len: u64,
    /// Digests of the raw signature member (when signed).
    pub signature_digest: Option<RangeDigest>,
    /// For a package without `datahash`: the SHA-1 of the control member so
    /// far, to be continued over the data member (apk-tools 2's identity).
    identity_state: Option<Sha1>,
}

enum Member {
    Signature(Vec<Signature>),
    Control(PkgInfo, Vec<ControlFile>),
}

impl<R: BufRead> PackageReader<R> {
    /// Reads the signature and control sections.
    pub fn new(reader: R) -> Result<Self, PackageError> {
        let mut src = HashingBufReader::new(reader);
        let mut signatures = Vec::new();
        let mut signature_len = 0;
        let mut signature_digest = None;
        let mut tries = 0;
        let (pkginfo, control_files, control_digest, state) = loop {
            tries += 1;
            if src.at_eof().map_err(section("control"))? || tries > 2 {
                return Err(PackageError::NoControl);
            }
            src.start(true, true);
            let member = read_control_member(&mut src)?;
            let state = src.sha1_state();
            let digest = src.finish();
            match member {
                Member::Signature(sigs) if tries == 1 => {
                    signatures = sigs;
                    signature_len = digest.len;
                    signature_digest = Some(digest);
                }
                Member::Signature(_) => return Err(PackageError::NoPkgInfo),
                Member::Control(p, files) => break (p, files, digest, state),
            }
        };
        let record = pkginfo.to_record()?;
        crate::names::check_name(&record.name)?;
        crate::names::check_version(&record.version)?;
        if !record.arch.is_empty() {
            crate::names::check_arch(&record.arch)?;
        }
        let identity_state = if record.datahash.is_none() {
            state
        } else {
            None
        };
        Ok(PackageReader {
            src,
            signatures,
            pkginfo,
            record,
            control_files,
            control_digest,
            signature_len,
            signature_digest,
            identity_state,
        })
    }

    /// `Q1` + base64 SHA-1 of the control member alone.
    pub fn control_checksum(&self) -> String {
        q1_checksum(&self.control_digest.sha1.unwrap_or_default())
    }

    /// The `C:` checksum, when it is known without reading the data: for a
    /// package with `datahash`, the SHA-1 of the control member (which
    /// vouches for the data through `datahash`). A package without one is
    /// identified, as apk-tools 2 does, by the SHA-1 of its control and data
    /// members together: `None` here; see [`Self::identity`], or the
    /// checksum the data readers return.
    pub fn checksum(&self) -> Option<String> {
        self.record
            .datahash
            .is_some()
            .then(|| self.control_checksum())
    }

    /// The `C:` checksum and the data member's SHA-256, reading the raw data
    /// (without decompressing it) only for a package without `datahash`.
    pub fn identity(mut self) -> Result<Identity, PackageError> {
        let Some(state) = self.identity_state.take() else {
            let mut data_sha256 = [0u8; 32];
            if let Some(h) = &self.record.datahash {
                let _ = hex::decode_to_slice(h, &mut data_sha256);
            }
            return Ok(Identity {
                checksum: self.control_checksum(),
                data_sha256,
            });
        };
        self.src.start_continuing(Some(state), true);
        io::copy(&mut self.src, &mut io::sink()).map_err(section("data"))?;
        let digest = self.src.finish();
        Ok(Identity {
            checksum: q1_checksum(&digest.sha1.unwrap_or_default()),
            data_sha256: digest.sha256.unwrap_or_default(),
        })
    }

    /// Starts hashing the data member: SHA-256 for `datahash`, and the
    /// identity's SHA-1 continued when the package has no `datahash`.
    fn start_data(&mut self) {
        let state = self.identity_state.take();
        self.src.start_continuing(state, true);
    }

    /// The identity SHA-1 once the data member is read.
    fn identity_of(&self, digest: &RangeDigest) -> [u8; 20] {
        digest.sha1.or(self.control_digest.sha1).unwrap_or_default()
    }

    /// Checks the signatures against `keyring`: valid when any verifies.
    /// They are checked over the control member; a package without
    /// `datahash` is signed over control and data together (see
    /// [`signed_digest_without_datahash`]).
    pub fn verify_signature(&self, keyring: &Keyring) -> SignatureStatus {
        verify_signatures(&self.signatures, keyring, &self.control_digest)
    }

    /// Decompresses the data section into `out` as a plain tar (for random
    /// access by offset later) and returns the datahash of the compressed
    /// member. Nothing is checked here beyond gzip integrity; compare the
    /// hash with `.PKGINFO`'s `datahash`.
    pub fn extract_data_tar<W: io::Write>(
        mut self,
        out: &mut W,
    ) -> Result<DataDigest, PackageError> {
        let declared = self.record.installed_size;
        let limit = data_limit(declared);
        let err = data_section(declared, limit);
        self.start_data();
        let mut uncompressed_len = 0;
        if !self.src.at_eof().map_err(&err)? {
            let mut decoder = LimitedReader::new(GzDecoder::new(&mut self.src), limit, "data");
            uncompressed_len = io::copy(&mut decoder, out).map_err(&err)?;
        }
        let digest = self.src.finish();
        if !self.src.at_eof().map_err(&err)? {
            return Err(PackageError::TrailingData);
        }
        Ok(DataDigest {
            datahash: digest.sha256.unwrap_or_default(),
            compressed_len: digest.len,
            uncompressed_len,
            identity: self.identity_of(&digest),
        })
    }

    /// Streams the data section. `visit` sees every entry with a reader over
    /// its content (empty for non-files); unread content is hashed anyway.
    pub fn read_data<F>(mut self, mut visit: F) -> Result<DataReport, PackageError>
    where
        F: FnMut(&DataEntry, &mut dyn Read) -> io::Result<()>,
    {
        let declared = self.record.installed_size;
        let limit = data_limit(declared);
        let err = data_section(declared, limit);
        let mut report = DataReport::default();
        self.start_data();
        if !self.src.at_eof().map_err(&err)? {
            let decoder = LimitedReader::new(GzDecoder::new(&mut self.src), limit, "data");
            let mut archive = tar::Archive::new(decoder);
            for entry in archive.entries().map_err(&err)? {
                let mut entry = entry.map_err(&err)?;
                let data = describe(&mut entry).map_err(&err)?;
                report.entries += 1;
                let actual = match &data.kind {
                    EntryKind::File => {
                        report.content_bytes += data.size;
                        let mut hashing = Sha1Reader::new(&mut entry);
                        visit(&data, &mut hashing).map_err(&err)?;
                        Some(hashing.finish().map_err(&err)?)
                    }
                    EntryKind::Symlink(target) => {
                        visit(&data, &mut io::empty()).map_err(&err)?;
                        Some(crate::stream::sha1(target.as_bytes()))
                    }
                    _ => {
                        visit(&data, &mut io::empty()).map_err(&err)?;
                        None
                    }
                };
                if let (Some(want), Some(got)) = (data.sha1, actual)
                    && want != got
                {
                    report.checksum_mismatches.push(data.path.clone());
                }
            }
            // Drain the member (end-of-archive blocks, padding) so the hash
            // covers all of it.
            let mut decoder = archive.into_inner();
            io::copy(&mut decoder, &mut io::sink()).map_err(&err)?;
        }
        let digest = self.src.finish();
        report.datahash = digest.sha256.unwrap_or_default();
        report.compressed_len = digest.len;
        report.checksum = q1_checksum(&self.identity_of(&digest));
        if !self.src.at_eof().map_err(&err)? {
            return Err(PackageError::TrailingData);
        }
        Ok(report)
    }
}

/// The digest apk-tools 2 signs for a package without `datahash`: every
/// byte after the signature member (`signature_len` bytes, see
/// [`PackageReader::signature_len`]), control and data members together.
/// Check it with [`verify_signatures`].
pub fn signed_digest_without_datahash<R: BufRead>(
    package: R,
    signature_len: u64,
) -> io::Result<RangeDigest> {
    let mut src = HashingBufReader::new(package);
    io::copy(&mut (&mut src).take(signature_len), &mut io::sink())?;
    src.start(true, true);
    io::copy(&mut src, &mut io::sink())?;
    Ok(src.finish())
}

/// Checks signatures over a control (or index) digest.
pub fn verify_signatures(
    signatures: &[Signature],
    keyring: &Keyring,
    digest: &RangeDigest,
) -> SignatureStatus {
    if signatures.is_empty() {
        return SignatureStatus::Unsigned;
    }
    let mut invalid = None;
    for sig in signatures {
        let Some(key) = keyring.find(&sig.key_name) else {
            continue;
        };
        let hash: &[u8] = match sig.algorithm {
            SignatureAlgorithm::RsaSha1 => digest.sha1.as_ref().map_or(&[], |d| d.as_slice()),
            SignatureAlgorithm::RsaSha256 => digest.sha256.as_ref().map_or(&[], |d| d.as_slice()),
        };
        if key.verify_digest(sig.algorithm, hash, &sig.bytes) {
            return SignatureStatus::Valid {
                key: key.name.clone(),
            };
        }
        invalid.get_or_insert_with(|| key.name.clone());
    }
    match invalid {
        Some(key) => SignatureStatus::Invalid { key },
        None => SignatureStatus::UnknownKey {
            keys: signatures.iter().map(|s| s.key_name.clone()).collect(),
        },
    }
}

fn read_control_member<R: BufRead>(src: &mut R) -> Result<Member, PackageError> {
    let err = section("control");
    let decoder = LimitedReader::new(GzDecoder::new(src), CONTROL_LIMIT, "control section");
    let mut archive = tar::Archive::new(decoder);
    let mut signatures = Vec::new();
    let mut pkginfo = None;
    let mut files = Vec::new();
    let mut content_len = 0u64;
    for entry in archive.entries().map_err(&err)? {
        let mut entry = entry.map_err(&err)?;
        // GNU sparse entries expand to their real size without the gzip
        // stream growing, so the LimitedReader alone does not bound what
        // read_to_end below allocates.
        content_len = content_len.saturating_add(entry.size());
        if content_len > CONTROL_LIMIT {
            return Err(err(io::Error::new(
                io::ErrorKind::InvalidData,
                "control section is larger than the allowed size",
            )));
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mode = entry.header().mode().map_err(&err)?;
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(&err)?;
        if let Some((algorithm, key)) = SignatureAlgorithm::from_entry_name(&name) {
            signatures.push(Signature {
                algorithm,
                key_name: key.to_string(),
                bytes: content,
            });
        } else if name.starts_with(".SIGN.") {
            // DSA and other signature kinds: recognised, not trusted.
        } else if name == ".PKGINFO" {
            pkginfo = Some(PkgInfo::parse(&content)?);
        } else {
            files.push(ControlFile {
                name,
                mode,
                content,
            });
        }
    }
    let mut decoder = archive.into_inner();
    io::copy(&mut decoder, &mut io::sink()).map_err(&err)?;
    match pkginfo {
        Some(p) => Ok(Member::Control(p, files)),
        None if files.is_empty() => Ok(Member::Signature(signatures)),
        None => Err(PackageError::NoPkgInfo),
    }
}

fn describe<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<DataEntry> {
    let mut sha1 = None;
    let mut xattrs = Vec::new();
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            let key = ext.key().unwrap_or_default();
            if key == "APK-TOOLS.checksum.SHA1" {
                let mut d = [0u8; 20];
                if hex::decode_to_slice(ext.value_bytes(), &mut d).is_ok() {
                    sha1 = Some(d);
                }
            } else if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                xattrs.push((name.to_string(), ext.value_bytes().to_vec()));
            }
        }
    }
    let header = entry.header();
    let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    // apk-tools writes directories with a trailing slash; melange without.
    let path = match raw_path.trim_end_matches('/') {
        "" => raw_path.clone(),
        trimmed => trimmed.to_string(),
    };
    let link = || {
        entry
            .link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let dev = |h: &tar::Header| -> io::Result<(u32, u32)> {
        Ok((
            h.device_major()?.unwrap_or(0),
            h.device_minor()?.unwrap_or(0),
        ))
    };
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
        tar::EntryType::Directory => EntryKind::Directory,
        tar::EntryType::Symlink => EntryKind::Symlink(link()),
        tar::EntryType::Link => EntryKind::Hardlink(link()),
        tar::EntryType::Char => {
            let (major, minor) = dev(header)?;
            EntryKind::CharDevice { major, minor }
        }
        tar::EntryType::Block => {
            let (major, minor) = dev(header)?;
            EntryKind::BlockDevice { major, minor }
        }
        tar::EntryType::Fifo => EntryKind::Fifo,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "entry `{path}` has unsupported tar type {:?}",
                    other.as_byte() as char
                ),
            ));
        }
    };
    let size = if kind == EntryKind::File {
        entry.size()
    } else {
        0
    };
    Ok(DataEntry {
        uname: header
            .username()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string(),
        gname: header
            .groupname()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string(),
        mode: header.mode()?,
        uid: u32::try_from(header.uid()?).unwrap_or(u32::MAX),
        gid: u32::try_from(header.gid()?).unwrap_or(u32::MAX),
        mtime: header.mtime()?,
        path,
        kind,
        size,
        sha1,
        xattrs,
        data_offset: entry.raw_file_position(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding (target `package`): a control member whose tar holds a
    /// GNU sparse entry (1 stored byte at offset 64 MiB, real size 64 MiB + 1)
    /// made `read_to_end` allocate the real size; 89 such bytes with a 1 GiB
    /// real size took 1.6 GB and 9 s, a few entries ran out of memory.
    #[test]
    fn sparse_control_entry_is_bounded() {
        let apk: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xd3\x2b\x66\xa0\x39\x30\x00\x02\x33\x13\x13\x30\x0d\x04\xe8\x34\x10\x18\x22\xb1\x81\xe2\x86\x86\x46\xe6\x26\x0c\x0a\xc1\x0c\x74\x00\xa5\xc5\x25\x89\x45\x0a\x0a\x0c\x03\x06\x0c\x0c\x4c\x0c\xb0\x85\x08\x0d\x2c\xc0\x62\x68\x05\xc3\x28\x18\x05\xa3\x60\x14\x8c\x82\x91\x08\x00\x38\x43\xac\x01\x00\x08\x00\x00";
        let err = PackageReader::new(apk).err().expect("must fail");
        assert!(
            err.to_string().contains("larger than the allowed size"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;
    use crate::package_write::gzip_encoder;
    use crate::tar_write::{TarHeader, TarKind, TarWriter};
    use flate2::Compression;

    fn member(path: &str, content: &[u8], end: bool) -> Vec<u8> {
        let mut tar = TarWriter::new(gzip_encoder(Vec::new(), Compression::new(6)));
        let mut h = TarHeader::new(path, TarKind::File, 0o644);
        h.size = content.len() as u64;
        tar.append(&h, &mut &content[..]).unwrap();
        if end {
            tar.finish().unwrap();
        }
        tar.into_inner().finish().unwrap()
    }

    /// Without `datahash`, `C:` is the SHA-1 of control and data members
    /// together (apk-tools 2), whichever way the package is read.
    #[test]
    fn identity_without_datahash_covers_the_data() {
        let control = member(
            ".PKGINFO",
            b"pkgname = a\npkgver = 1-r0\narch = x86_64\nsize = 2\n",
            false,
        );
        let data = member("f", b"hi", true);
        let apk = [control.clone(), data.clone()].concat();
        let want = q1_checksum(&crate::stream::sha1(&apk));
        let pkg = PackageReader::new(&apk[..]).unwrap();
        assert_eq!(pkg.checksum(), None);
        assert_ne!(pkg.control_checksum(), want);
        assert_eq!(pkg.identity().unwrap().checksum, want);
        let pkg = PackageReader::new(&apk[..]).unwrap();
        let digest = pkg.extract_data_tar(&mut io::sink()).unwrap();
        assert_eq!(digest.checksum(), want);
        let pkg = PackageReader::new(&apk[..]).unwrap();
        assert_eq!(pkg.read_data(|_, _| Ok(())).unwrap().checksum, want);
    }
}
