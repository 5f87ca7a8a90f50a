//! The plan as data. Every map is a `BTreeMap` and every list has a defined order (documented
//! on its field), so the same inputs always serialise to the same bytes.

use std::collections::BTreeMap;

use govdeploy_catalog::{ModuleKind, Runtime, Tier, WorkloadKind};
use govdeploy_spec::Profile;
use govdeploy_yaml::Diagnostic;
use serde::Serialize;

/// Everything govdeploy will deploy for one environment, in what order, at what size, and
/// whether it fits the declared nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `metadata.name` of the environment.
    pub environment: String,
    /// Catalogue name (`digit`).
    pub catalog: String,
    /// Release key in the catalogue (`digit-v2.9`).
    pub release: String,
    /// Product line of the release (`DIGIT`).
    pub product: String,
    /// Version of the release (`2.9`).
    pub version: String,
    pub profile: Profile,
    pub domain: String,
    /// Included modules (selected ones and what they depend on), by name.
    pub modules: BTreeMap<String, PlannedModule>,
    /// Backing stores needed by the plan, by store name (`postgres`).
    pub backbone: BTreeMap<String, BackboneUse>,
    /// Every component in the plan, by canonical catalogue name.
    pub components: BTreeMap<String, PlannedComponent>,
    /// "`from` needs `to`" edges, sorted by (from, to).
    pub edges: Vec<Edge>,
    /// Nodes of the condensed graph (strongly connected components), sorted by (level, label);
    /// `id` is the index in this list.
    pub groups: Vec<Group>,
    /// Topological levels of the condensed graph, level 0 first. Display only: the executor
    /// starts a group as soon as the groups it needs are ready.
    pub levels: Vec<Level>,
    pub critical_path: CriticalPath,
    pub totals: Totals,
    pub capacity: Capacity,
    /// Every image reference, sorted by (reference, component, kind).
    pub images: Vec<ImageRef>,
    /// Warnings found while planning, sorted by location, code, message.
    pub warnings: Vec<Diagnostic>,
}

/// A module of the release that is part of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedModule {
    pub kind: ModuleKind,
    /// `selected`, or `required by m_pgr -> business` (the chain that pulled it in).
    pub reason: String,
    /// Modules this one depends on, sorted.
    pub depends_on: Vec<String>,
    /// Canonical component names listed by the module, sorted.
    pub components: Vec<String>,
}

/// How a backing store is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneMode {
    InCluster,
    External,
}

/// A backing store the plan needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackboneUse {
    pub mode: BackboneMode,
    /// Catalogue component that provides the store, if the catalogue has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Where clients connect when the store is external.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<External>,
    /// Components that need the store, sorted.
    pub used_by: Vec<String>,
}

/// An external (managed) service standing in for an in-cluster store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct External {
    pub host: String,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Horizontal autoscaling range recorded for an HPA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
}

/// Where each sizing value came from: `override` (spec.components), `digit-env`
/// (spec.digitEnvFile), `profile` (the profile table), `catalogue`, `derived` (heap from
/// memory), `capped` (CPU above the cap), `external` (no pods).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SizingSources {
    pub replicas: String,
    pub memory: String,
    pub cpu: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap: Option<String>,
}

/// One component of the plan, sized for the profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedComponent {
    pub tier: Tier,
    pub workload: WorkloadKind,
    pub runtime: Runtime,
    /// The first included module (by name) that lists the component, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Namespace after `spec.namespaces` renames.
    pub namespace: String,
    /// Why the component is in the plan (`part of module core`, `called by egov-user`,
    /// `backing store postgres for egov-user`).
    pub reason: String,
    /// Final image reference (mirror applied); absent for external stores and image-less
    /// components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image tag, `<unset>` when neither the override, the release nor the catalogue gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Flyway migration image (same tag as the service), run as a Job before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_image: Option<String>,
    /// Pods of this component (0 for external stores).
    pub replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// Memory request = limit (`512Mi`).
    pub memory: String,
    pub memory_bytes: u64,
    /// CPU request (`100m`); never a CPU limit.
    pub cpu: String,
    pub cpu_millicores: u64,
    /// JVM max heap as `-Xmx<N>m`, for JVM components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_bytes: Option<u64>,
    /// Persistent volume per replica, for stateful stores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_bytes: Option<u64>,
    pub sources: SizingSources,
    /// Catalogue estimate of seconds from start to ready.
    pub ready_seconds: u32,
    /// `ready_seconds` plus the migration allowance, used for the critical path.
    pub duration_seconds: u32,
    /// Components it calls (catalogue `dependsOn`, canonical names), sorted.
    pub depends_on: Vec<String>,
    /// Backing stores it needs, sorted.
    pub backing: Vec<String>,
    /// Every component it needs before it can start (all graph edges), sorted.
    pub needs: Vec<String>,
    /// Set when the component is an external store: no pods, clients use this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<External>,
    /// Index of its group in [`Plan::groups`].
    pub group: usize,
    pub level: usize,
}

