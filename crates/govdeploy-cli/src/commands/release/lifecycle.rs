//! One release around one run of the apply engine: take the environment's Lease, mark a
//! revision a dead run left `running` as interrupted, write the new revision as `running`
//! before the first object is written, then the final record, the prune of what earlier
//! releases had and this one does not, and the ApplySet parent; the lock is released on every
//! exit path (a killed process frees it by expiry instead).
//!
//! Messages go to standard error, so `-o json` keeps standard output to NDJSON events.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use govdeploy_apply::{Cluster, Outcome};
use govdeploy_release::applyset::{self, ApplySet};
use govdeploy_release::lock::LockOptions;
use govdeploy_release::prune::{self, PruneSet};
use govdeploy_release::resolver::Resolver;
use govdeploy_release::{
    Acquired, Baseline, EnvLock, InputRef, InventoryItem, LockGuard, Provenance, ReleaseError,
    ReleaseRecord, ReleaseStatus, ReleaseStore,
};
use govdeploy_render::Object;
use tokio::sync::watch;

use crate::commands::apply::parse_duration;

/// Release options of `apply` (and `rollback`).
#[derive(Debug, Clone, Args)]
pub struct ReleaseFlags {
    /// Keep objects earlier releases created that this one no longer has (default: delete
    /// them after a successful run; `govdeploy diff` previews the deletions).
    #[arg(long)]
    pub no_prune: bool,
    /// Also prune PersistentVolumeClaims, Namespaces and CRDs (their deletion destroys data).
    #[arg(long)]
    pub prune_protected: bool,
    /// Revisions kept in the cluster (the last successful one is always kept as well).
    #[arg(long, default_value_t = govdeploy_release::store::DEFAULT_KEEP)]
    pub keep_revisions: usize,
    /// How long to wait for another run's lock on the environment before giving up.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub lock_wait: Duration,
    /// Lease duration: how soon a killed run's lock expires (renewed every third of it).
    #[arg(long, default_value = "60s", value_parser = parse_duration, hide = true)]
    pub lock_duration: Duration,
    /// Compressed bytes per release Secret (tests).
    #[arg(long, hide = true)]
    pub release_chunk_bytes: Option<usize>,
}

/// What a release records beyond the engine's outcome.
#[derive(Debug, Clone)]
pub struct ReleaseInput {
    /// `metadata.name` of the environment.
    pub environment: String,
    /// Where records, the Lease and the ApplySet parent live.
    pub namespace: String,
    pub catalogue_version: String,
    pub release_version: String,
    pub inputs: Vec<InputRef>,
    /// The environment as loaded (no secret values: those are in the secrets file).
    pub values: serde_json::Value,
    /// The rendered Namespace of `namespace`, applied first on a new cluster so the Lease
    /// has somewhere to live.
    pub namespace_object: Option<Object>,
    pub rollback_of: Option<u64>,
    /// A rollback re-applies no migration Job: the current ones stay in the inventory.
    pub keep_jobs: bool,
    /// Objects this run does not apply but that stay part of the release (a partial
    /// rollback's untouched components).
    pub carry: Vec<InventoryItem>,
}

/// Set once Ctrl-C was pressed.
#[derive(Clone)]
pub struct Cancel(pub watch::Receiver<bool>);

impl Cancel {
    /// Installs the Ctrl-C handler (from now on the signal no longer kills the process).
    pub fn install() -> Cancel {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(true);
            }
            // Keep the sender alive: receivers see `true`, never a closed channel.
            std::future::pending::<()>().await;
        });
        Cancel(rx)
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Runs a release-store or lock call again after a transient failure (5xx, 429, 409, a
/// dropped connection), as the apply engine does for its own requests: five retries, 100 ms
/// doubling. Every call retried here is idempotent (reads, forced applies of whole Secrets).
pub async fn retrying<T, F, Fut>(mut call: F) -> Result<T, ReleaseError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ReleaseError>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if attempt < 5 && transient(&e) => {
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            done => return done,
        }
    }
}

fn transient(e: &ReleaseError) -> bool {
    match e {
        ReleaseError::Api { source, .. } => match source {
            kube::Error::Api(status) => {
                status.code >= 500 || status.code == 429 || status.code == 409
            }
            // Connection, TLS, body read failures.
            _ => true,
        },
        _ => false,
    }
}

/// `user@host:pid`.
pub fn holder_identity() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{user}@{host}:{}", std::process::id())
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A run holding the environment's lock with its revision written as `running`.
pub struct Session {
    pub store: ReleaseStore,
    pub guard: LockGuard,
    pub record: ReleaseRecord,
    pub baseline: Baseline,
    pub applyset: ApplySet,
    pub input: ReleaseInput,
    pub flags: ReleaseFlags,
}

