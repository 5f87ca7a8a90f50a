//! Backbone stores as hardened StatefulSets: what each store's container needs (command,
//! environment, data directory, user, writable paths), and the Service pair that stands for
//! a store run outside the cluster.
//!
//! Every store runs as a fixed non-root user with a read-only root filesystem. What an image
//! writes goes either to its persistent volume (`data_path`) or to an emptyDir (`writable`);
//! `/tmp` is always writable (the pod builder adds it to every pod). Directories an image
//! rewrites at start but ships files in (Kafka's and Elasticsearch's config directories) are
//! `seeded`: an init container from the same image copies the image's files into the
//! emptyDir first, as Elastic's operator (ECK) does for Elasticsearch. Secrets arrive as
//! files under [`SECRET_DIR`], read through each image's documented `*_FILE` variables.

mod external;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use govdeploy_plan::PlannedComponent;
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, ObjectFieldSelector};
use sha2::{Digest, Sha256};

use crate::config::DB_SECRET;
use crate::pod;
use crate::secrets::{SECRET_DIR, SecretFile};
use crate::workload::headless_name;

pub use external::external_service;

/// Cluster DNS domain the stable member names use (`<pod>.<headless>.<ns>.svc.<domain>`).
/// Kubernetes' default; a cluster configured with another DNS domain needs it changed.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// Where the seed init container mounts each seeded volume.
pub const SEED_ROOT: &str = "/govdeploy/seed";
/// Name of the init container that seeds writable config directories.
pub const SEED_CONTAINER: &str = "seed-config";
/// Database the in-cluster Postgres creates at first start; the same default `config.rs`
/// puts in `db-url`.
pub const POSTGRES_DATABASE: &str = "egov";
/// Secret holding MinIO's root credentials (keys `root-user`, `root-password`).
pub const OBJECT_STORE_SECRET: &str = "object-store";
/// Kafka listener ports (the catalogue's `kafka` and `controller` ports).
pub const KAFKA_CLIENT_PORT: u16 = 9092;
pub const KAFKA_CONTROLLER_PORT: u16 = 9093;
/// Elasticsearch cluster name, as in DIGIT-DevOps' charts (`clusterName: elasticsearch`).
pub const ES_CLUSTER_NAME: &str = "elasticsearch";
/// The component that runs the Elasticsearch masters.
pub const ES_MASTER: &str = "elasticsearch-master";
/// Elasticsearch JVM logging: everything off, then warnings to stderr.
pub const ES_JVM_LOGGING: &str = "-Xlog:disable -Xlog:all=warning:stderr:utctime,level,tags";

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
    /// Extra writable scratch directories: (volume name, path). `/tmp` is not listed: the
    /// pod builder gives every pod one.
    pub writable: Vec<(String, String)>,
    /// Secret keys delivered as files under the secrets directory.
    pub secret_files: Vec<SecretFile>,
    pub termination_grace_seconds: i64,
    /// Entries of `writable` that must start with the image's own files at that path (a
    /// config directory the store rewrites at start). [`seed_container`] builds the init
    /// container that copies them; without it the store starts with an empty directory.
    pub seeded: Vec<(String, String)>,
    /// Most replicas the configuration supports: the store has no replication configured,
    /// so more pods would be independent copies behind one Service (split data).
    pub max_replicas: Option<u32>,
}

/// Settings for a store's container.
pub fn settings(kind: StoreKind, p: &StoreParams) -> StoreSettings {
    match kind {
        StoreKind::Postgres => postgres(),
        StoreKind::Redis => redis(),
        StoreKind::Kafka => kafka(p),
        StoreKind::ElasticsearchMaster => elasticsearch(p, true),
        StoreKind::ElasticsearchData => elasticsearch(p, false),
        StoreKind::ObjectStore => object_store(p),
    }
}

