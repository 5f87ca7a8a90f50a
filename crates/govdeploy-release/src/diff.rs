//! What `govdeploy diff` shows: for every rendered object, the live object against what the
//! API server says it would become (a server-side apply with `dryRun=All`), both normalised
//! and written as YAML, as a unified diff grouped by module and component.
//!
//! Both sides come from the same server, so defaults it fills in appear on both and cancel
//! out; normalisation removes what changes on every write or belongs to the server alone
//! (managedFields, resourceVersion, uid, creationTimestamp, generation, status, our applied
//! hash and the annotations controllers add). A new object is shown as rendered (normalised),
//! since a dry-run of it would show only defaults beyond it. Secret values are masked unless
//! asked: equal values as `***`, changed ones as `*** (before)` / `*** (after)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use govdeploy_render::Object;
use govdeploy_render::yaml::to_yaml;
use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value};
use similar::TextDiff;

use crate::error::{ReleaseError, status_of};
use crate::labels;
use crate::record::group_key;
use crate::resolver::{Resolver, split_api_version};

/// Metadata fields the server owns.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// Annotations that change on every write or are added by controllers.
const NOISY_ANNOTATIONS: &[&str] = &[
    "govdeploy.io/applied-hash",
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
];

const MASK: &str = "***";

/// Removes what is not part of the object's desired state, and sorts keys so the text does
/// not depend on the order a server or a renderer wrote them in.
pub fn normalize(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            for a in NOISY_ANNOTATIONS {
                annotations.remove(*a);
            }
        }
        if meta
            .get("annotations")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            meta.remove("annotations");
        }
    }
    // Last: `Map::remove` swaps the last key into the removed one's place.
    sorted(&out)
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Masks the values of a Secret's `data` and `stringData` on both sides.
fn mask_secret_pair(before: &mut Option<Value>, after: &mut Value) {
    for field in ["data", "stringData"] {
        let old: Map<String, Value> = before
            .as_ref()
            .and_then(|b| b.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let new: Map<String, Value> = after
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mask = |map: &Map<String, Value>, other: &Map<String, Value>, side: &str| {
            map.iter()
                .map(|(k, v)| {
                    let shown = match other.get(k) {
                        Some(o) if o != v => format!("{MASK} ({side})"),
                        _ => MASK.to_string(),
                    };
                    (k.clone(), Value::String(shown))
                })
                .collect::<Map<String, Value>>()
        };
        if let Some(b) = before.as_mut()
            && b.get(field).is_some()
        {
            b[field] = Value::Object(mask(&old, &new, "before"));
        }
        if after.get(field).is_some() {
            after[field] = Value::Object(mask(&new, &old, "after"));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Create,
    Update,
    Delete,
    Unchanged,
}

/// One object's difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDiff {
    pub module: String,
    pub component: String,
    /// `Kind/namespace/name`.
    pub reference: String,
    pub change: Change,
    /// Unified diff; empty when unchanged.
    pub text: String,
}

/// Compares normalised objects (`before` is the live one, absent for a creation).
pub fn object_diff(
    module: Option<&str>,
    component: Option<&str>,
    reference: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    show_secrets: bool,
) -> ObjectDiff {
    let is_secret =
        |v: Option<&Value>| v.is_some_and(|v| v["kind"] == "Secret" && v["apiVersion"] == "v1");
    let secret = is_secret(before) || is_secret(after);
    let mut old = before.map(normalize);
    let mut new = after.map(normalize);
    if secret && !show_secrets {
        match new.as_mut() {
            Some(n) => mask_secret_pair(&mut old, n),
            None => {
                let mut empty = Value::Object(Map::new());
                mask_secret_pair(&mut old, &mut empty);
            }
        }
    }
    let old_text = old.as_ref().map(to_yaml).unwrap_or_default();
    let new_text = new.as_ref().map(to_yaml).unwrap_or_default();
    let change = match (&old, &new) {
        (None, Some(_)) => Change::Create,
        (Some(_), None) => Change::Delete,
        _ if old_text == new_text => Change::Unchanged,
        _ => Change::Update,
    };
    let text = if change == Change::Unchanged {
        String::new()
    } else {
        let left = if old.is_some() {
            format!("live/{reference}")
        } else {
            "/dev/null".to_string()
        };
        let right = if new.is_some() {
            format!("new/{reference}")
        } else {
            "/dev/null".to_string()
        };
        TextDiff::from_lines(&old_text, &new_text)
            .unified_diff()
            .context_radius(3)
            .header(&left, &right)
            .to_string()
    };
    let (module, component) = group_key(module, component);
    ObjectDiff {
        module,
        component,
        reference: reference.to_string(),
        change,
        text,
    }
}

/// Every object's difference, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub objects: Vec<ObjectDiff>,
}

impl Diff {
    pub fn has_changes(&self) -> bool {
        self.objects.iter().any(|o| o.change != Change::Unchanged)
    }

    /// `(created, updated, deleted, unchanged)`.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let count = |c| self.objects.iter().filter(|o| o.change == c).count();
        (
            count(Change::Create),
            count(Change::Update),
            count(Change::Delete),
            count(Change::Unchanged),
        )
    }

    /// The diff as a user reads it: a heading per module and component that changes, then the
    /// unified diffs of its objects.
    pub fn render(&self) -> String {
        let mut groups: BTreeMap<(&str, &str), Vec<&ObjectDiff>> = BTreeMap::new();
        for o in self
            .objects
            .iter()
            .filter(|o| o.change != Change::Unchanged)
        {
            groups
                .entry((o.module.as_str(), o.component.as_str()))
                .or_default()
                .push(o);
        }
        let mut out = String::new();
        for ((module, component), mut objects) in groups {
            objects.sort_by(|a, b| a.reference.cmp(&b.reference));
            let _ = writeln!(out, "# module {module}, component {component}");
            for o in objects {
                out.push_str(&o.text);
                if !o.text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        let (c, u, d, n) = self.counts();
        let _ = writeln!(
            out,
            "{c} to create, {u} to change, {d} to delete, {n} unchanged"
        );
        out
    }
}

/// What the server would make of `object`: a server-side apply with `dryRun=All` (field
/// manager `govdeploy`, strict validation, no force: a conflict is an error, as for apply).
pub async fn dry_run(resolver: &Resolver, object: &Object) -> Result<Value, ReleaseError> {
    let (group, version) = split_api_version(&object.api_version);
    let api = resolver
        .api(group, version, &object.kind, object.namespace.as_deref())
        .await?;
    let params = PatchParams::apply(labels::MANAGER)
        .dry_run()
        .validation_strict();
    let result = api
        .patch(&object.name, &params, &Patch::Apply(&object.body))
        .await
        .map_err(|e| ReleaseError::api(format!("dry-run apply of {}", object.reference()), e))?;
    serde_json::to_value(result).map_err(|e| ReleaseError::Encode(e.to_string()))
}

/// The live object, if it exists.
pub async fn live(
    resolver: &Resolver,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<Value>, ReleaseError> {
    let (group, version) = split_api_version(api_version);
    let api = resolver.api(group, version, kind, namespace).await?;
    match api.get_opt(name).await {
        Ok(found) => found
            .map(|o| serde_json::to_value(o).map_err(|e| ReleaseError::Encode(e.to_string())))
            .transpose(),
        Err(e) if status_of(&e) == Some(404) => Ok(None),
        Err(e) => Err(ReleaseError::api(format!("reading {kind}/{name}"), e)),
    }
}

/// Diffs every rendered object against the live cluster. Errors for single objects are
/// collected, not fatal: the caller reports them all.
pub async fn diff_objects(
    resolver: &Resolver,
    objects: &[&Object],
    show_secrets: bool,
) -> (Diff, Vec<ReleaseError>) {
    let mut diff = Diff::default();
    let mut errors = Vec::new();
    for object in objects {
        let label = |name: &str| object.body["metadata"]["labels"][name].as_str();
        let module = label(labels::MODULE);
        let component = label(labels::COMPONENT);
        let current = match live(
            resolver,
            &object.api_version,
            &object.kind,
            object.namespace.as_deref(),
            &object.name,
        )
        .await
        {
            Ok(current) => current,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let would_be = match &current {
            None => object.body.clone(),
            Some(_) => match dry_run(resolver, object).await {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
        };
        diff.objects.push(object_diff(
            module,
            component,
            &object.reference(),
            current.as_ref(),
            Some(&would_be),
            show_secrets,
        ));
    }
    diff.objects.sort_by(|a, b| {
        (&a.module, &a.component, &a.reference).cmp(&(&b.module, &b.component, &b.reference))
    });
    (diff, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalisation_drops_server_fields_and_noise() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "egov", "uid": "u-1", "resourceVersion": "7", "generation": 2,
                "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "govdeploy"}],
                "annotations": {"govdeploy.io/applied-hash": "abc"}},
            "data": {"a": "1"}, "status": {"x": 1}});
        assert_eq!(
            normalize(&live),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "egov"}, "data": {"a": "1"}})
        );
    }

    #[test]
    fn unified_diff_of_a_change_and_nothing_for_equal_objects() {
        let before = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1"}, "data": {"a": "1", "b": "2"}});
        let after = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "2"}, "data": {"a": "1", "b": "3"}});
        let d = object_diff(
            Some("core"),
            Some("egov-user"),
            "ConfigMap/egov/c",
            Some(&before),
            Some(&after),
            false,
        );
        assert_eq!(d.change, Change::Update);
        assert_eq!(
            d.text,
            "--- live/ConfigMap/egov/c\n+++ new/ConfigMap/egov/c\n@@ -1,7 +1,7 @@\n apiVersion: v1\n data:\n   a: \"1\"\n-  b: \"2\"\n+  b: \"3\"\n kind: ConfigMap\n metadata:\n   name: c\n"
        );
        let same = object_diff(
            None,
            None,
            "ConfigMap/egov/c",
            Some(&before),
            Some(&before),
            false,
        );
        assert_eq!(same.change, Change::Unchanged);
        assert!(same.text.is_empty());
    }

    #[test]
    fn secret_values_are_masked_unless_asked() {
        let before = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"user": "ZWdvdg==", "password": "b2xkLXB3"}});
        let after = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"user": "ZWdvdg==", "password": "bmV3LXB3"}});
        let d = object_diff(
            None,
            None,
            "Secret/egov/db",
            Some(&before),
            Some(&after),
            false,
        );
        assert_eq!(d.change, Change::Update);
        assert!(
            !d.text.contains("b2xkLXB3")
                && !d.text.contains("bmV3LXB3")
                && !d.text.contains("ZWdvdg==")
        );
        assert!(
            d.text.contains("-  password: \"*** (before)\"")
                && d.text.contains("+  password: \"*** (after)\""),
            "{}",
            d.text
        );
        let shown = object_diff(
            None,
            None,
            "Secret/egov/db",
            Some(&before),
            Some(&after),
            true,
        );
        assert!(shown.text.contains("bmV3LXB3"));
        let create = object_diff(None, None, "Secret/egov/db", None, Some(&after), false);
        assert_eq!(create.change, Change::Create);
        assert!(!create.text.contains("bmV3LXB3"));
    }
}
