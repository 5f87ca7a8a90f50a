//! Label selectors: the plain maps of Services and the `matchLabels`/`matchExpressions` of
//! PodDisruptionBudgets and NetworkPolicies, with Kubernetes' semantics (an empty selector
//! selects everything in its namespace).

use std::collections::BTreeMap;

use govdeploy_yaml::Node;

use crate::workload::string_map;

#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    pub labels: BTreeMap<String, String>,
    pub expressions: Vec<Requirement>,
}

impl Selector {
    /// A Service's `spec.selector` (a plain map).
    pub fn plain(node: Option<&Node>) -> Selector {
        Selector {
            labels: owned(string_map(node)),
            expressions: Vec::new(),
        }
    }

    /// A `LabelSelector` (`matchLabels`, `matchExpressions`).
    pub fn label_selector(node: Option<&Node>) -> Selector {
        let Some(node) = node else {
            return Selector::default();
        };
        let expressions = node
            .get("matchExpressions")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| {
                let key = e.get("key")?.scalar_text()?;
                let values: Vec<String> = e
                    .get("values")
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(Node::scalar_text)
                    .collect();
                match e.get("operator")?.as_str()? {
                    "In" => Some(Requirement::In(key, values)),
                    "NotIn" => Some(Requirement::NotIn(key, values)),
                    "Exists" => Some(Requirement::Exists(key)),
                    "DoesNotExist" => Some(Requirement::DoesNotExist(key)),
                    _ => None,
                }
            })
            .collect();
        Selector {
            labels: owned(string_map(node.get("matchLabels"))),
            expressions,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<&str, String>) -> bool {
        self.labels
            .iter()
            .all(|(k, v)| labels.get(k.as_str()) == Some(v))
            && self.expressions.iter().all(|e| match e {
                Requirement::In(k, vs) => labels.get(k.as_str()).is_some_and(|v| vs.contains(v)),
                Requirement::NotIn(k, vs) => labels.get(k.as_str()).is_none_or(|v| !vs.contains(v)),
                Requirement::Exists(k) => labels.contains_key(k.as_str()),
                Requirement::DoesNotExist(k) => !labels.contains_key(k.as_str()),
            })
    }
}

fn owned(map: BTreeMap<&str, String>) -> BTreeMap<String, String> {
    map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        govdeploy_yaml::parse_single(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn expressions_follow_kubernetes_semantics() {
        let s = Selector::label_selector(Some(&node(
            "matchLabels: {app: web}\nmatchExpressions: [{key: tier, operator: In, values: [a, b]}, {key: canary, operator: DoesNotExist}]",
        )));
        let labels = |pairs: &[(&'static str, &str)]| -> BTreeMap<&'static str, String> {
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
        };
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "c")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "a"), ("canary", "1")])));
        assert!(Selector::label_selector(Some(&node("{}"))).matches(&labels(&[])));
    }
}
