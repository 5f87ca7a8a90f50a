//! The DAG executor: a node starts as soon as every node it needs is healthy, at most
//! `concurrency` nodes write at once, and waiting nodes are watched together (one list and one
//! watch per kind and namespace, not requests per object; a change wakes the executor at once,
//! polling is only the fallback for collections the server will not watch). Failures must persist for the
//! grace period unless they are terminal; a node fails on its own timeout or when nothing
//! changes for the no-progress timeout; the whole run has a global timeout. Without
//! `continue_on_error` the first failure stops the run; with it, only what depends on the
//! failure is skipped.

mod outcome;
mod watch;
pub mod write;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cluster::{Cluster, Watches};
use crate::events::{Action, Event, EventKind, NodeInfo, Observer};
use crate::graph::{Graph, NodeId};
use crate::report::FailureReport;

pub use outcome::{InventoryEntry, NodeOutcome, NodeState, Outcome};
use watch::Tracked;
use write::{Applied, Known, WriteFailure};

/// How long changes are gathered before the waiting nodes are evaluated again.
const EVALUATION_BATCH: Duration = Duration::from_millis(20);

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes writing at the same time (waiting nodes do not count).
    pub concurrency: usize,
    /// The whole run.
    pub timeout: Option<Duration>,
    /// One node, from its first write to healthy.
    pub component_timeout: Option<Duration>,
    /// One node with nothing changing in what it waits for.
    pub progress_timeout: Option<Duration>,
    /// How long a non-terminal failure must persist before it fails the node.
    pub grace: Duration,
    pub continue_on_error: bool,
    pub force_conflicts: bool,
    /// Wave mode for comparison: a node also waits for every node of lower levels.
    pub barrier_levels: bool,
    /// How often the grace period and timeouts are checked between changes, and how often a
    /// collection the server will not watch is listed.
    pub poll_interval: Duration,
    /// `metadata.name` of the environment (for events).
    pub environment: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 8,
            timeout: Some(Duration::from_secs(30 * 60)),
            component_timeout: Some(Duration::from_secs(10 * 60)),
            progress_timeout: Some(Duration::from_secs(5 * 60)),
            grace: Duration::from_secs(30),
            continue_on_error: false,
            force_conflicts: false,
            barrier_levels: false,
            poll_interval: Duration::from_secs(1),
            environment: String::new(),
        }
    }
}

/// Result of one node's writes, sent back by its task.
struct WriteDone {
    node: NodeId,
    applied: Vec<(usize, Applied)>,
    failure: Option<WriteFailure>,
}

struct Run<'o> {
    graph: Arc<Graph>,
    options: Options,
    cluster: Cluster,
    observer: &'o mut dyn Observer,
    started: Instant,
    tracked: Vec<Tracked>,
    writing: usize,
    stop: Option<String>,
    interrupted: bool,
    failures: Vec<FailureReport>,
    inventory: Vec<InventoryEntry>,
    retries_seen: u64,
    retry_reasons_seen: BTreeMap<String, u64>,
    known: Arc<Known>,
    /// Latest pods per namespace, from the watches.
    pods: BTreeMap<String, Vec<serde_json::Value>>,
    watches: Arc<Watches>,
}

/// Applies the graph and waits for health; returns what happened to every node.
pub async fn execute(
    cluster: &Cluster,
    graph: Graph,
    options: Options,
    observer: &mut dyn Observer,
    cancel: impl Future<Output = ()>,
) -> Outcome {
    let started = Instant::now();
    let objects: Vec<_> = graph.nodes.iter().flat_map(|n| n.objects.iter()).collect();
    let known = Arc::new(Known::fetch(cluster, &objects).await);
    let tracked = graph.nodes.iter().map(Tracked::new).collect();
    let watches = Arc::new(Watches::new(cluster, options.poll_interval));
    let mut run = Run {
        graph: Arc::new(graph),
        options,
        cluster: cluster.clone(),
        observer,
        started,
        tracked,
        writing: 0,
        stop: None,
        interrupted: false,
        failures: Vec::new(),
        inventory: Vec::new(),
        retries_seen: 0,
        retry_reasons_seen: BTreeMap::new(),
        known,
        pods: BTreeMap::new(),
        watches,
    };
    run.emit(EventKind::Plan {
        environment: run.options.environment.clone(),
        server: cluster.server.clone(),
        nodes: run
            .graph
            .nodes
            .iter()
            .map(|n| NodeInfo {
                name: n.name.clone(),
                needs: n
                    .needs
                    .iter()
                    .map(|&i| run.graph.nodes[i].name.clone())
                    .collect(),
                level: n.level,
                objects: n.objects.len(),
                expected_seconds: n.expected_seconds,
            })
            .collect(),
        barrier_levels: run.options.barrier_levels,
    });
    run.main_loop(cancel).await;
    run.finish()
}

