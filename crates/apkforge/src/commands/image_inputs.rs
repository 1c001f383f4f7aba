//! What `image size` and `image diff` accept: an apko config (built
//! first, from the cache where possible), an apko lock file, an OCI layout
//! or a docker archive; each read into an [`insight::Inventory`].

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use insight::Inventory;

use crate::cli::ResolveArgs;
use crate::commands::image_build::{BuildInputs, build_config};

/// The kinds of input.
enum Input {
    Layout,
    Archive,
    Lock,
    Config,
}

fn classify(path: &Path) -> Result<Input> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading `{}`", path.display()))?;
    if meta.is_dir() {
        if path.join("oci-layout").is_file() {
            return Ok(Input::Layout);
        }
        bail!("`{}` is a directory but not an OCI layout", path.display());
    }
    let mut head = vec![0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| format!("reading `{}`", path.display()))?;
    head.truncate(n);
    if n == 512 && &head[257..262] == b"ustar" {
        return Ok(Input::Archive);
    }
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Input::Lock);
    }
    Ok(Input::Config)
}

/// The apk arch named by `--arch` (at most one), if any.
fn wanted_arch(flags: &ResolveArgs) -> Result<Option<String>> {
    let archs = image_config::Arch::parse_list(&flags.arch).context("--arch")?;
    match archs.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.apk_name().to_string())),
        _ => bail!("give one --arch"),
    }
}

/// Reads `path` into an inventory of one architecture.
pub fn inventory(path: &Path, flags: &ResolveArgs) -> Result<Inventory> {
    let arch = wanted_arch(flags)?;
    match classify(path)? {
        Input::Layout | Input::Archive => {
            let images = oci::read::read_images(path)?;
            let pick = match &arch {
                Some(a) => {
                    let platform = oci::Platform::from_apk_arch(a)
                        .with_context(|| format!("unknown architecture `{a}`"))?;
                    images
                        .iter()
                        .find(|i| i.platform == platform)
                        .with_context(|| {
                            format!(
                                "`{}` has no {a} image (it has {})",
                                path.display(),
                                images
                                    .iter()
                                    .map(|i| i.platform.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })?
                }
                None => images
                    .iter()
                    .find(|i| i.platform == oci::Platform::linux("amd64", None))
                    .unwrap_or(&images[0]),
            };
            let streams = pick
                .layers
                .iter()
                .map(|l| l.open())
                .collect::<std::io::Result<Vec<_>>>()
                .with_context(|| format!("reading the layers of `{}`", path.display()))?;
            let compressed = pick.layers.iter().map(|l| l.size).sum();
            let arch_name = pick
                .platform
                .apk_arch()
                .map_or_else(|| pick.platform.to_string(), str::to_string);
            Inventory::from_layers(&arch_name, streams, Some(compressed))
                .with_context(|| format!("reading `{}`", path.display()))
        }
        Input::Lock => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
            let archs = Inventory::lock_archs(&bytes)
                .with_context(|| format!("reading `{}`", path.display()))?;
            let a = match arch {
                Some(a) => a,
                None => archs
                    .iter()
                    .find(|a| *a == "x86_64")
                    .or(archs.first())
                    .cloned()
                    .with_context(|| format!("`{}` locks no packages", path.display()))?,
            };
            Ok(Inventory::from_lock(&bytes, &a)?)
        }
        Input::Config => {
            let work = scratch::TempDir::new_in(&std::env::temp_dir(), ".apkforge-inspect-")
                .context("creating a work directory")?;
            let built = build_config(&BuildInputs {
                config: path,
                resolve: flags,
                annotations: &[],
                lockfile: None,
                build_date: None,
                compression_level: 6,
                work_dir: work.path(),
                vcs: false,
            })?;
            let pick = match &arch {
                Some(a) => built.archs.iter().find(|x| &x.arch == a),
                None => built
                    .archs
                    .iter()
                    .find(|x| x.arch == "x86_64")
                    .or(built.archs.first()),
            }
            .context("the build made no image")?;
            let blobs: Vec<PathBuf> = pick.image.layers.iter().map(|l| l.blob.clone()).collect();
            let mut streams: Vec<Box<dyn Read>> = Vec::new();
            for b in &blobs {
                let f =
                    std::fs::File::open(b).with_context(|| format!("reading `{}`", b.display()))?;
                streams.push(Box::new(flate2::read::MultiGzDecoder::new(
                    std::io::BufReader::with_capacity(1 << 16, f),
                )));
            }
            let compressed = pick.image.layers.iter().map(|l| l.size).sum();
            Ok(Inventory::from_layers(
                &pick.arch,
                streams,
                Some(compressed),
            )?)
        }
    }
}
