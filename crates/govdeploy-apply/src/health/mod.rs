//! Health of live objects, per kind, as three states: still in progress, ready, or failed
//! with a reason (DESIGN.md §4). Everything here is a pure function of the live JSON, so each
//! rule is unit-tested on real-looking statuses. `observedGeneration` is honoured everywhere a
//! controller reports it: a status written for an older spec says nothing about the new one.

mod pods;

pub use pods::{PodProblem, pod_problems, reason_family};

use serde::Serialize;
use serde_json::Value;

/// Tri-state health of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Health {
    /// Not ready yet; the message says what it waits for.
    InProgress {
        message: String,
    },
    Ready,
    /// Broken. `terminal` failures (a Job's Failed condition, a Deployment past its progress
    /// deadline) cannot recover by waiting and fail at once; the others must persist for the
    /// grace period first.
    Failed {
        reason: String,
        message: String,
        terminal: bool,
    },
}

impl Health {
    pub fn in_progress(message: impl Into<String>) -> Health {
        Health::InProgress {
            message: message.into(),
        }
    }

    fn terminal(reason: impl Into<String>, message: impl Into<String>) -> Health {
        Health::Failed {
            reason: reason.into(),
            message: message.into(),
            terminal: true,
        }
    }

    fn transient(reason: impl Into<String>, message: impl Into<String>) -> Health {
        Health::Failed {
            reason: reason.into(),
            message: message.into(),
            terminal: false,
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self, Health::Ready)
    }
}

/// Kinds that are ready as soon as the API server accepted them: they have no controller
/// status to wait for (or, like an HPA, one that must not block a deploy).
const READY_WHEN_ACCEPTED: &[&str] = &[
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "NetworkPolicy",
    "LimitRange",
    "ResourceQuota",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "CronJob",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "PriorityClass",
    "Endpoints",
    "EndpointSlice",
    "IngressClass",
    "Lease",
];

/// Whether the kind is ready as soon as it is accepted (no status polling needed).
pub fn ready_when_accepted(kind: &str) -> bool {
    READY_WHEN_ACCEPTED.contains(&kind) || matches!(kind, "Service" | "Ingress")
}

/// What the caller knows beyond the object itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// The PVC's StorageClass binds volumes only when a pod uses them.
    pub wait_for_first_consumer: bool,
}

/// Health of one live object.
pub fn evaluate(kind: &str, live: &Value, context: Context) -> Health {
    if let Some(waiting) = unobserved_generation(kind, live) {
        return waiting;
    }
    match kind {
        "Deployment" => deployment(live),
        "StatefulSet" => stateful_set(live),
        "DaemonSet" => daemon_set(live),
        "Job" => job(live),
        "Pod" => pod(live),
        "PersistentVolumeClaim" => pvc(live, context),
        "CustomResourceDefinition" => crd(live),
        "Namespace" => namespace(live),
        // Load-balancer addresses and ingress controllers' status are not waited for: a
        // deploy must not hang on a cloud provider.
        "Service" | "Ingress" => Health::Ready,
        k if READY_WHEN_ACCEPTED.contains(&k) => Health::Ready,
        _ => generic(live),
    }
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_i64()
}

fn text<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// `status.conditions[type == name]`.
pub(crate) fn condition<'v>(live: &'v Value, name: &str) -> Option<&'v Value> {
    live.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(name))
}

fn condition_is<'v>(live: &'v Value, name: &str, status: &str) -> Option<&'v Value> {
    condition(live, name).filter(|c| c.get("status").and_then(Value::as_str) == Some(status))
}