impl Run<'_> {
    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn emit(&mut self, kind: EventKind) {
        let event = Event {
            elapsed: (self.elapsed() * 1000.0).round() / 1000.0,
            kind,
        };
        self.observer.event(&event);
    }

    fn name(&self, id: NodeId) -> String {
        self.graph.nodes[id].name.clone()
    }

    async fn main_loop(&mut self, cancel: impl Future<Output = ()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<WriteDone>();
        let deadline = self.options.timeout.map(|t| self.started + t);
        let mut next_tick = Instant::now() + self.options.poll_interval;
        let watches = self.watches.clone();
        tokio::pin!(cancel);
        loop {
            if self.stop.is_none() {
                self.start_ready(&tx);
            }
            if self.finished() {
                break;
            }
            tokio::select! {
                Some(done) = rx.recv() => {
                    self.written(done).await;
                    self.poll().await;
                }
                _ = watches.changed() => {
                    // Changes come in bursts (a rollout touches pods, ReplicaSets and the
                    // workload): one evaluation per burst, not one per event.
                    tokio::time::sleep(EVALUATION_BATCH).await;
                    self.poll().await;
                }
                _ = tokio::time::sleep_until(next_tick) => {
                    self.poll().await;
                    next_tick = Instant::now() + self.options.poll_interval;
                }
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending::<()>().await,
                    }
                }, if self.stop.is_none() => self.global_timeout().await,
                _ = &mut cancel, if !self.interrupted => {
                    self.interrupted = true;
                    self.stop_run("interrupted (Ctrl-C)".into());
                    self.emit(EventKind::Interrupted);
                }
            }
            self.report_retries();
        }
    }

    /// Nothing writing, and either stopped or nothing left to wait for.
    fn finished(&self) -> bool {
        if self.writing > 0 {
            return false;
        }
        if self.stop.is_some() {
            return true;
        }
        self.tracked.iter().all(|t| t.state.is_final())
    }

    fn start_ready(&mut self, tx: &mpsc::UnboundedSender<WriteDone>) {
        let graph = self.graph.clone();
        for node in &graph.nodes {
            if self.writing >= self.options.concurrency.max(1) {
                return;
            }
            if self.tracked[node.id].state != NodeState::Pending {
                continue;
            }
            if !node
                .needs
                .iter()
                .all(|&n| self.tracked[n].state == NodeState::Ready)
            {
                continue;
            }
            if self.options.barrier_levels
                && graph
                    .nodes
                    .iter()
                    .any(|o| o.level < node.level && self.tracked[o.id].state != NodeState::Ready)
            {
                continue;
            }
            self.tracked[node.id].state = NodeState::Writing;
            self.tracked[node.id].started_at = Some(self.elapsed());
            self.writing += 1;
            self.emit(EventKind::NodeStarted {
                node: node.name.clone(),
            });
            let cluster = self.cluster.clone();
            let graph = self.graph.clone();
            let known = self.known.clone();
            let tx = tx.clone();
            let force = self.options.force_conflicts;
            let id = node.id;
            tokio::spawn(async move {
                let mut applied = Vec::new();
                let mut failure = None;
                for (i, object) in graph.nodes[id].objects.iter().enumerate() {
                    match write::apply_object(&cluster, &known, object, force).await {
                        Ok(a) => applied.push((i, a)),
                        Err(f) => {
                            failure = Some(f);
                            break;
                        }
                    }
                }
                let _ = tx.send(WriteDone {
                    node: id,
                    applied,
                    failure,
                });
            });
        }
    }

    async fn written(&mut self, done: WriteDone) {
        self.writing = self.writing.saturating_sub(1);
        let graph = self.graph.clone();
        let node = &graph.nodes[done.node];
        for (i, applied) in done.applied {
            let object = &node.objects[i];
            let uid = applied
                .live
                .as_ref()
                .and_then(|l| l.pointer("/metadata/uid"))
                .and_then(|u| u.as_str())
                .map(str::to_string);
            self.inventory.push(InventoryEntry {
                group: applied.resource.group.clone(),
                version: applied.resource.version.clone(),
                kind: object.kind.clone(),
                namespace: object.namespace.clone(),
                name: object.name.clone(),
                uid,
                node: node.name.clone(),
                action: applied.action,
            });
            self.emit(EventKind::ObjectApplied {
                node: node.name.clone(),
                object: object.reference(),
                action: applied.action,
            });
            let t = &mut self.tracked[done.node];
            match applied.action {
                Action::Unchanged => t.unchanged += 1,
                _ => t.written += 1,
            }
            t.objects[i].resource = Some(applied.resource);
            t.objects[i].live = applied.live;
        }
        if let Some(failure) = done.failure {
            let message = failure.error.to_string();
            let report = FailureReport {
                node: node.name.clone(),
                reason: failure.reason.clone(),
                message: message.clone(),
                hint: crate::report::hint(&failure.reason),
                ..FailureReport::default()
            };
            self.fail(done.node, failure.reason, message, report);
            return;
        }
        if self.stop.is_some() {
            self.tracked[done.node].state = NodeState::Abandoned;
            return;
        }
        let now = Instant::now();
        let t = &mut self.tracked[done.node];
        t.state = NodeState::Waiting;
        t.applied_at = Some(self.started.elapsed().as_secs_f64());
        t.waiting_since = Some(now);
        t.last_change = now;
        // Objects without a controller status are healthy once accepted.
        self.evaluate_without_fetch(done.node);
    }

    fn fail(&mut self, id: NodeId, reason: String, message: String, report: FailureReport) {
        let t = &mut self.tracked[id];
        t.state = NodeState::Failed;
        t.message = Some(format!("{reason}: {message}"));
        t.finished_at = Some(self.started.elapsed().as_secs_f64());
        self.emit(EventKind::NodeFailed {
            node: self.name(id),
            reason,
            message,
            report: Box::new(report.clone()),
        });
        self.failures.push(report);
        let failed = self.name(id);
        if self.options.continue_on_error {
            for dependent in self.graph.dependents(id) {
                if self.tracked[dependent].state == NodeState::Pending {
                    self.skip(dependent, format!("needs {failed}, which failed"));
                }
            }
        } else if self.stop.is_none() {
            self.stop_run(format!("the run stopped after {failed} failed"));
        }
    }

    fn skip(&mut self, id: NodeId, because: String) {
        self.tracked[id].state = NodeState::Skipped;
        self.tracked[id].message = Some(because.clone());
        self.emit(EventKind::NodeSkipped {
            node: self.name(id),
            because,
        });
    }

    /// Stops starting nodes; what waits is left as it is (abandoned, not failed).
    fn stop_run(&mut self, because: String) {
        self.stop = Some(because.clone());
        for id in 0..self.tracked.len() {
            match self.tracked[id].state {
                NodeState::Pending => self.skip(id, because.clone()),
                NodeState::Waiting => {
                    self.tracked[id].state = NodeState::Abandoned;
                    self.tracked[id].message = Some(format!("not waited for: {because}"));
                }
                _ => {}
            }
        }
    }

    async fn global_timeout(&mut self) {
        let timeout = self.options.timeout.unwrap_or_default();
        let waiting: Vec<NodeId> = (0..self.tracked.len())
            .filter(|&i| self.tracked[i].state == NodeState::Waiting)
            .collect();
        for id in waiting {
            let message = format!(
                "the run's timeout ({}) passed while waiting: {}",
                humantime(timeout),
                self.tracked[id].wait_message
            );
            self.fail_with_report(id, "Timeout".into(), message).await;
        }
        if self.stop.is_none() {
            self.stop_run(format!("the run's timeout ({}) passed", humantime(timeout)));
        }
    }

    fn report_retries(&mut self) {
        let stats = self.cluster.stats();
        if stats.retries > self.retries_seen {
            let reason = stats
                .retry_reasons
                .iter()
                .filter(|(k, v)| self.retry_reasons_seen.get(*k).copied().unwrap_or(0) < **v)
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>()
                .join(", ");
            self.retries_seen = stats.retries;
            self.retry_reasons_seen = stats.retry_reasons;
            self.emit(EventKind::Retry {
                reason,
                total: stats.retries,
            });
        }
    }

    fn finish(mut self) -> Outcome {
        self.report_retries();
        let stats = self.cluster.stats();
        let nodes: Vec<NodeOutcome> = self
            .graph
            .nodes
            .iter()
            .map(|n| self.tracked[n.id].outcome(n))
            .collect();
        let count = |s: NodeState| nodes.iter().filter(|n| n.state == s).count();
        let ok = self.stop.is_none() && nodes.iter().all(|n| n.state == NodeState::Ready);
        let written = nodes.iter().map(|n| n.written).sum();
        let unchanged = nodes.iter().map(|n| n.unchanged).sum();
        let seconds = self.elapsed();
        self.emit(EventKind::Finished {
            ok,
            ready: count(NodeState::Ready),
            failed: count(NodeState::Failed),
            skipped: count(NodeState::Skipped),
            written,
            unchanged,
            requests: stats.requests,
            retries: stats.retries,
            seconds,
        });
        Outcome {
            ok,
            interrupted: self.interrupted,
            stopped: self.stop.clone(),
            nodes,
            inventory: self.inventory,
            failures: self.failures,
            stats,
            objects: self.graph.nodes.iter().map(|n| n.objects.len()).sum(),
            seconds,
        }
    }
}

/// `90s`, `2m30s`, `1.5s`.
pub fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 && secs < 60 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}
