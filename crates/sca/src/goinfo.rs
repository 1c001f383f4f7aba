//! Go build information (`debug/buildinfo`), only as far as melange uses it:
//! a program built with `CGO_ENABLED=1` and a FIPS crypto experiment loads
//! OpenSSL at run time, so it needs `openssl-config-fipshardened` and
//! `so:libcrypto.so.3`.
//!
//! Only the Go 1.18+ layout (strings inline after the 32-byte header) is
//! understood; older binaries store pointers and are treated as not Go.

use std::fs::File;

use object::Endianness;
use object::elf as E;
use object::read::ReadCache;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};

use crate::elf::read_vaddr;

const MAGIC: &[u8] = b"\xff Go buildinf:";
const ALIGN: usize = 16;
const HEADER: usize = 32;
/// Go reads at most this much of the data segment looking for the header.
const SEARCH: u64 = 64 * 1024;
/// Go's `GOEXPERIMENT` values that mean FIPS crypto through OpenSSL:
/// RHEL/golang-fips, current and old microsoft/go.
const FIPS_EXPERIMENTS: [&str; 3] = ["boringcrypto", "systemcrypto", "opensslcrypto"];

/// Is this ELF a Go program with cgo and a FIPS crypto experiment?
pub(crate) fn is_fips_cgo<Elf: FileHeader<Endian = Endianness>>(
    header: &Elf,
    programs: &[Elf::ProgramHeader],
    sections: &[Elf::SectionHeader],
    endian: Endianness,
    data: &ReadCache<File>,
) -> bool {
    let Some(start) = data_start(header, programs, sections, endian, data) else {
        return false;
    };
    let Some(bytes) = read_vaddr::<Elf>(programs, endian, data, start, SEARCH) else {
        return false;
    };
    let Some(modinfo) = module_info(bytes) else {
        return false;
    };
    fips_cgo_settings(&modinfo)
}

/// Go's `elfExe.DataStart`: the `.go.buildinfo` section's address, else the
/// first writable, non-executable `PT_LOAD` segment.
fn data_start<Elf: FileHeader<Endian = Endianness>>(
    header: &Elf,
    programs: &[Elf::ProgramHeader],
    sections: &[Elf::SectionHeader],
    endian: Endianness,
    data: &ReadCache<File>,
) -> Option<u64> {
    if let Ok(table) = header.section_strings(endian, data, sections) {
        for s in sections {
            if table.get(s.sh_name(endian)) == Ok(b".go.buildinfo".as_slice()) {
                return Some(s.sh_addr(endian).into());
            }
        }
    }
    programs
        .iter()
        .find(|p| {
            p.p_type(endian) == E::PT_LOAD
                && p.p_flags(endian).0 & (E::PF_X.0 | E::PF_W.0) == E::PF_W.0
        })
        .map(|p| p.p_vaddr(endian).into())
}

/// Finds the 16-byte aligned header and returns the module information
/// text without its sentinels; `None` when this is not a (1.18+) Go binary.
pub(crate) fn module_info(mut data: &[u8]) -> Option<String> {
    loop {
        let i = find(data, MAGIC)?;
        if data.len() - i < HEADER {
            return None;
        }
        if i % ALIGN == 0 {
            data = &data[i..];
            break;
        }
        data = data.get((i + ALIGN - 1) & !(ALIGN - 1)..)?;
    }
    const FLAGS_VERSION_INLINE: u8 = 2;
    if data[15] & FLAGS_VERSION_INLINE == 0 {
        return None;
    }
    let (version, rest) = decode_string(&data[HEADER..])?;
    let (module, _) = decode_string(rest)?;
    if version.is_empty() {
        return None;
    }
    let n = module.len();
    if n >= 33 && module[n - 17] == b'\n' {
        Some(String::from_utf8_lossy(&module[16..n - 16]).into_owned())
    } else {
        Some(String::new())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A uvarint length followed by that many bytes.
fn decode_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut used = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            used = i + 1;
            break;
        }
    }
    if used == 0 {
        return None;
    }
    let rest = &data[used..];
    let len = usize::try_from(len).ok().filter(|&l| l <= rest.len())?;
    Some(rest.split_at(len))
}

