use std::collections::BTreeMap;

use super::testkit::{Fixture, environment};
use super::*;
use crate::context::Ctx;

fn params<'a>(
    name: &'a str,
    namespace: &'a str,
    replicas: u32,
    heap_mib: Option<u64>,
) -> StoreParams<'a> {
    StoreParams {
        name,
        namespace,
        replicas,
        heap_mib,
        headless: headless_name(name),
        peers: BTreeMap::from([
            (ES_MASTER.to_string(), format!("{ES_MASTER}.es-master-ns")),
            ("kafka".to_string(), "kafka.backbone".to_string()),
        ]),
    }
}

fn value<'a>(s: &'a StoreSettings, name: &str) -> Option<&'a str> {
    s.env
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_deref())
}

fn position(s: &StoreSettings, name: &str) -> usize {
    s.env
        .iter()
        .position(|e| e.name == name)
        .expect("env var present")
}

const ALL: [StoreKind; 6] = [
    StoreKind::Postgres,
    StoreKind::Redis,
    StoreKind::Kafka,
    StoreKind::ElasticsearchMaster,
    StoreKind::ElasticsearchData,
    StoreKind::ObjectStore,
];

fn name_of(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Postgres => "postgres",
        StoreKind::Redis => "redis",
        StoreKind::Kafka => "kafka",
        StoreKind::ElasticsearchMaster => "elasticsearch-master",
        StoreKind::ElasticsearchData => "elasticsearch-data",
        StoreKind::ObjectStore => "object-store",
    }
}

#[test]
fn kinds_round_trip_by_name() {
    for kind in ALL {
        assert_eq!(StoreKind::of(name_of(kind)), Some(kind));
    }
    assert_eq!(StoreKind::of("egov-user"), None);
}

#[test]
fn every_store_is_non_root_with_sane_paths() {
    for kind in ALL {
        for replicas in [1, 3] {
            let p = params(name_of(kind), "backbone", replicas, Some(512));
            let s = settings(kind, &p);
            assert!(s.run_as_user > 0, "{kind:?} runs as root");
            assert!(s.termination_grace_seconds >= 60, "{kind:?}");
            assert!(s.data_path.starts_with('/'), "{kind:?}");
            let mut volumes: Vec<&str> = s.writable.iter().map(|(v, _)| v.as_str()).collect();
            volumes.sort_unstable();
            volumes.dedup();
            assert_eq!(
                volumes.len(),
                s.writable.len(),
                "{kind:?}: duplicate volume names"
            );
            for (volume, path) in &s.writable {
                // The pod builder owns these names: tmp (/tmp), secrets, data (the PVC).
                assert!(
                    !["tmp", "secrets", "data"].contains(&volume.as_str()),
                    "{kind:?}: {volume}"
                );
                assert!(path.starts_with('/') && path != "/tmp", "{kind:?}: {path}");
                assert!(
                    !path.starts_with(&s.data_path),
                    "{kind:?}: {path} is on the volume"
                );
            }
            for seeded in &s.seeded {
                assert!(
                    s.writable.contains(seeded),
                    "{kind:?}: seeded {seeded:?} not writable"
                );
            }
            for file in &s.secret_files {
                let path = format!("{SECRET_DIR}{}", file.file);
                assert!(
                    s.env
                        .iter()
                        .any(|e| e.value.as_deref() == Some(path.as_str())),
                    "{kind:?}: secret file {path} not referenced"
                );
            }
        }
    }
}

#[test]
fn postgres_single_primary_with_file_credentials() {
    let s = settings(
        StoreKind::Postgres,
        &params("postgres", "backbone", 1, None),
    );
    assert_eq!(s.run_as_user, 999);
    assert_eq!(s.data_path, "/var/lib/postgresql/data");
    assert_eq!(value(&s, "PGDATA"), Some("/var/lib/postgresql/data/pgdata"));
    assert_eq!(value(&s, "POSTGRES_DB"), Some("egov"));
    assert_eq!(
        value(&s, "POSTGRES_USER_FILE"),
        Some("/etc/govdeploy/secrets/postgres-user")
    );
    assert_eq!(
        value(&s, "POSTGRES_PASSWORD_FILE"),
        Some("/etc/govdeploy/secrets/postgres-password")
    );
    assert!(s.env.iter().all(|e| e.name != "POSTGRES_PASSWORD"));
    assert_eq!(
        s.secret_files,
        vec![
            secret_file("db", "username", "postgres-user"),
            secret_file("db", "password", "postgres-password"),
        ]
    );
    assert!(
        s.writable
            .contains(&("pg-run".into(), "/var/run/postgresql".into()))
    );
    assert_eq!(s.max_replicas, Some(1));
    assert!(s.seeded.is_empty());
}

