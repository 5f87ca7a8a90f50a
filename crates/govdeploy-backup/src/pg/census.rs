//! Per-table row counts and content checksums, and the same for large objects.
//!
//! A table's checksum is order-independent: every row is hashed to a signed 64-bit value on
//! the server and the hashes are summed exactly (`sum(int8)` is `numeric`, accumulated in
//! 128 bits, so nothing wraps). Physical order changes on restore, so an ordered hash would
//! need a sort of every table; summing keeps the pass one sequential scan, and a sum (unlike
//! XOR) still notices a duplicated or a missing row.
//!
//! The row hash is `hash_record_extended(row, 0)` (the hash functions of the columns' types,
//! no text conversion), hashed once more through its decimal text: about three times cheaper
//! than `md5(row::text)`, cheap enough to run beside `pg_dump` without becoming the slower of
//! the two. The second hash matters: `hash_record_extended` combines the column hashes
//! linearly (`31 * h + h(column)`), so a plain sum of it is the sum of per-column sums and
//! misses values swapped between rows; re-hashing makes each row's contribution non-linear.
//! It is used only where it is stable across a dump and restore: every column of a built-in
//! base type (or an array of one) with a hash function, no `reg*`/`aclitem` column (their
//! hashes are OIDs, which a restore reassigns; enums too, which is why user-defined types
//! are excluded), and no non-deterministic collation. Any other table is hashed through its
//! text form, `hashtextextended(row::text, 0)`. Which hash a table used is recorded, and the
//! drill hashes the restored table the same way.
//!
//! Robustness: one changed, missing or extra row goes unnoticed only if the 64-bit hashes
//! happen to collide (or several changes cancel in the sum): about 2^-64 for accidental
//! damage. These hashes are not cryptographic; the census detects restore faults, not
//! deliberate forgery (the files' SHA-256 in the manifest does that for the archive itself).
//! A type's hash follows the type's equality, so a value changed into an equal one
//! (`1.0` to `1.00` in `numeric`, `-0` to `0` in `float8`) is not a difference; pg_restore
//! does not make such changes. Backups made before this scheme recorded `md5-text`
//! checksums; the drill recomputes those with md5 so old backups still drill.
//!
//! The census runs in the snapshot the dump uses (imported on its own connection), so what
//! it records is exactly what the dump holds.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio_postgres::GenericClient;

use crate::digest::sha256_bytes;
use crate::error::Result;
use crate::pg::PgTarget;

/// How a table's rows were hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RowHash {
    /// `md5(row::text)`, halves summed: backups made before the 64-bit hashes.
    #[default]
    Md5Text,
    /// `hashtextextended(hash_record_extended(row, 0)::text, 0)`.
    Record,
    /// `hashtextextended(row::text, 0)`.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableCensus {
    /// `schema.table`, quoted where SQL needs it.
    pub table: String,
    pub rows: u64,
    pub checksum: String,
    #[serde(default)]
    pub hash: RowHash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LargeObjectCensus {
    pub count: u64,
    pub checksum: String,
    #[serde(default)]
    pub hash: RowHash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Census {
    pub tables: Vec<TableCensus>,
    pub large_objects: LargeObjectCensus,
}

/// Ordinary tables (and partitions) outside the system schemas, largest first (so parallel
/// workers finish together), each with whether `hash_record_extended` is stable for it.
const TABLES: &str = "\
WITH RECURSIVE cols AS (
  SELECT a.attrelid, a.atttypid, a.attcollation FROM pg_attribute a
  WHERE a.attnum > 0 AND NOT a.attisdropped
), col_types AS (
  SELECT c.attrelid, c.attcollation,
         CASE WHEN t.typsubscript = 'array_subscript_handler'::regproc THEN t.typelem ELSE t.oid END AS base
  FROM cols c JOIN pg_type t ON t.oid = c.atttypid
), unstable AS (
  SELECT DISTINCT ct.attrelid FROM col_types ct
  JOIN pg_type b ON b.oid = ct.base
  LEFT JOIN pg_collation co ON co.oid = ct.attcollation
  WHERE b.oid >= 16384 OR b.typtype <> 'b'
     OR b.typname LIKE 'reg%' OR b.typname = 'aclitem'
     OR (ct.attcollation <> 0 AND NOT coalesce(co.collisdeterministic, false))
     OR NOT EXISTS (
       SELECT 1 FROM pg_opclass oc
       JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
       JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amprocnum = 2
       WHERE oc.opcdefault AND oc.opcintype = b.oid)
)
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t,
       c.oid NOT IN (SELECT attrelid FROM unstable) AS by_record
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY c.relpages DESC, 1";

