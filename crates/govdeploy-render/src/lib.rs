//! Rendering: turns a plan into the complete, hardened set of Kubernetes objects for an
//! environment, built as typed `k8s-openapi` values and emitted as deterministic YAML.
//!
//! It owns the shape of every object: per-namespace baselines (Namespace, LimitRange,
//! ResourceQuota, default-deny and graph-derived NetworkPolicies), shared configuration
//! computed from what is deployed, per-component workloads meeting the production checklist,
//! migration Jobs, backbone stores, routing, and content hashes that roll pods only when what
//! they read changed. It never decides order (the plan does), never reads files or talks to a
//! cluster, and never prints a secret value: Secret objects are the only place values go.
//!
//! `k8s-openapi` 0.29 is built for API level 1.33 (its oldest); the objects use only fields
//! that Kubernetes 1.30 also serves, which the test suite checks with `kubernetes-validate`.

mod backbone;
pub mod codes;
mod config;
mod config_source;
mod context;
mod hash;
mod images;
mod infra;
mod labels;
mod migration;
mod namespace;
mod network;
mod object;
mod output;
mod pod;
mod routing;
mod secrets;
mod workload;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};

use govdeploy_catalog::Tier;
use govdeploy_yaml::{Diagnostic, Diagnostics};

pub use context::{RenderInput, SecretValues, StoreAddress};
pub use object::{Object, RenderedFile, SecretUse};
pub use output::{KUSTOMIZATION, file_contents, kustomization, stream};

use context::Ctx;
use pod::PodExtras;

/// The rendered environment.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Files in apply order.
    pub files: Vec<RenderedFile>,
    /// Warnings (no errors: those make `render` fail), sorted.
    pub warnings: Vec<Diagnostic>,
    /// Secrets the objects read, and which components read them.
    pub secrets: Vec<SecretUse>,
    /// Images the renderer added beyond the plan's (config delivery), sorted.
    pub extra_images: Vec<String>,
}

impl Rendered {
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.files.iter().flat_map(|f| f.objects.iter())
    }
}

