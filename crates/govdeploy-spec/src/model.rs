//! Typed environment file. Field names are camelCase in YAML.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

pub const API_VERSION: &str = "govdeploy.io/v1";
pub const KIND: &str = "Environment";

/// A govdeploy environment file: which platform release and modules to deploy, where, and how
/// big. One file per environment, optionally layered on shared base files (`extends`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// Always `govdeploy.io/v1`.
    pub api_version: String,
    /// Always `Environment`.
    pub kind: String,
    pub metadata: Metadata,
    /// Base file(s) this one is layered on, relative to this file, applied in order (later
    /// bases win over earlier ones, this file wins over all): mappings merge key by key, lists
    /// and scalars are replaced whole, and an explicit `null` removes an inherited key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<String>,
    pub spec: EnvironmentSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Environment name (DNS label): names the release records and lock.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// Built-in catalogue name (`digit`) or a path to a catalogue YAML file.
    #[serde(default = "default_catalog")]
    pub catalog: String,
    /// Release key in the catalogue (`digit-v2.8`, `urban-v2.4`).
    pub release: String,
    /// Selected product modules (`m_pgr`); the modules they depend on are added automatically.
    pub modules: Vec<String>,
    /// Sizing and availability profile.
    #[serde(default)]
    pub profile: Profile,
    /// Public DNS name the platform is served on.
    pub domain: String,
    /// Renames of catalogue namespaces (`egov: digit`): catalogue name -> namespace to use.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespaces: BTreeMap<String, String>,
    /// The cluster's worker nodes, for the capacity check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
    /// Per backing store: in the cluster (default) or an external managed service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub backbone: BTreeMap<BackingStore, BackboneStore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<Registry>,
    /// Per-component overrides, by component name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, ComponentOverride>,
    /// A DIGIT-DevOps environment file (`environments/<env>.yaml`) whose per-service sections
    /// (`replicas`, `memory_limits`, `heap`) are honoured as overrides; relative to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit_env_file: Option<String>,
}

fn default_catalog() -> String {
    "digit".to_string()
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Everything on one 16 GiB machine: one replica, small stores, no HA.
    Quickstart,
    /// Development: single replicas, small stores (the default).
    #[default]
    Dev,
    /// User acceptance testing: production-like services with fewer replicas.
    Uat,
    /// Highly available: at least two replicas of every stateless service, three of each store.
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Quickstart => "quickstart",
            Profile::Dev => "dev",
            Profile::Uat => "uat",
            Profile::Prod => "prod",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    pub nodes: Vec<NodePool>,
}

/// A group of identical worker nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePool {
    /// Pool name, unique in the cluster (default `workers`).
    #[serde(default = "default_pool_name")]
    pub name: String,
    /// Number of nodes in the pool (at least 1).
    #[serde(default = "default_count")]
    #[schemars(range(min = 1))]
    pub count: u32,
    /// Allocatable CPU per node (`4`, `3500m`).
    pub cpu: Quantity,
    /// Allocatable memory per node (`16Gi`).
    pub memory: Quantity,
}

fn default_pool_name() -> String {
    "workers".to_string()
}

fn default_count() -> u32 {
    1
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BackingStore {
    Postgres,
    Kafka,
    Elasticsearch,
    Redis,
    ObjectStore,
}

impl BackingStore {
    pub fn as_str(self) -> &'static str {
        match self {
            BackingStore::Postgres => "postgres",
            BackingStore::Kafka => "kafka",
            BackingStore::Elasticsearch => "elasticsearch",
            BackingStore::Redis => "redis",
            BackingStore::ObjectStore => "object-store",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneMode {
    #[default]
    InCluster,
    External,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackboneStore {
    #[serde(default)]
    pub mode: BackboneMode,
    /// Host of the external service (required when `mode: external`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Database name (Postgres) or bucket (object store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registry {
    /// Private registry every image reference is rewritten to (`registry.local:5000`); the
    /// source host is kept as the first path segment under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// Name of an image pull Secret, if the registry needs credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Memory request = limit (`768Mi`); the JVM heap is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// CPU request (`250m`); no CPU limit is ever set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    /// Explicit JVM max heap as a quantity (`384Mi`); must be below the memory limit. Normally
    /// left out: the heap is derived from the memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<Quantity>,
    /// Image tag, overriding the release's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Extra or replaced environment variables (plain values; secrets go in the secrets file).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}
