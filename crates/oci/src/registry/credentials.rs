//! Credentials: the [`Keychain`] trait and the docker config file
//! (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`) with its
//! `auths`, `credHelpers` and `credsStore` entries.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::RegistryError;
use super::reference::{DOCKER_HUB, DOCKER_HUB_CONFIG_KEY, normalize_registry};

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password (or personal access token).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`), exchanged at the
    /// registry's token service.
    IdentityToken(String),
}

impl Credentials {
    /// Basic credentials.
    pub fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// The user name, if any (for error messages).
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Basic { username, .. } => Some(username),
            Credentials::IdentityToken(_) => None,
        }
    }

    /// `Basic <base64(user:password)>`, for basic credentials.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            )),
            Credentials::IdentityToken(_) => None,
        }
    }
}

/// Never shows secrets.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Finds credentials for a registry host.
pub trait Keychain: Send + Sync {
    /// Credentials for `registry` (`host[:port]`, Docker Hub as
    /// `index.docker.io`), or `None` for anonymous access.
    fn credentials(&self, registry: &str) -> Result<Option<Credentials>, RegistryError>;
}

/// No credentials for anyone.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anonymous;

impl Keychain for Anonymous {
    fn credentials(&self, _registry: &str) -> Result<Option<Credentials>, RegistryError> {
        Ok(None)
    }
}

/// Fixed credentials per registry host.
#[derive(Clone, Debug, Default)]
pub struct StaticKeychain {
    entries: Vec<(String, Credentials)>,
}

impl StaticKeychain {
    /// Credentials for one registry.
    pub fn single(registry: &str, credentials: Credentials) -> StaticKeychain {
        StaticKeychain {
            entries: vec![(normalize_registry(registry), credentials)],
        }
    }
}

impl Keychain for StaticKeychain {
    fn credentials(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        let registry = normalize_registry(registry);
        Ok(self
            .entries
            .iter()
            .find(|(r, _)| *r == registry)
            .map(|(_, c)| c.clone()))
    }
}

/// One `auths` entry.
#[derive(Clone, Debug, Default, serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

/// The docker CLI's config file, read once.
///
/// Lookup order for a registry is docker's: its `credHelpers` entry, else
/// `credsStore`, else its `auths` entry. Helpers are run as
/// `docker-credential-<name> get` with the server address on stdin.
#[derive(Debug, Default)]
pub struct DockerConfig {
    path: Option<PathBuf>,
    file: ConfigFile,
    helper_dir: Option<PathBuf>,
}

/// Where a login was saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredIn {
    /// In the config file's `auths`.
    ConfigFile(PathBuf),
    /// In a credential helper (its name).
    Helper(String),
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".docker/config.json"))
    }

    /// Reads the default config; a missing file means no credentials.
    pub fn load_default() -> Result<DockerConfig, RegistryError> {
        match Self::default_path() {
            Some(p) => Self::load(&p),
            None => Ok(DockerConfig::default()),
        }
    }

    /// Reads `path`; a missing file means no credentials.
    pub fn load(path: &Path) -> Result<DockerConfig, RegistryError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DockerConfig {
                    path: Some(path.to_path_buf()),
                    ..DockerConfig::default()
                });
            }
            Err(e) => {
                return Err(RegistryError::DockerConfig {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
            }
        };
        Self::from_json(&bytes, path)
    }

    /// Parses config JSON; `path` is only used in errors.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<DockerConfig, RegistryError> {
        let file: ConfigFile =
            serde_json::from_slice(bytes).map_err(|e| RegistryError::DockerConfig {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(DockerConfig {
            path: Some(path.to_path_buf()),
            file,
            helper_dir: None,
        })
    }

    /// Runs credential helpers from `dir` instead of `$PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> DockerConfig {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The helper responsible for `registry`, if any.
    fn helper_for(&self, registry: &str) -> Option<&str> {
        self.file
            .cred_helpers
            .iter()
            .find(|(k, _)| normalize_registry(k) == registry)
            .map(|(_, v)| v.as_str())
            .or(self.file.creds_store.as_deref())
            .filter(|h| !h.is_empty())
    }

    fn helper_program(&self, helper: &str) -> PathBuf {
        let name = format!("docker-credential-{helper}");
        match &self.helper_dir {
            Some(d) => d.join(name),
            None => PathBuf::from(name),
        }
    }

    fn lookup_auths(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        let Some((key, entry)) = self
            .file
            .auths
            .iter()
            .find(|(k, _)| normalize_registry(k) == registry)
        else {
            return Ok(None);
        };
        let bad = |message: String| RegistryError::DockerConfig {
            path: self.path.clone().unwrap_or_default(),
            message,
        };
        if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::IdentityToken(token.to_owned())));
        }
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let raw = STANDARD
                .decode(auth.trim())
                .map_err(|e| bad(format!("auths.{key}.auth is not base64: {e}")))?;
            let text = String::from_utf8(raw)
                .map_err(|_| bad(format!("auths.{key}.auth is not UTF-8")))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| bad(format!("auths.{key}.auth is not base64 of USER:PASSWORD")))?;
            return Ok(Some(Credentials::basic(user, pass)));
        }
        match (&entry.username, &entry.password) {
            (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials::basic(u, p))),
            _ => Ok(None),
        }
    }

    fn helper_get(
        &self,
        helper: &str,
        registry: &str,
    ) -> Result<Option<Credentials>, RegistryError> {
        let err = |message: String| RegistryError::CredentialHelper {
            helper: helper.to_owned(),
            action: "get".to_owned(),
            registry: registry.to_owned(),
            message,
        };
        let out = run_helper(
            &self.helper_program(helper),
            "get",
            config_key(registry).as_bytes(),
        )
        .map_err(err)?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            if msg.to_ascii_lowercase().contains("credentials not found") {
                return Ok(None);
            }
            return Err(err(format!("{}: {}", out.status, msg.trim())));
        }
        #[derive(serde::Deserialize)]
        struct HelperAnswer {
            #[serde(rename = "Username", default)]
            username: String,
            #[serde(rename = "Secret", default)]
            secret: String,
        }
        let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
            .map_err(|e| err(format!("answer is not the expected JSON: {e}")))?;
        if answer.username == "<token>" {
            return Ok(Some(Credentials::IdentityToken(answer.secret)));
        }
        if answer.username.is_empty() && answer.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credentials::basic(&answer.username, &answer.secret)))
    }

    /// The config file this was read from (or would be written to).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Saves `credentials` for `registry` the way `docker login` does:
    /// through the responsible credential helper if one is configured, else
    /// as base64 `auth` in `auths` of the config file (re-read, then written
    /// atomically with mode 0600; every other entry is kept).
    pub fn store_credentials(
        &self,
        registry: &str,
        credentials: &Credentials,
    ) -> Result<StoredIn, RegistryError> {
        let registry = normalize_registry(registry);
        if let Some(helper) = self.helper_for(&registry) {
            let (user, secret) = match credentials {
                Credentials::Basic { username, password } => (username.as_str(), password.as_str()),
                Credentials::IdentityToken(t) => ("<token>", t.as_str()),
            };
            let payload = serde_json::json!({
                "ServerURL": config_key(&registry),
                "Username": user,
                "Secret": secret,
            });
            let err = |message: String| RegistryError::CredentialHelper {
                helper: helper.to_owned(),
                action: "store".to_owned(),
                registry: registry.clone(),
                message,
            };
            let out = run_helper(
                &self.helper_program(helper),
                "store",
                payload.to_string().as_bytes(),
            )
            .map_err(err)?;
            if !out.status.success() {
                return Err(err(format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            return Ok(StoredIn::Helper(helper.to_owned()));
        }
        let Some(path) = self.path.as_deref() else {
            return Err(RegistryError::DockerConfig {
                path: PathBuf::from("~/.docker/config.json"),
                message: "neither DOCKER_CONFIG nor HOME is set".into(),
            });
        };
        let bad = |message: String| RegistryError::DockerConfig {
            path: path.to_path_buf(),
            message,
        };
        let existing = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(bad(e.to_string())),
        };
        let mut root: serde_json::Map<String, serde_json::Value> =
            if existing.iter().all(u8::is_ascii_whitespace) {
                serde_json::Map::new()
            } else {
                serde_json::from_slice(&existing)
                    .map_err(|e| bad(format!("not a JSON object, refusing to overwrite: {e}")))?
            };
        let entry = match credentials {
            Credentials::Basic { username, password } => {
                serde_json::json!({ "auth": STANDARD.encode(format!("{username}:{password}")) })
            }
            Credentials::IdentityToken(t) => serde_json::json!({ "identitytoken": t }),
        };
        let auths = root
            .entry("auths")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        let Some(auths) = auths.as_object_mut() else {
            return Err(bad("`auths` is not an object, refusing to overwrite".into()));
        };
        // Drop aliases of the same registry (`https://host`, `host/v2/`).
        auths.retain(|k, _| normalize_registry(k) != registry);
        auths.insert(config_key(&registry), entry);
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&root, &mut ser).map_err(|e| bad(e.to_string()))?;
        out.push(b'\n');
        write_private(path, &out).map_err(|source| RegistryError::WriteDockerConfig {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(StoredIn::ConfigFile(path.to_path_buf()))
    }
}

impl Keychain for DockerConfig {
    fn credentials(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        let registry = normalize_registry(registry);
        if let Some(helper) = self.helper_for(&registry) {
            return self.helper_get(helper, &registry);
        }
        self.lookup_auths(&registry)
    }
}

/// The key docker uses for a registry in its config and helpers.
pub fn config_key(registry: &str) -> String {
    let registry = normalize_registry(registry);
    if registry == DOCKER_HUB {
        DOCKER_HUB_CONFIG_KEY.to_owned()
    } else {
        registry
    }
}

fn run_helper(program: &Path, action: &str, input: &[u8]) -> Result<std::process::Output, String> {
    let mut child = Command::new(program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(input) {
            // A helper that does not read its input is not our problem.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(format!("writing to {}: {e}", program.display()));
            }
            _ => {}
        }
    }
    child
        .wait_with_output()
        .map_err(|e| format!("waiting for {}: {e}", program.display()))
}

/// Writes `bytes` to a 0600 temp file beside `path` and renames it over
/// `path`; creates the directory (0700) if needed.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&dir)?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    scratch::check_replaceable(path)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Credentials, DockerConfig, Keychain, StoredIn};

    fn config(json: &str) -> DockerConfig {
        DockerConfig::from_json(json.as_bytes(), Path::new("config.json")).unwrap()
    }

    #[test]
    fn auths_entries_in_all_spellings() {
        let c = config(
            r#"{"auths":{
                "127.0.0.1:5000":{"auth":"dTpwOnc="},
                "https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="},
                "https://ghcr.io":{"username":"gh","password":"pat"},
                "tok.example":{"identitytoken":"refresh"},
                "empty.example":{}
            },"HttpHeaders":{"X":"y"}}"#,
        );
        assert_eq!(
            c.credentials("127.0.0.1:5000").unwrap(),
            Some(Credentials::basic("u", "p:w"))
        );
        for hub in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(
                c.credentials(hub).unwrap(),
                Some(Credentials::basic("hub", "secret"))
            );
        }
        assert_eq!(
            c.credentials("ghcr.io").unwrap(),
            Some(Credentials::basic("gh", "pat"))
        );
        assert_eq!(
            c.credentials("tok.example").unwrap(),
            Some(Credentials::IdentityToken("refresh".into()))
        );
        assert_eq!(c.credentials("empty.example").unwrap(), None);
        assert_eq!(c.credentials("other.example").unwrap(), None);
        assert_eq!(c.credentials("127.0.0.1:5001").unwrap(), None);
        // Corrupt entries are reported with the file and key.
        let bad = config(r#"{"auths":{"r.io":{"auth":"!!!"}}}"#);
        let e = bad.credentials("r.io").unwrap_err().to_string();
        assert!(
            e.contains("config.json") && e.contains("auths.r.io.auth"),
            "{e}"
        );
        assert!(DockerConfig::from_json(b"[1]", Path::new("c.json")).is_err());
    }

    #[cfg(unix)]
    fn helper(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn credential_helpers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // `get` echoes the server URL it was asked about as the user name.
        helper(
            d,
            "echo",
            r#"read url; [ "$1" = get ] && printf '{"ServerURL":"%s","Username":"%s","Secret":"s3"}' "$url" "$url""#,
        );
        helper(
            d,
            "none",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        helper(d, "broken", "echo boom >&2; exit 3");
        helper(d, "tok", r#"printf '{"Username":"<token>","Secret":"rt"}'"#);
        let c = config(
            r#"{"auths":{"a.io":{"auth":"dTpw"}},
                "credHelpers":{"a.io":"echo","b.io":"none","c.io":"broken","d.io":"tok"},
                "credsStore":"echo"}"#,
        )
        .with_helper_dir(d);
        // credHelpers wins over auths; credsStore covers the rest.
        assert_eq!(
            c.credentials("a.io").unwrap(),
            Some(Credentials::basic("a.io", "s3"))
        );
        assert_eq!(
            c.credentials("docker.io").unwrap(),
            Some(Credentials::basic("https://index.docker.io/v1/", "s3"))
        );
        assert_eq!(c.credentials("b.io").unwrap(), None);
        let e = c.credentials("c.io").unwrap_err().to_string();
        assert!(
            e.contains("docker-credential-broken") && e.contains("c.io") && e.contains("boom"),
            "{e}"
        );
        assert_eq!(
            c.credentials("d.io").unwrap(),
            Some(Credentials::IdentityToken("rt".into()))
        );
        let missing = config(r#"{"credsStore":"missing"}"#).with_helper_dir(d);
        let e = missing.credentials("x.io").unwrap_err().to_string();
        assert!(e.contains("docker-credential-missing"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn store_keeps_other_entries_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        let store = |registry: &str, user: &str, pass: &str| {
            DockerConfig::load(&path)
                .unwrap()
                .store_credentials(registry, &Credentials::basic(user, pass))
        };
        // A fresh file (and directory).
        let stored = store("127.0.0.1:5000", "u", "p").unwrap();
        assert_eq!(stored, StoredIn::ConfigFile(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Other keys and entries survive; the same registry is replaced.
        std::fs::write(
            &path,
            r#"{"auths":{"other.io":{"auth":"eDp5"},"http://127.0.0.1:5000/v2/":{"auth":"b2xkOm9sZA=="}},"psFormat":"table"}"#,
        )
        .unwrap();
        store("127.0.0.1:5000", "u", "p").unwrap();
        store("docker.io", "h", "s").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["psFormat"], "table");
        assert_eq!(v["auths"]["other.io"]["auth"], "eDp5");
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "dTpw");
        assert!(v["auths"].get("http://127.0.0.1:5000/v2/").is_none());
        assert_eq!(v["auths"]["https://index.docker.io/v1/"]["auth"], "aDpz");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let read = DockerConfig::load(&path).unwrap();
        assert_eq!(
            read.credentials("127.0.0.1:5000").unwrap(),
            Some(Credentials::basic("u", "p"))
        );
        // Not JSON: refused, file untouched.
        let valid = DockerConfig::load(&path).unwrap();
        std::fs::write(&path, "not json").unwrap();
        let e = valid
            .store_credentials("r.io", &Credentials::basic("u", "p"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
    }

    #[cfg(unix)]
    #[test]
    fn store_goes_through_the_helper() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        helper(d, "keep", &format!("cat > {}/stored.$1", d.display()));
        let path = d.join("config.json");
        let original = r#"{"credHelpers":{"r.io":"keep"}}"#;
        std::fs::write(&path, original).unwrap();
        let c = DockerConfig::load(&path).unwrap().with_helper_dir(d);
        let stored = c
            .store_credentials("r.io", &Credentials::basic("u", "p"))
            .unwrap();
        assert_eq!(stored, StoredIn::Helper("keep".into()));
        let sent: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("stored.store")).unwrap()).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"ServerURL": "r.io", "Username": "u", "Secret": "p"})
        );
        // The file itself is left alone.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }
}
