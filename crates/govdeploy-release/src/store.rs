//! Release records in the cluster: gzip-compressed JSON split across Secrets of type
//! `govdeploy.io/release.v1`, so no object size limit is ever reached.
//!
//! Revision `r` of environment `e` is the Secrets `govdeploy-release.e.v<r>.c<i>`, labelled
//! with the environment, revision and chunk index. Chunk 0 (the head) also carries the chunk
//! count, a SHA-256 over the whole compressed record and a summary (status, when, who) that
//! `history` reads without decompressing anything. The head is written last, so a reader
//! never finds a head that names chunks not yet written; a reader verifies the checksum.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

use crate::error::ReleaseError;
use crate::labels;
use crate::record::{ReleaseRecord, ReleaseStatus};
use crate::redact::sha256_hex;

/// Key of the chunk bytes in each Secret.
const DATA_KEY: &str = "release";
/// Compressed bytes per Secret: well under the 1 MiB limit once base64 and metadata are added.
pub const DEFAULT_CHUNK_BYTES: usize = 512 * 1024;
pub const DEFAULT_KEEP: usize = 10;

/// What `history` shows of a revision, read from its head alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSummary {
    pub revision: u64,
    pub status: ReleaseStatus,
    pub started_at: String,
    pub by: String,
    pub tool_version: String,
    pub message: Option<String>,
    pub rollback_of: Option<u64>,
    pub chunks: usize,
}

/// Earlier runs as far as a new run needs them.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub last_successful: Option<ReleaseRecord>,
    /// Every object the cluster may hold from earlier runs, in apply order.
    pub inventory: Vec<crate::record::InventoryItem>,
}

/// What one save wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub chunks: usize,
    pub compressed_bytes: usize,
    pub json_bytes: usize,
}

/// The release history of one environment, kept in one namespace.
#[derive(Clone)]
pub struct ReleaseStore {
    secrets: Api<Secret>,
    environment: String,
    chunk_bytes: usize,
    keep: usize,
}

pub fn secret_name(environment: &str, revision: u64, chunk: usize) -> String {
    format!("govdeploy-release.{environment}.v{revision}.c{chunk}")
}

impl ReleaseStore {
    pub fn new(client: kube::Client, namespace: &str, environment: &str) -> ReleaseStore {
        ReleaseStore {
            secrets: Api::namespaced(client, namespace),
            environment: environment.to_string(),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            keep: DEFAULT_KEEP,
        }
    }

    /// Compressed bytes per Secret (at least 1 KiB).
    pub fn chunk_bytes(mut self, bytes: usize) -> ReleaseStore {
        self.chunk_bytes = bytes.max(1024);
        self
    }

