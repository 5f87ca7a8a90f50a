//! Backups of an environment's data, their verification, restore drills and restores.
//!
//! Owns: the Postgres logical dump made with the server's own major version and a census
//! (per-table row counts and content checksums) taken in the dump's snapshot; the etcd
//! snapshot from the Maintenance stream, checked against its SHA-256 trailer; the backup
//! manifest; directory and S3-compatible stores; retention; drills that restore into scratch
//! databases and compare; WAL-archiving checks for point-in-time recovery; the CronJob that
//! runs scheduled backups. Never does: rendering of the environment's workloads, or talking
//! to the Kubernetes API (in-cluster dumps and object export are interfaces in `cluster`,
//! implemented where a cluster client lives).
//!
//! Dependencies: `tokio-postgres` (the census and snapshot export need a live transaction
//! shared with `pg_dump --snapshot`, which no subprocess-only approach gives), `etcd-client`
//! (the Maintenance snapshot stream; built with `protoc`), `object_store` (S3 API without the
//! AWS SDK), `jiff` (timestamps in manifests and retention).

pub mod backup;
pub mod cluster;
pub mod digest;
pub mod drill;
pub mod error;
pub mod etcd;
pub mod manifest;
pub mod pg;
mod process;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod store;
pub mod verify;

pub use error::{BackupError, Result};
