//! Machine outputs of a plan: JSON, Graphviz DOT, Mermaid, and the image list.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::{EdgeKind, Plan};

/// The plan as pretty JSON (camelCase keys, maps sorted), ending with a newline. Same plan,
/// same bytes.
pub fn to_json(plan: &Plan) -> String {
    match serde_json::to_string_pretty(plan) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Unreachable for this data (string keys only), but never panic.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// Every image reference the plan pulls (mirror applied), sorted and deduplicated.
pub fn image_list(plan: &Plan) -> Vec<String> {
    plan.images
        .iter()
        .map(|i| i.reference.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn dot_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn edge_style(kinds: &[EdgeKind]) -> &'static str {
    if kinds.contains(&EdgeKind::Calls) {
        ""
    } else if kinds.contains(&EdgeKind::Backing) {
        " [style=bold]"
    } else {
        " [style=dashed]"
    }
}

/// The graph in Graphviz DOT: an arrow A -> B means "A needs B"; cycles are clusters; external
/// stores are dashed; gateway and front-end edges are dashed, backing edges bold.
pub fn to_dot(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_quote(&plan.environment));
    out.push_str("  rankdir=RL;\n  node [shape=box];\n");
    for g in &plan.groups {
        let indent = if g.cyclic {
            let _ = writeln!(
                out,
                "  subgraph {} {{",
                dot_quote(&format!("cluster_{}", g.id))
            );
            let _ = writeln!(out, "    label={};", dot_quote(&g.label));
            "    "
        } else {
            "  "
        };
        for m in &g.members {
            let Some(c) = plan.components.get(m) else {
                continue;
            };
            let label = format!("{m}\nlevel {}", g.level);
            let style = if c.external.is_some() {
                ", style=dashed"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{indent}{} [label={}{style}];",
                dot_quote(m),
                dot_quote(&label)
            );
        }
        if g.cyclic {
            out.push_str("  }\n");
        }
    }
    for e in &plan.edges {
        let _ = writeln!(
            out,
            "  {} -> {}{};",
            dot_quote(&e.from),
            dot_quote(&e.to),
            edge_style(&e.kinds)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_label(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// The graph as a Mermaid flowchart: `A --> B` means "A needs B"; cycles are subgraphs.
/// Node ids are `c<N>` (index in name order), so names with dashes are safe.
pub fn to_mermaid(plan: &Plan) -> String {
    let ids: std::collections::BTreeMap<&str, String> = plan
        .components
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), format!("c{i}")))
        .collect();
    let mut out = String::from("flowchart RL\n");
    for g in &plan.groups {
        let indent = if g.cyclic {
            let _ = writeln!(out, "  subgraph g{}[\"{}\"]", g.id, mermaid_label(&g.label));
            "    "
        } else {
            "  "
        };
        for m in &g.members {
            if let Some(id) = ids.get(m.as_str()) {
                let external = plan.components.get(m).is_some_and(|c| c.external.is_some());
                let shape = if external { ("([", "])") } else { ("[", "]") };
                let _ = writeln!(
                    out,
                    "{indent}{id}{}\"{}\"{}",
                    shape.0,
                    mermaid_label(m),
                    shape.1
                );
            }
        }
        if g.cyclic {
            out.push_str("  end\n");
        }
    }
    for e in &plan.edges {
        if let (Some(a), Some(b)) = (ids.get(e.from.as_str()), ids.get(e.to.as_str())) {
            let arrow =
                if e.kinds.contains(&EdgeKind::Calls) || e.kinds.contains(&EdgeKind::Backing) {
                    "-->"
                } else {
                    "-.->"
                };
            let _ = writeln!(out, "  {a} {arrow} {b}");
        }
    }
    out
}
