//! Counters the server keeps so tests can assert on traffic, writes, faults and rollouts.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

/// Names one object: `ObjectRef::new("apps/v1", "Deployment", Some("ns"), "web")`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The reference of a stored object.
    pub fn of(obj: &Value) -> Self {
        ObjectRef {
            api_version: obj["apiVersion"].as_str().unwrap_or_default().to_string(),
            kind: obj["kind"].as_str().unwrap_or_default().to_string(),
            namespace: obj["metadata"]["namespace"].as_str().map(str::to_string),
            name: obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    pub fn group(&self) -> &str {
        self.api_version
            .split_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
    }

    /// The counter key: `Deployment.apps ns/web`, `ConfigMap ns/c`, `Namespace ns`.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.group() {
            "" => write!(f, "{}", self.kind)?,
            g => write!(f, "{}.{}", self.kind, g)?,
        }
        match &self.namespace {
            Some(ns) => write!(f, " {ns}/{}", self.name),
            None => write!(f, " {}", self.name),
        }
    }
}

/// Traffic and activity counters (a snapshot; see `SimHandle::stats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Requests per `"<verb> <resource>"`, e.g. `"apply deployments.apps"`, `"list pods"`,
    /// `"watch events"`, `"get discovery"`. Verbs: get list watch create update patch apply
    /// delete deletecollection.
    pub requests: BTreeMap<String, u64>,
    /// Client writes that changed an object (no-op applies and dry runs are not counted), per
    /// object key (`ObjectRef::key`).
    pub writes: BTreeMap<String, u64>,
    /// Injected faults per kind (`FaultKind::label`).
    pub faults: BTreeMap<String, u64>,
    /// New pod templates rolled out per workload (Deployment, StatefulSet, DaemonSet),
    /// counting the first one: an object applied once and never changed has 1.
    pub rollouts: BTreeMap<String, u64>,
    /// Dry-run writes answered.
    pub dry_runs: u64,
}

impl Stats {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests with this verb (all resources).
    pub fn requests_with_verb(&self, verb: &str) -> u64 {
        self.requests
            .iter()
            .filter(|(k, _)| k.split(' ').next() == Some(verb))
            .map(|(_, v)| v)
            .sum()
    }

    pub fn total_writes(&self) -> u64 {
        self.writes.values().sum()
    }

    pub fn writes_to(&self, obj: &ObjectRef) -> u64 {
        self.writes.get(&obj.key()).copied().unwrap_or(0)
    }

    pub fn rollouts_of(&self, obj: &ObjectRef) -> u64 {
        self.rollouts.get(&obj.key()).copied().unwrap_or(0)
    }

    pub fn total_faults(&self) -> u64 {
        self.faults.values().sum()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "totalRequests": self.total_requests(),
            "requests": self.requests,
            "totalWrites": self.total_writes(),
            "writes": self.writes,
            "faults": self.faults,
            "rollouts": self.rollouts,
            "dryRuns": self.dry_runs,
        })
    }
}
