//! The build environment: `environment.contents` installed with the image
//! engine and written to a directory the sandbox uses as `/`.

use std::path::Path;

use recipe::CompiledRecipe;

use crate::{BuildOptions, Log, PkgBuildError};

struct Progress<'a>(&'a dyn Log);
impl image::Reporter for Progress<'_> {
    fn phase(&self, message: &str) {
        self.0.line(&format!("    {message}"));
    }
}

/// Resolves, installs and writes the build environment to `root`; returns
/// the installed packages as `name=version`, sorted (the locked
/// environment melange records in `.melange.yaml`).
pub fn assemble(
    recipe: &CompiledRecipe,
    opts: &BuildOptions<'_>,
    arch: &str,
    root: &Path,
    log: &dyn Log,
) -> Result<Vec<String>, PkgBuildError> {
    let c = &recipe.environment.contents;
    let strings = |v: &[recipe::Str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut repositories = strings(&c.repositories);
    repositories.extend(opts.repository_append.iter().cloned());
    let mut keyring = strings(&c.keyring);
    keyring.extend(opts.keyring_append.iter().cloned());
    let req = image::BuildRequest {
        archs: vec![arch.to_string()],
        repositories,
        build_repositories: strings(&c.build_repositories),
        keyring,
        packages: strings(&c.packages),
        ..Default::default()
    };
    let bopts = image::BuildOptions {
        cache_dir: opts.cache_dir.clone(),
        offline: false,
        ignore_signatures: opts.ignore_signatures,
        source_date_epoch: Some(opts.source_date_epoch),
        compression_level: 1,
        jobs: 8,
        work_dir: root.to_path_buf(),
        lock: None,
    };
    let progress = Progress(log);
    let mut client = image::build::client(&bopts);
    let keys = image::build::load_keys(&mut client, &req)?;
    let key_files: Vec<(String, Vec<u8>)> = keys.into_iter().map(|(n, _, pem)| (n, pem)).collect();
    let resolved = image::build::resolve(&client, &req, &progress)?;
    let (_, packages) = resolved
        .into_iter()
        .next()
        .ok_or(image::BuildError::NoArchs)?;
    let mut locked: Vec<String> = packages
        .iter()
        .map(|(_, p)| format!("{}={}", p.name, p.version))
        .collect();
    locked.sort();
    let assembled = image::build::assemble(
        &client, &req, &bopts, arch, &packages, &key_files, &progress,
    )?;
    rootfs::extract::write_to_dir(&assembled.tree, root)?;
    for d in ["home/build", "proc", "dev", "tmp"] {
        let p = root.join(d);
        std::fs::create_dir_all(&p).map_err(|source| PkgBuildError::Work { path: p, source })?;
    }
    Ok(locked)
}
