//! Unknown-field detection for built-in kinds: the object is decoded into its typed
//! `k8s-openapi` struct and encoded again; a field present before and absent after is not in the
//! schema. (k8s-openapi does not deny unknown fields itself, so the round trip is the test.)

use serde_json::Value;

macro_rules! round_trip {
    ($v:expr, $t:ty) => {
        Some(
            serde_json::from_value::<$t>($v.clone())
                .map_err(|e| e.to_string())
                .and_then(|typed| serde_json::to_value(&typed).map_err(|e| e.to_string())),
        )
    };
}

fn typed_round_trip(group: &str, kind: &str, v: &Value) -> Option<Result<Value, String>> {
    use k8s_openapi::api::{
        apps, autoscaling, batch, coordination, core, networking, policy, rbac, storage,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    match (group, kind) {
        ("", "ConfigMap") => round_trip!(v, core::v1::ConfigMap),
        ("", "Secret") => round_trip!(v, core::v1::Secret),
        ("", "Service") => round_trip!(v, core::v1::Service),
        ("", "ServiceAccount") => round_trip!(v, core::v1::ServiceAccount),
        ("", "Pod") => round_trip!(v, core::v1::Pod),
        ("", "Namespace") => round_trip!(v, core::v1::Namespace),
        ("", "PersistentVolumeClaim") => round_trip!(v, core::v1::PersistentVolumeClaim),
        ("", "PersistentVolume") => round_trip!(v, core::v1::PersistentVolume),
        ("", "LimitRange") => round_trip!(v, core::v1::LimitRange),
        ("", "ResourceQuota") => round_trip!(v, core::v1::ResourceQuota),
        ("", "Event") => round_trip!(v, core::v1::Event),
        ("apps", "Deployment") => round_trip!(v, apps::v1::Deployment),
        ("apps", "StatefulSet") => round_trip!(v, apps::v1::StatefulSet),
        ("apps", "DaemonSet") => round_trip!(v, apps::v1::DaemonSet),
        ("apps", "ReplicaSet") => round_trip!(v, apps::v1::ReplicaSet),
        ("batch", "Job") => round_trip!(v, batch::v1::Job),
        ("batch", "CronJob") => round_trip!(v, batch::v1::CronJob),
        ("networking.k8s.io", "NetworkPolicy") => round_trip!(v, networking::v1::NetworkPolicy),
        ("networking.k8s.io", "Ingress") => round_trip!(v, networking::v1::Ingress),
        ("networking.k8s.io", "IngressClass") => round_trip!(v, networking::v1::IngressClass),
        ("policy", "PodDisruptionBudget") => round_trip!(v, policy::v1::PodDisruptionBudget),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            round_trip!(v, autoscaling::v2::HorizontalPodAutoscaler)
        }
        ("rbac.authorization.k8s.io", "Role") => round_trip!(v, rbac::v1::Role),
        ("rbac.authorization.k8s.io", "RoleBinding") => round_trip!(v, rbac::v1::RoleBinding),
        ("rbac.authorization.k8s.io", "ClusterRole") => round_trip!(v, rbac::v1::ClusterRole),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            round_trip!(v, rbac::v1::ClusterRoleBinding)
        }
        ("coordination.k8s.io", "Lease") => round_trip!(v, coordination::v1::Lease),
        ("storage.k8s.io", "StorageClass") => round_trip!(v, storage::v1::StorageClass),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            round_trip!(v, apiext::CustomResourceDefinition)
        }
        _ => None,
    }
}

/// Result of checking an object against its schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaCheck {
    /// Dotted paths of unknown fields (`spec.foo`, `spec.template.spec.containers[0].bad`).
    pub unknown: Vec<String>,
    /// A value of the wrong type (the decoder's message), if any.
    pub type_error: Option<String>,
}

/// Checks `obj` of `group`/`kind`; kinds without a typed struct (custom resources) pass.
pub fn check(group: &str, kind: &str, obj: &Value) -> SchemaCheck {
    // Fields that are null carry no value and are dropped by both the real server and the
    // round trip; they are not unknown.
    let cleaned = crate::fieldset::strip_nulls(obj);
    match typed_round_trip(group, kind, &cleaned) {
        None => SchemaCheck::default(),
        Some(Err(e)) => SchemaCheck {
            unknown: Vec::new(),
            type_error: Some(e),
        },
        Some(Ok(back)) => {
            let mut unknown = Vec::new();
            diff(&cleaned, &back, "", &mut unknown);
            SchemaCheck {
                unknown,
                type_error: None,
            }
        }
    }
}

fn diff(input: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (input, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(bv) => diff(v, bv, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Removes unknown fields (what the real server does under `Warn` and `Ignore`).
pub fn prune(obj: &mut Value, unknown: &[String]) {
    for path in unknown {
        let parts: Vec<&str> = path.split('.').collect();
        remove_path(obj, &parts);
    }
}

fn remove_path(cur: &mut Value, parts: &[&str]) {
    match parts {
        [] => {}
        [last] => {
            if let Some(m) = cur.as_object_mut() {
                m.remove(*last);
            }
        }
        [first, rest @ ..] => {
            let (name, index) = split_index(first);
            let Some(next) = cur.get_mut(name) else {
                return;
            };
            match index {
                Some(i) => {
                    if let Some(item) = next.get_mut(i) {
                        remove_path(item, rest);
                    }
                }
                None => remove_path(next, rest),
            }
        }
    }
}

fn split_index(part: &str) -> (&str, Option<usize>) {
    match part.split_once('[') {
        Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
        None => (part, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unknown_fields() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "creationTimestamp": null},
            "spec": {"replicaz": 2, "selector": {"matchLabels": {"a": "b"}},
                "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePolicy": "x"}]}}}
        });
        let check = check("apps", "Deployment", &d);
        assert_eq!(
            check.unknown,
            vec![
                "spec.replicaz",
                "spec.template.spec.containers[0].imagePolicy"
            ]
        );
        let mut pruned = d.clone();
        prune(&mut pruned, &check.unknown);
        assert!(
            super::check("apps", "Deployment", &pruned)
                .unknown
                .is_empty()
        );
    }

    #[test]
    fn wrong_types_are_reported() {
        let d = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": 1}});
        assert!(check("", "ConfigMap", &d).type_error.is_some());
    }
}
