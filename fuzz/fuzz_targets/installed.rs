//! Installed database: parsing never panics, and whatever parses is written
//! back to a text that parses to the same packages (parse -> write -> parse),
//! and writing that again is byte-identical.
#![no_main]

use apk_format::installed::{parse_installed, write_installed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(db) = parse_installed(text) else {
        return;
    };
    let written = write_installed(&db);
    let again = match parse_installed(&written) {
        Ok(again) => again,
        Err(e) => panic!("written db does not parse: {e}\ninput: {text:?}\nwritten: {written:?}"),
    };
    assert_eq!(db, again, "input: {text:?}\nwritten: {written:?}");
    assert_eq!(write_installed(&again), written, "second write differs");
});
