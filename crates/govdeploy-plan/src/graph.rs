//! The dependency graph: one node per component, an edge "A needs B" when B must be ready
//! before A starts.
//!
//! Edges come from:
//! - catalogue `dependsOn` (the services a component calls, from `egov-service-host`);
//! - backing stores (a component needs the store's provider, external ones included: they
//!   are nodes with no pods and no duration, so the order still shows the need);
//! - the DIGIT gateway rule: the gateway (tier `gateway`) builds its route table once at start
//!   (DESIGN.md §3), so every gateway-routed component must be ready before it (edge gateway ->
//!   routed component); front ends need the gateway. A front end is never a gateway route
//!   target, so the two rules cannot form a cycle between them.
//!
//! Module dependencies decide what is included (and are checked for cycles), but add no edges
//! here: a module edge would make every component of `business` wait for every component of
//! `core`, turning the DAG executor back into waves. Component edges let each node start as
//! soon as what it actually needs is healthy (DESIGN.md §4).
//!
//! Strongly connected components (DIGIT has runtime cycles such as tl-services <->
//! tl-calculator) become one group; levels and the critical path are computed on the condensed
//! DAG. Every ordering is by name, so the result is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use govdeploy_catalog::Tier;
use petgraph::graph::DiGraph;

use crate::model::{CriticalPath, CriticalStep, Edge, EdgeKind, Group, Level};

/// What the graph needs to know about one component.
#[derive(Debug, Clone)]
pub(crate) struct NodeInput {
    pub tier: Tier,
    pub gateway_routed: bool,
    pub external: bool,
    /// Canonical names of called components.
    pub calls: BTreeSet<String>,
    /// Canonical names of the providers of its backing stores (in the plan).
    pub backing: BTreeSet<String>,
    pub duration_seconds: u32,
}

/// The ordered graph.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ordered {
    pub edges: Vec<Edge>,
    pub groups: Vec<Group>,
    pub levels: Vec<Level>,
    pub critical_path: CriticalPath,
    /// Component -> group id.
    pub group_of: BTreeMap<String, usize>,
}

/// Builds the edges of the graph.
pub(crate) fn edges(nodes: &BTreeMap<String, NodeInput>) -> Vec<Edge> {
    let mut edges: BTreeMap<(String, String), BTreeSet<EdgeKind>> = BTreeMap::new();
    let mut add = |from: &str, to: &str, kind: EdgeKind| {
        if from != to && nodes.contains_key(to) {
            edges
                .entry((from.to_string(), to.to_string()))
                .or_default()
                .insert(kind);
        }
    };
    let gateways: Vec<&String> = nodes
        .iter()
        .filter(|(_, n)| n.tier == Tier::Gateway && !n.external)
        .map(|(k, _)| k)
        .collect();
    for (name, node) in nodes {
        if node.external {
            continue;
        }
        for c in &node.calls {
            add(name, c, EdgeKind::Calls);
        }
        for b in &node.backing {
            add(name, b, EdgeKind::Backing);
        }
        if node.tier == Tier::Frontend {
            for g in &gateways {
                add(name, g, EdgeKind::Frontend);
            }
        } else if node.gateway_routed {
            for g in &gateways {
                add(g, name, EdgeKind::GatewayRoute);
            }
        }
    }
    edges
        .into_iter()
        .map(|((from, to), kinds)| Edge {
            from,
            to,
            kinds: kinds.into_iter().collect(),
        })
        .collect()
}

/// A graph over named nodes: node `i` is `names[i]`. Edges naming an unknown node are dropped.
pub(crate) fn named_graph<'n>(
    names: &[&str],
    edges: impl IntoIterator<Item = (&'n str, &'n str)>,
) -> DiGraph<usize, ()> {
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let ids: Vec<_> = (0..names.len()).map(|i| graph.add_node(i)).collect();
    for (from, to) in edges {
        if let (Some(&a), Some(&b)) = (index.get(from), index.get(to)) {
            graph.update_edge(ids[a], ids[b], ());
        }
    }
    graph
}

/// Strongly connected components as node indices, each sorted, in sorted order (deterministic
/// whatever order the algorithm finds them in).
pub(crate) fn sorted_sccs(graph: &DiGraph<usize, ()>) -> Vec<Vec<usize>> {
    let mut sccs: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(graph)
        .into_iter()
        .map(|scc| {
            let mut members: Vec<usize> = scc.into_iter().map(|n| n.index()).collect();
            members.sort();
            members
        })
        .collect();
    sccs.sort();
    sccs
}