/// Why a session did not open; the lock is not held.
pub enum NotOpened {
    /// Printed already.
    Failed,
    Cancelled,
}

fn store_for(cluster: &Cluster, input: &ReleaseInput, flags: &ReleaseFlags) -> ReleaseStore {
    let store = ReleaseStore::new(
        cluster.kube_client().clone(),
        &input.namespace,
        &input.environment,
    )
    .keep(flags.keep_revisions);
    match flags.release_chunk_bytes {
        Some(bytes) => store.chunk_bytes(bytes),
        None => store,
    }
}

/// Creates the release namespace when the cluster does not have it yet.
async fn ensure_namespace(cluster: &Cluster, input: &ReleaseInput) -> anyhow::Result<()> {
    let path = format!("/api/v1/namespaces/{}", input.namespace);
    if cluster.get(&path).await?.is_some() {
        return Ok(());
    }
    let body = match &input.namespace_object {
        Some(o) => o.body.clone(),
        None => serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": input.namespace, "labels": {
                govdeploy_release::labels::MANAGED_BY: govdeploy_release::labels::MANAGER,
                govdeploy_release::labels::ENVIRONMENT: input.environment}}
        }),
    };
    let reply = cluster.apply(&path, &body, false).await?;
    if !reply.status.is_success() {
        anyhow::bail!(
            "cannot create namespace {} for the release records: HTTP {}",
            input.namespace,
            reply.status
        );
    }
    Ok(())
}

/// Takes the lock (waiting for a live holder up to `--lock-wait`), reports what it found.
pub async fn lock(
    cluster: &Cluster,
    input: &ReleaseInput,
    flags: &ReleaseFlags,
    cancel: &Cancel,
) -> Result<LockGuard, NotOpened> {
    let lock = EnvLock::new(
        cluster.kube_client().clone(),
        &input.namespace,
        &input.environment,
    );
    let holder = holder_identity();
    if let Ok(Some(current)) = lock.current().await
        && let Some(other) = current.holder.as_deref()
        && other != holder
    {
        eprintln!(
            "environment {} is locked by {other} (lease of {}s); waiting up to {}s for it to finish or expire",
            input.environment,
            current.duration_seconds,
            flags.lock_wait.as_secs()
        );
    }
    let options = LockOptions::new(&holder, flags.lock_duration.max(Duration::from_secs(1)))
        .wait(flags.lock_wait);
    let acquired = tokio::select! {
        acquired = retrying(|| lock.acquire(&options)) => acquired,
        () = cancel.wait() => {
            eprintln!("interrupted while waiting for the lock; nothing was changed");
            return Err(NotOpened::Cancelled);
        }
    };
    match acquired {
        Ok((guard, how)) => {
            if let Acquired::TakenOver { from } = how {
                eprintln!(
                    "took over the lock of environment {} from {from}: its lease expired without renewal (that run is gone)",
                    input.environment
                );
            }
            Ok(guard)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(NotOpened::Failed)
        }
    }
}

impl Session {
    /// Lock, mark interrupted leftovers, read the baseline, write the new revision as
    /// `running` and the ApplySet parent naming every group-kind old and new.
    pub async fn open(
        cluster: &Cluster,
        input: ReleaseInput,
        flags: &ReleaseFlags,
        objects: &[&Object],
        cancel: &Cancel,
        held: Option<LockGuard>,
    ) -> Result<Session, NotOpened> {
        if held.is_none()
            && let Err(e) = ensure_namespace(cluster, &input).await
        {
            eprintln!("error: {e:#}");
            return Err(NotOpened::Failed);
        }
        let guard = match held {
            Some(g) => g,
            None => lock(cluster, &input, flags, cancel).await?,
        };
        let store = store_for(cluster, &input, flags);
        match Self::start(cluster, store, guard, input, flags, objects).await {
            Ok(session) => Ok(session),
            Err((guard, e)) => {
                eprintln!("error: {e:#}");
                release_lock(guard).await;
                Err(NotOpened::Failed)
            }
        }
    }

