//! A blocking OCI distribution client for pushing built images.
//!
//! # Push protocol
//!
//! [`Client::push_index`] pushes per-architecture images and their index
//! to one or more `registry/repository:tag` targets:
//!
//! 1. Every registry is pinged (`GET /v2/`) and authenticated first, so a
//!    wrong password fails before any upload.
//! 2. Per distinct repository, each blob (layers, then config) is checked
//!    with `HEAD /v2/<name>/blobs/<digest>` and skipped when present. A
//!    blob already pushed to another repository of the same registry in
//!    this call is mounted (`POST .../blobs/uploads/?mount=<d>&from=<repo>`;
//!    a 202 answer falls back to uploading). Uploads are monolithic (POST,
//!    then PUT `?digest=` with the bytes) up to
//!    [`ClientOptions::monolithic_limit`] and chunked above (PATCH with
//!    `Content-Range: start-end` per [`ClientOptions::chunk_size`], then an
//!    empty PUT). Layer bytes are streamed from their files.
//! 3. Each image manifest, then the index, is PUT by digest (after a HEAD).
//! 4. Only then every tag is PUT, so a failed push never leaves a tag
//!    pointing at a half-pushed image.
//!
//! The registry's `Docker-Content-Digest` must equal ours for every blob
//! and manifest. Idempotent steps (HEAD, manifest PUT, a whole blob upload
//! restarted from its POST) are retried with exponential backoff on
//! connection failures and 5xx/429 answers.
//!
//! # Transport and authentication
//!
//! HTTPS always; plain HTTP is tried after HTTPS fails only for loopback
//! hosts (`localhost`, `127.0.0.0/8`, `[::1]`) and
//! [`ClientOptions::insecure_registries`]. The `/v2/` ping's challenge
//! decides the scheme: none (anonymous), `Basic` (credentials checked
//! against `/v2/` immediately), or `Bearer` (a token from the realm for
//! `repository:<name>:pull,push` scopes, fetched with basic credentials if
//! there are any, or by the OAuth2 refresh-token POST for identity tokens;
//! `token` or `access_token` of the answer is used). A later 401 (expired
//! token, wider scope) is answered once with a fresh token.
//!
//! Credentials come from a [`Keychain`]: [`DockerConfig`] reads docker's
//! `config.json` (`auths`, `credHelpers`, `credsStore`) and
//! [`DockerConfig::store_credentials`] writes a login back.

mod blob;
mod challenge;
mod client;
mod credentials;
mod error;
mod push;
mod reference;
mod session;

pub use blob::{Blob, BlobData, BlobOutcome};
pub use challenge::{Challenge, parse_www_authenticate, preferred};
pub use client::{Client, ClientOptions};
pub use credentials::{
    Anonymous, Credentials, DockerConfig, Keychain, StaticKeychain, StoredIn, config_key,
};
pub use error::RegistryError;
pub use push::{PushEvent, PushObserver, PushReport};
pub use reference::{
    DOCKER_HUB, DOCKER_HUB_CONFIG_KEY, Reference, is_loopback, normalize_registry,
};
