//! The PostgreSQL client tools of the server's own major version: `pg_dump` of an older or
//! newer major makes a dump the drill or restore may not accept, so a mismatch is refused.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{BackupError, Result};
use crate::process::run_captured;

#[derive(Debug, Clone)]
pub struct PgTools {
    pub bin_dir: PathBuf,
    pub major: u32,
    /// `pg_dump --version` output, trimmed.
    pub version: String,
}

impl PgTools {
    pub fn pg_dump(&self) -> PathBuf {
        self.bin_dir.join("pg_dump")
    }
    pub fn pg_restore(&self) -> PathBuf {
        self.bin_dir.join("pg_restore")
    }
}

/// Where distributions put versioned clients: Debian/Ubuntu, then RHEL (PGDG).
pub fn candidate_dirs(major: u32) -> Vec<PathBuf> {
    vec![
        PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")),
        PathBuf::from(format!("/usr/pgsql-{major}/bin")),
    ]
}

/// Major version in `pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)`.
pub fn parse_major(version_output: &str) -> Option<u32> {
    let after = version_output.split(')').nth(1)?.trim_start();
    let number: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
    number.parse().ok()
}

async fn version_of(bin_dir: &Path) -> Result<(u32, String)> {
    let tool = bin_dir.join("pg_dump");
    let out = run_captured(
        tokio::process::Command::new(&tool)
            .arg("--version")
            .stdin(Stdio::null()),
        &tool.display().to_string(),
    )
    .await?;
    let text = String::from_utf8_lossy(&out).trim().to_string();
    let major = parse_major(&text).ok_or_else(|| {
        BackupError::Invalid(format!(
            "cannot read a version from `{} --version`: {text}",
            tool.display()
        ))
    })?;
    Ok((major, text))
}

/// The client tools for `server_major`: in `explicit` if given (refused when its major
/// differs), otherwise the first matching standard location.
pub async fn find(server_major: u32, explicit: Option<&Path>) -> Result<PgTools> {
    let check = |dir: &Path, major: u32, version: String| {
        if major == server_major {
            Ok(PgTools {
                bin_dir: dir.to_path_buf(),
                major,
                version,
            })
        } else {
            Err(BackupError::ClientMismatch {
                tool: dir.join("pg_dump").display().to_string(),
                client: version,
                server: server_major,
            })
        }
    };
    if let Some(dir) = explicit {
        let (major, version) = version_of(dir).await?;
        return check(dir, major, version);
    }
    let candidates = candidate_dirs(server_major);
    for dir in &candidates {
        if dir.join("pg_dump").is_file() && dir.join("pg_restore").is_file() {
            let (major, version) = version_of(dir).await?;
            return check(dir, major, version);
        }
    }
    Err(BackupError::NoMatchingClient {
        major: server_major,
        searched: candidates
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_major_versions() {
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("pg_dump (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("nonsense"), None);
    }
}
