//! Where backups live: a directory, or an S3-compatible object store (through `object_store`,
//! the Apache Arrow project's client, which speaks S3's API without the AWS SDK's weight).
//! A backup is a folder `<id>/` of files; `manifest.json` is written last, so a folder without
//! one is an interrupted backup and is never listed as a backup.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;

use crate::digest::write_atomic;
use crate::error::{BackupError, Result};
use crate::manifest::{MANIFEST_FILE, Manifest, VERIFICATION_FILE, Verification};

/// Upload part size (S3 needs at least 5 MiB per part but the last).
const PART: usize = 16 << 20;

pub enum Store {
    Dir(PathBuf),
    Object {
        location: String,
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
    },
}

/// A backup as listed: its manifest, and its latest verification if any.
#[derive(Debug, Clone)]
pub struct Listed {
    pub manifest: Manifest,
    pub verification: Option<Verification>,
}

/// Local files of one backup: the backup folder itself for a directory store, a temporary
/// copy for an object store (removed on drop).
pub struct Opened {
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

/// Where a new backup is assembled before it is committed to its store.
pub struct Staging {
    pub dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl Store {
    /// `s3://bucket/prefix` (settings from `AWS_*` variables, then `s3_config`) or a directory.
    pub fn parse(location: &str, s3_config: &[(String, String)]) -> Result<Store> {
        if location.starts_with("s3://") {
            let store_error = |message: String| BackupError::Store {
                location: location.to_string(),
                message,
            };
            let rest = location.trim_start_matches("s3://");
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(store_error(
                    "no bucket name; help: write s3://BUCKET/PREFIX".into(),
                ));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in s3_config {
                let key = AmazonS3ConfigKey::from_str(key)
                    .map_err(|e| store_error(format!("setting `{key}`: {e}")))?;
                builder = builder.with_config(key, value);
            }
            let store = builder.build().map_err(|e| store_error(e.to_string()))?;
            let prefix = ObjectPath::parse(prefix.trim_end_matches('/'))
                .map_err(|e| store_error(e.to_string()))?;
            return Ok(Store::Object {
                location: location.trim_end_matches('/').to_string(),
                store: Arc::new(store),
                prefix,
            });
        }
        Ok(Store::Dir(PathBuf::from(location)))
    }

    /// A backup location (`STORE/ID`) split into its store and id.
    pub fn parse_backup(location: &str, s3_config: &[(String, String)]) -> Result<(Store, String)> {
        let trimmed = location.trim_end_matches('/');
        let split = match location.strip_prefix("s3://") {
            Some(rest) => rest
                .trim_end_matches('/')
                .rsplit_once('/')
                .filter(|(bucket, id)| !bucket.is_empty() && !id.is_empty())
                .map(|(store, id)| (format!("s3://{store}"), id)),
            None => match trimmed.rsplit_once('/') {
                Some((store, id)) if !id.is_empty() => {
                    Some((if store.is_empty() { "/" } else { store }.to_string(), id))
                }
                Some(_) => None,
                None => Some((".".to_string(), trimmed)),
            },
        };
        let Some((store, id)) = split else {
            return Err(BackupError::Invalid(format!(
                "`{location}` names no backup; help: give STORE/BACKUP-ID, e.g. s3://bucket/backups/prod-20260101T020000Z"
            )));
        };
        Ok((Store::parse(&store, s3_config)?, id.to_string()))
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Dir(dir) => dir.display().to_string(),
            Store::Object { location, .. } => location.clone(),
        }
    }

    fn error(&self, err: impl std::fmt::Display) -> BackupError {
        BackupError::Store {
            location: self.describe(),
            message: err.to_string(),
        }
    }

    fn object(prefix: &ObjectPath, id: &str, file: &str) -> ObjectPath {
        prefix.child(id).child(file)
    }

    /// A staging directory: inside the store's directory (so commit is a rename), or in the
    /// system's temporary directory for an object store.
    pub fn staging(&self) -> Result<Staging> {
        let temp = match self {
            Store::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
                tempfile::Builder::new()
                    .prefix(".incoming-")
                    .tempdir_in(dir)
                    .map_err(|e| BackupError::io(dir, e))?
            }
            Store::Object { .. } => tempfile::Builder::new()
                .prefix("govdeploy-backup-")
                .tempdir()
                .map_err(|e| BackupError::io(std::env::temp_dir(), e))?,
        };
        Ok(Staging {
            dir: temp.path().to_path_buf(),
            _temp: temp,
        })
    }

