//! Reading configuration files: YAML decoding with positions, `include:`
//! resolution and merging, and the config checksum.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ConfigError, SourcePos};
use crate::types::{Config, Entrypoint};

/// How to find configuration files.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Directory that relative paths are resolved against; the process's
    /// working directory when `None`.
    pub cwd: Option<PathBuf>,
    /// Directories searched, in order, for a config or `include:` target
    /// that is not found relative to `cwd` (apko's `--include-paths`).
    pub include_paths: Vec<PathBuf>,
}

/// A configuration loaded from a file with its includes merged in.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The merged configuration (not yet validated: apply command-line
    /// overrides, then call [`Config::validate`]).
    pub config: Config,
    /// `sha256-<base64>` over the raw bytes of every file read, in reading
    /// order: the file itself, then what it includes (apko's lock-file
    /// `config.checksum`).
    pub checksum: String,
    /// Every file read, in the same order, as named in error messages.
    pub files: Vec<PathBuf>,
    /// Where each repository line was written (outermost file first).
    pub repository_positions: Vec<(String, SourcePos)>,
    /// Things worth telling the user that do not make the config invalid.
    pub warnings: Vec<crate::scan::ConfigWarning>,
}

impl LoadedConfig {
    /// Where the repository line `repo` (as written, trailing `/` trimmed)
    /// was declared, if it came from a file.
    pub fn repository_position(&self, repo: &str) -> Option<&SourcePos> {
        let repo = repo.trim_end_matches('/');
        self.repository_positions
            .iter()
            .find(|(text, _)| text == repo)
            .map(|(_, pos)| pos)
    }
}

impl Config {
    /// Loads `path` and, recursively, the file named by its `include:`,
    /// merging each included file under the one including it (see
    /// [`Config::merge_base`]).
    ///
    /// As in apko, `path` and every `include:` value are looked up relative
    /// to the working directory first, then under each include path; repository
    /// URLs lose trailing slashes; and a config with `contents.baseimage` may
    /// set nothing but `contents`, `archs` and `include`. Include cycles are
    /// an error.
    pub fn load(
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<LoadedConfig, ConfigError> {
        let mut loader = Loader {
            options,
            hasher: Sha256::new(),
            files: Vec::new(),
            stack: Vec::new(),
            scan: crate::scan::Scan::default(),
        };
        let (display, real) = loader.resolve(path.as_ref())?;
        let config = loader.load_file(display, real)?;
        let checksum = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(loader.hasher.finalize())
        );
        Ok(LoadedConfig {
            config,
            checksum,
            files: loader.files,
            repository_positions: loader.scan.repositories,
            warnings: loader.scan.warnings,
        })
    }

    /// Parses one YAML document without resolving its `include:` (which is
    /// kept as a plain value). `file` names the source in error messages.
    /// Repository URLs lose trailing slashes and the base-image restriction is
    /// checked, as when loading.
    pub fn parse_str(yaml: &str, file: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let file: Arc<Path> = Arc::from(file.as_ref());
        let mut config = decode(yaml.as_bytes(), &file)?;
        finish(&mut config, &file)?;
        Ok(config)
    }
}

struct Loader<'a> {
    options: &'a LoadOptions,
    hasher: Sha256,
    files: Vec<PathBuf>,
    /// Canonical paths of the files being loaded, outermost first, with
    /// their display names.
    stack: Vec<(PathBuf, PathBuf)>,
    /// Positions and warnings of every file read.
    scan: crate::scan::Scan,
}

