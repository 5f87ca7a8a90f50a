//! The cluster connection, resolved as kubectl resolves it (`--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`; `--context` or the current one).
//!
//! Its own `kube::Client` rather than `govdeploy_apply::Cluster`: the apply crate keeps its
//! request methods crate-private, and records, Leases and deletes are ordinary typed calls.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::ReleaseError;

/// A client for the kubeconfig file (or kubectl's default) and context.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, ReleaseError> {
    let config = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| ReleaseError::Kubeconfig(format!("{}: {e}", path.display())))?,
        None => Kubeconfig::read().map_err(|e| {
            ReleaseError::Kubeconfig(format!(
                "{e} (set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config)"
            ))
        })?,
    };
    from_kubeconfig(config, context).await
}

/// A client from kubeconfig text (tests, and callers that hold the text already).
pub async fn connect_yaml(
    kubeconfig_yaml: &str,
    context: Option<&str>,
) -> Result<kube::Client, ReleaseError> {
    let config = Kubeconfig::from_yaml(kubeconfig_yaml)
        .map_err(|e| ReleaseError::Kubeconfig(e.to_string()))?;
    from_kubeconfig(config, context).await
}

async fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    context: Option<&str>,
) -> Result<kube::Client, ReleaseError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ReleaseError::Kubeconfig(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| ReleaseError::Connect(e.to_string()))
}
