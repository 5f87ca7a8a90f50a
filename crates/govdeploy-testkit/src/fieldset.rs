//! Field sets as server-side apply tracks them (`managedFields[].fieldsV1`), and the
//! list-merge rules that decide how applied lists combine with live ones.
//!
//! A path is a list of fieldsV1 elements: `f:<field>`, `k:<json of the key fields>`,
//! `v:<json value>` (sets), `i:<index>`. A set holds leaves and owned nodes (map and list-item
//! nodes, written as `.` in fieldsV1).

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

/// How a list merges: by key fields, as a set of scalars, or replaced whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    Map(Vec<&'static str>),
    Set,
    Atomic,
}

/// The list type of field `field` holding `items`, from the Kubernetes schema's list-map keys
/// for the common lists (`x-kubernetes-list-type: map`); every other list is atomic.
pub fn list_kind(field: &str, items: &[Value]) -> ListKind {
    let has = |key: &str| items.iter().any(|i| i.get(key).is_some());
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "secrets"
        | "hostAliases"
            if items.iter().all(Value::is_object) =>
        {
            if field == "hostAliases" {
                ListKind::Map(vec!["ip"])
            } else {
                ListKind::Map(vec!["name"])
            }
        }
        "ports" if has("containerPort") => ListKind::Map(vec!["containerPort", "protocol"]),
        "ports"
            if has("port")
                && items
                    .iter()
                    .all(|i| i.get("port").is_some_and(Value::is_number)) =>
        {
            ListKind::Map(vec!["port", "protocol"])
        }
        "volumeMounts" => ListKind::Map(vec!["mountPath"]),
        "volumeDevices" => ListKind::Map(vec!["devicePath"]),
        "conditions" if has("type") => ListKind::Map(vec!["type"]),
        "ownerReferences" => ListKind::Map(vec!["uid"]),
        "topologySpreadConstraints" => ListKind::Map(vec!["topologyKey", "whenUnsatisfiable"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// Maps with arbitrary keys (granular maps): they get an owned node (`.`) of their own.
fn is_granular_map(field: &str) -> bool {
    matches!(
        field,
        "labels"
            | "annotations"
            | "data"
            | "stringData"
            | "binaryData"
            | "nodeSelector"
            | "limits"
            | "requests"
            | "capacity"
            | "parameters"
            | "selector"
    )
}

/// Label selectors are `x-kubernetes-map-type: atomic`: replaced whole, owned as one leaf.
fn is_atomic_object(field: &str, value: &Map<String, Value>) -> bool {
    matches!(
        field,
        "selector" | "podSelector" | "namespaceSelector" | "labelSelector"
    ) && !value.is_empty()
        && value
            .keys()
            .all(|k| k == "matchLabels" || k == "matchExpressions")
}

fn key_value(item: &Value, key: &str) -> Value {
    match item.get(key) {
        Some(v) => v.clone(),
        None if key == "protocol" => Value::String("TCP".into()),
        None => Value::Null,
    }
}

/// The `k:{...}` element naming a list-map item.
pub fn key_element(item: &Value, keys: &[&str]) -> String {
    let mut m = Map::new();
    for k in keys {
        m.insert((*k).to_string(), key_value(item, k));
    }
    format!("k:{}", Value::Object(m))
}

const IGNORED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// The fields an object sets (what its applier would own). `status` is left out: it belongs
/// to the status subresource.
pub fn fieldset_of(obj: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            if matches!(k.as_str(), "apiVersion" | "kind" | "status") || v.is_null() {
                continue;
            }
            let mut path = vec![format!("f:{k}")];
            if k == "metadata" {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta {
                        if IGNORED_METADATA.contains(&mk.as_str()) || mv.is_null() {
                            continue;
                        }
                        path.push(format!("f:{mk}"));
                        collect(mv, mk, &mut path, &mut out);
                        path.pop();
                    }
                }
                continue;
            }
            collect(v, k, &mut path, &mut out);
            path.pop();
        }
    }
    out
}

