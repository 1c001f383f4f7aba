//! RSA keys, keyrings and the PKCS#1 v1.5 signatures apk uses.
//!
//! apk signs the SHA-1 (`.SIGN.RSA.<key>`) or SHA-256 (`.SIGN.RSA256.<key>`)
//! digest of a byte range; `<key>` is the file name of the public key.

use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

/// Hash algorithm of a signature entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// `.SIGN.RSA.`: RSA PKCS#1 v1.5 over SHA-1 (Alpine's packages and indexes).
    RsaSha1,
    /// `.SIGN.RSA256.`: RSA PKCS#1 v1.5 over SHA-256 (melange, newer apk-tools).
    RsaSha256,
}

impl SignatureAlgorithm {
    /// The tar entry prefix for this algorithm.
    pub fn entry_prefix(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => ".SIGN.RSA.",
            SignatureAlgorithm::RsaSha256 => ".SIGN.RSA256.",
        }
    }

    /// Splits a signature entry name into algorithm and key name. Other
    /// `.SIGN.` kinds (DSA, RSA512) are not understood and give `None`.
    pub fn from_entry_name(name: &str) -> Option<(SignatureAlgorithm, &str)> {
        if let Some(key) = name.strip_prefix(".SIGN.RSA256.") {
            Some((SignatureAlgorithm::RsaSha256, key))
        } else {
            name.strip_prefix(".SIGN.RSA.")
                .map(|key| (SignatureAlgorithm::RsaSha1, key))
        }
    }
}

/// A detached signature found in a package or index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Digest algorithm.
    pub algorithm: SignatureAlgorithm,
    /// Name of the public key that made it.
    pub key_name: String,
    /// Raw signature bytes.
    pub bytes: Vec<u8>,
}

/// Error loading or using a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM RSA public key.
    #[error("`{name}` is not a PEM RSA public key")]
    BadPublicKey {
        /// Key name.
        name: String,
    },
    /// Not a PEM RSA private key.
    #[error("`{name}` is not an unencrypted PEM RSA private key (PKCS#1 or PKCS#8)")]
    BadPrivateKey {
        /// Key name.
        name: String,
    },
    /// Signing failed.
    #[error("signing with `{name}` failed: {source}")]
    Sign {
        /// Key name.
        name: String,
        /// Underlying error.
        #[source]
        source: rsa::Error,
    },
    /// Key generation failed.
    #[error("RSA key generation failed: {0}")]
    Generate(#[source] rsa::Error),
    /// Encoding failed.
    #[error("encoding the key as PEM failed")]
    Encode,
}

/// A named RSA public key.
#[derive(Clone, Debug)]
pub struct PublicKey {
    /// File name, e.g. `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`.
    pub name: String,
    key: RsaPublicKey,
}

impl PublicKey {
    /// Parses a PEM public key (SubjectPublicKeyInfo or PKCS#1).
    pub fn from_pem(name: impl Into<String>, pem: &[u8]) -> Result<PublicKey, KeyError> {
        let name = name.into();
        let bad = || KeyError::BadPublicKey { name: name.clone() };
        let text = std::str::from_utf8(pem).map_err(|_| bad())?;
        let key = RsaPublicKey::from_public_key_pem(text.trim())
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(text.trim()))
            .map_err(|_| bad())?;
        Ok(PublicKey { name, key })
    }

    /// A key from its RSA modulus and exponent (big-endian bytes), as JWKS
    /// documents publish them.
    pub fn from_rsa_components(
        name: impl Into<String>,
        n: &[u8],
        e: &[u8],
    ) -> Result<PublicKey, KeyError> {
        let name = name.into();
        let key = RsaPublicKey::new(
            rsa::BoxedUint::from_be_slice_vartime(n),
            rsa::BoxedUint::from_be_slice_vartime(e),
        )
        .map_err(|_| KeyError::BadPublicKey { name: name.clone() })?;
        Ok(PublicKey { name, key })
    }

    /// The key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)
    }

    /// Checks a signature over a precomputed digest.
    pub fn verify_digest(&self, algorithm: SignatureAlgorithm, digest: &[u8], sig: &[u8]) -> bool {
        let scheme = match algorithm {
            SignatureAlgorithm::RsaSha1 => Pkcs1v15Sign::new::<Sha1>(),
            SignatureAlgorithm::RsaSha256 => Pkcs1v15Sign::new::<Sha256>(),
        };
        self.key.verify(scheme, digest, sig).is_ok()
    }

    /// The apk v3 key ID: the first 16 bytes of SHA-512 over the PKCS#1
    /// `RSAPublicKey` DER. v3 signatures name their key by this ID.
    pub fn v3_key_id(&self) -> [u8; 16] {
        v3_key_id(&self.key)
    }

    /// Checks an RSA PKCS#1 v1.5 signature over a precomputed SHA-512
    /// digest (apk v3 signatures).
    pub fn verify_sha512_digest(&self, digest: &[u8], sig: &[u8]) -> bool {
        self.key
            .verify(Pkcs1v15Sign::new::<Sha512>(), digest, sig)
            .is_ok()
    }
}

