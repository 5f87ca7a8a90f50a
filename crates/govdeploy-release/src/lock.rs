//! The environment lock: one `coordination.k8s.io/v1` Lease per environment.
//!
//! The holder renews `renewTime` from a background task while its run is alive, so a killed
//! run frees the lock by expiry instead of leaving it stuck. A lease counts as expired when
//! its `renewTime + leaseDurationSeconds` is in the past by our clock, or, whatever the
//! clocks say, when we have watched it stay unchanged (same resourceVersion) for a whole
//! lease duration, the rule client-go's leader election uses against clock skew. Every
//! change is a replace with the read resourceVersion, so two runs racing for an expired
//! lease cannot both win.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{ReleaseError, status_of};

pub fn lease_name(environment: &str) -> String {
    format!("govdeploy-lock.{environment}")
}

/// How a run takes the lock.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// `user@host/pid`: who the operator sees in `Locked` errors.
    pub holder: String,
    pub duration: Duration,
    /// How often the holder renews (a third of the duration by default).
    pub renew_every: Duration,
    /// How long to wait for a lease someone else holds before giving up (0: fail at once).
    pub wait: Duration,
    /// How often a waiting run looks at the lease again.
    pub poll: Duration,
}

impl LockOptions {
    pub fn new(holder: &str, duration: Duration) -> LockOptions {
        LockOptions {
            holder: holder.to_string(),
            duration,
            renew_every: duration / 3,
            wait: Duration::ZERO,
            poll: Duration::from_millis(500).min(duration / 4),
        }
    }

    pub fn wait(mut self, wait: Duration) -> LockOptions {
        self.wait = wait;
        self
    }
}

/// The lease as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    pub holder: Option<String>,
    pub duration_seconds: i64,
    /// Milliseconds since the epoch.
    pub renewed_ms: Option<i64>,
    pub transitions: i32,
}

impl LeaseInfo {
    fn of(lease: &Lease) -> LeaseInfo {
        let spec = lease.spec.clone().unwrap_or_default();
        LeaseInfo {
            holder: spec.holder_identity.filter(|h| !h.is_empty()),
            duration_seconds: i64::from(spec.lease_duration_seconds.unwrap_or(0)),
            renewed_ms: spec
                .renew_time
                .or(spec.acquire_time)
                .map(|t| t.0.as_millisecond()),
            transitions: spec.lease_transitions.unwrap_or(0),
        }
    }

    /// By our clock.
    fn expired_at(&self, now_ms: i64) -> bool {
        match self.renewed_ms {
            Some(renewed) => renewed + self.duration_seconds * 1000 < now_ms,
            None => true,
        }
    }
}

/// The lock of one environment, its Lease in one namespace.
#[derive(Clone)]
pub struct EnvLock {
    leases: Api<Lease>,
    environment: String,
}

/// How the lock was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Fresh,
    /// From a holder whose lease had expired.
    TakenOver {
        from: String,
    },
    /// The lease already named us (a restart with the same identity).
    AlreadyOurs,
}

impl EnvLock {
    pub fn new(client: kube::Client, namespace: &str, environment: &str) -> EnvLock {
        EnvLock {
            leases: Api::namespaced(client, namespace),
            environment: environment.to_string(),
        }
    }

    fn name(&self) -> String {
        lease_name(&self.environment)
    }

    fn api_error(&self, what: &str, e: kube::Error) -> ReleaseError {
        ReleaseError::api(format!("{what} the lock Lease {}", self.name()), e)
    }

    /// The lease, if any.
    pub async fn current(&self) -> Result<Option<LeaseInfo>, ReleaseError> {
        let lease = self
            .leases
            .get_opt(&self.name())
            .await
            .map_err(|e| self.api_error("reading", e))?;
        Ok(lease.as_ref().map(LeaseInfo::of))
    }