#[test]
fn redis_appends_only_to_its_volume() {
    let s = settings(StoreKind::Redis, &params("redis", "backbone", 1, None));
    let args = s.args.clone().expect("args");
    assert_eq!(
        &args[..5],
        &strings(&["redis-server", "--appendonly", "yes", "--dir", "/data"])[..]
    );
    assert_eq!(s.data_path, "/data");
    assert_eq!(s.run_as_user, 999);
    assert_eq!(s.max_replicas, Some(1));
}

#[test]
fn kafka_single_node() {
    let s = settings(StoreKind::Kafka, &params("kafka", "backbone", 1, Some(512)));
    assert_eq!(
        value(&s, "KAFKA_CFG_CONTROLLER_QUORUM_VOTERS"),
        Some("0@kafka-0.kafka-headless.backbone.svc.cluster.local:9093")
    );
    for key in [
        "KAFKA_CFG_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_CFG_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_CFG_DEFAULT_REPLICATION_FACTOR",
        "KAFKA_CFG_TRANSACTION_STATE_LOG_MIN_ISR",
        "KAFKA_CFG_MIN_INSYNC_REPLICAS",
    ] {
        assert_eq!(value(&s, key), Some("1"), "{key}");
    }
    assert_eq!(value(&s, "KAFKA_HEAP_OPTS"), Some("-Xmx512m -Xms512m"));
}

#[test]
fn kafka_three_node_quorum() {
    let s = settings(
        StoreKind::Kafka,
        &params("kafka", "backbone", 3, Some(1024)),
    );
    assert_eq!(
        value(&s, "KAFKA_CFG_CONTROLLER_QUORUM_VOTERS"),
        Some(
            "0@kafka-0.kafka-headless.backbone.svc.cluster.local:9093,\
             1@kafka-1.kafka-headless.backbone.svc.cluster.local:9093,\
             2@kafka-2.kafka-headless.backbone.svc.cluster.local:9093"
        )
    );
    assert_eq!(
        value(&s, "KAFKA_CFG_PROCESS_ROLES"),
        Some("broker,controller")
    );
    assert_eq!(
        value(&s, "KAFKA_CFG_LISTENERS"),
        Some("PLAINTEXT://:9092,CONTROLLER://:9093")
    );
    assert_eq!(
        value(&s, "KAFKA_CFG_ADVERTISED_LISTENERS"),
        Some("PLAINTEXT://$(POD_NAME).kafka-headless.backbone.svc.cluster.local:9092")
    );
    // Kubernetes expands $(POD_NAME) only from variables defined before the reference.
    assert!(position(&s, "POD_NAME") < position(&s, "KAFKA_CFG_ADVERTISED_LISTENERS"));
    let pod_name = &s.env[position(&s, "POD_NAME")];
    let field = pod_name
        .value_from
        .as_ref()
        .and_then(|v| v.field_ref.as_ref())
        .expect("fieldRef");
    assert_eq!(field.field_path, "metadata.name");
    assert_eq!(value(&s, "KAFKA_CFG_DEFAULT_REPLICATION_FACTOR"), Some("3"));
    assert_eq!(
        value(&s, "KAFKA_CFG_OFFSETS_TOPIC_REPLICATION_FACTOR"),
        Some("3")
    );
    assert_eq!(value(&s, "KAFKA_CFG_MIN_INSYNC_REPLICAS"), Some("2"));
    assert_eq!(
        value(&s, "KAFKA_CFG_TRANSACTION_STATE_LOG_MIN_ISR"),
        Some("2")
    );
    assert_eq!(value(&s, "KAFKA_HEAP_OPTS"), Some("-Xmx1024m -Xms1024m"));
    assert!(
        value(&s, "KAFKA_CFG_NODE_ID").is_none(),
        "node id comes from the ordinal"
    );
    let command = s.command.clone().expect("command").join(" ");
    assert!(
        command.contains("KAFKA_CFG_NODE_ID=\"${POD_NAME##*-}\""),
        "{command}"
    );
    assert!(
        command.contains(
            "exec /opt/bitnami/scripts/kafka/entrypoint.sh /opt/bitnami/scripts/kafka/run.sh"
        ),
        "{command}"
    );
    assert_eq!(s.run_as_user, 1001);
    assert_eq!(s.data_path, "/bitnami/kafka");
    assert_eq!(
        s.seeded,
        vec![(
            "kafka-config".to_string(),
            "/opt/bitnami/kafka/config".to_string()
        )]
    );
    assert!(
        s.writable
            .iter()
            .any(|(_, p)| p == "/opt/bitnami/kafka/logs")
    );
}

