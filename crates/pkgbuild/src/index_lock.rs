//! One writer at a time for a repository index: builds running in
//! parallel (threads or processes) each read, extend and replace
//! `<out>/<arch>/APKINDEX.tar.gz`; an exclusive lock on a file beside it
//! makes that read-modify-write atomic, and the temp file + rename makes
//! every reader see either the old index or the new one.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The lock file of the index in `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join(".APKINDEX.lock")
}

/// Holds the index lock of a directory until dropped.
#[derive(Debug)]
pub struct IndexLock {
    _file: File,
}

impl IndexLock {
    /// Waits for and takes the lock of the index in `dir` (which must
    /// exist).
    pub fn acquire(dir: &Path) -> std::io::Result<IndexLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(dir))?;
        // flock(2): held per open file, so threads of one process exclude
        // each other as processes do; released when the file is closed,
        // also when the process dies.
        file.lock()?;
        Ok(IndexLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use apk_format::index_archive::read_index_archive;
    use apk_format::record::PackageRecord;

    use crate::EmittedPackage;

    /// Many writers, each adding its own package: none is lost, the result
    /// is a valid signed index.
    #[test]
    fn concurrent_updates_lose_nothing() {
        let out = tempfile::tempdir().unwrap();
        let arch_dir = out.path().join("x86_64");
        std::fs::create_dir_all(&arch_dir).unwrap();
        let key = apk_format::signing::SigningKey::generate("t.rsa.pub", 1024).unwrap();
        let writers = 12;
        std::thread::scope(|s| {
            for i in 0..writers {
                let (out, key) = (out.path(), &key);
                s.spawn(move || {
                    for round in 0..3 {
                        let record = PackageRecord {
                            name: format!("p{i}"),
                            version: format!("1.{round}-r0"),
                            arch: "x86_64".into(),
                            checksum: Some("Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
                            file_size: Some(1),
                            ..Default::default()
                        };
                        let e = EmittedPackage {
                            path: out.join(format!("x86_64/p{i}-1.{round}-r0.apk")),
                            record,
                            generated: Default::default(),
                        };
                        crate::add_to_index(out, Some(key), "x86_64", &[e]).unwrap();
                    }
                });
            }
        });
        let f = std::fs::File::open(arch_dir.join("APKINDEX.tar.gz")).unwrap();
        let archive = read_index_archive(BufReader::new(f)).unwrap();
        assert_eq!(archive.entries.len(), writers * 3);
        let mut ring = apk_format::signing::Keyring::new();
        ring.add(key.public_key());
        assert!(archive.verify(&ring).is_valid());
        // No temp file is left beside the index.
        let names: Vec<String> = std::fs::read_dir(&arch_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
