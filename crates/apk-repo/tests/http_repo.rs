//! Repositories served over a real loopback HTTP server.

use std::path::Path;

use apk_format::signing::Keyring;
use apk_repo::{BasicAuth, Cache, NoProgress, Options, RepoClient, RepoError, RepoLine};
use testsupport::{FileServer, ServerOptions, fixtures};

fn client(cache: &Path, offline: bool, auth: Vec<BasicAuth>) -> RepoClient {
    RepoClient::new(
        Options {
            cache: Cache::new(cache),
            offline,
            ignore_signatures: false,
            auth,
            jobs: 4,
        },
        Keyring::new(),
    )
}

fn alpine_keyring(c: &RepoClient, keys_url: &str) -> Keyring {
    let mut ring = Keyring::new();
    ring.add(
        c.load_key(&format!(
            "{keys_url}/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"
        ))
        .unwrap(),
    );
    ring
}

#[test]
fn index_packages_cache_and_offline() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let repo = RepoLine::parse(&format!("{}/alpine-3.19", server.url));
    let keys = format!("{}/alpine-keys", server.url);

    let mut c = client(cache.path(), false, vec![]);
    // Without the key the index is refused, naming the index and the fix.
    let err = c.load_index(&repo, "x86_64").unwrap_err();
    assert!(matches!(err, RepoError::Signature { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("alpine-3.19/x86_64/APKINDEX.tar.gz"),
        "{err}"
    );
    c.set_keyring(alpine_keyring(&c, &keys));
    let idx = c.load_index(&repo, "x86_64").unwrap();
    assert_eq!(idx.entries.len(), 100);
    assert!(idx.signature.is_valid());

    let items: Vec<_> = idx
        .entries
        .records()
        .into_iter()
        .filter(|p| ["musl", "busybox", "zlib", "alpine-baselayout"].contains(&p.name.as_str()))
        .map(|p| (repo.clone(), "x86_64".to_string(), p))
        .collect();
    assert_eq!(items.len(), 4);
    let paths = c.fetch_packages(&items, &NoProgress).unwrap();
    assert!(paths.iter().all(|p| p.starts_with(cache.path())));
    let gets = |s: &FileServer| {
        s.log()
            .iter()
            .filter(|l| l.contains(".apk ") && l.ends_with(" 200"))
            .count()
    };
    assert_eq!(gets(&server), 4);

    // Second round: index revalidated (304), packages from the cache.
    let idx2 = c.load_index(&repo, "x86_64").unwrap();
    assert_eq!(idx2.entries.len(), 100);
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.contains("APKINDEX.tar.gz 304")),
        "{:?}",
        server.log()
    );
    c.fetch_packages(&items, &NoProgress).unwrap();
    assert_eq!(gets(&server), 4, "cached packages are not downloaded again");

    // A corrupted cache entry is detected and fetched again.
    std::fs::write(&paths[0], b"garbage").unwrap();
    let again = c.fetch_package(&items[0].0, "x86_64", &items[0].2).unwrap();
    assert_eq!(again, paths[0]);
    assert_eq!(gets(&server), 5);

    // A damaged cached index (its ETag still current) is downloaded again.
    let index_dir = std::fs::read_dir(cache.path().join("index-v1"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(index_dir.join("APKINDEX.tar.gz"), b"garbage").unwrap();
    assert_eq!(c.load_index(&repo, "x86_64").unwrap().entries.len(), 100);
    let log = server.log();
    assert!(
        log.ends_with(&[
            "GET /alpine-3.19/x86_64/APKINDEX.tar.gz 304".to_string(),
            "GET /alpine-3.19/x86_64/APKINDEX.tar.gz 200".to_string()
        ]),
        "{log:?}"
    );

    // Expanded data sections land in the cache once per datahash.
    let exp = c.expand_package(&paths[1]).unwrap();
    assert!(exp.data_tar.is_file());
    assert_eq!(c.expand_package(&paths[1]).unwrap().data_tar, exp.data_tar);

    // Offline: the cache serves; anything missing is a clear error.
    let mut off = client(cache.path(), true, vec![]);
    off.set_keyring(alpine_keyring(&c, &keys));
    assert_eq!(off.load_index(&repo, "x86_64").unwrap().entries.len(), 100);
    off.fetch_package(&items[1].0, "x86_64", &items[1].2)
        .unwrap();
    let other = idx
        .entries
        .records()
        .into_iter()
        .find(|p| p.name == "openrc")
        .unwrap();
    let err = off.fetch_package(&repo, "x86_64", &other).unwrap_err();
    assert!(matches!(err, RepoError::Offline(_)), "{err}");
}

#[test]
fn retries_auth_and_tampering() {
    let fx = fixtures();
    let server = FileServer::start(
        &fx,
        ServerOptions {
            basic_auth: Some(("alice".into(), "s3cret".into())),
            ..Default::default()
        },
    );
    let cache = tempfile::tempdir().unwrap();
    let repo = RepoLine::parse(&format!("{}/alpine-3.19", server.url));
    let host = server.url.trim_start_matches("http://").to_string();

    // Wrong credentials: HTTP 401, named.
    let c = client(
        cache.path(),
        false,
        vec![BasicAuth::parse(&format!("basic:{host}:alice:wrong")).unwrap()],
    );
    let err = c.load_index(&repo, "x86_64").unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");

    let mut c = client(
        cache.path(),
        false,
        vec![BasicAuth::parse(&format!("basic:{host}:alice:s3cret")).unwrap()],
    );
    c.set_keyring(alpine_keyring(&c, &format!("{}/alpine-keys", server.url)));
    // Two 503s are retried transparently.
    server.fail_next(2);
    assert_eq!(c.load_index(&repo, "x86_64").unwrap().entries.len(), 100);

    // A package that does not match its index entry is rejected.
    let idx = c.load_index(&repo, "x86_64").unwrap();
    let mut rec = idx
        .entries
        .records()
        .into_iter()
        .find(|p| p.name == "zlib")
        .unwrap();
    rec.checksum = Some("Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    let err = c.fetch_package(&repo, "x86_64", &rec).unwrap_err();
    assert!(matches!(err, RepoError::ChecksumMismatch { .. }), "{err}");
    assert!(err.to_string().contains("zlib-1.3.1-r0"), "{err}");

    // Missing index: 404 named with the URL.
    let missing = RepoLine::parse(&format!("{}/nope", server.url));
    let err = c.load_index(&missing, "x86_64").unwrap_err();
    assert!(
        err.to_string()
            .contains("/nope/x86_64/APKINDEX.tar.gz: HTTP 404"),
        "{err}"
    );
}

#[test]
fn local_directory_repository() {
    let fx = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let mut c = client(cache.path(), false, vec![]);
    let mut ring = Keyring::new();
    ring.add(
        c.load_key(
            fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-58199dcc.rsa.pub")
                .to_str()
                .unwrap(),
        )
        .unwrap(),
    );
    c.set_keyring(ring);
    let repo = RepoLine::parse(fx.join("alpine-3.13-aarch64").to_str().unwrap());
    let idx = c.load_index(&repo, "aarch64").unwrap();
    assert_eq!(idx.entries.len(), 65);
    let musl = idx
        .entries
        .records()
        .into_iter()
        .find(|p| p.name == "musl")
        .unwrap();
    let p = c.fetch_package(&repo, "aarch64", &musl).unwrap();
    assert!(p.starts_with(&fx), "local packages are used in place");
    let err = c.load_index(&repo, "x86_64").unwrap_err();
    assert!(matches!(err, RepoError::IndexMissing(_)), "{err}");
}