/// `build\tKEY=VALUE` lines: `CGO_ENABLED=1` together with a FIPS
/// `GOEXPERIMENT` or `microsoft_systemcrypto=1`.
pub(crate) fn fips_cgo_settings(modinfo: &str) -> bool {
    let mut cgo = false;
    let mut fips = false;
    for line in modinfo.lines() {
        let Some(kv) = line.strip_prefix("build\t") else {
            continue;
        };
        let (key, value) = match kv.strip_prefix('"') {
            Some(rest) => match rest.split_once("\"=") {
                Some((k, v)) => (unquote(&format!("\"{k}\"")), v),
                None => continue,
            },
            None => match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v),
                None => continue,
            },
        };
        let value = if value.starts_with('"') || value.starts_with('`') {
            unquote(value)
        } else {
            value.to_string()
        };
        match key.as_str() {
            "CGO_ENABLED" if value == "1" => cgo = true,
            "GOEXPERIMENT" if FIPS_EXPERIMENTS.contains(&value.as_str()) => fips = true,
            "microsoft_systemcrypto" if value == "1" => fips = true,
            _ => {}
        }
    }
    cgo && fips
}

/// Removes Go quoting (enough for setting values: quotes and backslash
/// escapes of single characters).
fn unquote(s: &str) -> String {
    let inner = s
        .strip_prefix(['"', '`'])
        .and_then(|t| t.strip_suffix(['"', '`']))
        .unwrap_or(s);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && s.starts_with('"') {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::{ElfBuilder, write_temp};

    /// The `.go.buildinfo` contents a Go 1.18+ linker writes.
    fn buildinfo(settings: &str) -> Vec<u8> {
        let mut mod_text = "path\texample.com/x\nmod\texample.com/x\t(devel)\t\n".to_string();
        mod_text.push_str(settings);
        let sentinel = "0123456789abcdef";
        let framed = format!("{sentinel}{mod_text}\n{sentinel}");
        let mut out = MAGIC.to_vec();
        out.push(8); // pointer size
        out.push(2); // flags: inline strings
        out.resize(HEADER, 0);
        for s in ["go1.22.1", framed.as_str()] {
            let mut n = s.len();
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    #[test]
    fn settings() {
        assert!(fips_cgo_settings(
            "build\tCGO_ENABLED=1\nbuild\tGOEXPERIMENT=boringcrypto\n"
        ));
        assert!(fips_cgo_settings(
            "build\tCGO_ENABLED=1\nbuild\tmicrosoft_systemcrypto=1"
        ));
        assert!(!fips_cgo_settings(
            "build\tCGO_ENABLED=0\nbuild\tGOEXPERIMENT=boringcrypto"
        ));
        assert!(!fips_cgo_settings(
            "build\tCGO_ENABLED=1\nbuild\tGOEXPERIMENT=boringcrypto,arenas"
        ));
        assert!(fips_cgo_settings(
            "build\t\"CGO_ENABLED\"=\"1\"\nbuild\tGOEXPERIMENT=opensslcrypto"
        ));
    }

    #[test]
    fn module_info_framing() {
        let data = buildinfo("build\tCGO_ENABLED=1\n");
        let text = module_info(&data).unwrap();
        assert!(text.starts_with("path\texample.com/x\n"), "{text:?}");
        assert!(text.contains("build\tCGO_ENABLED=1"));
        // Misaligned magic is skipped.
        let mut shifted = vec![0u8; 3];
        shifted.extend_from_slice(&data);
        assert_eq!(module_info(&shifted), None);
        // Truncated strings.
        for len in 0..data.len() {
            let _ = module_info(&data[..len]);
        }
    }

    #[test]
    fn elf_with_buildinfo_section() {
        let dir = tempfile::tempdir().unwrap();
        for (settings, want) in [
            (
                "build\tCGO_ENABLED=1\nbuild\tGOEXPERIMENT=boringcrypto\n",
                true,
            ),
            ("build\tCGO_ENABLED=1\n", false),
        ] {
            let elf = ElfBuilder {
                interp: Some(b"/lib64/ld-linux-x86-64.so.2\0".to_vec()),
                needed: vec!["libc.so.6".into()],
                soname: None,
                extra: Some((".go.buildinfo".into(), buildinfo(settings))),
            }
            .build();
            let p = write_temp(dir.path(), "gobin", &elf);
            let info = crate::elf::inspect(&p).unwrap().unwrap();
            assert_eq!(info.go_fips, want, "{settings}");
        }
    }
}
