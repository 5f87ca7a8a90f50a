//! The namespace-aware index every cross-resource rule reads: objects by kind/namespace/name,
//! workloads by namespace and by label, so selectors are resolved without scanning everything.

use std::collections::{BTreeSet, HashMap};

use govdeploy_yaml::Node;

use crate::selector::Selector;
use crate::source::Object;
use crate::workload::{Workload, workload};

pub struct Index<'a> {
    pub objects: &'a [Object],
    pub workloads: Vec<Workload<'a>>,
    by_name: HashMap<(&'a str, &'a str, &'a str), usize>,
    workloads_in: HashMap<&'a str, Vec<usize>>,
    by_label: HashMap<(&'a str, &'a str, String), Vec<usize>>,
}

impl<'a> Index<'a> {
    pub fn new(objects: &'a [Object]) -> Index<'a> {
        let mut by_name = HashMap::with_capacity(objects.len());
        let mut workloads = Vec::new();
        let mut workloads_in: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_label: HashMap<(&str, &str, String), Vec<usize>> = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            by_name
                .entry((
                    object.kind.as_str(),
                    object.namespace.as_str(),
                    object.name.as_str(),
                ))
                .or_insert(i);
            if let Some(w) = workload(i, object) {
                let at = workloads.len();
                workloads_in.entry(w.namespace).or_default().push(at);
                for (k, v) in &w.labels {
                    by_label
                        .entry((w.namespace, k, v.clone()))
                        .or_default()
                        .push(at);
                }
                workloads.push(w);
            }
        }
        Index {
            objects,
            workloads,
            by_name,
            workloads_in,
            by_label,
        }
    }

    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a Object> {
        self.position(kind, namespace, name)
            .map(|i| &self.objects[i])
    }

    /// Index of the object with this kind, namespace and name.
    pub fn position(&self, kind: &str, namespace: &str, name: &str) -> Option<usize> {
        self.by_name.get(&(kind, namespace, name)).copied()
    }

    pub fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = (usize, &'a Object)> + 's {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, o)| o.kind == kind)
    }

    /// Workloads (indices into `workloads`) whose pods the selector selects in a namespace.
    pub fn select(&self, namespace: &str, selector: &Selector) -> Vec<usize> {
        // Narrow by the rarest required label, so a label every pod carries (`instance`,
        // `part-of`) never turns matching into a scan of the namespace per selector.
        let rarest = selector
            .labels
            .iter()
            .map(|(k, v)| {
                self.by_label
                    .get(&(namespace, k.as_str(), v.clone()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|c| c.len());
        let candidates: &[usize] = match rarest {
            Some(c) => c,
            None => self.workloads_in.get(namespace).map_or(&[], Vec::as_slice),
        };
        candidates
            .iter()
            .copied()
            .filter(|&w| selector.matches(&self.workloads[w].labels))
            .collect()
    }

    /// The workload an object (a Deployment...) is, if any.
    pub fn workload_of(&self, object: usize) -> Option<usize> {
        self.workloads
            .binary_search_by_key(&object, |w| w.object)
            .ok()
    }

    /// Namespaces that run pods.
    pub fn pod_namespaces(&self) -> BTreeSet<&'a str> {
        self.workloads.iter().map(|w| w.namespace).collect()
    }

    /// Keys of a ConfigMap or Secret, if it is in the input.
    pub fn keys(&self, kind: &str, namespace: &str, name: &str) -> Option<BTreeSet<&'a str>> {
        let object = self.find(kind, namespace, name)?;
        let mut keys = BTreeSet::new();
        for field in ["data", "binaryData", "stringData"] {
            for (k, _) in object.root.get(field).map(Node::entries).unwrap_or(&[]) {
                keys.insert(k.name.as_str());
            }
        }
        Some(keys)
    }
}