impl Loader<'_> {
    fn real_path(&self, path: &Path) -> PathBuf {
        match &self.options.cwd {
            Some(cwd) => cwd.join(path),
            None => path.to_path_buf(),
        }
    }

    /// apko's `paths.ResolvePath`: the path itself, then each include path
    /// joined with it. Returns (display name, path to open).
    fn resolve(&self, path: &Path) -> Result<(PathBuf, PathBuf), ConfigError> {
        let mut candidates = vec![path.to_path_buf()];
        for dir in &self.options.include_paths {
            // Go's path.Join: an absolute `path` is appended, not substituted.
            let relative: PathBuf = path
                .components()
                .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
                .collect();
            candidates.push(dir.join(relative));
        }
        for candidate in &candidates {
            let real = self.real_path(candidate);
            if fs::metadata(&real).is_ok() {
                return Ok((candidate.clone(), real));
            }
        }
        Err(ConfigError::NotFound {
            at: None,
            path: path.to_path_buf(),
            searched: candidates,
        })
    }

    fn load_file(&mut self, display: PathBuf, real: PathBuf) -> Result<Config, ConfigError> {
        let canonical = fs::canonicalize(&real).unwrap_or_else(|_| real.clone());
        if self.stack.iter().any(|(c, _)| *c == canonical) {
            let mut chain: Vec<PathBuf> = self.stack.iter().map(|(_, d)| d.clone()).collect();
            chain.push(display);
            return Err(ConfigError::IncludeCycle { chain });
        }
        let bytes = fs::read(&real).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        self.hasher.update(&bytes);
        self.files.push(display.clone());
        let file: Arc<Path> = Arc::from(display.as_path());
        let mut config = decode(&bytes, &file)?;
        let found = crate::scan::scan(&bytes, &file);
        self.scan.repositories.extend(found.repositories);
        self.scan.warnings.extend(found.warnings);
        if !config.include.is_empty() {
            let (inc_display, inc_real) =
                self.resolve(Path::new(&config.include)).map_err(|mut e| {
                    if let ConfigError::NotFound { at, .. } = &mut e {
                        *at = Some(include_pos(&bytes, &file));
                    }
                    e
                })?;
            self.stack.push((canonical, display));
            let base = self.load_file(inc_display, inc_real)?;
            self.stack.pop();
            config.merge_base(base);
        }
        finish(&mut config, &file)?;
        Ok(config)
    }
}

/// Where the `include:` value is, for "not found" errors.
fn include_pos(bytes: &[u8], file: &Arc<Path>) -> SourcePos {
    #[derive(Deserialize)]
    struct IncludeOnly {
        #[serde(default)]
        include: Option<serde_saphyr::Spanned<String>>,
    }
    let pos = serde_saphyr::from_slice_with_options::<IncludeOnly>(bytes, goyaml::options())
        .ok()
        .and_then(|d| d.include)
        .map(|s| (s.referenced.line(), s.referenced.column()));
    match pos {
        Some((line, column)) => SourcePos {
            file: Arc::clone(file),
            line,
            column,
        },
        None => SourcePos {
            file: Arc::clone(file),
            line: 0,
            column: 0,
        },
    }
}

/// Decodes one document (yaml.v3's `Decoder.Decode` reads only the first
/// of several) and records the file in every item's origin.
fn decode(bytes: &[u8], file: &Arc<Path>) -> Result<Config, ConfigError> {
    let config = goyaml::first_document::<Config>(bytes).map_err(|e| ConfigError::Parse {
        at: SourcePos {
            file: Arc::clone(file),
            line: e.line,
            column: e.column,
        },
        message: e.message,
    })?;
    let Some(mut config) = config else {
        // yaml.v3 fails with EOF on a document without content.
        return Err(ConfigError::Parse {
            at: SourcePos {
                file: Arc::clone(file),
                line: 0,
                column: 0,
            },
            message: "the configuration is empty".to_string(),
        });
    };
    stamp(&mut config, file);
    Ok(config)
}

fn stamp(config: &mut Config, file: &Arc<Path>) {
    for e in &mut config.contents.runtime_keyring {
        e.origin.stamp(file);
    }
    for u in &mut config.accounts.users {
        u.origin.stamp(file);
    }
    for g in &mut config.accounts.groups {
        g.origin.stamp(file);
    }
    for p in &mut config.paths {
        p.origin.stamp(file);
    }
    if let Some(certs) = &mut config.certificates {
        for c in &mut certs.additional {
            c.origin.stamp(file);
        }
    }
}

/// What apko's `parse` does after decoding (and merging the include).
fn finish(config: &mut Config, file: &Arc<Path>) -> Result<(), ConfigError> {
    for repos in [
        &mut config.contents.build_repositories,
        &mut config.contents.runtime_repositories,
        &mut config.contents.repositories,
    ] {
        for repo in repos.iter_mut() {
            let trimmed = repo.trim_end_matches('/').len();
            repo.truncate(trimmed);
        }
    }
    if config.contents.baseimage.is_some()
        && (config.entrypoint != Entrypoint::default()
            || !config.cmd.is_empty()
            || !config.stop_signal.is_empty()
            || !config.work_dir.is_empty()
            || !config.accounts.is_empty()
            || !config.environment.is_empty()
            || !config.paths.is_empty()
            || !config.annotations.is_empty())
    {
        return Err(ConfigError::Invalid {
            at: Some(SourcePos {
                file: Arc::clone(file),
                line: 0,
                column: 0,
            }),
            message: "when using base image, the only supported image specification are: \
                      contents, archs and includes"
                .to_string(),
        });
    }
    Ok(())
}
