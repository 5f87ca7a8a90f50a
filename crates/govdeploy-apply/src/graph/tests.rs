use std::path::Path;

use govdeploy_render::RenderInput;

use super::*;

fn quickstart() -> (Plan, Rendered) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (loaded, _) =
        govdeploy_spec::load(&root.join("examples/quickstart.yaml")).expect("valid environment");
    let catalog =
        govdeploy_catalog::store::load(&loaded.env.spec.catalog, &root).expect("catalogue");
    let (plan, _) = govdeploy_plan::build(&loaded, &catalog).expect("plan");
    let rendered = govdeploy_render::render(RenderInput {
        plan: &plan,
        catalog: &catalog,
        environment: &loaded.env,
        secrets: None,
        plaintext_secrets: false,
    })
    .expect("renders");
    (plan, rendered)
}

fn names(graph: &Graph, ids: &[NodeId]) -> Vec<String> {
    ids.iter().map(|&i| graph.nodes[i].name.clone()).collect()
}

#[test]
fn every_rendered_object_is_in_exactly_one_node() {
    let (plan, rendered) = quickstart();
    let graph = Graph::build(&plan, &rendered);
    let in_graph: usize = graph.nodes.iter().map(|n| n.objects.len()).sum();
    assert_eq!(in_graph, rendered.objects().count());
    for (i, node) in graph.nodes.iter().enumerate() {
        assert_eq!(node.id, i);
    }
}

#[test]
fn component_needs_follow_plan_edges_and_migrations_wait_only_for_the_database() {
    let (plan, rendered) = quickstart();
    let graph = Graph::build(&plan, &rendered);
    let postgres = plan.backbone["postgres"]
        .provider
        .clone()
        .expect("provider");
    let mut migrations = 0;
    for node in &graph.nodes {
        let needs = names(&graph, &node.needs);
        match node.kind {
            NodeKind::Namespaces => assert!(needs.is_empty()),
            NodeKind::Shared => assert_eq!(needs, vec![NAMESPACES.to_string()]),
            NodeKind::Migration => {
                migrations += 1;
                assert_eq!(
                    needs,
                    vec![SHARED.to_string(), postgres.clone()],
                    "{}",
                    node.name
                );
                assert!(node.objects.iter().any(|o| o.kind == "Job"));
                assert!(!node.objects.iter().any(|o| o.kind == "Deployment"));
            }
            NodeKind::Component => {
                let component = node.component.as_ref().expect("component");
                let planned = &plan.components[component];
                let group = &plan.groups[planned.group];
                for need in &planned.needs {
                    if !group.members.contains(need) {
                        assert!(needs.contains(need), "{component} needs {need}");
                    }
                }
                assert!(needs.contains(&SHARED.to_string()));
                if node.objects.iter().any(|o| o.kind == "Deployment") {
                    assert!(!node.objects.iter().any(|o| o.kind == "Job"));
                }
            }
            NodeKind::Crds => {}
        }
    }
    assert!(migrations > 0, "quickstart has migrations");
}

#[test]
fn levels_grow_along_needs_and_dependents_are_transitive() {
    let (plan, rendered) = quickstart();
    let graph = Graph::build(&plan, &rendered);
    for node in &graph.nodes {
        for &n in &node.needs {
            assert!(graph.nodes[n].level < node.level);
        }
    }
    let ns = graph.by_name(NAMESPACES).expect("namespaces");
    assert_eq!(graph.dependents(ns.id).len(), graph.nodes.len() - 1);
    let unit = graph.critical_path(|_| 1.0);
    let deepest = graph.nodes.iter().map(|n| n.level).max().unwrap_or(0);
    assert_eq!(unit, (deepest + 1) as f64);
}
