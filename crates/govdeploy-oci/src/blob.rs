//! Reading blob content in bounded pieces from wherever it lives: a registry (streamed, with
//! ranged re-requests when a download breaks off), a bundle file (a slice of the tar), or
//! memory. Nothing holds more than one piece at a time.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::digest::Digest;
use crate::error::{OciError, Result};
use crate::registry::Registry;

/// Where a blob's bytes come from.
#[derive(Clone)]
pub enum BlobOrigin {
    Registry {
        registry: Arc<Registry>,
        repository: String,
    },
    /// `size` bytes at `offset` of a file (a blob inside a bundle tar).
    File {
        path: PathBuf,
        offset: u64,
    },
    Memory(Bytes),
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

enum Open {
    None,
    Stream(ByteStream),
    File(tokio::fs::File),
}

/// Sequential reader over one blob.
pub struct BlobReader {
    origin: BlobOrigin,
    digest: Digest,
    size: u64,
    position: u64,
    open: Open,
    leftover: Bytes,
}

impl BlobReader {
    pub fn new(origin: BlobOrigin, digest: Digest, size: u64) -> Self {
        BlobReader {
            origin,
            digest,
            size,
            position: 0,
            open: Open::None,
            leftover: Bytes::new(),
        }
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    fn what(&self) -> String {
        format!("blob {}", self.digest)
    }

    async fn reopen(&mut self) -> Result<()> {
        self.leftover = Bytes::new();
        self.open = match &self.origin {
            BlobOrigin::Registry {
                registry,
                repository,
            } => {
                let response = registry
                    .get_blob(repository, &self.digest, self.position)
                    .await?;
                let ranged = response.status() == reqwest::StatusCode::PARTIAL_CONTENT;
                let mut stream: ByteStream = Box::pin(response.bytes_stream());
                if !ranged && self.position > 0 {
                    // The registry ignored Range: skip what was already read.
                    let mut skip = self.position;
                    while skip > 0 {
                        match stream.next().await {
                            Some(Ok(piece)) => {
                                let n = (piece.len() as u64).min(skip);
                                skip -= n;
                                if n < piece.len() as u64 {
                                    self.leftover = piece.slice(n as usize..);
                                }
                            }
                            Some(Err(e)) => return Err(self.http_error(registry, e)),
                            None => break,
                        }
                    }
                }
                Open::Stream(stream)
            }
            BlobOrigin::File { path, offset } => {
                let mut file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| OciError::io(path, e))?;
                file.seek(std::io::SeekFrom::Start(offset + self.position))
                    .await
                    .map_err(|e| OciError::io(path, e))?;
                Open::File(file)
            }
            BlobOrigin::Memory(_) => Open::None,
        };
        Ok(())
    }

    fn http_error(&self, registry: &Registry, source: reqwest::Error) -> OciError {
        OciError::Http {
            method: "GET".into(),
            url: registry.url(&format!("/v2/.../blobs/{}", self.digest)),
            source: source.without_url(),
        }
    }

    /// The next `len` bytes (fewer only at the end). A broken registry download is picked up
    /// again from the current position with a ranged request, with backoff.
    pub async fn read(&mut self, len: usize) -> Result<Bytes> {
        let len = len.min((self.size - self.position.min(self.size)) as usize);
        if len == 0 {
            return Ok(Bytes::new());
        }
        if let BlobOrigin::Memory(bytes) = &self.origin {
            let start = self.position as usize;
            let piece = bytes.slice(start..(start + len).min(bytes.len()));
            self.position += piece.len() as u64;
            return self.check_piece(piece, len);
        }
        let mut out = BytesMut::with_capacity(len);
        let mut failures = 0u32;
        while out.len() < len {
            if !self.leftover.is_empty() {
                let n = self.leftover.len().min(len - out.len());
                out.extend_from_slice(&self.leftover.split_to(n));
                self.position += n as u64;
                continue;
            }
            if matches!(self.open, Open::None) {
                self.reopen().await?;
            }
            let step = match &mut self.open {
                Open::Stream(stream) => match stream.next().await {
                    Some(Ok(piece)) => Ok(Some(piece)),
                    Some(Err(e)) => Err(e),
                    None => Ok(None),
                },
                Open::File(file) => {
                    let mut buf = vec![0u8; len - out.len()];
                    let path = match &self.origin {
                        BlobOrigin::File { path, .. } => path.clone(),
                        _ => PathBuf::new(),
                    };
                    file.read_exact(&mut buf)
                        .await
                        .map_err(|e| OciError::Bundle {
                            path,
                            message: format!("{} is cut short: {e}", self.what()),
                        })?;
                    Ok(Some(Bytes::from(buf)))
                }
                Open::None => Ok(None),
            };
            match step {
                Ok(Some(piece)) => {
                    if let BlobOrigin::Registry { registry, .. } = &self.origin {
                        registry.stats.add_received(piece.len() as u64);
                    }
                    self.leftover = piece;
                }
                Ok(None) => {
                    return Err(OciError::SizeMismatch {
                        what: self.what(),
                        expected: self.size,
                        actual: self.position,
                    });
                }
                Err(e) => {
                    let BlobOrigin::Registry { registry, .. } = &self.origin else {
                        return Err(OciError::Manifest {
                            what: self.what(),
                            message: e.to_string(),
                        });
                    };
                    let registry = registry.clone();
                    failures += 1;
                    if failures >= registry.retry.attempts {
                        return Err(self.http_error(&registry, e));
                    }
                    registry.stats.add_retry();
                    tokio::time::sleep(registry.retry.delay(failures, None)).await;
                    self.open = Open::None;
                }
            }
        }
        self.check_piece(out.freeze(), len)
    }

    fn check_piece(&self, piece: Bytes, len: usize) -> Result<Bytes> {
        if piece.len() == len {
            Ok(piece)
        } else {
            Err(OciError::SizeMismatch {
                what: self.what(),
                expected: self.size,
                actual: self.position,
            })
        }
    }
}
