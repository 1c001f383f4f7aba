//! melange's `generateSharedObjectNameDeps`: interpreters, `DT_NEEDED`,
//! `DT_SONAME` provides (or vendored sonames), `.so` symlinks into sibling
//! packages, and Go FIPS programs.

use crate::elf::{self, ElfError, ElfInfo};
use crate::shebang::base_name;
use crate::tree::{Tree, base_of, is_in_dir, normalize};
use crate::{Ctx, FileInfo, Kind, ScaError};

/// Libraries the NVIDIA driver on the host injects into containers: never
/// depended on nor provided.
pub const HOST_PROVIDED_LIBRARIES: [&str; 27] = [
    "libEGL_nvidia.so.1",
    "libGLESv1_CM_nvidia.so.1",
    "libGLESv2_nvidia.so.1",
    "libGLX_nvidia.so.1",
    "libcuda.so.1",
    "libcudadebugger.so.1",
    "libnvcuvid.so.1",
    "libnvidia-allocator.so.1",
    "libnvidia-cfg.so.1",
    "libnvidia-eglcore.so.1",
    "libnvidia-encode.so.1",
    "libnvidia-fbc.so.1",
    "libnvidia-glcore.so.1",
    "libnvidia-glsi.so.1",
    "libnvidia-glvkspirv.so.1",
    "libnvidia-gpucomp.so.1",
    "libnvidia-ml.so.1",
    "libnvidia-ngx.so.1",
    "libnvidia-nvvm.so.1",
    "libnvidia-opencl.so.1",
    "libnvidia-opticalflow.so.1",
    "libnvidia-pkcs11-openssl3.so.1",
    "libnvidia-pkcs11.so.1",
    "libnvidia-ptxjitcompiler.so.1",
    "libnvidia-rtcore.so.1",
    "libnvidia-tls.so.1",
    "libnvoptix.so.1",
];

fn is_host_provided(lib: &str) -> bool {
    HOST_PROVIDED_LIBRARIES.contains(&lib)
}

/// melange's `sonameLibver`: the text between the first `.so.` and the
/// next one when it is only digits and dots, else `0`.
pub fn soname_version(soname: &str) -> String {
    let Some((_, rest)) = soname.split_once(".so.") else {
        return "0".into();
    };
    let libver = rest.split(".so.").next().unwrap_or_default();
    if libver.chars().all(|c| c == '.' || c.is_ascii_digit()) {
        libver.to_string()
    } else {
        "0".into()
    }
}

/// The dependency an interpreter path stands for: `so:<basename>`, with
/// musl's `ld-musl-*` loader named as the library it is
/// (`so:libc.musl-*`).
pub fn interpreter_dependency(interp: &str) -> String {
    format!("so:{}", base_name(interp)).replace("so:ld-musl", "so:libc.musl")
}

/// Reads an ELF file; I/O failures are errors, malformed files warnings.
fn inspect(ctx: &mut Ctx, path: &str, file: &FileInfo) -> Result<Option<ElfInfo>, ScaError> {
    match elf::inspect(&file.source) {
        Ok(info) => Ok(info),
        Err(e @ ElfError::Io { .. }) => Err(ScaError::Elf(e)),
        Err(e @ ElfError::Malformed { .. }) => {
            ctx.warn(path, e.to_string());
            Ok(None)
        }
    }
}

