//! Blob push: HEAD, cross-repository mount, monolithic or chunked upload.

use std::path::Path;

use ureq::http::Method;

use super::RegistryError;
use super::client::{Answer, Call, Client, Payload, resolve_location, with_query};
use super::error::error_detail;

/// Where a blob's bytes come from.
#[derive(Clone, Copy, Debug)]
pub enum BlobData<'a> {
    /// A file, streamed (never read into memory as a whole).
    File(&'a Path),
    /// Bytes in memory (configs).
    Bytes(&'a [u8]),
}

/// A blob to push.
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    /// `sha256:<hex>` of the bytes.
    pub digest: &'a str,
    /// Number of bytes.
    pub size: u64,
    /// The bytes.
    pub data: BlobData<'a>,
}

/// What pushing a blob took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The repository already had it (HEAD answered 200).
    Present,
    /// Mounted from another repository of the same registry.
    Mounted {
        /// The repository it came from.
        from: String,
    },
    /// Uploaded; `chunks` is 0 for a monolithic PUT, else the PATCH count.
    Uploaded {
        /// Number of PATCH requests.
        chunks: u64,
    },
}

impl Blob<'_> {
    fn payload(&self, offset: u64, len: u64) -> Payload<'_> {
        match self.data {
            BlobData::File(path) => Payload::File {
                path,
                digest: self.digest,
                offset,
                len,
            },
            BlobData::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(b.len()).min(b.len());
                let end = usize::try_from(offset.saturating_add(len))
                    .unwrap_or(b.len())
                    .min(b.len());
                Payload::Bytes(&b[start..end])
            }
        }
    }
}

impl Client {
    /// Does `repository` on `registry` have the blob `digest`?
    pub fn blob_exists(
        &self,
        registry: &str,
        repository: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base(registry)?);
        let call = Call::new(Method::HEAD, url.clone());
        let answer = self.retry_answer(|| self.send(registry, &call))?;
        match answer.status {
            200 => Ok(true),
            404 => Ok(false),
            // HEAD only saves work: a registry that still cannot answer it
            // after retries (e.g. for a blob whose earlier upload was cut
            // off) is sent the blob, and the upload reports real failures.
            500..=599 => Ok(false),
            _ => Err(status_error(registry, "HEAD", &url, &answer)),
        }
    }

    /// Pushes one blob to `repository`: nothing if it is there already
    /// (HEAD), a cross-repository mount when `mount_from` names another
    /// repository of the same registry that has it, else an upload: one
    /// PUT up to [`ClientOptions::monolithic_limit`](super::ClientOptions),
    /// PATCH chunks of [`ClientOptions::chunk_size`](super::ClientOptions)
    /// above. A failed upload is restarted from the beginning (it is
    /// idempotent as a whole). The registry's `Docker-Content-Digest` must
    /// be `blob.digest`.
    pub fn push_blob(
        &self,
        registry: &str,
        repository: &str,
        blob: &Blob<'_>,
        mount_from: Option<&str>,
    ) -> Result<BlobOutcome, RegistryError> {
        if self.blob_exists(registry, repository, blob.digest)? {
            return Ok(BlobOutcome::Present);
        }
        self.retry(|| self.upload(registry, repository, blob, mount_from))
    }

    fn upload(
        &self,
        registry: &str,
        repository: &str,
        blob: &Blob<'_>,
        mount_from: Option<&str>,
    ) -> Result<BlobOutcome, RegistryError> {
        let base = self.base(registry)?;
        let mut url = format!("{base}/v2/{repository}/blobs/uploads/");
        let mount = mount_from.filter(|f| *f != repository);
        if let Some(from) = mount {
            url = with_query(&url, "mount", blob.digest);
            url = with_query(&url, "from", from);
        }
        let answer = self.send(registry, &Call::new(Method::POST, url.clone()))?;
        if let Some(from) = mount
            && answer.status == 201
        {
            check_digest(registry, repository, blob.digest, &answer)?;
            return Ok(BlobOutcome::Mounted {
                from: from.to_owned(),
            });
        }
        if answer.status != 202 {
            return Err(status_error(registry, "POST", &url, &answer));
        }
        let mut location = next_location(registry, "POST", &url, &base, &answer)?;
        let mut chunks = 0;
        let final_payload = if blob.size <= self.opts.monolithic_limit {
            blob.payload(0, blob.size)
        } else {
            let chunk = self.opts.chunk_size.max(1);
            let mut offset = 0;
            while offset < blob.size {
                let len = chunk.min(blob.size - offset);
                let end = offset + len - 1;
                let call = Call::new(Method::PATCH, location.clone())
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Range", format!("{offset}-{end}"))
                    .payload(blob.payload(offset, len));
                let answer = self.send(registry, &call)?;
                if !answer.ok() {
                    return Err(status_error(registry, "PATCH", &location, &answer));
                }
                if let Some(range) = &answer.range
                    && range_end(range).is_some_and(|e| e != end)
                {
                    return Err(RegistryError::Protocol {
                        registry: registry.to_owned(),
                        method: "PATCH".into(),
                        url: strip_query(&location),
                        message: format!(
                            "after sending bytes {offset}-{end} of {} the upload has Range {range}",
                            blob.digest
                        ),
                    });
                }
                location = next_location(registry, "PATCH", &location, &base, &answer)?;
                offset += len;
                chunks += 1;
            }
            Payload::Empty
        };
        let put_url = with_query(&location, "digest", blob.digest);
        let mut call = Call::new(Method::PUT, put_url.clone()).payload(final_payload);
        if chunks == 0 {
            call = call.header("Content-Type", "application/octet-stream");
        }
        let answer = self.send(registry, &call)?;
        if !answer.ok() || answer.status == 202 {
            return Err(status_error(registry, "PUT", &put_url, &answer));
        }
        check_digest(registry, repository, blob.digest, &answer)?;
        Ok(BlobOutcome::Uploaded { chunks })
    }
}

