//! Capacity fit: do the pods' requests fit the declared worker nodes?
//!
//! Allocatable per node = declared minus a system reserve (memory rounded down to whole MiB): [`SYSTEM_RESERVE_CPU_MILLICORES`]
//! of CPU and [`SYSTEM_RESERVE_MEMORY_PERCENT`]% of memory (at least
//! [`SYSTEM_RESERVE_MEMORY_MIN_BYTES`]). The kubelet really does hold this back
//! (`kube-reserved`, `system-reserved` and the `memory.available` hard-eviction threshold), and
//! the node's own DaemonSets (CNI, kube-proxy, log shipper) need room too, so planning against
//! the raw machine size over-promises.
//!
//! Placement takes pods in decreasing order of memory (then CPU, then name) and prefers a node
//! that holds no replica of the same component (soft anti-affinity, as the rendered topology
//! spread constraints ask the scheduler to do). Among the candidates it first picks the least
//! allocated node, as kube-scheduler's default scoring does, so the per-node usage shown is what
//! a real cluster would look like; when that balanced placement leaves pods out, first-fit
//! (the tighter packing) decides the verdict instead.
//! This is a planning estimate, not the scheduler: a "fits" is necessary, not sufficient.

use std::collections::BTreeSet;

use govdeploy_spec::quantity::{format_bytes, format_millicores};
use govdeploy_spec::{Cluster, LoadedEnvironment};
use govdeploy_yaml::{Diagnostic, Diagnostics};

use crate::codes;
use crate::model::{Capacity, ExtraNodes, NodeUsage, PodRequest};

/// CPU held back on every node for the kubelet, the runtime and system daemons.
pub const SYSTEM_RESERVE_CPU_MILLICORES: u64 = 100;
/// Memory held back on every node, as a percentage of the declared memory...
pub const SYSTEM_RESERVE_MEMORY_PERCENT: u64 = 5;
/// ...but never less than this.
pub const SYSTEM_RESERVE_MEMORY_MIN_BYTES: u64 = 256 << 20;

/// Above this many pods the placement is not simulated (the verdict is `unknown`): it keeps
/// planning fast and bounded whatever replica counts an environment asks for.
pub const MAX_SIMULATED_PODS: usize = 5000;

const MIB: u64 = 1 << 20;

/// One worker node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    pub pool: String,
    pub cpu: u64,
    pub memory: u64,
}

/// One pod to place.
#[derive(Debug, Clone)]
pub(crate) struct Pod {
    pub component: String,
    pub replica: u32,
    pub cpu: u64,
    pub memory: u64,
}

/// Memory reserve of a node with this much declared memory.
pub fn memory_reserve(declared: u64) -> u64 {
    let pct = u64::try_from(u128::from(declared) * u128::from(SYSTEM_RESERVE_MEMORY_PERCENT) / 100)
        .unwrap_or(u64::MAX);
    pct.max(SYSTEM_RESERVE_MEMORY_MIN_BYTES)
}

/// Expands the declared pools into nodes with their allocatable resources. `None` when a
/// quantity is invalid (reported).
pub(crate) fn nodes(
    cluster: &Cluster,
    loaded: &LoadedEnvironment,
    diags: &mut Diagnostics,
) -> Option<Vec<Node>> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    let mut ok = true;
    for (i, pool) in cluster.nodes.iter().enumerate() {
        let idx = i.to_string();
        let cpu = match pool.cpu.millicores() {
            Ok(c) => Some(c),
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        codes::BAD_QUANTITY,
                        format!("cpu of node pool `{}`: {e}", pool.name),
                    )
                    .at(loaded
                        .sources
                        .locate(&["spec", "cluster", "nodes", &idx, "cpu"]))
                    .hint("use a Kubernetes quantity such as 4 or 3500m"),
                );
                None
            }
        };
        let memory = match pool.memory.bytes() {
            Ok(m) => Some(m),
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        codes::BAD_QUANTITY,
                        format!("memory of node pool `{}`: {e}", pool.name),
                    )
                    .at(loaded
                        .sources
                        .locate(&["spec", "cluster", "nodes", &idx, "memory"]))
                    .hint("use a Kubernetes quantity such as 16Gi"),
                );
                None
            }
        };
        let (Some(cpu), Some(memory)) = (cpu, memory) else {
            ok = false;
            continue;
        };
        let prefix = if names.contains(&format!("{}-1", pool.name)) {
            format!("{}-pool{}", pool.name, i)
        } else {
            pool.name.clone()
        };
        for n in 1..=pool.count {
            let name = format!("{prefix}-{n}");
            names.insert(name.clone());
            out.push(Node {
                name,
                pool: pool.name.clone(),
                cpu: cpu.saturating_sub(SYSTEM_RESERVE_CPU_MILLICORES),
                // Whole MiB, rounded down: readable and conservative.
                memory: memory.saturating_sub(memory_reserve(memory)) / MIB * MIB,
            });
        }
    }
    ok.then_some(out)
}

struct Placement {
    /// Node index per pod (same order as the input pods).
    assigned: Vec<Option<usize>>,
    used_cpu: Vec<u64>,
    used_memory: Vec<u64>,
}

