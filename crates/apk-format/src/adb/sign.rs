//! v3 signatures: a SIG block holds `{sign_ver=0, hash_alg, key_id[16],
//! signature}`; the signature is RSA PKCS#1 v1.5 with SHA-512 over
//! `le32 schema ‖ sign_ver ‖ hash_alg ‖ key_id ‖ digest(ADB payload)`.
//! Keys are found by ID, not by file name.

use sha2::{Digest, Sha256, Sha512};

use crate::package_read::SignatureStatus;
use crate::signing::{KeyError, Keyring, SigningKey};

/// `hash_alg` value for SHA-256.
pub const HASH_SHA256: u8 = 3;
/// `hash_alg` value for SHA-512 (what apk-tools 3 writes).
pub const HASH_SHA512: u8 = 4;
/// `hash_alg` value for SHA-256 truncated to 20 bytes.
pub const HASH_SHA256_160: u8 = 5;

/// One parsed signature of a SIG block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Signature {
    /// Digest algorithm over the ADB payload.
    pub hash_alg: u8,
    /// ID of the signing key.
    pub key_id: [u8; 16],
    /// RSA signature bytes.
    pub signature: Vec<u8>,
}

impl V3Signature {
    /// Parses a SIG block payload; `None` for versions or sizes apk-tools
    /// would not accept either.
    pub fn parse(payload: &[u8]) -> Option<V3Signature> {
        if payload.len() < 18 || payload[0] != 0 {
            return None;
        }
        let mut key_id = [0u8; 16];
        key_id.copy_from_slice(&payload[2..18]);
        Some(V3Signature {
            hash_alg: payload[1],
            key_id,
            signature: payload[18..].to_vec(),
        })
    }

    /// The SIG block payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18 + self.signature.len());
        out.push(0);
        out.push(self.hash_alg);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.signature);
        out
    }
}

/// SHA-512 of what a signature signs.
fn signed_digest(schema: u32, hash_alg: u8, key_id: &[u8; 16], adb: &[u8]) -> Option<Vec<u8>> {
    let md: Vec<u8> = match hash_alg {
        HASH_SHA512 => Sha512::digest(adb).to_vec(),
        HASH_SHA256 => Sha256::digest(adb).to_vec(),
        HASH_SHA256_160 => Sha256::digest(adb)[..20].to_vec(),
        _ => return None,
    };
    let mut h = Sha512::new();
    h.update(schema.to_le_bytes());
    h.update([0u8, hash_alg]);
    h.update(key_id);
    h.update(&md);
    Some(h.finalize().to_vec())
}

/// Checks signatures over an ADB payload: valid when any verifies with a
/// key of the keyring.
pub fn verify(
    signatures: &[V3Signature],
    keyring: &Keyring,
    schema: u32,
    adb: &[u8],
) -> SignatureStatus {
    if signatures.is_empty() {
        return SignatureStatus::Unsigned;
    }
    let mut invalid = None;
    for sig in signatures {
        let Some(key) = keyring.keys().iter().find(|k| k.v3_key_id() == sig.key_id) else {
            continue;
        };
        let Some(digest) = signed_digest(schema, sig.hash_alg, &sig.key_id, adb) else {
            continue;
        };
        if key.verify_sha512_digest(&digest, &sig.signature) {
            return SignatureStatus::Valid {
                key: key.name.clone(),
            };
        }
        invalid.get_or_insert_with(|| key.name.clone());
    }
    match invalid {
        Some(key) => SignatureStatus::Invalid { key },
        None => SignatureStatus::UnknownKey {
            keys: signatures
                .iter()
                .map(|s| format!("ID {}", hex::encode(s.key_id)))
                .collect(),
        },
    }
}

/// Signs an ADB payload as apk-tools 3 does (SHA-512).
pub fn sign(key: &SigningKey, schema: u32, adb: &[u8]) -> Result<V3Signature, KeyError> {
    let key_id = key.v3_key_id();
    let digest = signed_digest(schema, HASH_SHA512, &key_id, adb).unwrap_or_default();
    Ok(V3Signature {
        hash_alg: HASH_SHA512,
        key_id,
        signature: key.sign_sha512_digest(&digest)?,
    })
}
