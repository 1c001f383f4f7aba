//! apko's own lock files read back; hostile entries are refused.

use image::lock::{LockError, parse_lock};
use testsupport::fixtures;

#[test]
fn apko_lock_files_parse_and_unsafe_entries_are_refused() {
    let dir = fixtures().join("apko-testdata/internal/cli/testdata");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with(".lock.json") || p.to_string_lossy().contains("pre-0.13")
        {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let lock = parse_lock(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!lock.contents.packages.is_empty(), "{}", p.display());
        seen += 1;
        // The same file with one package renamed to climb out of a directory.
        let text = String::from_utf8(bytes).unwrap();
        let name = &lock.contents.packages[0].name;
        let evil = text.replacen(
            &format!("\"name\": \"{name}\""),
            "\"name\": \"../../etc/evil\"",
            1,
        );
        let err = parse_lock(evil.as_bytes()).unwrap_err();
        assert!(matches!(err, LockError::Invalid { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("contents.packages[0]: package name `../../etc/evil`"),
            "{err}"
        );
    }
    assert!(seen >= 3);
    let err = parse_lock(b"{\"version\": 1").unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}
