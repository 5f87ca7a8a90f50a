//! Typed environment file. Field names are camelCase in YAML.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::cidr::{Cidr, CidrError};
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
    /// Where runtime configuration comes from, by kind (`mdms-data`, `configs`, `other`):
    /// a pinned git revision or an OCI image carrying the files, instead of DIGIT's unpinned
    /// `git clone` of a branch when a pod starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_sources: BTreeMap<ConfigSourceKind, ConfigSourceSpec>,
    /// Network access a component needs beyond what its dependencies give it (an SMS or
    /// payment gateway outside the cluster).
    #[serde(default, skip_serializing_if = "Network::is_empty")]
    pub network: Network,
    /// Where the environment's secrets are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Secrets>,
    /// Extra or overriding entries of the shared `egov-config` ConfigMap
    /// (`egov-state-level-tenant-id: pb`, `timezone: Asia/Kolkata`): key -> value. Keys are
    /// letters, digits, `-`, `_` and `.`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": CONFIG_MAP_KEY_PATTERN}))]
    pub shared_config: BTreeMap<String, String>,
}

/// The shape of a ConfigMap key, as a regular expression (exported in the JSON Schema for
/// editors; validation uses [`is_config_map_key`], which agrees with it and also enforces
/// Kubernetes' 253-character limit).
pub const CONFIG_MAP_KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";

/// Longest ConfigMap key Kubernetes accepts.
pub const CONFIG_MAP_KEY_MAX_LEN: usize = 253;

/// Whether `key` is a valid ConfigMap (or Secret) data key: 1 to 253 letters, digits, `-`,
/// `_` and `.`, and not `.` or `..`.
pub fn is_config_map_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= CONFIG_MAP_KEY_MAX_LEN
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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

/// A kind of runtime configuration, as the catalogue names it (`ConfigKind`): a component's
/// config sources of this kind are taken from the environment's entry for it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigSourceKind {
    // No doc comments on the variants: schemars lists the keys of a map keyed by this enum
    // only when the variants are a plain `enum` (documented ones become a `oneOf`).
    MdmsData,
    Configs,
    Other,
}

impl ConfigSourceKind {
    pub const ALL: [ConfigSourceKind; 3] = [
        ConfigSourceKind::MdmsData,
        ConfigSourceKind::Configs,
        ConfigSourceKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConfigSourceKind::MdmsData => "mdms-data",
            ConfigSourceKind::Configs => "configs",
            ConfigSourceKind::Other => "other",
        }
    }
}

/// Where one kind of runtime configuration comes from. In the file it is a mapping with
/// exactly one of `git` or `image` (see [`ConfigSourceFields`]); validation reports both or
/// neither before deserialisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConfigSourceFields", into = "ConfigSourceFields")]
pub enum ConfigSourceSpec {
    /// A pinned revision of a git repository.
    Git(GitConfigSource),
    /// An OCI image reference (`registry.local/egov/mdms-data:2024-06-01` or with
    /// `@sha256:` digest) whose files are the configuration: a bundled source for air-gapped
    /// sites.
    Image(String),
}

impl ConfigSourceSpec {
    /// The git source, if this is one.
    pub fn git(&self) -> Option<&GitConfigSource> {
        match self {
            ConfigSourceSpec::Git(git) => Some(git),
            ConfigSourceSpec::Image(_) => None,
        }
    }

    /// The image reference, if this is one.
    pub fn image(&self) -> Option<&str> {
        match self {
            ConfigSourceSpec::Git(_) => None,
            ConfigSourceSpec::Image(image) => Some(image),
        }
    }
}

impl JsonSchema for ConfigSourceSpec {
    fn schema_name() -> Cow<'static, str> {
        "ConfigSourceSpec".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::ConfigSourceSpec").into()
    }

    /// The schema of the mapping as written: [`ConfigSourceFields`].
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        ConfigSourceFields::json_schema(generator)
    }
}

/// Where one kind of runtime configuration comes from: exactly one of `git` (a pinned
/// revision of a repository) or `image` (an OCI image carrying the files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigSourceFields {
    /// A git repository and the revision to check out. Give exactly one of `git` and `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitConfigSource>,
    /// An OCI image whose files are the configuration (for air-gapped sites), with a tag or
    /// an `@sha256:` digest, never `latest`. Give exactly one of `git` and `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,
}

/// Why a [`ConfigSourceFields`] is not a [`ConfigSourceSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigSourceError {
    #[error("a config source needs one of `git` or `image`, found neither")]
    Neither,
    #[error("a config source takes one of `git` or `image`, found both")]
    Both,
}

impl TryFrom<ConfigSourceFields> for ConfigSourceSpec {
    type Error = ConfigSourceError;

    fn try_from(fields: ConfigSourceFields) -> Result<Self, Self::Error> {
        match (fields.git, fields.image) {
            (Some(git), None) => Ok(ConfigSourceSpec::Git(git)),
            (None, Some(image)) => Ok(ConfigSourceSpec::Image(image)),
            (None, None) => Err(ConfigSourceError::Neither),
            (Some(_), Some(_)) => Err(ConfigSourceError::Both),
        }
    }
}

impl From<ConfigSourceSpec> for ConfigSourceFields {
    fn from(spec: ConfigSourceSpec) -> Self {
        match spec {
            ConfigSourceSpec::Git(git) => ConfigSourceFields {
                git: Some(git),
                image: None,
            },
            ConfigSourceSpec::Image(image) => ConfigSourceFields {
                git: None,
                image: Some(image),
            },
        }
    }
}

