//! Planning: resolves selected modules into components, builds one dependency graph, groups
//! strongly connected components, orders them in levels, finds the critical path, sizes every
//! component for the profile and checks the requests fit the declared nodes.
//!
//! Pure and synchronous: it never reads files, renders objects or touches a cluster.
//!
//! Stages, one module each: `resolve` (modules and components, with the reason each is
//! included), `graph` (edges, groups, levels, critical path), [`sizing`] (the profile table),
//! `capacity` (placement on the declared nodes), [`images`] (tags and mirror rewrite), then the
//! renderers [`render_text`], [`to_json`], [`to_dot`] and [`to_mermaid`].

mod capacity;
mod export;
mod graph;
pub mod images;
mod model;
mod report;
mod resolve;
pub mod sizing;

use std::collections::BTreeMap;

use govdeploy_catalog::{Catalog, Tier};
use govdeploy_spec::LoadedEnvironment;
use govdeploy_spec::quantity::{format_bytes, format_millicores};
use govdeploy_yaml::{Diagnostic, Diagnostics};

pub use capacity::{
    MAX_SIMULATED_PODS, SYSTEM_RESERVE_CPU_MILLICORES, SYSTEM_RESERVE_MEMORY_MIN_BYTES,
    SYSTEM_RESERVE_MEMORY_PERCENT, memory_reserve,
};
pub use export::{image_list, to_dot, to_json, to_mermaid};
pub use model::*;
pub use report::render_text;
pub use resolve::check_names;

/// Stable diagnostic codes of the plan stage.
pub mod codes {
    /// `spec.release` is not a release of the catalogue.
    pub const UNKNOWN_RELEASE: &str = "E-PLAN-UNKNOWN-RELEASE";
    /// A selected module is not in the release.
    pub const UNKNOWN_MODULE: &str = "E-PLAN-UNKNOWN-MODULE";
    /// An included module depends on a module the release does not have.
    pub const UNKNOWN_MODULE_DEP: &str = "E-PLAN-UNKNOWN-MODULE-DEP";
    /// Included modules depend on each other in a cycle.
    pub const MODULE_CYCLE: &str = "E-PLAN-MODULE-CYCLE";
    /// A release module entry or a component dependency names no catalogue component.
    pub const UNKNOWN_COMPONENT: &str = "E-PLAN-UNKNOWN-COMPONENT";
    /// `spec.components.X` names a component that is not in the plan.
    pub const UNKNOWN_OVERRIDE: &str = "E-PLAN-UNKNOWN-OVERRIDE";
    /// A backing store is needed, in-cluster, but no catalogue component provides it.
    pub const NO_PROVIDER: &str = "E-PLAN-NO-PROVIDER";
    /// A store is set external but its provider does not allow it.
    pub const EXTERNAL_NOT_ALLOWED: &str = "E-PLAN-EXTERNAL-NOT-ALLOWED";
    /// A store is set external without a host.
    pub const EXTERNAL_HOST: &str = "E-PLAN-EXTERNAL-HOST";
    /// The JVM heap is not below the memory limit.
    pub const HEAP_TOO_LARGE: &str = "E-PLAN-HEAP-TOO-LARGE";
    /// The JVM heap would be under 1Mi.
    pub const HEAP_TOO_SMALL: &str = "E-PLAN-HEAP-TOO-SMALL";
    /// A quantity (memory, cpu, storage) cannot be parsed.
    pub const BAD_QUANTITY: &str = "E-PLAN-BAD-QUANTITY";
    /// A backbone or infrastructure component was added because an included one needs it.
    pub const PULLED_IN: &str = "W-PLAN-PULLED-IN";
    /// A DIGIT env file heap that does not fit the memory limit was replaced by the derived one.
    pub const DIGIT_HEAP_IGNORED: &str = "W-PLAN-DIGIT-HEAP-IGNORED";
    /// A native store no module lists (Elasticsearch masters) was added: expected, informational.
    pub const PULLED_IN_NATIVE: &str = "I-PLAN-PULLED-IN";
    /// An included component calls a service that no selected module deploys.
    pub const MISSING_CALLEE: &str = "W-PLAN-MISSING-CALLEE";
    /// Included modules give a component different tags.
    pub const TAG_CONFLICT: &str = "W-PLAN-TAG-CONFLICT";
    /// A component has no image tag anywhere.
    pub const NO_TAG: &str = "W-PLAN-NO-TAG";
    /// A component has no image in the catalogue.
    pub const NO_IMAGE: &str = "W-PLAN-NO-IMAGE";
    /// A component is known only from a release manifest: its settings are defaults.
    pub const MANIFEST_ONLY: &str = "W-PLAN-MANIFEST-ONLY";
    /// A CPU request above the cap was capped.
    pub const CPU_CAPPED: &str = "W-PLAN-CPU-CAPPED";
    /// An override field that cannot apply (heap on a non-JVM, sizes on an external store).
    pub const OVERRIDE_IGNORED: &str = "W-PLAN-OVERRIDE-IGNORED";
    /// `spec.backbone.X` is set but nothing needs the store.
    pub const UNUSED_BACKBONE: &str = "W-PLAN-UNUSED-BACKBONE";
    /// Gateway-routed components but no gateway in the plan.
    pub const NO_GATEWAY: &str = "W-PLAN-NO-GATEWAY";
    /// The pods do not fit the declared nodes.
    pub const DOES_NOT_FIT: &str = "W-PLAN-DOES-NOT-FIT";
    /// A pod is larger than any node.
    pub const POD_TOO_LARGE: &str = "W-PLAN-POD-TOO-LARGE";
}