fn collect(v: &Value, field: &str, path: &mut Path, out: &mut FieldSet) {
    match v {
        Value::Null => {}
        Value::Object(map) => {
            if map.is_empty() || is_atomic_object(field, map) {
                out.insert(path.clone());
                return;
            }
            if is_granular_map(field) {
                out.insert(path.clone());
            }
            for (k, child) in map {
                if child.is_null() {
                    continue;
                }
                path.push(format!("f:{k}"));
                collect(child, k, path, out);
                path.pop();
            }
        }
        Value::Array(items) => match list_kind(field, items) {
            ListKind::Atomic => {
                out.insert(path.clone());
            }
            ListKind::Set => {
                for item in items {
                    path.push(format!("v:{item}"));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListKind::Map(keys) => {
                for item in items {
                    path.push(key_element(item, &keys));
                    out.insert(path.clone());
                    if let Some(fields) = item.as_object() {
                        for (k, child) in fields {
                            if child.is_null() {
                                continue;
                            }
                            path.push(format!("f:{k}"));
                            collect(child, k, path, out);
                            path.pop();
                        }
                    }
                    path.pop();
                }
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

#[derive(Default)]
struct Node {
    owned: bool,
    children: BTreeMap<String, Node>,
}

/// fieldsV1 JSON for a set.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Node::default();
    for path in set {
        let mut node = &mut root;
        for el in path {
            node = node.children.entry(el.clone()).or_default();
        }
        node.owned = true;
    }
    fn render(node: &Node) -> Value {
        let mut m = Map::new();
        if node.owned && !node.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, child) in &node.children {
            m.insert(k.clone(), render(child));
        }
        Value::Object(m)
    }
    render(&root)
}

/// The set a fieldsV1 JSON value describes.
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut Path, out: &mut FieldSet) {
        if let Some(map) = v.as_object() {
            for (k, child) in map {
                if k == "." {
                    out.insert(path.clone());
                    continue;
                }
                path.push(k.clone());
                if child.as_object().is_none_or(Map::is_empty) {
                    out.insert(path.clone());
                } else {
                    walk(child, path, out);
                }
                path.pop();
            }
        }
    }
    let mut out = FieldSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn item_matches(item: &Value, element: &str) -> bool {
    if let Some(key_json) = element.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(key_json) else {
            return false;
        };
        keys.iter().all(|(k, want)| key_value(item, k) == *want)
    } else if let Some(v) = element.strip_prefix("v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|want| *item == want)
    } else {
        false
    }
}

fn child<'a>(v: &'a Value, element: &str) -> Option<&'a Value> {
    if let Some(f) = element.strip_prefix("f:") {
        v.as_object()?.get(f)
    } else if let Some(i) = element.strip_prefix("i:") {
        v.as_array()?.get(i.parse::<usize>().ok()?)
    } else {
        v.as_array()?
            .iter()
            .find(|item| item_matches(item, element))
    }
}

/// The value at `path`, if present.
pub fn get_at<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, el| child(cur, el))
}

fn child_mut<'a>(v: &'a mut Value, element: &str) -> Option<&'a mut Value> {
    if let Some(f) = element.strip_prefix("f:") {
        v.as_object_mut()?.get_mut(f)
    } else if let Some(i) = element.strip_prefix("i:") {
        v.as_array_mut()?.get_mut(i.parse::<usize>().ok()?)
    } else {
        v.as_array_mut()?
            .iter_mut()
            .find(|item| item_matches(item, element))
    }
}

/// Removes the value at `path`; then removes objects left empty by the removal.
pub fn remove_at(v: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let removed = match parents
        .iter()
        .try_fold(&mut *v, |cur, el| child_mut(cur, el))
    {
        Some(Value::Object(map)) => last
            .strip_prefix("f:")
            .is_some_and(|f| map.remove(f).is_some()),
        Some(Value::Array(items)) => {
            let before = items.len();
            items.retain(|item| !item_matches(item, last));
            items.len() != before
        }
        _ => false,
    };
    if removed && !parents.is_empty() {
        let emptied = get_at(v, parents).is_some_and(|p| p.as_object().is_some_and(Map::is_empty));
        if emptied && parents.last().is_some_and(|p| p.starts_with("f:")) {
            remove_at(v, parents);
        }
    }
    removed
}

