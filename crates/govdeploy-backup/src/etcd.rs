//! etcd: a snapshot from the Maintenance Snapshot stream, checked against the SHA-256 trailer
//! etcd appends (the hash of every byte before it), and a digest of the key space at the
//! revision just before the snapshot, which a drill compares after restoring the snapshot
//! into a scratch data directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use etcd_client::{Certificate, Client, ConnectOptions, GetOptions, Identity, TlsOptions};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::digest::hex;
use crate::error::{BackupError, Result};
use crate::manifest::EtcdRecord;
use crate::process::run_captured;

/// Length of the SHA-256 trailer.
const TRAILER: usize = 32;
/// bbolt pages: a snapshot without trailer is a whole number of them, one with it is 32
/// bytes over (etcd's own restore tells the two apart the same way).
const PAGE: u64 = 512;
/// Keys read per request when digesting the key space.
const PAGE_KEYS: i64 = 1000;

fn etcd_error(endpoint: &str, err: impl std::fmt::Display) -> BackupError {
    BackupError::Etcd {
        endpoint: endpoint.to_string(),
        message: err.to_string(),
    }
}

/// Count and digest of every key at `revision` (0: the latest).
pub async fn key_digest(
    client: &mut Client,
    endpoint: &str,
    revision: i64,
) -> Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut count = 0u64;
    let mut start: Vec<u8> = vec![0];
    loop {
        let options = GetOptions::new()
            .with_from_key()
            .with_revision(revision)
            .with_limit(PAGE_KEYS);
        let response = client
            .get(start.clone(), Some(options))
            .await
            .map_err(|e| etcd_error(endpoint, e))?;
        for kv in response.kvs() {
            for part in [kv.key(), kv.value()] {
                hasher.update((part.len() as u64).to_be_bytes());
                hasher.update(part);
            }
            hasher.update(kv.mod_revision().to_be_bytes());
            count += 1;
        }
        match response.kvs().last() {
            Some(last) if response.more() => {
                start = last.key().to_vec();
                start.push(0);
            }
            _ => break,
        }
    }
    Ok((count, hex(&hasher.finalize())))
}

/// TLS for an etcd client URL `https://...`: the CA that signed the server's certificate,
/// and the client certificate and key when the server asks for one (`--client-cert-auth`).
#[derive(Debug, Clone, Default)]
pub struct EtcdTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

fn read_pem(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| BackupError::io(path, e))
}

/// Connects to `endpoint`, over TLS when `tls` is given (then the URL must be `https://`).
pub async fn connect(endpoint: &str, tls: Option<&EtcdTls>) -> Result<Client> {
    let options = match tls {
        None => None,
        Some(tls) => {
            if !endpoint.starts_with("https://") {
                return Err(BackupError::Invalid(format!(
                    "etcd endpoint {endpoint}: TLS certificates were given, so the URL must start with https://"
                )));
            }
            let mut config = TlsOptions::new();
            if let Some(ca) = &tls.ca {
                config = config.ca_certificate(Certificate::from_pem(read_pem(ca)?));
            }
            match (&tls.cert, &tls.key) {
                (Some(cert), Some(key)) => {
                    config = config.identity(Identity::from_pem(read_pem(cert)?, read_pem(key)?));
                }
                (None, None) => {}
                _ => {
                    return Err(BackupError::Invalid(
                        "etcd TLS: give both the client certificate and its key, or neither".into(),
                    ));
                }
            }
            Some(ConnectOptions::new().with_tls(config))
        }
    };
    Client::connect([endpoint], options)
        .await
        .map_err(|e| etcd_error(endpoint, e))
}

/// Streams a snapshot from `endpoint` into `out`, checks its trailer, and records the key
/// digest at the revision just before it.
pub async fn snapshot(endpoint: &str, tls: Option<&EtcdTls>, out: &Path) -> Result<EtcdRecord> {
    let mut client = connect(endpoint, tls).await?;
    let status = client.status().await.map_err(|e| etcd_error(endpoint, e))?;
    let revision = status
        .header()
        .map(|h| h.revision())
        .ok_or_else(|| etcd_error(endpoint, "status response without a header"))?;
    let server_version = status.version().to_string();
    let (keys, digest) = key_digest(&mut client, endpoint, revision).await?;

    let mut stream = client
        .snapshot()
        .await
        .map_err(|e| etcd_error(endpoint, e))?;
    let mut file = tokio::fs::File::create(out)
        .await
        .map_err(|e| BackupError::io(out, e))?;
    while let Some(message) = stream
        .message()
        .await
        .map_err(|e| etcd_error(endpoint, e))?
    {
        file.write_all(message.blob())
            .await
            .map_err(|e| BackupError::io(out, e))?;
    }
    file.sync_all().await.map_err(|e| BackupError::io(out, e))?;
    drop(file);
    let trailer = verify_trailer(out)?;
    Ok(EtcdRecord {
        endpoint: endpoint.to_string(),
        server_version,
        revision,
        keys,
        key_digest: digest,
        trailer_sha256: trailer,
    })
}