    /// Takes the lock, waiting up to `options.wait` for a live holder's lease to expire, and
    /// starts renewing it.
    pub async fn acquire(
        &self,
        options: &LockOptions,
    ) -> Result<(LockGuard, Acquired), ReleaseError> {
        let deadline = Instant::now() + options.wait;
        // resourceVersion and when we first saw it: unchanged for a whole duration = expired.
        let mut observed: Option<(String, Instant)> = None;
        loop {
            let now = Timestamp::now();
            let current = self
                .leases
                .get_opt(&self.name())
                .await
                .map_err(|e| self.api_error("reading", e))?;
            let attempt = match current {
                None => self
                    .create(options, now)
                    .await
                    .map(|l| (l, Acquired::Fresh)),
                Some(lease) => {
                    let info = LeaseInfo::of(&lease);
                    let rv = lease.metadata.resource_version.clone().unwrap_or_default();
                    let seen_since = match &observed {
                        Some((seen_rv, since)) if *seen_rv == rv => *since,
                        _ => {
                            observed = Some((rv.clone(), Instant::now()));
                            Instant::now()
                        }
                    };
                    let stale = Instant::now().duration_since(seen_since)
                        >= Duration::from_secs(info.duration_seconds.max(0) as u64);
                    let how = match &info.holder {
                        None => Some(Acquired::Fresh),
                        Some(h) if *h == options.holder => Some(Acquired::AlreadyOurs),
                        Some(h) if info.expired_at(now.as_millisecond()) || stale => {
                            Some(Acquired::TakenOver { from: h.clone() })
                        }
                        Some(_) => None,
                    };
                    match how {
                        Some(how) => {
                            let changed_holder = how != Acquired::AlreadyOurs;
                            self.take(lease, options, now, changed_holder)
                                .await
                                .map(|l| (l, how))
                        }
                        None => {
                            if Instant::now() >= deadline {
                                let now_ms = now.as_millisecond();
                                let renewed = info.renewed_ms.unwrap_or(now_ms);
                                return Err(ReleaseError::Locked {
                                    env: self.environment.clone(),
                                    holder: info.holder.unwrap_or_default(),
                                    renewed_seconds_ago: (now_ms - renewed) / 1000,
                                    expires_in_seconds: (renewed + info.duration_seconds * 1000
                                        - now_ms)
                                        .max(0)
                                        / 1000,
                                });
                            }
                            tokio::time::sleep(options.poll).await;
                            continue;
                        }
                    }
                }
            };
            match attempt {
                Ok((_, how)) => return Ok((self.start_renewing(options), how)),
                // Someone else wrote the lease between our read and write: look again.
                Err(e) if status_of(&e) == Some(409) => continue,
                Err(e) => return Err(self.api_error("writing", e)),
            }
        }
    }

    async fn create(&self, options: &LockOptions, now: Timestamp) -> Result<Lease, kube::Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(options.holder.clone()),
                lease_duration_seconds: Some(duration_seconds(options.duration)),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        self.leases.create(&PostParams::default(), &lease).await
    }

    async fn take(
        &self,
        mut lease: Lease,
        options: &LockOptions,
        now: Timestamp,
        changed_holder: bool,
    ) -> Result<Lease, kube::Error> {
        let mut spec = lease.spec.take().unwrap_or_default();
        if changed_holder {
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.acquire_time = Some(MicroTime(now));
        }
        spec.holder_identity = Some(options.holder.clone());
        spec.lease_duration_seconds = Some(duration_seconds(options.duration));
        spec.renew_time = Some(MicroTime(now));
        lease.spec = Some(spec);
        lease.metadata.managed_fields = None;
        self.leases
            .replace(&self.name(), &PostParams::default(), &lease)
            .await
    }

    fn start_renewing(&self, options: &LockOptions) -> LockGuard {
        let (lost_tx, lost) = watch::channel(None);
        let renewer = Renewer {
            lock: self.clone(),
            holder: options.holder.clone(),
            every: options.renew_every.max(Duration::from_millis(10)),
            duration: options.duration,
        };
        let task = tokio::spawn(renewer.run(lost_tx));
        LockGuard {
            lock: self.clone(),
            holder: options.holder.clone(),
            task: Some(task),
            lost,
        }
    }

    /// Deletes the lease whoever holds it (`govdeploy unlock`): returns what it was. A run
    /// still alive finds out at its next renewal and stops.
    pub async fn force_unlock(&self) -> Result<Option<LeaseInfo>, ReleaseError> {
        let before = self.current().await?;
        match self
            .leases
            .delete(&self.name(), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(before),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.api_error("deleting", e)),
        }
    }
}