#[test]
fn kraft_cluster_id_is_stable_and_well_formed() {
    let id = kraft_cluster_id("backbone", "kafka");
    assert_eq!(id.len(), 22);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{id}"
    );
    assert_eq!(id, kraft_cluster_id("backbone", "kafka"));
    assert_ne!(id, kraft_cluster_id("backbone-uat", "kafka"));
    let s = settings(StoreKind::Kafka, &params("kafka", "backbone", 3, None));
    assert_eq!(value(&s, "KAFKA_KRAFT_CLUSTER_ID"), Some(id.as_str()));
    assert!(value(&s, "KAFKA_HEAP_OPTS").is_none());
}

#[test]
fn kraft_cluster_ids_are_22_base64url_characters() {
    let id = kraft_cluster_id("backbone", "kafka");
    assert_eq!(id.len(), 22);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{id}"
    );
    assert_ne!(id, kraft_cluster_id("other", "kafka"));
}
#[test]
fn elasticsearch_masters_bootstrap_their_quorum() {
    let s = settings(
        StoreKind::ElasticsearchMaster,
        &params(ES_MASTER, "es-master-ns", 3, Some(448)),
    );
    assert_eq!(
        value(&s, "cluster.initial_master_nodes"),
        Some("elasticsearch-master-0,elasticsearch-master-1,elasticsearch-master-2")
    );
    assert_eq!(value(&s, "node.roles"), Some("master"));
    assert_eq!(value(&s, "node.name"), Some("$(POD_NAME)"));
    assert!(position(&s, "POD_NAME") < position(&s, "node.name"));
    assert_eq!(
        value(&s, "discovery.seed_hosts"),
        Some("elasticsearch-master-headless.es-master-ns")
    );
    assert_eq!(
        value(&s, "ES_JAVA_OPTS"),
        Some("-Xlog:disable -Xlog:all=warning:stderr:utctime,level,tags -Xms448m -Xmx448m")
    );
    assert_eq!(value(&s, "node.store.allow_mmap"), Some("false"));
    assert_eq!(value(&s, "bootstrap.memory_lock"), Some("false"));
    assert_eq!(value(&s, "xpack.security.enabled"), Some("false"));
    assert_eq!(value(&s, "cluster.name"), Some("elasticsearch"));
    assert_eq!(s.run_as_user, 1000);
    assert_eq!(s.data_path, "/usr/share/elasticsearch/data");
    assert_eq!(
        s.seeded,
        vec![(
            "es-config".to_string(),
            "/usr/share/elasticsearch/config".to_string()
        )]
    );

    let single = settings(
        StoreKind::ElasticsearchMaster,
        &params(ES_MASTER, "es-master-ns", 1, None),
    );
    assert_eq!(
        value(&single, "cluster.initial_master_nodes"),
        Some("elasticsearch-master-0")
    );
    assert_eq!(value(&single, "ES_JAVA_OPTS"), Some(ES_JVM_LOGGING));
}

#[test]
fn elasticsearch_data_nodes_find_masters_in_their_namespace() {
    let s = settings(
        StoreKind::ElasticsearchData,
        &params("elasticsearch-data", "es-data-ns", 3, Some(1024)),
    );
    assert_eq!(value(&s, "node.roles"), Some("data,ingest"));
    assert!(value(&s, "cluster.initial_master_nodes").is_none());
    assert_eq!(
        value(&s, "discovery.seed_hosts"),
        Some("elasticsearch-master-headless.es-master-ns")
    );
    assert!(value(&s, "ES_JAVA_OPTS").is_some_and(|o| o.ends_with(" -Xms1024m -Xmx1024m")));

    let mut alone = params("elasticsearch-data", "es-cluster", 1, None);
    alone.peers.clear();
    let s = settings(StoreKind::ElasticsearchData, &alone);
    assert_eq!(
        value(&s, "discovery.seed_hosts"),
        Some("elasticsearch-master-headless.es-cluster")
    );
}

#[test]
fn object_store_standalone_and_distributed() {
    let s = settings(
        StoreKind::ObjectStore,
        &params("object-store", "backbone", 1, None),
    );
    assert_eq!(s.command, Some(vec!["minio".to_string()]));
    assert_eq!(
        s.args,
        Some(strings(&["server", "/data", "--console-address", ":9001"]))
    );
    assert_eq!(
        value(&s, "MINIO_ROOT_USER_FILE"),
        Some("/etc/govdeploy/secrets/minio-root-user")
    );
    assert_eq!(
        value(&s, "MINIO_ROOT_PASSWORD_FILE"),
        Some("/etc/govdeploy/secrets/minio-root-password")
    );
    assert_eq!(
        s.secret_files,
        vec![
            secret_file("object-store", "root-user", "minio-root-user"),
            secret_file("object-store", "root-password", "minio-root-password"),
        ]
    );
    assert_eq!(value(&s, "HOME"), Some("/home/minio"));
    assert!(s.writable.iter().any(|(_, p)| p == "/home/minio"));
    assert_eq!(s.run_as_user, 1000);

    let s = settings(
        StoreKind::ObjectStore,
        &params("object-store", "backbone", 4, None),
    );
    assert_eq!(
        s.args.expect("args")[1],
        "http://object-store-{0...3}.object-store-headless.backbone.svc.cluster.local/data"
    );
}