    /// Makes the staged backup `id` visible: the files of `manifest`, then the manifest.
    pub async fn commit(&self, staging: Staging, manifest: &Manifest) -> Result<()> {
        let id = &manifest.id;
        let manifest_path = staging.dir.join(MANIFEST_FILE);
        write_atomic(&manifest_path, manifest.to_json().as_bytes())?;
        match self {
            Store::Dir(dir) => {
                let target = dir.join(id);
                if target.exists() {
                    return Err(self.error(format!("backup {id} already exists")));
                }
                let staged = staging._temp.keep();
                std::fs::rename(&staged, &target).map_err(|e| BackupError::io(&target, e))?;
                Ok(())
            }
            Store::Object { store, prefix, .. } => {
                for artifact in &manifest.artifacts {
                    let local = staging.dir.join(&artifact.file);
                    upload(
                        store.as_ref(),
                        &Self::object(prefix, id, &artifact.file),
                        &local,
                    )
                    .await
                    .map_err(|e| self.error(e))?;
                }
                upload(
                    store.as_ref(),
                    &Self::object(prefix, id, MANIFEST_FILE),
                    &manifest_path,
                )
                .await
                .map_err(|e| self.error(e))?;
                Ok(())
            }
        }
    }

    async fn read_small(&self, id: &str, file: &str) -> Result<Option<String>> {
        match self {
            Store::Dir(dir) => {
                let path = dir.join(id).join(file);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(BackupError::io(path, e)),
                }
            }
            Store::Object { store, prefix, .. } => {
                match store.get(&Self::object(prefix, id, file)).await {
                    Ok(got) => {
                        let bytes = got.bytes().await.map_err(|e| self.error(e))?;
                        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(self.error(e)),
                }
            }
        }
    }

    pub async fn manifest(&self, id: &str) -> Result<Manifest> {
        let origin = format!("{}/{id}/{MANIFEST_FILE}", self.describe());
        let text = self
            .read_small(id, MANIFEST_FILE)
            .await?
            .ok_or_else(|| BackupError::NotFound(format!("{}/{id}", self.describe())))?;
        Manifest::parse(&text, &origin)
    }

