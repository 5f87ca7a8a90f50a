//! Counters a transfer keeps, shared by every task (atomics, no locks).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Stats {
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    retries: AtomicU64,
    resumed_uploads: AtomicU64,
    blobs_sent: AtomicU64,
    blobs_skipped: AtomicU64,
    blobs_mounted: AtomicU64,
    blob_bytes_sent: AtomicU64,
    manifests_pushed: AtomicU64,
    manifests_skipped: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Request bodies sent (blob content plus manifests).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub retries: u64,
    pub resumed_uploads: u64,
    pub blobs_sent: u64,
    pub blobs_skipped: u64,
    pub blobs_mounted: u64,
    pub blob_bytes_sent: u64,
    pub manifests_pushed: u64,
    pub manifests_skipped: u64,
}

macro_rules! adders {
    ($($name:ident => $field:ident),* $(,)?) => {
        impl Stats {
            $(pub(crate) fn $name(&self, n: u64) { self.$field.fetch_add(n, Ordering::Relaxed); })*
        }
    };
}

adders! {
    add_sent => bytes_sent,
    add_received => bytes_received,
    add_retries => retries,
    add_resumed => resumed_uploads,
    add_blob_sent => blobs_sent,
    add_blob_skipped => blobs_skipped,
    add_blob_mounted => blobs_mounted,
    add_blob_bytes => blob_bytes_sent,
    add_manifest_pushed => manifests_pushed,
    add_manifest_skipped => manifests_skipped,
}

impl Stats {
    pub(crate) fn add_retry(&self) {
        self.add_retries(1);
    }

    pub fn summary(&self) -> Summary {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Summary {
            bytes_sent: get(&self.bytes_sent),
            bytes_received: get(&self.bytes_received),
            retries: get(&self.retries),
            resumed_uploads: get(&self.resumed_uploads),
            blobs_sent: get(&self.blobs_sent),
            blobs_skipped: get(&self.blobs_skipped),
            blobs_mounted: get(&self.blobs_mounted),
            blob_bytes_sent: get(&self.blob_bytes_sent),
            manifests_pushed: get(&self.manifests_pushed),
            manifests_skipped: get(&self.manifests_skipped),
        }
    }
}
