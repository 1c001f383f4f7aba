//! CA certificates: `certificates.additional` (inline PEM) and
//! `certificates.providers` (packages shipping certificates), added to the
//! image's CA bundle.

use rootfs::layer::read_small;
use rootfs::tree::{Tree, TreeError};

const BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// CA bundles apko knows; each present one gets a `.<name>.sha256` sidecar.
const BUNDLES: &[&str] = &[
    BUNDLE,
    "var/lib/ecs/deps/execute-command/certs/tls-ca-bundle.pem",
    "kaniko/ssl/certs/ca-certificates.crt",
];

/// Writes `.<bundle>.sha256` (`"<hex>  <name>\n"`, mode 0444) beside every
/// CA bundle in the image, as apko does, so tools can check the bundle.
pub fn write_sidecars(tree: &mut Tree, mtime: u64) -> Result<(), TreeError> {
    use sha2::Digest;
    for bundle in BUNDLES {
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
