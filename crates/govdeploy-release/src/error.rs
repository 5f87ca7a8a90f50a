//! Errors of release records, the lock, diff and prune. Messages name the environment, the
//! revision or the object and say what to do; they never carry an object body or a secret.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReleaseError {
    #[error("cannot read the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("cannot connect to the cluster: {0}")]
    Connect(String),
    #[error("{action}: {source}")]
    Api {
        /// What was being done (`reading release 3 of env prod`).
        action: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "release {revision} of environment {env} is damaged: {problem}; delete its Secrets (label govdeploy.io/release-revision={revision}) or restore them"
    )]
    Corrupt {
        env: String,
        revision: u64,
        problem: String,
    },
    #[error("environment {env} has no release {revision}; `govdeploy history {env}` lists them")]
    NoSuchRevision { env: String, revision: u64 },
    #[error(
        "environment {env} is locked by {holder} (lease renewed {renewed_seconds_ago}s ago, expires in {expires_in_seconds}s); wait for that run to finish, or run `govdeploy unlock {env}` if it is dead"
    )]
    Locked {
        env: String,
        holder: String,
        renewed_seconds_ago: i64,
        expires_in_seconds: i64,
    },
    #[error("the lock of environment {env} was taken by {holder} while this run held it")]
    LockLost { env: String, holder: String },
    #[error("cannot encode the release record: {0}")]
    Encode(String),
}

impl ReleaseError {
    pub(crate) fn api(action: impl Into<String>, source: kube::Error) -> ReleaseError {
        ReleaseError::Api {
            action: action.into(),
            source,
        }
    }
}

/// HTTP status of an API error answer.
pub(crate) fn status_of(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
