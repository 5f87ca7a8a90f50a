//! `govdeploy backup ...` and `govdeploy restore`: arguments, credentials, confirmation and
//! presentation; the work is in crate govdeploy-backup.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use govdeploy_backup::drill::DrillOptions;
use govdeploy_backup::etcd::EtcdTools;
use govdeploy_backup::manifest::{Manifest, Verification, now_rfc3339};
use govdeploy_backup::pg::{Password, PgTarget};
use govdeploy_backup::schedule::{ScheduleSpec, ScheduledDatabase};
use govdeploy_backup::store::Store;
use govdeploy_backup::{BackupError, retention};

use crate::{exit, pipeline};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The environment file (back it up now).
    #[arg(required = true)]
    pub env: Option<PathBuf>,
    #[command(flatten)]
    pub now: NowArgs,
}

/// Where a backup goes and how to reach what it backs up (ENV gives the rest).
#[derive(Debug, Args, Clone)]
pub struct NowArgs {
    /// Store: a directory or s3://BUCKET/PREFIX (S3 settings from AWS_* variables).
    #[arg(long, required = true)]
    pub to: Option<String>,
    /// Postgres host and port instead of the environment's (e.g. a port-forward).
    #[arg(long)]
    pub pg_host: Option<String>,
    #[arg(long)]
    pub pg_port: Option<u16>,
    #[command(flatten)]
    pub credentials: Credentials,
    /// etcd client URL, when you have etcd access (e.g. http://127.0.0.1:2379).
    #[arg(long)]
    pub etcd: Option<String>,
    #[command(flatten)]
    pub etcd_tls: EtcdTlsArgs,
    /// Seconds to wait for the switched WAL segment to be archived (archiving on).
    #[arg(long, default_value_t = 120)]
    pub wal_timeout: u64,
}

/// TLS for an `https://` etcd endpoint (the files kubeadm puts in /etc/kubernetes/pki/etcd).
#[derive(Debug, Args, Clone, Default)]
pub struct EtcdTlsArgs {
    /// CA certificate that signed etcd's server certificate (PEM).
    #[arg(long)]
    pub etcd_cacert: Option<PathBuf>,
    /// Client certificate for etcd (PEM), with --etcd-key.
    #[arg(long, requires = "etcd_key")]
    pub etcd_cert: Option<PathBuf>,
    /// Client key for etcd (PEM), with --etcd-cert.
    #[arg(long, requires = "etcd_cert")]
    pub etcd_key: Option<PathBuf>,
}

