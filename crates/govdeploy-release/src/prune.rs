//! The prune set: what the previous release had and the new one does not, in reverse
//! dependency order (the reverse of the order it was applied in), each checked to still be
//! ours before it may be deleted: the same uid as recorded and our labels. PersistentVolume
//! claims, Namespaces and CRDs are protected (their deletion destroys data or everything in
//! them) unless `prune_protected`; volumes a deleted StatefulSet leaves behind are reported,
//! never deleted.

use std::collections::BTreeSet;

use kube::api::{DeleteParams, ListParams, Preconditions, PropagationPolicy};
use serde_json::Value;

use crate::error::{ReleaseError, status_of};
use crate::labels;
use crate::record::InventoryItem;
use crate::resolver::Resolver;

/// Kinds never pruned unless asked: `(group, kind)`.
pub const PROTECTED: &[(&str, &str)] = &[
    ("", "PersistentVolumeClaim"),
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
];

pub fn is_protected(item: &InventoryItem) -> bool {
    PROTECTED
        .iter()
        .any(|(g, k)| item.group == *g && item.kind == *k)
}

/// Previous inventory minus new inventory (by group, kind, namespace, name), last applied first.
pub fn candidates(previous: &[InventoryItem], new: &[InventoryItem]) -> Vec<InventoryItem> {
    let kept: BTreeSet<_> = new.iter().map(InventoryItem::key).collect();
    let mut seen = BTreeSet::new();
    previous
        .iter()
        .rev()
        .filter(|i| !kept.contains(&i.key()) && seen.insert(i.key()))
        .cloned()
        .collect()
}

/// What happens to one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delete,
    /// A protected kind; kept.
    Protected,
    /// Live, but no longer ours: kept, and why.
    NotOurs(String),
    /// Already gone.
    Gone,
}

/// Whether the live object is the one we recorded and still carries our labels.
pub fn judge(
    item: &InventoryItem,
    live: Option<&Value>,
    environment: &str,
    applyset_id: Option<&str>,
    prune_protected: bool,
) -> Verdict {
    let Some(live) = live else {
        return Verdict::Gone;
    };
    let meta = &live["metadata"];
    if meta.get("deletionTimestamp").is_some_and(|v| !v.is_null()) {
        return Verdict::Gone;
    }
    if let (Some(recorded), Some(actual)) = (item.uid.as_deref(), meta["uid"].as_str())
        && recorded != actual
    {
        return Verdict::NotOurs(format!(
            "it was recreated since (uid {actual}, recorded {recorded})"
        ));
    }
    let label = |name: &str| meta["labels"][name].as_str();
    if label(labels::MANAGED_BY) != Some(labels::MANAGER) {
        return Verdict::NotOurs(format!(
            "it no longer has the label {}={}",
            labels::MANAGED_BY,
            labels::MANAGER
        ));
    }
    if label(labels::ENVIRONMENT) != Some(environment) {
        return Verdict::NotOurs(format!(
            "its label {} is {:?}, not {environment}",
            labels::ENVIRONMENT,
            label(labels::ENVIRONMENT).unwrap_or("")
        ));
    }
    if let (Some(ours), Some(theirs)) = (applyset_id, label(crate::applyset::PART_OF_LABEL))
        && ours != theirs
    {
        return Verdict::NotOurs(format!(
            "it belongs to another ApplySet ({} = {theirs})",
            crate::applyset::PART_OF_LABEL
        ));
    }
    if is_protected(item) && !prune_protected {
        return Verdict::Protected;
    }
    Verdict::Delete
}

/// What a prune would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneSet {
    /// In deletion order.
    pub delete: Vec<InventoryItem>,
    pub protected: Vec<InventoryItem>,
    /// Kept because they are no longer ours, with the reason.
    pub not_ours: Vec<(InventoryItem, String)>,
    pub gone: Vec<InventoryItem>,
    /// `PersistentVolumeClaim/ns/name` of volumes a deleted StatefulSet leaves behind.
    pub orphaned_volumes: Vec<String>,
}

/// Works out the prune set against the live cluster (reads only).
pub async fn prune_set(
    resolver: &Resolver,
    previous: &[InventoryItem],
    new: &[InventoryItem],
    environment: &str,
    applyset_id: Option<&str>,
    prune_protected: bool,
) -> Result<PruneSet, ReleaseError> {
    let mut set = PruneSet::default();
    for item in candidates(previous, new) {
        let live = crate::diff::live(
            resolver,
            &item.api_version(),
            &item.kind,
            item.namespace.as_deref(),
            &item.name,
        )
        .await?;
        match judge(
            &item,
            live.as_ref(),
            environment,
            applyset_id,
            prune_protected,
        ) {
            Verdict::Delete => {
                if item.kind == "StatefulSet"
                    && let Some(live) = &live
                {
                    set.orphaned_volumes
                        .extend(statefulset_volumes(resolver, &item, live).await?);
                }
                set.delete.push(item);
            }
            Verdict::Protected => set.protected.push(item),
            Verdict::NotOurs(why) => set.not_ours.push((item, why)),
            Verdict::Gone => set.gone.push(item),
        }
    }
    set.orphaned_volumes.sort();
    Ok(set)
}

