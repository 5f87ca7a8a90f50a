//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for with `kubectl get`.

use crate::util;
use serde_json::{Value, json};
use std::time::SystemTime;

fn age(obj: &Value) -> String {
    let Some(created) = obj["metadata"]["creationTimestamp"].as_str() else {
        return "<unknown>".into();
    };
    let now = util::rfc3339(SystemTime::now());
    // Same-format timestamps: compare as seconds since the epoch via a coarse parse.
    let secs = |s: &str| -> Option<i64> {
        let (date, time) = s.trim_end_matches('Z').split_once('T')?;
        let d: Vec<i64> = date.split('-').filter_map(|x| x.parse().ok()).collect();
        let t: Vec<i64> = time
            .split(':')
            .filter_map(|x| x.split('.').next()?.parse().ok())
            .collect();
        if d.len() != 3 || t.len() != 3 {
            return None;
        }
        Some(((d[0] * 372 + d[1] * 31 + d[2]) * 86_400) + t[0] * 3600 + t[1] * 60 + t[2])
    };
    match (secs(created), secs(&now)) {
        (Some(a), Some(b)) => {
            let s = (b - a).max(0);
            if s < 120 {
                format!("{s}s")
            } else if s < 7200 {
                format!("{}m", s / 60)
            } else if s < 172_800 {
                format!("{}h", s / 3600)
            } else {
                format!("{}d", s / 86_400)
            }
        }
        _ => "<unknown>".into(),
    }
}

fn columns(kind: &str) -> Vec<(&'static str, &'static str)> {
    match kind {
        "Pod" => vec![
            ("Name", "name"),
            ("Ready", ""),
            ("Status", ""),
            ("Restarts", ""),
            ("Age", ""),
        ],
        "Deployment" => vec![
            ("Name", "name"),
            ("Ready", ""),
            ("Up-to-date", ""),
            ("Available", ""),
            ("Age", ""),
        ],
        "StatefulSet" => vec![("Name", "name"), ("Ready", ""), ("Age", "")],
        "Job" => vec![
            ("Name", "name"),
            ("Status", ""),
            ("Completions", ""),
            ("Age", ""),
        ],
        "Service" => vec![
            ("Name", "name"),
            ("Type", ""),
            ("Cluster-IP", ""),
            ("Age", ""),
        ],
        "Namespace" | "PersistentVolumeClaim" => {
            vec![("Name", "name"), ("Status", ""), ("Age", "")]
        }
        "ConfigMap" | "Secret" => vec![("Name", "name"), ("Data", ""), ("Age", "")],
        _ => vec![("Name", "name"), ("Age", "")],
    }
}

fn pod_status(pod: &Value) -> String {
    let statuses = pod["status"]["containerStatuses"].as_array();
    for s in statuses.into_iter().flatten() {
        if let Some(r) = s["state"]["waiting"]["reason"].as_str() {
            return r.to_string();
        }
        if let Some(r) = s["state"]["terminated"]["reason"].as_str() {
            return r.to_string();
        }
    }
    pod["status"]["phase"]
        .as_str()
        .unwrap_or("Pending")
        .to_string()
}

fn cells(kind: &str, obj: &Value) -> Vec<Value> {
    let name = json!(obj["metadata"]["name"]);
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    match kind {
        "Pod" => {
            let cs = obj["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let ready = cs.iter().filter(|c| c["ready"] == true).count();
            let total = obj["spec"]["containers"].as_array().map_or(0, Vec::len);
            let restarts: i64 = cs.iter().map(|c| n(&c["restartCount"])).sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status(obj)),
                json!(restarts),
                json!(age(obj)),
            ]
        }
        "Deployment" => {
            let s = &obj["status"];
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(&s["readyReplicas"]),
                    obj["spec"]["replicas"].as_i64().unwrap_or(1)
                )),
                json!(n(&s["updatedReplicas"])),
                json!(n(&s["availableReplicas"])),
                json!(age(obj)),
            ]
        }
        "StatefulSet" => vec![
            name,
            json!(format!(
                "{}/{}",
                n(&obj["status"]["readyReplicas"]),
                obj["spec"]["replicas"].as_i64().unwrap_or(1)
            )),
            json!(age(obj)),
        ],
        "Job" => {
            let done = obj["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| {
                    c["status"] == "True" && (c["type"] == "Complete" || c["type"] == "Failed")
                });
            let status = match done.and_then(|c| c["type"].as_str()) {
                Some(t) => t.to_string(),
                None => "Running".into(),
            };
            vec![
                name,
                json!(status),
                json!(format!(
                    "{}/{}",
                    n(&obj["status"]["succeeded"]),
                    obj["spec"]["completions"].as_i64().unwrap_or(1)
                )),
                json!(age(obj)),
            ]
        }
        "Service" => vec![
            name,
            obj["spec"]["type"].clone(),
            obj["spec"]["clusterIP"].clone(),
            json!(age(obj)),
        ],
        "Namespace" | "PersistentVolumeClaim" => {
            vec![name, obj["status"]["phase"].clone(), json!(age(obj))]
        }
        "ConfigMap" | "Secret" => {
            let count = obj["data"].as_object().map_or(0, |m| m.len())
                + obj["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(count), json!(age(obj))]
        }
        _ => vec![name, json!(age(obj))],
    }
}

fn partial(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

/// A Table of `items` (all of kind `kind`); `include_object` is the request's includeObject.
pub fn table(kind: &str, items: &[Value], resource_version: &str, include_object: &str) -> Value {
    let cols: Vec<Value> = columns(kind)
        .iter()
        .map(|(name, format)| json!({"name": name, "type": "string", "format": format, "description": name, "priority": 0}))
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = match include_object {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => partial(o),
            };
            json!({"cells": cells(kind, o), "object": object})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version}, "columnDefinitions": cols, "rows": rows})
}
