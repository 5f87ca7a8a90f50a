//! `backup verify`: every file's size and SHA-256 against the manifest, the dump's table of
//! contents read back by `pg_restore --list`, and the etcd snapshot's SHA-256 trailer.
//! Every problem is reported, not only the first.

use std::path::Path;
use std::process::Stdio;

use crate::digest::sha256_file;
use crate::error::Result;
use crate::etcd::verify_trailer;
use crate::manifest::{ArtifactKind, Manifest};
use crate::pg::{major_of, tools};
use crate::process::run_captured;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// What was checked and held.
    pub passed: Vec<String>,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn render(&self, id: &str) -> String {
        let mut out = format!("verify {id}: {}\n", if self.ok() { "PASS" } else { "FAIL" });
        for line in &self.passed {
            out.push_str(&format!("  ok    {line}\n"));
        }
        for line in &self.problems {
            out.push_str(&format!("  FAIL  {line}\n"));
        }
        out
    }
}

/// Checks a backup's files in `dir`; `pg_bin` overrides where `pg_restore` is found.
pub async fn verify(
    dir: &Path,
    manifest: &Manifest,
    pg_bin: Option<&Path>,
) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    for artifact in &manifest.artifacts {
        let path = dir.join(&artifact.file);
        match sha256_file(&path) {
            Err(e) => report
                .problems
                .push(format!("{}: cannot read: {e}", artifact.file)),
            Ok((size, sha)) => {
                if size != artifact.size {
                    report.problems.push(format!(
                        "{}: {size} bytes, the manifest records {} (truncated or replaced)",
                        artifact.file, artifact.size
                    ));
                }
                if sha != artifact.sha256 {
                    report.problems.push(format!(
                        "{}: SHA-256 {sha} does not match the manifest's {}",
                        artifact.file, artifact.sha256
                    ));
                } else {
                    report
                        .passed
                        .push(format!("{}: {size} bytes, SHA-256 matches", artifact.file));
                }
            }
        }
    }
    if let (Some(pg), Some(dump)) = (
        &manifest.postgres,
        manifest.artifact(ArtifactKind::PostgresDump),
    ) {
        let path = dir.join(&dump.file);
        match tools::find(major_of(pg.server_version_num), pg_bin).await {
            Err(e) => report.problems.push(format!("{}: {e}", dump.file)),
            Ok(tools) => {
                let tool = tools.pg_restore();
                let listed = run_captured(
                    tokio::process::Command::new(&tool)
                        .arg("--list")
                        .arg(&path)
                        .stdin(Stdio::null()),
                    "pg_restore --list",
                )
                .await;
                match listed {
                    Err(e) => report.problems.push(format!("{}: {e}", dump.file)),
                    Ok(toc) => {
                        let toc = String::from_utf8_lossy(&toc);
                        let data = toc.lines().filter(|l| l.contains(" TABLE DATA ")).count();
                        let blobs = toc
                            .lines()
                            .any(|l| l.contains(" BLOBS ") || l.contains(" BLOB DATA "));
                        let tables = pg.census.tables.len();
                        if data != tables {
                            report.problems.push(format!(
                                "{}: pg_restore --list shows {data} TABLE DATA entries, the census recorded {tables} tables",
                                dump.file
                            ));
                        } else if pg.census.large_objects.count > 0 && !blobs {
                            report.problems.push(format!(
                                "{}: {} large objects recorded but the archive has no BLOBS entry",
                                dump.file, pg.census.large_objects.count
                            ));
                        } else {
                            report.passed.push(format!(
                                "{}: pg_restore --list reads {data} table data entries{}",
                                dump.file,
                                if blobs { " and large objects" } else { "" }
                            ));
                        }
                    }
                }
            }
        }
    }
    if let (Some(etcd), Some(snapshot)) = (
        &manifest.etcd,
        manifest.artifact(ArtifactKind::EtcdSnapshot),
    ) {
        match verify_trailer(&dir.join(&snapshot.file)) {
            Err(e) => report.problems.push(e.to_string()),
            Ok(trailer) if trailer != etcd.trailer_sha256 => report.problems.push(format!(
                "{}: trailer {trailer} is not the one recorded at backup time ({})",
                snapshot.file, etcd.trailer_sha256
            )),
            Ok(_) => report.passed.push(format!(
                "{}: SHA-256 trailer matches its content",
                snapshot.file
            )),
        }
    }
    Ok(report)
}
