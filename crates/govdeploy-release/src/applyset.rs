//! The environment's ApplySet (KEP-3659, as `kubectl apply --prune --applyset` writes it): a
//! parent ConfigMap in the environment's namespace labelled `applyset.kubernetes.io/id`, with
//! the tooling, the group-kinds and the other namespaces of its members as annotations; every
//! member labelled `applyset.kubernetes.io/part-of` with the same id. kubectl (and any tool
//! following the KEP) then sees the environment's objects as one set.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use govdeploy_render::Object;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::labels;
use crate::record::InventoryItem;

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const CONTAINS_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const ADDITIONAL_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";

/// `applyset-<base64url(sha256(<name>.<namespace>.<kind>.<group>))>-v1`, kubectl's v1 id.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(digest))
}

/// `Kind.group` (`Kind` for the core group), as kubectl writes group-kinds.
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// The parent of one environment's set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplySet {
    /// ConfigMap name.
    pub name: String,
    pub namespace: String,
    pub id: String,
}

impl ApplySet {
    pub fn for_environment(environment: &str, namespace: &str) -> ApplySet {
        let name = format!("govdeploy-applyset.{environment}");
        let id = applyset_id(&name, namespace, "ConfigMap", "");
        ApplySet {
            name,
            namespace: namespace.to_string(),
            id,
        }
    }

    /// Labels every object a member of the set.
    pub fn label_members<'o>(&self, objects: impl IntoIterator<Item = &'o mut Object>) {
        for object in objects {
            if let Some(meta) = object
                .body
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                let labels = meta
                    .entry("labels")
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Some(map) = labels.as_object_mut() {
                    map.insert(PART_OF_LABEL.to_string(), Value::String(self.id.clone()));
                }
            }
        }
    }

    /// The parent ConfigMap for members of these group-kinds in these namespaces.
    pub fn parent(
        &self,
        environment: &str,
        tool_version: &str,
        members: &[(String, String, Option<String>)],
    ) -> Value {
        let kinds: BTreeSet<String> = members.iter().map(|(g, k, _)| group_kind(g, k)).collect();
        let namespaces: BTreeSet<&str> = members
            .iter()
            .filter_map(|(_, _, ns)| ns.as_deref())
            .filter(|ns| *ns != self.namespace)
            .collect();
        let mut annotations = serde_json::Map::new();
        annotations.insert(
            TOOLING.to_string(),
            Value::String(format!("govdeploy/v{tool_version}")),
        );
        annotations.insert(
            CONTAINS_GROUP_KINDS.to_string(),
            Value::String(kinds.into_iter().collect::<Vec<_>>().join(",")),
        );
        if !namespaces.is_empty() {
            annotations.insert(
                ADDITIONAL_NAMESPACES.to_string(),
                Value::String(namespaces.into_iter().collect::<Vec<_>>().join(",")),
            );
        }
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {
                    ID_LABEL: self.id,
                    labels::MANAGED_BY: labels::MANAGER,
                    labels::ENVIRONMENT: environment,
                },
                "annotations": annotations,
            },
        })
    }
}

/// `(group, kind, namespace)` of rendered objects.
pub fn members_of_objects<'o>(
    objects: impl IntoIterator<Item = &'o Object>,
) -> Vec<(String, String, Option<String>)> {
    objects
        .into_iter()
        .map(|o| {
            let group = o.api_version.split_once('/').map_or("", |(g, _)| g);
            (group.to_string(), o.kind.clone(), o.namespace.clone())
        })
        .collect()
}

/// `(group, kind, namespace)` of inventory items.
pub fn members_of_inventory(items: &[InventoryItem]) -> Vec<(String, String, Option<String>)> {
    items
        .iter()
        .map(|i| (i.group.clone(), i.kind.clone(), i.namespace.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_kubectls_v1_form() {
        // sha256("govdeploy-applyset.prod.egov.ConfigMap.") in URL-safe base64, no padding.
        let set = ApplySet::for_environment("prod", "egov");
        let digest = Sha256::digest(b"govdeploy-applyset.prod.egov.ConfigMap.");
        assert_eq!(
            set.id,
            format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(digest))
        );
        assert!(!set.id.contains('=') && !set.id.contains('+') && !set.id.contains('/'));
        // A label value: at most 63 characters.
        assert!(set.id.len() <= 63, "{}", set.id);
    }

    #[test]
    fn parent_lists_sorted_group_kinds_and_other_namespaces() {
        let set = ApplySet::for_environment("prod", "egov");
        let members = vec![
            (
                "apps".to_string(),
                "Deployment".to_string(),
                Some("egov".to_string()),
            ),
            ("".to_string(), "Namespace".to_string(), None),
            (
                "".to_string(),
                "ConfigMap".to_string(),
                Some("backbone".to_string()),
            ),
            (
                "apps".to_string(),
                "Deployment".to_string(),
                Some("egov".to_string()),
            ),
        ];
        let parent = set.parent("prod", "0.1.0", &members);
        let a = &parent["metadata"]["annotations"];
        assert_eq!(
            a[CONTAINS_GROUP_KINDS],
            "ConfigMap,Deployment.apps,Namespace"
        );
        assert_eq!(a[ADDITIONAL_NAMESPACES], "backbone");
        assert_eq!(a[TOOLING], "govdeploy/v0.1.0");
        assert_eq!(parent["metadata"]["labels"][ID_LABEL], set.id.as_str());
    }
}