pub(crate) fn generate(ctx: &mut Ctx) -> Result<(), ScaError> {
    let tree = ctx.tree;
    for item in tree.walk() {
        let Some(entry) = tree.entry(item.node) else {
            continue;
        };
        let path = item.path.as_str();
        let file = match &entry.kind {
            Kind::Symlink(target) => {
                symlink_so(ctx, path, target)?;
                match tree.resolve_file(path) {
                    Some(f) => f,
                    None => continue,
                }
            }
            Kind::File => entry,
            Kind::Dir | Kind::Other => continue,
        };
        let Some(info) = inspect(ctx, path, file)? else {
            continue;
        };
        if let Some(interp) = &info.interpreter {
            ctx.runtime(path, interpreter_dependency(interp));
        }
        if let Some(err) = &info.dynamic_error {
            ctx.warn(path, format!("cannot read dynamic section: {err}"));
            continue;
        }
        for lib in &info.needed {
            if !is_host_provided(lib) && lib.contains(".so.") {
                ctx.runtime(path, format!("so:{lib}"));
            }
        }
        // Executables have an interpreter and no business providing a
        // soname, but some libraries are executable too (libc, libcap):
        // a name containing `.so` marks those.
        let base = base_of(path);
        if info.interpreter.is_none() || base.contains(".so.") || base.ends_with(".so") {
            let provided = is_in_dir(path, &ctx.lib_dirs);
            for soname in &info.sonames {
                if is_host_provided(soname) {
                    continue;
                }
                let so = format!("so:{soname}={}", soname_version(soname));
                let so_ver = format!("so-ver:{soname}={}", ctx.opts.version);
                if provided {
                    ctx.provide(path, so);
                    ctx.provide(path, so_ver);
                } else {
                    ctx.vendor(path, so);
                    ctx.vendor(path, so_ver);
                }
            }
        }
        if info.go_fips {
            ctx.runtime(path, "openssl-config-fipshardened".into());
            ctx.runtime(path, "so:libcrypto.so.3".into());
        }
    }
    Ok(())
}

/// melange's `processSymlinkSo`: a symlink whose path mentions `.so`
/// depends on the soname of the library its target's base name is in a
/// library directory of the first package of the build that has it (a
/// `-dev` package's `libfoo.so` thus depends on `so:libfoo.so.1` from the
/// main package).
fn symlink_so(ctx: &mut Ctx, path: &str, target: &str) -> Result<(), ScaError> {
    if !path.contains(".so") {
        return Ok(());
    }
    let real_base = base_name(target);
    let relatives = ctx.relatives;
    let found = relatives.iter().find_map(|rel: &Tree| {
        ctx.lib_dirs.iter().find_map(|dir| {
            let test = normalize(&format!("{dir}/{real_base}"))?;
            rel.resolve(&test).map(|_| (rel, test))
        })
    });
    let Some((rel, test)) = found else {
        return Ok(());
    };
    let Some(file) = rel.resolve_file(&test) else {
        return Ok(());
    };
    let Some(info) = inspect(ctx, path, file)? else {
        return Ok(());
    };
    if info.dynamic_error.is_some() {
        ctx.warn(path, "library lacks SONAME".into());
        return Ok(());
    }
    for soname in &info.sonames {
        if !is_host_provided(soname) {
            ctx.runtime(path, format!("so:{soname}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soname_versions() {
        assert_eq!(soname_version("libz.so.1"), "1");
        assert_eq!(soname_version("libblkid.so.1.1.0"), "1.1.0");
        assert_eq!(soname_version("libfoo.so"), "0");
        assert_eq!(soname_version("libaws-c-s3.so.0unstable"), "0");
        assert_eq!(soname_version("libx.so.1.so.2"), "1");
        assert_eq!(
            soname_version("libopenblas64_p-r0-0cf96a72.3.23.dev.so"),
            "0"
        );
        assert_eq!(soname_version("libodd.so."), "");
    }

    #[test]
    fn interpreters() {
        assert_eq!(
            interpreter_dependency("/lib/ld-musl-x86_64.so.1"),
            "so:libc.musl-x86_64.so.1"
        );
        assert_eq!(
            interpreter_dependency("/lib64/ld-linux-x86-64.so.2"),
            "so:ld-linux-x86-64.so.2"
        );
        assert_eq!(
            interpreter_dependency("/lib/ld-linux-aarch64.so.1"),
            "so:ld-linux-aarch64.so.1"
        );
    }
}
