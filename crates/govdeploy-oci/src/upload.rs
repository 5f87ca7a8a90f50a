//! Pushing one blob: `HEAD` first, cross-repository mount when another repository of the
//! target has it, else an upload: monolithic (`POST` then one `PUT`) up to the chunk size,
//! chunked (`PATCH` per chunk, then `PUT ?digest=`) above it.
//!
//! An interrupted transfer is resumed, not restarted: the session is asked how much it holds
//! (`GET` on the upload URL, `Range: 0-<last>`), and sending goes on from there. Distribution
//! 2.8 ignores `Content-Range` on `PATCH` and appends whatever arrives, so the offset it reports
//! is the only truth; the bytes to resend come from the chunk in memory. Content is hashed as
//! it is read and the upload is completed only when the digest matches, so a corrupt source
//! never lands in the target.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::{Method, StatusCode, header};

use crate::blob::{BlobOrigin, BlobReader};
use crate::digest::{Digest, Hasher};
use crate::error::{OciError, Result};
use crate::progress::Progress;
use crate::registry::{Call, Registry, UploadStart, push_scope};

/// What happened to a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Already in the repository.
    Skipped,
    Mounted,
    Sent,
}

pub struct BlobPush<'a> {
    pub target: &'a Registry,
    pub repository: &'a str,
    pub digest: &'a Digest,
    pub size: u64,
    pub origin: BlobOrigin,
    /// Another repository of the target that holds the blob.
    pub mount_from: Option<&'a str>,
    pub chunk_size: u64,
    pub progress: &'a Arc<dyn Progress>,
}

/// How often a whole upload may start over (session lost, registry rejected the content).
const RESTARTS: u32 = 3;

