//! The catalogue data model. Everything here is plain data, serialised as normalised YAML:
//! maps are `BTreeMap`s and lists are kept sorted where order carries no meaning, so the same
//! catalogue always serialises to the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub const CATALOG_API_VERSION: &str = "govdeploy.io/v1";

/// A product catalogue: the components that exist and the releases that combine them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    pub api_version: String,
    pub kind: String,
    /// Short name used in environment files (`catalog: digit`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    pub components: BTreeMap<String, Component>,
    pub releases: BTreeMap<String, Release>,
    /// Site-independent defaults of the shared `egov-config` ConfigMap (pool sizes, time zone,
    /// Flyway locations), from the DIGIT environment file with placeholders dropped. The
    /// renderer computes the site-specific keys (database, Kafka, Elasticsearch, domain) itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared_config: BTreeMap<String, String>,
}

/// Where generated data came from, so it can be regenerated and audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub generated_by: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Infra,
    Backbone,
    Gateway,
    Core,
    Business,
    Municipal,
    Frontend,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Infra => "infra",
            Tier::Backbone => "backbone",
            Tier::Gateway => "gateway",
            Tier::Core => "core",
            Tier::Business => "business",
            Tier::Municipal => "municipal",
            Tier::Frontend => "frontend",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum WorkloadKind {
    #[default]
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
    Job,
}

/// How the application is built, which decides how configuration and secrets reach it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Spring Boot on the JVM: datasource, Kafka and Tomcat settings come from shared config.
    JavaSpring,
    /// Other JVM applications: heap still derives from the memory limit.
    Java,
    Nodejs,
    /// Static web front end served by nginx.
    Nginx,
    #[default]
    Other,
}

impl Runtime {
    pub fn is_jvm(self) -> bool {
        matches!(self, Runtime::JavaSpring | Runtime::Java)
    }
}

/// A backing store a component needs at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backing {
    Postgres,
    Kafka,
    Elasticsearch,
    Redis,
    ObjectStore,
}

impl Backing {
    pub const ALL: [Backing; 5] = [
        Backing::Postgres,
        Backing::Kafka,
        Backing::Elasticsearch,
        Backing::Redis,
        Backing::ObjectStore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Backing::Postgres => "postgres",
            Backing::Kafka => "kafka",
            Backing::Elasticsearch => "elasticsearch",
            Backing::Redis => "redis",
            Backing::ObjectStore => "object-store",
        }
    }
}

/// A container image without its tag (the tag comes from a release).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Full repository, registry host included when not Docker Hub (`egovio/egov-user`,
    /// `docker.io/bitnami/kafka`).
    pub repository: String,
    /// Tag used when the release does not pin one (backbone stores and infra pin here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    pub name: String,
    pub port: u16,
    #[serde(default = "default_protocol", skip_serializing_if = "is_tcp")]
    pub protocol: String,
}

fn default_protocol() -> String {
    "TCP".to_string()
}

fn is_tcp(protocol: &String) -> bool {
    protocol == "TCP"
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_path: Option<String>,
    /// Port the probes use; the first port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// TCP probes for stores with no HTTP health endpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tcp: bool,
}

/// A Flyway migration image run before the service (same tag as the service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migration {
    pub image: String,
    pub schema_table: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigKind {
    /// MDMS master data (`egov-mdms-data`).
    MdmsData,
    /// Service configs: persister, indexer, searcher, pdf, dashboards (`configs`).
    Configs,
    Other,
}

/// Runtime configuration a component reads from a repository (cloned at start by DIGIT today).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigSource {
    pub kind: ConfigKind,
    pub repo: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub mount_path: String,
}

/// A reference to a key of a shared ConfigMap or Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRef {
    pub name: String,
    pub key: String,
}

/// An environment variable of a component. Exactly one source is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Key of a shared ConfigMap (`egov-config`, `egov-service-host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<KeyRef>,
    /// Key of a Secret: delivered as a file where the runtime allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyRef>,
    /// Downward API field (`status.hostIP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Memory and CPU requests. Memory request equals the limit; CPU has no limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// Kubernetes quantity (`512Mi`).
    pub memory: String,
    /// Kubernetes quantity (`100m`).
    pub cpu: String,
    /// Persistent volume per replica, for stateful stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

/// The backing-store role of a backbone component, with its managed-service option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provides {
    pub store: Backing,
    /// Whether an environment may point at an external (managed) instance instead.
    pub external_allowed: bool,
    /// Default port clients connect to.
    pub port: u16,
}

/// A deployable unit: a service, a front end, or a backbone store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    pub tier: Tier,
    #[serde(default)]
    pub workload: WorkloadKind,
    #[serde(default)]
    pub runtime: Runtime,
    /// Spring Boot major.minor when known (`3.2`, `2.7`, `1.5`); decides whether secrets can be
    /// read from mounted files (configtree needs 2.4+). Absent: derived from the release line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spring_boot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// HTTP context path (`/egov-user`), routed through the gateway when `gatewayRouted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_path: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gateway_routed: bool,
    /// Exposed by its own ingress rule (front ends).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ingress: bool,
    /// Host name of its own ingress rule, when it is not the environment's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub backing: BTreeSet<Backing>,
    /// Other components this one calls (from `egov-service-host` references).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub depends_on: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_sources: Vec<ConfigSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    pub resources: Resources,
    /// Default replica count before profile scaling.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub replicas: u32,
    /// Expected seconds from start to ready, for the critical path.
    pub ready_seconds: u32,
    /// Set on backbone stores: which backing need this component satisfies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provides: Option<Provides>,
    /// Chart (and values file) the component was imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Other names this component is known by in release manifests (`kafka-v2`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub aliases: BTreeSet<String>,
    /// Known only from a release manifest entry (no chart): settings are defaults to review.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manifest_only: bool,
    /// Cron schedule, for `CronJob` workloads (`*/5 * * * *`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleKind {
    /// A selectable product (`m_pgr`).
    Product,
    /// A platform layer pulled in by products (`core`, `business`).
    Layer,
}

/// A module of a release: its dependencies and the image tag of each component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Module {
    pub kind: ModuleKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Component name -> image tag (`None`: keep the running tag / catalogue default).
    pub components: BTreeMap<String, Option<String>>,
    /// Migration image tags that differ from the service tag (the manifest pins `<svc>-db`
    /// separately).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migration_tags: BTreeMap<String, String>,
}

/// A product release: a versioned set of modules (from a DIGIT release manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Release {
    /// Product line (`DIGIT`, `Urban`).
    pub product: String,
    pub version: String,
    /// Spring Boot generation this release line runs by default (`3.2` for 2.9-LTS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spring_boot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub modules: BTreeMap<String, Module>,
}

impl Release {
    /// Names of the selectable products (`m_*` modules), in name order.
    pub fn products(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .filter(|(_, m)| m.kind == ModuleKind::Product)
            .map(|(n, _)| n.as_str())
    }
}

impl Catalog {
    /// Finds a component by name or alias.
    pub fn component(&self, name: &str) -> Option<(&str, &Component)> {
        if let Some((k, c)) = self.components.get_key_value(name) {
            return Some((k.as_str(), c));
        }
        self.components
            .iter()
            .find(|(_, c)| c.aliases.contains(name))
            .map(|(k, c)| (k.as_str(), c))
    }

    /// The backbone component that provides a backing store.
    pub fn provider_of(&self, store: Backing) -> Option<&str> {
        self.components
            .iter()
            .find(|(_, c)| c.provides.as_ref().is_some_and(|p| p.store == store))
            .map(|(k, _)| k.as_str())
    }
}
