//! Server-side apply: ownership of fields per manager (`metadata.managedFields`), conflicts,
//! removal of fields a manager stopped applying, and ownership for non-apply writes.

use crate::fieldset::{self, FieldSet, Path};
use crate::status::ApiError;
use serde_json::{Map, Value, json};

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

/// A field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: Path,
}

pub fn read_managed(obj: &Value) -> Vec<ManagedEntry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| ManagedEntry {
                    manager: e["manager"].as_str().unwrap_or_default().to_string(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                    api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                    time: e["time"].as_str().unwrap_or_default().to_string(),
                    subresource: e["subresource"].as_str().map(str::to_string),
                    fields: fieldset::from_fields_v1(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn write_managed(obj: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fieldset::to_fields_v1(&e.fields),
            });
            if let Some(sub) = &e.subresource {
                v["subresource"] = json!(sub);
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// The parts of an applied configuration that are the applier's to set.
fn applied_body(applied: &Value) -> Value {
    let mut body = applied.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "managedFields",
                "selfLink",
                "deletionTimestamp",
            ] {
                meta.remove(k);
            }
        }
    }
    body
}

/// Applies `applied` as `manager` over `live` (or over nothing, creating).
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    now: &str,
) -> Result<Value, Vec<Conflict>> {
    let applied = applied_body(applied);
    let mut obj = match live {
        Some(l) => l.clone(),
        None => json!({
            "apiVersion": applied["apiVersion"],
            "kind": applied["kind"],
            "metadata": {},
        }),
    };
    let mut entries = read_managed(&obj);
    let set = fieldset::fieldset_of(&applied);
    let is_mine = |e: &ManagedEntry| {
        e.manager == manager && e.operation == "Apply" && e.subresource.is_none()
    };

    let mut conflicts = Vec::new();
    for e in entries
        .iter()
        .filter(|e| e.manager != manager && e.subresource.is_none())
    {
        for p in set.intersection(&e.fields) {
            if fieldset::is_leaf(&set, p)
                && fieldset::get_at(&applied, p) != fieldset::get_at(&obj, p)
            {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    api_version: e.api_version.clone(),
                    path: p.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflicts);
        }
        for c in &conflicts {
            for e in entries.iter_mut().filter(|e| e.manager == c.manager) {
                e.fields.remove(&c.path);
            }
        }
    }

    let previous: FieldSet = entries
        .iter()
        .filter(|e| is_mine(e))
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    let others: Vec<&FieldSet> = entries
        .iter()
        .filter(|e| !is_mine(e))
        .map(|e| &e.fields)
        .collect();
    let dropped: Vec<&Path> = previous.difference(&set).collect();
    for p in dropped.into_iter().rev() {
        let owned_elsewhere = others.iter().any(|s| {
            s.range(p.clone()..)
                .next()
                .is_some_and(|q| q.starts_with(p))
        });
        if !owned_elsewhere {
            fieldset::remove_at(&mut obj, p);
        }
    }
    fieldset::merge(&mut obj, &applied, "");

    match entries.iter_mut().find(|e| is_mine(e)) {
        Some(e) => {
            if e.fields != set || e.api_version != api_version {
                e.fields = set;
                e.api_version = api_version.to_string();
                e.time = now.to_string();
            }
        }
        None => entries.push(ManagedEntry {
            manager: manager.to_string(),
            operation: "Apply".into(),
            api_version: api_version.to_string(),
            time: now.to_string(),
            subresource: None,
            fields: set,
        }),
    }
    write_managed(&mut obj, &entries);
    Ok(obj)
}

/// Records ownership for a create, update or non-apply patch by `manager` (operation Update):
/// it owns what it changed, and takes those fields from the others.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    now: &str,
) {
    let mut entries = old.map(read_managed).unwrap_or_default();
    let new_set = fieldset::fieldset_of(new);
    let changed: FieldSet = match old {
        None => new_set.clone(),
        Some(old) => new_set
            .iter()
            .filter(|p| {
                let before = fieldset::get_at(old, p);
                before.is_none()
                    || (fieldset::is_leaf(&new_set, p) && before != fieldset::get_at(new, p))
            })
            .cloned()
            .collect(),
    };
    let is_updater = |e: &ManagedEntry| {
        e.manager == manager && e.operation == "Update" && e.subresource.is_none()
    };
    for e in entries.iter_mut().filter(|e| e.subresource.is_none()) {
        e.fields = e.fields.intersection(&new_set).cloned().collect();
        if !is_updater(e) {
            e.fields = e.fields.difference(&changed).cloned().collect();
        }
    }
    if !changed.is_empty() {
        match entries.iter_mut().find(|e| is_updater(e)) {
            Some(e) => {
                e.fields.extend(changed);
                e.time = now.to_string();
                e.api_version = api_version.to_string();
            }
            None => entries.push(ManagedEntry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: api_version.to_string(),
                time: now.to_string(),
                subresource: None,
                fields: changed,
            }),
        }
    }
    write_managed(new, &entries);
}

