//! The `fetch` pipeline, done by apkforge itself: the download happens on
//! the host (so build steps need no network), the checksum is verified
//! before anything is unpacked, and archives are unpacked with path checks
//! into the workspace.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256, Sha512};

use crate::PkgBuildError;

/// Runs a `uses: fetch` step natively. `with` holds the step's inputs,
/// `dest` is the step's working directory on the host, `directory` where
/// archives are unpacked (the `directory` input), `scratch` a private
/// directory for the download. With a source `cache` (melange's
/// `--cache-dir`), downloads are kept there under melange's names
/// (`sha256:<hex>`, `sha512:<hex>`) and reused; an entry whose checksum
/// no longer matches is dropped and downloaded again.
pub fn fetch(
    with: &BTreeMap<String, String>,
    dest: &Path,
    directory: &Path,
    scratch: &Path,
    cache: Option<&Path>,
    log: &dyn crate::Log,
) -> Result<(), PkgBuildError> {
    let uri = with
        .get("uri")
        .cloned()
        .ok_or_else(|| PkgBuildError::Fetch {
            uri: String::new(),
            reason: "the fetch step has no `uri`".into(),
        })?;
    let fail = |reason: String| PkgBuildError::Fetch {
        uri: uri.clone(),
        reason,
    };
    let sha256 = with.get("expected-sha256").filter(|s| !s.is_empty());
    let sha512 = with.get("expected-sha512").filter(|s| !s.is_empty());
    let none = with
        .get("expected-none")
        .is_some_and(|v| !v.is_empty() && v != "false");
    if sha256.is_none() && sha512.is_none() && !none {
        return Err(fail("no expected-sha256 or expected-sha512 given".into()));
    }
    let file_name = uri
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("source")
        .split('?')
        .next()
        .unwrap_or("source")
        .to_string();
    let entry = match (cache, sha256, sha512) {
        (Some(c), Some(h), _) => Some(c.join(format!("sha256:{}", h.to_ascii_lowercase()))),
        (Some(c), None, Some(h)) => Some(c.join(format!("sha512:{}", h.to_ascii_lowercase()))),
        _ => None,
    };
    let check = |file: &mut File| -> Result<Option<String>, PkgBuildError> {
        if let Some(want) = sha256 {
            let got = hex::encode(hash::<Sha256>(file).map_err(|e| fail(e.to_string()))?);
            if !got.eq_ignore_ascii_case(want) {
                return Ok(Some(format!("expected sha256 {want}, got {got}")));
            }
        }
        if let Some(want) = sha512 {
            let got = hex::encode(hash::<Sha512>(file).map_err(|e| fail(e.to_string()))?);
            if !got.eq_ignore_ascii_case(want) {
                return Ok(Some(format!("expected sha512 {want}, got {got}")));
            }
        }
        Ok(None)
    };
    let mut cached = None;
    if let Some(entry) = &entry
        && let Ok(mut f) = File::open(entry)
    {
        match check(&mut f)? {
            None => {
                log.line(&format!("    {file_name} from the source cache"));
                cached = Some(f);
            }
            Some(mismatch) => {
                log.line(&format!(
                    "    source cache entry {} is corrupted ({mismatch}); downloading again",
                    entry.display()
                ));
                let _ = std::fs::remove_file(entry);
            }
        }
    }
    let mut file = match cached {
        Some(f) => f,
        None => {
            let tmp_dir = entry
                .as_ref()
                .and_then(|e| e.parent())
                .unwrap_or(scratch)
                .to_path_buf();
            std::fs::create_dir_all(&tmp_dir)
                .map_err(|e| fail(format!("creating {}: {e}", tmp_dir.display())))?;
            let mut tmp =
                scratch::file_in(&tmp_dir, crate::TEMP_PREFIX).map_err(|e| fail(e.to_string()))?;
            match apk_repo::Location::parse(&uri) {
                apk_repo::Location::Remote(url) => {
                    log.line(&format!("    downloading {url}"));
                    let http = apk_repo::HttpClient::new(apk_repo::HttpClient::auth_from_env());
                    http.get(&url, None, tmp.as_file_mut())
                        .map_err(|e| fail(e.to_string()))?;
                }
                apk_repo::Location::Local(p) => {
                    let mut src =
                        File::open(&p).map_err(|e| fail(format!("{}: {e}", p.display())))?;
                    std::io::copy(&mut src, tmp.as_file_mut()).map_err(|e| fail(e.to_string()))?;
                }
            }
            if let Some(mismatch) = check(tmp.as_file_mut())? {
                return Err(fail(format!("checksum mismatch: {mismatch}")));
            }
            match &entry {
                Some(entry) => tmp
                    .persist(entry)
                    .map_err(|e| fail(format!("{}: {}", entry.display(), e.error)))?,
                None => tmp.into_file(),
            }
        }
    };
    let file = &mut file;
    // As melange's script: the file stays in the working directory unless
    // `delete`, archives are unpacked into `directory`.
    let extract = with.get("extract").is_none_or(|v| v != "false");
    let delete = with.get("delete").is_some_and(|v| v == "true");
    if !delete {
        let target = dest.join(&file_name);
        file.seek(SeekFrom::Start(0))
            .map_err(|e| fail(e.to_string()))?;
        let mut out =
            File::create(&target).map_err(|e| fail(format!("{}: {e}", target.display())))?;
        std::io::copy(file, &mut out).map_err(|e| fail(format!("{}: {e}", target.display())))?;
    }
    if !extract || !is_archive(&file_name) {
        return Ok(());
    }
    std::fs::create_dir_all(directory)
        .map_err(|e| fail(format!("{}: {e}", directory.display())))?;
    let strip: usize = with
        .get("strip-components")
        .map_or(Ok(1), |s| s.parse())
        .map_err(|_| fail("strip-components is not a number".into()))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| fail(e.to_string()))?;
    let reader: Box<dyn Read + '_> = if file_name.ends_with(".tar") {
        Box::new(BufReader::new(&*file))
    } else if file_name.ends_with(".gz") || file_name.ends_with(".tgz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(&*file)))
    } else {
        return Err(fail(format!(
            "cannot unpack `{file_name}` (supported: .tar, .tar.gz, .tgz); set `extract: false` and unpack in a step"
        )));
    };
    unpack(reader, directory, strip).map_err(fail)
}

