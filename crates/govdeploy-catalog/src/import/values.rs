//! Small helpers over chart values as JSON: Helm-style merging and lenient scalar reads
//! (DIGIT charts write `replicas: "1"` as often as `replicas: 1`).

use serde_json::Value;

/// Deep-merges `overlay` into `base` the way Helm merges values files: mappings merge key by
/// key, everything else is replaced; a `null` in the overlay deletes the key.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base_map), Value::Object(overlay_map)) => {
            for (key, value) in overlay_map {
                if value.is_null() {
                    base_map.remove(key);
                } else if let Some(existing) = base_map.get_mut(key) {
                    merge(existing, value);
                } else {
                    base_map.insert(key.clone(), value.clone());
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

pub fn get<'a>(values: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(values, |v, key| v.get(key))
}

/// A string, or the text of a number/bool.
pub fn text(values: &Value, path: &[&str]) -> Option<String> {
    match get(values, path)? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Go-template truthiness of a value, with the string "false" read as false as DIGIT intends.
pub fn truthy(values: &Value, path: &[&str]) -> bool {
    match get(values, path) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty() && s != "false",
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Null) | None => false,
    }
}

pub fn uint(values: &Value, path: &[&str]) -> Option<u64> {
    match get(values, path)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_is_deep_and_null_deletes() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "b": [1], "c": 3});
        merge(&mut base, &json!({"a": {"y": 5}, "b": [2, 3], "c": null}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 5}, "b": [2, 3]}));
    }

    #[test]
    fn lenient_reads() {
        let v = json!({"replicas": "2", "on": "true", "off": "false", "port": 80});
        assert_eq!(uint(&v, &["replicas"]), Some(2));
        assert!(truthy(&v, &["on"]));
        assert!(!truthy(&v, &["off"]));
        assert_eq!(text(&v, &["port"]).as_deref(), Some("80"));
    }
}