impl EtcdTlsArgs {
    fn tls(&self) -> Option<govdeploy_backup::etcd::EtcdTls> {
        if self.etcd_cacert.is_none() && self.etcd_cert.is_none() {
            return None;
        }
        Some(govdeploy_backup::etcd::EtcdTls {
            ca: self.etcd_cacert.clone(),
            cert: self.etcd_cert.clone(),
            key: self.etcd_key.clone(),
        })
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct Credentials {
    /// Postgres role (default: $PGUSER, else postgres).
    #[arg(long)]
    pub pg_user: Option<String>,
    /// File holding the Postgres role name (a mounted Secret).
    #[arg(long, conflicts_with = "pg_user")]
    pub pg_user_file: Option<PathBuf>,
    /// File holding the Postgres password (default: $PGPASSWORD). Never printed.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Directory of pg_dump/pg_restore (default: found from the server's major version).
    #[arg(long)]
    pub pg_bin: Option<PathBuf>,
    /// File of `aws_key=value` lines for an S3 store (a mounted Secret).
    #[arg(long)]
    pub s3_config_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up a database given on the command line (what the scheduled CronJob runs).
    Run {
        #[arg(long)]
        environment: String,
        #[arg(long)]
        pg_host: String,
        #[arg(long, default_value_t = 5432)]
        pg_port: u16,
        #[arg(long, default_value = "egov")]
        pg_database: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        etcd: Option<String>,
        #[command(flatten)]
        etcd_tls: EtcdTlsArgs,
        #[arg(long, default_value_t = 120)]
        wal_timeout: u64,
        #[command(flatten)]
        credentials: Credentials,
    },
    /// Check a backup: file checksums, `pg_restore --list`, the etcd snapshot trailer.
    Verify {
        /// STORE/BACKUP-ID (a backup directory, or s3://BUCKET/PREFIX/ID).
        backup: String,
        #[command(flatten)]
        credentials: Credentials,
    },
    /// Restore a backup into a scratch database and etcd data directory and compare row
    /// counts and checksums with those recorded at backup time.
    Drill {
        backup: String,
        /// Server for the scratch database (default: the server the backup came from).
        #[arg(long)]
        scratch_host: Option<String>,
        #[arg(long)]
        scratch_port: Option<u16>,
        /// pg_restore parallel jobs.
        #[arg(long, default_value_t = 2)]
        jobs: u32,
        #[command(flatten)]
        credentials: Credentials,
    },
    /// List the backups in a store, oldest first, with their latest verification.
    List {
        store: String,
        #[command(flatten)]
        credentials: Credentials,
    },
    /// Remove old backups; the newest verified one is always kept.
    Prune {
        store: String,
        /// Keep this many of the newest backups.
        #[arg(long)]
        keep: usize,
        /// Also keep backups younger than this many days.
        #[arg(long)]
        keep_days: Option<u32>,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        credentials: Credentials,
    },
    /// Print the CronJob, ServiceAccount and NetworkPolicy of scheduled backups.
    Schedule {
        env: PathBuf,
        /// Cron expression (UTC).
        #[arg(long, default_value = "0 2 * * *")]
        schedule: String,
        /// s3://BUCKET/PREFIX.
        #[arg(long)]
        to: String,
        /// Image with govdeploy and the Postgres client of the server's major version.
        #[arg(long)]
        image: String,
        /// Secret with key `credentials` (aws_key=value lines) for the store.
        #[arg(long, default_value = "govdeploy-backup-store")]
        store_secret: String,
        #[arg(long, default_value_t = 443)]
        store_port: u16,
        #[arg(long, default_value = "20Gi")]
        scratch_size: String,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    pub env: PathBuf,
    /// STORE/BACKUP-ID.
    #[arg(long)]
    pub from: String,
    /// Do not ask for confirmation (scripts).
    #[arg(long)]
    pub yes: bool,
    /// Replace the contents of a non-empty database.
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long)]
    pub pg_host: Option<String>,
    #[arg(long)]
    pub pg_port: Option<u16>,
    /// Database to restore into (default: the environment's).
    #[arg(long)]
    pub pg_database: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    #[command(flatten)]
    pub credentials: Credentials,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn read_trimmed(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

impl Credentials {
    fn user(&self) -> anyhow::Result<String> {
        if let Some(user) = &self.pg_user {
            return Ok(user.clone());
        }
        if let Some(file) = &self.pg_user_file {
            return read_trimmed(file, "Postgres user");
        }
        Ok(std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into()))
    }

    fn password(&self) -> anyhow::Result<Option<Password>> {
        if let Some(file) = &self.password_file {
            return Ok(Some(Password::new(read_trimmed(file, "password")?)));
        }
        Ok(std::env::var("PGPASSWORD").ok().map(Password::new))
    }

    fn s3_config(&self) -> anyhow::Result<Vec<(String, String)>> {
        let Some(file) = &self.s3_config_file else {
            return Ok(Vec::new());
        };
        let text = read_trimmed(file, "S3 settings")?;
        let mut out = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                bail!(
                    "{}:{}: expected `aws_key=value` (value not shown)",
                    file.display(),
                    index + 1
                );
            };
            out.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Ok(out)
    }

    fn target(&self, host: String, port: u16, database: String) -> anyhow::Result<PgTarget> {
        Ok(PgTarget {
            host,
            port,
            user: self.user()?,
            database,
            password: self.password()?,
        })
    }

    /// The target of an environment's database: role and password from the environment's
    /// secrets file (`db.username`, `db.password`) unless given as files here; without a
    /// secrets file, as for [`Credentials::target`].
    fn env_target(
        &self,
        db: &EnvDatabase,
        host: String,
        port: u16,
        database: String,
    ) -> anyhow::Result<PgTarget> {
        let Some(path) = &db.secrets else {
            return self.target(host, port, database);
        };
        let from_file = env_secrets(path)?;
        let user = match (&self.pg_user, &self.pg_user_file, from_file.user) {
            (None, None, Some(user)) => user,
            _ => self.user()?,
        };
        let password = match &self.password_file {
            Some(_) => self.password()?,
            None => Some(from_file.password.with_context(|| {
                format!(
                    "{}: no `db.password` (the Postgres password)\nhelp: `govdeploy secrets set ENV db/password`, or pass --password-file",
                    path.display()
                )
            })?),
        };
        Ok(PgTarget {
            host,
            port,
            user,
            database,
            password,
        })
    }
}

/// What the environment's secrets file says about the database role.
struct EnvSecrets {
    user: Option<String>,
    password: Option<Password>,
}

/// Reads `db.username` and `db.password` from the environment's SOPS secrets file,
/// decrypted in memory (age identities from SOPS_AGE_KEY_FILE / SOPS_AGE_KEY, as for
/// `govdeploy secrets`). Errors name the file and the key, never a value.
fn env_secrets(path: &Path) -> anyhow::Result<EnvSecrets> {
    let keys = govdeploy_secrets::KeySources::from_env();
    let file = govdeploy_secrets::SecretsFile::load(path, &keys)
        .with_context(|| format!("cannot open the secrets file {}", path.display()))?;
    let values = file
        .values()
        .map_err(|problems| anyhow::anyhow!(govdeploy_yaml::Diagnostics(problems).to_string()))?;
    let db = values.get("db");
    let get = |key: &str| {
        db.and_then(|keys| keys.get(key))
            .map(|entry| entry.value.to_string())
            .filter(|v| !v.is_empty() && !govdeploy_secrets::schema::is_placeholder(v))
    };
    Ok(EnvSecrets {
        user: get("username"),
        password: get("password").map(Password::new),
    })
}

/// Where the environment's Postgres is: (host, port, database, in-cluster provider).
struct EnvDatabase {
    name: String,
    host: String,
    port: u16,
    database: String,
    provider: Option<(String, String)>,
    /// The environment's secrets file, where `db.username` / `db.password` are.
    secrets: Option<PathBuf>,
}

fn env_database(env: &Path) -> Result<EnvDatabase, i32> {
    let planned = pipeline::plan_or_exit(env)?;
    let name = planned.loaded.env.metadata.name.clone();
    let secrets = planned.loaded.secrets_file();
    let Some(pg) = planned.plan.backbone.get("postgres") else {
        eprintln!("error: environment `{name}` uses no Postgres: nothing to back up");
        return Err(exit::INVALID_INPUT);
    };
    let database = planned
        .loaded
        .env
        .spec
        .backbone
        .get(&govdeploy_spec::BackingStore::Postgres)
        .and_then(|b| b.database.clone());
    if let Some(ext) = &pg.external {
        return Ok(EnvDatabase {
            name,
            host: ext.host.clone(),
            port: ext.port,
            database: ext
                .database
                .clone()
                .or(database)
                .unwrap_or_else(|| "egov".into()),
            provider: None,
            secrets,
        });
    }
    let Some(provider) = &pg.provider else {
        eprintln!("error: environment `{name}`: no component provides Postgres");
        return Err(exit::INVALID_INPUT);
    };
    let namespace = planned
        .plan
        .components
        .get(provider)
        .map(|c| c.namespace.clone())
        .unwrap_or_default();
    Ok(EnvDatabase {
        name,
        host: format!("{provider}.{namespace}"),
        port: 5432,
        database: database.unwrap_or_else(|| "egov".into()),
        provider: Some((provider.clone(), namespace)),
        secrets,
    })
}

pub fn run(args: BackupArgs) -> anyhow::Result<i32> {
    match args.command {
        Some(command) => run_command(command),
        None => {
            let Some(env) = args.env else {
                bail!("give an environment file or a subcommand (see --help)");
            };
            backup_env(&env, args.now)
        }
    }
}

fn backup_env(env: &Path, now: NowArgs) -> anyhow::Result<i32> {
    let db = match env_database(env) {
        Ok(db) => db,
        Err(code) => return Ok(code),
    };
    if db.provider.is_some() && now.pg_host.is_none() {
        eprintln!(
            "error: environment `{}` runs Postgres in the cluster ({}); dumping inside the Postgres pod needs the cluster client (not available yet)\n\
             help: forward the port (`kubectl -n <namespace> port-forward svc/postgres 5432`) and pass --pg-host 127.0.0.1",
            db.name, db.host
        );
        return Ok(exit::INVALID_INPUT);
    }
    let host = now.pg_host.clone().unwrap_or(db.host.clone());
    let port = now.pg_port.unwrap_or(db.port);
    let Some(to) = now.to.clone() else {
        bail!("--to STORE is required");
    };
    let database = db.database.clone();
    backup_now(
        &db.name,
        now.credentials.env_target(&db, host, port, database)?,
        &to,
        now.etcd.clone(),
        now.etcd_tls.tls(),
        now.wal_timeout,
        &now.credentials,
    )
}

fn backup_now(
    environment: &str,
    target: PgTarget,
    to: &str,
    etcd: Option<String>,
    etcd_tls: Option<govdeploy_backup::etcd::EtcdTls>,
    wal_timeout: u64,
    credentials: &Credentials,
) -> anyhow::Result<i32> {
    let store = Store::parse(to, &credentials.s3_config()?)?;
    let request = govdeploy_backup::backup::BackupRequest {
        environment: environment.to_string(),
        postgres: Some(target),
        pg_bin: credentials.pg_bin.clone(),
        etcd,
        etcd_tls,
        wal_timeout: Duration::from_secs(wal_timeout),
    };
    let started = Instant::now();
    let manifest = runtime()?.block_on(govdeploy_backup::backup::create(&request, &store))?;
    print!("{}", describe_backup(&manifest, &store, started.elapsed()));
    Ok(exit::OK)
}

fn describe_backup(m: &Manifest, store: &Store, took: Duration) -> String {
    let mut out = format!(
        "backup {} complete in {:.1}s: {}/{}\n",
        m.id,
        took.as_secs_f64(),
        store.describe(),
        m.id
    );
    for a in &m.artifacts {
        out.push_str(&format!(
            "  {:<16} {:>14} bytes  sha256 {}\n",
            a.file, a.size, a.sha256
        ));
    }
    if let Some(pg) = &m.postgres {
        let rows: u64 = pg.census.tables.iter().map(|t| t.rows).sum();
        out.push_str(&format!(
            "  postgres {} {}:{}/{} (pg_dump {}): {} tables, {rows} rows, {} large objects\n",
            pg.server_version,
            pg.host,
            pg.port,
            pg.database,
            pg.pg_dump_version,
            pg.census.tables.len(),
            pg.census.large_objects.count
        ));
        match &pg.wal.switched_segment {
            Some(segment) => out.push_str(&format!(
                "  WAL archiving on: segment {segment} archived (last archived {})\n",
                pg.wal.last_archived_wal.as_deref().unwrap_or("?")
            )),
            None => out.push_str(
                "  WAL archiving off: no point-in-time recovery from this backup alone\n",
            ),
        }
    }
    if let Some(e) = &m.etcd {
        out.push_str(&format!(
            "  etcd {} at {}: {} keys at revision {}, trailer verified\n",
            e.server_version, e.endpoint, e.keys, e.revision
        ));
    }
    out
}

fn run_command(command: BackupCommand) -> anyhow::Result<i32> {
    match command {
        BackupCommand::Run {
            environment,
            pg_host,
            pg_port,
            pg_database,
            to,
            etcd,
            etcd_tls,
            wal_timeout,
            credentials,
        } => {
            let target = credentials.target(pg_host, pg_port, pg_database)?;
            backup_now(
                &environment,
                target,
                &to,
                etcd,
                etcd_tls.tls(),
                wal_timeout,
                &credentials,
            )
        }
        BackupCommand::Verify {
            backup,
            credentials,
        } => verify(&backup, &credentials),
        BackupCommand::Drill {
            backup,
            scratch_host,
            scratch_port,
            jobs,
            credentials,
        } => drill(&backup, scratch_host, scratch_port, jobs, &credentials),
        BackupCommand::List { store, credentials } => list(&store, &credentials),
        BackupCommand::Prune {
            store,
            keep,
            keep_days,
            dry_run,
            credentials,
        } => prune(&store, keep, keep_days, dry_run, &credentials),
        BackupCommand::Schedule {
            env,
            schedule,
            to,
            image,
            store_secret,
            store_port,
            scratch_size,
        } => schedule_backups(
            &env,
            ScheduleArgs {
                schedule,
                to,
                image,
                store_secret,
                store_port,
                scratch_size,
            },
        ),
    }
}

fn record(store: &Store, rt: &tokio::runtime::Runtime, id: &str, by: &str, problems: Vec<String>) {
    let verification = Verification {
        backup: id.to_string(),
        checked_at: now_rfc3339(),
        by: by.to_string(),
        passed: problems.is_empty(),
        problems,
    };
    if let Err(e) = rt.block_on(store.put_verification(&verification)) {
        eprintln!("warning: the {by} result could not be recorded in the store: {e}");
    }
}

fn verify(backup: &str, credentials: &Credentials) -> anyhow::Result<i32> {
    let (store, id) = Store::parse_backup(backup, &credentials.s3_config()?)?;
    let rt = runtime()?;
    let (manifest, opened) = rt.block_on(store.open(&id))?;
    let report = rt.block_on(govdeploy_backup::verify::verify(
        &opened.dir,
        &manifest,
        credentials.pg_bin.as_deref(),
    ))?;
    print!("{}", report.render(&id));
    record(&store, &rt, &id, "verify", report.problems.clone());
    Ok(if report.ok() { exit::OK } else { exit::FAILURE })
}

fn drill(
    backup: &str,
    scratch_host: Option<String>,
    scratch_port: Option<u16>,
    jobs: u32,
    credentials: &Credentials,
) -> anyhow::Result<i32> {
    let (store, id) = Store::parse_backup(backup, &credentials.s3_config()?)?;
    let rt = runtime()?;
    let (manifest, opened) = rt.block_on(store.open(&id))?;
    let (host, port) = match &manifest.postgres {
        Some(pg) => (
            scratch_host.unwrap_or_else(|| pg.host.clone()),
            scratch_port.unwrap_or(pg.port),
        ),
        None => (
            scratch_host.unwrap_or_else(|| "127.0.0.1".into()),
            scratch_port.unwrap_or(5432),
        ),
    };
    let options = DrillOptions {
        scratch: credentials.target(host, port, "postgres".into())?,
        pg_bin: credentials.pg_bin.as_deref(),
        etcd_tools: EtcdTools::default(),
        jobs,
    };
    let report = rt.block_on(govdeploy_backup::drill::drill(
        &opened.dir,
        &manifest,
        &options,
    ))?;
    print!("{}", report.render());
    record(&store, &rt, &id, "drill", report.problems());
    Ok(if report.passed() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

fn list(location: &str, credentials: &Credentials) -> anyhow::Result<i32> {
    let store = Store::parse(location, &credentials.s3_config()?)?;
    let (listed, unreadable) = runtime()?.block_on(store.list())?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<40} {:<21} {:>14}  verification",
        "backup", "created", "bytes"
    )?;
    for l in &listed {
        let size: u64 = l.manifest.artifacts.iter().map(|a| a.size).sum();
        let verification = match &l.verification {
            Some(v) => format!(
                "{} {} at {}",
                v.by,
                if v.passed { "passed" } else { "FAILED" },
                v.checked_at
            ),
            None => "never verified".into(),
        };
        writeln!(
            out,
            "{:<40} {:<21} {:>14}  {verification}",
            l.manifest.id, l.manifest.created_at, size
        )?;
    }
    for u in &unreadable {
        eprintln!("note: {u}");
    }
    Ok(exit::OK)
}

fn prune(
    location: &str,
    keep: usize,
    keep_days: Option<u32>,
    dry_run: bool,
    credentials: &Credentials,
) -> anyhow::Result<i32> {
    let store = Store::parse(location, &credentials.s3_config()?)?;
    let rt = runtime()?;
    let (listed, _) = rt.block_on(store.list())?;
    let mut candidates = Vec::new();
    for l in &listed {
        let created_at = l.manifest.created_at.parse().map_err(|e| {
            BackupError::Invalid(format!(
                "backup {}: createdAt `{}` is not a timestamp: {e}",
                l.manifest.id, l.manifest.created_at
            ))
        })?;
        candidates.push(retention::Candidate {
            id: l.manifest.id.clone(),
            created_at,
            verified: l.verification.as_ref().is_some_and(|v| v.passed),
        });
    }
    let policy = retention::Policy {
        keep_last: keep,
        keep_days,
    };
    let decision = retention::decide(&candidates, policy, jiff::Timestamp::now());
    for (id, why) in &decision.keep {
        println!("keep    {id} ({why})");
    }
    for id in &decision.remove {
        if dry_run {
            println!("would remove {id}");
        } else {
            rt.block_on(store.delete(id))?;
            println!("removed {id}");
        }
    }
    if decision
        .keep
        .iter()
        .any(|(_, why)| *why == "no backup verified yet")
    {
        eprintln!(
            "note: no backup in {} has passed verify or drill, so none is removed; run `govdeploy backup drill`",
            store.describe()
        );
    }
    Ok(exit::OK)
}

struct ScheduleArgs {
    schedule: String,
    to: String,
    image: String,
    store_secret: String,
    store_port: u16,
    scratch_size: String,
}

fn schedule_backups(env: &Path, args: ScheduleArgs) -> anyhow::Result<i32> {
    if !args.to.starts_with("s3://") {
        eprintln!(
            "error: scheduled backups need an object store (--to s3://BUCKET/PREFIX): a directory inside the pod is lost with it"
        );
        return Ok(exit::INVALID_INPUT);
    }
    let db = match env_database(env) {
        Ok(db) => db,
        Err(code) => return Ok(code),
    };
    let (namespace, in_cluster) = match &db.provider {
        Some((provider, namespace)) => (
            namespace.clone(),
            Some((
                namespace.clone(),
                std::collections::BTreeMap::from([
                    ("app.kubernetes.io/name".to_string(), provider.clone()),
                    ("app.kubernetes.io/instance".to_string(), db.name.clone()),
                ]),
            )),
        ),
        None => ("backbone".to_string(), None),
    };
    let spec = ScheduleSpec {
        environment: db.name.clone(),
        namespace,
        schedule: args.schedule,
        image: args.image,
        store: args.to,
        store_secret: args.store_secret,
        store_port: args.store_port,
        database: ScheduledDatabase {
            host: db.host,
            port: db.port,
            database: db.database,
            credentials_secret: "db".into(),
            in_cluster,
        },
        scratch_size: args.scratch_size,
        memory: "512Mi".into(),
        cpu: "250m".into(),
    };
    let documents = [
        serde_json::to_value(govdeploy_backup::schedule::service_account(&spec))?,
        serde_json::to_value(govdeploy_backup::schedule::network_policy(&spec))?,
        serde_json::to_value(govdeploy_backup::schedule::cron_job(&spec))?,
    ];
    let mut out = String::new();
    for doc in documents {
        out.push_str("---\n");
        out.push_str(&govdeploy_render::yaml::to_yaml(&doc));
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(exit::OK)
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<i32> {
    let db = match env_database(&args.env) {
        Ok(db) => db,
        Err(code) => return Ok(code),
    };
    if db.provider.is_some() && args.pg_host.is_none() {
        eprintln!(
            "error: environment `{}` runs Postgres in the cluster; restoring through the pod needs the cluster client (not available yet)\n\
             help: forward the port and pass --pg-host 127.0.0.1",
            db.name
        );
        return Ok(exit::INVALID_INPUT);
    }
    let host = args.pg_host.clone().unwrap_or(db.host.clone());
    let port = args.pg_port.unwrap_or(db.port);
    let database = args.pg_database.clone().unwrap_or(db.database.clone());
    let target = args.credentials.env_target(&db, host, port, database)?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: restore needs confirmation; help: pass --yes when running from a script"
            );
            return Ok(exit::INVALID_INPUT);
        }
        eprint!(
            "restore {} into {}{}? type the environment name ({}) to go on: ",
            args.from,
            target.describe(),
            if args.overwrite {
                ", REPLACING its contents"
            } else {
                ""
            },
            db.name
        );
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != db.name {
            eprintln!("not confirmed; nothing was done");
            return Ok(exit::FAILURE);
        }
    }
    let (store, id) = Store::parse_backup(&args.from, &args.credentials.s3_config()?)?;
    let request = govdeploy_backup::restore::RestoreRequest {
        admin: target.with_database("postgres"),
        target,
        pg_bin: args.credentials.pg_bin.clone(),
        overwrite: args.overwrite,
        jobs: args.jobs,
    };
    let started = Instant::now();
    let summary = runtime()?.block_on(govdeploy_backup::restore::restore(&store, &id, &request))?;
    println!(
        "restored {} into {} in {:.1}s: {} tables, {} rows, {} large objects",
        summary.backup,
        summary.database,
        started.elapsed().as_secs_f64(),
        summary.tables,
        summary.rows,
        summary.large_objects
    );
    Ok(exit::OK)
}
