//! The apply graph: what is applied together (a node) and what each node waits for.
//!
//! Nodes, from the plan's component graph and the rendered objects:
//! - `namespaces`: the Namespace objects;
//! - `crds`: CustomResourceDefinitions (their custom resources wait for them);
//! - `shared`: every other object outside a component (LimitRanges, quotas, namespace
//!   NetworkPolicies, shared ConfigMaps and Secrets);
//! - `<component>/migration`: a component's migration Job with what the Job reads (its
//!   ServiceAccount, ConfigMaps, Secrets, NetworkPolicies). It waits only for the database it
//!   migrates, so schemas are migrated while the services the component calls roll out;
//! - `<component>`: the rest (workload, Services, PDB, HPA, Ingress), after its migration and
//!   every component it needs. Members of a strongly connected group wait for the union of
//!   the group's outside needs and not for each other, so they start together.

use std::collections::{BTreeMap, BTreeSet};

use govdeploy_plan::Plan;
use govdeploy_render::{Object, Rendered};
use serde::Serialize;

pub type NodeId = usize;

pub const NAMESPACES: &str = "namespaces";
pub const CRDS: &str = "crds";
pub const SHARED: &str = "shared";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    Namespaces,
    Crds,
    Shared,
    Migration,
    Component,
}

/// One unit of apply and health gating.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: NodeId,
    /// `namespaces`, `shared`, `egov-user/migration`, `egov-user`.
    pub name: String,
    pub kind: NodeKind,
    pub component: Option<String>,
    /// In apply order.
    pub objects: Vec<Object>,
    /// Sorted, no duplicates.
    pub needs: Vec<NodeId>,
    /// Longest chain of needs below it (0 for roots).
    pub level: usize,
    /// The catalogue's expected seconds to ready (0 when nothing is waited for).
    pub expected_seconds: u32,
}

/// Every node; `nodes[i].id == i`.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

/// Kinds applied with a migration Job because the Job reads them.
const MIGRATION_PREREQUISITES: &[&str] = &[
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
];

fn is_crd(o: &Object) -> bool {
    o.kind == "CustomResourceDefinition"
}

fn is_migration_job(o: &Object) -> bool {
    o.kind == "Job" && o.api_version == "batch/v1"
}

/// `(group, kind)` defined by a CRD object.
fn crd_defines(o: &Object) -> Option<(String, String)> {
    let spec = o.body.get("spec")?;
    Some((
        spec.get("group")?.as_str()?.to_string(),
        spec.pointer("/names/kind")?.as_str()?.to_string(),
    ))
}

fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