/// Sorts pods for first-fit-decreasing.
fn ffd_order(pods: &mut [Pod]) {
    pods.sort_by(|a, b| {
        b.memory
            .cmp(&a.memory)
            .then(b.cpu.cmp(&a.cpu))
            .then(a.component.cmp(&b.component))
            .then(a.replica.cmp(&b.replica))
    });
}

/// How a pod chooses among the nodes it fits on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// The first node with room (tightest packing).
    FirstFit,
    /// The node whose fuller resource (CPU or memory) is least used afterwards.
    LeastAllocated,
}

fn place(nodes: &[Node], pods: &[Pod]) -> Placement {
    let balanced = place_with(nodes, pods, Strategy::LeastAllocated);
    if balanced.assigned.iter().all(Option::is_some) {
        return balanced;
    }
    place_with(nodes, pods, Strategy::FirstFit)
}

fn place_with(nodes: &[Node], pods: &[Pod], strategy: Strategy) -> Placement {
    let mut used_cpu = vec![0u64; nodes.len()];
    let mut used_memory = vec![0u64; nodes.len()];
    let mut hosts: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); nodes.len()];
    let mut assigned = Vec::with_capacity(pods.len());
    for pod in pods {
        let fits = |i: usize, used_cpu: &[u64], used_memory: &[u64]| {
            used_cpu[i].saturating_add(pod.cpu) <= nodes[i].cpu
                && used_memory[i].saturating_add(pod.memory) <= nodes[i].memory
        };
        let load_after = |i: usize| {
            let share = |used: u64, add: u64, total: u64| {
                u128::from(used.saturating_add(add)) * 1_000_000 / u128::from(total.max(1))
            };
            share(used_cpu[i], pod.cpu, nodes[i].cpu).max(share(
                used_memory[i],
                pod.memory,
                nodes[i].memory,
            ))
        };
        let pick = |candidates: &mut dyn Iterator<Item = usize>| match strategy {
            Strategy::FirstFit => candidates.next(),
            Strategy::LeastAllocated => candidates.min_by_key(|&i| (load_after(i), i)),
        };
        let spread = pick(&mut (0..nodes.len()).filter(|&i| {
            !hosts[i].contains(pod.component.as_str()) && fits(i, &used_cpu, &used_memory)
        }));
        let chosen = spread
            .or_else(|| pick(&mut (0..nodes.len()).filter(|&i| fits(i, &used_cpu, &used_memory))));
        if let Some(i) = chosen {
            used_cpu[i] = used_cpu[i].saturating_add(pod.cpu);
            used_memory[i] = used_memory[i].saturating_add(pod.memory);
            hosts[i].insert(pod.component.as_str());
        }
        assigned.push(chosen);
    }
    Placement {
        assigned,
        used_cpu,
        used_memory,
    }
}

fn percent(used: u64, total: u64) -> u64 {
    if total == 0 {
        return if used == 0 { 0 } else { 100 };
    }
    let p = (u128::from(used) * 100 + u128::from(total) / 2) / u128::from(total);
    u64::try_from(p).unwrap_or(u64::MAX)
}

/// Places every pod and returns the verdict.
pub(crate) fn fit(nodes: Option<&[Node]>, mut pods: Vec<Pod>, diags: &mut Diagnostics) -> Capacity {
    let nodes = match nodes {
        None => {
            return Capacity::Unknown {
                reason: "no cluster declared (spec.cluster.nodes)".into(),
            };
        }
        Some([]) => {
            return Capacity::Unknown {
                reason: "spec.cluster.nodes declares no nodes".into(),
            };
        }
        Some(n) => n,
    };
    ffd_order(&mut pods);
    let placement = place(nodes, &pods);

    let usage: Vec<NodeUsage> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut on: Vec<String> = pods
                .iter()
                .zip(&placement.assigned)
                .filter(|(_, a)| **a == Some(i))
                .map(|(p, _)| format!("{}/{}", p.component, p.replica))
                .collect();
            on.sort();
            NodeUsage {
                name: n.name.clone(),
                pool: n.pool.clone(),
                allocatable_cpu_millicores: n.cpu,
                allocatable_memory_bytes: n.memory,
                used_cpu_millicores: placement.used_cpu[i],
                used_memory_bytes: placement.used_memory[i],
                cpu_percent: percent(placement.used_cpu[i], n.cpu),
                memory_percent: percent(placement.used_memory[i], n.memory),
                pods: on,
            }
        })
        .collect();

    let mut unplaced: Vec<PodRequest> = pods
        .iter()
        .zip(&placement.assigned)
        .filter(|(_, a)| a.is_none())
        .map(|(p, _)| request(p))
        .collect();
    if unplaced.is_empty() {
        return Capacity::Fits { nodes: usage };
    }
    unplaced.sort_by(|a, b| (&a.component, a.replica).cmp(&(&b.component, b.replica)));

    let fits_empty = |n: &Node, p: &Pod| p.cpu <= n.cpu && p.memory <= n.memory;
    let mut oversized: Vec<PodRequest> = Vec::new();
    for p in &pods {
        if !nodes.iter().any(|n| fits_empty(n, p))
            && !oversized.iter().any(|o| o.component == p.component)
        {
            oversized.push(request(p));
        }
    }
    oversized.sort_by(|a, b| a.component.cmp(&b.component));
    for o in &oversized {
        diags.push(
            Diagnostic::warning(
                codes::POD_TOO_LARGE,
                format!(
                    "a pod of `{}` (cpu {}, memory {}) is larger than any node's allocatable resources",
                    o.component,
                    format_millicores(o.cpu_millicores),
                    format_bytes(o.memory_bytes)
                ),
            )
            .hint("lower its memory or cpu in spec.components, or declare larger nodes"),
        );
    }

    let missing_cpu_millicores = unplaced
        .iter()
        .map(|p| p.cpu_millicores)
        .fold(0u64, u64::saturating_add);
    let missing_memory_bytes = unplaced
        .iter()
        .map(|p| p.memory_bytes)
        .fold(0u64, u64::saturating_add);
    let extra_nodes = extra_nodes(nodes, &pods);

    let mut hint = match &extra_nodes {
        Some(x) => format!("add {} node(s) to pool `{}`", x.count, x.pool),
        None => "some pods are larger than a node of the largest pool; declare larger nodes".into(),
    };
    hint.push_str(", or choose a smaller profile");
    diags.push(
        Diagnostic::warning(
            codes::DOES_NOT_FIT,
            format!(
                "{} pod(s) do not fit the declared nodes (missing cpu {}, memory {})",
                unplaced.len(),
                format_millicores(missing_cpu_millicores),
                format_bytes(missing_memory_bytes)
            ),
        )
        .hint(hint),
    );

    Capacity::DoesNotFit {
        nodes: usage,
        unplaced,
        missing_cpu_millicores,
        missing_memory_bytes,
        oversized,
        extra_nodes,
    }
}