/// Checks that the last 32 bytes are the SHA-256 of everything before them; returns them.
pub fn verify_trailer(path: &Path) -> Result<String> {
    use std::io::Read;
    let fail = |message: String| BackupError::Snapshot {
        path: path.to_path_buf(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| BackupError::io(path, e))?
        .len();
    if size < PAGE + TRAILER as u64 || size % PAGE != TRAILER as u64 {
        return Err(fail(format!(
            "{size} bytes is not a whole number of {PAGE}-byte pages plus a {TRAILER}-byte SHA-256 trailer: the snapshot is truncated or not from the Maintenance stream"
        )));
    }
    let mut file = std::fs::File::open(path).map_err(|e| BackupError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut remaining = size - TRAILER as u64;
    let mut buf = vec![0u8; 1 << 20];
    while remaining > 0 {
        let want = usize::try_from(remaining.min(buf.len() as u64)).unwrap_or(buf.len());
        file.read_exact(&mut buf[..want])
            .map_err(|e| BackupError::io(path, e))?;
        hasher.update(&buf[..want]);
        remaining -= want as u64;
    }
    let mut trailer = [0u8; TRAILER];
    file.read_exact(&mut trailer)
        .map_err(|e| BackupError::io(path, e))?;
    let computed = hasher.finalize();
    if computed.as_slice() != trailer {
        return Err(fail(format!(
            "SHA-256 trailer {} does not match the content's hash {}: the snapshot is truncated or corrupt",
            hex(&trailer),
            hex(&computed)
        )));
    }
    Ok(hex(&trailer))
}

/// The etcd binaries a drill runs (`etcdctl snapshot restore`, then `etcd` on the result).
#[derive(Debug, Clone)]
pub struct EtcdTools {
    pub etcd: PathBuf,
    pub etcdctl: PathBuf,
}

impl Default for EtcdTools {
    fn default() -> Self {
        EtcdTools {
            etcd: PathBuf::from("etcd"),
            etcdctl: PathBuf::from("etcdctl"),
        }
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BackupError::io("127.0.0.1:0", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| BackupError::io("127.0.0.1:0", e))
}

/// What a drill found for etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdDrill {
    pub keys: u64,
    pub differences: Vec<String>,
}

/// Restores `snapshot` into a scratch data directory under `scratch`, starts etcd on it on
/// 127.0.0.1, and compares the key digest at the recorded revision.
pub async fn drill(
    snapshot: &Path,
    record: &EtcdRecord,
    tools: &EtcdTools,
    scratch: &Path,
) -> Result<EtcdDrill> {
    let data_dir = scratch.join("etcd-data");
    let (peer, client_port) = (free_port()?, free_port()?);
    let peer_url = format!("http://127.0.0.1:{peer}");
    let client_url = format!("http://127.0.0.1:{client_port}");
    let cluster = format!("drill={peer_url}");
    let name = tools.etcdctl.display().to_string();
    run_captured(
        tokio::process::Command::new(&tools.etcdctl)
            .env("ETCDCTL_API", "3")
            .arg("snapshot")
            .arg("restore")
            .arg(snapshot)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--name=drill")
            .arg(format!("--initial-cluster={cluster}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .stdin(Stdio::null()),
        &format!("{name} snapshot restore"),
    )
    .await?;

    let log_path = scratch.join("etcd.log");
    let log = std::fs::File::create(&log_path).map_err(|e| BackupError::io(&log_path, e))?;
    let log_err = log.try_clone().map_err(|e| BackupError::io(&log_path, e))?;
    let mut server = tokio::process::Command::new(&tools.etcd)
        .arg("--name=drill")
        .arg("--data-dir")
        .arg(&data_dir)
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster={cluster}"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| BackupError::Spawn {
            tool: tools.etcd.display().to_string(),
            source: e,
        })?;

    let result = compare_restored(&client_url, record).await;
    let _ = server.kill().await;
    result.map_err(|e| match e {
        BackupError::Etcd { endpoint, message } => BackupError::Etcd {
            endpoint,
            message: format!("{message} (scratch etcd log: {})", log_path.display()),
        },
        other => other,
    })
}

async fn compare_restored(url: &str, record: &EtcdRecord) -> Result<EtcdDrill> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut client = loop {
        let attempt = async {
            let mut c = Client::connect([url], None).await?;
            c.status().await?;
            Ok::<_, etcd_client::Error>(c)
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(c)) => break c,
            _ if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Err(e)) => return Err(etcd_error(url, format!("scratch etcd did not start: {e}"))),
            Err(_) => return Err(etcd_error(url, "scratch etcd did not answer within 30s")),
        }
    };
    let (keys, digest) = key_digest(&mut client, url, record.revision).await?;
    let mut differences = Vec::new();
    if keys != record.keys {
        differences.push(format!(
            "etcd: {} keys recorded at revision {}, {keys} restored",
            record.keys, record.revision
        ));
    } else if digest != record.key_digest {
        differences.push(format!(
            "etcd: key digest at revision {} is {} recorded, {digest} restored",
            record.revision, record.key_digest
        ));
    }
    Ok(EtcdDrill { keys, differences })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn snapshot_with_trailer(pages: usize) -> Vec<u8> {
        let mut body: Vec<u8> = (0..pages * 512).map(|i| (i % 251) as u8).collect();
        let hash = Sha256::digest(&body);
        body.extend_from_slice(&hash);
        body
    }

    #[test]
    fn trailer_accepted_then_truncation_and_corruption_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let good = snapshot_with_trailer(4);
        std::fs::write(&path, &good).unwrap();
        assert_eq!(verify_trailer(&path).unwrap().len(), 64);

        std::fs::write(&path, &good[..good.len() - 100]).unwrap();
        let err = verify_trailer(&path).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");

        let mut bad = good.clone();
        bad[700] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        let err = verify_trailer(&path).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
    }
}
