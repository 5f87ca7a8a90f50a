//! The one error type of the crate: each variant says what failed, where, and how to fix it.
//! No variant ever carries a password or a secret value.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot run `{tool}`: {source}; help: install the PostgreSQL client of the server's major version or the etcd tools"
    )]
    Spawn {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{tool}` failed ({status}): {stderr}")]
    ToolFailed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("postgres {target}: {message}")]
    Postgres { target: String, message: String },
    #[error(
        "no pg_dump/pg_restore of major version {major} (the server's) found; looked in {searched}; help: install postgresql-client-{major} or pass --pg-bin DIR"
    )]
    NoMatchingClient { major: u32, searched: String },
    #[error(
        "{tool} is version {client}, the server is {server}: a dump must be made with the server's own major version; help: install postgresql-client-{server} or pass --pg-bin DIR"
    )]
    ClientMismatch {
        tool: String,
        client: String,
        server: u32,
    },
    #[error("etcd {endpoint}: {message}")]
    Etcd { endpoint: String, message: String },
    #[error("etcd snapshot {path}: {message}")]
    Snapshot { path: PathBuf, message: String },
    #[error("object store {location}: {message}")]
    Store { location: String, message: String },
    #[error("backup manifest {path}: {message}")]
    Manifest { path: String, message: String },
    #[error("backup `{0}` not found; help: `govdeploy backup list --from STORE` shows the backups")]
    NotFound(String),
    #[error(
        "WAL archiving: {message}; help: check archive_command and pg_stat_archiver.last_failed_wal on the server"
    )]
    WalArchive { message: String },
    #[error(
        "database `{database}` is not empty ({what}); help: restore into an empty database, or pass --overwrite to replace its contents"
    )]
    NotEmpty { database: String, what: String },
    #[error("{0}")]
    Invalid(String),
}

impl BackupError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BackupError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;