const LARGE_OBJECTS: &str = "pg_largeobject_metadata";

fn census_sql(source: &str, hash: RowHash, large_objects: bool) -> String {
    let row = if large_objects {
        "ROW(t.oid, lo_get(t.oid))"
    } else {
        "t"
    };
    match hash {
        RowHash::Md5Text => {
            let h = if large_objects {
                "md5(t.oid::text || ':' || md5(lo_get(t.oid)))".to_string()
            } else {
                "md5(t::text)".to_string()
            };
            format!(
                "SELECT count(*)::int8, \
                   coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::int8::numeric), 0)::text \
                   || ':' || \
                   coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::int8::numeric), 0)::text \
                 FROM (SELECT {h} AS h FROM {source} AS t) AS hashed"
            )
        }
        RowHash::Record => format!(
            "SELECT count(*)::int8, \
               coalesce(sum(hashtextextended(hash_record_extended({row}, 0)::text, 0)), 0)::text \
             FROM {source} AS t"
        ),
        RowHash::Text => format!(
            "SELECT count(*)::int8, coalesce(sum(hashtextextended({row}::text, 0)), 0)::text \
             FROM {source} AS t"
        ),
    }
}

/// The recorded checksum for a count and an exact sum (the md5 scheme's was written
/// `rows:high:low`, kept so old backups compare).
fn checksum(hash: RowHash, rows: u64, sum: &str) -> String {
    let text = match hash {
        RowHash::Md5Text => format!("{rows}:{sum}"),
        RowHash::Record => format!("record:{rows}:{sum}"),
        RowHash::Text => format!("text:{rows}:{sum}"),
    };
    sha256_bytes(text.as_bytes())[..32].to_string()
}

async fn count_and_sum(
    client: &impl GenericClient,
    target: &PgTarget,
    source: &str,
    hash: RowHash,
    large_objects: bool,
) -> Result<(u64, String)> {
    let row = client
        .query_one(&census_sql(source, hash, large_objects), &[])
        .await
        .map_err(|e| target.error(e))?;
    let rows: i64 = row.try_get(0).map_err(|e| target.error(e))?;
    let sum: String = row.try_get(1).map_err(|e| target.error(e))?;
    let rows = u64::try_from(rows).unwrap_or(0);
    Ok((rows, checksum(hash, rows, &sum)))
}

/// A table to count: its name and the hash to use.
#[derive(Debug, Clone)]
struct Job {
    table: String,
    hash: RowHash,
}