/// Renders every object of the plan.
pub fn render(input: RenderInput<'_>) -> Result<Rendered, Diagnostics> {
    let mut ctx = Ctx::new(input);
    let shared = config::egov_config(&ctx);
    let routes = routing::routes(&ctx);
    let routes_text = routing::routes_properties(&routes);
    let mut ledger = secrets::SecretLedger::default();
    let mut published = routing::PublishedPaths::default();
    let mut config_namespaces: BTreeSet<String> = BTreeSet::new();
    let mut known_hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut jobs_per_namespace: BTreeMap<String, u64> = BTreeMap::new();
    let mut extra_images = BTreeSet::new();

    let order: Vec<String> = ctx
        .plan
        .groups
        .iter()
        .flat_map(|g| g.members.iter().cloned())
        .collect();

    // Config delivery and migrations first: NetworkPolicies need to know who pulls from git
    // and whose migration Job reaches the database.
    let mut deliveries = BTreeMap::new();
    let mut migrations = BTreeSet::new();
    for name in &order {
        let (Some(planned), Some(component)) = (ctx.planned(name), ctx.component(name)) else {
            continue;
        };
        if planned.external.is_some() {
            continue;
        }
        let delivery = config_source::delivery(&mut ctx, name, component);
        deliveries.insert(name.clone(), delivery);
        if component.migration.is_some()
            && planned.migration_image.is_some()
            && ctx
                .stores
                .contains_key(&govdeploy_catalog::Backing::Postgres)
        {
            migrations.insert(name.clone());
        }
    }
    let git_users: BTreeSet<String> = deliveries
        .iter()
        .filter(|(_, d)| d.uses_git)
        .map(|(n, _)| n.clone())
        .collect();
    let reach = network::reach(&ctx, &git_users, &migrations);

    let mut component_files = Vec::new();
    for name in &order {
        let (Some(planned), Some(component)) = (ctx.planned(name), ctx.component(name)) else {
            continue;
        };
        let namespace = planned.namespace.clone();
        let mut objects = Vec::new();
        if planned.external.is_some() {
            objects.extend(backbone::external_service(&ctx, name, planned));
            if !objects.is_empty() {
                component_files.push((name.clone(), objects));
            }
            continue;
        }
        if name == "cert-manager" {
            ctx.report(
                Diagnostic::warning(
                    codes::INSTALL_SEPARATELY,
                    "cert-manager is not rendered: it needs its CRDs, webhook and cainjector from its own release manifest",
                )
                .hint("install cert-manager from its upstream release before applying; Ingresses keep their cert-manager annotation"),
            );
            continue;
        }
        let Some(image) = planned.image.clone() else {
            ctx.report(
                Diagnostic::warning(
                    codes::NO_IMAGE,
                    format!("{name} has no image: not rendered"),
                )
                .hint("add image.repository to its catalogue entry"),
            );
            continue;
        };
        check_tag_pinned(&mut ctx, name, planned, &image);
        let mut extras = PodExtras::default();
        let mut extra_objects = Vec::new();
        let mut secret_keys = Vec::new();
        if let Some(delivery) = deliveries.remove(name) {
            extras.init_containers.extend(delivery.init_containers);
            extras.volumes.extend(delivery.volumes);
            extras.mounts.extend(delivery.mounts);
            extras.config_hash_parts.extend(delivery.hash_parts);
            secret_keys.extend(delivery.secret_keys);
            extra_images.extend(delivery.images);
            if !delivery.known_hosts.is_empty() {
                known_hosts
                    .entry(namespace.clone())
                    .or_default()
                    .extend(delivery.known_hosts);
            }
        }
        let env = if let Some(kind) = backbone::StoreKind::of(name) {
            store_pod(&mut ctx, kind, name, planned, &image, &mut extras)
        } else {
            config_namespaces.insert(namespace.clone());
            config::resolve(&mut ctx, &shared, name, planned, component)
        };
        if let Some((objs, infra_extras)) = infra::infra(&ctx, name, planned) {
            extra_objects.extend(objs);
            merge_extras(&mut extras, infra_extras);
        }
        if Some(name) == ctx.gateway.as_ref() {
            extra_objects.push(routing::gateway_routes(
                &ctx,
                name,
                &namespace,
                &routes_text,
                &mut extras,
            ));
        }
        let needs_token = extras.needs_api_token;
        let built = pod::build(&mut ctx, name, planned, component, &image, env, extras);
        for key in built.secret_keys.iter().chain(secret_keys.iter()) {
            ledger.record(&namespace, name, key);
        }

        objects.push(workload::service_account(
            &ctx,
            name,
            &namespace,
            needs_token,
        ));
        if let Some((cm_name, data)) = &built.env_config {
            objects.push(config::component_config_map(
                &ctx, name, cm_name, &namespace, data,
            ));
        }
        objects.extend(extra_objects);
        let public = component.ingress
            || Some(name) == ctx.gateway.as_ref()
            || (Some(name) == ctx.ingress_controller.as_ref());
        if let Some(r) = reach.get(name) {
            objects.extend(network::component_policy(&ctx, name, r, public));
        }
        objects.extend(workload::services(&ctx, name, planned, component));
        if migrations.contains(name) {
            objects.extend(network::migration_policy(&ctx, name));
            if let Some((job, keys)) = migration::job(&ctx, name, planned, component, &shared) {
                for key in &keys {
                    ledger.record(&namespace, name, key);
                }
                objects.push(job);
                *jobs_per_namespace.entry(namespace.clone()).or_default() += 1;
            }
        }
        objects.push(workload::workload(
            &ctx,
            name,
            planned,
            component,
            built.template,
        ));
        objects.extend(workload::disruption_budget(&ctx, name, planned));
        objects.extend(workload::autoscaler(&ctx, name, planned));
        if Some(name) == ctx.gateway.as_ref() {
            objects.extend(routing::gateway_ingress(
                &mut ctx,
                &mut published,
                name,
                &routes,
            ));
        } else if component.tier == Tier::Frontend || component.ingress {
            objects.extend(routing::frontend_ingress(&mut ctx, &mut published, name));
        }
        component_files.push((name.clone(), objects));
    }
    ctx.flush_probe_gaps();
    ctx.flush_unpinned_config();

    // Namespaces of everything rendered, including Services standing for external stores.
    let mut namespaces = ctx.namespaces();
    namespaces.extend(
        component_files
            .iter()
            .flat_map(|(_, objects)| objects.iter().filter_map(|o| o.namespace.clone())),
    );
    namespaces.sort();
    namespaces.dedup();
    let mut baseline = Vec::new();
    for ns in &namespaces {
        baseline.push(namespace::namespace(&ctx, ns));
    }
    for ns in &namespaces {
        baseline.push(namespace::limit_range(&ctx, ns));
        baseline.push(namespace::resource_quota(
            &ctx,
            ns,
            jobs_per_namespace.get(ns).copied().unwrap_or(0),
        ));
        baseline.extend(network::namespace_policies(&ctx, ns));
    }

    let service_hosts = ctx.service_hosts.clone();
    let mut shared_objects = Vec::new();
    for ns in &config_namespaces {
        shared_objects.push(config::config_map(&ctx, config::EGOV_CONFIG, ns, &shared));
        shared_objects.push(config::config_map(
            &ctx,
            config::SERVICE_HOST,
            ns,
            &service_hosts,
        ));
    }
    for (ns, lines) in &known_hosts {
        shared_objects.push(config_source::known_hosts_config_map(&ctx, ns, lines));
    }
    let secret_uses = ledger.uses();
    shared_objects.extend(secrets::objects(&mut ctx, &secret_uses));

    for object in baseline
        .iter()
        .chain(&shared_objects)
        .chain(component_files.iter().flat_map(|(_, objects)| objects))
        .filter(|o| o.body.is_null())
    {
        ctx.report(Diagnostic::error(
            codes::NOT_SERIALISABLE,
            format!(
                "{} could not be serialised (a bug in govdeploy: please report it)",
                object.reference()
            ),
        ));
    }
    let errors: Vec<Diagnostic> = ctx
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(Diagnostics(ctx.diagnostics).sorted());
    }

    let width = (component_files.len() + 2).to_string().len().max(3);
    let mut files = vec![
        RenderedFile {
            name: format!("{:0width$}-namespaces.yaml", 0),
            component: None,
            objects: baseline,
        },
        RenderedFile {
            name: format!("{:0width$}-shared-config.yaml", 1),
            component: None,
            objects: shared_objects,
        },
    ];
    for (i, (name, objects)) in component_files.into_iter().enumerate() {
        files.push(RenderedFile {
            name: format!("{:0width$}-{name}.yaml", i + 2),
            component: Some(name),
            objects,
        });
    }
    files.retain(|f| !f.objects.is_empty());
    let mut warnings = ctx.diagnostics;
    warnings.sort_by(|a, b| (a.code, &a.message).cmp(&(b.code, &b.message)));
    Ok(Rendered {
        files,
        warnings,
        secrets: secret_uses,
        extra_images: extra_images.into_iter().collect(),
    })
}

