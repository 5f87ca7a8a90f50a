//! Watching written nodes become healthy: every collection a waiting object lives in (and the
//! pods of namespaces with workloads in progress, and the storage classes when PVCs wait) is
//! watched once (`cluster::Watches`); each change, and a periodic tick for the grace period
//! and the timeouts, evaluates every waiting node from those caches.

use std::collections::BTreeSet;

use serde_json::Value;
use tokio::time::Instant;

use super::{NodeOutcome, NodeState, Run, humantime};
use crate::cluster::{Resource, collection_path};
use crate::events::EventKind;
use crate::graph::{Node, NodeId};
use crate::health::{self, Health};
use crate::report::{self, selected};

const STORAGE_CLASSES: &str = "/apis/storage.k8s.io/v1/storageclasses";

fn pods_path(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/pods")
}

/// Whether a watched object predates the one our write returned: another object of the same
/// name (recreated), or an older spec. resourceVersions are opaque and not compared.
fn older_than(watched: &Value, applied: Option<&Value>) -> bool {
    let Some(applied) = applied else {
        return false;
    };
    let uid = |o: &Value| {
        o.pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let generation = |o: &Value| o.pointer("/metadata/generation").and_then(Value::as_i64);
    if uid(applied).is_some() && uid(watched) != uid(applied) {
        return true;
    }
    matches!((generation(watched), generation(applied)), (Some(w), Some(a)) if w < a)
}

/// Kinds whose pods are inspected for fail-fast reasons.
const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "Job"];

#[derive(Debug, Clone, Default)]
pub(super) struct TrackedObject {
    pub resource: Option<Resource>,
    pub live: Option<Value>,
    pub ready: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Tracked {
    pub state: NodeState,
    pub started_at: Option<f64>,
    pub applied_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub waiting_since: Option<Instant>,
    pub last_change: Instant,
    pub wait_message: String,
    /// First time the current failure was seen, with its reason and message.
    pub failing: Option<(Instant, String, String)>,
    pub written: usize,
    pub unchanged: usize,
    pub message: Option<String>,
    pub objects: Vec<TrackedObject>,
}

impl Tracked {
    pub fn new(node: &Node) -> Tracked {
        Tracked {
            state: NodeState::Pending,
            started_at: None,
            applied_at: None,
            finished_at: None,
            waiting_since: None,
            last_change: Instant::now(),
            wait_message: String::new(),
            failing: None,
            written: 0,
            unchanged: 0,
            message: None,
            objects: vec![TrackedObject::default(); node.objects.len()],
        }
    }

