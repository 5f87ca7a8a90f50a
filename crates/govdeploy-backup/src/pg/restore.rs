//! Restoring a dump with `pg_restore`, and what restore must know first: whether the
//! database holds anything (it is never overwritten unless asked) and how to make and drop
//! the scratch databases drills use.

use std::path::Path;
use std::process::Stdio;

use tokio_postgres::Client;

use crate::error::{BackupError, Result};
use crate::pg::PgTarget;
use crate::pg::tools::PgTools;
use crate::process::run_captured;

/// What a database holds beyond an empty one, or `None` when it is empty.
pub async fn contents(client: &Client, target: &PgTarget) -> Result<Option<String>> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') \
                       AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%')::int8, \
                    (SELECT count(*) FROM pg_largeobject_metadata)::int8",
            &[],
        )
        .await
        .map_err(|e| target.error(e))?;
    let relations: i64 = row.try_get(0).map_err(|e| target.error(e))?;
    let large_objects: i64 = row.try_get(1).map_err(|e| target.error(e))?;
    Ok(match (relations, large_objects) {
        (0, 0) => None,
        (r, 0) => Some(format!("{r} tables, views or sequences")),
        (0, l) => Some(format!("{l} large objects")),
        (r, l) => Some(format!(
            "{r} tables, views or sequences and {l} large objects"
        )),
    })
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates `database` on the server of `admin` (connected to its maintenance database)
/// unless it exists; returns whether it was created.
pub async fn ensure_database(admin: &PgTarget, database: &str) -> Result<bool> {
    let client = admin.connect().await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
        .await
        .map_err(|e| admin.error(e))?
        .is_some();
    if exists {
        return Ok(false);
    }
    client
        .batch_execute(&format!("CREATE DATABASE {}", quote_ident(database)))
        .await
        .map_err(|e| admin.error(e))?;
    Ok(true)
}

pub async fn drop_database(admin: &PgTarget, database: &str) -> Result<()> {
    let client = admin.connect().await?;
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(database)
        ))
        .await
        .map_err(|e| admin.error(e))
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Drop objects before recreating them (`--clean --if-exists`).
    pub clean: bool,
    /// Leave ownership and grants out (a scratch server need not have the roles).
    pub no_owner: bool,
    /// Parallel jobs (`-j`); 1 restores in a single transaction.
    pub jobs: u32,
}

/// `pg_restore` of a custom-format archive into `target`, stopping at the first error.
pub async fn pg_restore(
    tools: &PgTools,
    target: &PgTarget,
    dump: &Path,
    options: RestoreOptions,
) -> Result<()> {
    let tool = tools.pg_restore();
    let mut command = tokio::process::Command::new(&tool);
    command
        .arg("--no-password")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(&target.database)
        .envs(target.libpq_env())
        .stdin(Stdio::null());
    if options.clean {
        command.arg("--clean").arg("--if-exists");
    }
    if options.no_owner {
        command.arg("--no-owner").arg("--no-acl");
    }
    if options.jobs > 1 {
        command.arg(format!("--jobs={}", options.jobs));
    } else {
        command.arg("--single-transaction");
    }
    command.arg(dump);
    run_captured(&mut command, &tool.display().to_string()).await?;
    Ok(())
}

/// Restores into `target` (created if missing, through `admin`); a database that holds
/// anything is refused unless `overwrite`.
pub async fn restore_database(
    tools: &PgTools,
    admin: &PgTarget,
    target: &PgTarget,
    dump: &Path,
    overwrite: bool,
    jobs: u32,
) -> Result<()> {
    ensure_database(admin, &target.database).await?;
    let client = target.connect().await?;
    let held = contents(&client, target).await?;
    drop(client);
    if let Some(what) = &held
        && !overwrite
    {
        return Err(BackupError::NotEmpty {
            database: target.describe(),
            what: what.clone(),
        });
    }
    let options = RestoreOptions {
        clean: held.is_some(),
        no_owner: false,
        jobs,
    };
    pg_restore(tools, target, dump, options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
