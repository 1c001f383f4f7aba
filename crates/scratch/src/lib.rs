//! Temp files and directories that belong to this process.
//!
//! Every temp entry apkforge leaves beside an output, in the cache or in
//! the temp directory is made here, so that none outlives its owner:
//!
//! - **Named for the sweep.** A temp entry is `PREFIX` followed by exactly
//!   [`RANDOM_LEN`] ASCII letters and digits; [`sweep`] looks at nothing
//!   else.
//! - **Locked while alive.** Its owner holds an exclusive `flock` on it (on
//!   the file itself, or on the directory) from creation until it is
//!   dropped, renamed into place or the process ends. The kernel releases
//!   the lock when the owner dies, however it dies.
//! - **Removed on signals.** Entries are recorded in a process-wide list;
//!   on SIGINT/SIGTERM the binary calls [`remove_all`] before it exits.
//! - **Swept when stale.** [`sweep`] removes entries whose lock it can take:
//!   their owner is gone (killed with SIGKILL, or the machine stopped). An
//!   entry whose lock is held belongs to a live process and is left alone.
//!
//! Creation closes the race with a concurrent sweep: after taking its lock
//! the owner checks that the path still names the entry it locked, and
//! otherwise makes a new one.

use std::fs::{self, File, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Length of the random part of every temp name.
pub const RANDOM_LEN: usize = 12;

/// Attempts at making an entry that a concurrent sweep did not take away.
const ATTEMPTS: usize = 8;

/// Entries this process made and may still have, for [`remove_all`].
static LIVE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

struct Entry {
    path: PathBuf,
    dir: bool,
}

fn live() -> MutexGuard<'static, Vec<Entry>> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn record(path: &Path, dir: bool) {
    let mut live = live();
    // Files renamed into place or dropped are not unrecorded one by one;
    // forget those that are gone once the list grows.
    if live.len() >= 256 {
        live.retain(|e| e.path.symlink_metadata().is_ok());
    }
    live.push(Entry {
        path: path.to_path_buf(),
        dir,
    });
}

fn forget(path: &Path) {
    live().retain(|e| e.path != path);
}

fn builder(prefix: &str) -> tempfile::Builder<'_, '_> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).rand_bytes(RANDOM_LEN);
    b
}

/// Does `file` (open, locked) still sit at `path`?
fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    let held = file.metadata()?;
    Ok(match path.symlink_metadata() {
        Ok(now) => now.dev() == held.dev() && now.ino() == held.ino(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    })
}

/// Takes the lock of a freshly made entry; `false` when a sweep got there
/// first (the caller makes a new one).
fn claim(file: &File, path: &Path) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => still_at(file, path),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

fn lost_race(dir: &Path) -> io::Error {
    io::Error::other(format!(
        "temp entries in `{}` kept disappearing while they were made",
        dir.display()
    ))
}

/// A new temp file `PREFIX<random>` in `dir`, locked by this process and
/// removed on SIGINT/SIGTERM (see the crate documentation). Renaming it
/// into place (`persist`) keeps the lock until the file is closed.
pub fn file_in(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    for _ in 0..ATTEMPTS {
        let tmp = builder(prefix).tempfile_in(dir)?;
        if claim(tmp.as_file(), tmp.path())? {
            record(tmp.path(), false);
            return Ok(tmp);
        }
        // Swept away before it was locked: the name is gone, or another
        // process holds it. Do not remove what may no longer be ours.
        let _ = tmp.into_temp_path().keep();
    }
    Err(lost_race(dir))
}

/// What a non-regular file is, for messages: `a FIFO`, `a device`,
/// `a socket`, `a directory`; `None` for a regular file.
pub fn special_kind(file_type: fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_file() {
        None
    } else if file_type.is_fifo() {
        Some("a FIFO")
    } else if file_type.is_char_device() || file_type.is_block_device() {
        Some("a device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else if file_type.is_dir() {
        Some("a directory")
    } else {
        Some("not a regular file")
    }
}

/// Refuses an output path a temp file must not be renamed over: one that
/// exists (through symbolic links) and is not a regular file. Replacing a
/// device node, FIFO or socket would break whatever else uses it; the
/// error names the path and what it is. A missing path is fine.
pub fn check_replaceable(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(m) => match special_kind(m.file_type()) {
            None => Ok(()),
            Some(kind) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`{}` is {kind}, not a regular file; refusing to replace it with an output",
                    path.display()
                ),
            )),
        },
        Err(_) => Ok(()),
    }
}

/// Renames the finished temp file `tmp` to `target`, after
/// [`check_replaceable`] (checked again as late as possible).
pub fn persist(tmp: tempfile::NamedTempFile, target: &Path) -> io::Result<File> {
    check_replaceable(target)?;
    tmp.persist(target).map_err(|e| e.error)
}

/// A temp directory `PREFIX<random>` in `dir`, locked by this process while
/// the value lives, removed (recursively) when it is dropped and on
/// SIGINT/SIGTERM.
pub struct TempDir {
    dir: Option<tempfile::TempDir>,
    _lock: File,
}

