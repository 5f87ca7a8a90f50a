//! Pod-bearing objects: where their pod template lives, their labels, replicas and containers.

use std::collections::BTreeMap;

use govdeploy_yaml::{Node, Value};

use crate::source::Object;

/// A pod template inside an object (a Pod is its own template).
#[derive(Debug)]
pub struct Workload<'a> {
    pub object: usize,
    pub kind: &'a str,
    pub namespace: &'a str,
    /// The template's `metadata` (None when it has none).
    pub meta: Option<&'a Node>,
    pub spec: &'a Node,
    pub labels: BTreeMap<&'a str, String>,
    /// `spec.replicas` as written (None when absent).
    pub replicas: Option<i64>,
    pub replicas_node: Option<&'a Node>,
}

impl Workload<'_> {
    /// Long-running workloads serve or consume for ever; Jobs and CronJobs run to completion.
    pub fn long_running(&self) -> bool {
        !matches!(self.kind, "Job" | "CronJob")
    }

    /// Whether the controller keeps a replica count (DaemonSets run one per node).
    pub fn replicated(&self) -> bool {
        matches!(
            self.kind,
            "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController"
        )
    }

    pub fn containers(&self) -> impl Iterator<Item = Container<'_>> {
        let main = self.spec.get("containers").map(Node::items).unwrap_or(&[]);
        let init = self
            .spec
            .get("initContainers")
            .map(Node::items)
            .unwrap_or(&[]);
        main.iter()
            .map(|n| Container {
                node: n,
                init: false,
            })
            .chain(init.iter().map(|n| Container {
                node: n,
                init: true,
            }))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    pub node: &'a Node,
    pub init: bool,
}

impl<'a> Container<'a> {
    pub fn name(&self) -> &'a str {
        self.node.get("name").and_then(Node::as_str).unwrap_or("?")
    }

    /// `container web` or `init container migrate`, for messages.
    pub fn label(&self) -> String {
        if self.init {
            format!("init container `{}`", self.name())
        } else {
            format!("container `{}`", self.name())
        }
    }

    pub fn get(&self, path: &[&str]) -> Option<&'a Node> {
        self.node.path(path)
    }

    /// Declared container ports: (name, number).
    pub fn ports(&self) -> Vec<(Option<&'a str>, Option<i64>)> {
        self.node
            .get("ports")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .map(|p| {
                (
                    p.get("name").and_then(Node::as_str),
                    p.get("containerPort").and_then(int),
                )
            })
            .collect()
    }
}

pub fn int(node: &Node) -> Option<i64> {
    match &node.value {
        Value::Int(i) => Some(*i),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn boolean(node: &Node) -> Option<bool> {
    match &node.value {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// A label or selector map as strings.
pub fn string_map(node: Option<&Node>) -> BTreeMap<&str, String> {
    node.map(Node::entries)
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| v.scalar_text().map(|t| (k.name.as_str(), t)))
        .collect()
}

/// The pod template of an object, if it carries one.
pub fn workload(index: usize, object: &Object) -> Option<Workload<'_>> {
    let root = &object.root;
    let (meta, spec) = match object.kind.as_str() {
        "Pod" => (root.get("metadata"), root.get("spec")?),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => (
            root.path(&["spec", "template", "metadata"]),
            root.path(&["spec", "template", "spec"])?,
        ),
        "CronJob" => (
            root.path(&["spec", "jobTemplate", "spec", "template", "metadata"]),
            root.path(&["spec", "jobTemplate", "spec", "template", "spec"])?,
        ),
        _ => return None,
    };
    let replicas_node = match object.kind.as_str() {
        "Pod" => None,
        _ => root.path(&["spec", "replicas"]),
    };
    Some(Workload {
        object: index,
        kind: &object.kind,
        namespace: &object.namespace,
        meta,
        spec,
        labels: string_map(meta.and_then(|m| m.get("labels"))),
        replicas: replicas_node.and_then(int),
        replicas_node,
    })
}

/// Millicores of a CPU quantity (`250m`, `1`, `1.5`).
pub fn cpu_millis(node: &Node) -> Option<f64> {
    let text = node.scalar_text()?;
    let text = text.trim();
    match text.strip_suffix('m') {
        Some(m) => m.parse::<f64>().ok(),
        None => text.parse::<f64>().ok().map(|c| c * 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        let q = |t: &str| {
            cpu_millis(&govdeploy_yaml::parse_single(t).unwrap_or_else(|e| panic!("{e}")))
        };
        assert_eq!(q("250m"), Some(250.0));
        assert_eq!(q("1"), Some(1000.0));
        assert_eq!(q("\"1.5\""), Some(1500.0));
        assert_eq!(q("abc"), None);
    }
}
