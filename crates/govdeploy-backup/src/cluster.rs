//! The in-cluster parts of a backup, as interfaces a cluster client implements (the apply
//! crate owns the Kubernetes client; this crate never talks to the API server itself), plus
//! what needs no cluster: preparing exported objects for a rebuild and encrypting Secrets
//! to the environment's age recipients.
//!
//! Not wired into `backup::create` yet: there is no cluster client in the workspace to
//! implement [`PodExec`] and [`ObjectSource`].

use std::future::Future;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::error::{BackupError, Result};

/// Runs a command in a pod's container and writes its standard output to `out`; used for
/// `pg_dump` inside the in-cluster Postgres pod, whose own binaries have the server's major
/// version by construction.
pub trait PodExec {
    fn exec_to_file(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        argv: &[String],
        out: &Path,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Lists the environment's objects of one kind (`PersistentVolume` is cluster-scoped).
pub trait ObjectSource {
    fn list(
        &self,
        kind: ExportKind,
        namespace: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Value>>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    PersistentVolume,
    PersistentVolumeClaim,
    ConfigMap,
    Secret,
    /// The release record the apply engine keeps (a ConfigMap or Secret of its own).
    ReleaseRecord,
}

/// `pg_dump` as run inside the Postgres pod: custom format to standard output, the socket's
/// peer authentication as the image's superuser, no password involved.
pub fn in_pod_pg_dump_argv(database: &str, user: &str) -> Vec<String> {
    [
        "pg_dump",
        "--format=custom",
        "--no-password",
        "--username",
        user,
        "--dbname",
        database,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Removes what the API server owns (uid, resourceVersion, managedFields, status...) so the
/// object can be created again in a new cluster; a PersistentVolume keeps its claimRef minus
/// the old claim's uid and resourceVersion, so it re-binds to the recreated claim.
pub fn for_rebuild(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "managedFields",
                "selfLink",
            ] {
                meta.remove(key);
            }
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                annotations.remove("pv.kubernetes.io/bind-completed");
            }
        }
        if let Some(claim) = map
            .get_mut("spec")
            .and_then(|s| s.get_mut("claimRef"))
            .and_then(Value::as_object_mut)
        {
            claim.remove("uid");
            claim.remove("resourceVersion");
        }
    }
    out
}

/// Encrypts `plaintext` to every age recipient (`age1...` public keys) with the `age` tool
/// into `out`; the plaintext only ever travels over the tool's standard input.
pub async fn age_encrypt(plaintext: &[u8], recipients: &[String], out: &Path) -> Result<()> {
    if recipients.is_empty() {
        return Err(BackupError::Invalid(
            "no age recipients: Secrets are never exported unencrypted; help: list the environment's age recipients".into(),
        ));
    }
    let mut command = tokio::process::Command::new("age");
    command.arg("--encrypt").arg("--armor");
    for recipient in recipients {
        command.arg("--recipient").arg(recipient);
    }
    let mut child = command
        .arg("--output")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| BackupError::Spawn {
            tool: "age".into(),
            source: e,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(plaintext)
            .await
            .map_err(|e| BackupError::io(out, e))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| BackupError::io(out, e))?;
    if !output.status.success() {
        return Err(BackupError::ToolFailed {
            tool: "age --encrypt".into(),
            status: output.status.to_string(),
            stderr: crate::process::tail(&output.stderr),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rebuild_form_drops_server_fields_and_keeps_the_claim_binding() {
        let pv = json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "pv-1", "uid": "u", "resourceVersion": "9", "managedFields": [],
                         "annotations": {"pv.kubernetes.io/bind-completed": "yes", "keep": "me"}},
            "spec": {"claimRef": {"name": "data-postgres-0", "namespace": "backbone", "uid": "c", "resourceVersion": "3"},
                     "persistentVolumeReclaimPolicy": "Retain"},
            "status": {"phase": "Bound"}
        });
        assert_eq!(
            for_rebuild(&pv),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "pv-1", "annotations": {"keep": "me"}},
                "spec": {"claimRef": {"name": "data-postgres-0", "namespace": "backbone"},
                         "persistentVolumeReclaimPolicy": "Retain"}
            })
        );
    }
}