/// Claims made from a StatefulSet's templates (`<template>-<set>-<ordinal>`).
async fn statefulset_volumes(
    resolver: &Resolver,
    item: &InventoryItem,
    live: &Value,
) -> Result<Vec<String>, ReleaseError> {
    let templates: Vec<String> = live
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/metadata/name")?.as_str().map(str::to_string))
        .collect();
    if templates.is_empty() {
        return Ok(Vec::new());
    }
    let ns = item.namespace.as_deref().unwrap_or("default");
    let api = resolver
        .api("", "v1", "PersistentVolumeClaim", Some(ns))
        .await?;
    let claims = api
        .list(&ListParams::default())
        .await
        .map_err(|e| ReleaseError::api(format!("listing volume claims in {ns}"), e))?;
    Ok(claims
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .filter(|name| {
            templates.iter().any(|t| {
                name.strip_prefix(&format!("{t}-{}-", item.name))
                    .is_some_and(|ordinal| ordinal.chars().all(|c| c.is_ascii_digit()))
            })
        })
        .map(|name| format!("PersistentVolumeClaim/{ns}/{name}"))
        .collect())
}

/// Deletes the prune set in order (background propagation, with the recorded uid as a
/// precondition so an object recreated meanwhile is not touched). Returns what was deleted.
pub async fn execute(
    resolver: &Resolver,
    set: &PruneSet,
) -> Result<Vec<InventoryItem>, ReleaseError> {
    let mut deleted = Vec::new();
    for item in &set.delete {
        let api = resolver
            .api(
                &item.group,
                &item.version,
                &item.kind,
                item.namespace.as_deref(),
            )
            .await?;
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: item.uid.clone().map(|uid| Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&item.name, &params).await {
            Ok(_) => deleted.push(item.clone()),
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => {
                return Err(ReleaseError::api(
                    format!("deleting {}", item.reference()),
                    e,
                ));
            }
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(group: &str, kind: &str, name: &str, uid: Option<&str>) -> InventoryItem {
        InventoryItem {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("egov".into()),
            name: name.into(),
            uid: uid.map(str::to_string),
            node: "n".into(),
        }
    }

    fn ours(uid: &str) -> Value {
        json!({"metadata": {"uid": uid, "labels": {"app.kubernetes.io/managed-by": "govdeploy", "govdeploy.io/environment": "prod"}}})
    }

    #[test]
    fn candidates_are_previous_minus_new_in_reverse_order() {
        let prev = vec![
            item("", "ConfigMap", "a", None),
            item("apps", "Deployment", "a", None),
            item("", "Service", "a", None),
            item("", "ConfigMap", "b", None),
        ];
        let new = vec![item("", "ConfigMap", "b", Some("other-uid"))];
        let c: Vec<_> = candidates(&prev, &new)
            .iter()
            .map(InventoryItem::reference)
            .collect();
        assert_eq!(
            c,
            ["Service/egov/a", "Deployment/egov/a", "ConfigMap/egov/a"]
        );
    }

    #[test]
    fn only_our_unchanged_objects_are_deleted_and_protected_kinds_kept() {
        let cm = item("", "ConfigMap", "a", Some("u1"));
        assert_eq!(
            judge(&cm, Some(&ours("u1")), "prod", None, false),
            Verdict::Delete
        );
        assert!(matches!(
            judge(&cm, Some(&ours("u2")), "prod", None, false),
            Verdict::NotOurs(_)
        ));
        assert!(matches!(
            judge(&cm, Some(&ours("u1")), "staging", None, false),
            Verdict::NotOurs(_)
        ));
        let foreign = json!({"metadata": {"uid": "u1", "labels": {}}});
        assert!(matches!(
            judge(&cm, Some(&foreign), "prod", None, false),
            Verdict::NotOurs(_)
        ));
        assert_eq!(judge(&cm, None, "prod", None, false), Verdict::Gone);
        let pvc = item("", "PersistentVolumeClaim", "data", Some("u1"));
        assert_eq!(
            judge(&pvc, Some(&ours("u1")), "prod", None, false),
            Verdict::Protected
        );
        assert_eq!(
            judge(&pvc, Some(&ours("u1")), "prod", None, true),
            Verdict::Delete
        );
        let ns = InventoryItem {
            namespace: None,
            ..item("", "Namespace", "egov", Some("u1"))
        };
        assert_eq!(
            judge(&ns, Some(&ours("u1")), "prod", None, false),
            Verdict::Protected
        );
    }
}