/// Groups, levels and the critical path.
pub(crate) fn order(nodes: &BTreeMap<String, NodeInput>, edges: Vec<Edge>) -> Ordered {
    let names: Vec<&str> = nodes.keys().map(String::as_str).collect();
    let graph = named_graph(
        &names,
        edges.iter().map(|e| (e.from.as_str(), e.to.as_str())),
    );
    let sccs = sorted_sccs(&graph);
    let mut scc_of = vec![0usize; names.len()];
    for (s, members) in sccs.iter().enumerate() {
        for &m in members {
            scc_of[m] = s;
        }
    }
    let mut needs: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); sccs.len()];
    for e in graph.raw_edges() {
        let (a, b) = (e.source().index(), e.target().index());
        if scc_of[a] != scc_of[b] {
            needs[scc_of[a]].insert(scc_of[b]);
        }
    }

    // Levels (Kahn on the condensed DAG): level 0 needs nothing.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); sccs.len()];
    let mut remaining: Vec<usize> = needs.iter().map(BTreeSet::len).collect();
    for (g, ns) in needs.iter().enumerate() {
        for &n in ns {
            dependents[n].push(g);
        }
    }
    let mut level = vec![0usize; sccs.len()];
    let mut ready: Vec<usize> = (0..sccs.len()).filter(|&g| remaining[g] == 0).collect();
    let mut topo = Vec::with_capacity(sccs.len());
    while let Some(g) = ready.pop() {
        topo.push(g);
        for &d in &dependents[g] {
            level[d] = level[d].max(level[g] + 1);
            remaining[d] = remaining[d].saturating_sub(1);
            if remaining[d] == 0 {
                ready.push(d);
            }
        }
    }

    let label = |s: usize| -> String {
        let members = &sccs[s];
        if members.len() == 1 {
            names[members[0]].to_string()
        } else {
            let m: Vec<&str> = members.iter().map(|&i| names[i]).collect();
            format!("{{{}}}", m.join(", "))
        }
    };
    let duration = |s: usize| -> u32 {
        sccs[s]
            .iter()
            .filter_map(|&i| nodes.get(names[i]).map(|n| n.duration_seconds))
            .max()
            .unwrap_or(0)
    };

    // Final group ids: sorted by (level, label).
    let mut order: Vec<(usize, String, usize)> =
        (0..sccs.len()).map(|s| (level[s], label(s), s)).collect();
    order.sort();
    let mut id_of = vec![0usize; sccs.len()];
    for (id, (_, _, s)) in order.iter().enumerate() {
        id_of[*s] = id;
    }
    let groups: Vec<Group> = order
        .iter()
        .enumerate()
        .map(|(id, (lvl, lbl, s))| {
            let mut group_needs: Vec<usize> = needs[*s].iter().map(|&n| id_of[n]).collect();
            group_needs.sort();
            Group {
                id,
                label: lbl.clone(),
                members: sccs[*s].iter().map(|&i| names[i].to_string()).collect(),
                cyclic: sccs[*s].len() > 1,
                level: *lvl,
                duration_seconds: duration(*s),
                needs: group_needs,
            }
        })
        .collect();

    let mut levels: Vec<Level> = Vec::new();
    for g in &groups {
        match levels.last_mut() {
            Some(l) if l.level == g.level => l.groups.push(g.label.clone()),
            _ => levels.push(Level {
                level: g.level,
                groups: vec![g.label.clone()],
            }),
        }
    }

    let group_of = groups
        .iter()
        .flat_map(|g| g.members.iter().map(move |m| (m.clone(), g.id)))
        .collect();

    Ordered {
        edges,
        critical_path: critical_path(&groups),
        groups,
        levels,
        group_of,
    }
}

/// Longest path through the condensed DAG, weighted by group durations. Ties go to the
/// group with the lower id, so the answer is deterministic.
pub(crate) fn critical_path(groups: &[Group]) -> CriticalPath {
    // Groups are sorted by level, and every need has a lower level, so one pass in id order
    // sees every need before its dependents.
    let mut finish = vec![0u32; groups.len()];
    let mut via: Vec<Option<usize>> = vec![None; groups.len()];
    for g in groups {
        let mut best: Option<usize> = None;
        for &n in &g.needs {
            if n >= groups.len() {
                continue;
            }
            if best.is_none_or(|b| finish[n] > finish[b]) {
                best = Some(n);
            }
        }
        let start = best.map_or(0, |b| finish[b]);
        finish[g.id] = start.saturating_add(g.duration_seconds);
        via[g.id] = best;
    }
    let Some(mut end) = (0..groups.len()).fold(None, |acc: Option<usize>, g| match acc {
        Some(b) if finish[b] >= finish[g] => Some(b),
        _ => Some(g),
    }) else {
        return CriticalPath::default();
    };
    let total_seconds = finish[end];
    let mut steps = Vec::new();
    loop {
        steps.push(CriticalStep {
            group: groups[end].label.clone(),
            seconds: groups[end].duration_seconds,
            ready_at: finish[end],
        });
        match via[end] {
            Some(prev) if steps.len() <= groups.len() => end = prev,
            _ => break,
        }
    }
    steps.reverse();
    CriticalPath {
        total_seconds,
        steps,
    }
}
