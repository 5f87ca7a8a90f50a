//! The bundle: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) inside a
//! plain tar, plus the lockfile, a `SHA256SUMS` file and any extra files (environment,
//! catalogue). Written entry by entry to a temporary file renamed into place at the end, so a
//! failed bundle leaves nothing behind; blob content streams through in bounded pieces.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;

use crate::blob::{BlobOrigin, BlobReader};
use crate::digest::{Digest, Hasher};
use crate::error::{OciError, Result};
use crate::manifest::{Manifest, OCI_INDEX};
use crate::progress::Progress;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const LOCKFILE_NAME: &str = "govdeploy-images.lock.json";
pub const CHECKSUMS_NAME: &str = "SHA256SUMS";
const PIECE: usize = 1 << 20;
const BLOCK: u64 = 512;

/// An image named in the bundle's `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BundleRef {
    /// The `org.opencontainers.image.ref.name` annotation: the full source reference.
    pub name: String,
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

pub struct BundleWriter {
    dest: PathBuf,
    tmp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    blobs: BTreeSet<Digest>,
    checksums: BTreeMap<String, String>,
    refs: BTreeMap<String, BundleRef>,
    pub bytes_written: u64,
}

impl BundleWriter {
    pub fn create(dest: &Path) -> Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".govdeploy-bundle-")
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|e| OciError::io(dir, e))?;
        let file = tmp.reopen().map_err(|e| OciError::io(tmp.path(), e))?;
        let mut writer = BundleWriter {
            dest: dest.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(PIECE, file),
            blobs: BTreeSet::new(),
            checksums: BTreeMap::new(),
            refs: BTreeMap::new(),
            bytes_written: 0,
        };
        writer.add_file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        Ok(writer)
    }

    fn io(&self, e: std::io::Error) -> OciError {
        OciError::io(self.tmp.path(), e)
    }

    fn header(&mut self, name: &str, size: u64) -> Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).map_err(|e| self.io(e))?;
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        self.out
            .write_all(header.as_bytes())
            .map_err(|e| self.io(e))?;
        self.bytes_written += BLOCK;
        Ok(())
    }

    fn pad(&mut self, size: u64) -> Result<()> {
        let rest = (BLOCK - size % BLOCK) % BLOCK;
        self.out
            .write_all(&vec![0u8; rest as usize])
            .map_err(|e| self.io(e))?;
        self.bytes_written += rest;
        Ok(())
    }

    /// A small file, checksummed.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.header(name, bytes.len() as u64)?;
        self.out.write_all(bytes).map_err(|e| self.io(e))?;
        self.bytes_written += bytes.len() as u64;
        self.pad(bytes.len() as u64)?;
        self.checksums
            .insert(name.to_string(), Digest::of(bytes).hex().to_string());
        Ok(())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blobs.contains(digest)
    }

    /// A manifest as a blob (raw bytes, once).
    pub fn add_manifest(&mut self, manifest: &Manifest) -> Result<()> {
        if self.blobs.insert(manifest.digest.clone()) {
            let name = blob_path(&manifest.digest);
            self.add_file(&name, &manifest.bytes)?;
        }
        Ok(())
    }

    /// Streams a blob into the bundle (once), verifying its digest; a mismatch fails the
    /// whole bundle.
    pub async fn add_blob(
        &mut self,
        origin: BlobOrigin,
        digest: &Digest,
        size: u64,
        progress: &dyn Progress,
    ) -> Result<bool> {
        if self.blobs.contains(digest) {
            return Ok(false);
        }
        let name = blob_path(digest);
        self.header(&name, size)?;
        let mut reader = BlobReader::new(origin, digest.clone(), size);
        let mut hasher = Hasher::default();
        while reader.position() < size {
            let piece: Bytes = reader.read(PIECE).await?;
            hasher.update(&piece);
            self.out.write_all(&piece).map_err(|e| self.io(e))?;
            self.bytes_written += piece.len() as u64;
            progress.bytes(piece.len() as u64);
        }
        digest.verify(&hasher.finish(), format!("blob {digest} as downloaded"))?;
        self.pad(size)?;
        self.checksums.insert(name, digest.hex().to_string());
        self.blobs.insert(digest.clone());
        Ok(true)
    }

    /// Names an image in `index.json`.
    pub fn add_ref(&mut self, reference: BundleRef) {
        self.refs.insert(reference.name.clone(), reference);
    }

    /// Writes `index.json`, the lockfile, `SHA256SUMS` and the end of the tar, then renames
    /// the temporary file to the destination.
    pub fn finish(mut self, lockfile_json: &str) -> Result<u64> {
        let manifests: Vec<serde_json::Value> = self
            .refs
            .values()
            .map(|r| {
                serde_json::json!({
                    "mediaType": r.media_type,
                    "digest": r.digest.as_str(),
                    "size": r.size,
                    "annotations": { REF_NAME: r.name },
                })
            })
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests,
        });
        let mut index_text = serde_json::to_string_pretty(&index).unwrap_or_default();
        index_text.push('\n');
        self.add_file("index.json", index_text.as_bytes())?;
        self.add_file(LOCKFILE_NAME, lockfile_json.as_bytes())?;
        let sums: String = self
            .checksums
            .iter()
            .map(|(name, hex)| format!("{hex}  {name}\n"))
            .collect();
        self.header(CHECKSUMS_NAME, sums.len() as u64)?;
        self.out
            .write_all(sums.as_bytes())
            .map_err(|e| self.io(e))?;
        self.bytes_written += sums.len() as u64;
        self.pad(sums.len() as u64)?;
        self.out
            .write_all(&[0u8; 2 * BLOCK as usize])
            .map_err(|e| self.io(e))?;
        self.bytes_written += 2 * BLOCK;
        self.out.flush().map_err(|e| self.io(e))?;
        self.out.get_ref().sync_all().map_err(|e| self.io(e))?;
        let size = self.bytes_written;
        let dest = self.dest.clone();
        self.tmp
            .persist(&dest)
            .map_err(|e| OciError::io(&dest, e.error))?;
        Ok(size)
    }
}

