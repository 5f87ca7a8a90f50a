//! `backup drill`: restore a backup into a scratch database (and a scratch etcd data
//! directory), take the census there, compare it with the one recorded at backup time, and
//! say pass or exactly what differs. The scratch database is dropped afterwards either way.

use std::path::Path;
use std::time::Instant;

use crate::error::Result;
use crate::etcd::{self, EtcdTools};
use crate::manifest::{ArtifactKind, Manifest};
use crate::pg::restore::{RestoreOptions, drop_database, ensure_database, pg_restore};
use crate::pg::{PgTarget, census, major_of, tools};
use crate::verify::verify;

pub struct DrillOptions<'a> {
    /// A role on the scratch server that may create databases, connected to its
    /// maintenance database.
    pub scratch: PgTarget,
    pub pg_bin: Option<&'a Path>,
    pub etcd_tools: EtcdTools,
    /// `pg_restore --jobs`.
    pub jobs: u32,
}

#[derive(Debug, Clone)]
pub struct PgDrill {
    pub scratch: String,
    pub tables: usize,
    pub rows: u64,
    pub large_objects: u64,
    pub restore_seconds: f64,
    pub census_seconds: f64,
    pub differences: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DrillReport {
    pub backup: String,
    pub verify_problems: Vec<String>,
    pub postgres: Option<PgDrill>,
    pub etcd: Option<etcd::EtcdDrill>,
    /// Parts that could not be drilled (restore failed), with the error.
    pub failures: Vec<String>,
}

impl DrillReport {
    pub fn passed(&self) -> bool {
        self.verify_problems.is_empty()
            && self.failures.is_empty()
            && self
                .postgres
                .as_ref()
                .is_none_or(|p| p.differences.is_empty())
            && self.etcd.as_ref().is_none_or(|e| e.differences.is_empty())
    }

    /// Every problem, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut all = self.verify_problems.clone();
        all.extend(self.failures.iter().cloned());
        if let Some(p) = &self.postgres {
            all.extend(p.differences.iter().cloned());
        }
        if let Some(e) = &self.etcd {
            all.extend(e.differences.iter().cloned());
        }
        all
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "drill {}: {}\n",
            self.backup,
            if self.passed() { "PASS" } else { "FAIL" }
        );
        for p in &self.verify_problems {
            out.push_str(&format!("  verify: {p}\n"));
        }
        if let Some(p) = &self.postgres {
            out.push_str(&format!(
                "  postgres: restored into {} in {:.1}s, census in {:.1}s: {} tables, {} rows, {} large objects\n",
                p.scratch, p.restore_seconds, p.census_seconds, p.tables, p.rows, p.large_objects
            ));
            if p.differences.is_empty() {
                out.push_str("  postgres: every row count and content checksum matches the backup's census\n");
            }
            for d in &p.differences {
                out.push_str(&format!("  postgres: DIFFERS {d}\n"));
            }
        }
        if let Some(e) = &self.etcd {
            out.push_str(&format!(
                "  etcd: restored into a scratch data directory, {} keys\n",
                e.keys
            ));
            if e.differences.is_empty() {
                out.push_str("  etcd: key count and key digest match the backup's record\n");
            }
            for d in &e.differences {
                out.push_str(&format!("  etcd: DIFFERS {d}\n"));
            }
        }
        for f in &self.failures {
            out.push_str(&format!("  FAILED {f}\n"));
        }
        out
    }
}

fn scratch_name(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut name = format!("govdeploy_drill_{safe}");
    name.truncate(50);
    format!("{name}_{nanos:x}")
}

/// Drills the backup whose files are in `dir`.
pub async fn drill(
    dir: &Path,
    manifest: &Manifest,
    options: &DrillOptions<'_>,
) -> Result<DrillReport> {
    let verified = verify(dir, manifest, options.pg_bin).await?;
    let mut report = DrillReport {
        backup: manifest.id.clone(),
        verify_problems: verified.problems,
        postgres: None,
        etcd: None,
        failures: Vec::new(),
    };
    if !report.verify_problems.is_empty() {
        report
            .failures
            .push("not restored: the backup's files do not pass verify".into());
        return Ok(report);
    }
    if let (Some(pg), Some(dump)) = (
        &manifest.postgres,
        manifest.artifact(ArtifactKind::PostgresDump),
    ) {
        let dump = dir.join(&dump.file);
        let major = major_of(pg.server_version_num);
        match drill_postgres(&manifest.id, &dump, &pg.census, major, options).await {
            Ok(p) => report.postgres = Some(p),
            Err(e) => report.failures.push(format!("postgres: {e}")),
        }
    }
    if let (Some(record), Some(snapshot)) = (
        &manifest.etcd,
        manifest.artifact(ArtifactKind::EtcdSnapshot),
    ) {
        let scratch = tempfile::Builder::new()
            .prefix("govdeploy-drill-etcd-")
            .tempdir()
            .map_err(|e| crate::BackupError::io(std::env::temp_dir(), e))?;
        match etcd::drill(
            &dir.join(&snapshot.file),
            record,
            &options.etcd_tools,
            scratch.path(),
        )
        .await
        {
            Ok(e) => report.etcd = Some(e),
            Err(e) => report.failures.push(format!("etcd: {e}")),
        }
    }
    Ok(report)
}

async fn drill_postgres(
    id: &str,
    dump: &Path,
    recorded: &census::Census,
    major: u32,
    options: &DrillOptions<'_>,
) -> Result<PgDrill> {
    let tools = tools::find(major, options.pg_bin).await?;
    let name = scratch_name(id);
    let target = options.scratch.with_database(&name);
    ensure_database(&options.scratch, &name).await?;
    let result = async {
        let started = Instant::now();
        pg_restore(
            &tools,
            &target,
            dump,
            RestoreOptions {
                clean: false,
                no_owner: true,
                jobs: options.jobs,
            },
        )
        .await?;
        let restore_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let workers = usize::try_from(options.jobs).unwrap_or(1);
        let restored = census::take_parallel(&target, None, Some(recorded), workers).await?;
        Ok(PgDrill {
            scratch: format!("scratch database {name} on {}:{}", target.host, target.port),
            tables: restored.tables.len(),
            rows: restored.tables.iter().map(|t| t.rows).sum(),
            large_objects: restored.large_objects.count,
            restore_seconds,
            census_seconds: started.elapsed().as_secs_f64(),
            differences: census::differences(recorded, &restored),
        })
    }
    .await;
    let dropped = drop_database(&options.scratch, &name).await;
    let drilled = result?;
    dropped?;
    Ok(drilled)
}