    /// Revisions kept by [`ReleaseStore::prune_history`] (at least 1); the last successful
    /// one is kept in addition when it is older.
    pub fn keep(mut self, revisions: usize) -> ReleaseStore {
        self.keep = revisions.max(1);
        self
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    fn selector(&self, revision: Option<u64>, head_only: bool) -> String {
        let mut s = format!("{}={}", labels::RELEASE_ENV, self.environment);
        if let Some(r) = revision {
            s.push_str(&format!(",{}={r}", labels::RELEASE_REVISION));
        }
        if head_only {
            s.push_str(&format!(",{}=0", labels::RELEASE_CHUNK));
        }
        s
    }

    /// Every revision, oldest first.
    pub async fn history(&self) -> Result<Vec<ReleaseSummary>, ReleaseError> {
        let heads = self
            .secrets
            .list(&ListParams::default().labels(&self.selector(None, true)))
            .await
            .map_err(|e| {
                ReleaseError::api(format!("listing releases of {}", self.environment), e)
            })?;
        let mut out: Vec<ReleaseSummary> = heads
            .items
            .iter()
            .filter(|s| s.type_.as_deref() == Some(labels::RELEASE_SECRET_TYPE))
            .filter_map(summary_of)
            .collect();
        out.sort_by_key(|s| s.revision);
        Ok(out)
    }

    /// One more than the highest revision stored (1 for a new environment).
    pub async fn next_revision(&self) -> Result<u64, ReleaseError> {
        Ok(self
            .history()
            .await?
            .last()
            .map_or(1, |s| s.revision.saturating_add(1)))
    }

    /// Writes (or rewrites) a revision: chunks first, the head last, then removes chunks
    /// left from an earlier, longer version of the same revision.
    pub async fn save(&self, record: &ReleaseRecord) -> Result<Saved, ReleaseError> {
        let json = serde_json::to_vec(record).map_err(|e| ReleaseError::Encode(e.to_string()))?;
        let compressed = gzip(&json).map_err(|e| ReleaseError::Encode(e.to_string()))?;
        let checksum = sha256_hex(&compressed);
        let chunks: Vec<&[u8]> = compressed.chunks(self.chunk_bytes).collect();
        let count = chunks.len().max(1);
        let revision = record.revision;
        for (index, bytes) in chunks.iter().copied().enumerate().skip(1).chain(
            // the head last; an empty record still has a head
            std::iter::once((0, chunks.first().copied().unwrap_or(&[]))),
        ) {
            let mut secret = Secret {
                metadata: ObjectMeta {
                    name: Some(secret_name(&self.environment, revision, index)),
                    labels: Some(BTreeMap::from([
                        (labels::MANAGED_BY.to_string(), labels::MANAGER.to_string()),
                        (labels::RELEASE_ENV.to_string(), self.environment.clone()),
                        (labels::RELEASE_REVISION.to_string(), revision.to_string()),
                        (labels::RELEASE_CHUNK.to_string(), index.to_string()),
                        (
                            labels::RELEASE_STATUS.to_string(),
                            record.status.as_str().to_string(),
                        ),
                    ])),
                    ..ObjectMeta::default()
                },
                type_: Some(labels::RELEASE_SECRET_TYPE.to_string()),
                data: Some(BTreeMap::from([(
                    DATA_KEY.to_string(),
                    ByteString(bytes.to_vec()),
                )])),
                ..Secret::default()
            };
            if index == 0 {
                secret.metadata.annotations = Some(head_annotations(record, count, &checksum));
            }
            self.write(&secret).await?;
        }
        self.delete_chunks_from(revision, count).await?;
        Ok(Saved {
            chunks: count,
            compressed_bytes: compressed.len(),
            json_bytes: json.len(),
        })
    }

    /// Creates the Secret, or replaces it whole (a rewrite of the same revision). Plain
    /// create/replace rather than server-side apply: the store owns these Secrets entirely,
    /// and the objects' own applies stay the only applies of a run.
    async fn write(&self, secret: &Secret) -> Result<(), ReleaseError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let action = || format!("writing release Secret {name}");
        let existing = self
            .secrets
            .get_opt(&name)
            .await
            .map_err(|e| ReleaseError::api(action(), e))?;
        let mut body = secret.clone();
        body.metadata.managed_fields = None;
        let written = match existing {
            Some(current) => {
                body.metadata.resource_version = current.metadata.resource_version;
                self.secrets
                    .replace(&name, &PostParams::default(), &body)
                    .await
            }
            None => self.secrets.create(&PostParams::default(), &body).await,
        };
        written.map_err(|e| ReleaseError::api(action(), e))?;
        Ok(())
    }

    async fn delete_chunks_from(&self, revision: u64, count: usize) -> Result<(), ReleaseError> {
        let existing = self
            .secrets
            .list(&ListParams::default().labels(&self.selector(Some(revision), false)))
            .await
            .map_err(|e| ReleaseError::api(format!("listing chunks of release {revision}"), e))?;
        for s in existing.items {
            let index = label(&s, labels::RELEASE_CHUNK)
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if index >= count {
                let name = s.metadata.name.unwrap_or_default();
                self.delete_secret(&name).await?;
            }
        }
        Ok(())
    }