/// The init container that copies the image's files into the store's seeded volumes, run
/// from the store's own image as the store's user; `None` when nothing is seeded. Its
/// resources equal the store container's so the pod's effective request does not change.
pub fn seed_container(
    settings: &StoreSettings,
    image: &str,
    planned: &PlannedComponent,
) -> Option<Container> {
    if settings.seeded.is_empty() {
        return None;
    }
    let script: Vec<String> = settings
        .seeded
        .iter()
        .map(|(volume, path)| format!("cp -R '{path}/.' '{SEED_ROOT}/{volume}/'"))
        .collect();
    Some(Container {
        name: SEED_CONTAINER.into(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            format!("set -e\n{}", script.join("\n")),
        ]),
        resources: Some(pod::resources(planned)),
        security_context: Some(pod::container_security(settings.run_as_user, &[], true)),
        volume_mounts: Some(
            settings
                .seeded
                .iter()
                .map(|(volume, _)| pod::mount(volume, &format!("{SEED_ROOT}/{volume}"), false))
                .collect(),
        ),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    })
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// An env var from the pod's own metadata (`metadata.name`).
fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: field_path.to_string(),
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn secret_file(secret: &str, key: &str, file: &str) -> SecretFile {
    SecretFile {
        secret: secret.to_string(),
        key: key.to_string(),
        file: file.to_string(),
    }
}

