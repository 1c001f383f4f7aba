//! APKINDEX text: parsing never panics, and whatever parses is written back
//! to a text that parses to the same entries (parse -> write -> parse), and
//! writing that again is byte-identical (write is a fixed point).
#![no_main]

use apk_format::index::{parse_index, write_index};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(entries) = parse_index(text) else {
        return;
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
