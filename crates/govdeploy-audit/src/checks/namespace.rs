//! Per namespace: a LimitRange and a ResourceQuota wherever pods run, and no default CPU limit.

use std::collections::BTreeSet;

use super::Ctx;
use crate::rules;

/// Where a namespace-level finding is reported: the Namespace object when it is in the input,
/// else the first workload of the namespace.
pub fn anchor(ctx: &Ctx<'_>, namespace: &str) -> Option<usize> {
    let index = ctx.index;
    index
        .objects
        .iter()
        .position(|o| o.kind == "Namespace" && o.name == namespace)
        .or_else(|| {
            index
                .workloads
                .iter()
                .find(|w| w.namespace == namespace)
                .map(|w| w.object)
        })
}

pub fn check(ctx: &mut Ctx<'_>) {
    let index = ctx.index;
    let with = |kind: &str| -> BTreeSet<&str> {
        index
            .of_kind(kind)
            .map(|(_, o)| o.namespace.as_str())
            .collect()
    };
    let limit_ranges = with("LimitRange");
    let quotas = with("ResourceQuota");
    for namespace in index.pod_namespaces() {
        let Some(at) = anchor(ctx, namespace) else {
            continue;
        };
        if !limit_ranges.contains(namespace) {
            ctx.hit(&rules::NS_LIMITRANGE, at, None, format!("namespace `{namespace}` runs pods but has no LimitRange: add one giving containers default memory requests = limits and CPU requests (no CPU limit)"));
        }
        if !quotas.contains(namespace) {
            ctx.hit(&rules::NS_QUOTA, at, None, format!("namespace `{namespace}` runs pods but has no ResourceQuota: add one capping requests.cpu, requests.memory and limits.memory"));
        }
    }
    for (i, lr) in index.of_kind("LimitRange") {
        for limit in lr
            .root
            .path(&["spec", "limits"])
            .map(govdeploy_yaml::Node::items)
            .unwrap_or(&[])
        {
            if let Some(cpu) = limit.path(&["default", "cpu"]) {
                ctx.hit(&rules::NS_LIMITRANGE_CPU, i, Some(cpu), "the LimitRange gives every container a default CPU limit: keep `defaultRequest.cpu` and remove `default.cpu`");
            }
        }
    }
}