    async fn delete_secret(&self, name: &str) -> Result<(), ReleaseError> {
        match self.secrets.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if crate::error::status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(ReleaseError::api(
                format!("deleting release Secret {name}"),
                e,
            )),
        }
    }

    /// Reads a revision back, verifying the checksum over all its chunks.
    pub async fn load(&self, revision: u64) -> Result<ReleaseRecord, ReleaseError> {
        let head_name = secret_name(&self.environment, revision, 0);
        let head = self
            .secrets
            .get_opt(&head_name)
            .await
            .map_err(|e| ReleaseError::api(format!("reading release Secret {head_name}"), e))?
            .ok_or_else(|| ReleaseError::NoSuchRevision {
                env: self.environment.clone(),
                revision,
            })?;
        let corrupt = |problem: String| ReleaseError::Corrupt {
            env: self.environment.clone(),
            revision,
            problem,
        };
        let annotations = head.metadata.annotations.clone().unwrap_or_default();
        let count: usize = annotations
            .get(labels::RELEASE_CHUNKS)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt(format!("{head_name} has no chunk count")))?;
        let checksum = annotations
            .get(labels::RELEASE_CHECKSUM)
            .cloned()
            .ok_or_else(|| corrupt(format!("{head_name} has no checksum")))?;
        let mut compressed = chunk_bytes(&head);
        for index in 1..count {
            let name = secret_name(&self.environment, revision, index);
            let chunk = self
                .secrets
                .get_opt(&name)
                .await
                .map_err(|e| ReleaseError::api(format!("reading release Secret {name}"), e))?
                .ok_or_else(|| corrupt(format!("chunk {index} of {count} ({name}) is missing")))?;
            compressed.extend_from_slice(&chunk_bytes(&chunk));
        }
        if sha256_hex(&compressed) != checksum {
            return Err(corrupt(format!(
                "the checksum over its {count} chunks does not match"
            )));
        }
        let json = gunzip(&compressed).map_err(|e| corrupt(format!("cannot decompress: {e}")))?;
        let record: ReleaseRecord = serde_json::from_slice(&json)
            .map_err(|e| corrupt(format!("cannot decode the record: {e}")))?;
        if record.revision != revision || record.environment != self.environment {
            return Err(corrupt(format!(
                "it holds revision {} of {}",
                record.revision, record.environment
            )));
        }
        Ok(record)
    }

    /// The newest revision that succeeded.
    pub async fn last_successful(&self) -> Result<Option<ReleaseSummary>, ReleaseError> {
        Ok(self
            .history()
            .await?
            .into_iter()
            .rev()
            .find(|s| s.status == ReleaseStatus::Succeeded))
    }

    /// What the cluster may still hold from earlier runs: the last successful release and
    /// the inventories of it and of every later revision (a failed or interrupted run may
    /// have created objects before it stopped), in apply order, without duplicates.
    pub async fn baseline(&self) -> Result<Baseline, ReleaseError> {
        let history = self.history().await?;
        let start = history
            .iter()
            .rposition(|s| s.status == ReleaseStatus::Succeeded)
            .unwrap_or(0);
        let mut baseline = Baseline::default();
        let mut seen = std::collections::BTreeSet::new();
        for summary in &history[start..] {
            let record = match self.load(summary.revision).await {
                Ok(r) => r,
                // A running or damaged head without a readable body adds nothing.
                Err(ReleaseError::Corrupt { .. }) if summary.status != ReleaseStatus::Succeeded => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            for item in &record.inventory {
                if seen.insert(item.key()) {
                    baseline.inventory.push(item.clone());
                } else if item.uid.is_some() {
                    // A later run knows the newer uid (the object may have been recreated).
                    if let Some(known) = baseline
                        .inventory
                        .iter_mut()
                        .find(|i| i.key() == item.key())
                    {
                        known.uid = item.uid.clone();
                    }
                }
            }
            if record.status == ReleaseStatus::Succeeded {
                baseline.last_successful = Some(record);
            }
        }
        Ok(baseline)
    }

    /// Marks every revision still `running` as `interrupted`. Call it holding the lock: a
    /// running revision then belongs to a run that died. Returns the revisions marked.
    pub async fn mark_interrupted(&self) -> Result<Vec<u64>, ReleaseError> {
        let mut marked = Vec::new();
        for summary in self.history().await? {
            if summary.status != ReleaseStatus::Running {
                continue;
            }
            let mut record = self.load(summary.revision).await?;
            record.status = ReleaseStatus::Interrupted;
            record.message = Some(
                "the run ended without finishing (killed or lost its connection); its lock expired"
                    .to_string(),
            );
            self.save(&record).await?;
            marked.push(summary.revision);
        }
        Ok(marked)
    }

    /// Deletes revisions beyond the newest `keep`, never the last successful one nor a
    /// running one. Returns the revisions deleted.
    pub async fn prune_history(&self) -> Result<Vec<u64>, ReleaseError> {
        let history = self.history().await?;
        let last_ok = history
            .iter()
            .rev()
            .find(|s| s.status == ReleaseStatus::Succeeded)
            .map(|s| s.revision);
        let cut = history.len().saturating_sub(self.keep);
        let mut deleted = Vec::new();
        for summary in &history[..cut] {
            if Some(summary.revision) == last_ok || summary.status == ReleaseStatus::Running {
                continue;
            }
            self.delete_revision(summary.revision).await?;
            deleted.push(summary.revision);
        }
        Ok(deleted)
    }

    /// Removes every chunk of a revision, the head first (so a half-deleted revision is no
    /// longer listed).
    async fn delete_revision(&self, revision: u64) -> Result<(), ReleaseError> {
        self.delete_secret(&secret_name(&self.environment, revision, 0))
            .await?;
        self.delete_chunks_from(revision, 0).await
    }
}

