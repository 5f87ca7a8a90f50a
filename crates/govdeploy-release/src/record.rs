//! The release record: everything one apply of an environment was given and did, without a
//! single secret value (Secret data and secret inputs are kept as SHA-256 hashes only).

use std::collections::BTreeMap;

use govdeploy_apply::Outcome;
use govdeploy_render::Object;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redact::{redact_secret, sha256_hex};

/// Where a release stands. `Running` is only ever seen on a record whose run still holds the
/// environment's lock; the next run marks a leftover one `Interrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Running => "running",
            ReleaseStatus::Succeeded => "succeeded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<ReleaseStatus> {
        [
            ReleaseStatus::Running,
            ReleaseStatus::Succeeded,
            ReleaseStatus::Failed,
            ReleaseStatus::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One input of the run: a file or a secret source, by reference and content hash only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRef {
    /// `environment`, `catalogue`, `secret`, `values`...
    pub kind: String,
    /// A path or a reference (`secret://egov/db#password`), never a value.
    pub reference: String,
    pub sha256: String,
}

impl InputRef {
    pub fn new(kind: &str, reference: &str, content: &[u8]) -> InputRef {
        InputRef {
            kind: kind.to_string(),
            reference: reference.to_string(),
            sha256: sha256_hex(content),
        }
    }
}

/// An image the release runs; the digest when the registry told us.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A rendered object as applied, Secret data replaced by hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedObject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub body: Value,
}

impl RecordedObject {
    /// Records a rendered object; a Secret's values become hashes here, before anything else
    /// sees the record.
    pub fn from_rendered(object: &Object) -> RecordedObject {
        let mut body = object.body.clone();
        if object.is_secret() {
            redact_secret(&mut body);
        }
        let label = |name: &str| {
            object.body["metadata"]["labels"][name]
                .as_str()
                .map(str::to_string)
        };
        RecordedObject {
            module: label(crate::labels::MODULE),
            component: label(crate::labels::COMPONENT),
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            body,
        }
    }
}

/// One object of the release as the cluster knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItem {
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Apply-graph node (`egov-user`, `egov-user/migration`, `shared`).
    #[serde(default)]
    pub node: String,
}

impl InventoryItem {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Identity without version or uid: the same object across releases.
    pub fn key(&self) -> (String, String, Option<String>, String) {
        (
            self.group.clone(),
            self.kind.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }

    /// `Kind/namespace/name`.
    pub fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// One node of the apply graph: how it ended and when (seconds from the start of the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// `ready`, `failed`, `skipped`, `abandoned`...
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<f64>,
    pub written: usize,
    pub unchanged: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Who ran it, with what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub tool_version: String,
    /// `user@host` or a CI identity.
    pub by: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// One revision of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    pub environment: String,
    pub revision: u64,
    pub status: ReleaseStatus,
    pub provenance: Provenance,
    pub catalogue_version: String,
    pub release_version: String,
    pub inputs: Vec<InputRef>,
    pub images: Vec<ImageRef>,
    pub objects: Vec<RecordedObject>,
    /// In apply order (the prune set deletes in reverse).
    pub inventory: Vec<InventoryItem>,
    pub nodes: Vec<NodeRecord>,
    /// Why the run stopped, when it did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The revision this one rolled back to, if it is a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// Objects of earlier releases this run deleted, in deletion order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<InventoryItem>,
    /// The environment as given (its `spec`, layered): settings and secret references,
    /// never secret values (those live in the secrets file, recorded by hash in `inputs`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub values: Value,
    /// `Kind/namespace/name` of existing objects this run took over (`--adopt`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<String>,
}

impl ReleaseRecord {
    /// A record for a run about to start: status `running`, the rendered objects (redacted)
    /// and the images they run.
    pub fn starting(
        environment: &str,
        revision: u64,
        provenance: Provenance,
        objects: &[&Object],
    ) -> ReleaseRecord {
        let recorded: Vec<RecordedObject> = objects
            .iter()
            .map(|o| RecordedObject::from_rendered(o))
            .collect();
        ReleaseRecord {
            environment: environment.to_string(),
            revision,
            status: ReleaseStatus::Running,
            provenance,
            catalogue_version: String::new(),
            release_version: String::new(),
            inputs: Vec::new(),
            images: images_of(&recorded),
            objects: recorded,
            inventory: Vec::new(),
            nodes: Vec::new(),
            message: None,
            rollback_of: None,
            pruned: Vec::new(),
            values: Value::Null,
            adopted: Vec::new(),
        }
    }

