//! The object store: objects as JSON by group/resource/namespace/name, one resourceVersion
//! counter, and the event history that watches resume from.

use crate::config::SimConfig;
use crate::controllers::SimState;
use crate::resources::{self, ResourceType};
use crate::stats::Stats;
use crate::status::ApiError;
use crate::util::{self, Rng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::watch;

/// Where an object is stored (the version is not part of it, as in etcd).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(rt: &ResourceType, namespace: &str, name: &str) -> Self {
        ObjKey {
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            namespace: if rt.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }

    pub fn core(plural: &str, namespace: &str, name: &str) -> Self {
        ObjKey {
            group: String::new(),
            plural: plural.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn apps(plural: &str, namespace: &str, name: &str) -> Self {
        ObjKey {
            group: "apps".into(),
            plural: plural.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct WatchRecord {
    pub rv: u64,
    pub key: ObjKey,
    pub event: EventType,
    pub object: Arc<Value>,
}

pub struct State {
    pub config: SimConfig,
    pub registry: Vec<ResourceType>,
    pub objects: BTreeMap<ObjKey, Value>,
    pub rv: u64,
    pub history: VecDeque<WatchRecord>,
    /// The newest resourceVersion dropped from the history (watches from older ones get 410).
    pub compacted_rv: u64,
    pub rng: Rng,
    pub fault_rng: Rng,
    pub stats: Stats,
    pub sim: SimState,
    pub started: Instant,
    pub notify: watch::Sender<u64>,
    pub next_cluster_ip: u32,
}

impl State {
    pub fn new(config: SimConfig, notify: watch::Sender<u64>) -> Self {
        let seed = config.seed;
        let mut state = State {
            config,
            registry: resources::builtin(),
            objects: BTreeMap::new(),
            rv: 1000,
            history: VecDeque::new(),
            compacted_rv: 0,
            rng: Rng::new(seed),
            fault_rng: Rng::new(seed ^ 0x5eed_fa17),
            stats: Stats::default(),
            sim: SimState::default(),
            started: Instant::now(),
            notify,
            next_cluster_ip: 10,
        };
        state.bootstrap();
        state
    }

    /// What a fresh cluster holds: system namespaces, nodes, storage classes.
    fn bootstrap(&mut self) {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = self.create_as_system(obj);
        }
        for i in 0..self.config.nodes {
            let name = format!("sim-node-{i}");
            let obj = json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                    "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
                "status": {
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                    "nodeInfo": {"kubeletVersion": "v1.33.0", "architecture": "amd64", "operatingSystem": "linux"}
                }
            });
            let _ = self.create_as_system(obj);
        }
        for (name, mode, default) in [
            ("standard", "Immediate", true),
            ("local-wait", "WaitForFirstConsumer", false),
        ] {
            let mut obj = json!({
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": name},
                "provisioner": "sim.govdeploy.io/hostpath", "reclaimPolicy": "Delete", "volumeBindingMode": mode
            });
            if default {
                obj["metadata"]["annotations"] =
                    json!({"storageclass.kubernetes.io/is-default-class": "true"});
            }
            let _ = self.create_as_system(obj);
        }
    }

    pub fn now_string(&self) -> String {
        util::rfc3339(SystemTime::now())
    }

    /// Simulated seconds since the server started.
    pub fn sim_now(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.config.time_scale
    }

    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.registry
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    pub fn resource_for(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.registry
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    pub fn resource_by_group_kind(&self, group: &str, kind: &str) -> Option<ResourceType> {
        self.registry
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .cloned()
    }

    /// Stores `obj` under `key` with a new resourceVersion and records the watch event.
    pub fn put(&mut self, key: ObjKey, mut obj: Value) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let event = if self.objects.contains_key(&key) {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.objects.insert(key.clone(), obj.clone());
        self.record(key, event, obj.clone());
        obj
    }

    pub fn remove(&mut self, key: &ObjKey) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(key.clone(), EventType::Deleted, obj.clone());
        self.sim.forget(key);
        Some(obj)
    }

    fn record(&mut self, key: ObjKey, event: EventType, object: Value) {
        self.history.push_back(WatchRecord {
            rv: self.rv,
            key,
            event,
            object: Arc::new(object),
        });
        while self.history.len() > self.config.watch_history {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
        self.notify.send_replace(self.rv);
    }

    pub fn get(&self, key: &ObjKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one resource, optionally in one namespace.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        plural: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Value)> + 'a {
        // Keys sort by group, resource, namespace, name: one range covers the selection.
        let start = ObjKey {
            group: group.to_string(),
            plural: plural.to_string(),
            namespace: namespace.unwrap_or_default().to_string(),
            name: String::new(),
        };
        self.objects.range(start..).take_while(move |(k, _)| {
            k.group == group && k.plural == plural && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }

    pub fn fresh_uid(&mut self) -> String {
        self.rng.uuid()
    }

    /// Creates an object as a system component (bootstrap and controllers): full admission,
    /// no field manager, not counted as a client write.
    pub fn create_as_system(&mut self, mut obj: Value) -> Result<Value, ApiError> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let rt = self
            .resource_for(&api_version, &kind)
            .ok_or_else(|| ApiError::not_found("resource", &format!("{api_version}/{kind}")))?;
        crate::admission::admit(self, &rt, None, &mut obj, false)?;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = ObjKey::new(&rt, &ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&rt.qualified_plural(), &name));
        }
        Ok(self.put(key, obj))
    }

    /// Writes `obj` if it differs from what is stored (controllers' status and spec updates).
    pub fn update_if_changed(&mut self, key: &ObjKey, obj: Value) -> bool {
        match self.objects.get(key) {
            Some(current) if *current == obj => false,
            Some(_) => {
                self.put(key.clone(), obj);
                true
            }
            None => false,
        }
    }

    /// Re-reads CRDs into the registry (after a CRD write or delete).
    pub fn refresh_registry(&mut self) {
        let mut reg = resources::builtin();
        for (_, crd) in self.list("apiextensions.k8s.io", "customresourcedefinitions", None) {
            reg.extend(resources::from_crd(crd));
        }
        self.registry = reg;
    }

    /// Records an Event about `involved` unless the same one (reason and message) exists.
    pub fn record_event_once(
        &mut self,
        involved: &Value,
        event_type: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let ns = involved["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let uid = involved["metadata"]["uid"].as_str().unwrap_or_default();
        let exists = self.list("", "events", Some(ns)).any(|(_, e)| {
            e["involvedObject"]["uid"] == uid && e["reason"] == reason && e["message"] == message
        });
        if !exists {
            self.record_event(involved, event_type, reason, message, component);
        }
    }

    /// Records an Event about `involved` (deduplicated by reason and message: count grows).
    pub fn record_event(
        &mut self,
        involved: &Value,
        event_type: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let ns = involved["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let name = involved["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let uid = involved["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let now = self.now_string();
        let existing = self
            .list("", "events", Some(&ns))
            .find(|(_, e)| {
                e["involvedObject"]["uid"] == uid.as_str()
                    && e["reason"] == reason
                    && e["message"] == message
            })
            .map(|(k, e)| (k.clone(), e.clone()));
        if let Some((key, mut ev)) = existing {
            let count = ev["count"].as_u64().unwrap_or(1) + 1;
            ev["count"] = json!(count);
            ev["lastTimestamp"] = json!(now);
            self.put(key, ev);
            return;
        }
        let suffix = format!("{:016x}", self.rng.next_u64());
        let ev = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{name}.{suffix}"), "namespace": ns},
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": name,
                "namespace": ns,
                "uid": uid,
                "resourceVersion": involved["metadata"]["resourceVersion"],
            },
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": "",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        let _ = self.create_as_system(ev);
    }
}