impl BlobPush<'_> {
    pub async fn run(&self) -> Result<BlobOutcome> {
        if self
            .target
            .head_blob(self.repository, self.digest)
            .await?
            .is_some()
        {
            self.target.stats.add_blob_skipped(1);
            return Ok(BlobOutcome::Skipped);
        }
        let mut restarts = 0;
        loop {
            let session = match self
                .target
                .start_upload(self.repository, self.digest, self.mount_from)
                .await?
            {
                UploadStart::Mounted => {
                    self.target.stats.add_blob_mounted(1);
                    return Ok(BlobOutcome::Mounted);
                }
                UploadStart::Session(location) => location,
            };
            match self.upload(session).await {
                Ok(()) => {
                    self.target.stats.add_blob_sent(1);
                    return Ok(BlobOutcome::Sent);
                }
                Err(Restart::Fatal(e)) => return Err(e),
                Err(Restart::Again(e)) => {
                    if let Ok(Some(_)) = self.target.head_blob(self.repository, self.digest).await {
                        // The completing request landed; only its answer was lost.
                        self.target.stats.add_blob_sent(1);
                        return Ok(BlobOutcome::Sent);
                    }
                    restarts += 1;
                    if restarts > RESTARTS {
                        return Err(OciError::RetriesExhausted {
                            what: format!("upload of {} to {}", self.digest, self.repository),
                            attempts: restarts,
                            last: Box::new(e),
                        });
                    }
                    self.progress.note(&format!(
                        "upload of {} to {} starts over: {}",
                        self.digest,
                        self.repository,
                        e.chain()
                    ));
                }
            }
        }
    }

    async fn upload(&self, mut location: String) -> Result<(), Restart> {
        let mut reader = BlobReader::new(self.origin.clone(), self.digest.clone(), self.size);
        let mut hasher = Hasher::default();
        let chunk_size = self.chunk_size.max(1);
        let monolithic = self.size <= chunk_size;
        // Bytes the registry holds for this session.
        let mut stored = 0u64;
        loop {
            let len = chunk_size.min(self.size - stored) as usize;
            let chunk = reader.read(len).await.map_err(Restart::Fatal)?;
            hasher.update(&chunk);
            let last = stored + len as u64 == self.size;
            if last {
                let actual = hasher.clone().finish();
                if let Err(e) = self.digest.verify(
                    &actual,
                    format!("blob {} read from its source", self.digest),
                ) {
                    self.target.cancel_upload(self.repository, &location).await;
                    return Err(Restart::Fatal(e));
                }
            }
            let chunk_start = stored;
            let mut sent_from = 0usize;
            let mut failures = 0u32;
            let mut first_try = true;
            while sent_from < chunk.len() || (chunk.is_empty() && first_try) {
                let piece = chunk.slice(sent_from..);
                let result = if monolithic && first_try && last {
                    self.put(&location, Some(piece.clone()))
                        .await
                        .map(|()| None)
                } else {
                    self.patch(&location, chunk_start + sent_from as u64, piece.clone())
                        .await
                        .map(Some)
                };
                first_try = false;
                match result {
                    Ok(None) => {
                        self.progress.bytes(piece.len() as u64);
                        self.target.stats.add_blob_bytes(piece.len() as u64);
                        return Ok(());
                    }
                    Ok(Some(next)) => {
                        self.progress.bytes(piece.len() as u64);
                        self.target.stats.add_blob_bytes(piece.len() as u64);
                        location = next;
                        sent_from = chunk.len();
                    }
                    Err(e) if e.is_transient() || matches!(e, OciError::Http { .. }) => {
                        failures += 1;
                        if failures >= self.target.retry.attempts {
                            return Err(Restart::Fatal(e));
                        }
                        self.target.stats.add_retry();
                        tokio::time::sleep(self.target.retry.delay(failures, None)).await;
                        let status = self
                            .target
                            .upload_status(self.repository, &location)
                            .await
                            .map_err(Restart::Again)?;
                        let Some((held, next)) = status else {
                            return Err(Restart::Again(OciError::Manifest {
                                what: format!("upload of {}", self.digest),
                                message: format!("the session is gone after: {e}"),
                            }));
                        };
                        if held < chunk_start || held > chunk_start + chunk.len() as u64 {
                            self.target.cancel_upload(self.repository, &next).await;
                            return Err(Restart::Again(OciError::Manifest {
                                what: format!("upload of {}", self.digest),
                                message: format!(
                                    "the registry holds {held} bytes, outside the chunk at {chunk_start}..{} being resent after: {e}",
                                    chunk_start + chunk.len() as u64
                                ),
                            }));
                        }
                        self.target.stats.add_resumed(1);
                        self.progress.note(&format!(
                            "resuming {} at byte {held} of {} after: {e}",
                            self.digest, self.size
                        ));
                        location = next;
                        sent_from = (held - chunk_start) as usize;
                    }
                    Err(e) => return Err(Restart::Fatal(e)),
                }
            }
            stored += len as u64;
            if last {
                break;
            }
        }
        let mut failures = 0u32;
        loop {
            let error = match self.put(&location, None).await {
                Ok(()) => return Ok(()),
                // The registry's own digest check failed: what it holds is not what was hashed.
                Err(e @ OciError::Status { status: 400, .. }) => return Err(Restart::Again(e)),
                Err(e) => e,
            };
            // The completing PUT may have landed before the answer was lost.
            if let Ok(Some(_)) = self.target.head_blob(self.repository, self.digest).await {
                return Ok(());
            }
            failures += 1;
            if failures >= self.target.retry.attempts {
                return Err(Restart::Again(error));
            }
            self.target.stats.add_retry();
            tokio::time::sleep(self.target.retry.delay(failures, None)).await;
            match self.target.upload_status(self.repository, &location).await {
                Ok(Some((held, next))) if held == self.size => location = next,
                _ => return Err(Restart::Again(error)),
            }
        }
    }

    async fn patch(&self, location: &str, start: u64, piece: Bytes) -> Result<String> {
        let scope = [push_scope(self.repository)];
        let end = (start + piece.len() as u64).saturating_sub(1);
        let call = Call {
            method: Method::PATCH,
            url: location.to_string(),
            scope: &scope,
            headers: vec![
                (header::CONTENT_TYPE, "application/octet-stream".into()),
                (header::CONTENT_RANGE, format!("{start}-{end}")),
            ],
            body: Some(piece),
        };
        let response = self.target.send_once(&call).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(Registry::unexpected(&call.method, &call.url, response).await);
        }
        self.target.location(&call, &response)
    }

    /// Completes the upload, with the last bytes (monolithic) or none (chunked).
    async fn put(&self, location: &str, body: Option<Bytes>) -> Result<()> {
        let scope = [push_scope(self.repository)];
        let separator = if location.contains('?') { '&' } else { '?' };
        let call = Call {
            method: Method::PUT,
            url: format!("{location}{separator}digest={}", self.digest),
            scope: &scope,
            headers: vec![(header::CONTENT_TYPE, "application/octet-stream".into())],
            body: Some(body.unwrap_or_default()),
        };
        let response = self.target.send_once(&call).await?;
        if response.status() != StatusCode::CREATED {
            return Err(Registry::unexpected(&call.method, &call.url, response).await);
        }
        Ok(())
    }
}

enum Restart {
    /// Start a new upload session.
    Again(OciError),
    /// Give up on this blob.
    Fatal(OciError),
}
