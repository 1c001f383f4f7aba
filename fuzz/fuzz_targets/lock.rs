//! apko lock files (`image build --lockfile`, `image lock`): parsing never
//! panics; a lock that parses has only safe names, versions and archs
//! (they become cache paths and URLs); written back as apko writes it, it
//! parses to an equal lock, and writing that again is byte-identical.
#![no_main]

use apk_format::names::{check_arch, check_name, check_version};
use image::lock::{parse_lock, to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lock) = parse_lock(data) else {
        return;
    };
    for p in &lock.contents.packages {
        assert!(check_name(&p.name).is_ok(), "{:?}", p.name);
        assert!(check_version(&p.version).is_ok(), "{:?}", p.version);
        assert!(check_arch(&p.architecture).is_ok(), "{:?}", p.architecture);
    }
    let c = &lock.contents;
    for r in c
        .repositories
        .iter()
        .chain(&c.build_repositories)
        .chain(&c.runtime_repositories)
    {
        assert!(check_arch(&r.architecture).is_ok(), "{:?}", r.architecture);
    }
    let written = to_json(&lock);
    let again = match parse_lock(&written) {
        Ok(again) => again,
        Err(e) => panic!(
            "written lock does not parse: {e}\ninput: {:?}\nwritten: {:?}",
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(&written)
        ),
    };
    assert_eq!(
        lock,
        again,
        "written: {:?}",
        String::from_utf8_lossy(&written)
    );
    assert_eq!(to_json(&again), written, "second write differs");
});