fn duration_seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

struct Renewer {
    lock: EnvLock,
    holder: String,
    every: Duration,
    duration: Duration,
}

impl Renewer {
    async fn run(self, lost: watch::Sender<Option<String>>) {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(self.every).await;
            match self.renew().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    let holder = self
                        .lock
                        .current()
                        .await
                        .ok()
                        .flatten()
                        .and_then(|i| i.holder)
                        .unwrap_or_else(|| "nobody (the lock was removed)".to_string());
                    let _ = lost.send(Some(holder));
                    return;
                }
                Err(_) if last_renewed.elapsed() >= self.duration => {
                    let _ = lost.send(Some(
                        "unknown (renewals failed for a whole lease duration)".to_string(),
                    ));
                    return;
                }
                // A transient failure: the next tick tries again, well within the duration.
                Err(_) => {}
            }
        }
    }

    /// `Ok(false)`: the lease is no longer ours.
    async fn renew(&self) -> Result<bool, kube::Error> {
        let current = match self.lock.leases.get_opt(&self.lock.name()).await? {
            Some(l) => l,
            None => return Ok(false),
        };
        let holder = current
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone());
        if holder.as_deref() != Some(self.holder.as_str()) {
            return Ok(false);
        }
        let mut next = current;
        if let Some(spec) = next.spec.as_mut() {
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        next.metadata.managed_fields = None;
        match self
            .lock
            .leases
            .replace(&self.lock.name(), &PostParams::default(), &next)
            .await
        {
            Ok(_) => Ok(true),
            // Written between our read and write: the next tick reads it again.
            Err(e) if status_of(&e) == Some(409) => Ok(true),
            Err(e) => Err(e),
        }
    }
}

/// A held lock. [`LockGuard::release`] at the end of the run; dropping it stops the renewals
/// without releasing, which is what a killed process does (the lease then expires).
pub struct LockGuard {
    lock: EnvLock,
    holder: String,
    task: Option<JoinHandle<()>>,
    lost: watch::Receiver<Option<String>>,
}

impl LockGuard {
    /// Who took the lock from this run, if it was lost (the run must stop writing).
    pub fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    pub fn check(&self) -> Result<(), ReleaseError> {
        match self.lost() {
            Some(holder) => Err(ReleaseError::LockLost {
                env: self.lock.environment.clone(),
                holder,
            }),
            None => Ok(()),
        }
    }

    /// Stops renewing and frees the lease if it is still ours (the holder is cleared, so the
    /// next run takes it at once).
    pub async fn release(mut self) -> Result<(), ReleaseError> {
        self.stop();
        let Some(mut lease) = self
            .lock
            .leases
            .get_opt(&self.lock.name())
            .await
            .map_err(|e| self.lock.api_error("reading", e))?
        else {
            return Ok(());
        };
        let ours = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.holder.as_str());
        if !ours {
            return Ok(());
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        lease.metadata.managed_fields = None;
        self.lock
            .leases
            .replace(&self.lock.name(), &PostParams::default(), &lease)
            .await
            .map_err(|e| self.lock.api_error("releasing", e))?;
        Ok(())
    }

    /// Stops renewing without releasing: the lease will expire (a killed run, in tests).
    pub fn abandon(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_by_our_clock() {
        let info = LeaseInfo {
            holder: Some("a".into()),
            duration_seconds: 10,
            renewed_ms: Some(1_000_000),
            transitions: 0,
        };
        assert!(!info.expired_at(1_005_000));
        assert!(!info.expired_at(1_010_000));
        assert!(info.expired_at(1_010_001));
        let never = LeaseInfo {
            renewed_ms: None,
            ..info
        };
        assert!(never.expired_at(0));
    }
}
