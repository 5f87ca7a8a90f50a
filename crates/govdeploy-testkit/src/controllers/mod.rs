//! Simulated controllers, run by the server on a timer: workloads create pods, pods progress
//! through their configured behaviour, statuses follow; namespaces terminate, owners' deletions
//! cascade to dependents.

mod pods;
mod workloads;

use crate::config::Behaviour;
use crate::state::{ObjKey, State};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

pub use pods::{LogRequest, pod_logs};

/// What the simulation remembers beside the objects.
#[derive(Debug, Default)]
pub struct SimState {
    pub pods: BTreeMap<ObjKey, PodSim>,
    /// Pod template hash last rolled out, per workload.
    pub templates: BTreeMap<ObjKey, String>,
    /// Simulated time the current rollout of a workload began.
    pub rollout_started: BTreeMap<ObjKey, f64>,
    /// Condition (status, reason, lastTransitionTime) last written, per object and type.
    pub transitions: BTreeMap<(ObjKey, String), (String, String, String)>,
    pub next_pod_ip: u32,
    pub next_node: u32,
}

impl SimState {
    pub fn forget(&mut self, key: &ObjKey) {
        self.pods.remove(key);
        self.templates.remove(key);
        self.rollout_started.remove(key);
    }
}

/// A simulated pod: its behaviour, fixed when the pod is first seen.
#[derive(Debug, Clone)]
pub struct PodSim {
    pub created_sim: f64,
    pub created_wall: SystemTime,
    pub behaviour: Behaviour,
    /// Only containers whose image contains this misbehave (None: all of them).
    pub image_filter: Option<String>,
    pub logs: Vec<String>,
    pub run_to_completion: bool,
    pub ip: String,
    /// Events already emitted (by a key naming the occurrence).
    pub emitted: BTreeSet<String>,
}

/// One controller pass, as steps: the server takes the store lock once per step, so requests
/// interleave with a pass instead of waiting for all of it.
pub const STEPS: &[fn(&mut State)] = &[
    finalize_deletions,
    collect_garbage,
    workloads::deployments,
    workloads::replicasets,
    workloads::statefulsets,
    workloads::daemonsets,
    workloads::jobs,
    workloads::pvcs,
    pods::pods,
    workloads::deployment_status,
];

/// Namespaces being deleted lose their objects, then go; objects whose finalizers are all
/// removed go.
fn finalize_deletions(state: &mut State) {
    let terminating: Vec<String> = state
        .list("", "namespaces", None)
        .filter(|(_, ns)| ns["metadata"]["deletionTimestamp"].is_string())
        .map(|(k, _)| k.name.clone())
        .collect();
    for ns in terminating {
        let inside: Vec<ObjKey> = state
            .objects
            .keys()
            .filter(|k| k.namespace == ns)
            .cloned()
            .collect();
        for k in inside {
            state.remove(&k);
        }
        state.remove(&ObjKey::core("namespaces", "", &ns));
    }
    let released: Vec<ObjKey> = state
        .objects
        .iter()
        .filter(|(k, o)| {
            k.plural != "namespaces"
                && o["metadata"]["deletionTimestamp"].is_string()
                && o["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in released {
        state.remove(&k);
    }
}

/// Background cascading deletion: an object all of whose owners are gone is deleted.
fn collect_garbage(state: &mut State) {
    let uids: BTreeSet<String> = state
        .objects
        .values()
        .filter_map(|o| o["metadata"]["uid"].as_str().map(str::to_string))
        .collect();
    let orphans: Vec<ObjKey> = state
        .objects
        .iter()
        .filter(|(_, o)| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| {
                    !refs.is_empty()
                        && refs
                            .iter()
                            .all(|r| r["uid"].as_str().is_none_or(|u| !uids.contains(u)))
                })
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in orphans {
        state.remove(&k);
    }
}

/// Keeps a condition's lastTransitionTime stable while its status stays the same.
pub(crate) fn condition(
    state: &mut State,
    key: &ObjKey,
    ctype: &str,
    status: &str,
    reason: &str,
    message: &str,
    with_update_time: bool,
) -> Value {
    let slot = (key.clone(), ctype.to_string());
    let now = state.now_string();
    let time = match state.sim.transitions.get(&slot) {
        Some((s, r, t)) if s == status && (r == reason || !with_update_time) => t.clone(),
        Some((s, _, t)) if s == status => t.clone(),
        _ => now,
    };
    let update_time = match state.sim.transitions.get(&slot) {
        Some((s, r, _)) if s == status && r == reason => time.clone(),
        _ => state.now_string(),
    };
    state
        .sim
        .transitions
        .insert(slot, (status.to_string(), reason.to_string(), time.clone()));
    let mut c = json!({"type": ctype, "status": status, "lastTransitionTime": time});
    if !reason.is_empty() {
        c["reason"] = json!(reason);
    }
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    if with_update_time {
        c["lastUpdateTime"] = json!(update_time);
    }
    c
}

/// The owner reference a controller puts on what it creates.
pub(crate) fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

pub(crate) fn owned_by(obj: &Value, uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

pub(crate) fn is_pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}
