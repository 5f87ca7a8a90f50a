//! Releases of an environment: the record of every apply, kept in the cluster; the lock that
//! keeps two runs apart; the diff between what would be applied and what is live; and the
//! prune set of objects a new release no longer has.
//!
//! It owns the release record model (secret-free: Secret data and secret inputs are kept as
//! SHA-256 hashes), its storage as gzip-compressed chunks across Secrets of type
//! `govdeploy.io/release.v1`, the per-environment `coordination.k8s.io/v1` Lease, live-object
//! normalisation with the unified YAML diff, and the prune set with its ownership checks. It
//! never renders or applies objects (the render and apply crates do) and never prints.
//!
//! Dependencies: `kube` for typed Secret and Lease calls and dynamic objects; `flate2` for
//! gzip (a release with every DIGIT module is several MiB of JSON); `similar` for the unified
//! diff (Myers with grouped hunks, the algorithm `git diff` uses).

pub mod applyset;
pub mod client;
pub mod diff;
pub mod error;
pub mod labels;
pub mod lock;
pub mod prune;
pub mod record;
pub mod redact;
pub mod resolver;
pub mod store;

pub use error::ReleaseError;
pub use lock::{Acquired, EnvLock, LeaseInfo, LockGuard, LockOptions};
pub use record::{
    ImageRef, InputRef, InventoryItem, NodeRecord, Provenance, RecordedObject, ReleaseRecord,
    ReleaseStatus,
};
pub use store::{Baseline, ReleaseStore, ReleaseSummary, Saved};
