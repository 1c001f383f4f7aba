//! Pushing built images and their index: blobs, then per-image manifests
//! by digest, then the index by digest, and only at the very end the tags,
//! so a failed push never leaves a tag on a half-pushed image.

use std::collections::{HashMap, HashSet};

use ureq::http::Method;

use super::RegistryError;
use super::blob::{Blob, BlobData, BlobOutcome, status_error};
use super::client::{Call, Client, Payload};
use super::reference::Reference;
use crate::image::sorted_images;
use crate::{Image, Index, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};

/// Progress of a push, for the caller to show.
#[derive(Debug)]
pub enum PushEvent<'a> {
    /// A blob is in place in `repository` (`registry/repo`).
    Blob {
        /// `registry/repository`.
        repository: &'a str,
        /// Its digest.
        digest: &'a str,
        /// Its size.
        size: u64,
        /// What it took.
        outcome: &'a BlobOutcome,
    },
    /// A manifest or the index is stored by digest.
    Manifest {
        /// `registry/repository@digest`.
        reference: &'a str,
        /// It was there already.
        existed: bool,
    },
    /// A tag now points at the index.
    Tag {
        /// `registry/repository:tag`.
        reference: &'a str,
    },
}

/// Receives [`PushEvent`]s.
pub trait PushObserver: Sync {
    /// Called after each step.
    fn event(&self, event: &PushEvent<'_>);
}

/// Ignores all events.
impl PushObserver for () {
    fn event(&self, _event: &PushEvent<'_>) {}
}

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// `registry/repository@digest` of the index, in the first target's
    /// repository (what apko prints).
    pub index: String,
    /// `registry/repository@digest` of each image, in index order, in the
    /// first target's repository.
    pub images: Vec<String>,
    /// Every tag written, `registry/repository:tag`.
    pub tags: Vec<String>,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Blobs the repository already had.
    pub present: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
}

impl Client {
    /// Does `repository` have the manifest `digest`?
    pub fn manifest_exists(
        &self,
        registry: &str,
        repository: &str,
        digest: &str,
        media_type: &str,
    ) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{repository}/manifests/{digest}",
            self.base(registry)?
        );
        let call = Call::new(Method::HEAD, url.clone()).header("Accept", media_type);
        let answer = self.retry_answer(|| self.send(registry, &call))?;
        match answer.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(status_error(registry, "HEAD", &url, &answer)),
        }
    }

    /// PUTs a manifest or index under `reference` (a digest or a tag) and
    /// checks the registry's `Docker-Content-Digest` against `digest`.
    pub fn put_manifest(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
        digest: &str,
    ) -> Result<(), RegistryError> {
        let url = format!(
            "{}/v2/{repository}/manifests/{reference}",
            self.base(registry)?
        );
        let call = Call::new(Method::PUT, url.clone())
            .header("Content-Type", media_type)
            .payload(Payload::Bytes(bytes));
        let answer = self.retry_answer(|| self.send(registry, &call))?;
        if !answer.ok() {
            return Err(status_error(registry, "PUT", &url, &answer));
        }
        match &answer.digest {
            Some(d) if d != digest => Err(RegistryError::DigestMismatch {
                registry: registry.to_owned(),
                repository: repository.to_owned(),
                what: format!("manifest {reference}"),
                expected: digest.to_owned(),
                actual: d.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Pings and authenticates every registry of `targets` for push and
    /// pull on all their repositories (one token per registry). Call it
    /// before expensive work so a bad password fails fast;
    /// [`Client::push_index`] does it too.
    pub fn authenticate_targets(&self, targets: &[Reference]) -> Result<(), RegistryError> {
        let repos = distinct_repositories(targets);
        let mut registries: Vec<&str> = Vec::new();
        for (registry, _) in &repos {
            if !registries.contains(&registry.as_str()) {
                registries.push(registry);
            }
        }
        for registry in registries {
            let scopes: Vec<String> = repos
                .iter()
                .filter(|(r, _)| r == registry)
                .map(|(_, repo)| format!("repository:{repo}:pull,push"))
                .collect();
            self.authenticate(registry, &scopes)?;
        }
        Ok(())
    }

    /// Pushes blobs concurrently (at most four at once); outcomes come back
    /// in input order, and the first error wins.
    fn push_blobs(
        &self,
        registry: &str,
        repository: &str,
        blobs: &[(Blob<'_>, Option<String>)],
    ) -> Result<Vec<BlobOutcome>, RegistryError> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<BlobOutcome, RegistryError>>>> =
            blobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..blobs.len().min(4) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((blob, from)) = blobs.get(i) else {
                            break;
                        };
                        let r = self.push_blob(registry, repository, blob, from.as_deref());
                        *super::client::lock(&results[i]) = Some(r);
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .unwrap_or_else(|| {
                        Err(RegistryError::InvalidPush(
                            "a blob upload did not run".into(),
                        ))
                    })
            })
            .collect()
    }

    /// Pushes `images` and `index` (built from them by
    /// [`build_index`](crate::build_index)) to every target
    /// (`registry/repository:tag`).
    ///
    /// Order: authentication for every registry first; then per distinct
    /// repository, each image's layers and config (HEAD, else mount from a
    /// repository of the same registry pushed earlier in this call, else
    /// upload), its manifest by digest, and the index by digest; finally
    /// every tag. An error before that point leaves no tag written, and a
    /// tag only ever points at an index that is complete in its repository.
    pub fn push_index(
        &self,
        images: &[Image],
        index: &Index,
        targets: &[Reference],
        observer: &dyn PushObserver,
    ) -> Result<PushReport, RegistryError> {
        let Some(first) = targets.first() else {
            return Err(RegistryError::InvalidPush("no target references".into()));
        };
        if images.is_empty() {
            return Err(RegistryError::InvalidPush("no images".into()));
        }
        for t in targets {
            if t.tag.is_none() || t.digest.is_some() {
                return Err(RegistryError::InvalidPush(format!(
                    "target {t} must be REGISTRY/REPOSITORY:TAG (no digest)"
                )));
            }
        }
        self.authenticate_targets(targets)?;
        let repos = distinct_repositories(targets);
        let ordered = sorted_images(images);
        let mut report = PushReport {
            index: first.with_digest(&index.digest),
            images: ordered
                .iter()
                .map(|i| first.with_digest(&i.manifest_digest))
                .collect(),
            ..PushReport::default()
        };
        // Which repository of a registry has a blob (mount source).
        let mut known: HashMap<(String, String), String> = HashMap::new();
        let mut done: HashSet<(String, String, String)> = HashSet::new();
        for (registry, repository) in &repos {
            let name = format!("{registry}/{repository}");
            for image in &ordered {
                let config = Blob {
                    digest: &image.config_digest,
                    size: image.config_size(),
                    data: BlobData::Bytes(&image.config_json),
                };
                let blobs = image
                    .layers
                    .iter()
                    .map(|l| Blob {
                        digest: &l.digest,
                        size: l.size,
                        data: BlobData::File(&l.blob),
                    })
                    .chain(std::iter::once(config));
                // The image's blobs not pushed yet, each with the repository
                // it could be mounted from; uploaded up to four at a time.
                let pending: Vec<(Blob<'_>, Option<String>)> = blobs
                    .filter(|b| {
                        !done.contains(&(registry.clone(), repository.clone(), b.digest.to_owned()))
                    })
                    .map(|b| {
                        let from = known
                            .get(&(registry.clone(), b.digest.to_owned()))
                            .filter(|r| *r != repository)
                            .cloned();
                        (b, from)
                    })
                    .collect();
                let outcomes = self.push_blobs(registry, repository, &pending)?;
                for ((blob, _), outcome) in pending.iter().zip(outcomes) {
                    match outcome {
                        BlobOutcome::Present => report.present += 1,
                        BlobOutcome::Mounted { .. } => report.mounted += 1,
                        BlobOutcome::Uploaded { .. } => {
                            report.uploaded += 1;
                            report.bytes_uploaded += blob.size;
                        }
                    }
                    observer.event(&PushEvent::Blob {
                        repository: &name,
                        digest: blob.digest,
                        size: blob.size,
                        outcome: &outcome,
                    });
                    known
                        .entry((registry.clone(), blob.digest.to_owned()))
                        .or_insert_with(|| repository.clone());
                    done.insert((registry.clone(), repository.clone(), blob.digest.to_owned()));
                }
                self.ensure_manifest(
                    registry,
                    repository,
                    MEDIA_TYPE_MANIFEST,
                    &image.manifest_json,
                    &image.manifest_digest,
                    observer,
                )?;
            }
            self.ensure_manifest(
                registry,
                repository,
                MEDIA_TYPE_INDEX,
                &index.json,
                &index.digest,
                observer,
            )?;
        }
        // Everything is complete by digest everywhere: now the tags.
        for t in targets {
            let tag = t.tag.as_deref().unwrap_or("latest");
            self.put_manifest(
                &t.registry,
                &t.repository,
                tag,
                MEDIA_TYPE_INDEX,
                &index.json,
                &index.digest,
            )?;
            let shown = t.to_string();
            observer.event(&PushEvent::Tag { reference: &shown });
            report.tags.push(shown);
        }
        Ok(report)
    }

    /// PUTs a manifest by digest unless the repository has it.
    fn ensure_manifest(
        &self,
        registry: &str,
        repository: &str,
        media_type: &str,
        bytes: &[u8],
        digest: &str,
        observer: &dyn PushObserver,
    ) -> Result<(), RegistryError> {
        let existed = self.manifest_exists(registry, repository, digest, media_type)?;
        if !existed {
            self.put_manifest(registry, repository, digest, media_type, bytes, digest)?;
        }
        let reference = format!("{registry}/{repository}@{digest}");
        observer.event(&PushEvent::Manifest {
            reference: &reference,
            existed,
        });
        Ok(())
    }
}

/// `(registry, repository)` of `targets`, first occurrence first.
fn distinct_repositories(targets: &[Reference]) -> Vec<(String, String)> {
    let mut repos: Vec<(String, String)> = Vec::new();
    for t in targets {
        let key = (t.registry.clone(), t.repository.clone());
        if !repos.contains(&key) {
            repos.push(key);
        }
    }
    repos
}
