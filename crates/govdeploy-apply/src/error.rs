//! Errors of the apply engine. Messages name the object and what to do; they never carry an
//! object body (a Secret's data could be in it).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("cannot read the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("cannot connect to the cluster: {0}")]
    Connect(String),
    #[error("{method} {path}: {message}")]
    Request {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: still failing after {attempts} attempts: {message}")]
    RetriesExhausted {
        method: String,
        path: String,
        attempts: u32,
        message: String,
    },
    #[error("{method} {path}: HTTP {status} {reason}: {message}")]
    Api {
        method: String,
        path: String,
        status: u16,
        reason: String,
        message: String,
    },
    #[error(
        "the cluster does not serve {kind} in {api_version}; install what provides it (its CRD) or check the cluster version"
    )]
    UnknownKind { api_version: String, kind: String },
    #[error("{reference}: conflicts with other field managers: {}", .conflicts.join("; "))]
    Conflict {
        reference: String,
        /// `field (manager)` per conflicting field.
        conflicts: Vec<String>,
    },
}

impl ApplyError {
    /// HTTP status of an API error, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApplyError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
