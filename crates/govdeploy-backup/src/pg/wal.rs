//! Point-in-time recovery needs every WAL segment up to the backup archived. When archiving
//! is on, the segment in progress is closed with `pg_switch_wal()` and the backup is declared
//! complete only once `pg_stat_archiver` reports that segment (or a later one) archived.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::error::{BackupError, Result};
use crate::manifest::WalRecord;
use crate::pg::PgTarget;

/// Whether `archived` (a WAL file name) is `segment` or later. Names are fixed-width hex
/// (timeline, log, segment), so text order is WAL order.
pub fn covers(archived: &str, segment: &str) -> bool {
    archived.len() == segment.len() && archived >= segment
}

pub async fn confirm_archived(
    client: &Client,
    target: &PgTarget,
    timeout: Duration,
) -> Result<WalRecord> {
    let mode: String = client
        .query_one("SELECT current_setting('archive_mode')", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| target.error(e))?;
    if mode == "off" {
        return Ok(WalRecord {
            archive_mode: mode,
            switched_segment: None,
            last_archived_wal: None,
        });
    }
    let segment: String = client
        .query_one("SELECT pg_walfile_name(pg_switch_wal())", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| BackupError::WalArchive {
            message: format!(
                "pg_switch_wal() on {} failed: {e} (the backup user needs EXECUTE on pg_switch_wal, or superuser)",
                target.describe()
            ),
        })?;
    let started = Instant::now();
    loop {
        let row = client
            .query_one(
                "SELECT coalesce(last_archived_wal, ''), coalesce(last_failed_wal, '') FROM pg_stat_archiver",
                &[],
            )
            .await
            .map_err(|e| target.error(e))?;
        let archived: String = row.try_get(0).map_err(|e| target.error(e))?;
        let failed: String = row.try_get(1).map_err(|e| target.error(e))?;
        if covers(&archived, &segment) {
            return Ok(WalRecord {
                archive_mode: mode,
                switched_segment: Some(segment),
                last_archived_wal: Some(archived),
            });
        }
        if started.elapsed() >= timeout {
            let failed = if failed.is_empty() {
                String::new()
            } else {
                format!(", last failed: {failed}")
            };
            return Err(BackupError::WalArchive {
                message: format!(
                    "segment {segment} was not archived within {}s (last archived: {}{failed}); the backup is not complete",
                    timeout.as_secs(),
                    if archived.is_empty() {
                        "none"
                    } else {
                        &archived
                    }
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_segments_cover_earlier_ones() {
        assert!(covers(
            "000000010000000000000003",
            "000000010000000000000003"
        ));
        assert!(covers(
            "000000010000000100000000",
            "0000000100000000000000FF"
        ));
        assert!(!covers(
            "000000010000000000000002",
            "000000010000000000000003"
        ));
        assert!(!covers("", "000000010000000000000003"));
    }
}