    pub fn outcome(&self, node: &Node) -> NodeOutcome {
        NodeOutcome {
            name: node.name.clone(),
            component: node.component.clone(),
            state: self.state,
            started: self.started_at,
            applied: self.applied_at,
            finished: self.finished_at,
            written: self.written,
            unchanged: self.unchanged,
            message: self.message.clone(),
        }
    }
}

/// Labels that select a workload's pods, from the rendered object.
fn pod_selector(body: &Value) -> serde_json::Map<String, Value> {
    body.pointer("/spec/selector/matchLabels")
        .or_else(|| body.pointer("/spec/template/metadata/labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Binding mode lookup for PVCs: `WaitForFirstConsumer` classes by name, and whether the
/// default class is one.
#[derive(Debug, Default)]
struct StorageClasses {
    wait_for_consumer: BTreeSet<String>,
    default_waits: bool,
}

impl StorageClasses {
    fn from_list(items: &[Value]) -> StorageClasses {
        let mut out = StorageClasses::default();
        for sc in items {
            let waits =
                sc.get("volumeBindingMode").and_then(Value::as_str) == Some("WaitForFirstConsumer");
            let name = sc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let default = sc
                .pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                .and_then(Value::as_str)
                == Some("true");
            if waits {
                out.wait_for_consumer.insert(name.to_string());
                out.default_waits |= default;
            }
        }
        out
    }

    fn waits(&self, pvc: &Value) -> bool {
        match pvc
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str)
        {
            Some(name) => self.wait_for_consumer.contains(name),
            None => self.default_waits,
        }
    }
}

impl Run<'_> {
    /// After a write: objects that need no status are ready; a node with nothing else to wait
    /// for is healthy at once.
    pub(super) fn evaluate_without_fetch(&mut self, id: NodeId) {
        let graph = self.graph.clone();
        let node = &graph.nodes[id];
        for (i, object) in node.objects.iter().enumerate() {
            let t = &mut self.tracked[id].objects[i];
            if health::ready_when_accepted(&object.kind) {
                t.ready = true;
            } else if let Some(live) = &t.live
                && health::evaluate(&object.kind, live, health::Context::default()).is_ready()
            {
                t.ready = true;
            }
        }
        if self.tracked[id].objects.iter().all(|o| o.ready) {
            self.mark_ready(id);
        }
    }

    fn mark_ready(&mut self, id: NodeId) {
        let seconds = self.tracked[id]
            .started_at
            .map(|s| self.elapsed() - s)
            .unwrap_or(0.0);
        let t = &mut self.tracked[id];
        t.state = NodeState::Ready;
        t.failing = None;
        t.finished_at = Some(self.started.elapsed().as_secs_f64());
        self.emit(EventKind::NodeReady {
            node: self.name(id),
            seconds: (seconds * 1000.0).round() / 1000.0,
        });
    }

    /// Re-evaluates every waiting node from the watched collections (no requests: the
    /// watches keep them current), first making sure every collection a waiting object, its
    /// pods or its storage class lives in is watched.
    pub(super) async fn poll(&mut self) {
        let graph = self.graph.clone();
        let waiting: Vec<NodeId> = (0..self.tracked.len())
            .filter(|&i| self.tracked[i].state == NodeState::Waiting)
            .collect();
        if waiting.is_empty() {
            return;
        }
        let mut pod_namespaces: BTreeSet<String> = BTreeSet::new();
        let mut needs_storage_classes = false;
        for &id in &waiting {
            for (i, object) in graph.nodes[id].objects.iter().enumerate() {
                let t = &self.tracked[id].objects[i];
                if t.ready {
                    continue;
                }
                if let Some(resource) = &t.resource {
                    self.watches
                        .ensure(&collection_path(resource, object.namespace.as_deref()));
                }
                if WORKLOADS.contains(&object.kind.as_str())
                    && let Some(ns) = &object.namespace
                {
                    pod_namespaces.insert(ns.clone());
                }
                needs_storage_classes |= object.kind == "PersistentVolumeClaim";
            }
        }
        for ns in &pod_namespaces {
            let path = pods_path(ns);
            self.watches.ensure(&path);
            if let Some(pods) = self.watches.items(&path) {
                self.pods.insert(ns.clone(), pods);
            }
        }
        let mut storage = None;
        if needs_storage_classes {
            self.watches.ensure(STORAGE_CLASSES);
            storage = self
                .watches
                .items(STORAGE_CLASSES)
                .map(|classes| StorageClasses::from_list(&classes));
        }
        for id in waiting {
            if self.tracked[id].state != NodeState::Waiting {
                continue;
            }
            self.evaluate_node(id, storage.as_ref()).await;
        }
    }

    /// `storage` is `None` until the storage classes are known (a PVC waits for them).
    async fn evaluate_node(&mut self, id: NodeId, storage: Option<&StorageClasses>) {
        let graph = self.graph.clone();
        let node = &graph.nodes[id];
        let now = Instant::now();
        let mut terminal: Option<(String, String)> = None;
        let mut transient: Option<(String, String)> = None;
        let mut waiting_on: Vec<String> = Vec::new();
        let mut unsynced = false;
        for (i, object) in node.objects.iter().enumerate() {
            if self.tracked[id].objects[i].ready {
                continue;
            }
            let Some(resource) = self.tracked[id].objects[i].resource.clone() else {
                continue;
            };
            if WORKLOADS.contains(&object.kind.as_str())
                && let Some(ns) = &object.namespace
                && !self.pods.contains_key(ns)
            {
                // A workload is judged with its pods (fail-fast reasons, the report).
                unsynced = true;
                continue;
            }
            let path = collection_path(&resource, object.namespace.as_deref());
            let applied = self.tracked[id].objects[i].live.as_ref();
            let live = match self.watches.item(
                &path,
                object.namespace.as_deref().filter(|_| resource.namespaced),
                &object.name,
            ) {
                // The first list is on its way.
                None => {
                    unsynced = true;
                    continue;
                }
                Some(Some(live)) if !older_than(&live, applied) => live,
                // Not yet seen by the watch, or what it saw predates our write.
                Some(_) => {
                    unsynced = true;
                    continue;
                }
            };
            let is_claim = object.kind == "PersistentVolumeClaim";
            if is_claim && storage.is_none() {
                unsynced = true;
                continue;
            }
            let context = health::Context {
                wait_for_first_consumer: is_claim && storage.is_some_and(|s| s.waits(&live)),
            };
            let health = health::evaluate(&object.kind, &live, context);
            let entry = &mut self.tracked[id].objects[i];
            entry.live = Some(live);
            match health {
                Health::Ready => {
                    entry.ready = true;
                    continue;
                }
                Health::Failed {
                    reason,
                    message,
                    terminal: true,
                } => {
                    terminal.get_or_insert((
                        reason,
                        format!("{}/{}: {message}", object.kind, object.name),
                    ));
                }
                Health::Failed {
                    reason, message, ..
                } => {
                    transient.get_or_insert((
                        reason,
                        format!("{}/{}: {message}", object.kind, object.name),
                    ));
                }
                Health::InProgress { message } => {
                    waiting_on.push(format!("{}/{}: {message}", object.kind, object.name));
                }
            }
            if WORKLOADS.contains(&object.kind.as_str())
                && let Some(ns) = &object.namespace
                && let Some(pods) = self.pods.get(ns)
            {
                let selector = pod_selector(&object.body);
                for pod in selected(pods, &selector) {
                    if let Some(problem) = health::pod_problems(pod).into_iter().next() {
                        transient.get_or_insert((problem.reason.clone(), problem.describe()));
                        break;
                    }
                }
            }
        }
        if unsynced && terminal.is_none() {
            // Judged once the watch caught up with our write; only the clocks run meanwhile.
            self.check_timeouts(id, now).await;
            return;
        }
        if let Some((reason, message)) = terminal {
            // A progress deadline says only that it took too long; the pods say why.
            let (reason, message) = match &transient {
                Some((pod_reason, pod_message)) if reason == "ProgressDeadlineExceeded" => (
                    pod_reason.clone(),
                    format!("{pod_message} ({reason}: {message})"),
                ),
                _ => (reason, message),
            };
            self.fail_with_report(id, reason, message).await;
            return;
        }
        if self.tracked[id].objects.iter().all(|o| o.ready) {
            self.mark_ready(id);
            return;
        }
        if let Some((reason, message)) = transient {
            let since = match &self.tracked[id].failing {
                Some((since, r, _))
                    if health::reason_family(r) == health::reason_family(&reason) =>
                {
                    *since
                }
                _ => {
                    self.tracked[id].failing = Some((now, reason.clone(), message.clone()));
                    self.emit(EventKind::NodeFailing {
                        node: node.name.clone(),
                        reason: reason.clone(),
                        message: message.clone(),
                    });
                    now
                }
            };
            if now.duration_since(since) >= self.options.grace {
                let message = format!(
                    "{message} (persisted for {})",
                    humantime(self.options.grace)
                );
                self.fail_with_report(id, reason, message).await;
                return;
            }
        } else {
            self.tracked[id].failing = None;
        }
        let message = waiting_on.join("; ");
        if message != self.tracked[id].wait_message {
            self.tracked[id].wait_message = message.clone();
            self.tracked[id].last_change = now;
            self.emit(EventKind::NodeWaiting {
                node: node.name.clone(),
                message,
            });
        }
        self.check_timeouts(id, now).await;
    }

    /// The node's own timeout and the no-progress timeout.
    async fn check_timeouts(&mut self, id: NodeId, now: Instant) {
        if let (Some(limit), Some(since)) = (
            self.options.component_timeout,
            self.tracked[id].waiting_since,
        ) && now.duration_since(since) >= limit
        {
            let message = format!(
                "not healthy within {}: {}",
                humantime(limit),
                self.tracked[id].wait_message
            );
            self.fail_with_report(id, "Timeout".into(), message).await;
            return;
        }
        if let Some(limit) = self.options.progress_timeout
            && now.duration_since(self.tracked[id].last_change) >= limit
        {
            let message = format!(
                "no progress for {}: {}",
                humantime(limit),
                self.tracked[id].wait_message
            );
            self.fail_with_report(id, "NoProgress".into(), message)
                .await;
        }
    }

    /// Fails a node after gathering its report (conditions, pods, events, logs).
    pub(super) async fn fail_with_report(&mut self, id: NodeId, reason: String, message: String) {
        let graph = self.graph.clone();
        let node = &graph.nodes[id];
        let mut live = Vec::new();
        let mut pods = Vec::new();
        let mut namespace = None;
        for (i, object) in node.objects.iter().enumerate() {
            let t = &self.tracked[id].objects[i];
            if t.ready || !WORKLOADS.contains(&object.kind.as_str()) {
                continue;
            }
            if let Some(l) = &t.live {
                // List items carry no kind on a real API server; reports name objects by it.
                let mut l = l.clone();
                l["kind"] = Value::String(object.kind.clone());
                live.push(l);
            }
            if let Some(ns) = &object.namespace {
                namespace.get_or_insert(ns.clone());
                if let Some(all) = self.pods.get(ns) {
                    let selector = pod_selector(&object.body);
                    pods.extend(selected(all, &selector).into_iter().cloned());
                }
            }
        }
        let report = report::collect(
            &self.cluster,
            &node.name,
            &reason,
            &message,
            namespace.as_deref(),
            &live,
            &pods,
        )
        .await;
        self.fail(id, reason, message, report);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn storage_classes_know_binding_modes_and_the_default() {
        let classes = StorageClasses::from_list(&[
            json!({"metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                   "volumeBindingMode": "WaitForFirstConsumer"}),
            json!({"metadata": {"name": "fast"}, "volumeBindingMode": "Immediate"}),
        ]);
        assert!(classes.waits(&json!({"spec": {}})));
        assert!(classes.waits(&json!({"spec": {"storageClassName": "local-path"}})));
        assert!(!classes.waits(&json!({"spec": {"storageClassName": "fast"}})));
    }

    #[test]
    fn pods_are_selected_by_match_labels_or_the_template() {
        let deployment = json!({"spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "x"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "x", "extra": "y"}}}}});
        assert_eq!(pod_selector(&deployment).len(), 1);
        let job = json!({"spec": {"template": {"metadata": {"labels": {"job": "m"}}}}});
        assert_eq!(pod_selector(&job).len(), 1);
    }
}
