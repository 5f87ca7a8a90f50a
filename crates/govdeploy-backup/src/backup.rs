//! `govdeploy backup ENV`: dump the environment's Postgres database and snapshot its etcd,
//! record both in a manifest, and commit the whole to a store. A backup is complete only
//! when every part succeeded (WAL archived, trailer verified); otherwise nothing is stored.

use std::path::PathBuf;
use std::time::Duration;

use crate::digest::sha256_file;
use crate::error::Result;
use crate::manifest::{
    Artifact, ArtifactKind, ETCD_FILE, FORMAT, Manifest, POSTGRES_FILE, ToolInfo, backup_id,
    now_rfc3339,
};
use crate::pg::PgTarget;
use crate::pg::dump::{DumpOptions, dump};
use crate::store::Store;

pub struct BackupRequest {
    pub environment: String,
    pub postgres: Option<PgTarget>,
    pub pg_bin: Option<PathBuf>,
    /// etcd client URL, when the operator has etcd access.
    pub etcd: Option<String>,
    /// TLS for an `https://` etcd endpoint.
    pub etcd_tls: Option<crate::etcd::EtcdTls>,
    pub wal_timeout: Duration,
}

fn artifact(dir: &std::path::Path, file: &str, kind: ArtifactKind) -> Result<Artifact> {
    let (size, sha256) = sha256_file(&dir.join(file))?;
    Ok(Artifact {
        file: file.to_string(),
        kind,
        size,
        sha256,
    })
}

pub async fn create(request: &BackupRequest, store: &Store) -> Result<Manifest> {
    let started = jiff::Timestamp::now();
    let created_at = now_rfc3339();
    let id = backup_id(&request.environment, started);
    let staging = store.staging()?;
    let mut artifacts = Vec::new();

    let postgres = match &request.postgres {
        Some(target) => {
            let options = DumpOptions {
                pg_bin: request.pg_bin.as_deref(),
                wal_timeout: request.wal_timeout,
            };
            let record = dump(target, &staging.dir.join(POSTGRES_FILE), &options).await?;
            artifacts.push(artifact(
                &staging.dir,
                POSTGRES_FILE,
                ArtifactKind::PostgresDump,
            )?);
            Some(record)
        }
        None => None,
    };
    let etcd = match &request.etcd {
        Some(endpoint) => {
            let record = crate::etcd::snapshot(
                endpoint,
                request.etcd_tls.as_ref(),
                &staging.dir.join(ETCD_FILE),
            )
            .await?;
            artifacts.push(artifact(
                &staging.dir,
                ETCD_FILE,
                ArtifactKind::EtcdSnapshot,
            )?);
            Some(record)
        }
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        id,
        environment: request.environment.clone(),
        created_at,
        completed_at: now_rfc3339(),
        tool: ToolInfo::current(),
        artifacts,
        postgres,
        etcd,
    };
    store.commit(staging, &manifest).await?;
    Ok(manifest)
}