fn request(p: &Pod) -> PodRequest {
    PodRequest {
        component: p.component.clone(),
        replica: p.replica,
        cpu_millicores: p.cpu,
        memory_bytes: p.memory,
    }
}

/// The fewest nodes of the largest pool (by memory, then CPU) that make every pod fit.
/// `None` when some pod does not fit on an empty node of that pool. Always answers: with one
/// extra node per pod, first-fit finds an empty node for every pod. Beyond a short window above
/// the lower bound the count comes from bisection, so it may exceed the minimum slightly.
fn extra_nodes(nodes: &[Node], pods: &[Pod]) -> Option<ExtraNodes> {
    let largest = nodes
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| {
            a.memory
                .cmp(&b.memory)
                .then(a.cpu.cmp(&b.cpu))
                .then(ib.cmp(ia))
        })
        .map(|(_, n)| n)?;
    if pods
        .iter()
        .any(|p| p.cpu > largest.cpu || p.memory > largest.memory)
    {
        return None;
    }
    // A true lower bound: what the existing nodes cannot hold even if perfectly packed.
    let sum = |it: &mut dyn Iterator<Item = u64>| it.fold(0u64, u64::saturating_add);
    let need_mem = sum(&mut pods.iter().map(|p| p.memory))
        .saturating_sub(sum(&mut nodes.iter().map(|n| n.memory)));
    let need_cpu =
        sum(&mut pods.iter().map(|p| p.cpu)).saturating_sub(sum(&mut nodes.iter().map(|n| n.cpu)));
    let by_mem = if largest.memory == 0 {
        1
    } else {
        need_mem.div_ceil(largest.memory)
    };
    let by_cpu = if largest.cpu == 0 {
        1
    } else {
        need_cpu.div_ceil(largest.cpu)
    };
    let lower = usize::try_from(by_mem.max(by_cpu).max(1)).unwrap_or(usize::MAX);
    let upper = pods.len().max(1);
    let fits_with = |k: usize| {
        let mut extended: Vec<Node> = nodes.to_vec();
        extended.extend((1..=k).map(|j| Node {
            name: format!("{}-extra-{j}", largest.pool),
            ..largest.clone()
        }));
        place(&extended, pods).assigned.iter().all(Option::is_some)
    };
    let found = |k: usize| {
        Some(ExtraNodes {
            pool: largest.pool.clone(),
            count: u32::try_from(k).unwrap_or(u32::MAX),
        })
    };
    // Usually the answer is at or just above the lower bound: try a short window one by one
    // (first-fit is not monotone, so the smallest count that works is what we want).
    let lower = lower.min(upper);
    let window_end = lower.saturating_add(16).min(upper);
    for k in lower..=window_end {
        if fits_with(k) {
            return found(k);
        }
    }
    // Otherwise double until it fits (it does at `upper`), then bisect: bounded work.
    let mut bad = window_end;
    let mut good = bad.saturating_mul(2).min(upper);
    while good < upper && !fits_with(good) {
        bad = good;
        good = good.saturating_mul(2).min(upper);
    }
    while good - bad > 1 {
        let mid = bad + (good - bad) / 2;
        if fits_with(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    found(good)
}
