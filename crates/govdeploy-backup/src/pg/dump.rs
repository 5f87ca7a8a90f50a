//! A consistent logical dump: one transaction exports its snapshot, `pg_dump --snapshot`
//! dumps exactly that snapshot while the census runs on a second connection that imports
//! it, so the row counts and checksums recorded are those of the dump (not of the database
//! a moment earlier or later). Both run at the same time, and the census's per-row hash is
//! cheap enough that pg_dump stays the slower of the two.
//!
//! The dump is written by pg_dump itself to a seekable file (`--file`), not streamed through
//! a pipe: only then does the custom format's table of contents record each entry's data
//! offset, which `pg_restore --jobs` needs to restore in parallel. The file is hashed once
//! it is complete (it is then in the page cache, so this is not a second disk read).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio_postgres::IsolationLevel;

use crate::error::Result;
use crate::manifest::PostgresRecord;
use crate::pg::{PgTarget, census, major_of, server_version, tools, wal};
use crate::process::run_captured;

pub struct DumpOptions<'a> {
    /// Directory of the client tools; found from the server's major version when absent.
    pub pg_bin: Option<&'a Path>,
    /// How long to wait for the switched WAL segment to be archived.
    pub wal_timeout: Duration,
}

/// Dumps `target` to `out` (`pg_dump -Fc`, large objects included) and records the census.
pub async fn dump(
    target: &PgTarget,
    out: &Path,
    options: &DumpOptions<'_>,
) -> Result<PostgresRecord> {
    let mut client = target.connect().await?;
    let (server_version_text, version_num) = server_version(&client, target).await?;
    let tools = tools::find(major_of(version_num), options.pg_bin).await?;

    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| target.error(e))?;
    let snapshot: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| target.error(e))?;

    let pg_dump = tools.pg_dump();
    let mut command = tokio::process::Command::new(&pg_dump);
    command
        .arg("--format=custom")
        .arg("--no-password")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(out)
        .envs(target.libpq_env())
        .stdin(Stdio::null());
    let name = pg_dump.display().to_string();
    // Either failing ends both: the census is not worth finishing for a failed dump.
    let (_, census) = tokio::try_join!(
        run_captured(&mut command, &name),
        census::take_parallel(target, Some(&snapshot), None, 1)
    )?;
    tx.commit().await.map_err(|e| target.error(e))?;

    let wal = wal::confirm_archived(&client, target, options.wal_timeout).await?;
    Ok(PostgresRecord {
        host: target.host.clone(),
        port: target.port,
        database: target.database.clone(),
        server_version: server_version_text,
        server_version_num: version_num,
        pg_dump_version: tools.version,
        format: "custom".into(),
        snapshot,
        census,
        wal,
    })
}
