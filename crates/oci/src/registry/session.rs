//! Sessions: per registry the scheme and authorisation, decided by
//! pinging `/v2/` and answering its challenge (Basic, or a Bearer token
//! from the realm), and requests sent with them.

use std::collections::BTreeSet;

use ureq::http::Method;

use super::RegistryError;
use super::blob::status_error;
use super::challenge::{Challenge, preferred};
use super::client::{Answer, Call, Client, Payload, encode, with_query};
use super::credentials::Credentials;
use super::error::error_detail;
use super::reference::{is_loopback, normalize_registry};

/// How requests to one registry are authorised.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    Anonymous,
    Basic {
        header: String,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        credentials: Option<Credentials>,
        scopes: BTreeSet<String>,
        token: String,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// `scheme://host[:port]`.
    base: String,
    auth: Auth,
}

impl Client {
    /// `scheme://host` of `registry`, pinging it first if needed.
    pub(crate) fn base(&self, registry: &str) -> Result<String, RegistryError> {
        self.session(registry).map(|s| s.base)
    }

    fn session(&self, registry: &str) -> Result<Session, RegistryError> {
        if let Some(s) = super::client::lock(&self.sessions).get(registry) {
            return Ok(s.clone());
        }
        let session = self.open_session(registry, &BTreeSet::new())?;
        super::client::lock(&self.sessions).insert(registry.to_owned(), session.clone());
        Ok(session)
    }

    /// Pings `registry` and authenticates for `scopes` (e.g.
    /// `repository:app:pull,push`), so that a bad password or a missing
    /// permission shows before anything is uploaded. Repeated calls only
    /// widen the token's scopes.
    pub fn authenticate(&self, registry: &str, scopes: &[String]) -> Result<(), RegistryError> {
        let registry = normalize_registry(registry);
        if !super::client::lock(&self.sessions).contains_key(&registry) {
            let wanted: BTreeSet<String> = scopes.iter().cloned().collect();
            let session = self.open_session(&registry, &wanted)?;
            super::client::lock(&self.sessions).insert(registry, session);
            return Ok(());
        }
        let session = self.session(&registry)?;
        if let Auth::Bearer {
            realm,
            service,
            credentials,
            scopes: have,
            ..
        } = &session.auth
        {
            let mut want = have.clone();
            want.extend(scopes.iter().cloned());
            if want != *have {
                let token = self.fetch_token(
                    &registry,
                    realm,
                    service.as_deref(),
                    &want,
                    credentials.as_ref(),
                )?;
                super::client::lock(&self.sessions).insert(
                    registry.clone(),
                    Session {
                        base: session.base.clone(),
                        auth: Auth::Bearer {
                            realm: realm.clone(),
                            service: service.clone(),
                            credentials: credentials.clone(),
                            scopes: want,
                            token,
                        },
                    },
                );
            }
        }
        Ok(())
    }