fn v3_key_id(key: &RsaPublicKey) -> [u8; 16] {
    let der = key.to_pkcs1_der().map(|d| d.as_bytes().to_vec());
    let digest = Sha512::digest(der.unwrap_or_default());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// A set of trusted public keys, looked up by file name.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: Vec<PublicKey>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a key.
    pub fn add(&mut self, key: PublicKey) {
        self.keys.push(key);
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// File names of the keys.
    pub fn names(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.name.clone()).collect()
    }

    /// The keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Finds the key a signature names. Names match exactly or without the
    /// `.rsa.pub` / `.pub` suffix, as apko does.
    pub fn find(&self, key_name: &str) -> Option<&PublicKey> {
        let stem = |n: &str| {
            let n = n.strip_suffix(".pub").unwrap_or(n);
            n.strip_suffix(".rsa").unwrap_or(n).to_string()
        };
        self.keys
            .iter()
            .find(|k| k.name == key_name)
            .or_else(|| self.keys.iter().find(|k| stem(&k.name) == stem(key_name)))
    }
}

/// An RSA private key used to sign packages and indexes (SHA-256, as melange).
pub struct SigningKey {
    /// Name of the matching public key file (`<private key file>.pub`).
    pub public_name: String,
    key: RsaPrivateKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_name", &self.public_name)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PEM private key. `file_name` is the key's file name; the
    /// signature names the public key `<file_name>.pub`, as melange does.
    pub fn from_pem(file_name: &str, pem: &[u8]) -> Result<SigningKey, KeyError> {
        let bad = || KeyError::BadPrivateKey {
            name: file_name.to_string(),
        };
        let text = std::str::from_utf8(pem).map_err(|_| bad())?;
        let key = RsaPrivateKey::from_pkcs1_pem(text.trim())
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(text.trim()))
            .map_err(|_| bad())?;
        Ok(SigningKey {
            public_name: format!("{file_name}.pub"),
            key,
        })
    }

    /// Generates a new key of `bits` bits.
    pub fn generate(public_name: impl Into<String>, bits: usize) -> Result<SigningKey, KeyError> {
        let mut rng = getrandom::SysRng;
        let key = RsaPrivateKey::new(&mut rng, bits).map_err(KeyError::Generate)?;
        Ok(SigningKey {
            public_name: public_name.into(),
            key,
        })
    }

    /// The private key as PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), as melange writes.
    pub fn private_pem(&self) -> Result<String, KeyError> {
        Ok(self
            .key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)?
            .to_string())
    }

    /// The public key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub fn public_pem(&self) -> Result<String, KeyError> {
        self.key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)
    }

    /// The public half, named as signatures name it.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            name: self.public_name.clone(),
            key: self.key.to_public_key(),
        }
    }

    /// Signs a SHA-256 digest; PKCS#1 v1.5 signatures are deterministic.
    pub fn sign_sha256_digest(&self, digest: &[u8]) -> Result<Signature, KeyError> {
        let bytes = self
            .key
            .sign(Pkcs1v15Sign::new::<Sha256>(), digest)
            .map_err(|source| KeyError::Sign {
                name: self.public_name.clone(),
                source,
            })?;
        Ok(Signature {
            algorithm: SignatureAlgorithm::RsaSha256,
            key_name: self.public_name.clone(),
            bytes,
        })
    }

    /// The apk v3 key ID of the public half (see [`PublicKey::v3_key_id`]).
    pub fn v3_key_id(&self) -> [u8; 16] {
        v3_key_id(&self.key.to_public_key())
    }

    /// Signs a SHA-512 digest (apk v3 signatures); deterministic.
    pub fn sign_sha512_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.key
            .sign(Pkcs1v15Sign::new::<Sha512>(), digest)
            .map_err(|source| KeyError::Sign {
                name: self.public_name.clone(),
                source,
            })
    }
}
