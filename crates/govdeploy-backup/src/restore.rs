//! `govdeploy restore ENV --from BACKUP`: the backup is verified first (a corrupt dump is
//! never restored), then restored into the environment's database, which must be empty
//! unless the caller asked to overwrite it. Confirmation is the CLI's job.

use std::path::PathBuf;

use crate::error::{BackupError, Result};
use crate::manifest::ArtifactKind;
use crate::pg::restore::restore_database;
use crate::pg::{PgTarget, major_of, tools};
use crate::store::Store;
use crate::verify::verify;

pub struct RestoreRequest {
    pub target: PgTarget,
    /// The same server's maintenance database, to create the target when it is missing.
    pub admin: PgTarget,
    pub pg_bin: Option<PathBuf>,
    pub overwrite: bool,
    pub jobs: u32,
}

#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub backup: String,
    pub database: String,
    pub tables: usize,
    pub rows: u64,
    pub large_objects: u64,
}

pub async fn restore(store: &Store, id: &str, request: &RestoreRequest) -> Result<RestoreSummary> {
    let (manifest, opened) = store.open(id).await?;
    let (Some(pg), Some(dump)) = (
        &manifest.postgres,
        manifest.artifact(ArtifactKind::PostgresDump),
    ) else {
        return Err(BackupError::Invalid(format!(
            "backup {id} holds no Postgres dump; nothing to restore"
        )));
    };
    let report = verify(&opened.dir, &manifest, request.pg_bin.as_deref()).await?;
    if !report.ok() {
        return Err(BackupError::Invalid(format!(
            "backup {id} does not pass verify, so it is not restored:\n  {}",
            report.problems.join("\n  ")
        )));
    }
    let tools = tools::find(major_of(pg.server_version_num), request.pg_bin.as_deref()).await?;
    restore_database(
        &tools,
        &request.admin,
        &request.target,
        &opened.dir.join(&dump.file),
        request.overwrite,
        request.jobs,
    )
    .await?;
    Ok(RestoreSummary {
        backup: id.to_string(),
        database: request.target.describe(),
        tables: pg.census.tables.len(),
        rows: pg.census.tables.iter().map(|t| t.rows).sum(),
        large_objects: pg.census.large_objects.count,
    })
}
