//! Running external tools (`pg_dump`, `pg_restore`, `etcd`, `etcdctl`) and turning failures
//! into errors that carry the tool's own message.

use std::process::Stdio;

use crate::error::{BackupError, Result};

/// The last part of a tool's stderr: the lines that say what went wrong.
pub fn tail(stderr: &[u8]) -> String {
    const KEEP: usize = 4000;
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.len() <= KEEP {
        return text.to_string();
    }
    let mut start = text.len() - KEEP;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &text[start..])
}

/// Runs to completion; stdout on success, the exit status and stderr otherwise.
pub async fn run_captured(command: &mut tokio::process::Command, name: &str) -> Result<Vec<u8>> {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| BackupError::Spawn {
            tool: name.to_string(),
            source: e,
        })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(BackupError::ToolFailed {
            tool: name.to_string(),
            status: output.status.to_string(),
            stderr: tail(&output.stderr),
        })
    }
}
