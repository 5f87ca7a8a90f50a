//! The human summary of a plan: plain text, no colours, stable for snapshot tests.

use std::fmt::Write as _;

use govdeploy_spec::quantity::format_millicores;

use crate::export::image_list;
use crate::model::{Amounts, BackboneMode, Capacity, NodeUsage, Plan, bytes_text as format_bytes};

/// Left-aligned columns separated by two spaces, no trailing spaces.
fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn amounts(a: &Amounts) -> String {
    format!(
        "{} pod(s), cpu {}, memory {}, storage {}",
        a.pods, a.cpu, a.memory, a.storage
    )
}

fn node_rows(nodes: &[NodeUsage]) -> Vec<Vec<String>> {
    nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                format!(
                    "cpu {}% ({} of {})",
                    n.cpu_percent,
                    format_millicores(n.used_cpu_millicores),
                    format_millicores(n.allocatable_cpu_millicores)
                ),
                format!(
                    "memory {}% ({} of {})",
                    n.memory_percent,
                    format_bytes(n.used_memory_bytes),
                    format_bytes(n.allocatable_memory_bytes)
                ),
                format!("{} pod(s)", n.pods.len()),
            ]
        })
        .collect()
}

/// Renders a readable summary: header, modules and why each is included, backbone, components,
/// start levels (cycles shown as `{a, b}`), critical path, totals, capacity, images, warnings.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan for environment {}", plan.environment);
    let mut header = vec![
        vec!["catalog:".to_string(), plan.catalog.clone()],
        vec![
            "release:".to_string(),
            format!("{} ({} {})", plan.release, plan.product, plan.version),
        ],
        vec!["profile:".to_string(), plan.profile.as_str().to_string()],
    ];
    header.push(vec!["domain:".to_string(), plan.domain.clone()]);
    table(&mut out, "  ", &header);

    // Modules: selected first, then by name.
    let mut modules: Vec<_> = plan.modules.iter().collect();
    modules.sort_by_key(|(name, m)| (m.reason != "selected", name.as_str()));
    let _ = writeln!(out, "\nModules ({}):", modules.len());
    let rows: Vec<Vec<String>> = modules
        .iter()
        .map(|(name, m)| {
            vec![
                name.to_string(),
                match m.kind {
                    govdeploy_catalog::ModuleKind::Product => "product".into(),
                    govdeploy_catalog::ModuleKind::Layer => "layer".into(),
                },
                m.reason.clone(),
            ]
        })
        .collect();
    table(&mut out, "  ", &rows);

    if !plan.backbone.is_empty() {
        let _ = writeln!(out, "\nBackbone:");
        let rows: Vec<Vec<String>> = plan
            .backbone
            .iter()
            .map(|(store, b)| {
                let how = match (b.mode, &b.external, &b.provider) {
                    (BackboneMode::External, Some(e), _) => {
                        format!("external {}:{}", e.host, e.port)
                    }
                    (BackboneMode::External, None, _) => "external".into(),
                    (BackboneMode::InCluster, _, Some(p)) => format!("in-cluster ({p})"),
                    (BackboneMode::InCluster, _, None) => "in-cluster".into(),
                };
                let users = match b.used_by.len() {
                    0 => "used by nothing".to_string(),
                    1..=3 => format!("used by {}", b.used_by.join(", ")),
                    n => format!("used by {n} components"),
                };
                vec![store.clone(), how, users]
            })
            .collect();
        table(&mut out, "  ", &rows);
    }

    let _ = writeln!(out, "\nComponents ({}):", plan.components.len());
    let mut rows = vec![
        [
            "NAME",
            "NAMESPACE",
            "REPLICAS",
            "CPU",
            "MEMORY",
            "HEAP",
            "STORAGE",
            "WHY",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (name, c) in &plan.components {
        let dash = || "-".to_string();
        let replicas = match (&c.external, c.autoscale) {
            (Some(e), _) => format!("external {}:{}", e.host, e.port),
            (None, Some(a)) => format!("{} ({}-{})", c.replicas, a.min, a.max),
            (None, None) => c.replicas.to_string(),
        };
        let external = c.external.is_some();
        rows.push(vec![
            name.clone(),
            c.namespace.clone(),
            replicas,
            if external { dash() } else { c.cpu.clone() },
            if external { dash() } else { c.memory.clone() },
            c.heap.clone().unwrap_or_else(dash),
            c.storage.clone().unwrap_or_else(dash),
            c.reason.clone(),
        ]);
    }
    table(&mut out, "  ", &rows);

    let _ = writeln!(
        out,
        "\nStart order ({} level(s); each component starts as soon as what it needs is ready):",
        plan.levels.len()
    );
    for level in &plan.levels {
        let _ = writeln!(out, "  level {}: {}", level.level, level.groups.join(", "));
    }

    let _ = writeln!(
        out,
        "\nCritical path: {} s",
        plan.critical_path.total_seconds
    );
    if !plan.critical_path.steps.is_empty() {
        let chain: Vec<String> = plan
            .critical_path
            .steps
            .iter()
            .map(|s| format!("{} ({} s)", s.group, s.seconds))
            .collect();
        let _ = writeln!(out, "  {}", chain.join(" -> "));
    }

    let _ = writeln!(out, "\nTotals: {}", amounts(&plan.totals.overall));
    let mut rows = Vec::new();
    for (ns, a) in &plan.totals.by_namespace {
        rows.push(vec![format!("namespace {ns}"), amounts(a)]);
    }
    for (tier, a) in &plan.totals.by_tier {
        rows.push(vec![format!("tier {tier}"), amounts(a)]);
    }
    table(&mut out, "  ", &rows);

    match &plan.capacity {
        Capacity::Unknown { reason } => {
            let _ = writeln!(out, "\nCapacity: unknown ({reason})");
        }
        Capacity::Fits { nodes } => {
            let _ = writeln!(
                out,
                "\nCapacity: fits on {} node(s) (a placement estimate of the requests, least-allocated first)",
                nodes.len()
            );
            table(&mut out, "  ", &node_rows(nodes));
        }
        Capacity::DoesNotFit {
            nodes,
            unplaced,
            missing_cpu_millicores,
            missing_memory_bytes,
            oversized,
            extra_nodes,
        } => {
            let _ = writeln!(out, "\nCapacity: DOES NOT FIT");
            let _ = writeln!(
                out,
                "  {} pod(s) could not be placed: missing cpu {}, memory {}",
                unplaced.len(),
                format_millicores(*missing_cpu_millicores),
                format_bytes(*missing_memory_bytes)
            );
            let names: Vec<String> = unplaced
                .iter()
                .map(|p| format!("{}/{}", p.component, p.replica))
                .collect();
            let _ = writeln!(out, "  unplaced: {}", names.join(", "));
            for o in oversized {
                let _ = writeln!(
                    out,
                    "  larger than any node: {} (cpu {}, memory {})",
                    o.component,
                    format_millicores(o.cpu_millicores),
                    format_bytes(o.memory_bytes)
                );
            }
            match extra_nodes {
                Some(x) => {
                    let _ = writeln!(
                        out,
                        "  fix: add {} more node(s) of pool {}",
                        x.count, x.pool
                    );
                }
                None => {
                    let _ = writeln!(out, "  fix: declare larger nodes");
                }
            }
            table(&mut out, "  ", &node_rows(nodes));
        }
    }

    let unique = image_list(plan).len();
    let _ = writeln!(out, "\nImages: {unique}");

    if plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings: none");
    } else {
        let _ = writeln!(out, "\nWarnings ({}):", plan.warnings.len());
        for w in &plan.warnings {
            for line in w.to_string().lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}