    async fn start(
        cluster: &Cluster,
        store: ReleaseStore,
        guard: LockGuard,
        input: ReleaseInput,
        flags: &ReleaseFlags,
        objects: &[&Object],
    ) -> Result<Session, (LockGuard, anyhow::Error)> {
        macro_rules! or_release {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Err((guard, anyhow::Error::from(e))),
                }
            };
        }
        let marked = or_release!(retrying(|| store.mark_interrupted()).await);
        for revision in &marked {
            eprintln!(
                "release {revision} of {} was left running by a run that died; marked interrupted",
                input.environment
            );
        }
        let baseline = or_release!(retrying(|| store.baseline()).await);
        let revision = or_release!(retrying(|| store.next_revision()).await);
        let provenance = Provenance {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            by: holder_identity(),
            started_at: now_rfc3339(),
            finished_at: None,
        };
        let mut record = ReleaseRecord::starting(&input.environment, revision, provenance, objects);
        record.catalogue_version = input.catalogue_version.clone();
        record.release_version = input.release_version.clone();
        record.inputs = input.inputs.clone();
        record.values = input.values.clone();
        record.rollback_of = input.rollback_of;
        or_release!(retrying(|| store.save(&record)).await);
        let applyset = ApplySet::for_environment(&input.environment, &input.namespace);
        // Before members are written: the parent names the group-kinds of old and new members.
        let mut members = applyset::members_of_inventory(&baseline.inventory);
        members.extend(applyset::members_of_objects(objects.iter().copied()));
        or_release!(write_parent(cluster, &applyset, &input.environment, &members).await);
        Ok(Session {
            store,
            guard,
            record,
            baseline,
            applyset,
            input,
            flags: flags.clone(),
        })
    }

    /// Records the outcome, prunes after a success, saves the final record. The lock stays
    /// held (the caller may run a rollback under it); [`Session::close`] releases it.
    pub async fn finish(&mut self, cluster: &Cluster, outcome: &Outcome, cancel: &Cancel) {
        let resolver = Resolver::new(cluster.kube_client().clone());
        self.record.finish(
            outcome,
            now_rfc3339(),
            self.baseline.last_successful.as_ref(),
        );
        if let Some(holder) = self.guard.lost() {
            self.record.status = ReleaseStatus::Failed;
            self.record.message = Some(format!(
                "the lock was taken by {holder} during the run; this run's record may be incomplete"
            ));
            eprintln!("error: {}", self.record.message.clone().unwrap_or_default());
        }
        if self.input.keep_jobs {
            let kept: Vec<InventoryItem> = self
                .baseline
                .inventory
                .iter()
                .filter(|i| i.kind == "Job" && i.group == "batch")
                .filter(|i| !self.record.inventory.iter().any(|n| n.key() == i.key()))
                .cloned()
                .collect();
            self.record.inventory.extend(kept);
        }
        for item in &self.input.carry {
            if !self.record.inventory.iter().any(|n| n.key() == item.key()) {
                self.record.inventory.push(item.clone());
            }
        }
        if self.record.status == ReleaseStatus::Succeeded && !cancel.is_set() {
            if self.flags.no_prune {
                let candidates =
                    prune::candidates(&self.baseline.inventory, &self.record.inventory);
                if !candidates.is_empty() {
                    eprintln!(
                        "not pruned (--no-prune): {} object(s) earlier releases created that this one no longer has; `govdeploy diff` lists them",
                        candidates.len()
                    );
                    // Still ours: the next run without --no-prune deletes them.
                    self.record.inventory.extend(candidates.into_iter().rev());
                }
            } else {
                match self.prune(&resolver, cancel).await {
                    Ok(()) => {}
                    Err(e) => {
                        self.record.status = ReleaseStatus::Failed;
                        self.record.message = Some(format!("prune failed: {e}"));
                        eprintln!("error: prune failed: {e}");
                    }
                }
            }
        }
        let members = applyset::members_of_inventory(&self.record.inventory);
        if let Err(e) =
            write_parent(cluster, &self.applyset, &self.input.environment, &members).await
        {
            eprintln!("warning: cannot update the ApplySet parent: {e:#}");
        }
        match retrying(|| self.store.save(&self.record)).await {
            Ok(saved) => eprintln!(
                "release {} of {}: {} ({} objects; record {} KiB compressed in {} Secret(s))",
                self.record.revision,
                self.input.environment,
                self.record.status.as_str(),
                self.record.inventory.len(),
                saved.compressed_bytes.div_ceil(1024),
                saved.chunks
            ),
            Err(e) => eprintln!(
                "error: cannot write the record of release {}: {e}",
                self.record.revision
            ),
        }
        match retrying(|| self.store.prune_history()).await {
            Ok(deleted) if !deleted.is_empty() => eprintln!(
                "history: removed release(s) {} (keeping {} and the last successful one)",
                join(deleted.iter().map(u64::to_string)),
                self.flags.keep_revisions
            ),
            Ok(_) => {}
            Err(e) => eprintln!("warning: cannot trim the release history: {e}"),
        }
    }

    async fn prune(&mut self, resolver: &Resolver, cancel: &Cancel) -> anyhow::Result<()> {
        let set = retrying(|| {
            prune::prune_set(
                resolver,
                &self.baseline.inventory,
                &self.record.inventory,
                &self.input.environment,
                Some(&self.applyset.id),
                self.flags.prune_protected,
            )
        })
        .await?;
        report_prune_plan(&set);
        for item in &set.delete {
            if cancel.is_set() {
                // Not yet deleted: still ours, the next run deletes them.
                let left: Vec<InventoryItem> = set
                    .delete
                    .iter()
                    .filter(|i| !self.record.pruned.iter().any(|p| p.key() == i.key()))
                    .cloned()
                    .collect();
                eprintln!(
                    "interrupted: {} object(s) left to prune by the next run",
                    left.len()
                );
                self.record.inventory.extend(left);
                break;
            }
            let one = PruneSet {
                delete: vec![item.clone()],
                ..PruneSet::default()
            };
            let deleted = retrying(|| prune::execute(resolver, &one)).await?;
            for d in deleted {
                eprintln!("  deleted {}", d.reference());
                self.record.pruned.push(d);
            }
        }
        // Protected objects stay ours: a later `--prune-protected` run may delete them.
        self.record.inventory.extend(set.protected.iter().cloned());
        Ok(())
    }

    /// Releases the lock.
    pub async fn close(self) {
        release_lock(self.guard).await;
    }

    /// The lock, for a run that follows under it (a rollback after a failure).
    pub fn into_guard(self) -> LockGuard {
        self.guard
    }

    /// Ends a run that wrote nothing: the revision is recorded as failed with the reason,
    /// and the lock released.
    pub async fn abandon(mut self, why: &str) {
        eprintln!("error: {why}");
        self.record.status = ReleaseStatus::Failed;
        self.record.message = Some(why.to_string());
        self.record.provenance.finished_at = Some(now_rfc3339());
        // Nothing was written: the objects earlier releases left are still theirs.
        self.record.inventory = self.baseline.inventory.clone();
        if let Err(e) = retrying(|| self.store.save(&self.record)).await {
            eprintln!("error: cannot write the record: {e}");
        }
        self.close().await;
    }
}