/// Plans an environment against a catalogue.
///
/// Returns the plan and its warnings (also in [`Plan::warnings`]), or every error found (with
/// the warnings found alongside), sorted by location. A plan that does not fit the declared
/// nodes is still a plan: its [`Capacity`] says so and a `W-PLAN-DOES-NOT-FIT` warning is
/// raised; callers decide whether that fails the run.
pub fn build(
    loaded: &LoadedEnvironment,
    catalog: &Catalog,
) -> Result<(Plan, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::default();
    let Some(res) = resolve::resolve(loaded, catalog, &mut diags) else {
        return Err(diags.sorted());
    };
    let spec = &loaded.env.spec;

    // Sizing.
    let mut sized = BTreeMap::new();
    for name in res.components.keys() {
        if let Some(s) = sizing::size(name, &res, loaded, &mut diags) {
            sized.insert(name.clone(), s);
        }
    }

    // Graph.
    let nodes: BTreeMap<String, graph::NodeInput> = res
        .components
        .iter()
        .map(|(name, r)| {
            let backing = r
                .def
                .backing
                .iter()
                .filter_map(|b| catalog.provider_of(*b))
                .filter(|p| res.components.contains_key(*p) && *p != name)
                .map(str::to_string)
                .collect();
            let duration = if r.external.is_some() {
                0
            } else {
                r.def
                    .ready_seconds
                    .saturating_add(if r.def.migration.is_some() {
                        sizing::MIGRATION_ALLOWANCE_SECONDS
                    } else {
                        0
                    })
            };
            (
                name.clone(),
                graph::NodeInput {
                    tier: r.def.tier,
                    gateway_routed: r.def.gateway_routed,
                    external: r.external.is_some(),
                    calls: r.depends_on.clone(),
                    backing,
                    duration_seconds: duration,
                },
            )
        })
        .collect();
    let has_gateway = nodes
        .values()
        .any(|n| n.tier == Tier::Gateway && !n.external);
    let routed: Vec<&str> = nodes
        .iter()
        .filter(|(_, n)| n.gateway_routed && !n.external && n.tier != Tier::Frontend)
        .map(|(k, _)| k.as_str())
        .collect();
    if !has_gateway && !routed.is_empty() {
        diags.push(
            Diagnostic::warning(
                codes::NO_GATEWAY,
                format!(
                    "{} gateway-routed component(s) but no gateway in the plan: {} will not be reachable through it",
                    routed.len(),
                    routed.join(", ")
                ),
            )
            .hint("select the module that contains the gateway (zuul or gateway)"),
        );
    }
    let edges = graph::edges(&nodes);
    let ordered = graph::order(&nodes, edges);

    // Components, images, totals, pods.
    let mirror = spec
        .registry
        .as_ref()
        .and_then(|r| r.mirror.as_deref())
        .filter(|m| !m.trim().is_empty());
    let mut components = BTreeMap::new();
    let mut images = Vec::new();
    let mut pods = Vec::new();
    let mut totals = Totals::default();
    for (name, r) in &res.components {
        let Some(s) = sized.get(name) else {
            continue;
        };
        let def = r.def;
        let namespace = spec
            .namespaces
            .get(&def.namespace)
            .cloned()
            .unwrap_or_else(|| def.namespace.clone());

        let mut image = None;
        let mut tag_out = None;
        let mut migration_image = None;
        if def.manifest_only {
            diags.push(
                Diagnostic::warning(
                    codes::MANIFEST_ONLY,
                    format!("`{name}` has no chart in DIGIT-DevOps: port, probes and resources are defaults and it has no migration"),
                )
                .hint(format!("check the service's real settings and set them with spec.components.{name}, or import a checkout that has its chart")),
            );
        }
        if r.external.is_none() {
            let override_tag = res.overrides.get(name).and_then(|o| o.spec.tag.clone());
            let tag = override_tag.clone().or_else(|| r.release_tag.clone());
            // The migration runs with the service's tag unless the release pins it apart; an
            // override pins both.
            let migration_tag = override_tag
                .or_else(|| r.release_migration_tag.clone())
                .or_else(|| tag.clone());
            match &def.image {
                None => diags.push(
                    Diagnostic::warning(
                        codes::NO_IMAGE,
                        format!("catalogue component `{name}` has no image: nothing to run"),
                    )
                    .hint("add `image.repository` to the component in the catalogue"),
                ),
                Some(img) => {
                    if tag.is_none() {
                        diags.push(
                            Diagnostic::warning(
                                codes::NO_TAG,
                                format!("`{name}` has no image tag (release, catalogue default or override)"),
                            )
                            .at(res.overrides.get(name).and_then(|o| {
                                loaded.sources.locate_key(&["spec", "components"], &o.key)
                            }))
                            .hint(format!("pin one with spec.components.{name}.tag")),
                        );
                    }
                    let kind = if def.tier == Tier::Backbone {
                        ImageKind::Backbone
                    } else {
                        ImageKind::Service
                    };
                    let mut push = |repo: &str, kind: ImageKind, tag: &Option<String>| -> String {
                        let source = images::reference(repo, tag.as_deref());
                        let reference = match mirror {
                            Some(m) => images::mirror_reference(m, &source),
                            None => source.clone(),
                        };
                        images.push(ImageRef {
                            reference: reference.clone(),
                            component: name.clone(),
                            kind,
                            source,
                            tag: tag.clone().unwrap_or_else(|| images::UNSET_TAG.to_string()),
                        });
                        reference
                    };
                    image = Some(push(&img.repository, kind, &tag));
                    if let Some(m) = &def.migration {
                        migration_image = Some(push(
                            images::migration_repository(&m.image),
                            ImageKind::Migration,
                            &migration_tag,
                        ));
                    }
                    tag_out = Some(tag.unwrap_or_else(|| images::UNSET_TAG.to_string()));
                }
            }
        }

        if r.external.is_none() {
            let storage = s.storage_bytes.unwrap_or(0);
            for amounts in [
                &mut totals.overall,
                totals.by_namespace.entry(namespace.clone()).or_default(),
                totals
                    .by_tier
                    .entry(def.tier.as_str().to_string())
                    .or_default(),
            ] {
                let n = u64::from(s.replicas);
                amounts.pods = amounts.pods.saturating_add(n);
                amounts.cpu_millicores = amounts
                    .cpu_millicores
                    .saturating_add(n.saturating_mul(s.cpu_millicores));
                amounts.memory_bytes = amounts
                    .memory_bytes
                    .saturating_add(n.saturating_mul(s.memory_bytes));
                amounts.storage_bytes = amounts
                    .storage_bytes
                    .saturating_add(n.saturating_mul(storage));
            }
            for replica in 0..s.replicas {
                if pods.len() > capacity::MAX_SIMULATED_PODS {
                    break;
                }
                pods.push(capacity::Pod {
                    component: name.clone(),
                    replica,
                    cpu: s.cpu_millicores,
                    memory: s.memory_bytes,
                });
            }
        }

        let needs: Vec<String> = ordered
            .edges
            .iter()
            .filter(|e| &e.from == name)
            .map(|e| e.to.clone())
            .collect();
        let group = ordered.group_of.get(name).copied().unwrap_or(0);
        components.insert(
            name.clone(),
            PlannedComponent {
                tier: def.tier,
                workload: def.workload,
                runtime: def.runtime,
                module: r.module.clone(),
                namespace,
                reason: r.reason.clone(),
                image,
                tag: tag_out,
                migration_image,
                replicas: s.replicas,
                autoscale: s.autoscale,
                memory: model::bytes_text(s.memory_bytes),
                memory_bytes: s.memory_bytes,
                cpu: format_millicores(s.cpu_millicores),
                cpu_millicores: s.cpu_millicores,
                heap: s.heap_bytes.map(sizing::xmx),
                heap_bytes: s.heap_bytes,
                storage: s.storage_bytes.map(format_bytes),
                storage_bytes: s.storage_bytes,
                sources: s.sources.clone(),
                ready_seconds: if r.external.is_some() {
                    0
                } else {
                    def.ready_seconds
                },
                duration_seconds: nodes.get(name).map_or(0, |n| n.duration_seconds),
                depends_on: r.depends_on.iter().cloned().collect(),
                backing: def.backing.iter().map(|b| b.as_str().to_string()).collect(),
                needs,
                external: r.external.clone(),
                group,
                level: ordered.groups.get(group).map_or(0, |g| g.level),
            },
        );
    }
    for amounts in std::iter::once(&mut totals.overall)
        .chain(totals.by_namespace.values_mut())
        .chain(totals.by_tier.values_mut())
    {
        amounts.cpu = format_millicores(amounts.cpu_millicores);
        amounts.memory = model::bytes_text(amounts.memory_bytes);
        amounts.storage = model::bytes_text(amounts.storage_bytes);
    }
    images.sort();
    images.dedup();

    // Capacity.
    let node_list = match &spec.cluster {
        Some(c) => capacity::nodes(c, loaded, &mut diags),
        None => None,
    };
    let capacity = if spec.cluster.is_some() && node_list.is_none() {
        Capacity::Unknown {
            reason: "the node pools have invalid quantities".into(),
        }
    } else if pods.len() > capacity::MAX_SIMULATED_PODS {
        Capacity::Unknown {
            reason: format!(
                "{} pods: more than {} are not simulated",
                totals.overall.pods,
                capacity::MAX_SIMULATED_PODS
            ),
        }
    } else {
        capacity::fit(node_list.as_deref(), pods, &mut diags)
    };

    let diags = diags.sorted();
    if diags.has_errors() {
        return Err(diags);
    }
    let warnings: Vec<Diagnostic> = diags.0.clone();

    let plan = Plan {
        environment: loaded.env.metadata.name.clone(),
        catalog: catalog.name.clone(),
        release: res.release_name.clone(),
        product: res.release.product.clone(),
        version: res.release.version.clone(),
        profile: spec.profile,
        domain: spec.domain.clone(),
        modules: res.modules.clone(),
        backbone: res.backbone.clone(),
        components,
        edges: ordered.edges,
        groups: ordered.groups,
        levels: ordered.levels,
        critical_path: ordered.critical_path,
        totals,
        capacity,
        images,
        warnings,
    };
    Ok((plan, diags))
}

#[cfg(test)]
mod tests;