    pub async fn verification(&self, id: &str) -> Result<Option<Verification>> {
        Ok(self
            .read_small(id, VERIFICATION_FILE)
            .await?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    pub async fn put_verification(&self, record: &Verification) -> Result<()> {
        let mut text = serde_json::to_string_pretty(record).map_err(|e| self.error(e))?;
        text.push('\n');
        match self {
            Store::Dir(dir) => write_atomic(
                &dir.join(&record.backup).join(VERIFICATION_FILE),
                text.as_bytes(),
            ),
            Store::Object { store, prefix, .. } => store
                .put(
                    &Self::object(prefix, &record.backup, VERIFICATION_FILE),
                    PutPayload::from(text),
                )
                .await
                .map(|_| ())
                .map_err(|e| self.error(e)),
        }
    }

    /// Ids of the folders in the store, sorted (complete or not).
    async fn folders(&self) -> Result<Vec<String>> {
        let mut ids = match self {
            Store::Dir(dir) => {
                let entries = match std::fs::read_dir(dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(BackupError::io(dir, e)),
                };
                let mut ids = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| BackupError::io(dir, e))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if entry.path().is_dir() && !name.starts_with('.') {
                        ids.push(name);
                    }
                }
                ids
            }
            Store::Object { store, prefix, .. } => {
                let listed = store
                    .list_with_delimiter(Some(prefix))
                    .await
                    .map_err(|e| self.error(e))?;
                listed
                    .common_prefixes
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_string))
                    .collect()
            }
        };
        ids.sort();
        Ok(ids)
    }

    /// Complete backups (those with a manifest), oldest first; folders whose manifest cannot
    /// be read are returned apart, with the reason.
    pub async fn list(&self) -> Result<(Vec<Listed>, Vec<String>)> {
        let mut listed = Vec::new();
        let mut unreadable = Vec::new();
        for id in self.folders().await? {
            match self.manifest(&id).await {
                Ok(manifest) => {
                    let verification = self.verification(&id).await?;
                    listed.push(Listed {
                        manifest,
                        verification,
                    });
                }
                Err(BackupError::NotFound(_)) => {
                    unreadable.push(format!("{id}: no manifest (an interrupted backup)"))
                }
                Err(e) => unreadable.push(format!("{id}: {e}")),
            }
        }
        listed.sort_by(|a, b| {
            (a.manifest.created_at.as_str(), a.manifest.id.as_str())
                .cmp(&(b.manifest.created_at.as_str(), b.manifest.id.as_str()))
        });
        Ok((listed, unreadable))
    }

    /// The files of backup `id` on local disk.
    pub async fn open(&self, id: &str) -> Result<(Manifest, Opened)> {
        let manifest = self.manifest(id).await?;
        match self {
            Store::Dir(dir) => Ok((
                manifest,
                Opened {
                    dir: dir.join(id),
                    _temp: None,
                },
            )),
            Store::Object { store, prefix, .. } => {
                let temp = tempfile::Builder::new()
                    .prefix("govdeploy-restore-")
                    .tempdir()
                    .map_err(|e| BackupError::io(std::env::temp_dir(), e))?;
                for artifact in &manifest.artifacts {
                    let local = temp.path().join(&artifact.file);
                    download(
                        store.as_ref(),
                        &Self::object(prefix, id, &artifact.file),
                        &local,
                    )
                    .await
                    .map_err(|e| self.error(e))?;
                }
                Ok((
                    manifest,
                    Opened {
                        dir: temp.path().to_path_buf(),
                        _temp: Some(temp),
                    },
                ))
            }
        }
    }

    /// Removes backup `id`: the manifest first, so an interrupted delete never leaves
    /// something that lists as a complete backup.
    pub async fn delete(&self, id: &str) -> Result<()> {
        match self {
            Store::Dir(dir) => {
                let folder = dir.join(id);
                let manifest = folder.join(MANIFEST_FILE);
                if manifest.exists() {
                    std::fs::remove_file(&manifest).map_err(|e| BackupError::io(&manifest, e))?;
                }
                std::fs::remove_dir_all(&folder).map_err(|e| BackupError::io(&folder, e))
            }
            Store::Object { store, prefix, .. } => {
                let folder = prefix.child(id);
                store
                    .delete(&folder.child(MANIFEST_FILE))
                    .await
                    .or_else(|e| match e {
                        object_store::Error::NotFound { .. } => Ok(()),
                        e => Err(self.error(e)),
                    })?;
                let mut objects = store.list(Some(&folder));
                let mut paths = Vec::new();
                while let Some(meta) = objects.next().await {
                    paths.push(meta.map_err(|e| self.error(e))?.location);
                }
                for path in paths {
                    store.delete(&path).await.map_err(|e| self.error(e))?;
                }
                Ok(())
            }
        }
    }
}

async fn upload(
    store: &dyn ObjectStore,
    to: &ObjectPath,
    from: &Path,
) -> std::result::Result<(), String> {
    let mut file = tokio::fs::File::open(from)
        .await
        .map_err(|e| format!("{}: {e}", from.display()))?;
    let upload = store.put_multipart(to).await.map_err(|e| e.to_string())?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| format!("{}: {e}", from.display()))?;
        if n == 0 {
            break;
        }
        writer
            .wait_for_capacity(4)
            .await
            .map_err(|e| e.to_string())?;
        writer.write(&buf[..n]);
    }
    writer.finish().await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn download(
    store: &dyn ObjectStore,
    from: &ObjectPath,
    to: &Path,
) -> std::result::Result<(), String> {
    let got = store.get(from).await.map_err(|e| format!("{from}: {e}"))?;
    let mut stream = got.into_stream();
    let mut file = tokio::fs::File::create(to)
        .await
        .map_err(|e| format!("{}: {e}", to.display()))?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("{from}: {e}"))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("{}: {e}", to.display()))?;
    }
    file.flush()
        .await
        .map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn backup_locations_split_into_store_and_id() {
        let (store, id) = Store::parse_backup("/srv/backups/prod-1/", &[]).unwrap();
        assert_eq!(
            (store.describe(), id.as_str()),
            ("/srv/backups".into(), "prod-1")
        );
        let config = vec![("aws_region".to_string(), "us-east-1".to_string())];
        let (store, id) = Store::parse_backup("s3://b/backups/prod-1", &config).unwrap();
        assert_eq!(
            (store.describe(), id.as_str()),
            ("s3://b/backups".into(), "prod-1")
        );
        assert!(Store::parse_backup("s3://", &config).is_err());
    }
}
