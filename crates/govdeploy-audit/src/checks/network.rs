//! NetworkPolicy: a default-deny policy in every namespace that runs pods, and every pod
//! selected by some policy. A pod that only a default-deny selects counts as covered: it is
//! isolated, which is the point of the rule.

use std::collections::HashSet;

use govdeploy_yaml::Node;

use super::Ctx;
use crate::rules;
use crate::selector::Selector;

/// A policy that selects every pod and allows no ingress.
fn default_deny(policy: &Node) -> bool {
    let spec = policy.get("spec");
    let selector = Selector::label_selector(spec.and_then(|s| s.get("podSelector")));
    let types: Vec<&str> = spec
        .and_then(|s| s.get("policyTypes"))
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::as_str)
        .collect();
    let denies_ingress = types.is_empty() || types.contains(&"Ingress");
    let ingress_rules = spec
        .and_then(|s| s.get("ingress"))
        .map(Node::items)
        .unwrap_or(&[]);
    selector.is_empty() && denies_ingress && ingress_rules.is_empty()
}

pub fn check(ctx: &mut Ctx<'_>) {
    let index = ctx.index;
    let mut denied: HashSet<&str> = HashSet::new();
    let mut covered: HashSet<usize> = HashSet::new();
    for (_, policy) in index.of_kind("NetworkPolicy") {
        if default_deny(&policy.root) {
            denied.insert(&policy.namespace);
        }
        let selector = Selector::label_selector(policy.root.path(&["spec", "podSelector"]));
        covered.extend(index.select(&policy.namespace, &selector));
    }
    for namespace in index.pod_namespaces() {
        if !denied.contains(namespace)
            && let Some(at) = super::namespace::anchor(ctx, namespace)
        {
            ctx.hit(&rules::NETPOL_DEFAULT_DENY, at, None, format!("namespace `{namespace}` has no default-deny NetworkPolicy: add one with `podSelector: {{}}`, policyTypes [Ingress, Egress] and no rules, then allow what each component needs"));
        }
    }
    for (w, workload) in index.workloads.iter().enumerate() {
        if !covered.contains(&w) {
            ctx.hit(&rules::NETPOL_UNCOVERED, workload.object, workload.meta, "no NetworkPolicy selects these pods: anything in the cluster can reach them; add a policy that allows only their callers");
        }
    }
}
