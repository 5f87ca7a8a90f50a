//! `images --lock`, `bundle` and `mirror`: the air-gap path. The environment pipeline gives
//! the image list; govdeploy-oci moves the bytes; target names follow the render-time mirror
//! rule (`<mirror>/<source-host>/<path>`), so what `mirror --to M` fills is exactly what an
//! environment with `spec.registry.mirror: M` pulls.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use govdeploy_oci::{
    BundleReader, CopyOptions, Credentials, Digest, ImageCopy, ImageReference, LockedImage,
    Lockfile, Progress, Registry, RegistryOptions, RegistryPool, Source, Stats, Summary,
};
use govdeploy_plan::images::{mirror_reference, source_reference};
use govdeploy_yaml::{Diagnostic, Diagnostics};

use crate::cli::OutputFormat;
use crate::commands::report;
use crate::{exit, pipeline};

/// Environment variables holding registry passwords (never flags: they would show in `ps`).
const FROM_PASSWORD: &str = "GOVDEPLOY_FROM_PASSWORD";
const TO_PASSWORD: &str = "GOVDEPLOY_TO_PASSWORD";

/// How to reach registries (source side).
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Trust this CA certificate (PEM) for registry TLS; repeatable.
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub ca_certs: Vec<PathBuf>,
    /// Allow plain HTTP to registries that are not loopback (`http://host` or loopback hosts
    /// use HTTP anyway; everything else is HTTPS).
    #[arg(long)]
    pub insecure: bool,
    /// User name for the source registries; the password is read from GOVDEPLOY_FROM_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub from_user: Option<String>,
    /// Blobs transferred at the same time.
    #[arg(long, default_value_t = 6)]
    pub concurrency: usize,
    /// Retries of a failed request (connection errors, 5xx, 429), with exponential backoff.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
}

