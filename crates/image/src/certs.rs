//! CA certificates: `certificates.additional` (inline PEM) and
//! `certificates.providers` (packages shipping certificates), added to the
//! image's CA bundle and, where the image has one, its Java truststore.

use rootfs::layer::read_small;
use rootfs::tree::{Tree, TreeError};

const BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// CA bundles apko knows; each present one gets a `.<name>.sha256` sidecar.
const BUNDLES: &[&str] = &[
    BUNDLE,
    "var/lib/ecs/deps/execute-command/certs/tls-ca-bundle.pem",
    "kaniko/ssl/certs/ca-certificates.crt",
];

/// Java truststores apko adds certificates to (JKS, password `changeit`).
pub const TRUSTSTORES: &[&str] = &["etc/ssl/certs/java/cacerts"];

/// The password of Java's default truststore.
const TRUSTSTORE_PASSWORD: &str = "changeit";

/// A truststore that cannot be updated.
#[derive(Debug, thiserror::Error)]
pub enum TruststoreError {
    /// Not a readable JKS store.
    #[error("Java truststore `/{path}`: {source}")]
    Read {
        /// Path in the image.
        path: String,
        /// What is wrong.
        source: crate::jks::JksError,
    },
    /// Writing it back failed.
    #[error("Java truststore `/{path}`: {source}")]
    Write {
        /// Path in the image.
        path: String,
        /// What failed.
        source: TreeError,
    },
}

/// The DER bytes of a PEM holding exactly one certificate.
fn single_certificate(pem: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?;
    let mut blocks = text.split("-----BEGIN CERTIFICATE-----").skip(1);
    let body = blocks.next()?.split("-----END CERTIFICATE-----").next()?;
    if blocks.next().is_some() {
        return None;
    }
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Adds the inline certificates (alias `<name>-<sha256 of DER>`) and the
/// provided ones (`pkg-<sha256>`) to every Java truststore the image has,
/// as apko does; stores are rewritten only when there is something to add.
pub fn add_to_truststores(
    tree: &mut Tree,
    inline: &[(String, String)],
    provided: &[Vec<u8>],
    mtime: u64,
) -> Result<(), TruststoreError> {
    use sha2::Digest;
    let fingerprint = |der: &[u8]| hex::encode(sha2::Sha256::digest(der));
    let mut certs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, pem) in inline {
        if let Some(der) = single_certificate(pem.as_bytes()) {
            certs.push((format!("{name}-{}", fingerprint(&der)), der));
        }
    }
    for pem in provided {
        if let Some(der) = single_certificate(pem) {
            certs.push((format!("pkg-{}", fingerprint(&der)), der));
        }
    }
    if certs.is_empty() {
        return Ok(());
    }
    for path in TRUSTSTORES {
        let Some(node) = tree.get(path) else { continue };
        let mode = node.mode;
        let Some(bytes) = read_small(tree, path) else {
            continue;
        };
        let mut store =
            crate::jks::KeyStore::parse(&bytes, TRUSTSTORE_PASSWORD).map_err(|source| {
                TruststoreError::Read {
                    path: path.to_string(),
                    source,
                }
            })?;
        for (alias, der) in &certs {
            store.set_trusted(alias, der, mtime.saturating_mul(1000));
        }
        tree.write_file(path, store.to_bytes(TRUSTSTORE_PASSWORD), mode, mtime)
            .map_err(|source| TruststoreError::Write {
                path: path.to_string(),
                source,
            })?;
    }
    Ok(())
}

/// Writes `.<bundle>.sha256` (`"<hex>  <name>\n"`, mode 0444) beside every
/// CA bundle in the image, as apko does, so tools can check the bundle.
pub fn write_sidecars(tree: &mut Tree, mtime: u64) -> Result<(), TreeError> {
    use sha2::Digest;
    for bundle in BUNDLES.iter().chain(TRUSTSTORES) {
        let Some(bytes) = read_small(tree, bundle) else {
            continue;
        };
        let (dir, name) = bundle.rsplit_once('/').unwrap_or(("", bundle));
        let line = format!("{}  {name}\n", hex::encode(sha2::Sha256::digest(&bytes)));
        tree.write_file(
            &format!("{dir}/.{name}.sha256"),
            line.into_bytes(),
            0o444,
            mtime,
        )?;
    }
    Ok(())
}

/// Writes each certificate to `usr/local/share/ca-certificates/<name>.crt`
/// and appends it to the CA bundle (creating the bundle if needed).
pub fn add_certificates(
    tree: &mut Tree,
    certs: &[(String, String)],
    mtime: u64,
) -> Result<(), TreeError> {
    if certs.is_empty() {
        return Ok(());
    }
    let mut bundle = read_small(tree, BUNDLE).unwrap_or_default();
    for (name, pem) in certs {
        let mut pem = pem.clone().into_bytes();
        if !pem.ends_with(b"\n") {
            pem.push(b'\n');
        }
        tree.write_file(
            &format!("usr/local/share/ca-certificates/{name}.crt"),
            pem.clone(),
            0o644,
            mtime,
        )?;
        if !bundle.is_empty() && !bundle.ends_with(b"\n") {
            bundle.push(b'\n');
        }
        bundle.extend_from_slice(&pem);
    }
    tree.write_file(BUNDLE, bundle, 0o644, mtime)
}

/// Certificates shipped by the installed packages that provide one of
/// `providers` (by name or `provides`): their
/// `usr/local/share/ca-certificates/*.{crt,pem}` files, sorted by path.
pub fn provided_certificates(
    tree: &Tree,
    installed: &[apk_format::PackageRecord],
    providers: &[String],
) -> Vec<Vec<u8>> {
    let owners: std::collections::HashSet<u32> = installed
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            providers
                .iter()
                .any(|want| &p.name == want || p.provides.iter().any(|d| &d.name == want))
        })
        .map(|(i, _)| i as u32)
        .collect();
    tree.children_of("usr/local/share/ca-certificates")
        .filter(|(path, node)| {
            (path.ends_with(".crt") || path.ends_with(".pem"))
                && node.owner.is_some_and(|o| owners.contains(&o))
        })
        .filter_map(|(path, _)| read_small(tree, path))
        .collect()
}

/// Appends provided certificates to the CA bundle (creating it if needed).
pub fn append_to_bundle(tree: &mut Tree, certs: &[Vec<u8>], mtime: u64) -> Result<(), TreeError> {
    if certs.is_empty() {
        return Ok(());
    }
    let mut bundle = read_small(tree, BUNDLE).unwrap_or_default();
    for pem in certs {
        if !bundle.is_empty() && !bundle.ends_with(b"\n") {
            bundle.push(b'\n');
        }
        bundle.extend_from_slice(pem);
    }
    tree.write_file(BUNDLE, bundle, 0o644, mtime)
}