fn is_archive(name: &str) -> bool {
    [
        ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

fn hash<D: Digest>(file: &mut File) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_vec())
}

/// Unpacks a tar stream, dropping `strip` leading components, refusing
/// absolute paths and `..`, and links that point outside `dest`.
pub(crate) fn unpack(reader: Box<dyn Read + '_>, dest: &Path, strip: usize) -> Result<(), String> {
    let mut ar = tar::Archive::new(reader);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let raw = entry.path().map_err(|e| e.to_string())?.into_owned();
        let parts: Vec<String> = raw
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if raw.is_absolute() || parts.iter().any(|p| p == "..") {
            return Err(format!(
                "archive entry `{}` would land outside the workspace",
                raw.display()
            ));
        }
        let kept: Vec<&String> = parts
            .iter()
            .filter(|p| p.as_str() != ".")
            .skip(strip)
            .collect();
        if kept.is_empty() {
            continue;
        }
        let rel: PathBuf = kept.iter().collect();
        let target = dest.join(&rel);
        if let Some(link) = entry.link_name().map_err(|e| e.to_string())?
            && entry.header().entry_type().is_hard_link()
        {
            let lparts: Vec<String> = link
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if link.is_absolute() || lparts.iter().any(|p| p == "..") {
                return Err(format!(
                    "hard link `{}` points outside the workspace",
                    raw.display()
                ));
            }
            let lrel: PathBuf = lparts
                .iter()
                .filter(|p| p.as_str() != ".")
                .skip(strip)
                .collect();
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::hard_link(dest.join(lrel), &target)
                .map_err(|e| format!("{}: {e}", target.display()))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            // A symlink unpacked earlier must not lead the write elsewhere.
            let real = parent.canonicalize().map_err(|e| e.to_string())?;
            let root = dest.canonicalize().map_err(|e| e.to_string())?;
            if !real.starts_with(&root) {
                return Err(format!(
                    "archive entry `{}` would be written through a symlink outside the workspace",
                    raw.display()
                ));
            }
        }
        entry.set_preserve_permissions(true);
        entry
            .unpack(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}
