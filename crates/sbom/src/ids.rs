//! Package URLs, SPDX element ids and name-based UUIDs.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sha1::{Digest, Sha1};

/// Percent-encodes a purl component: everything except ASCII letters,
/// digits, `.-_~` and `:` (which the purl spec says must stay literal).
pub(crate) fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `pkg:<type>/[<namespace>/]<name>@<version>?<k=v&...>` with qualifiers
/// sorted by key and empty values left out.
pub(crate) fn purl(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    version: Option<&str>,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = format!("pkg:{kind}/");
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        out.push_str(&purl_encode(ns));
        out.push('/');
    }
    out.push_str(&purl_encode(name));
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        out.push('@');
        out.push_str(&purl_encode(v));
    }
    let mut quals: Vec<&(&str, &str)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    quals.sort();
    for (i, (k, v)) in quals.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&purl_encode(v));
    }
    out
}

/// Makes `s` usable after `SPDXRef-`: `:` and `/` become `-`, other
/// characters outside `[A-Za-z0-9.-]` become `C<code point>` (as apko
/// does), so distinct names stay distinct in practice.
pub(crate) fn spdx_id_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' => out.push(c),
            ':' | '/' => out.push('-'),
            _ => {
                let _ = write!(out, "C{}", c as u32);
            }
        }
    }
    if out.is_empty() {
        out.push_str("empty");
    }
    out
}

/// Hands out unique SPDX ids (a repeated one gets `-2`, `-3`, ...).
#[derive(Default)]
pub(crate) struct IdAllocator {
    used: BTreeSet<String>,
}

impl IdAllocator {
    /// `SPDXRef-<prefix><part>`, unique within this allocator.
    pub(crate) fn id(&mut self, prefix: &str, part: &str) -> String {
        let base = format!("SPDXRef-{prefix}{}", spdx_id_part(part));
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.used.insert(candidate.clone()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        candidate
    }
}

/// The RFC 4122 URL namespace.
const URL_NAMESPACE: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// A version-5 (SHA-1, name-based) UUID of `name` in the URL namespace,
/// formatted `xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx`.
pub(crate) fn uuid_v5(name: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(URL_NAMESPACE);
    hasher.update(name.as_bytes());
    let hash = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::{IdAllocator, purl, spdx_id_part, uuid_v5};

    #[test]
    fn purls_are_encoded_and_sorted() {
        assert_eq!(
            purl(
                "apk",
                Some("alpine"),
                "busybox",
                Some("1.36.1-r15"),
                &[("distro", "alpine-3.19.1"), ("arch", "x86_64")]
            ),
            "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(
            purl(
                "oci",
                None,
                "img",
                Some("sha256:ab"),
                &[("mediaType", "application/vnd.oci.image.manifest.v1+json")]
            ),
            "pkg:oci/img@sha256:ab?mediaType=application%2Fvnd.oci.image.manifest.v1%2Bjson"
        );
        assert_eq!(
            purl("apk", Some("wolfi"), "a+b", Some("1 2"), &[("distro", "")]),
            "pkg:apk/wolfi/a%2Bb@1%202"
        );
    }

    #[test]
    fn ids_are_valid_and_unique() {
        assert_eq!(spdx_id_part("sha256:abc"), "sha256-abc");
        assert_eq!(spdx_id_part("py3_foo+1"), "py3C95fooC431");
        let mut ids = IdAllocator::default();
        assert_eq!(ids.id("Package-", "a"), "SPDXRef-Package-a");
        assert_eq!(ids.id("Package-", "a"), "SPDXRef-Package-a-2");
    }

    #[test]
    fn uuid_v5_matches_rfc_example() {
        // Python: uuid.uuid5(uuid.NAMESPACE_URL, "https://example.com/")
        assert_eq!(
            uuid_v5("https://example.com/"),
            "dd2c1780-811a-5296-81c5-178a0ef488bc"
        );
    }
}
