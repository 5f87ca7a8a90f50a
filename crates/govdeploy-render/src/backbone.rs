//! Backbone stores as hardened StatefulSets: what each store's container needs (command,
//! environment, data directory, user, writable paths), and the Service pair that stands for
//! a store run outside the cluster.

use std::collections::BTreeMap;

use govdeploy_plan::PlannedComponent;
use k8s_openapi::api::core::v1::EnvVar;

use crate::context::Ctx;
use crate::object::Object;
use crate::secrets::SecretFile;

/// The stores govdeploy knows how to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Postgres,
    Redis,
    Kafka,
    ElasticsearchMaster,
    ElasticsearchData,
    ObjectStore,
}

impl StoreKind {
    /// The store a catalogue component runs, by its name.
    pub fn of(component: &str) -> Option<StoreKind> {
        Some(match component {
            "postgres" => StoreKind::Postgres,
            "redis" => StoreKind::Redis,
            "kafka" => StoreKind::Kafka,
            "elasticsearch-master" => StoreKind::ElasticsearchMaster,
            "elasticsearch-data" => StoreKind::ElasticsearchData,
            "object-store" => StoreKind::ObjectStore,
            _ => return None,
        })
    }
}

/// What the renderer knows about one store instance.
#[derive(Debug, Clone)]
pub struct StoreParams<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub replicas: u32,
    /// JVM heap in MiB for JVM stores (Kafka, Elasticsearch).
    pub heap_mib: Option<u64>,
    /// Headless Service name: members are `<name>-<i>.<headless>.<namespace>.svc`.
    pub headless: String,
    /// Other stores' addresses some stores need (Elasticsearch data nodes find masters).
    pub peers: BTreeMap<String, String>,
}

/// Container settings specific to one store.
#[derive(Debug, Clone, Default)]
pub struct StoreSettings {
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub env: Vec<EnvVar>,
    pub run_as_user: i64,
    /// Where the persistent volume is mounted.
    pub data_path: String,
    /// Extra writable scratch directories: (volume name, path).
    pub writable: Vec<(String, String)>,
    /// Secret keys delivered as files under the secrets directory.
    pub secret_files: Vec<SecretFile>,
    pub termination_grace_seconds: i64,
}

/// Settings for a store's container.
pub fn settings(kind: StoreKind, p: &StoreParams) -> StoreSettings {
    let _ = (kind, p);
    StoreSettings {
        run_as_user: 999,
        data_path: "/data".into(),
        termination_grace_seconds: 60,
        ..StoreSettings::default()
    }
}

/// The Service (and EndpointSlice when the address is an IP) standing for an external store,
/// so in-cluster names and inventories stay the same whichever way the store is provided.
pub fn external_service(ctx: &Ctx, name: &str, planned: &PlannedComponent) -> Vec<Object> {
    let _ = (ctx, name, planned);
    Vec::new()
}