fn report_prune_plan(set: &PruneSet) {
    if !set.delete.is_empty() {
        eprintln!(
            "pruning {} object(s) earlier releases created that this one no longer has (reverse apply order):",
            set.delete.len()
        );
    }
    for item in &set.protected {
        eprintln!(
            "  kept {} (protected kind: its deletion destroys data; pass --prune-protected to delete it)",
            item.reference()
        );
    }
    for (item, why) in &set.not_ours {
        eprintln!("  kept {}: no longer ours, {why}", item.reference());
    }
    for volume in &set.orphaned_volumes {
        eprintln!(
            "  orphaned volume {volume}: left in place with its data (delete it yourself once it is no longer needed)"
        );
    }
}

pub async fn release_lock(guard: LockGuard) {
    if let Err(e) = guard.release().await {
        eprintln!("warning: cannot release the lock (it expires by itself): {e}");
    }
}

async fn write_parent(
    cluster: &Cluster,
    set: &ApplySet,
    environment: &str,
    members: &[(String, String, Option<String>)],
) -> anyhow::Result<()> {
    let body = set.parent(environment, env!("CARGO_PKG_VERSION"), members);
    let path = format!(
        "/api/v1/namespaces/{}/configmaps/{}",
        set.namespace, set.name
    );
    // Unchanged (a re-apply of the same release): nothing to write.
    if let Some(live) = cluster.get(&path).await?
        && ["labels", "annotations"].iter().all(|field| {
            body["metadata"][field]
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| live["metadata"][field][k] == *v)
        })
        && live["metadata"]["annotations"][applyset::ADDITIONAL_NAMESPACES]
            == body["metadata"]["annotations"][applyset::ADDITIONAL_NAMESPACES]
    {
        return Ok(());
    }
    let reply = cluster
        .apply(&path, &body, true)
        .await
        .with_context(|| format!("writing the ApplySet parent ConfigMap/{}", set.name))?;
    if !reply.status.is_success() {
        anyhow::bail!(
            "writing the ApplySet parent ConfigMap/{}/{}: HTTP {}",
            set.namespace,
            set.name,
            reply.status
        );
    }
    Ok(())
}

pub fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
