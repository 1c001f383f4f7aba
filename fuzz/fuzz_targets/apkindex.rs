//! APKINDEX text: parsing never panics, and whatever parses is written back
//! to a text that parses to the same entries (parse -> write -> parse), and
//! writing that again is byte-identical (write is a fixed point). The lazy
//! reader (`IndexText`) accepts and refuses exactly what `parse_index` does,
//! with the same error, and yields the same entries and resolver fields.
#![no_main]

use apk_format::Dependency;
use apk_format::index::{parse_index, write_index};
use apk_format::index_text::IndexText;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lazy = IndexText::parse(text.to_string());
    let entries = match (parse_index(text), lazy) {
        (Ok(entries), Ok(lazy)) => {
            assert_eq!(lazy.entries(), entries, "input: {text:?}");
            for (i, e) in entries.iter().enumerate() {
                let f = lazy.fields(i);
                let p = &e.package;
                assert_eq!((f.name, f.version, f.arch), (&*p.name, &*p.version, &*p.arch));
                assert_eq!((f.origin, f.checksum), (p.origin.as_deref(), p.checksum.as_deref()));
                assert_eq!(f.provider_priority, p.provider_priority);
                let atoms = |list| Dependency::parse_list(list).expect("checked atoms parse");
                assert_eq!(atoms(f.depends), p.depends);
                assert_eq!(atoms(f.provides), p.provides);
                assert_eq!(atoms(f.install_if), p.install_if);
            }
            entries
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "input: {text:?}");
            return;
        }
        (a, b) => panic!("parse_index: {a:?}\nIndexText: {:?}\ninput: {text:?}", b.map(|t| t.len())),
    };
    let written = write_index(&entries);
    let again = match parse_index(&written) {
        Ok(again) => again,
        Err(e) => {
            panic!("written index does not parse: {e}\ninput: {text:?}\nwritten: {written:?}")
        }
    };
    assert_eq!(entries, again, "input: {text:?}\nwritten: {written:?}");
    assert_eq!(write_index(&again), written, "second write differs");
    for entry in &entries {
        // Records that parsed must satisfy the required-field check.
        assert!(entry.package.check_required().is_ok());
    }
});
