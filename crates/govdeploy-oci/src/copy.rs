//! Copying images: resolve each image's manifest tree from its source (a registry or a
//! bundle), push every blob the target lacks with bounded concurrency (each shared blob is
//! uploaded once and mounted into the other repositories that need it), then push manifests
//! as raw bytes, children before the index that names them. Everything already in the target
//! is skipped after a `HEAD`, so a finished copy run again transfers nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::stream;

use crate::blob::BlobOrigin;
use crate::digest::Digest;
use crate::error::{OciError, Result};
use crate::layout::{BundleReader, BundleRef, BundleWriter};
use crate::manifest::{Manifest, ManifestKind};
use crate::progress::Progress;
use crate::registry::{Registry, RegistryOptions};
use crate::stats::Stats;
use crate::upload::{BlobOutcome, BlobPush};

/// Source registries, one client per host, created on first use.
pub struct RegistryPool {
    options: RegistryOptions,
    stats: Arc<Stats>,
    clients: Mutex<HashMap<String, Arc<Registry>>>,
}

impl RegistryPool {
    pub fn new(options: RegistryOptions, stats: Arc<Stats>) -> Self {
        RegistryPool {
            options,
            stats,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, host: &str) -> Result<Arc<Registry>> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = clients.get(host) {
            return Ok(c.clone());
        }
        let client = Arc::new(Registry::new(host, &self.options, self.stats.clone())?);
        clients.insert(host.to_string(), client.clone());
        Ok(client)
    }
}

/// Where images are read from.
pub enum Source {
    Registries(Arc<RegistryPool>),
    Bundle(Arc<BundleReader>),
}

/// One image to copy.
#[derive(Debug, Clone)]
pub struct ImageCopy {
    /// Shown in messages and used as the bundle's ref name: the full source reference.
    pub name: String,
    /// For a registry source: host, repository and tag or digest to read.
    pub source_host: String,
    pub source_repository: String,
    pub source_reference: String,
    /// Where it goes (a registry target): repository and tag (digest only when `None`).
    pub target_repository: String,
    pub target_tag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub concurrency: usize,
    pub chunk_size: u64,
    /// Keep only this platform's manifest of a multi-architecture index (`os/arch[/variant]`).
    pub platform: Option<String>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            concurrency: 6,
            chunk_size: 16 << 20,
            platform: None,
        }
    }
}

/// An image's manifests, children first; the last one is what the name points at.
#[derive(Debug, Clone)]
pub struct Tree {
    pub manifests: Vec<Manifest>,
    /// Repository blobs are read from (registry sources).
    source_host: String,
    source_repository: String,
}

impl Tree {
    pub fn top(&self) -> Option<&Manifest> {
        self.manifests.last()
    }
}

/// The outcome for each image, in input order, and the counters.
#[derive(Debug)]
pub struct CopyReport {
    pub images: Vec<(String, Result<Digest>)>,
}

impl CopyReport {
    pub fn failures(&self) -> Vec<(&str, &OciError)> {
        self.images
            .iter()
            .filter_map(|(n, r)| r.as_ref().err().map(|e| (n.as_str(), e)))
            .collect()
    }
}

async fn fetch(
    source: &Source,
    image: &ImageCopy,
    reference: &str,
    media_type: Option<&str>,
) -> Result<Manifest> {
    match source {
        Source::Registries(pool) => {
            pool.get(&image.source_host)?
                .get_manifest(&image.source_repository, reference)
                .await
        }
        Source::Bundle(bundle) => bundle.manifest(&Digest::parse(reference)?, media_type),
    }
}

/// Fetches an image's manifest tree, selecting one platform of an index when asked.
pub async fn resolve(source: &Source, image: &ImageCopy, platform: Option<&str>) -> Result<Tree> {
    let top = fetch(source, image, &image.source_reference, None).await?;
    let mut manifests = Vec::new();
    let mut pending = vec![(top, true)];
    // Depth-first; children are pushed before their parent by reversing at the end.
    let mut ordered = Vec::new();
    while let Some((manifest, is_top)) = pending.pop() {
        if let ManifestKind::Index {
            manifests: children,
        } = &manifest.kind
        {
            if let (Some(wanted), true) = (platform, is_top) {
                let chosen = children
                    .iter()
                    .find(|c| c.platform.as_ref().is_some_and(|p| p.matches(wanted)));
                let Some(chosen) = chosen else {
                    let have: Vec<String> = children
                        .iter()
                        .filter_map(|c| c.platform.as_ref().map(|p| p.label()))
                        .collect();
                    return Err(OciError::Manifest {
                        what: image.name.clone(),
                        message: format!(
                            "no manifest for platform {wanted}; the index has {}",
                            have.join(", ")
                        ),
                    });
                };
                let child =
                    fetch(source, image, &chosen.digest, chosen.media_type.as_deref()).await?;
                pending.push((child, false));
                continue;
            }
            for child in children {
                let m = fetch(source, image, &child.digest, child.media_type.as_deref()).await?;
                child
                    .digest()?
                    .verify(&m.digest, format!("{} child manifest", image.name))?;
                pending.push((m, false));
            }
        }
        ordered.push(manifest);
    }
    ordered.reverse();
    // Drop repeated children, keeping the first (deepest) position.
    let mut seen = BTreeSet::new();
    for m in ordered {
        if seen.insert(m.digest.clone()) {
            manifests.push(m);
        }
    }
    Ok(Tree {
        manifests,
        source_host: image.source_host.clone(),
        source_repository: image.source_repository.clone(),
    })
}