async fn jobs(
    client: &impl GenericClient,
    target: &PgTarget,
    recorded: Option<&Census>,
) -> Result<Vec<Job>> {
    let rows = client
        .query(TABLES, &[])
        .await
        .map_err(|e| target.error(e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let table: String = row.try_get(0).map_err(|e| target.error(e))?;
        let by_record: bool = row.try_get(1).map_err(|e| target.error(e))?;
        let hash = recorded
            .and_then(|c| c.tables.iter().find(|t| t.table == table))
            .map(|t| t.hash)
            .unwrap_or(if by_record {
                RowHash::Record
            } else {
                RowHash::Text
            });
        out.push(Job { table, hash });
    }
    Ok(out)
}

async fn large_objects(
    client: &impl GenericClient,
    target: &PgTarget,
    recorded: Option<&Census>,
) -> Result<LargeObjectCensus> {
    let hash = recorded.map_or(RowHash::Record, |c| c.large_objects.hash);
    let (count, checksum) = count_and_sum(client, target, LARGE_OBJECTS, hash, true).await?;
    Ok(LargeObjectCensus {
        count,
        checksum,
        hash,
    })
}

fn finish(mut tables: Vec<TableCensus>, large_objects: LargeObjectCensus) -> Census {
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    Census {
        tables,
        large_objects,
    }
}

/// Takes the census in whatever transaction `client` is in, one table after another.
/// `recorded` (a census taken at backup time) says which hash each table used then.
pub async fn take(
    client: &impl GenericClient,
    target: &PgTarget,
    recorded: Option<&Census>,
) -> Result<Census> {
    let mut tables = Vec::new();
    for job in jobs(client, target, recorded).await? {
        let (rows, checksum) = count_and_sum(client, target, &job.table, job.hash, false).await?;
        tables.push(TableCensus {
            table: job.table,
            rows,
            checksum,
            hash: job.hash,
        });
    }
    let lo = large_objects(client, target, recorded).await?;
    Ok(finish(tables, lo))
}

/// Opens a read-only repeatable-read transaction on a new connection, in `snapshot` if
/// given (an id from `pg_export_snapshot()`).
async fn snapshot_client(
    target: &PgTarget,
    snapshot: Option<&str>,
) -> Result<tokio_postgres::Client> {
    let client = target.connect().await?;
    let mut begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;".to_string();
    if let Some(id) = snapshot {
        begin.push_str(&format!(
            " SET TRANSACTION SNAPSHOT '{}';",
            id.replace('\'', "''")
        ));
    }
    client
        .batch_execute(&begin)
        .await
        .map_err(|e| target.error(e))?;
    Ok(client)
}

/// Takes the census on `workers` connections of its own (at least one), all in `snapshot`
/// when given, tables shared out largest first.
pub async fn take_parallel(
    target: &PgTarget,
    snapshot: Option<&str>,
    recorded: Option<&Census>,
    workers: usize,
) -> Result<Census> {
    let first = snapshot_client(target, snapshot).await?;
    let queue = Arc::new(Mutex::new(VecDeque::from(
        jobs(&first, target, recorded).await?,
    )));
    let mut clients = vec![first];
    for _ in 1..workers.max(1) {
        clients.push(snapshot_client(target, snapshot).await?);
    }
    let work = clients.into_iter().map(|client| {
        let queue = Arc::clone(&queue);
        async move {
            let mut done = Vec::new();
            loop {
                let Some(job) = queue.lock().await.pop_front() else {
                    break;
                };
                let (rows, checksum) =
                    count_and_sum(&client, target, &job.table, job.hash, false).await?;
                done.push(TableCensus {
                    table: job.table,
                    rows,
                    checksum,
                    hash: job.hash,
                });
            }
            Ok::<_, crate::BackupError>((client, done))
        }
    });
    let results = futures::future::try_join_all(work).await?;
    let mut tables = Vec::new();
    let mut lo = None;
    for (client, done) in results {
        tables.extend(done);
        if lo.is_none() {
            lo = Some(large_objects(&client, target, recorded).await?);
        }
        client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| target.error(e))?;
    }
    Ok(finish(tables, lo.unwrap_or_default()))
}
/// Every difference between the census recorded at backup time and one taken after a
/// restore, in table order; empty when they match.
pub fn differences(recorded: &Census, restored: &Census) -> Vec<String> {
    let mut out = Vec::new();
    let find =
        |census: &Census, name: &str| census.tables.iter().find(|t| t.table == name).cloned();
    for want in &recorded.tables {
        match find(restored, &want.table) {
            None => out.push(format!("table {}: missing after restore", want.table)),
            Some(got) => {
                if got.rows != want.rows {
                    out.push(format!(
                        "table {}: {} rows recorded, {} restored",
                        want.table, want.rows, got.rows
                    ));
                } else if got.checksum != want.checksum {
                    out.push(format!(
                        "table {}: content checksum {} recorded, {} restored (same row count {})",
                        want.table, want.checksum, got.checksum, got.rows
                    ));
                }
            }
        }
    }
    for got in &restored.tables {
        if find(recorded, &got.table).is_none() {
            out.push(format!(
                "table {}: present after restore ({} rows) but not in the backup",
                got.table, got.rows
            ));
        }
    }
    let (want, got) = (&recorded.large_objects, &restored.large_objects);
    if want.count != got.count {
        out.push(format!(
            "large objects: {} recorded, {} restored",
            want.count, got.count
        ));
    } else if want.checksum != got.checksum {
        out.push(format!(
            "large objects: content checksum {} recorded, {} restored",
            want.checksum, got.checksum
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn census(tables: &[(&str, u64, &str)]) -> Census {
        Census {
            tables: tables
                .iter()
                .map(|(t, r, c)| TableCensus {
                    table: t.to_string(),
                    rows: *r,
                    checksum: c.to_string(),
                    hash: RowHash::Record,
                })
                .collect(),
            large_objects: LargeObjectCensus {
                count: 1,
                checksum: "lo".into(),
                hash: RowHash::Record,
            },
        }
    }

    #[test]
    fn names_every_difference() {
        let recorded = census(&[
            ("public.a", 3, "x"),
            ("public.b", 2, "y"),
            ("public.c", 1, "z"),
        ]);
        let mut restored = census(&[
            ("public.a", 2, "x"),
            ("public.b", 2, "w"),
            ("public.d", 5, "v"),
        ]);
        restored.large_objects.count = 0;
        assert_eq!(
            differences(&recorded, &restored),
            vec![
                "table public.a: 3 rows recorded, 2 restored",
                "table public.b: content checksum y recorded, w restored (same row count 2)",
                "table public.c: missing after restore",
                "table public.d: present after restore (5 rows) but not in the backup",
                "large objects: 1 recorded, 0 restored",
            ]
        );
        assert!(differences(&recorded, &recorded).is_empty());
    }
}