/// The 409 the real server answers for apply conflicts.
pub fn conflict_error(conflicts: &[Conflict], qualified_plural: &str, name: &str) -> ApiError {
    let cause_message =
        |c: &Conflict| format!("conflict with \"{}\" using {}", c.manager, c.api_version);
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: {}: {}",
            cause_message(&conflicts[0]),
            fieldset::display(&conflicts[0].path)
        )
    } else {
        let mut by_manager: Vec<(String, Vec<String>)> = Vec::new();
        for c in conflicts {
            let head = format!("conflicts with \"{}\" using {}", c.manager, c.api_version);
            match by_manager.iter_mut().find(|(h, _)| *h == head) {
                Some((_, fields)) => fields.push(fieldset::display(&c.path)),
                None => by_manager.push((head, vec![fieldset::display(&c.path)])),
            }
        }
        let parts: Vec<String> = by_manager
            .iter()
            .map(|(head, fields)| {
                format!(
                    "{head}:\n{}",
                    fields
                        .iter()
                        .map(|f| format!("- {f}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
            .collect();
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            parts.join("\n")
        )
    };
    let (kind, group) = qualified_plural
        .split_once('.')
        .unwrap_or((qualified_plural, ""));
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| json!({"reason": "FieldManagerConflict", "message": cause_message(c), "field": fieldset::display(&c.path)}))
        .collect();
    ApiError::new(409, "Conflict", message).with_details(json!({
        "name": name, "group": group, "kind": kind, "causes": causes,
    }))
}

/// managedFields without times, for "did anything change" comparisons.
pub fn without_times(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(entries) = v["metadata"]["managedFields"].as_array_mut() {
        for e in entries {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
    }
    v
}

/// Whether `obj`'s non-metadata, non-status content differs from `other`'s (bumps generation).
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    strip(old) != strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(value: &str, extra: Option<&str>) -> Value {
        let mut data = json!({"a": value});
        if let Some(e) = extra {
            data["b"] = json!(e);
        }
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": data})
    }

    #[test]
    fn conflicts_then_force_moves_ownership() {
        let first = apply(None, &cm("1", None), "one", "v1", false, "t").unwrap();
        let err = apply(Some(&first), &cm("2", None), "two", "v1", false, "t").unwrap_err();
        assert_eq!(
            err,
            vec![Conflict {
                manager: "one".into(),
                api_version: "v1".into(),
                path: vec!["f:data".into(), "f:a".into()]
            }]
        );
        let msg = conflict_error(&err, "configmaps", "c").message;
        assert_eq!(
            msg,
            "Apply failed with 1 conflict: conflict with \"one\" using v1: .data.a"
        );
        // Same value: shared ownership, no conflict.
        assert!(apply(Some(&first), &cm("1", None), "two", "v1", false, "t").is_ok());
        let forced = apply(Some(&first), &cm("2", None), "two", "v1", true, "t").unwrap();
        assert_eq!(forced["data"]["a"], "2");
        let managers = read_managed(&forced);
        let one = managers.iter().find(|e| e.manager == "one").unwrap();
        assert!(
            !one.fields
                .contains(&vec!["f:data".to_string(), "f:a".to_string()])
        );
    }

    #[test]
    fn omitted_fields_are_removed_unless_owned_by_another() {
        let v1 = apply(None, &cm("1", Some("x")), "me", "v1", false, "t").unwrap();
        let v2 = apply(Some(&v1), &cm("1", None), "me", "v1", false, "t").unwrap();
        assert_eq!(v2["data"], json!({"a": "1"}));
        let shared = apply(Some(&v1), &cm("1", Some("x")), "other", "v1", false, "t").unwrap();
        let v3 = apply(Some(&shared), &cm("1", None), "me", "v1", false, "t").unwrap();
        assert_eq!(v3["data"], json!({"a": "1", "b": "x"}));
    }

    #[test]
    fn no_op_apply_keeps_times() {
        let v1 = apply(None, &cm("1", None), "me", "v1", false, "t1").unwrap();
        let v2 = apply(Some(&v1), &cm("1", None), "me", "v1", false, "t2").unwrap();
        assert_eq!(v1, v2);
    }

    #[test]
    fn updates_take_ownership_of_what_they_change() {
        let v1 = apply(None, &cm("1", None), "me", "v1", false, "t").unwrap();
        let mut v2 = v1.clone();
        v2["data"]["a"] = json!("edited");
        record_update(Some(&v1), &mut v2, "kubectl-edit", "v1", "t");
        let err = apply(Some(&v2), &cm("1", None), "me", "v1", false, "t").unwrap_err();
        assert_eq!(err[0].manager, "kubectl-edit");
    }
}
