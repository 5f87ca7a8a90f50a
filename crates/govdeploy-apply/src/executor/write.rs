//! Applying one node's objects: server-side apply, skipping objects whose live copy carries
//! the hash of the same applied configuration.
//!
//! Why a hash annotation rather than a dry-run: a dry-run is a full apply round trip per
//! object (admission, defaulting) and still needs a comparison that ignores defaults and
//! status; the hash costs nothing, and the live objects come from one LIST per kind and
//! namespace fetched at the start. Its limit: a change someone else made to fields we own is
//! not undone by re-applying unchanged input (`govdeploy diff` shows such drift).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::{Cluster, Resource, collection_path, object_path};
use crate::error::ApplyError;
use crate::events::Action;
use govdeploy_render::Object;

/// Annotation holding the hash of the applied configuration.
pub const APPLIED_HASH: &str = "govdeploy.io/applied-hash";

/// Hex SHA-256 of the object as rendered (before the annotation is added).
pub fn config_hash(body: &Value) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The body to apply: the rendered object plus its hash annotation.
pub fn with_hash(body: &Value, hash: &str) -> Value {
    let mut body = body.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(APPLIED_HASH.to_string(), Value::String(hash.to_string()));
        }
    }
    body
}

/// What the run knows of live objects before writing: collections listed at the start and the
/// hash annotation of each object found (by object path).
#[derive(Debug, Default)]
pub struct Known {
    pub listed: BTreeSet<String>,
    pub hashes: BTreeMap<String, Option<String>>,
    /// Live objects of kinds with a status to wait for: an unchanged, already healthy object
    /// needs no further request.
    pub live: BTreeMap<String, Value>,
}

