//! Real servers for the behaviour tests, on 127.0.0.1 in temporary directories, stopped on
//! drop: PostgreSQL 15 (initdb + pg_ctl; as the `postgres` user when the tests run as root,
//! since the server refuses root), etcd (Debian's etcd-server), and moto's S3 server (PyPI
//! `moto[server]`, installed by scripts/install-backup-tools.sh).
//!
//! A missing tool fails the test with the install step to run when `CI` is set; otherwise the
//! test prints a notice and skips.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use govdeploy_backup::pg::{Password, PgTarget};

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
pub const PASSWORD: &str = "s3cr3t-Pässwörd";

/// Skips (prints why) or, under CI, fails when `tool` is missing.
pub fn require(tool: &Path, install: &str) -> bool {
    if tool.is_file() {
        return true;
    }
    let message = format!("{} is missing: {install}", tool.display());
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    false
}

pub fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(format!("/usr/bin/{name}")))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `postgres` user's ids, when running as root.
fn postgres_ids() -> (u32, u32) {
    let out = |flag: &str| {
        let o = Command::new("id")
            .arg(flag)
            .arg("postgres")
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    (out("-u"), out("-g"))
}

fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub archive: PathBuf,
}

impl Postgres {
    /// A fresh cluster with password authentication; `archive` turns WAL archiving on.
    pub fn start(archive: bool) -> Option<Postgres> {
        let bin = Path::new(PG_BIN);
        if !require(
            &bin.join("initdb"),
            "install PostgreSQL 15 (Debian: apt-get install postgresql-15)",
        ) {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("gd-pg-").tempdir().unwrap();
        let data = dir.path().join("data");
        let archive_dir = dir.path().join("archive");
        std::fs::create_dir(&archive_dir).unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if is_root() {
            let (uid, gid) = postgres_ids();
            for p in [dir.path(), &archive_dir, &pwfile] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
            }
        }
        let status = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let port = free_port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_wal_size=4GB",
            dir.path().display()
        );
        if archive {
            options.push_str(&format!(
                " -c wal_level=replica -c archive_mode=on -c archive_command='cp %p {}/%f'",
                archive_dir.display()
            ));
        }
        let status = as_server_user(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("-o")
            .arg(options)
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed");
        Some(Postgres {
            dir,
            port,
            archive: archive_dir,
        })
    }

    pub fn target(&self, database: &str) -> PgTarget {
        PgTarget {
            host: "127.0.0.1".into(),
            port: self.port,
            user: "postgres".into(),
            database: database.into(),
            password: Some(Password::new(PASSWORD)),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_server_user(&Path::new(PG_BIN).join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A child process killed on drop.
pub struct Server {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port} within 30s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn etcd() -> Option<Server> {
    let etcd = which("etcd");
    if !require(
        &etcd,
        "install etcd (Debian: apt-get install etcd-server etcd-client; .ci/run's backup block)",
    ) {
        return None;
    }
    if !require(
        &which("etcdctl"),
        "install etcdctl (Debian: apt-get install etcd-client)",
    ) {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("gd-etcd-")
        .tempdir()
        .unwrap();
    let (client, peer) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let child = Command::new(etcd)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg(format!("--listen-client-urls={url}"))
        .arg(format!("--advertise-client-urls={url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=default={peer_url}"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_port(client, "etcd");
    Some(Server { child, dir, url })
}

/// moto's S3 server with one bucket.
pub fn moto(bucket: &str) -> Option<Server> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tool = root.join(".tools/backup-venv/bin/moto_server");
    if !require(
        &tool,
        "run scripts/install-backup-tools.sh (moto[server] from PyPI)",
    ) {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("gd-moto-")
        .tempdir()
        .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let child = Command::new(tool)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_port(port, "moto_server");
    // Create the bucket (moto does not check request signatures).
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "bucket creation: {reply}"
    );
    Some(Server {
        child,
        dir,
        url: format!("http://127.0.0.1:{port}"),
    })
}

pub fn s3_config(endpoint: &str) -> Vec<(String, String)> {
    [
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Tables in two schemas (one with a quoted name), non-ASCII text, bytea, jsonb, and three
/// large objects.
pub const SEED: &str = r#"
CREATE SCHEMA sales;
CREATE TABLE public.citizens (id serial PRIMARY KEY, name text NOT NULL, city text, born date);
INSERT INTO public.citizens (name, city, born)
  SELECT 'Citizen ' || g || ' ಕನ್ನಡ नमस्ते ñandú 🐘', CASE WHEN g % 3 = 0 THEN NULL ELSE 'Ward ' || (g % 17) END,
         date '1970-01-01' + g
  FROM generate_series(1, 5000) g;
CREATE TABLE sales."Order Lines" (id bigint PRIMARY KEY, payload jsonb, amount numeric(12,2), blob bytea);
INSERT INTO sales."Order Lines"
  SELECT g, jsonb_build_object('g', g, 'tags', jsonb_build_array('α', 'β')), g * 1.25, decode(md5(g::text), 'hex')
  FROM generate_series(1, 3000) g;
CREATE TABLE public.empty_table (id int);
CREATE TABLE public.documents (id int PRIMARY KEY, file oid);
INSERT INTO public.documents VALUES
  (1, lo_from_bytea(0, convert_to('Grievance PDF — पहला', 'UTF8'))),
  (2, lo_from_bytea(0, decode(repeat('ff00', 50000), 'hex'))),
  (3, lo_from_bytea(0, ''::bytea));
"#;

pub async fn seed(pg: &Postgres, database: &str) {
    let admin = pg.target("postgres");
    govdeploy_backup::pg::restore::ensure_database(&admin, database)
        .await
        .unwrap();
    let client = pg.target(database).connect().await.unwrap();
    client.batch_execute(SEED).await.unwrap();
}

pub async fn etcd_seed(url: &str) {
    let mut client = etcd_client::Client::connect([url], None).await.unwrap();
    for i in 0..250 {
        client
            .put(
                format!("/registry/configmaps/egov/{i:04}"),
                format!("value {i} ✓"),
                None,
            )
            .await
            .unwrap();
    }
    client
        .put("/registry/secrets/egov/db", vec![0u8, 1, 2, 255], None)
        .await
        .unwrap();
    client
        .delete("/registry/configmaps/egov/0007", None)
        .await
        .unwrap();
}
