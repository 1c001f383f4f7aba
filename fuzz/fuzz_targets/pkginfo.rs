//! `.PKGINFO`: parsing never panics; parse -> to_bytes -> parse is the
//! identity; to_record never panics and, when it succeeds, the record built
//! back into a `.PKGINFO` gives the same dependencies; every token parses as
//! a dependency without panicking and a parsed dependency's text reads back
//! to an equal dependency.
#![no_main]

use apk_format::PkgInfo;
use apk_format::dependency::Dependency;
use libfuzzer_sys::fuzz_target;

fn check_dependency(token: &str) {
    let Ok(dep) = Dependency::parse(token) else {
        return;
    };
    let shown = dep.to_string();
    match Dependency::parse(&shown) {
        Ok(back) => assert_eq!(back, dep, "dependency {token:?} shown as {shown:?}"),
        Err(e) => panic!("dependency {token:?} shown as {shown:?} does not parse: {e}"),
    }
    // parse_strict accepts a subset of parse.
    if let Ok(strict) = Dependency::parse_strict(token) {
        assert_eq!(strict, dep);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(info) = PkgInfo::parse(data) else {
        assert!(
            std::str::from_utf8(data).is_err(),
            "only non-UTF-8 may fail to parse"
        );
        return;
    };
    let bytes = info.to_bytes();
    let again = PkgInfo::parse(&bytes).expect("written .PKGINFO parses");
    assert_eq!(
        info,
        again,
        "input: {:?}\nwritten: {:?}",
        String::from_utf8_lossy(data),
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(again.to_bytes(), bytes, "second write differs");

    if let Ok(record) = info.to_record() {
        // Building a .PKGINFO from the record and reading it again keeps the
        // package identity and dependency lists.
        let rebuilt = PkgInfo::from_record(&record, None);
        if let Ok(back) = PkgInfo::parse(&rebuilt.to_bytes()).map(|p| p.to_record()) {
            let back = back.expect("rebuilt .PKGINFO has a valid record");
            assert_eq!(back.name, record.name);
            assert_eq!(back.version, record.version);
            assert_eq!(back.depends, record.depends);
            assert_eq!(back.provides, record.provides);
            assert_eq!(back.replaces, record.replaces);
            assert_eq!(back.install_if, record.install_if);
        }
    }

    let text = String::from_utf8_lossy(data);
    for token in text.split_whitespace() {
        check_dependency(token);
    }
    // Values of `depend = ...` lines also come with their operators attached.
    for line in &info.lines {
        if let apk_format::pkginfo::PkgInfoLine::Field { value, .. } = line {
            for token in value.split_ascii_whitespace() {
                check_dependency(token);
            }
        }
    }
});