impl TempDir {
    /// Makes one.
    pub fn new_in(dir: &Path, prefix: &str) -> io::Result<TempDir> {
        for _ in 0..ATTEMPTS {
            let tmp = builder(prefix).tempdir_in(dir)?;
            let lock = match File::open(tmp.path()) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let _ = tmp.keep();
                    continue;
                }
                Err(e) => return Err(e),
            };
            if claim(&lock, tmp.path())? {
                record(tmp.path(), true);
                return Ok(TempDir {
                    dir: Some(tmp),
                    _lock: lock,
                });
            }
            let _ = tmp.keep();
        }
        Err(lost_race(dir))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        match &self.dir {
            Some(d) => d.path(),
            None => Path::new(""),
        }
    }

    /// Keeps the directory (it was renamed into place, say): it is no
    /// longer removed on drop or on signals, and its lock is released.
    pub fn keep(mut self) -> PathBuf {
        let dir = self.dir.take().map(tempfile::TempDir::keep);
        let path = dir.unwrap_or_default();
        forget(&path);
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(d) = self.dir.take() {
            let path = d.path().to_path_buf();
            drop(d);
            forget(&path);
        }
    }
}

impl std::fmt::Debug for TempDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TempDir").field(&self.path()).finish()
    }
}

/// Removes every temp entry this process still has (for signal handlers:
/// call it, then end the process). Returns how many were removed.
pub fn remove_all() -> usize {
    let entries = std::mem::take(&mut *live());
    let mut removed = 0;
    for e in entries {
        // A build step may still be writing into a directory; try again
        // briefly when files appear while it is removed.
        for attempt in 0..5 {
            let r = if e.dir {
                fs::remove_dir_all(&e.path)
            } else {
                fs::remove_file(&e.path)
            };
            match r {
                Ok(()) => {
                    removed += 1;
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => break,
                Err(_) if attempt < 4 => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(_) => {}
            }
        }
    }
    removed
}

/// Is `name` a temp name made with `prefix`?
pub fn is_temp_name(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Removes the stale temp entries (`PREFIX<random>` for one of
/// `prefixes`) directly in `dir`: those whose lock can be taken, because
/// the process that made them is gone. Entries a live process holds,
/// symbolic links and anything not named like a temp entry are left
/// alone. Returns the paths removed; a missing `dir` is no error.
pub fn sweep(dir: &Path, prefixes: &[&str]) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !prefixes.iter().any(|p| is_temp_name(name, p)) {
            continue;
        }
        let path = entry.path();
        // An entry that cannot be opened or removed (another user's, say)
        // is left as it is.
        if remove_if_stale(&path).unwrap_or(false) {
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Removes `path` if nobody holds its lock.
fn remove_if_stale(path: &Path) -> io::Result<bool> {
    let meta = match path.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let dir = meta.is_dir();
    if !dir && !meta.is_file() {
        return Ok(false);
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    // The lock is ours: the entry at `path` must still be the one locked.
    if !still_at(&file, path)? {
        return Ok(false);
    }
    let r = if dir {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_exactly() {
        assert!(is_temp_name(".tmp-abcDEF123456", ".tmp-"));
        assert!(!is_temp_name(".tmp-abcDEF12345", ".tmp-"));
        assert!(!is_temp_name(".tmp-abcDEF1234567", ".tmp-"));
        assert!(!is_temp_name(".tmp-abcDEF12345.", ".tmp-"));
        assert!(!is_temp_name("x.tmp-abcDEF123456", ".tmp-"));
    }

    #[test]
    fn live_entries_survive_a_sweep_and_stale_ones_do_not() {
        let root = tempfile::tempdir().unwrap();
        let live_file = file_in(root.path(), ".tmp-").unwrap();
        let live_dir = TempDir::new_in(root.path(), "build-").unwrap();
        std::fs::write(live_dir.path().join("x"), b"x").unwrap();
        // Stale: named like ours, nobody holds the lock.
        let stale_file = root.path().join(".tmp-AAAAAAAAAAAA");
        let stale_dir = root.path().join("build-BBBBBBBBBBBB");
        std::fs::write(&stale_file, b"old").unwrap();
        std::fs::create_dir_all(stale_dir.join("deep/er")).unwrap();
        // Not ours: other names, and a link named like ours.
        let other = root.path().join(".tmp-short");
        std::fs::write(&other, b"keep").unwrap();
        let target = tempfile::tempdir().unwrap();
        let link = root.path().join(".tmp-CCCCCCCCCCCC");
        std::os::unix::fs::symlink(target.path(), &link).unwrap();

        let mut removed = sweep(root.path(), &[".tmp-", "build-"]).unwrap();
        removed.sort();
        assert_eq!(removed, vec![stale_file.clone(), stale_dir.clone()]);
        assert!(live_file.path().exists());
        assert!(live_dir.path().join("x").exists());
        assert!(other.exists() && link.symlink_metadata().is_ok() && target.path().exists());

        // Dropped or kept entries are no longer removed on signals.
        let kept = TempDir::new_in(root.path(), "build-").unwrap();
        let kept_path = kept.keep();
        let dropped = TempDir::new_in(root.path(), "build-").unwrap();
        let dropped_path = dropped.path().to_path_buf();
        drop(dropped);
        assert!(!dropped_path.exists());
        assert!(remove_all() >= 2);
        assert!(!live_file.path().exists());
        assert!(!live_dir.path().exists());
        assert!(kept_path.exists());
    }

    #[test]
    fn outputs_never_replace_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let tmp = file_in(dir.path(), ".t-").unwrap();
        let err = persist(tmp, &fifo).unwrap_err();
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        assert!(special_kind(fifo.symlink_metadata().unwrap().file_type()) == Some("a FIFO"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert!(check_replaceable(&link).is_err());
        let plain = dir.path().join("plain");
        assert!(check_replaceable(&plain).is_ok());
        persist(file_in(dir.path(), ".t-").unwrap(), &plain).unwrap();
        assert!(check_replaceable(&plain).is_ok());
    }
}
