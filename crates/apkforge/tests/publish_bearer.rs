//! The bearer-token flow against a real Debian `docker-registry` configured
//! for token auth: the registry challenges with `Bearer realm=...`, a small
//! token service in this test checks basic credentials and hands out a JWT
//! (RS256, signed with openssl, certificate in `x5c`) that the registry
//! verifies against its `rootcertbundle`.

mod publish_support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use publish_support::{
    BASE, PASSWORD, Registry, USER, alpine_config, apkforge, base64, fail, ok, sha256_hex,
    skopeo_inspect_raw, tool,
};
use testsupport::{FileServer, ServerOptions, fixtures};

const SERVICE: &str = "test-registry";
const ISSUER: &str = "test-issuer";

fn b64url(bytes: &[u8]) -> String {
    base64(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A JWT the registry accepts, granting pull and push on `repos`.
fn signed_token(dir: &Path, repos: &[&str]) -> String {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    tool(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(["-days", "2", "-subj", "/CN=token-issuer"]),
    );
    let der = dir.join("cert.der");
    tool(
        Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .arg("-out")
            .arg(&der),
    );
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "RS256",
        "x5c": [base64(&fs::read(&der).unwrap())],
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let access: Vec<serde_json::Value> = repos
        .iter()
        .map(|r| serde_json::json!({"type": "repository", "name": r, "actions": ["pull", "push"]}))
        .collect();
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": USER, "aud": SERVICE,
        "exp": now + 3600, "nbf": now - 60, "iat": now - 60,
        "jti": "apkforge-test", "access": access,
    });
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    fs::write(dir.join("input"), &input).unwrap();
    let sig = dir.join("sig");
    tool(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&key)
            .arg("-out")
            .arg(&sig)
            .arg(dir.join("input")),
    );
    format!("{input}.{}", b64url(&fs::read(&sig).unwrap()))
}

/// Serves `GET /token`: the JWT for correct basic credentials, 401 else.
/// Logs `PATH auth=<basic|none|wrong>` per request.
fn token_service(token: String) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = log.clone();
    let good = format!("Basic {}", base64(format!("{USER}:{PASSWORD}").as_bytes()));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut auth = "none";
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("authorization")
                {
                    auth = if v.trim() == good { "basic" } else { "wrong" };
                }
            }
            shared.lock().unwrap().push(format!("{path} auth={auth}"));
            let (status, body) = if auth == "basic" {
                (
                    "200 OK",
                    format!(r#"{{"token":"{token}","expires_in":3600}}"#),
                )
            } else {
                (
                    "401 Unauthorized",
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#
                        .to_string(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, log)
}

#[test]
fn bearer_token_login_and_publish() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = signed_token(d, &["team/app", "team/app2"]);
    let (token_port, token_log) = token_service(token);
    let auth = format!(
        "  token:\n    realm: http://127.0.0.1:{token_port}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        d.join("cert.pem").display()
    );
    let registry = Registry::start_with_auth(&d.join("registry"), &auth);
    let host = registry.host();
    let docker = d.join("docker");
    fs::write(d.join("apko.yaml"), alpine_config(&server, BASE)).unwrap();

    // login goes through the token service.
    let login = |password: &str| {
        apkforge(
            &["login", &host, "-u", USER, "--password-stdin"],
            d,
            &docker,
            Some(password),
        )
    };
    let err = fail(&login("wrong"));
    assert!(
        err.contains(&format!(
            "registry {host} rejected the credentials of user u"
        )) && err.contains("UNAUTHORIZED"),
        "{err}"
    );
    assert_eq!(ok(&login(PASSWORD)).trim(), "Login Succeeded");

    // publish to two repositories: one token request with both scopes.
    token_log.lock().unwrap().clear();
    let tags = [format!("{host}/team/app:1"), format!("{host}/team/app2:1")];
    let stdout = ok(&apkforge(
        &[
            "image",
            "publish",
            "apko.yaml",
            &tags[0],
            &tags[1],
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
        &docker,
        None,
    ));
    let last = stdout.lines().last().unwrap();
    let digest = last
        .strip_prefix(&format!("{host}/team/app@"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let requests = token_log.lock().unwrap().clone();
    assert!(
        requests.iter().all(|r| r.ends_with("auth=basic")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains(&format!("service={SERVICE}"))
                && r.contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush")
                && r.contains("scope=repository%3Ateam%2Fapp2%3Apull%2Cpush")),
        "{requests:?}"
    );
    assert!(requests.len() <= 2, "{requests:?}");
    // Blobs were mounted into the second repository with the same token.
    let mounts: Vec<String> = registry
        .uploads("team/app2/")
        .into_iter()
        .filter(|r| r.contains("mount=") && r.ends_with(" 201"))
        .collect();
    assert_eq!(mounts.len(), 2, "{:?}", registry.requests());
    for t in &tags {
        let raw = skopeo_inspect_raw(t);
        assert!(
            raw.status.success(),
            "{}",
            String::from_utf8_lossy(&raw.stderr)
        );
        assert_eq!(format!("sha256:{}", sha256_hex(&raw.stdout)), digest);
    }
}