/// An untagged image runs whatever `latest` is when the pod starts: an error where it matters.
fn check_tag_pinned(
    ctx: &mut Ctx,
    name: &str,
    planned: &govdeploy_plan::PlannedComponent,
    image: &str,
) {
    if planned.tag.as_deref().is_some_and(|t| t != "<unset>") {
        return;
    }
    let message = format!("{name}: image {image} has no tag; it would run whatever `latest` is");
    let diagnostic = if matches!(
        ctx.profile,
        govdeploy_spec::Profile::Uat | govdeploy_spec::Profile::Prod
    ) {
        Diagnostic::error(codes::UNPINNED_IMAGE, message)
    } else {
        Diagnostic::warning(codes::UNPINNED_IMAGE_WARNING, message)
    };
    ctx.report(diagnostic.hint(format!("pin it with spec.components.{name}.tag")));
}

/// A backbone store's pod settings: its container specifics, data volume, seeded config
/// directories and strict spreading; secrets come as files.
fn store_pod(
    ctx: &mut Ctx,
    kind: backbone::StoreKind,
    name: &str,
    planned: &govdeploy_plan::PlannedComponent,
    image: &str,
    extras: &mut PodExtras,
) -> config::ResolvedEnv {
    let params = backbone::StoreParams {
        name,
        namespace: &planned.namespace,
        replicas: planned.replicas,
        heap_mib: planned.heap_bytes.map(|b| b / (1024 * 1024)),
        headless: workload::headless_name(name),
        peers: ctx
            .plan
            .components
            .iter()
            .filter(|(n, c)| backbone::StoreKind::of(n).is_some() && c.external.is_none())
            .map(|(n, c)| (n.clone(), format!("{n}.{}", c.namespace)))
            .collect(),
    };
    let settings = backbone::settings(kind, &params);
    if let Some(max) = settings.max_replicas
        && planned.replicas > max
    {
        ctx.report(
            Diagnostic::error(
                codes::STORE_REPLICAS,
                format!(
                    "{name}: {} replicas, but it runs without replication (at most {max})",
                    planned.replicas
                ),
            )
            .hint(format!(
                "set spec.components.{name}.replicas to {max}, or use an external (managed) service for high availability"
            )),
        );
    }
    if let Some(init) = backbone::seed_container(&settings, image, planned) {
        extras.init_containers.push(init);
    }
    extras.run_as_user = Some(settings.run_as_user);
    extras.command = settings.command;
    extras.args = settings.args;
    extras.env = settings.env;
    extras.writable.extend(settings.writable);
    extras.termination_grace_seconds = Some(settings.termination_grace_seconds);
    extras.strict_spread = planned.replicas > 1;
    if planned.storage.is_some() {
        extras.mounts.push(pod::mount(
            workload::DATA_VOLUME,
            &settings.data_path,
            false,
        ));
    }
    config::ResolvedEnv {
        secret_files: settings.secret_files,
        ..config::ResolvedEnv::default()
    }
}

fn merge_extras(into: &mut PodExtras, from: PodExtras) {
    into.init_containers.extend(from.init_containers);
    into.volumes.extend(from.volumes);
    into.mounts.extend(from.mounts);
    into.writable.extend(from.writable);
    if from.run_as_user.is_some() {
        into.run_as_user = from.run_as_user;
    }
    if from.command.is_some() {
        into.command = from.command;
    }
    if from.args.is_some() {
        into.args = from.args;
    }
    into.env.extend(from.env);
    into.annotations.extend(from.annotations);
    if from.termination_grace_seconds.is_some() {
        into.termination_grace_seconds = from.termination_grace_seconds;
    }
    into.strict_spread |= from.strict_spread;
    into.add_capabilities.extend(from.add_capabilities);
    if from.writable_root.is_some() {
        into.writable_root = from.writable_root;
    }
    into.config_hash_parts.extend(from.config_hash_parts);
    into.needs_api_token |= from.needs_api_token;
}
