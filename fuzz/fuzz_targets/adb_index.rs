//! `Packages.adb` indexes: reading arbitrary bytes returns an error or an
//! index and never panics, hangs or allocates without bound. An index that
//! reads is copied entry by entry into a new index (as `apk mkndx --index`
//! reuses entries). Reading looks only at the fields an index entry needs,
//! so a copy, which walks every value, may still find one that lies
//! outside the block: that is an error, never a panic. When every entry
//! copies, the new index reads back with the same packages.
#![no_main]

use apk_format::adb::index::{IndexWriter, read_index, write_adb_file};
use apk_format::adb::schema;
use apk_format::signing::Keyring;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = read_index(data) else {
        return;
    };
    assert!(!index.verify(&Keyring::new()).is_valid());
    for p in &index.packages {
        assert!(!p.record.name.is_empty() && !p.record.version.is_empty());
    }
    let values = index.package_values().expect("read once, reads again");
    assert_eq!(values.len(), index.packages.len());

    let mut w = IndexWriter::new();
    for v in values {
        if w.add_copy(&index, v).is_err() {
            return;
        }
    }
    let adb = w.finish(index.description.as_deref(), index.pkgname_spec.as_deref());
    let mut file = Vec::new();
    write_adb_file(&mut file, schema::INDEX, &adb, &[]).unwrap();
    let again = read_index(&file[..]).expect("a written index reads back");
    let key = |e: &apk_format::index::IndexEntry| {
        (e.package.name.clone(), e.package.version.clone(), e.package.checksum.clone())
    };
    let mut a: Vec<_> = index.entries().iter().map(key).collect();
    let mut b: Vec<_> = again.entries().iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let non_empty = |s: Option<String>| s.filter(|d| !d.is_empty());
    assert_eq!(again.description, non_empty(index.description.clone()));
    assert_eq!(again.pkgname_spec, non_empty(index.pkgname_spec.clone()));
});
