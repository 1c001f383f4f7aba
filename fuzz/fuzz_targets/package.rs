//! `.apk` packages: reading arbitrary bytes returns an error or a report and
//! never panics, hangs or allocates without bound. When a package reads, its
//! report is consistent with what the visitor saw.
#![no_main]

use std::io::Read;

use apk_format::package_read::{EntryKind, PackageReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = PackageReader::new(data) else {
        return;
    };
    // Opening succeeded: the control section had a usable .PKGINFO.
    assert!(!reader.record.name.is_empty() && !reader.record.version.is_empty());
    assert!(reader.signature_len + reader.control_digest.len <= data.len() as u64);
    let _ = reader.checksum();
    let header_len = reader.signature_len + reader.control_digest.len;

    let mut entries = 0usize;
    let mut file_bytes = 0u64;
    let result = reader.read_data(|entry, r: &mut dyn Read| {
        entries += 1;
        let n = std::io::copy(r, &mut std::io::sink())?;
        if entry.kind == EntryKind::File {
            // Content never exceeds what the header announced.
            assert!(
                n <= entry.size,
                "{}: read {n} > size {}",
                entry.path,
                entry.size
            );
            file_bytes += n;
        } else {
            assert_eq!(n, 0, "{}: non-file entry has content", entry.path);
        }
        Ok(())
    });
    if let Ok(report) = result {
        assert_eq!(report.entries, entries);
        assert!(file_bytes <= report.content_bytes);
        assert_eq!(header_len + report.compressed_len, data.len() as u64);
    }
});
