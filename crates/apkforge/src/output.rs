//! Writing results safely and rendering errors.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Name prefix of a result being written beside its final path.
pub const OUTPUT_TEMP_PREFIX: &str = ".apkforge-";

/// A file being written beside its final path; it replaces the target only
/// on [`AtomicFile::commit`], and is removed if dropped before.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path`.
    /// An existing `path` that is not a regular file (a device, FIFO or
    /// socket, also through a symbolic link) is refused.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        scratch::check_replaceable(path)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = scratch::file_in(dir, OUTPUT_TEMP_PREFIX)
            .with_context(|| format!("creating a temporary file in `{}`", dir.display()))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    /// Flushes, sets `mode` and renames the file into place.
    pub fn commit(self, mode: u32) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path;
        self.tmp
            .as_file()
            .sync_all()
            .with_context(|| format!("writing `{}`", path.display()))?;
        self.tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting permissions of `{}`", path.display()))?;
        scratch::persist(self.tmp, &path)
            .with_context(|| format!("replacing `{}`", path.display()))?;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory,
/// renamed into place, so a failure never leaves a half-written file.
pub fn write_atomic(path: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.file()
        .write_all(bytes)
        .with_context(|| format!("writing `{}`", path.display()))?;
    file.commit(mode)
}

/// Verbosity from `--log-level`: 0 debug, 1 info, 2 warn, 3 error.
static LOG_LEVEL: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

/// Sets the level from `--log-level` (`debug`, `info`, `warn`, `error`).
pub fn set_log_level(level: &str) {
    let n = match level {
        "debug" => 0,
        "warn" => 2,
        "error" => 3,
        _ => 1,
    };
    LOG_LEVEL.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// Are messages of `level` (0 debug .. 3 error) shown?
pub fn shows(level: u8) -> bool {
    level >= LOG_LEVEL.load(std::sync::atomic::Ordering::Relaxed)
}

/// May output carry escape codes (colours, bars)? Not when `NO_COLOR` is
/// set to anything non-empty (no-color.org), nor for `TERM=dumb`; callers
/// also check that the stream is a terminal.
pub fn colors_enabled() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
    !no_color && !dumb
}

/// Prints a config's warnings (decimal permissions, ...) to stderr.
pub fn print_config_warnings(loaded: &image_config::LoadedConfig) {
    if !shows(2) {
        return;
    }
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
}

/// Prints an error and its causes to stderr. A cause whose text the lines
/// above already include (errors that embed their source) is not repeated.
pub fn print_error(err: &anyhow::Error) {
    let mut shown = err.to_string();
    eprintln!("error: {shown}");
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if shown.contains(&text) {
            continue;
        }
        eprintln!("  caused by: {text}");
        shown.push('\n');
        shown.push_str(&text);
    }
}
