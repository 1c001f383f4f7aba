//! Java KeyStore (JKS) files, the format of `etc/ssl/certs/java/cacerts`:
//! read, add trusted certificates, write back (entries sorted by alias, as
//! apko writes them through keystore-go with ordered aliases).
//!
//! Layout (big-endian): magic `FEEDFEED`, version (1 or 2), entry count;
//! per entry a tag (1 private key, 2 trusted certificate), the alias
//! (u16-length modified UTF-8), the creation time in milliseconds, then
//! the key and its chain or the certificate (type string from version 2
//! on, u32-length DER). The file ends with the SHA-1 of the password as
//! UTF-16BE, the bytes `Mighty Aphrodite` and everything before it.

use sha1::{Digest, Sha1};

/// What is wrong with a keystore.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JksError {
    /// Not a JKS file (PKCS#12 and JCEKS stores are not supported).
    #[error("not a JKS keystore (magic {0:08x})")]
    NotJks(u32),
    /// Shorter than its structure says.
    #[error("truncated keystore")]
    Truncated,
    /// An entry tag this format does not have.
    #[error("unknown entry type {0}")]
    UnknownTag(u32),
    /// The integrity digest does not match (wrong password or damaged).
    #[error("integrity check failed: wrong password or a damaged keystore")]
    Digest,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    PrivateKey {
        key: Vec<u8>,
        chain: Vec<(String, Vec<u8>)>,
    },
    Trusted {
        cert_type: String,
        der: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    alias: String,
    created_ms: u64,
    body: Body,
}

/// A keystore in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyStore {
    entries: Vec<Entry>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], JksError> {
        let end = self.at.checked_add(n).ok_or(JksError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(JksError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, JksError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, JksError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, JksError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }
    fn utf(&mut self) -> Result<String, JksError> {
        let n = self.u16()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn blob(&mut self) -> Result<Vec<u8>, JksError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

fn digest(password: &str, data: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_be_bytes());
    }
    h.update(b"Mighty Aphrodite");
    h.update(data);
    h.finalize().into()
}

fn put_utf(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let n = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&bytes[..n as usize]);
}

fn put_blob(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

impl KeyStore {
    /// Reads a JKS file, checking its integrity digest with `password`.
    pub fn parse(bytes: &[u8], password: &str) -> Result<KeyStore, JksError> {
        let mut r = Reader { bytes, at: 0 };
        let magic = r.u32()?;
        if magic != 0xFEED_FEED {
            return Err(JksError::NotJks(magic));
        }
        let version = r.u32()?;
        let count = r.u32()?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let tag = r.u32()?;
            let alias = r.utf()?;
            let created_ms = r.u64()?;
            let body = match tag {
                1 => {
                    let key = r.blob()?;
                    let n = r.u32()?;
                    let mut chain = Vec::new();
                    for _ in 0..n {
                        let t = if version == 2 {
                            r.utf()?
                        } else {
                            "X.509".into()
                        };
                        chain.push((t, r.blob()?));
                    }
                    Body::PrivateKey { key, chain }
                }
                2 => {
                    let cert_type = if version == 2 {
                        r.utf()?
                    } else {
                        "X.509".into()
                    };
                    Body::Trusted {
                        cert_type,
                        der: r.blob()?,
                    }
                }
                other => return Err(JksError::UnknownTag(other)),
            };
            entries.push(Entry {
                alias,
                created_ms,
                body,
            });
        }
        let end = r.at;
        if r.take(20)? != digest(password, &bytes[..end]) {
            return Err(JksError::Digest);
        }
        Ok(KeyStore { entries })
    }

    /// Aliases, in store order.
    pub fn aliases(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.alias.as_str()).collect()
    }

    /// Adds (or replaces) a trusted X.509 certificate under `alias`
    /// (lowercased, as Java's keytool and keystore-go store aliases).
    pub fn set_trusted(&mut self, alias: &str, der: &[u8], created_ms: u64) {
        let alias = alias.to_lowercase();
        self.entries.retain(|e| e.alias != alias);
        self.entries.push(Entry {
            alias,
            created_ms,
            body: Body::Trusted {
                cert_type: "X.509".into(),
                der: der.to_vec(),
            },
        });
    }

    /// Writes the store (version 2, entries sorted by alias) sealed with
    /// `password`.
    pub fn to_bytes(&self, password: &str) -> Vec<u8> {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| a.alias.cmp(&b.alias));
        let mut out = Vec::new();
        out.extend_from_slice(&0xFEED_FEEDu32.to_be_bytes());
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            let tag: u32 = match e.body {
                Body::PrivateKey { .. } => 1,
                Body::Trusted { .. } => 2,
            };
            out.extend_from_slice(&tag.to_be_bytes());
            put_utf(&mut out, &e.alias);
            out.extend_from_slice(&e.created_ms.to_be_bytes());
            match &e.body {
                Body::PrivateKey { key, chain } => {
                    put_blob(&mut out, key);
                    out.extend_from_slice(&(chain.len() as u32).to_be_bytes());
                    for (t, der) in chain {
                        put_utf(&mut out, t);
                        put_blob(&mut out, der);
                    }
                }
                Body::Trusted { cert_type, der } => {
                    put_utf(&mut out, cert_type);
                    put_blob(&mut out, der);
                }
            }
        }
        let d = digest(password, &out);
        out.extend_from_slice(&d);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorted_and_sealed() {
        let mut ks = KeyStore::default();
        ks.set_trusted("Zeta", b"der-z", 1000);
        ks.set_trusted("alpha", b"der-a", 2000);
        let bytes = ks.to_bytes("changeit");
        let back = KeyStore::parse(&bytes, "changeit").unwrap();
        assert_eq!(back.aliases(), ["alpha", "zeta"]);
        assert_eq!(KeyStore::parse(&bytes, "wrong"), Err(JksError::Digest));
        assert_eq!(
            KeyStore::parse(&bytes[..30], "changeit"),
            Err(JksError::Truncated)
        );
        assert!(matches!(
            KeyStore::parse(b"\x30\x82\x01\x00", "x"),
            Err(JksError::NotJks(_))
        ));
        // Re-sealing what was read gives the same bytes.
        assert_eq!(back.to_bytes("changeit"), bytes);
    }
}
