//! The backup manifest (`manifest.json`): what a backup holds, when it was made, the size and
//! SHA-256 of every file, the tool and server versions, and the per-table census recorded in
//! the dump's own snapshot. It is written last, so a backup without one is incomplete.
//! `verification.json` beside it records the latest verify or drill result.

use serde::{Deserialize, Serialize};

use crate::pg::census::Census;

pub const FORMAT: &str = "govdeploy.io/backup/v1";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const VERIFICATION_FILE: &str = "verification.json";
pub const POSTGRES_FILE: &str = "postgres.dump";
pub const ETCD_FILE: &str = "etcd.snapshot";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub id: String,
    pub environment: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub completed_at: String,
    pub tool: ToolInfo,
    pub artifacts: Vec<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo {
            name: "govdeploy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// `pg_dump -Fc` archive (large objects included).
    PostgresDump,
    /// etcd Maintenance snapshot, SHA-256 trailer kept.
    EtcdSnapshot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub file: String,
    pub kind: ArtifactKind,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostgresRecord {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub server_version: String,
    pub server_version_num: u32,
    /// `pg_dump --version` of the client used (same major as the server).
    pub pg_dump_version: String,
    pub format: String,
    /// The exported snapshot both the dump and the census were taken in.
    pub snapshot: String,
    pub census: Census,
    pub wal: WalRecord,
}

/// Point-in-time recovery: whether WAL archiving was on and, if so, the segment that was
/// switched to and confirmed archived before the backup was declared complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalRecord {
    pub archive_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_archived_wal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdRecord {
    pub endpoint: String,
    pub server_version: String,
    /// Store revision just before the snapshot; the key digest is taken at it.
    pub revision: i64,
    pub keys: u64,
    /// SHA-256 over every key, value and modification revision at `revision`.
    pub key_digest: String,
    /// The snapshot's own SHA-256 trailer (of everything before it).
    pub trailer_sha256: String,
}

/// The result of the latest `backup verify` or `backup drill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub backup: String,
    pub checked_at: String,
    /// `verify` or `drill`.
    pub by: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Manifest {
    pub fn artifact(&self, kind: ArtifactKind) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.kind == kind)
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses and checks the format tag; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> crate::Result<Self> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| crate::BackupError::Manifest {
                path: origin.to_string(),
                message: format!("{e} (line {}, column {})", e.line(), e.column()),
            })?;
        if manifest.format != FORMAT {
            return Err(crate::BackupError::Manifest {
                path: origin.to_string(),
                message: format!(
                    "format `{}` is not `{FORMAT}`; help: use the govdeploy version that wrote it",
                    manifest.format
                ),
            });
        }
        Ok(manifest)
    }
}

/// Now, RFC 3339 in UTC with second precision (the form every record uses).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Backup id: `<environment>-<YYYYMMDDTHHMMSSZ>`; ids of one environment sort by time.
pub fn backup_id(environment: &str, at: jiff::Timestamp) -> String {
    format!("{environment}-{}", at.strftime("%Y%m%dT%H%M%SZ"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn id_sorts_by_time() {
        let a = backup_id("prod", "2026-01-02T03:04:05Z".parse().unwrap());
        let b = backup_id("prod", "2026-01-10T00:00:00Z".parse().unwrap());
        assert_eq!(a, "prod-20260102T030405Z");
        assert!(a < b);
    }

    #[test]
    fn wrong_format_is_refused_with_its_origin() {
        let err = Manifest::parse(
            r#"{"format":"x","id":"a","environment":"e","createdAt":"","completedAt":"","tool":{"name":"g","version":"0"},"artifacts":[]}"#,
            "b/manifest.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("b/manifest.json") && err.contains("format `x`"),
            "{err}"
        );
    }
}