impl Graph {
    /// Builds the graph of a rendered plan.
    pub fn build(plan: &Plan, rendered: &Rendered) -> Graph {
        let mut graph = Graph::default();
        let mut namespaces = Vec::new();
        let mut crds = Vec::new();
        let mut shared = Vec::new();
        let mut per_component: BTreeMap<String, Vec<Object>> = BTreeMap::new();
        let mut component_order = Vec::new();
        for file in &rendered.files {
            for object in &file.objects {
                if object.kind == "Namespace" {
                    namespaces.push(object.clone());
                } else if is_crd(object) {
                    crds.push(object.clone());
                } else if let Some(c) = &file.component {
                    if !per_component.contains_key(c) {
                        component_order.push(c.clone());
                    }
                    per_component
                        .entry(c.clone())
                        .or_default()
                        .push(object.clone());
                } else {
                    shared.push(object.clone());
                }
            }
        }
        let custom_kinds: BTreeSet<(String, String)> =
            crds.iter().filter_map(crd_defines).collect();
        let is_custom = |o: &Object| {
            custom_kinds.contains(&(group_of(&o.api_version).to_string(), o.kind.clone()))
        };

        let ns_id = graph.push(
            NAMESPACES,
            NodeKind::Namespaces,
            None,
            namespaces,
            vec![],
            0,
        );
        let crd_id = (!crds.is_empty())
            .then(|| graph.push(CRDS, NodeKind::Crds, None, crds, vec![ns_id], 0));
        let shared_custom = shared.iter().any(is_custom);
        let mut shared_needs = vec![ns_id];
        shared_needs.extend(crd_id.filter(|_| shared_custom));
        let shared_id = graph.push(SHARED, NodeKind::Shared, None, shared, shared_needs, 0);

        // Components the plan knows, in plan order, even when nothing was rendered for them
        // (cert-manager, image-less ones): dependents still name them.
        for group in &plan.groups {
            for member in &group.members {
                if !per_component.contains_key(member) {
                    component_order.push(member.clone());
                }
            }
        }
        let postgres_provider = plan
            .backbone
            .get("postgres")
            .and_then(|b| b.provider.clone());

        let mut migration_of: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut component_id: BTreeMap<String, NodeId> = BTreeMap::new();
        let mut pending_needs: Vec<(NodeId, String)> = Vec::new();
        for name in &component_order {
            let objects = per_component.remove(name).unwrap_or_default();
            let planned = plan.components.get(name);
            let ready = planned.map_or(0, |p| p.ready_seconds);
            let migration_seconds =
                planned.map_or(0, |p| p.duration_seconds.saturating_sub(p.ready_seconds));
            let custom = objects.iter().any(is_custom);
            let (migration, rest): (Vec<Object>, Vec<Object>) =
                if objects.iter().any(is_migration_job) {
                    objects.into_iter().partition(|o| {
                        is_migration_job(o) || MIGRATION_PREREQUISITES.contains(&o.kind.as_str())
                    })
                } else {
                    (Vec::new(), objects)
                };
            let mut base = vec![shared_id];
            base.extend(crd_id.filter(|_| custom));
            let mut needs = base.clone();
            if !migration.is_empty() {
                let id = graph.push(
                    &format!("{name}/migration"),
                    NodeKind::Migration,
                    Some(name),
                    migration,
                    base,
                    migration_seconds,
                );
                if let Some(pg) = &postgres_provider
                    && pg != name
                {
                    pending_needs.push((id, pg.clone()));
                }
                migration_of.insert(name.clone(), id);
                needs.push(id);
            }
            let id = graph.push(name, NodeKind::Component, Some(name), rest, needs, ready);
            component_id.insert(name.clone(), id);
        }

        // Component needs, with strongly connected groups sharing their outside needs.
        for group in &plan.groups {
            let members: BTreeSet<&String> = group.members.iter().collect();
            let outside: BTreeSet<&String> = plan
                .edges
                .iter()
                .filter(|e| members.contains(&e.from) && !members.contains(&e.to))
                .map(|e| &e.to)
                .collect();
            for member in &members {
                if let Some(&id) = component_id.get(*member) {
                    for to in &outside {
                        pending_needs.push((id, (*to).clone()));
                    }
                }
            }
        }
        // A migration's database need is the database component, never its migration.
        for (from, to) in pending_needs {
            if let Some(&target) = component_id.get(&to) {
                graph.nodes[from].needs.push(target);
            }
        }
        for node in &mut graph.nodes {
            node.needs.sort_unstable();
            node.needs.dedup();
        }
        graph.compute_levels();
        graph
    }

    fn push(
        &mut self,
        name: &str,
        kind: NodeKind,
        component: Option<&String>,
        objects: Vec<Object>,
        needs: Vec<NodeId>,
        expected_seconds: u32,
    ) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node {
            id,
            name: name.to_string(),
            kind,
            component: component.cloned(),
            objects,
            needs,
            level: 0,
            expected_seconds,
        });
        id
    }

    /// Levels by longest path. Needs always point at nodes pushed earlier or at component
    /// nodes; iterate to a fixed point, bounded by the node count (a cycle cannot occur:
    /// groups were condensed by the plan).
    fn compute_levels(&mut self) {
        for _ in 0..self.nodes.len() {
            let mut changed = false;
            for i in 0..self.nodes.len() {
                let level = self.nodes[i]
                    .needs
                    .iter()
                    .map(|&n| self.nodes[n].level + 1)
                    .max()
                    .unwrap_or(0);
                if level != self.nodes[i].level {
                    self.nodes[i].level = level;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Nodes that (transitively) need `id`.
    pub fn dependents(&self, id: NodeId) -> BTreeSet<NodeId> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![id];
        while let Some(current) = frontier.pop() {
            for node in &self.nodes {
                if node.needs.contains(&current) && out.insert(node.id) {
                    frontier.push(node.id);
                }
            }
        }
        out
    }

    /// Lower bound of the wall time when each node takes `seconds(node)` once its needs are
    /// ready: the longest weighted path.
    pub fn critical_path(&self, seconds: impl Fn(&Node) -> f64) -> f64 {
        let mut order: Vec<NodeId> = (0..self.nodes.len()).collect();
        order.sort_by_key(|&i| self.nodes[i].level);
        let mut finish = vec![0.0f64; self.nodes.len()];
        for i in order {
            let start = self.nodes[i]
                .needs
                .iter()
                .map(|&n| finish[n])
                .fold(0.0, f64::max);
            finish[i] = start + seconds(&self.nodes[i]);
        }
        finish.into_iter().fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests;