/// Why an edge exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// The component calls the other (catalogue `dependsOn`).
    Calls,
    /// The other component provides a backing store it needs.
    Backing,
    /// The gateway needs every gateway-routed component ready before it builds its routes.
    GatewayRoute,
    /// A front end needs the gateway.
    Frontend,
}

/// "`from` needs `to`": `to` must be ready before `from` starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// Sorted.
    pub kinds: Vec<EdgeKind>,
}

/// A node of the condensed graph: one component, or several that need each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: usize,
    /// The member name, or `{a, b}` for a cycle.
    pub label: String,
    /// Sorted.
    pub members: Vec<String>,
    pub cyclic: bool,
    pub level: usize,
    /// Longest member duration (ready seconds plus migration allowance).
    pub duration_seconds: u32,
    /// Ids of the groups it needs, sorted.
    pub needs: Vec<usize>,
}

/// One topological level (display only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Level {
    pub level: usize,
    /// Group labels, in group order.
    pub groups: Vec<String>,
}

/// The longest chain of waits from an empty cluster to everything ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CriticalPath {
    pub total_seconds: u32,
    /// First group to start first.
    pub steps: Vec<CriticalStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CriticalStep {
    pub group: String,
    pub seconds: u32,
    /// Seconds from the start until this step is ready.
    pub ready_at: u32,
}

/// Formats bytes as `512Mi` / `2Gi`, and zero as `0`.
pub(crate) fn bytes_text(bytes: u64) -> String {
    if bytes == 0 {
        "0".to_string()
    } else {
        govdeploy_spec::quantity::format_bytes(bytes)
    }
}

/// Requested resources of a set of pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Amounts {
    pub pods: u64,
    pub cpu: String,
    pub cpu_millicores: u64,
    pub memory: String,
    pub memory_bytes: u64,
    pub storage: String,
    pub storage_bytes: u64,
}

/// Requests overall, per namespace and per tier. Migration Jobs are short-lived and not
/// counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub overall: Amounts,
    pub by_namespace: BTreeMap<String, Amounts>,
    pub by_tier: BTreeMap<String, Amounts>,
}

/// Usage of one node after placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeUsage {
    pub name: String,
    pub pool: String,
    /// Declared minus the system reserve.
    pub allocatable_cpu_millicores: u64,
    pub allocatable_memory_bytes: u64,
    pub used_cpu_millicores: u64,
    pub used_memory_bytes: u64,
    /// Rounded to the nearest whole percent.
    pub cpu_percent: u64,
    pub memory_percent: u64,
    /// `component/replica`, sorted.
    pub pods: Vec<String>,
}

/// A pod that could not be placed, or that is larger than any node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRequest {
    pub component: String,
    pub replica: u32,
    pub cpu_millicores: u64,
    pub memory_bytes: u64,
}

/// How many more nodes of a pool would make everything fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtraNodes {
    pub pool: String,
    pub count: u32,
}

/// Whether the pods fit the declared nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "verdict",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum Capacity {
    /// Every pod has a node.
    Fits { nodes: Vec<NodeUsage> },
    /// Some pods have no node.
    DoesNotFit {
        nodes: Vec<NodeUsage>,
        /// Sorted by (component, replica).
        unplaced: Vec<PodRequest>,
        /// Sum of the requests of the unplaced pods.
        missing_cpu_millicores: u64,
        missing_memory_bytes: u64,
        /// Pods (one per component) that fit on no node even when it is empty, sorted.
        oversized: Vec<PodRequest>,
        /// Absent when some pod is larger than a node of the largest pool.
        extra_nodes: Option<ExtraNodes>,
    },
    /// No nodes declared (`spec.cluster.nodes`).
    Unknown { reason: String },
}

/// What an image is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    Service,
    Migration,
    Backbone,
}

/// One image reference the plan pulls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// What the cluster pulls (mirror applied); `repo` alone when the tag is unset.
    pub reference: String,
    pub component: String,
    pub kind: ImageKind,
    /// The reference before mirroring (where to copy the image from).
    pub source: String,
    /// `<unset>` when no tag is known.
    pub tag: String,
}