/// A git repository pinned to one revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitConfigSource {
    /// Repository URL: `https://github.com/org/repo.git`, `ssh://git@host/org/repo.git` or
    /// `git@github.com:org/repo.git`.
    #[schemars(length(min = 1))]
    pub repo: String,
    /// A full 40-character commit SHA (best) or a release tag (`v2.9.0`); a branch moves, so
    /// pods started on different days get different configuration.
    #[schemars(length(min = 1))]
    pub revision: String,
    /// The SSH server's host key(s), in `known_hosts` format (`host keytype base64-key`, one
    /// per line), e.g. the output of `ssh-keyscan -t ed25519 github.com` checked against the
    /// fingerprints the host publishes. Required for SSH repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
    /// Name of the Secret holding the SSH deploy key, for SSH repositories (default
    /// `git-sync`).
    #[serde(default = "default_ssh_key_secret")]
    pub ssh_key_secret: String,
}

/// The Secret DIGIT's git-sync reads its deploy key from.
pub const DEFAULT_SSH_KEY_SECRET: &str = "git-sync";

fn default_ssh_key_secret() -> String {
    DEFAULT_SSH_KEY_SECRET.to_string()
}

/// Network settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    /// Extra egress per component, by component name: destinations outside what the
    /// dependency graph gives it (an SMS or payment gateway outside the cluster).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub egress: BTreeMap<String, Vec<EgressRule>>,
}

impl Network {
    /// Whether nothing is set (the key is then left out when serialising).
    pub fn is_empty(&self) -> bool {
        self.egress.is_empty()
    }
}

/// Traffic a component may send to an address range, on some TCP ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressRule {
    /// Destination address range in CIDR notation, IPv4 (`203.0.113.10/32`) or IPv6
    /// (`2001:db8::/32`).
    pub to: String,
    /// Destination TCP ports (`[443]`), at least one.
    #[schemars(length(min = 1), inner(range(min = 1)))]
    pub ports: Vec<u16>,
}

impl EgressRule {
    /// The destination range, parsed (always succeeds on a validated environment).
    pub fn cidr(&self) -> Result<Cidr, CidrError> {
        self.to.parse()
    }
}

/// The environment's secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secrets {
    /// The secrets file, relative to the environment file that names it (a plaintext file for
    /// development for now).
    #[schemars(length(min = 1))]
    pub file: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use serde_json::json;

    #[test]
    fn a_config_source_is_git_or_image() {
        let git: ConfigSourceSpec = serde_json::from_value(
            json!({"git": {"repo": "https://x.org/r.git", "revision": "v1"}}),
        )
        .unwrap();
        let g = git.git().unwrap();
        assert_eq!(
            (g.repo.as_str(), g.revision.as_str()),
            ("https://x.org/r.git", "v1")
        );
        assert_eq!(g.ssh_key_secret, DEFAULT_SSH_KEY_SECRET);
        assert_eq!(g.known_hosts, None);
        assert_eq!(git.image(), None);
        assert_eq!(
            serde_json::to_value(&git).unwrap(),
            json!({"git": {"repo": "https://x.org/r.git", "revision": "v1", "sshKeySecret": "git-sync"}})
        );

        let image: ConfigSourceSpec = serde_json::from_value(json!({"image": "x/y:v1"})).unwrap();
        assert_eq!(image, ConfigSourceSpec::Image("x/y:v1".into()));
        assert_eq!(
            serde_json::to_value(&image).unwrap(),
            json!({"image": "x/y:v1"})
        );

        let both = serde_json::from_value::<ConfigSourceSpec>(
            json!({"image": "x/y:v1", "git": {"repo": "r", "revision": "v1"}}),
        );
        assert!(both.unwrap_err().to_string().contains("found both"));
        let neither = serde_json::from_value::<ConfigSourceSpec>(json!({}));
        assert!(neither.unwrap_err().to_string().contains("found neither"));
    }

    #[test]
    fn empty_new_keys_are_left_out() {
        let spec: EnvironmentSpec =
            serde_json::from_value(json!({"release": "r", "modules": [], "domain": "d.org"}))
                .unwrap();
        assert!(spec.config_sources.is_empty() && spec.network.is_empty());
        assert!(spec.secrets.is_none() && spec.shared_config.is_empty());
        let back = serde_json::to_value(&spec).unwrap();
        for key in ["configSources", "network", "secrets", "sharedConfig"] {
            assert!(back.get(key).is_none(), "{key}");
        }
    }

    #[test]
    fn egress_rules_parse_their_range() {
        let rule = EgressRule {
            to: "203.0.113.0/24".into(),
            ports: vec![443],
        };
        assert_eq!(rule.cidr().unwrap().prefix, 24);
        assert!(
            EgressRule {
                to: "x".into(),
                ports: vec![]
            }
            .cidr()
            .is_err()
        );
    }

    #[test]
    fn config_map_keys() {
        for ok in [
            "timezone",
            "egov-state-level-tenant-id",
            "a.b_C-9",
            "...",
            &"k".repeat(253),
        ] {
            assert!(is_config_map_key(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"k".repeat(254)] {
            assert!(!is_config_map_key(bad), "{bad}");
        }
        assert_eq!(
            ConfigSourceKind::ALL.map(ConfigSourceKind::as_str),
            ["mdms-data", "configs", "other"]
        );
    }
}
