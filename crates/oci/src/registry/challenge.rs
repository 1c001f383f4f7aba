//! `WWW-Authenticate` challenges (RFC 7235): `Basic realm="..."` and
//! `Bearer realm="...",service="...",scope="..."` as registries send them.

/// One authentication challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP basic authentication.
    Basic {
        /// The realm, if given.
        realm: Option<String>,
    },
    /// The registry token flow: get a token from `realm`.
    Bearer {
        /// Token service URL.
        realm: String,
        /// `service` parameter to pass on.
        service: Option<String>,
        /// `scope` the registry asked for (space-separated scopes).
        scope: Option<String>,
        /// `error`, e.g. `insufficient_scope` or `invalid_token`.
        error: Option<String>,
    },
    /// Any other scheme (kept by name for error messages).
    Other(String),
}

/// Parses one `WWW-Authenticate` header value, which may hold several
/// challenges. Scheme and parameter names are case-insensitive; values
/// are tokens or quoted strings with `\` escapes. A `Bearer` challenge
/// without a realm is reported as [`Challenge::Other`].
pub fn parse_www_authenticate(header: &str) -> Vec<Challenge> {
    let mut raw: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let skip = |i: &mut usize, set: &str| {
        while *i < chars.len() && set.contains(chars[*i]) {
            *i += 1;
        }
    };
    while i < chars.len() {
        skip(&mut i, " \t,");
        let start = i;
        while i < chars.len() && !" \t,=".contains(chars[i]) {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.is_empty() {
            // A stray `=`: skip it.
            i += 1;
            continue;
        }
        let mut j = i;
        skip(&mut j, " \t");
        let is_param = j < chars.len()
            && chars[j] == '='
            && chars.get(j + 1).is_none_or(|c| *c != '=')
            && !raw.is_empty();
        if !is_param {
            raw.push((token.to_ascii_lowercase(), Vec::new()));
            // A token68 (`Negotiate abc==`) directly after a scheme.
            let mut k = i;
            skip(&mut k, " \t");
            let t_start = k;
            while k < chars.len() && !" \t,".contains(chars[k]) {
                k += 1;
            }
            let next: String = chars[t_start..k].iter().collect();
            if next.ends_with('=') && !next.trim_end_matches('=').contains('=') && next.len() > 1 {
                i = k;
            }
            continue;
        }
        i = j + 1;
        skip(&mut i, " \t");
        let mut value = String::new();
        if i < chars.len() && chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1; // closing quote
        } else {
            while i < chars.len() && !" \t,".contains(chars[i]) {
                value.push(chars[i]);
                i += 1;
            }
        }
        if let Some((_, params)) = raw.last_mut() {
            params.push((token.to_ascii_lowercase(), value));
        }
    }
    raw.into_iter()
        .map(|(scheme, params)| {
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            match scheme.as_str() {
                "basic" => Challenge::Basic {
                    realm: get("realm"),
                },
                "bearer" => match get("realm") {
                    Some(realm) => Challenge::Bearer {
                        realm,
                        service: get("service"),
                        scope: get("scope"),
                        error: get("error"),
                    },
                    None => Challenge::Other(scheme),
                },
                _ => Challenge::Other(scheme),
            }
        })
        .collect()
}

/// The challenge to answer among all headers: Bearer over Basic over
/// anything else.
pub fn preferred<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let all: Vec<Challenge> = headers
        .into_iter()
        .flat_map(parse_www_authenticate)
        .collect();
    let rank = |c: &Challenge| match c {
        Challenge::Bearer { .. } => 0,
        Challenge::Basic { .. } => 1,
        Challenge::Other(_) => 2,
    };
    all.into_iter().min_by_key(rank)
}

#[cfg(test)]
mod tests {
    use super::{Challenge, parse_www_authenticate, preferred};

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.into(),
            service: service.map(Into::into),
            scope: scope.map(Into::into),
            error: None,
        }
    }

    #[test]
    fn docker_hub_bearer_challenge() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#;
        assert_eq!(
            parse_www_authenticate(h),
            vec![bearer(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:library/alpine:pull,push")
            )]
        );
    }

    #[test]
    fn basic_and_case_and_spacing() {
        assert_eq!(
            parse_www_authenticate(r#"Basic realm="test-realm""#),
            vec![Challenge::Basic {
                realm: Some("test-realm".into())
            }]
        );
        assert_eq!(
            parse_www_authenticate("basic"),
            vec![Challenge::Basic { realm: None }]
        );
        assert_eq!(
            parse_www_authenticate(
                r#"BEARER  Realm = "http://127.0.0.1:9/auth" , Service=reg ,scope="a b","#
            ),
            vec![bearer("http://127.0.0.1:9/auth", Some("reg"), Some("a b"))]
        );
    }

    #[test]
    fn errors_escapes_and_several_challenges() {
        let h = r#"Bearer realm="https://a/t",error="insufficient_scope",scope="repository:x:push", Basic realm="r\"q""#;
        assert_eq!(
            parse_www_authenticate(h),
            vec![
                Challenge::Bearer {
                    realm: "https://a/t".into(),
                    service: None,
                    scope: Some("repository:x:push".into()),
                    error: Some("insufficient_scope".into()),
                },
                Challenge::Basic {
                    realm: Some("r\"q".into())
                },
            ]
        );
        assert_eq!(
            parse_www_authenticate("Negotiate abc==, Basic realm=x"),
            vec![
                Challenge::Other("negotiate".into()),
                Challenge::Basic {
                    realm: Some("x".into())
                }
            ]
        );
        // Bearer without a realm cannot be answered.
        assert_eq!(
            parse_www_authenticate(r#"Bearer service="x""#),
            vec![Challenge::Other("bearer".into())]
        );
        assert_eq!(parse_www_authenticate(""), vec![]);
        assert_eq!(
            preferred([r#"Basic realm="r""#, r#"Bearer realm="https://t""#]),
            Some(bearer("https://t", None, None))
        );
    }
}