/// Human form of a path as conflict messages print it: `.spec.containers[name="app"].image`.
pub fn display(path: &[String]) -> String {
    let mut out = String::new();
    for el in path {
        if let Some(f) = el.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let parts: Vec<String> = match serde_json::from_str::<Value>(k) {
                Ok(Value::Object(m)) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                _ => vec![k.to_string()],
            };
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = el.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

/// Whether `path` is a leaf of `set` (no other member extends it).
pub fn is_leaf(set: &FieldSet, path: &Path) -> bool {
    set.range(path.clone()..)
        .nth(1)
        .is_none_or(|next| !next.starts_with(path))
}

/// Merges an applied configuration into a live object: maps field by field, list-maps by key
/// (applied items first, in applied order, then live-only items), sets by union, the rest whole.
pub fn merge(live: &mut Value, applied: &Value, field: &str) {
    match (live, applied) {
        (Value::Object(lm), Value::Object(am)) if !is_atomic_object(field, am) => {
            for (k, av) in am {
                if av.is_null() {
                    continue;
                }
                match lm.get_mut(k) {
                    Some(lv) => merge(lv, av, k),
                    None => {
                        lm.insert(k.clone(), strip_nulls(av));
                    }
                }
            }
        }
        (Value::Array(li), Value::Array(ai)) => match list_kind(field, ai) {
            ListKind::Map(keys) => {
                let mut out = Vec::with_capacity(ai.len() + li.len());
                let mut used = vec![false; li.len()];
                for a in ai {
                    let el = key_element(a, &keys);
                    match li.iter().position(|l| item_matches(l, &el)) {
                        Some(pos) => {
                            used[pos] = true;
                            let mut merged = li[pos].clone();
                            merge(&mut merged, a, "");
                            out.push(merged);
                        }
                        None => out.push(strip_nulls(a)),
                    }
                }
                out.extend(
                    li.iter()
                        .zip(used)
                        .filter(|(_, u)| !u)
                        .map(|(l, _)| l.clone()),
                );
                *li = out;
            }
            ListKind::Set => {
                let mut out: Vec<Value> = ai.clone();
                out.extend(li.iter().filter(|l| !ai.contains(l)).cloned());
                *li = out;
            }
            ListKind::Atomic => *li = ai.clone(),
        },
        (live, applied) => *live = strip_nulls(applied),
    }
}

/// The value without null members (null means "no opinion" in an applied configuration).
pub fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]}]}}
            }
        })
    }

    #[test]
    fn fieldset_matches_the_real_servers_shape() {
        let fv1 = to_fields_v1(&fieldset_of(&deployment()));
        assert_eq!(
            fv1,
            json!({
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}}
                }
            })
        );
        assert_eq!(from_fields_v1(&fv1), fieldset_of(&deployment()));
    }

    #[test]
    fn paths_resolve_and_display() {
        let d = deployment();
        let path: Path = vec![
            "f:spec".into(),
            "f:template".into(),
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"app\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(get_at(&d, &path), Some(&json!("nginx:1")));
        assert_eq!(
            display(&path),
            ".spec.template.spec.containers[name=\"app\"].image"
        );
    }

    #[test]
    fn merges_lists_by_key() {
        let mut live =
            json!({"containers": [{"name": "a", "image": "1"}, {"name": "sidecar", "image": "s"}]});
        merge(
            &mut live,
            &json!({"containers": [{"name": "a", "image": "2"}]}),
            "",
        );
        assert_eq!(
            live,
            json!({"containers": [{"name": "a", "image": "2"}, {"name": "sidecar", "image": "s"}]})
        );
    }

    #[test]
    fn removal_cleans_emptied_parents() {
        let mut v = json!({"spec": {"template": {"metadata": {"annotations": {"x": "1"}}}}});
        let path: Path = vec![
            "f:spec".into(),
            "f:template".into(),
            "f:metadata".into(),
            "f:annotations".into(),
            "f:x".into(),
        ];
        assert!(remove_at(&mut v, &path));
        assert_eq!(v, json!({}));
    }
}