    /// Fills in what the apply engine reported: inventory with uids, per-node outcome, status.
    /// The engine knows the uid of objects it wrote; an unchanged object keeps the uid the
    /// previous release recorded for it.
    pub fn finish(
        &mut self,
        outcome: &Outcome,
        finished_at: String,
        previous: Option<&ReleaseRecord>,
    ) {
        let known: BTreeMap<_, _> = previous
            .map(|p| {
                p.inventory
                    .iter()
                    .filter_map(|i| Some((i.key(), i.uid.clone()?)))
                    .collect()
            })
            .unwrap_or_default();
        self.inventory = outcome
            .inventory
            .iter()
            .map(|e| InventoryItem {
                group: e.group.clone(),
                version: e.version.clone(),
                kind: e.kind.clone(),
                namespace: e.namespace.clone(),
                name: e.name.clone(),
                uid: e.uid.clone(),
                node: e.node.clone(),
            })
            .map(|mut item| {
                if item.uid.is_none() {
                    item.uid = known.get(&item.key()).cloned();
                }
                item
            })
            .collect();
        self.nodes = outcome
            .nodes
            .iter()
            .map(|n| NodeRecord {
                name: n.name.clone(),
                component: n.component.clone(),
                state: serde_json::to_value(n.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                started: n.started,
                applied: n.applied,
                finished: n.finished,
                written: n.written,
                unchanged: n.unchanged,
                message: n.message.clone(),
            })
            .collect();
        self.status = if outcome.interrupted {
            ReleaseStatus::Interrupted
        } else if outcome.ok {
            ReleaseStatus::Succeeded
        } else {
            ReleaseStatus::Failed
        };
        self.message = outcome.stopped.clone();
        self.provenance.finished_at = Some(finished_at);
    }

    /// Objects per module, then component (`None` sorts first: namespaces and shared).
    pub fn objects_by_group(&self) -> BTreeMap<(String, String), Vec<&RecordedObject>> {
        let mut groups: BTreeMap<(String, String), Vec<&RecordedObject>> = BTreeMap::new();
        for o in &self.objects {
            groups
                .entry(group_key(o.module.as_deref(), o.component.as_deref()))
                .or_default()
                .push(o);
        }
        groups
    }
}

/// `(module, component)` with readable names for objects outside a component.
pub fn group_key(module: Option<&str>, component: Option<&str>) -> (String, String) {
    (
        module.unwrap_or("(environment)").to_string(),
        component.unwrap_or("(shared)").to_string(),
    )
}

/// Every container image of the recorded workloads, sorted, without duplicates.
fn images_of(objects: &[RecordedObject]) -> Vec<ImageRef> {
    let mut images = std::collections::BTreeSet::new();
    for o in objects {
        let spec = o
            .body
            .pointer("/spec/template/spec")
            .or_else(|| o.body.pointer("/spec/jobTemplate/spec/template/spec"))
            .or_else(|| o.body.get("spec").filter(|_| o.kind == "Pod"));
        let Some(spec) = spec else { continue };
        for list in ["initContainers", "containers"] {
            for c in spec[list].as_array().into_iter().flatten() {
                if let Some(image) = c["image"].as_str() {
                    images.insert(image.to_string());
                }
            }
        }
    }
    images
        .into_iter()
        .map(|image| {
            let digest = image.split_once('@').map(|(_, d)| d.to_string());
            ImageRef { image, digest }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(kind: &str, api_version: &str, body: Value) -> Object {
        Object {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some("egov".into()),
            name: "x".into(),
            body,
        }
    }

    #[test]
    fn secret_values_become_hashes_and_images_are_collected() {
        let secret = object(
            "Secret",
            "v1",
            json!({"metadata": {"name": "db"}, "data": {"password": "c2VjcmV0LXB3"}, "stringData": {"token": "tok-123"}}),
        );
        let deploy = object(
            "Deployment",
            "apps/v1",
            json!({"metadata": {"name": "x", "labels": {"govdeploy.io/component": "egov-user", "govdeploy.io/module": "core"}},
                   "spec": {"template": {"spec": {"initContainers": [{"image": "egovio/egov-user-db:1"}],
                   "containers": [{"image": "egovio/egov-user@sha256:abc"}]}}}}),
        );
        let provenance = Provenance {
            tool_version: "0.1.0".into(),
            by: "ci".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
        };
        let record = ReleaseRecord::starting("prod", 1, provenance, &[&secret, &deploy]);
        let text = serde_json::to_string(&record).unwrap_or_default();
        assert!(!text.contains("c2VjcmV0LXB3") && !text.contains("tok-123"));
        assert!(text.contains("sha256:"));
        assert_eq!(record.images.len(), 2);
        assert_eq!(record.images[0].image, "egovio/egov-user-db:1");
        assert_eq!(record.images[0].digest, None);
        assert_eq!(record.images[1].digest.as_deref(), Some("sha256:abc"));
        assert_eq!(record.objects[1].component.as_deref(), Some("egov-user"));
        let groups = record.objects_by_group();
        assert!(groups.contains_key(&("core".to_string(), "egov-user".to_string())));
        let back: ReleaseRecord = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, record);
    }
}
