//! apk v3 packages: reading arbitrary bytes returns an error or a report and
//! never panics, hangs or allocates without bound. When a package reads, the
//! DATA blocks it streams match the files of its ADB block.
#![no_main]

use std::io::Read;

use apk_format::adb::package::V3PackageReader;
use apk_format::signing::Keyring;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = V3PackageReader::new(data) else {
        return;
    };
    // Opening succeeded: the package info had a name and a version.
    let record = &reader.meta.info.record;
    assert!(!record.name.is_empty() && !record.version.is_empty());
    // No key is trusted, so no signature can be valid.
    assert!(!reader.verify_signature(&Keyring::new()).is_valid());
    let with_data: Vec<(String, u64)> = reader
        .meta
        .entries
        .iter()
        .filter(|e| e.has_data)
        .map(|e| (e.path.clone(), e.size))
        .collect();
    let mut streamed = Vec::new();
    let result = reader.read_data(|entry, r: &mut dyn Read| {
        let n = std::io::copy(r, &mut std::io::sink())?;
        if entry.has_data {
            streamed.push((entry.path.clone(), n));
        } else {
            assert_eq!(n, 0, "{}: entry without data has content", entry.path);
        }
        Ok(())
    });
    if let Ok(report) = result {
        // Every file with content got exactly its size, in paths order.
        assert_eq!(streamed, with_data);
        assert_eq!(report.data_blocks, with_data.len());
        assert_eq!(
            report.content_bytes,
            with_data.iter().map(|(_, n)| n).sum::<u64>()
        );
    }
});