#[derive(Debug, Clone, Args)]
pub struct LockArgs {
    /// Write the image lockfile (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Resolve every image to its manifest digest (contacts the source registries).
    #[arg(long)]
    pub resolve: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BundleArgs {
    /// The environment whose images, environment files and catalogue go into the bundle.
    #[arg(required_unless_present = "images", conflicts_with = "images")]
    pub env: Option<PathBuf>,
    /// Bundle the images of this lockfile instead of an environment's.
    #[arg(long, value_name = "LOCKFILE")]
    pub images: Option<PathBuf>,
    /// The bundle file (a tar), written whole or not at all.
    #[arg(short, long, value_name = "FILE.tar")]
    pub output: PathBuf,
    /// Keep only this platform of multi-architecture images (`linux/amd64`).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Bundle even though the environment fetches configuration from git at run time.
    #[arg(long)]
    pub allow_git_config: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MirrorArgs {
    /// A bundle file, a registry filled by `mirror` (with --images), or one or more
    /// `registry/repository[:tag]` to copy (all tags when none is given). Without it, images
    /// are copied from their own source registries (--images).
    #[arg(long, value_name = "FILE.tar|REGISTRY[/REPO]")]
    pub from: Vec<String>,
    /// The target registry (`host[:port][/prefix]`, `https://` or `http://` optional).
    #[arg(long, value_name = "REGISTRY")]
    pub to: String,
    /// Copy the images of this lockfile (all of a bundle's when absent).
    #[arg(long, value_name = "LOCKFILE")]
    pub images: Option<PathBuf>,
    /// Keep only this platform of multi-architecture images.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Upload chunk size in bytes (`16MiB`, `512KiB`); blobs up to it go in one request.
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    pub chunk_size: u64,
    /// User name for the target registry; the password is read from GOVDEPLOY_TO_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub to_user: Option<String>,
    /// Summary as text (stderr) or JSON (stdout).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a number with an optional KiB/MiB/GiB unit"))?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        other => return Err(format!("`{other}`: unknown unit (use KiB, MiB or GiB)")),
    };
    let size = n.saturating_mul(factor);
    if size == 0 {
        return Err("the chunk size must be above zero".into());
    }
    Ok(size)
}

fn password(var: &str, user: &Option<String>) -> anyhow::Result<Option<Credentials>> {
    let Some(user) = user else { return Ok(None) };
    let password = std::env::var(var)
        .with_context(|| format!("a user name was given; set {var} to the password"))?;
    Ok(Some(Credentials {
        username: user.clone(),
        password,
    }))
}

fn options(
    connect: &ConnectArgs,
    credentials: Option<Credentials>,
) -> anyhow::Result<RegistryOptions> {
    let mut ca_certificates = Vec::new();
    for path in &connect.ca_certs {
        ca_certificates.push(
            std::fs::read(path)
                .with_context(|| format!("reading CA certificate {}", path.display()))?,
        );
    }
    Ok(RegistryOptions {
        credentials,
        ca_certificates,
        allow_insecure: connect.insecure,
        retry: govdeploy_oci::RetryPolicy {
            attempts: connect.retries.saturating_add(1),
            ..govdeploy_oci::RetryPolicy::default()
        },
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The environment's images with their sources, or the exit code after diagnostics.
struct EnvironmentImages {
    lock: Lockfile,
    planned: pipeline::Planned,
    clones_git_config: bool,
}

fn environment_images(env: &Path) -> Result<EnvironmentImages, i32> {
    let planned = pipeline::plan_or_exit(env)?;
    report(&planned.warnings);
    let mirror = planned
        .loaded
        .env
        .spec
        .registry
        .as_ref()
        .and_then(|r| r.mirror.clone());
    let mut components: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for image in &planned.plan.images {
        components
            .entry((image.source.clone(), image.reference.clone()))
            .or_default()
            .insert(image.component.clone());
    }
    let input = govdeploy_render::RenderInput {
        plan: &planned.plan,
        catalog: &planned.catalog,
        environment: &planned.loaded.env,
        secrets: None,
        plaintext_secrets: false,
    };
    let rendered = match govdeploy_render::render(input) {
        Ok(r) => r,
        Err(diagnostics) => {
            report(&diagnostics);
            return Err(exit::INVALID_INPUT);
        }
    };
    // git-sync is what fetches configuration from a git server when pods start.
    let clones_git_config = rendered
        .extra_images
        .iter()
        .any(|i| i.contains("/git-sync/git-sync:"));
    for reference in &rendered.extra_images {
        let source = source_reference(mirror.as_deref(), reference);
        components.entry((source, reference.clone())).or_default();
    }
    let images = components
        .into_iter()
        .map(|((source, reference), components)| LockedImage {
            source: canonical(&source),
            reference,
            digest: None,
            components: components.into_iter().collect(),
        })
        .collect();
    let lock = Lockfile::new(Some(planned.plan.environment.clone()), mirror, images);
    Ok(EnvironmentImages {
        lock,
        planned,
        clones_git_config,
    })
}

/// `egovio/x:1` as `docker.io/egovio/x:1`; left as written when it does not parse (the
/// lockfile check then names it).
fn canonical(reference: &str) -> String {
    ImageReference::parse(reference).map_or_else(|_| reference.to_string(), |r| r.to_string())
}

/// `govdeploy images ENV --lock FILE [--resolve]`.
pub fn images(env: &Path, output: OutputFormat, args: &LockArgs) -> anyhow::Result<i32> {
    let mut found = match environment_images(env) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let mut unresolved = 0;
    if args.resolve {
        let stats = Arc::new(Stats::default());
        let credentials = password(FROM_PASSWORD, &args.connect.from_user)?;
        let pool = Arc::new(RegistryPool::new(
            options(&args.connect, credentials)?,
            stats,
        ));
        let results =
            runtime()?.block_on(resolve_digests(&pool, &found.lock.images, &args.connect));
        for (image, result) in found.lock.images.iter_mut().zip(results) {
            match result {
                Ok(digest) => image.digest = Some(digest.to_string()),
                Err(e) => {
                    unresolved += 1;
                    eprintln!("warning: {}: not resolved: {e:#}", image.source);
                }
            }
        }
    }
    if let Some(path) = &args.lock {
        found.lock.write(path)?;
        let resolved = found.lock.images.len() - unresolved;
        eprintln!(
            "wrote {} ({} images{})",
            path.display(),
            found.lock.images.len(),
            if args.resolve {
                format!(", {resolved} resolved to digests")
            } else {
                String::new()
            }
        );
    }
    let text = match output {
        OutputFormat::Text => {
            found
                .lock
                .images
                .iter()
                .map(|i| match &i.digest {
                    Some(d) => format!("{}@{d}", i.reference),
                    None => i.reference.clone(),
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        }
        OutputFormat::Json => found.lock.to_json(),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if unresolved > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}

async fn resolve_digests(
    pool: &Arc<RegistryPool>,
    images: &[LockedImage],
    connect: &ConnectArgs,
) -> Vec<anyhow::Result<Digest>> {
    use futures_util::StreamExt;
    futures_util::stream::iter(images)
        .map(|image| async move {
            let reference = ImageReference::parse(&image.source)?;
            let registry = pool.get(&reference.registry)?;
            let wanted = reference.manifest_reference();
            match registry
                .head_manifest(&reference.repository, &wanted)
                .await?
            {
                Some(d) => Ok(d),
                // Some registries send no digest on HEAD: fetch the manifest itself.
                None => Ok(registry
                    .get_manifest(&reference.repository, &wanted)
                    .await?
                    .digest),
            }
        })
        .buffered(connect.concurrency.max(1))
        .collect()
        .await
}

fn image_copy(
    source: &str,
    pinned: Option<&str>,
    target: Option<&str>,
) -> anyhow::Result<ImageCopy> {
    let parsed = ImageReference::parse(source)?;
    let source_reference = match pinned {
        Some(d) => d.to_string(),
        None => parsed.manifest_reference(),
    };
    let (target_repository, target_tag) = match target {
        Some(t) => {
            let t = ImageReference::parse(t)?;
            (t.repository, t.tag)
        }
        None => (String::new(), None),
    };
    Ok(ImageCopy {
        name: parsed.to_string(),
        source_host: parsed.registry,
        source_repository: parsed.repository,
        source_reference,
        target_repository,
        target_tag,
    })
}

/// `govdeploy bundle ENV|--images LOCKFILE -o FILE.tar`.
pub fn bundle(args: &BundleArgs) -> anyhow::Result<i32> {
    let (mut lock, extra_files) = match (&args.env, &args.images) {
        (Some(env), _) => {
            let found = match environment_images(env) {
                Ok(f) => f,
                Err(code) => return Ok(code),
            };
            if found.clones_git_config && !args.allow_git_config {
                let diagnostics = git_config_diagnostics(&found.planned);
                report(&diagnostics);
                return Ok(exit::INVALID_INPUT);
            }
            let files = environment_files(&found.planned)?;
            (found.lock, files)
        }
        (None, Some(path)) => (Lockfile::read(path)?, Vec::new()),
        (None, None) => bail!("give an environment file or --images LOCKFILE"),
    };
    let copies: Vec<ImageCopy> = lock
        .images
        .iter()
        .map(|i| image_copy(&i.source, i.digest.as_deref(), None))
        .collect::<anyhow::Result<_>>()?;
    let stats = Arc::new(Stats::default());
    let credentials = password(FROM_PASSWORD, &args.connect.from_user)?;
    let pool = Arc::new(RegistryPool::new(
        options(&args.connect, credentials)?,
        stats.clone(),
    ));
    let copy_options = CopyOptions {
        concurrency: args.connect.concurrency,
        platform: args.platform.clone(),
        ..CopyOptions::default()
    };
    let bars = Arc::new(Bars::new("bundle"));
    let progress: Arc<dyn Progress> = bars.clone();
    let started = Instant::now();
    let lock_for_bundle = |digests: &[(String, Digest)]| {
        let by_name: BTreeMap<&str, &Digest> =
            digests.iter().map(|(n, d)| (n.as_str(), d)).collect();
        for image in &mut lock.images {
            if let Some(d) = by_name.get(canonical(&image.source).as_str()) {
                image.digest = Some(d.to_string());
            }
        }
        lock.to_json()
    };
    let outcome = runtime()?.block_on(govdeploy_oci::copy::bundle(
        &pool,
        &copies,
        &copy_options,
        &args.output,
        &extra_files,
        lock_for_bundle,
        &progress,
    ));
    bars.finish();
    let (digests, size) =
        outcome.with_context(|| format!("bundle {} not written", args.output.display()))?;
    let reader = BundleReader::open(&args.output)?;
    let sizes = bundle_sizes(&reader)?;
    eprintln!(
        "bundled {} images into {} in {:.1}s: {} bytes ({} unique blobs, {} bytes of content; the images add up to {} bytes, {:.2}x the bundle)",
        digests.len(),
        args.output.display(),
        started.elapsed().as_secs_f64(),
        size,
        sizes.unique_blobs,
        sizes.unique_bytes,
        sizes.image_bytes_total,
        sizes.image_bytes_total as f64 / size.max(1) as f64,
    );
    Ok(exit::OK)
}

/// How much deduplication saved: the sum of every image's own size against the bundle's.
pub struct BundleSizes {
    pub unique_blobs: usize,
    pub unique_bytes: u64,
    pub image_bytes_total: u64,
}

fn bundle_sizes(reader: &BundleReader) -> anyhow::Result<BundleSizes> {
    let mut unique: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    for r in &reader.refs {
        let mut pending = vec![(r.digest.clone(), Some(r.media_type.clone()))];
        let mut seen = BTreeSet::new();
        while let Some((digest, media_type)) = pending.pop() {
            if !seen.insert(digest.clone()) {
                continue;
            }
            let manifest = reader.manifest(&digest, media_type.as_deref())?;
            total += manifest.bytes.len() as u64;
            unique.insert(digest.to_string(), manifest.bytes.len() as u64);
            match &manifest.kind {
                govdeploy_oci::manifest::ManifestKind::Index { manifests } => {
                    for m in manifests {
                        pending.push((m.digest()?, m.media_type.clone()));
                    }
                }
                govdeploy_oci::manifest::ManifestKind::Image { .. } => {
                    for blob in manifest.blobs() {
                        total += blob.size;
                        unique.insert(blob.digest.clone(), blob.size);
                    }
                }
            }
        }
    }
    Ok(BundleSizes {
        unique_blobs: unique.len(),
        unique_bytes: unique.values().sum(),
        image_bytes_total: total,
    })
}

fn git_config_diagnostics(planned: &pipeline::Planned) -> Diagnostics {
    let sources = &planned.loaded.sources;
    let mut diagnostics = Vec::new();
    for (kind, spec) in &planned.loaded.env.spec.config_sources {
        if let govdeploy_spec::model::ConfigSourceSpec::Git(_) = spec {
            let key = kind.as_str();
            diagnostics.push(
                Diagnostic::error(
                    "E-BUNDLE-GIT-CONFIG",
                    format!("config source `{key}` is fetched from git at run time, which an air gap cannot reach"),
                )
                .at(sources.locate(&["spec", "configSources", key]))
                .hint(format!(
                    "bake its files into an image and set spec.configSources.{key}.image (it is then bundled), or pass --allow-git-config when the gap has its own git server"
                )),
            );
        }
    }
    if diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::error(
                "E-BUNDLE-GIT-CONFIG",
                "a config source the environment needs is not configured and defaults to cloning from GitHub at run time".to_string(),
            )
            .at(sources.locate(&["spec"]))
            .hint("set spec.configSources.<kind>.image for every config source (see `govdeploy render` warnings), or pass --allow-git-config"),
        );
    }
    Diagnostics(diagnostics)
}

/// The files an install inside the gap needs besides images: the environment layers (and
/// DIGIT env file) and the catalogue when it is a file.
fn environment_files(planned: &pipeline::Planned) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let base = &planned.loaded.base_dir;
    for path in &planned.loaded.files {
        let name = path
            .strip_prefix(base)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(path.file_name().unwrap_or_default()));
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        files.push((format!("environment/{}", name.display()), bytes));
    }
    let catalog = &planned.loaded.env.spec.catalog;
    if !govdeploy_catalog::BUILTIN.contains(&catalog.as_str()) {
        let path = base.join(catalog);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading catalogue {}", path.display()))?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        files.push((format!("catalog/{name}"), bytes));
    }
    Ok(files)
}

/// Where `--to` points: the API root and the path prefix for repositories.
struct Target {
    root: String,
    mirror: String,
}

fn target(to: &str) -> Target {
    let (scheme, rest) = match to.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, to),
    };
    let rest = rest.trim_end_matches('/');
    let host = rest.split('/').next().unwrap_or(rest);
    Target {
        root: match scheme {
            Some(s) => format!("{s}://{host}"),
            None => host.to_string(),
        },
        mirror: rest.to_string(),
    }
}

/// `govdeploy mirror --from ... --to REGISTRY`.
pub fn mirror(args: &MirrorArgs) -> anyhow::Result<i32> {
    let to = target(&args.to);
    let source_stats = Arc::new(Stats::default());
    let target_stats = Arc::new(Stats::default());
    let to_credentials = password(TO_PASSWORD, &args.to_user)?;
    let from_credentials = password(FROM_PASSWORD, &args.connect.from_user)?;
    let target_registry = Arc::new(Registry::new(
        &to.root,
        &options(&args.connect, to_credentials)?,
        target_stats.clone(),
    )?);
    let lock = args.images.as_deref().map(Lockfile::read).transpose()?;
    let into_target = |source_name: &str| mirror_reference(&to.mirror, source_name);
    let bundle_from = args
        .from
        .iter()
        .find(|f| f.ends_with(".tar") || Path::new(f).is_file());
    let rt = runtime()?;
    let (source, copies) = if let Some(file) = bundle_from {
        if args.from.len() > 1 {
            bail!("--from takes one bundle file, or registries, not both");
        }
        let reader = BundleReader::open(Path::new(file))?;
        let wanted: Option<BTreeSet<String>> = lock
            .as_ref()
            .map(|l| l.images.iter().map(|i| canonical(&i.source)).collect());
        let mut copies = Vec::new();
        for r in &reader.refs {
            if wanted.as_ref().is_some_and(|w| !w.contains(&r.name)) {
                continue;
            }
            let mut copy = image_copy(
                &r.name,
                Some(r.digest.as_str()),
                Some(&into_target(&r.name)),
            )?;
            copy.source_host.clear();
            copies.push(copy);
        }
        if let Some(wanted) = &wanted {
            let present: BTreeSet<&String> = reader.refs.iter().map(|r| &r.name).collect();
            let missing: Vec<&String> = wanted.iter().filter(|w| !present.contains(w)).collect();
            if !missing.is_empty() {
                bail!(
                    "the bundle lacks {} image(s) of the lockfile: {}",
                    missing.len(),
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        (Source::Bundle(Arc::new(reader)), copies)
    } else {
        let pool = Arc::new(RegistryPool::new(
            options(&args.connect, from_credentials)?,
            source_stats.clone(),
        ));
        let mut copies = Vec::new();
        match (&lock, args.from.as_slice()) {
            (Some(lock), []) => {
                for i in &lock.images {
                    let name = canonical(&i.source);
                    copies.push(image_copy(
                        &name,
                        i.digest.as_deref(),
                        Some(&into_target(&name)),
                    )?);
                }
            }
            (Some(lock), [registry]) if !registry.trim_end_matches('/').contains('/') => {
                // A registry that `mirror` filled: the same layout under another root.
                for i in &lock.images {
                    let name = canonical(&i.source);
                    let mut copy = image_copy(
                        &mirror_reference(registry, &name),
                        i.digest.as_deref(),
                        Some(&into_target(&name)),
                    )?;
                    copy.name = name;
                    copies.push(copy);
                }
            }
            (None, []) => bail!("nothing to copy: give --from or --images"),
            (_, repositories) => {
                for from in repositories {
                    let parsed =
                        ImageReference::parse(from).with_context(|| format!("--from {from}"))?;
                    let tags = match (&parsed.tag, &parsed.digest) {
                        (None, None) => {
                            let registry = pool.get(&parsed.registry)?;
                            rt.block_on(registry.tags(&parsed.repository))?
                        }
                        _ => vec![parsed.manifest_reference()],
                    };
                    for tag in tags {
                        let name = if tag.starts_with("sha256:") {
                            format!("{}@{tag}", parsed.name())
                        } else {
                            format!("{}:{tag}", parsed.name())
                        };
                        copies.push(image_copy(&name, None, Some(&into_target(&name)))?);
                    }
                }
            }
        }
        (Source::Registries(pool), copies)
    };
    let copy_options = CopyOptions {
        concurrency: args.connect.concurrency,
        chunk_size: args.chunk_size,
        platform: args.platform.clone(),
    };
    let bars = Arc::new(Bars::new("mirror"));
    let progress: Arc<dyn Progress> = bars.clone();
    let started = Instant::now();
    let report = rt.block_on(govdeploy_oci::copy::mirror(
        &source,
        &target_registry,
        &copies,
        &copy_options,
        &progress,
    ));
    bars.finish();
    let elapsed = started.elapsed();
    let failures = report.failures();
    for (name, error) in &failures {
        eprintln!("error: {name}: {}", error.chain());
    }
    let summary = merged(target_stats.summary(), source_stats.summary());
    print_summary(
        args.output,
        copies.len() - failures.len(),
        failures.len(),
        &summary,
        elapsed,
    )?;
    Ok(if failures.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

fn merged(target: Summary, source: Summary) -> Summary {
    Summary {
        bytes_received: source.bytes_received + target.bytes_received,
        retries: source.retries + target.retries,
        ..target
    }
}

fn print_summary(
    output: OutputFormat,
    copied: usize,
    failed: usize,
    summary: &Summary,
    elapsed: Duration,
) -> anyhow::Result<()> {
    let seconds = elapsed.as_secs_f64();
    match output {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(summary)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("images".into(), copied.into());
                map.insert("failed".into(), failed.into());
                map.insert(
                    "seconds".into(),
                    serde_json::json!((seconds * 1000.0).round() / 1000.0),
                );
            }
            let mut text = serde_json::to_string_pretty(&value)?;
            text.push('\n');
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
        OutputFormat::Text => {
            eprintln!(
                "mirrored {copied} images ({failed} failed) in {seconds:.1}s: blobs sent {}, mounted {}, skipped {}; manifests pushed {}, skipped {}; {} bytes of blob content sent ({:.1} MiB/s), {} bytes received; retries {}, resumed uploads {}",
                summary.blobs_sent,
                summary.blobs_mounted,
                summary.blobs_skipped,
                summary.manifests_pushed,
                summary.manifests_skipped,
                summary.blob_bytes_sent,
                summary.blob_bytes_sent as f64 / (1 << 20) as f64 / seconds.max(0.001),
                summary.bytes_received,
                summary.retries,
                summary.resumed_uploads,
            );
        }
    }
    Ok(())
}

/// Progress: a byte bar with rate on a terminal, plain lines otherwise.
struct Bars {
    bar: Option<indicatif::ProgressBar>,
    verb: &'static str,
}

impl Bars {
    fn new(verb: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(verb);
            bar
        });
        Bars { bar, verb }
    }
}

impl Progress for Bars {
    fn total(&self, bytes: u64) {
        match &self.bar {
            Some(bar) => bar.set_length(bytes),
            None => eprintln!("{}: {bytes} bytes of blobs to check", self.verb),
        }
    }

    fn bytes(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    fn item(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => eprintln!("{}: {message}", self.verb),
        }
    }

    fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("note: {message}")),
            None => eprintln!("note: {message}"),
        }
    }
}

impl Bars {
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err() && parse_size("1TB").is_err());
    }

    #[test]
    fn target_keeps_prefix_and_scheme() {
        let t = target("https://reg.local:5000/mirror/");
        assert_eq!(t.root, "https://reg.local:5000");
        assert_eq!(t.mirror, "reg.local:5000/mirror");
    }
}