pub fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// A bundle opened for reading: where each entry sits in the tar.
pub struct BundleReader {
    pub path: PathBuf,
    entries: HashMap<String, (u64, u64)>,
    pub refs: Vec<BundleRef>,
}

#[derive(Deserialize)]
struct IndexJson {
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl BundleReader {
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |message: String| OciError::Bundle {
            path: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|e| OciError::io(path, e))?;
        let mut archive = tar::Archive::new(file);
        let mut entries = HashMap::new();
        for entry in archive
            .entries_with_seek()
            .map_err(|e| bad(format!("not a tar file: {e}")))?
        {
            let entry = entry.map_err(|e| bad(format!("broken tar entry: {e}")))?;
            let name = entry
                .path()
                .map_err(|e| bad(format!("bad entry name: {e}")))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            entries.insert(name, (entry.raw_file_position(), entry.size()));
        }
        let mut reader = BundleReader {
            path: path.to_path_buf(),
            entries,
            refs: Vec::new(),
        };
        let layout = reader.read_entry("oci-layout")?;
        if !String::from_utf8_lossy(&layout).contains("\"imageLayoutVersion\"") {
            return Err(bad("oci-layout has no imageLayoutVersion".into()));
        }
        let index: IndexJson = serde_json::from_slice(&reader.read_entry("index.json")?)
            .map_err(|e| bad(format!("index.json: {e}")))?;
        let mut problems = Vec::new();
        for (i, m) in index.manifests.into_iter().enumerate() {
            let Some(name) = m.annotations.get(REF_NAME) else {
                problems.push(format!(
                    "index.json manifests[{i}] has no {REF_NAME} annotation"
                ));
                continue;
            };
            match Digest::parse(&m.digest) {
                Ok(digest) => reader.refs.push(BundleRef {
                    name: name.clone(),
                    media_type: m.media_type,
                    digest,
                    size: m.size,
                }),
                Err(e) => problems.push(format!("index.json manifests[{i}]: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(bad(problems.join("; ")));
        }
        reader.refs.sort();
        Ok(reader)
    }

    /// A small entry's bytes (index, lockfile, manifests).
    pub fn read_entry(&self, name: &str) -> Result<Vec<u8>> {
        let (offset, size) = self
            .entries
            .get(name)
            .copied()
            .ok_or_else(|| OciError::Bundle {
                path: self.path.clone(),
                message: format!("no `{name}` in the bundle"),
            })?;
        if size > 64 << 20 {
            return Err(OciError::Bundle {
                path: self.path.clone(),
                message: format!("`{name}` is {size} bytes, too big to be metadata"),
            });
        }
        let mut file = File::open(&self.path).map_err(|e| OciError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| OciError::io(&self.path, e))?;
        let mut bytes = vec![0u8; size as usize];
        file.read_exact(&mut bytes)
            .map_err(|e| OciError::io(&self.path, e))?;
        Ok(bytes)
    }

    pub fn has_entry(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// A manifest stored as a blob, verified against its digest.
    pub fn manifest(&self, digest: &Digest, media_type: Option<&str>) -> Result<Manifest> {
        let bytes = self.read_entry(&blob_path(digest))?;
        let what = format!("{} in {}", digest, self.path.display());
        let manifest = Manifest::parse(Bytes::from(bytes), media_type, &what)?;
        digest.verify(&manifest.digest, what)?;
        Ok(manifest)
    }

    /// Where a blob's bytes are, and how many there are.
    pub fn blob(&self, digest: &Digest) -> Result<(BlobOrigin, u64)> {
        let (offset, size) = self
            .entries
            .get(&blob_path(digest))
            .copied()
            .ok_or_else(|| OciError::Bundle {
                path: self.path.clone(),
                message: format!("blob {digest} is missing"),
            })?;
        Ok((
            BlobOrigin::File {
                path: self.path.clone(),
                offset,
            },
            size,
        ))
    }
}