fn label<'s>(secret: &'s Secret, name: &str) -> Option<&'s String> {
    secret.metadata.labels.as_ref()?.get(name)
}

fn chunk_bytes(secret: &Secret) -> Vec<u8> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(DATA_KEY))
        .map(|b| b.0.clone())
        .unwrap_or_default()
}

fn head_annotations(
    record: &ReleaseRecord,
    count: usize,
    checksum: &str,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        (labels::RELEASE_CHUNKS.to_string(), count.to_string()),
        (labels::RELEASE_CHECKSUM.to_string(), checksum.to_string()),
        (
            labels::RELEASE_STARTED.to_string(),
            record.provenance.started_at.clone(),
        ),
        (labels::RELEASE_BY.to_string(), record.provenance.by.clone()),
        (
            labels::RELEASE_TOOL.to_string(),
            record.provenance.tool_version.clone(),
        ),
    ]);
    if let Some(m) = &record.message {
        a.insert(labels::RELEASE_MESSAGE.to_string(), m.clone());
    }
    if let Some(r) = record.rollback_of {
        a.insert(labels::RELEASE_ROLLBACK_OF.to_string(), r.to_string());
    }
    a
}

fn summary_of(head: &Secret) -> Option<ReleaseSummary> {
    let annotations = head.metadata.annotations.clone().unwrap_or_default();
    let get = |k: &str| annotations.get(k).cloned();
    Some(ReleaseSummary {
        revision: label(head, labels::RELEASE_REVISION)?.parse().ok()?,
        status: ReleaseStatus::parse(label(head, labels::RELEASE_STATUS)?)?,
        started_at: get(labels::RELEASE_STARTED).unwrap_or_default(),
        by: get(labels::RELEASE_BY).unwrap_or_default(),
        tool_version: get(labels::RELEASE_TOOL).unwrap_or_default(),
        message: get(labels::RELEASE_MESSAGE),
        rollback_of: get(labels::RELEASE_ROLLBACK_OF).and_then(|v| v.parse().ok()),
        chunks: get(labels::RELEASE_CHUNKS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    })
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_names_are_dns_subdomains() {
        let data = b"hello hello hello hello".repeat(100);
        let packed = gzip(&data).unwrap_or_default();
        assert!(packed.len() < data.len());
        assert_eq!(gunzip(&packed).unwrap_or_default(), data);
        let name = secret_name("prod", 12, 3);
        assert_eq!(name, "govdeploy-release.prod.v12.c3");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        );
    }
}