impl Known {
    /// Lists every collection the objects live in (one request per kind and namespace).
    pub async fn fetch(cluster: &Cluster, objects: &[&Object]) -> Known {
        let mut known = Known::default();
        // Collection path -> kind (list items carry no kind on a real API server).
        let mut collections: BTreeMap<String, String> = BTreeMap::new();
        for o in objects {
            let Ok(resource) = cluster.resource(&o.api_version, &o.kind).await else {
                continue;
            };
            collections.insert(
                collection_path(&resource, o.namespace.as_deref()),
                o.kind.clone(),
            );
        }
        // One task per collection: the listings are independent and dominate a no-op run.
        let mut tasks = tokio::task::JoinSet::new();
        for (path, kind) in collections {
            let cluster = cluster.clone();
            tasks.spawn(async move {
                let items = cluster.list(&path, "").await;
                (path, kind, items)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            // A collection that could not be listed is read object by object when applied.
            let Ok((path, kind, Ok(items))) = joined else {
                continue;
            };
            for item in items {
                let name = item.pointer("/metadata/name").and_then(Value::as_str);
                if let Some(name) = name {
                    let hash = item
                        .pointer("/metadata/annotations")
                        .and_then(|a| a.get(APPLIED_HASH))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let key = format!("{path}/{name}");
                    if !crate::health::ready_when_accepted(&kind) && kind != "Secret" {
                        known.live.insert(key.clone(), item.clone());
                    }
                    known.hashes.insert(key, hash);
                }
            }
            known.listed.insert(path);
        }
        known
    }
}

/// One applied object.
#[derive(Debug, Clone)]
pub struct Applied {
    pub resource: Resource,
    pub action: Action,
    /// The live object after the write, or as listed at the start when unchanged.
    pub live: Option<Value>,
}

/// Why a node's write failed.
#[derive(Debug)]
pub struct WriteFailure {
    pub object: String,
    pub reason: String,
    pub error: ApplyError,
}

/// Conflicts of a 409 answer to an apply: `field (manager)` per FieldManagerConflict cause.
pub fn conflicts(status: &Value) -> Vec<String> {
    status
        .pointer("/details/causes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            c.get("reason")
                .or_else(|| c.get("type"))
                .and_then(Value::as_str)
                == Some("FieldManagerConflict")
        })
        .map(|c| {
            let field = c.get("field").and_then(Value::as_str).unwrap_or("?");
            let message = c.get("message").and_then(Value::as_str).unwrap_or("");
            format!("{field} ({message})")
        })
        .collect()
}

/// Applies one object.
pub async fn apply_object(
    cluster: &Cluster,
    known: &Known,
    object: &Object,
    force: bool,
) -> Result<Applied, WriteFailure> {
    let fail = |reason: &str, error: ApplyError| WriteFailure {
        object: object.reference(),
        reason: reason.to_string(),
        error,
    };
    let resource = cluster
        .resource(&object.api_version, &object.kind)
        .await
        .map_err(|e| fail("UnknownKind", e))?;
    let path = object_path(&resource, object.namespace.as_deref(), &object.name);
    let hash = config_hash(&object.body);
    let collection = collection_path(&resource, object.namespace.as_deref());
    let live_hash = if known.listed.contains(&collection) {
        known.hashes.get(&path).cloned()
    } else {
        cluster
            .get(&path)
            .await
            .map_err(|e| fail("ApiError", e))?
            .map(|live| {
                live.pointer("/metadata/annotations")
                    .and_then(|a| a.get(APPLIED_HASH))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
    };
    if live_hash
        .as_ref()
        .is_some_and(|h| h.as_deref() == Some(hash.as_str()))
    {
        return Ok(Applied {
            resource,
            action: Action::Unchanged,
            live: known.live.get(&path).cloned(),
        });
    }
    // A migration Job's name carries the hash of its image and settings, and its pod template
    // is immutable: a completed Job of that name has done exactly this work. Rewriting it
    // would only fail (labels such as the module can change around it).
    if object.kind == "Job"
        && let Some(live) = known.live.get(&path)
        && crate::health::condition(live, "Complete")
            .is_some_and(|c| c.get("status").and_then(Value::as_str) == Some("True"))
    {
        return Ok(Applied {
            resource,
            action: Action::Unchanged,
            live: Some(live.clone()),
        });
    }
    let action = if live_hash.is_some() {
        Action::Configured
    } else {
        Action::Created
    };
    let body = with_hash(&object.body, &hash);
    // A 409 that is not a field-manager conflict is an optimistic-concurrency race with a
    // controller: retry it a few times.
    for _ in 0..3 {
        let reply = cluster
            .apply(&path, &body, force)
            .await
            .map_err(|e| fail("ApiError", e))?;
        if reply.status.is_success() {
            return Ok(Applied {
                resource,
                action,
                live: reply.json(),
            });
        }
        let status_body = reply.json().unwrap_or(Value::Null);
        if reply.status.as_u16() == 409 {
            let found = conflicts(&status_body);
            if !found.is_empty() {
                return Err(fail(
                    "Conflict",
                    ApplyError::Conflict {
                        reference: object.reference(),
                        conflicts: found,
                    },
                ));
            }
            continue;
        }
        let reason = match reply.status.as_u16() {
            400 | 422 => "Invalid",
            403 => "Forbidden",
            _ => "ApiError",
        };
        return Err(fail(
            reason,
            crate::cluster::api_error_of("PATCH", &path, reply.status.as_u16(), &status_body),
        ));
    }
    Err(fail(
        "ApiError",
        ApplyError::Request {
            method: "PATCH".into(),
            path,
            message: "kept conflicting with concurrent updates (HTTP 409)".into(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_hash_ignores_nothing_and_the_annotation_is_added_beside_existing_ones() {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "annotations": {"a": "b"}}, "data": {"k": "v"}});
        let h = config_hash(&body);
        assert_eq!(h.len(), 64);
        let mut changed = body.clone();
        changed["data"]["k"] = json!("w");
        assert_ne!(config_hash(&changed), h);
        let applied = with_hash(&body, &h);
        assert_eq!(applied["metadata"]["annotations"]["a"], "b");
        assert_eq!(applied["metadata"]["annotations"][APPLIED_HASH], h.as_str());
        let bare = with_hash(&json!({"metadata": {"name": "y"}}), "abc");
        assert_eq!(bare["metadata"]["annotations"][APPLIED_HASH], "abc");
    }

    #[test]
    fn conflicts_list_fields_and_managers() {
        let status = json!({"kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
            "details": {"causes": [{"reason": "FieldManagerConflict",
                "message": "conflict with \"kubectl-edit\" using apps/v1", "field": ".spec.replicas"}]}});
        assert_eq!(
            conflicts(&status),
            vec![".spec.replicas (conflict with \"kubectl-edit\" using apps/v1)".to_string()]
        );
        assert!(conflicts(&json!({"reason": "Conflict"})).is_empty());
    }
}
