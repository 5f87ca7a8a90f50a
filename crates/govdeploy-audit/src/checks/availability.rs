//! Availability: replicas, spreading, PodDisruptionBudgets and HorizontalPodAutoscalers, checked
//! against each other (an HPA's minimum is the replica count that counts).

use std::collections::{HashMap, HashSet};

use govdeploy_yaml::{Node, Value};

use super::Ctx;
use crate::config::Profile;
use crate::rules;
use crate::selector::Selector;
use crate::workload::int;

pub fn check(ctx: &mut Ctx<'_>) {
    let hpas = autoscalers(ctx);
    let index = ctx.index;
    let effective = |w: usize| -> i64 {
        let workload = &index.workloads[w];
        hpas.get(&workload.object)
            .map_or_else(|| workload.replicas.unwrap_or(1), |(min, _)| *min)
    };
    let covered = disruption_budgets(ctx, &effective);
    for (w, workload) in index.workloads.iter().enumerate() {
        if !workload.replicated() {
            continue;
        }
        let replicas = effective(w);
        let max = hpas.get(&workload.object).map_or(replicas, |(_, max)| *max);
        if replicas < 2 && max > 0 {
            let how = if hpas.contains_key(&workload.object) {
                "its HorizontalPodAutoscaler's minReplicas"
            } else {
                "spec.replicas"
            };
            ctx.hit(
                &rules::REPLICAS,
                workload.object,
                workload.replicas_node,
                format!("runs {replicas} replica ({how}): one node drain or crash takes it down; run at least 2"),
            );
        }
        if max > 1 && !spread(workload.spec) {
            ctx.hit(
                &rules::SPREAD,
                workload.object,
                Some(workload.spec),
                "replicas may all land on one node: add a topologySpreadConstraint (or pod anti-affinity) on `kubernetes.io/hostname`",
            );
        }
        if replicas > 1 && !covered.contains(&w) {
            ctx.hit(
                &rules::PDB_MISSING,
                workload.object,
                None,
                "no PodDisruptionBudget selects its pods: a node drain may evict every replica at once; add one with `maxUnavailable: 1`",
            );
        }
        if workload.kind == "Deployment"
            && !hpas.contains_key(&workload.object)
            && workload.long_running()
        {
            ctx.hit(
                &rules::HPA_MISSING,
                workload.object,
                None,
                "stateless service without a HorizontalPodAutoscaler: add one (minReplicas >= 2) and drop the fixed replicas",
            );
        }
    }
}

fn spread(spec: &Node) -> bool {
    let by_host =
        |n: &Node| n.get("topologyKey").and_then(Node::as_str) == Some("kubernetes.io/hostname");
    let constraints = spec
        .get("topologySpreadConstraints")
        .map(Node::items)
        .unwrap_or(&[]);
    let anti = spec.path(&["affinity", "podAntiAffinity"]);
    let required = anti
        .and_then(|a| a.get("requiredDuringSchedulingIgnoredDuringExecution"))
        .map(Node::items)
        .unwrap_or(&[]);
    let preferred = anti
        .and_then(|a| a.get("preferredDuringSchedulingIgnoredDuringExecution"))
        .map(Node::items)
        .unwrap_or(&[]);
    constraints.iter().any(by_host)
        || required.iter().any(by_host)
        || preferred
            .iter()
            .filter_map(|p| p.get("podAffinityTerm"))
            .any(by_host)
}

/// HPAs by the object index of their target: (minReplicas, maxReplicas).
fn autoscalers(ctx: &mut Ctx<'_>) -> HashMap<usize, (i64, i64)> {
    let index = ctx.index;
    let production = ctx.config.profile == Profile::Production;
    let mut targets = HashMap::new();
    for (i, hpa) in index.of_kind("HorizontalPodAutoscaler") {
        let spec = hpa.root.get("spec");
        let min_node = spec.and_then(|s| s.get("minReplicas"));
        let min = min_node.and_then(int).unwrap_or(1);
        let max_node = spec.and_then(|s| s.get("maxReplicas"));
        let max = max_node.and_then(int).unwrap_or(0);
        let target = spec.and_then(|s| s.get("scaleTargetRef"));
        let kind = target
            .and_then(|t| t.get("kind"))
            .and_then(Node::as_str)
            .unwrap_or("");
        let name = target
            .and_then(|t| t.get("name"))
            .and_then(Node::as_str)
            .unwrap_or("");
        if min > max {
            ctx.hit(&rules::HPA_NUMBERS, i, max_node.or(spec), format!("minReplicas {min} is above maxReplicas {max}: make maxReplicas at least minReplicas"));
        } else if production && min < 2 {
            ctx.hit(&rules::HPA_NUMBERS, i, min_node.or(spec), format!("minReplicas is {min}: in production keep at least 2 so one pod can fail or be evicted"));
        }
        match index.position(kind, &hpa.namespace, name) {
            None => ctx.hit(&rules::HPA_TARGET, i, target, format!("scaleTargetRef {kind} `{name}` is not in namespace `{}`: fix the reference or add the workload", hpa.namespace)),
            Some(object) => {
                if let Some(w) = index.workload_of(object)
                    && let Some(node) = index.workloads[w].replicas_node
                {
                    ctx.hit(&rules::HPA_NUMBERS, object, Some(node), format!("sets `replicas` although HorizontalPodAutoscaler `{}` manages it: every apply resets the count; drop spec.replicas", hpa.name));
                }
                targets.insert(object, (min, max));
            }
        }
    }
    targets
}

/// Checks every PDB; returns the workloads (indices) some PDB covers.
fn disruption_budgets(ctx: &mut Ctx<'_>, effective: &dyn Fn(usize) -> i64) -> HashSet<usize> {
    let index = ctx.index;
    let mut covered = HashSet::new();
    for (i, pdb) in index.of_kind("PodDisruptionBudget") {
        let spec = pdb.root.get("spec");
        let selector_node = spec.and_then(|s| s.get("selector"));
        let selected = index.select(&pdb.namespace, &Selector::label_selector(selector_node));
        if selected.is_empty() {
            ctx.hit(&rules::PDB_ORPHAN, i, selector_node.or(spec), format!("the selector matches no pod template in namespace `{}`: make it match the workload's pod labels", pdb.namespace));
        }
        let min = spec.and_then(|s| s.get("minAvailable"));
        let max = spec.and_then(|s| s.get("maxUnavailable"));
        for &w in &selected {
            covered.insert(w);
            let replicas = effective(w);
            let name = &index.objects[index.workloads[w].object].name;
            let blocks = match (min, max) {
                (Some(m), _) => match &m.value {
                    Value::String(p) if p.ends_with('%') => p
                        .trim_end_matches('%')
                        .parse::<f64>()
                        .is_ok_and(|v| v >= 100.0),
                    _ => int(m).is_some_and(|m| m >= replicas),
                },
                (None, Some(m)) => match &m.value {
                    Value::String(p) if p.ends_with('%') => p
                        .trim_end_matches('%')
                        .parse::<f64>()
                        .is_ok_and(|v| v <= 0.0),
                    _ => int(m) == Some(0),
                },
                (None, None) => false,
            };
            if blocks {
                ctx.hit(&rules::PDB_BLOCKS, i, min.or(max), format!("with {replicas} replica(s) of `{name}` this budget allows no eviction, so node drains hang: use `maxUnavailable: 1` (or minAvailable below the replica count)"));
            }
        }
    }
    covered
}