#[test]
fn seed_container_copies_image_config_into_the_volume() {
    let fixture = Fixture::new(&environment("backbone", "    {}"));
    let planned = fixture.plan.components.get("kafka").expect("kafka planned");
    let s = settings(
        StoreKind::Kafka,
        &params("kafka", "backbone", 3, Some(1024)),
    );
    let init =
        seed_container(&s, "docker.io/bitnami/kafka:3.6.1", planned).expect("seed container");
    assert_eq!(init.name, SEED_CONTAINER);
    assert_eq!(init.image.as_deref(), Some("docker.io/bitnami/kafka:3.6.1"));
    let command = init.command.clone().expect("command").join(" ");
    assert!(
        command.contains("cp -R '/opt/bitnami/kafka/config/.' '/govdeploy/seed/kafka-config/'"),
        "{command}"
    );
    let mounts = init.volume_mounts.clone().expect("mounts");
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].name, "kafka-config");
    assert_eq!(mounts[0].mount_path, "/govdeploy/seed/kafka-config");
    let security = init.security_context.clone().expect("security context");
    assert_eq!(security.run_as_user, Some(1001));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert!(init.resources.is_some());

    let postgres = settings(
        StoreKind::Postgres,
        &params("postgres", "backbone", 1, None),
    );
    assert!(seed_container(&postgres, "postgres:14.13", planned).is_none());
}

fn external_fixture() -> Fixture {
    Fixture::new(&environment(
        "core",
        "    postgres: {mode: external, host: 10.1.2.3, port: 5432}\n    \
         redis: {mode: external, host: Redis.Example.org, port: 6380}",
    ))
}

#[test]
fn external_store_with_dns_name_is_an_external_name_service() {
    let fixture = external_fixture();
    let ctx = Ctx::new(fixture.input());
    let planned = ctx.planned("redis").expect("redis planned");
    let objects = external_service(&ctx, "redis", planned);
    assert_eq!(objects.len(), 1);
    let svc = &objects[0];
    assert_eq!((svc.kind.as_str(), svc.name.as_str()), ("Service", "redis"));
    assert_eq!(svc.namespace.as_deref(), Some(planned.namespace.as_str()));
    assert_eq!(svc.body["spec"]["type"], "ExternalName");
    assert_eq!(svc.body["spec"]["externalName"], "redis.example.org");
    assert_eq!(svc.body["spec"]["ports"][0]["name"], "redis");
    assert_eq!(svc.body["spec"]["ports"][0]["port"], 6380);
    assert_eq!(
        svc.body["metadata"]["labels"]["app.kubernetes.io/name"],
        "redis"
    );
}

#[test]
fn external_store_with_ip_is_a_service_and_endpoint_slice() {
    let fixture = external_fixture();
    let ctx = Ctx::new(fixture.input());
    let planned = ctx.planned("postgres").expect("postgres planned");
    let objects = external_service(&ctx, "postgres", planned);
    assert_eq!(objects.len(), 2);
    let (svc, slice) = (&objects[0], &objects[1]);
    assert_eq!(svc.kind, "Service");
    assert_eq!(svc.body["spec"]["type"], "ClusterIP");
    assert!(svc.body["spec"].get("selector").is_none());
    assert_eq!(svc.body["spec"]["ports"][0]["name"], "postgres");
    assert_eq!(svc.body["spec"]["ports"][0]["port"], 5432);
    assert_eq!(
        (slice.api_version.as_str(), slice.kind.as_str()),
        ("discovery.k8s.io/v1", "EndpointSlice")
    );
    assert_eq!(slice.namespace, svc.namespace);
    assert_eq!(
        slice.body["metadata"]["labels"]["kubernetes.io/service-name"],
        "postgres"
    );
    assert_eq!(slice.body["addressType"], "IPv4");
    assert_eq!(slice.body["endpoints"][0]["addresses"][0], "10.1.2.3");
    assert_eq!(slice.body["endpoints"][0]["conditions"]["ready"], true);
    assert_eq!(slice.body["ports"][0]["name"], "postgres");
    assert_eq!(slice.body["ports"][0]["port"], 5432);

    // In-cluster stores get nothing here.
    let kafka = ctx.planned("kafka").expect("kafka planned");
    assert!(external_service(&ctx, "kafka", kafka).is_empty());
}
