//! PostgreSQL: where the database is, the matching client tools, the census, dump, restore
//! and WAL archiving checks.

pub mod census;
pub mod dump;
pub mod restore;
pub mod tools;
pub mod wal;

use std::fmt;

use tokio_postgres::{Client, NoTls};

use crate::error::{BackupError, Result};

/// A password held only to hand to the server and to child processes' environment; its
/// `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A database on a server, with the credentials to reach it.
#[derive(Debug, Clone)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub password: Option<Password>,
}

impl PgTarget {
    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> PgTarget {
        PgTarget {
            database: database.to_string(),
            ..self.clone()
        }
    }

    /// `user@host:port/database`: what errors and reports name (never the password).
    pub fn describe(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    /// The error with its causes: tokio-postgres says only "db error" and keeps the
    /// server's message (e.g. "password authentication failed") in its source.
    pub(crate) fn error(&self, err: impl std::error::Error) -> BackupError {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        BackupError::Postgres {
            target: self.describe(),
            message,
        }
    }

    /// Connects; the connection task runs on the current tokio runtime until the client drops.
    pub async fn connect(&self) -> Result<Client> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.database)
            .application_name("govdeploy-backup");
        if let Some(password) = &self.password {
            config.password(password.expose());
        }
        let (client, connection) = config.connect(NoTls).await.map_err(|e| self.error(e))?;
        tokio::spawn(async move {
            // The connection ends when the client is dropped; errors surface on the client.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Environment for libpq tools (`pg_dump`, `pg_restore`): the password travels in
    /// `PGPASSWORD`, never on a command line.
    pub(crate) fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.database.clone()),
            ("PGAPPNAME", "govdeploy-backup".to_string()),
            ("PGCONNECT_TIMEOUT", "10".to_string()),
        ];
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD", password.expose().to_string()));
        }
        env
    }
}

/// The server's version: `server_version` and `server_version_num` (e.g. 150014).
pub async fn server_version(client: &Client, target: &PgTarget) -> Result<(String, u32)> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int4",
            &[],
        )
        .await
        .map_err(|e| target.error(e))?;
    let text: String = row.try_get(0).map_err(|e| target.error(e))?;
    let num: i32 = row.try_get(1).map_err(|e| target.error(e))?;
    let num = u32::try_from(num).map_err(|e| target.error(e))?;
    Ok((text, num))
}

/// Major version from `server_version_num` (10 and later: the first two digits).
pub fn major_of(version_num: u32) -> u32 {
    version_num / 10000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_never_shown() {
        let t = PgTarget {
            host: "h".into(),
            port: 5432,
            user: "u".into(),
            database: "d".into(),
            password: Some(Password::new("hunter2")),
        };
        assert!(!format!("{t:?}").contains("hunter2"));
        assert!(!t.describe().contains("hunter2"));
        assert_eq!(major_of(150014), 15);
    }
}
