//! Key discovery, as apko does it when a config lists no keys: Alpine
//! repositories (`…/alpine/<branch>/<repo>`) get the keys Alpine's
//! `releases.json` lists for that branch and arch; any remote repository
//! may publish `<repo>/apk-configuration` naming a JWKS of RSA keys
//! (Chainguard's scheme).

use base64::Engine as _;
use serde::Deserialize;

use crate::location::{Location, RepoLine};
use crate::{RepoClient, RepoError};

/// Where Alpine publishes its release branches and their keys.
pub const ALPINE_RELEASES_URL: &str = "https://alpinelinux.org/releases.json";

/// The release branch (`v3.19`, `edge`) of an Alpine repository URL.
pub fn alpine_branch(repo: &RepoLine) -> Option<String> {
    let Location::Remote(url) = &repo.location else {
        return None;
    };
    let path = url.split_once("://")?.1;
    let mut parts: Vec<&str> = path.split('/').collect();
    let repo_name = parts.pop()?;
    let branch = parts.pop()?;
    (parts.len() >= 2
        && parts.last() == Some(&"alpine")
        && !repo_name.is_empty()
        && !branch.is_empty())
    .then(|| branch.to_string())
}

#[derive(Deserialize)]
struct Releases {
    #[serde(default)]
    release_branches: Vec<Branch>,
}

#[derive(Deserialize)]
struct Branch {
    rel_branch: String,
    #[serde(default)]
    keys: std::collections::BTreeMap<String, Vec<ReleaseKey>>,
}

#[derive(Deserialize)]
struct ReleaseKey {
    url: String,
    #[serde(default)]
    deprecated_since: Option<String>,
}

#[derive(Deserialize)]
struct ApkConfiguration {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: String,
    #[serde(default)]
    kty: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    e: String,
}

fn discovery_error(repo: &RepoLine, reason: String) -> RepoError {
    RepoError::Discovery {
        repository: repo.to_string(),
        reason,
    }
}

impl RepoClient {
    fn fetch_json<T: for<'de> Deserialize<'de>>(
        &self,
        bucket: &str,
        url: &str,
        repo: &RepoLine,
    ) -> Result<Option<T>, RepoError> {
        let path = match self.cached_download(bucket, url, "document.json") {
            Ok(p) => p,
            Err(RepoError::Http(crate::HttpError::Status { status: 404, .. })) => return Ok(None),
            Err(e) => return Err(e),
        };
        let bytes = std::fs::read(&path).map_err(|source| RepoError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            discovery_error(
                repo,
                format!("`{url}` is not the JSON document expected: {e}"),
            )
        })
    }

    /// Keys for `repo` found by Alpine's or Chainguard's discovery, as
    /// (file name, PEM). Empty when the repository offers none.
    pub fn discover_keys(
        &self,
        repo: &RepoLine,
        arch: &str,
        today: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
        let Location::Remote(url) = &repo.location else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        if let Some(branch) = alpine_branch(repo) {
            let releases_url = std::env::var("APKFORGE_ALPINE_RELEASES_URL")
                .unwrap_or_else(|_| ALPINE_RELEASES_URL.to_string());
            if let Some(releases) =
                self.fetch_json::<Releases>("discovery-v1", &releases_url, repo)?
            {
                let listed = releases
                    .release_branches
                    .iter()
                    .filter(|b| b.rel_branch == branch)
                    .flat_map(|b| b.keys.get(arch).into_iter().flatten())
                    .filter(|k| {
                        k.deprecated_since
                            .as_deref()
                            .is_none_or(|d| d.is_empty() || d > today)
                    });
                for k in listed {
                    // Alpine's list spells `@` as `%20`, as apko works around.
                    let key_url = k.url.replace("%20", "@").replace("%40", "@");
                    let (key, pem) = self.load_key_pem(&key_url)?;
                    keys.push((key.name, pem));
                }
            }
        }
        if let Some(conf) = self.fetch_json::<ApkConfiguration>(
            "discovery-v1",
            &format!("{url}/apk-configuration"),
            repo,
        )? {
            let jwks: Jwks = self
                .fetch_json("discovery-v1", &conf.jwks_uri, repo)?
                .ok_or_else(|| {
                    discovery_error(repo, format!("JWKS `{}` not found", conf.jwks_uri))
                })?;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            for k in jwks.keys {
                if k.kid.is_empty() || k.kty != "RSA" {
                    return Err(discovery_error(
                        repo,
                        format!("JWKS key `{}` is not an RSA key with a kid", k.kid),
                    ));
                }
                let bad =
                    |what: &str| discovery_error(repo, format!("JWKS key `{}`: bad {what}", k.kid));
                let n = b64
                    .decode(k.n.trim_end_matches('='))
                    .map_err(|_| bad("modulus"))?;
                let e = b64
                    .decode(k.e.trim_end_matches('='))
                    .map_err(|_| bad("exponent"))?;
                let name = format!("{}.rsa.pub", k.kid);
                apk_format::names::check_file_name(&name).map_err(|e| {
                    discovery_error(repo, format!("JWKS key `{}`: {e}", k.kid.escape_debug()))
                })?;
                let key = apk_format::signing::PublicKey::from_rsa_components(name.clone(), &n, &e)
                    .map_err(|source| RepoError::Key {
                        location: Location::Remote(conf.jwks_uri.clone()),
                        source,
                    })?;
                let pem = key.to_pem().map_err(|source| RepoError::Key {
                    location: Location::Remote(conf.jwks_uri.clone()),
                    source,
                })?;
                keys.push((name, pem.into_bytes()));
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpine_branches() {
        let b = |s: &str| alpine_branch(&RepoLine::parse(s));
        assert_eq!(
            b("https://dl-cdn.alpinelinux.org/alpine/v3.22/main").as_deref(),
            Some("v3.22")
        );
        assert_eq!(
            b("https://dl-cdn.alpinelinux.org/alpine/edge/community/").as_deref(),
            Some("edge")
        );
        assert_eq!(
            b("@testing https://mirror.example/alpine/edge/testing").as_deref(),
            Some("edge")
        );
        assert_eq!(b("https://packages.wolfi.dev/os"), None);
        assert_eq!(b("/srv/alpine/v3.19/main"), None);
    }
}