fn origin(source: &Source, tree: &Tree, digest: &Digest) -> Result<(BlobOrigin, Option<u64>)> {
    match source {
        Source::Registries(pool) => Ok((
            BlobOrigin::Registry {
                registry: pool.get(&tree.source_host)?,
                repository: tree.source_repository.clone(),
            },
            None,
        )),
        Source::Bundle(bundle) => {
            let (origin, size) = bundle.blob(digest)?;
            Ok((origin, Some(size)))
        }
    }
}

async fn resolve_all(
    source: &Source,
    images: &[ImageCopy],
    options: &CopyOptions,
) -> Vec<Result<Tree>> {
    stream::iter(images.iter())
        .map(|image| resolve(source, image, options.platform.as_deref()))
        .buffered(options.concurrency.max(1))
        .collect()
        .await
}

struct BlobNeed {
    size: u64,
    origin: Result<BlobOrigin, String>,
    /// Target repositories that need it, in first-seen order.
    repositories: Vec<String>,
}

/// Copies images into a target registry.
pub async fn mirror(
    source: &Source,
    target: &Arc<Registry>,
    images: &[ImageCopy],
    options: &CopyOptions,
    progress: &Arc<dyn Progress>,
) -> CopyReport {
    let trees = resolve_all(source, images, options).await;
    let mut needs: BTreeMap<Digest, BlobNeed> = BTreeMap::new();
    let mut order: Vec<Digest> = Vec::new();
    for (image, tree) in images.iter().zip(&trees) {
        let Ok(tree) = tree else { continue };
        for manifest in &tree.manifests {
            for descriptor in manifest.blobs() {
                let Ok(digest) = descriptor.digest() else {
                    continue;
                };
                let need = needs.entry(digest.clone()).or_insert_with(|| {
                    order.push(digest.clone());
                    let origin = origin(source, tree, &digest);
                    BlobNeed {
                        size: descriptor.size,
                        origin: origin.map(|(o, _)| o).map_err(|e| e.chain()),
                        repositories: Vec::new(),
                    }
                });
                if !need.repositories.contains(&image.target_repository) {
                    need.repositories.push(image.target_repository.clone());
                }
            }
        }
    }
    progress.total(needs.values().map(|n| n.size).sum());
    let failed_blobs: Mutex<BTreeMap<Digest, String>> = Mutex::new(BTreeMap::new());
    let jobs = order.iter().filter_map(|d| needs.get(d).map(|n| (d, n)));
    stream::iter(jobs)
        .for_each_concurrent(options.concurrency.max(1), |(digest, need)| {
            let failed_blobs = &failed_blobs;
            async move {
                if let Err(e) = push_everywhere(target, digest, need, options, progress).await {
                    failed_blobs
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(digest.clone(), e.chain());
                }
            }
        })
        .await;
    let failed_blobs = failed_blobs
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let results: Vec<Result<Digest>> = stream::iter(images.iter().zip(trees))
        .map(|(image, tree)| {
            let failed_blobs = &failed_blobs;
            async move {
                let tree = tree?;
                let missing: Vec<String> = tree
                    .manifests
                    .iter()
                    .flat_map(|m| m.blobs())
                    .filter_map(|d| {
                        failed_blobs
                            .get(&d.digest().ok()?)
                            .map(|e| format!("{}: {e}", d.digest))
                    })
                    .collect();
                if !missing.is_empty() {
                    return Err(OciError::Manifest {
                        what: image.name.clone(),
                        message: format!("not pushed, blobs failed: {}", missing.join("; ")),
                    });
                }
                push_manifests(target, image, &tree, progress).await
            }
        })
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    CopyReport {
        images: images.iter().map(|i| i.name.clone()).zip(results).collect(),
    }
}

