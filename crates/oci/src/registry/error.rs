//! Errors of the registry client. Every variant names the registry and,
//! where there is one, the repository, digest, URL or file involved.

use std::io;
use std::path::PathBuf;

/// Error talking to a registry, resolving credentials or parsing a
/// reference.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// An image reference could not be parsed.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry could not be reached at all (every scheme tried).
    #[error("cannot reach registry {registry}: {message}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The connection errors, per URL tried.
        message: String,
    },
    /// A request failed below HTTP: connection refused or reset, TLS,
    /// timeout.
    #[error("{method} {url}: connection to registry {registry} failed: {message}")]
    Transport {
        /// `host[:port]`.
        registry: String,
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: registry {registry} answered HTTP {status}{detail}")]
    Status {
        /// `host[:port]`.
        registry: String,
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// `: CODE: message` from the registry's error body, or empty.
        detail: String,
    },
    /// The registry demands credentials and none are configured.
    #[error(
        "registry {registry} requires authentication and no credentials are configured for it (run `apkforge login {registry} -u USER --password-stdin`)"
    )]
    CredentialsRequired {
        /// `host[:port]`.
        registry: String,
    },
    /// The registry or its token service rejected the credentials.
    #[error("registry {registry} rejected the credentials{user}: {detail}")]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// ` of user NAME`, or empty.
        user: String,
        /// What the server said.
        detail: String,
    },
    /// The token service answered something unusable.
    #[error("token service {url} of registry {registry}: {message}")]
    Token {
        /// `host[:port]`.
        registry: String,
        /// The realm URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The registry stored something else than what we sent.
    #[error(
        "registry {registry} reports digest {actual} for {what} of {repository}, expected {expected}"
    )]
    DigestMismatch {
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// `blob` or `manifest <ref>`.
        what: String,
        /// Our digest.
        expected: String,
        /// The registry's `Docker-Content-Digest`.
        actual: String,
    },
    /// The registry broke the protocol (missing `Location`, wrong `Range`).
    #[error("{method} {url}: registry {registry}: {message}")]
    Protocol {
        /// `host[:port]`.
        registry: String,
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A blob file could not be read.
    #[error("reading blob {digest} from {}: {source}", path.display())]
    ReadBlob {
        /// The file.
        path: PathBuf,
        /// Its digest.
        digest: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The docker config file could not be read or parsed.
    #[error("docker config {}: {message}", path.display())]
    DockerConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The docker config file could not be written.
    #[error("writing docker config {}: {source}", path.display())]
    WriteDockerConfig {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A `docker-credential-*` helper failed.
    #[error(
        "credential helper docker-credential-{helper} ({action}) for registry {registry}: {message}"
    )]
    CredentialHelper {
        /// Helper name (the part after `docker-credential-`).
        helper: String,
        /// `get` or `store`.
        action: String,
        /// `host[:port]`.
        registry: String,
        /// What failed.
        message: String,
    },
    /// The push request itself is inconsistent (no targets, a target
    /// without a tag, ...).
    #[error("cannot push: {0}")]
    InvalidPush(String),
}

impl RegistryError {
    /// Worth retrying: connection failures, 5xx and 429 answers.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Transport { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// `: CODE: message; CODE: message` from an OCI error body, or the start
/// of a non-JSON body, or empty.
pub(crate) fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(body)
        && !parsed.errors.is_empty()
    {
        let parts: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect();
        return format!(": {}", parts.join("; "));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        let short: String = text.chars().take(200).collect();
        format!(": {short}")
    }
}

#[cfg(test)]
mod tests {
    use super::error_detail;

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_detail(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#
            ),
            ": UNAUTHORIZED: authentication required"
        );
        assert_eq!(error_detail(b""), "");
        assert_eq!(error_detail(b"oops\n"), ": oops");
    }
}