fn reason_and_message(c: &Value) -> (String, String) {
    (
        c.get("reason")
            .and_then(Value::as_str)
            .unwrap_or("Unknown")
            .to_string(),
        c.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

fn unobserved_generation(kind: &str, live: &Value) -> Option<Health> {
    let generation = int(live, &["metadata", "generation"])?;
    let waiting = match int(live, &["status", "observedGeneration"]) {
        Some(observed) => observed < generation,
        // Built-in workload controllers always write it (missing: not observed yet); kinds
        // without such a controller (ConfigMaps, most custom resources) never do.
        None => matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet"),
    };
    waiting.then(|| {
        Health::in_progress(format!(
            "waiting for the controller to observe generation {generation}"
        ))
    })
}

fn desired_replicas(live: &Value) -> i64 {
    int(live, &["spec", "replicas"]).unwrap_or(1)
}

fn deployment(live: &Value) -> Health {
    if let Some(c) = condition_is(live, "Progressing", "False") {
        let (reason, message) = reason_and_message(c);
        if reason == "ProgressDeadlineExceeded" {
            return Health::terminal(reason, message);
        }
    }
    if let Some(c) = condition_is(live, "ReplicaFailure", "True") {
        let (reason, message) = reason_and_message(c);
        return Health::transient(reason, message);
    }
    let desired = desired_replicas(live);
    let updated = int(live, &["status", "updatedReplicas"]).unwrap_or(0);
    let available = int(live, &["status", "availableReplicas"]).unwrap_or(0);
    let total = int(live, &["status", "replicas"]).unwrap_or(0);
    if updated < desired {
        return Health::in_progress(format!("{updated}/{desired} replicas updated"));
    }
    if total > updated {
        return Health::in_progress(format!(
            "{} old replica(s) pending termination",
            total - updated
        ));
    }
    if available < desired {
        return Health::in_progress(format!("{available}/{desired} replicas available"));
    }
    Health::Ready
}

fn stateful_set(live: &Value) -> Health {
    let desired = desired_replicas(live);
    let ready = int(live, &["status", "readyReplicas"]).unwrap_or(0);
    let on_delete = text(live, &["spec", "updateStrategy", "type"]) == Some("OnDelete");
    if !on_delete {
        let partition = int(
            live,
            &["spec", "updateStrategy", "rollingUpdate", "partition"],
        )
        .unwrap_or(0);
        let updated = int(live, &["status", "updatedReplicas"]).unwrap_or(0);
        if updated < desired - partition {
            return Health::in_progress(format!(
                "{updated}/{} replicas updated",
                desired - partition
            ));
        }
        let current = text(live, &["status", "currentRevision"]);
        let update = text(live, &["status", "updateRevision"]);
        if partition == 0 && update.is_some() && current != update {
            return Health::in_progress("waiting for the rolling update to finish");
        }
    }
    if ready < desired {
        return Health::in_progress(format!("{ready}/{desired} replicas ready"));
    }
    Health::Ready
}

fn daemon_set(live: &Value) -> Health {
    let desired = int(live, &["status", "desiredNumberScheduled"]).unwrap_or(0);
    let updated = int(live, &["status", "updatedNumberScheduled"]).unwrap_or(0);
    let available = int(live, &["status", "numberAvailable"]).unwrap_or(0);
    if updated < desired {
        return Health::in_progress(format!("{updated}/{desired} pods updated"));
    }
    if available < desired {
        return Health::in_progress(format!("{available}/{desired} pods available"));
    }
    Health::Ready
}

fn job(live: &Value) -> Health {
    if condition_is(live, "Complete", "True").is_some() {
        return Health::Ready;
    }
    if let Some(c) = condition_is(live, "Failed", "True") {
        let (reason, message) = reason_and_message(c);
        return Health::terminal(reason, message);
    }
    let active = int(live, &["status", "active"]).unwrap_or(0);
    let failed = int(live, &["status", "failed"]).unwrap_or(0);
    // A failed attempt of a migration rarely succeeds on retry (the database is healthy
    // before it starts): it fails the node once it has persisted for the grace period.
    if failed > 0 {
        return Health::transient(
            "JobAttemptFailed",
            format!("{failed} failed attempt(s), {active} active"),
        );
    }
    Health::in_progress(format!("{active} active, not complete yet"))
}

fn pod(live: &Value) -> Health {
    match text(live, &["status", "phase"]) {
        Some("Succeeded") => Health::Ready,
        Some("Failed") => Health::terminal(
            text(live, &["status", "reason"]).unwrap_or("Failed"),
            text(live, &["status", "message"]).unwrap_or("the pod failed"),
        ),
        phase => {
            if let Some(problem) = pod_problems(live).into_iter().next() {
                return Health::transient(problem.reason.clone(), problem.describe());
            }
            if condition_is(live, "Ready", "True").is_some() {
                Health::Ready
            } else {
                Health::in_progress(format!("pod {} and not ready", phase.unwrap_or("Pending")))
            }
        }
    }
}

fn pvc(live: &Value, context: Context) -> Health {
    match text(live, &["status", "phase"]) {
        Some("Bound") => Health::Ready,
        Some("Lost") => Health::terminal("ClaimLost", "the bound volume no longer exists"),
        // The volume is created when the first pod using it is scheduled: proceeding is the
        // only way it can ever bind.
        _ if context.wait_for_first_consumer => Health::Ready,
        phase => Health::in_progress(format!(
            "claim {} (waiting for a volume)",
            phase.unwrap_or("Pending")
        )),
    }
}

fn crd(live: &Value) -> Health {
    if let Some(c) = condition_is(live, "NamesAccepted", "False") {
        let (reason, message) = reason_and_message(c);
        return Health::terminal(reason, message);
    }
    if condition_is(live, "Established", "True").is_some() {
        Health::Ready
    } else {
        Health::in_progress("waiting for the definition to be Established")
    }
}

fn namespace(live: &Value) -> Health {
    match text(live, &["status", "phase"]) {
        Some("Terminating") => Health::terminal(
            "NamespaceTerminating",
            "the namespace is being deleted; wait for it to go, then apply again",
        ),
        // A namespace is usable as soon as it exists; the phase is filled in just after.
        _ => Health::Ready,
    }
}

/// The kstatus-style rule for custom resources: `Stalled` means failed, `Reconciling` means
/// in progress, `Ready` decides when present, and no conditions at all means nothing to wait
/// for.
fn generic(live: &Value) -> Health {
    if let Some(c) = condition_is(live, "Stalled", "True") {
        let (reason, message) = reason_and_message(c);
        return Health::transient(reason, message);
    }
    if let Some(c) = condition_is(live, "Reconciling", "True") {
        let (_, message) = reason_and_message(c);
        return Health::in_progress(format!("reconciling {message}").trim().to_string());
    }
    match condition(live, "Ready").and_then(|c| c.get("status")?.as_str()) {
        Some("True") | None => Health::Ready,
        Some(_) => {
            let (reason, message) = condition(live, "Ready")
                .map(reason_and_message)
                .unwrap_or_default();
            Health::in_progress(format!("Ready is not True ({reason}: {message})"))
        }
    }
}

#[cfg(test)]
mod tests;