async fn push_everywhere(
    target: &Registry,
    digest: &Digest,
    need: &BlobNeed,
    options: &CopyOptions,
    progress: &Arc<dyn Progress>,
) -> Result<()> {
    let origin = need.origin.clone().map_err(|message| OciError::Manifest {
        what: format!("blob {digest}"),
        message,
    })?;
    let mut holder: Option<&str> = None;
    for repository in &need.repositories {
        let outcome = BlobPush {
            target,
            repository,
            digest,
            size: need.size,
            origin: origin.clone(),
            mount_from: holder,
            chunk_size: options.chunk_size,
            progress,
        }
        .run()
        .await?;
        if outcome != BlobOutcome::Sent && holder.is_none() {
            // Already there: its bytes count as done for the progress total (once).
            progress.bytes(need.size);
        }
        progress.item(&format!(
            "blob {digest} {} {repository}",
            match outcome {
                BlobOutcome::Skipped => "already in",
                BlobOutcome::Mounted => "mounted into",
                BlobOutcome::Sent => "sent to",
            }
        ));
        holder = Some(repository);
    }
    Ok(())
}

async fn push_manifests(
    target: &Registry,
    image: &ImageCopy,
    tree: &Tree,
    progress: &Arc<dyn Progress>,
) -> Result<Digest> {
    let top = tree.top().ok_or_else(|| OciError::Manifest {
        what: image.name.clone(),
        message: "no manifest".into(),
    })?;
    let count = tree.manifests.len();
    for (i, manifest) in tree.manifests.iter().enumerate() {
        let reference = match (&image.target_tag, i + 1 == count) {
            (Some(tag), true) => tag.clone(),
            _ => manifest.digest.to_string(),
        };
        if target
            .head_manifest(&image.target_repository, &reference)
            .await?
            == Some(manifest.digest.clone())
        {
            target.stats.add_manifest_skipped(1);
            continue;
        }
        target
            .put_manifest(&image.target_repository, &reference, manifest)
            .await?;
        target.stats.add_manifest_pushed(1);
        progress.item(&format!(
            "manifest {}:{reference} pushed",
            image.target_repository
        ));
    }
    Ok(top.digest.clone())
}

/// Writes a bundle of `images` read from registries; returns each image's digest and the
/// bundle size. `lockfile_json` is called with the digests to produce the lockfile stored in
/// the bundle. On any failure nothing is left at `dest`.
pub async fn bundle(
    pool: &Arc<RegistryPool>,
    images: &[ImageCopy],
    options: &CopyOptions,
    dest: &Path,
    extra_files: &[(String, Vec<u8>)],
    lockfile_json: impl FnOnce(&[(String, Digest)]) -> String,
    progress: &Arc<dyn Progress>,
) -> Result<(Vec<(String, Digest)>, u64)> {
    let source = Source::Registries(pool.clone());
    let trees = resolve_all(&source, images, options).await;
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for (image, tree) in images.iter().zip(trees) {
        match tree {
            Ok(t) => resolved.push((image, t)),
            Err(e) => problems.push(format!("{}: {}", image.name, e.chain())),
        }
    }
    if !problems.is_empty() {
        return Err(OciError::Manifest {
            what: "bundle".into(),
            message: problems.join("\n  "),
        });
    }
    let total: u64 = {
        let mut seen = BTreeSet::new();
        resolved
            .iter()
            .flat_map(|(_, t)| t.manifests.iter().flat_map(|m| m.blobs()))
            .filter(|d| seen.insert(d.digest.clone()))
            .map(|d| d.size)
            .sum()
    };
    progress.total(total);
    let mut writer = BundleWriter::create(dest)?;
    let mut digests = Vec::new();
    for (image, tree) in &resolved {
        for manifest in &tree.manifests {
            for descriptor in manifest.blobs() {
                let digest = descriptor.digest()?;
                if writer.has_blob(&digest) {
                    continue;
                }
                let (origin, _) = origin(&source, tree, &digest)?;
                writer
                    .add_blob(origin, &digest, descriptor.size, progress.as_ref())
                    .await?;
                progress.item(&format!("blob {digest} ({} bytes)", descriptor.size));
            }
            writer.add_manifest(manifest)?;
        }
        let top = tree.top().ok_or_else(|| OciError::Manifest {
            what: image.name.clone(),
            message: "no manifest".into(),
        })?;
        writer.add_ref(BundleRef {
            name: image.name.clone(),
            media_type: top.media_type.clone(),
            digest: top.digest.clone(),
            size: top.bytes.len() as u64,
        });
        digests.push((image.name.clone(), top.digest.clone()));
    }
    for (name, bytes) in extra_files {
        writer.add_file(name, bytes)?;
    }
    let size = writer.finish(&lockfile_json(&digests))?;
    Ok((digests, size))
}