    /// Pings `/v2/` over HTTPS (then HTTP where allowed) and sets up
    /// authentication from the challenge.
    fn open_session(
        &self,
        registry: &str,
        scopes: &BTreeSet<String>,
    ) -> Result<Session, RegistryError> {
        let schemes: &[&str] = if self.plain_http_allowed(registry) {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut failures = Vec::new();
        for (i, scheme) in schemes.iter().enumerate() {
            let base = format!("{scheme}://{registry}");
            let url = format!("{base}/v2/");
            let call = Call::new(Method::GET, url.clone());
            let ping = || {
                let a = self.exchange(registry, &call, None)?;
                if a.status >= 500 || a.status == 429 {
                    return Err(status_error(registry, "GET", &url, &a));
                }
                Ok(a)
            };
            // Connection failures move on to the next scheme; a server in
            // trouble that does speak this scheme is retried.
            let last = i + 1 == schemes.len();
            let answer = match ping() {
                Err(e)
                    if e.is_retryable()
                        && (last || !matches!(e, RegistryError::Transport { .. })) =>
                {
                    self.retry(ping)
                }
                other => other,
            };
            match answer {
                Ok(a) => return self.session_from_ping(registry, base, &a, scopes),
                Err(RegistryError::Transport { url, message, .. }) => {
                    failures.push(format!("{url}: {message}"));
                }
                Err(e) => return Err(e),
            }
        }
        let mut message = failures.join("; ");
        if schemes.len() == 1 && message.contains("TLS") {
            message.push_str(&format!(
                " (plain HTTP is only used for loopback registries and --insecure-registry {registry})"
            ));
        }
        Err(RegistryError::Unreachable {
            registry: registry.to_owned(),
            message,
        })
    }

    fn session_from_ping(
        &self,
        registry: &str,
        base: String,
        ping: &Answer,
        scopes: &BTreeSet<String>,
    ) -> Result<Session, RegistryError> {
        if ping.ok() {
            return Ok(Session {
                base,
                auth: Auth::Anonymous,
            });
        }
        if ping.status != 401 {
            return Err(RegistryError::Status {
                registry: registry.to_owned(),
                method: "GET".into(),
                url: format!("{base}/v2/"),
                status: ping.status,
                detail: error_detail(&ping.body),
            });
        }
        let auth = self.auth_from_challenge(registry, &base, ping, scopes)?;
        Ok(Session { base, auth })
    }

    /// Answers a 401: Basic with the keychain's credentials (checked
    /// against `/v2/` right away), or a token from the Bearer realm.
    fn auth_from_challenge(
        &self,
        registry: &str,
        base: &str,
        answer: &Answer,
        scopes: &BTreeSet<String>,
    ) -> Result<Auth, RegistryError> {
        let credentials = self.keychain.credentials(registry)?;
        match preferred(answer.challenges.iter().map(String::as_str)) {
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
                ..
            }) => {
                let mut scopes = scopes.clone();
                scopes.extend(scope.iter().flat_map(|s| s.split(' ')).map(str::to_owned));
                scopes.remove("");
                let token = self.fetch_token(
                    registry,
                    &realm,
                    service.as_deref(),
                    &scopes,
                    credentials.as_ref(),
                )?;
                Ok(Auth::Bearer {
                    realm,
                    service,
                    credentials,
                    scopes,
                    token,
                })
            }
            Some(Challenge::Basic { .. }) => {
                let Some(credentials) = credentials else {
                    return Err(RegistryError::CredentialsRequired {
                        registry: registry.to_owned(),
                    });
                };
                let Some(header) = credentials.basic_header() else {
                    return Err(RegistryError::Unauthorized {
                        registry: registry.to_owned(),
                        user: String::new(),
                        detail: "the registry wants a user name and password, the configured credential is an identity token".into(),
                    });
                };
                let call = Call::new(Method::GET, format!("{base}/v2/"));
                let check = self.retry_answer(|| self.exchange(registry, &call, Some(&header)))?;
                if check.status == 401 || check.status == 403 {
                    return Err(unauthorized(registry, Some(&credentials), &check));
                }
                if !check.ok() {
                    return Err(status_error(registry, "GET", &call.url, &check));
                }
                Ok(Auth::Basic { header })
            }
            Some(Challenge::Other(scheme)) => Err(RegistryError::Unauthorized {
                registry: registry.to_owned(),
                user: String::new(),
                detail: format!("unsupported authentication scheme {scheme:?}"),
            }),
            None => Err(RegistryError::Unauthorized {
                registry: registry.to_owned(),
                user: String::new(),
                detail: "HTTP 401 without a WWW-Authenticate challenge".into(),
            }),
        }
    }

    /// Gets a token from `realm` for `scopes`: GET with basic credentials
    /// (or none), or the OAuth2 refresh-token POST for identity tokens.
    fn fetch_token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &BTreeSet<String>,
        credentials: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let token_err = |message: String| RegistryError::Token {
            registry: registry.to_owned(),
            url: realm.to_owned(),
            message,
        };
        let realm_host = realm
            .strip_prefix("https://")
            .or_else(|| realm.strip_prefix("http://"))
            .map(|r| r.split(['/', '?']).next().unwrap_or(r));
        let Some(realm_host) = realm_host else {
            return Err(token_err("the realm is not an http(s) URL".into()));
        };
        if realm.starts_with("http://")
            && !is_loopback(realm_host)
            && !self.plain_http_allowed(&normalize_registry(realm_host))
        {
            return Err(token_err(
                "refusing to send credentials to a plain-HTTP token service (allow it with --insecure-registry)".into(),
            ));
        }
        let answer = match credentials {
            Some(Credentials::IdentityToken(refresh)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh.clone()),
                    ("client_id", "apkforge".to_owned()),
                ];
                if let Some(s) = service {
                    form.push(("service", s.to_owned()));
                }
                let scope = scopes.iter().cloned().collect::<Vec<_>>().join(" ");
                if !scope.is_empty() {
                    form.push(("scope", scope));
                }
                let body: String = form
                    .iter()
                    .map(|(k, v)| format!("{k}={}", encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let call = Call::new(Method::POST, realm.to_owned())
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .payload(Payload::Bytes(body.as_bytes()));
                self.retry_answer(|| self.exchange(registry, &call, None))?
            }
            basic => {
                let mut url = realm.to_owned();
                if let Some(s) = service {
                    url = with_query(&url, "service", s);
                }
                for s in scopes {
                    url = with_query(&url, "scope", s);
                }
                let header = basic.and_then(Credentials::basic_header);
                let call = Call::new(Method::GET, url);
                self.retry_answer(|| self.exchange(registry, &call, header.as_deref()))?
            }
        };
        if answer.status == 401 || answer.status == 403 {
            return Err(unauthorized(registry, credentials, &answer));
        }
        if !answer.ok() {
            return Err(token_err(format!(
                "HTTP {}{}",
                answer.status,
                error_detail(&answer.body)
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let parsed: TokenAnswer = serde_json::from_slice(&answer.body)
            .map_err(|e| token_err(format!("the answer is not token JSON: {e}")))?;
        parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| token_err("the answer has neither `token` nor `access_token`".into()))
    }

    /// Sends `call` to `registry` with its authorisation. A 401 is answered
    /// once (new token for the challenge's scope, or authentication a
    /// registry that looked anonymous now asks for) and the call repeated;
    /// a second 401 is an [`RegistryError::Unauthorized`].
    pub(crate) fn send(&self, registry: &str, call: &Call<'_>) -> Result<Answer, RegistryError> {
        let session = self.session(registry)?;
        let answer = self.exchange(
            registry,
            call,
            authorization(&session, &call.url).as_deref(),
        )?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let scopes = match &session.auth {
            Auth::Bearer { scopes, .. } => scopes.clone(),
            _ => BTreeSet::new(),
        };
        let auth = match &session.auth {
            Auth::Basic { .. } => {
                return Err(unauthorized(
                    registry,
                    self.keychain.credentials(registry)?.as_ref(),
                    &answer,
                ));
            }
            _ => self.auth_from_challenge(registry, &session.base, &answer, &scopes)?,
        };
        let renewed = Session {
            base: session.base.clone(),
            auth,
        };
        super::client::lock(&self.sessions).insert(registry.to_owned(), renewed.clone());
        let again = self.exchange(
            registry,
            call,
            authorization(&renewed, &call.url).as_deref(),
        )?;
        if again.status == 401 {
            let credentials = match &renewed.auth {
                Auth::Bearer { credentials, .. } => credentials.clone(),
                _ => None,
            };
            return Err(unauthorized(registry, credentials.as_ref(), &again));
        }
        Ok(again)
    }
}

/// The `Authorization` header for `url` in `session` (none for other hosts).
fn authorization(session: &Session, url: &str) -> Option<String> {
    if !url.starts_with(&format!("{}/", session.base)) {
        return None;
    }
    match &session.auth {
        Auth::Anonymous => None,
        Auth::Basic { header } => Some(header.clone()),
        Auth::Bearer { token, .. } => Some(format!("Bearer {token}")),
    }
}

fn unauthorized(
    registry: &str,
    credentials: Option<&Credentials>,
    answer: &Answer,
) -> RegistryError {
    match credentials {
        None => RegistryError::CredentialsRequired {
            registry: registry.to_owned(),
        },
        Some(c) => RegistryError::Unauthorized {
            registry: registry.to_owned(),
            user: c
                .username()
                .map(|u| format!(" of user {u}"))
                .unwrap_or_default(),
            detail: format!("HTTP {}{}", answer.status, error_detail(&answer.body)),
        },
    }
}