/// The upload URL the registry handed out.
fn next_location(
    registry: &str,
    method: &str,
    url: &str,
    base: &str,
    answer: &Answer,
) -> Result<String, RegistryError> {
    match &answer.location {
        Some(l) if !l.is_empty() => Ok(resolve_location(base, l)),
        _ => Err(RegistryError::Protocol {
            registry: registry.to_owned(),
            method: method.to_owned(),
            url: strip_query(url),
            message: format!("HTTP {} without a Location header", answer.status),
        }),
    }
}

fn check_digest(
    registry: &str,
    repository: &str,
    digest: &str,
    answer: &Answer,
) -> Result<(), RegistryError> {
    match &answer.digest {
        Some(d) if d != digest => Err(RegistryError::DigestMismatch {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            what: "blob".into(),
            expected: digest.to_owned(),
            actual: d.clone(),
        }),
        _ => Ok(()),
    }
}

/// `end` of a `Range: 0-end` header.
fn range_end(range: &str) -> Option<u64> {
    range
        .trim()
        .trim_start_matches("bytes=")
        .split_once('-')
        .and_then(|(_, e)| e.trim().parse().ok())
}

fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// An unexpected answer as an error (401 never gets here: `send` turns
/// it into `Unauthorized`).
pub(crate) fn status_error(
    registry: &str,
    method: &str,
    url: &str,
    answer: &Answer,
) -> RegistryError {
    RegistryError::Status {
        registry: registry.to_owned(),
        method: method.to_owned(),
        url: strip_query(url),
        status: answer.status,
        detail: error_detail(&answer.body),
    }
}

#[cfg(test)]
mod tests {
    use super::range_end;

    #[test]
    fn range_headers() {
        assert_eq!(range_end("0-4"), Some(4));
        assert_eq!(range_end("bytes=0-1023"), Some(1023));
        assert_eq!(range_end("junk"), None);
    }
}
