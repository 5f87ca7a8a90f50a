//! Non-apply patches: JSON merge patch (RFC 7386), strategic merge patch for the cases kubectl
//! uses (list-maps merged by key, `$patch: delete`/`replace`, directives stripped) and JSON patch
//! (RFC 6902).

use crate::fieldset::{self, ListKind};
use serde_json::Value;

/// RFC 7386.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(pm) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Some(tm) = target.as_object_mut() {
                for (k, v) in pm {
                    if v.is_null() {
                        tm.remove(k);
                    } else {
                        merge_patch(tm.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Strategic merge patch, simplified: maps merge, null deletes, list-maps (the same merge keys as
/// server-side apply) merge by key, other lists are replaced.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value, field: &str) {
    match patch {
        Value::Object(pm) => {
            if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
                let mut replaced = patch.clone();
                strip_directives(&mut replaced);
                *target = replaced;
                return;
            }
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let Some(tm) = target.as_object_mut() else {
                return;
            };
            for (k, v) in pm {
                if k.starts_with('$') {
                    continue;
                }
                if let Some(rest) = k.strip_prefix("$setElementOrder/") {
                    let _ = rest;
                    continue;
                }
                if v.is_null() {
                    tm.remove(k);
                } else {
                    strategic_merge_patch(tm.entry(k.clone()).or_insert(Value::Null), v, k);
                }
            }
        }
        Value::Array(items) => {
            let kind = fieldset::list_kind(field, items);
            match (kind, target.as_array_mut()) {
                (ListKind::Map(keys), Some(live)) => {
                    for item in items {
                        let el = fieldset::key_element(item, &keys);
                        let pos = live
                            .iter()
                            .position(|l| fieldset::key_element(l, &keys) == el);
                        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                        match (pos, delete) {
                            (Some(p), true) => {
                                live.remove(p);
                            }
                            (None, true) => {}
                            (Some(p), false) => strategic_merge_patch(&mut live[p], item, ""),
                            (None, false) => {
                                let mut fresh = item.clone();
                                strip_directives(&mut fresh);
                                live.push(fresh);
                            }
                        }
                    }
                }
                _ => {
                    let mut replaced = patch.clone();
                    strip_directives(&mut replaced);
                    *target = replaced;
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

fn pointer_parts(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let rest = p
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {p:?}"))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn add_at(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let parts = pointer_parts(path)?;
    let Some((last, parents)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    let mut cur = doc;
    for p in parents {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(p)
                .ok_or_else(|| format!("path {path} does not exist"))?,
            Value::Array(a) => p
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get_mut(i))
                .ok_or_else(|| format!("path {path} does not exist"))?,
            _ => return Err(format!("path {path} does not exist")),
        };
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) if last == "-" => {
            a.push(value);
            Ok(())
        }
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i <= a.len() => {
                a.insert(i, value);
                Ok(())
            }
            _ => Err(format!("index out of range at {path}")),
        },
        _ => Err(format!("path {path} does not exist")),
    }
}

fn remove_pointer(doc: &mut Value, path: &str) -> Result<Value, String> {
    let parts = pointer_parts(path)?;
    let Some((last, parents)) = parts.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    let parent_ptr: String = parents
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect();
    let parent = doc
        .pointer_mut(&parent_ptr)
        .ok_or_else(|| format!("path {path} does not exist"))?;
    match parent {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("path {path} does not exist")),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Ok(a.remove(i)),
            _ => Err(format!("index out of range at {path}")),
        },
        _ => Err(format!("path {path} does not exist")),
    }
}

/// RFC 6902.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for op in ops {
        let path = op["path"]
            .as_str()
            .ok_or("every operation needs a \"path\"")?;
        match op["op"].as_str() {
            Some("add") => add_at(doc, path, op["value"].clone())?,
            Some("remove") => {
                remove_pointer(doc, path)?;
            }
            Some("replace") => {
                remove_pointer(doc, path)?;
                add_at(doc, path, op["value"].clone())?;
            }
            Some("test") => {
                if doc.pointer(path) != Some(&op["value"]) {
                    return Err(format!("test failed at {path}"));
                }
            }
            Some("move") | Some("copy") => {
                let from = op["from"].as_str().ok_or("move and copy need \"from\"")?;
                let value = if op["op"] == "move" {
                    remove_pointer(doc, from)?
                } else {
                    doc.pointer(from)
                        .cloned()
                        .ok_or_else(|| format!("path {from} does not exist"))?
                };
                add_at(doc, path, value)?;
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_containers_by_name() {
        let mut d = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}});
        strategic_merge_patch(
            &mut d,
            &json!({"spec": {"containers": [{"name": "b", "image": "3"}]}}),
            "",
        );
        assert_eq!(d["spec"]["containers"][1]["image"], "3");
        assert_eq!(d["spec"]["containers"][0]["image"], "1");
    }

    #[test]
    fn merge_patch_deletes_with_null() {
        let mut d = json!({"a": {"b": 1, "c": 2}});
        merge_patch(&mut d, &json!({"a": {"b": null}}));
        assert_eq!(d, json!({"a": {"c": 2}}));
    }

    #[test]
    fn json_patch_ops() {
        let mut d = json!({"a": [1, 2]});
        json_patch(&mut d, &json!([{"op": "add", "path": "/a/-", "value": 3}, {"op": "replace", "path": "/a/0", "value": 0}])).unwrap();
        assert_eq!(d, json!({"a": [0, 2, 3]}));
        assert!(json_patch(&mut d, &json!([{"op": "test", "path": "/a/0", "value": 9}])).is_err());
    }
}