fn secret_path(file: &str) -> String {
    format!("{SECRET_DIR}{file}")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// Stable DNS name of member `i` (`kafka-0.kafka-headless.backbone.svc.cluster.local`).
fn member_host(p: &StoreParams, i: u32) -> String {
    format!(
        "{}-{i}.{}.{}.svc.{CLUSTER_DOMAIN}",
        p.name, p.headless, p.namespace
    )
}

/// Official `postgres` image: one primary, no replication (HA means a managed database).
/// PGDATA is a subdirectory of the volume so the entrypoint creates it as the postgres user
/// with mode 0700, whatever the volume root's owner and lost+found.
fn postgres() -> StoreSettings {
    const DATA: &str = "/var/lib/postgresql/data";
    StoreSettings {
        // Every DIGIT pod keeps a pool (`spring-datasource-tomcat-max-active`, 2 in
        // egov-config): ~60 services x 2 replicas x 2 = 240, well above the default 100.
        args: Some(strings(&["postgres", "-c", "max_connections=300"])),
        env: vec![
            env("PGDATA", format!("{DATA}/pgdata")),
            env("POSTGRES_DB", POSTGRES_DATABASE),
            env("POSTGRES_USER_FILE", secret_path("postgres-user")),
            env("POSTGRES_PASSWORD_FILE", secret_path("postgres-password")),
        ],
        run_as_user: 999,
        data_path: DATA.into(),
        // The entrypoint's temporary init server and the server put their Unix socket here.
        writable: vec![("pg-run".into(), "/var/run/postgresql".into())],
        secret_files: vec![
            secret_file(DB_SECRET, "username", "postgres-user"),
            secret_file(DB_SECRET, "password", "postgres-password"),
        ],
        // The image's STOPSIGNAL is SIGINT (fast shutdown: roll back, checkpoint, exit);
        // a checkpoint of a busy database can take a while.
        termination_grace_seconds: 120,
        seeded: Vec::new(),
        max_replicas: Some(1),
        command: None,
    }
}

/// Official `redis` image with AOF persistence; no password (DIGIT's clients send none; the
/// NetworkPolicy admits only the components that use it).
fn redis() -> StoreSettings {
    StoreSettings {
        // Protected mode refuses non-loopback clients when no password is set; the official
        // image already builds with it off, said here so it survives a custom image.
        args: Some(strings(&[
            "redis-server",
            "--appendonly",
            "yes",
            "--dir",
            "/data",
            "--protected-mode",
            "no",
        ])),
        run_as_user: 999,
        data_path: "/data".into(),
        termination_grace_seconds: 60,
        // Independent instances behind one Service would each hold part of the sessions.
        max_replicas: Some(1),
        ..StoreSettings::default()
    }
}

/// Bitnami Kafka in KRaft mode, every pod both broker and controller, configured through
/// Bitnami's `KAFKA_CFG_*` variables (written into server.properties at start).
fn kafka(p: &StoreParams) -> StoreSettings {
    let n = p.replicas.max(1);
    let voters: Vec<String> = (0..n)
        .map(|i| format!("{i}@{}:{KAFKA_CONTROLLER_PORT}", member_host(p, i)))
        .collect();
    let replication = n.min(3).to_string();
    let min_isr = n.min(2).to_string();
    let mut env_vars = vec![
        // First: later values refer to it as $(POD_NAME).
        field_env("POD_NAME", "metadata.name"),
        env("KAFKA_CFG_PROCESS_ROLES", "broker,controller"),
        env("KAFKA_CFG_CONTROLLER_QUORUM_VOTERS", voters.join(",")),
        env("KAFKA_CFG_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
        env(
            "KAFKA_CFG_LISTENERS",
            format!("PLAINTEXT://:{KAFKA_CLIENT_PORT},CONTROLLER://:{KAFKA_CONTROLLER_PORT}"),
        ),
        env(
            "KAFKA_CFG_ADVERTISED_LISTENERS",
            format!(
                "PLAINTEXT://$(POD_NAME).{}.{}.svc.{CLUSTER_DOMAIN}:{KAFKA_CLIENT_PORT}",
                p.headless, p.namespace
            ),
        ),
        env(
            "KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP",
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        ),
        env("KAFKA_CFG_INTER_BROKER_LISTENER_NAME", "PLAINTEXT"),
        // The same on every member and across restarts: storage is formatted with it once.
        env(
            "KAFKA_KRAFT_CLUSTER_ID",
            kraft_cluster_id(p.namespace, p.name),
        ),
        env(
            "KAFKA_CFG_OFFSETS_TOPIC_REPLICATION_FACTOR",
            replication.clone(),
        ),
        env(
            "KAFKA_CFG_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            replication.clone(),
        ),
        env("KAFKA_CFG_DEFAULT_REPLICATION_FACTOR", replication),
        env("KAFKA_CFG_TRANSACTION_STATE_LOG_MIN_ISR", min_isr.clone()),
        env("KAFKA_CFG_MIN_INSYNC_REPLICAS", min_isr),
        // DIGIT services rely on topics being created on first use.
        env("KAFKA_CFG_AUTO_CREATE_TOPICS_ENABLE", "true"),
    ];
    if let Some(heap) = p.heap_mib {
        env_vars.push(env("KAFKA_HEAP_OPTS", format!("-Xmx{heap}m -Xms{heap}m")));
    }
    StoreSettings {
        // node.id must be unique and stable: the StatefulSet ordinal, which matches the
        // voter ids above. Bitnami's entrypoint runs its setup (config from env) when its
        // argument is run.sh.
        command: Some(vec![
            "/bin/bash".into(),
            "-c".into(),
            "export KAFKA_CFG_NODE_ID=\"${POD_NAME##*-}\"\n\
             exec /opt/bitnami/scripts/kafka/entrypoint.sh /opt/bitnami/scripts/kafka/run.sh"
                .into(),
        ]),
        args: None,
        env: env_vars,
        run_as_user: 1001,
        // KAFKA_VOLUME_DIR: log.dirs is /bitnami/kafka/data, the mounted-config dir below it.
        data_path: "/bitnami/kafka".into(),
        writable: vec![
            ("kafka-config".into(), "/opt/bitnami/kafka/config".into()),
            ("kafka-logs".into(), "/opt/bitnami/kafka/logs".into()),
        ],
        secret_files: Vec::new(),
        // Controlled shutdown moves partition leadership away before the broker exits.
        termination_grace_seconds: 120,
        // Setup copies server.properties.original to server.properties and edits it (sed -i
        // writes a temporary file beside it), all in the image's config directory.
        seeded: vec![("kafka-config".into(), "/opt/bitnami/kafka/config".into())],
        max_replicas: None,
    }
}

/// A KRaft cluster id (base64url without padding of 16 bytes, 22 characters) derived from the
/// namespace and name, so every render of the same environment gives the same id.
pub fn kraft_cluster_id(namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("govdeploy/kafka/{namespace}/{name}").as_bytes());
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Elasticsearch from Elastic's image, settings as dotted environment variables (the Docker
/// distribution turns them into `-E` options). Masters are dedicated (`master`), data
/// nodes hold and ingest (`data,ingest`).
fn elasticsearch(p: &StoreParams, master: bool) -> StoreSettings {
    let master_namespace = p
        .peers
        .get(ES_MASTER)
        .and_then(|address| address.strip_prefix(&format!("{ES_MASTER}.")))
        .unwrap_or(p.namespace);
    let mut env_vars = vec![
        field_env("POD_NAME", "metadata.name"),
        env("cluster.name", ES_CLUSTER_NAME),
        env("node.name", "$(POD_NAME)"),
        env("node.roles", if master { "master" } else { "data,ingest" }),
        env("network.host", "0.0.0.0"),
        // The masters' headless Service resolves to every master pod, ready or not.
        env(
            "discovery.seed_hosts",
            format!("{}.{master_namespace}", headless_name(ES_MASTER)),
        ),
    ];
    if master {
        let names: Vec<String> = (0..p.replicas.max(1))
            .map(|i| format!("{}-{i}", p.name))
            .collect();
        env_vars.push(env("cluster.initial_master_nodes", names.join(",")));
    }
    env_vars.extend([
        // No mmap: no vm.max_map_count sysctl, so no privileged init container.
        env("node.store.allow_mmap", "false"),
        env("bootstrap.memory_lock", "false"),
        // DIGIT's clients (indexer, dashboards) speak plain HTTP without credentials; the
        // NetworkPolicy admits only them. Turning security on needs TLS and credentials in
        // every client.
        env("xpack.security.enabled", "false"),
        // Unused by DIGIT; its native controller process costs memory on every node.
        env("xpack.ml.enabled", "false"),
        // No GeoIP database downloads from the internet (air-gapped clusters).
        env("ingest.geoip.downloader.enabled", "false"),
    ]);
    // JVM logging to stderr, warnings only, instead of jvm.options' GC log files (up to 2 GB
    // in logs/, more than the emptyDir holds): Elastic's documented Docker example.
    let mut java_opts = vec![ES_JVM_LOGGING.to_string()];
    if let Some(heap) = p.heap_mib {
        java_opts.push(format!("-Xms{heap}m -Xmx{heap}m"));
    }
    env_vars.push(env("ES_JAVA_OPTS", java_opts.join(" ")));
    StoreSettings {
        command: None,
        args: None,
        env: env_vars,
        run_as_user: 1000,
        data_path: "/usr/share/elasticsearch/data".into(),
        writable: vec![
            ("es-config".into(), "/usr/share/elasticsearch/config".into()),
            // Fatal-error logs (hs_err, jvm.options); the server log goes to stdout.
            ("es-logs".into(), "/usr/share/elasticsearch/logs".into()),
        ],
        secret_files: Vec::new(),
        termination_grace_seconds: 120,
        // Elasticsearch creates its keystore in the config directory at start, beside the
        // image's elasticsearch.yml, jvm.options and log4j2.properties.
        seeded: vec![("es-config".into(), "/usr/share/elasticsearch/config".into())],
        max_replicas: None,
    }
}

/// MinIO: standalone with one pod; distributed (erasure coded over every pod's volume)
/// with more, members named with MinIO's `{0...n}` expansion.
fn object_store(p: &StoreParams) -> StoreSettings {
    const HOME: &str = "/home/minio";
    let volumes = if p.replicas > 1 {
        format!(
            "http://{}-{{0...{}}}.{}.{}.svc.{CLUSTER_DOMAIN}/data",
            p.name,
            p.replicas - 1,
            p.headless,
            p.namespace
        )
    } else {
        "/data".to_string()
    };
    StoreSettings {
        // Without the image's entrypoint: it only maps the same *_FILE variables.
        command: Some(vec!["minio".into()]),
        args: Some(vec![
            "server".into(),
            volumes,
            "--console-address".into(),
            ":9001".into(),
        ]),
        env: vec![
            env("MINIO_ROOT_USER_FILE", secret_path("minio-root-user")),
            env(
                "MINIO_ROOT_PASSWORD_FILE",
                secret_path("minio-root-password"),
            ),
            // MinIO keeps its certificate directory under $HOME/.minio.
            env("HOME", HOME),
        ],
        run_as_user: 1000,
        data_path: "/data".into(),
        writable: vec![("minio-home".into(), HOME.into())],
        secret_files: vec![
            secret_file(OBJECT_STORE_SECRET, "root-user", "minio-root-user"),
            secret_file(OBJECT_STORE_SECRET, "root-password", "minio-root-password"),
        ],
        termination_grace_seconds: 60,
        seeded: Vec::new(),
        max_replicas: None,
    }
}
