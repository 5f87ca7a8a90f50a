//! Per-table row counts and content checksums, and the same for large objects.
//!
//! The checksum of a table is order-independent: every row's text form is hashed with md5
//! on the server and the two 64-bit halves are summed (as `numeric`, so nothing overflows).
//! Physical order changes on restore, so an ordered hash would need a sort of every table;
//! summing keeps the pass a single sequential scan, and a sum (unlike XOR) still notices a
//! duplicated or a missing row. The census runs inside the snapshot the dump uses, so what
//! it records is exactly what the dump holds.

use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use crate::digest::sha256_bytes;
use crate::error::Result;
use crate::pg::PgTarget;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableCensus {
    /// `schema.table`, quoted where SQL needs it.
    pub table: String,
    pub rows: u64,
    pub checksum: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LargeObjectCensus {
    pub count: u64,
    pub checksum: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Census {
    pub tables: Vec<TableCensus>,
    pub large_objects: LargeObjectCensus,
}

/// Ordinary tables (and partitions) outside the system schemas, sorted.
const TABLES: &str = "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND c.relpersistence <> 't' \
       AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
     ORDER BY 1";

fn summed(source: &str) -> String {
    format!(
        "SELECT count(*)::int8, \
           coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::int8::numeric), 0)::text, \
           coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::int8::numeric), 0)::text \
         FROM ({source}) AS hashed"
    )
}

async fn count_and_sum(
    client: &impl GenericClient,
    target: &PgTarget,
    sql: &str,
) -> Result<(u64, String)> {
    let row = client
        .query_one(sql, &[])
        .await
        .map_err(|e| target.error(e))?;
    let rows: i64 = row.try_get(0).map_err(|e| target.error(e))?;
    let high: String = row.try_get(1).map_err(|e| target.error(e))?;
    let low: String = row.try_get(2).map_err(|e| target.error(e))?;
    let rows = u64::try_from(rows).unwrap_or(0);
    let checksum = sha256_bytes(format!("{rows}:{high}:{low}").as_bytes());
    Ok((rows, checksum[..32].to_string()))
}

/// Takes the census in whatever transaction `client` is in.
pub async fn take(client: &impl GenericClient, target: &PgTarget) -> Result<Census> {
    let names = client
        .query(TABLES, &[])
        .await
        .map_err(|e| target.error(e))?;
    let mut tables = Vec::with_capacity(names.len());
    for row in names {
        let table: String = row.try_get(0).map_err(|e| target.error(e))?;
        let sql = summed(&format!("SELECT md5(t::text) AS h FROM {table} AS t"));
        let (rows, checksum) = count_and_sum(client, target, &sql).await?;
        tables.push(TableCensus {
            table,
            rows,
            checksum,
        });
    }
    let sql = summed(
        "SELECT md5(m.oid::text || ':' || md5(lo_get(m.oid))) AS h FROM pg_largeobject_metadata m",
    );
    let (count, checksum) = count_and_sum(client, target, &sql).await?;
    Ok(Census {
        tables,
        large_objects: LargeObjectCensus { count, checksum },
    })
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
                })
                .collect(),
            large_objects: LargeObjectCensus {
                count: 1,
                checksum: "lo".into(),
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
