//! Scheduled backups in the cluster: a CronJob that runs `govdeploy backup run` (the same
//! code path as `govdeploy backup ENV`) with the hardening every govdeploy workload has —
//! non-root, read-only root filesystem, all capabilities dropped, RuntimeDefault seccomp, no
//! service-account token, memory request = limit and a CPU request — and a NetworkPolicy that
//! lets it reach DNS, the database and the object store only. Credentials arrive as files.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SeccompProfile, SecretVolumeSource, SecurityContext,
    ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Name of the CronJob, its ServiceAccount and NetworkPolicy.
pub const NAME: &str = "govdeploy-backup";
/// Same user id govdeploy gives application images that name none.
pub const UID: i64 = 10001;
const SECRETS_DIR: &str = "/etc/govdeploy/secrets";
const STORE_SECRET_DIR: &str = "/etc/govdeploy/store";
const SCRATCH_DIR: &str = "/var/lib/govdeploy-backup";

/// Where the scheduled job's database is.
#[derive(Debug, Clone)]
pub struct ScheduledDatabase {
    pub host: String,
    pub port: u16,
    pub database: String,
    /// Secret with keys `username` and `password` (render's `db` Secret).
    pub credentials_secret: String,
    /// The in-cluster Postgres pods (namespace, pod labels), for the egress rule; `None` for
    /// an external database, reached on its port only.
    pub in_cluster: Option<(String, BTreeMap<String, String>)>,
}

#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub environment: String,
    pub namespace: String,
    /// Cron expression, e.g. `0 2 * * *`.
    pub schedule: String,
    pub image: String,
    /// `s3://bucket/prefix`: a directory inside a pod would vanish with it.
    pub store: String,
    /// Secret whose key `credentials` holds `aws_...=value` lines for the store.
    pub store_secret: String,
    /// Port of the object store (443 unless the endpoint says otherwise).
    pub store_port: u16,
    pub database: ScheduledDatabase,
    /// Size of the scratch volume the dump is staged in.
    pub scratch_size: String,
    pub memory: String,
    pub cpu: String,
}

fn labels(spec: &ScheduleSpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), NAME.into()),
        (
            "app.kubernetes.io/instance".into(),
            spec.environment.clone(),
        ),
        ("app.kubernetes.io/managed-by".into(), "govdeploy".into()),
        ("app.kubernetes.io/component".into(), "backup".into()),
        ("govdeploy.io/environment".into(), spec.environment.clone()),
        ("govdeploy.io/component".into(), NAME.into()),
        ("govdeploy.io/tier".into(), "backbone".into()),
        (
            "govdeploy.io/data-classification".into(),
            "confidential".into(),
        ),
        ("govdeploy.io/exposure".into(), "internal".into()),
    ])
}

fn selector(spec: &ScheduleSpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), NAME.into()),
        (
            "app.kubernetes.io/instance".into(),
            spec.environment.clone(),
        ),
    ])
}

fn meta(spec: &ScheduleSpec) -> ObjectMeta {
    ObjectMeta {
        name: Some(NAME.into()),
        namespace: Some(spec.namespace.clone()),
        labels: Some(labels(spec)),
        ..Default::default()
    }
}

fn args(spec: &ScheduleSpec) -> Vec<String> {
    let db = &spec.database;
    [
        "backup",
        "run",
        "--environment",
        &spec.environment,
        "--pg-host",
        &db.host,
        "--pg-port",
        &db.port.to_string(),
        "--pg-database",
        &db.database,
        "--pg-user-file",
        &format!("{SECRETS_DIR}/username"),
        "--password-file",
        &format!("{SECRETS_DIR}/password"),
        "--to",
        &spec.store,
        "--s3-config-file",
        &format!("{STORE_SECRET_DIR}/credentials"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..Default::default()
    }
}

pub fn cron_job(spec: &ScheduleSpec) -> CronJob {
    let resources = ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("memory".into(), Quantity(spec.memory.clone())),
            ("cpu".into(), Quantity(spec.cpu.clone())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".into(),
            Quantity(spec.memory.clone()),
        )])),
        ..Default::default()
    };
    let container = Container {
        name: "backup".into(),
        image: Some(spec.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["govdeploy".into()]),
        args: Some(args(spec)),
        env: Some(vec![EnvVar {
            name: "TMPDIR".into(),
            value: Some(SCRATCH_DIR.into()),
            ..Default::default()
        }]),
        resources: Some(resources),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            mount("db-credentials", SECRETS_DIR, true),
            mount("store-credentials", STORE_SECRET_DIR, true),
            mount("scratch", SCRATCH_DIR, false),
        ]),
        ..Default::default()
    };
    let pod = PodSpec {
        containers: vec![container],
        restart_policy: Some("Never".into()),
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(UID),
            run_as_group: Some(UID),
            fs_group: Some(UID),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..Default::default()
        }),
        volumes: Some(vec![
            secret_volume("db-credentials", &spec.database.credentials_secret),
            secret_volume("store-credentials", &spec.store_secret),
            Volume {
                name: "scratch".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(Quantity(spec.scratch_size.clone())),
                    medium: None,
                }),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    CronJob {
        metadata: meta(spec),
        spec: Some(CronJobSpec {
            schedule: spec.schedule.clone(),
            time_zone: Some("Etc/UTC".into()),
            // A backup still running when the next one is due is left to finish.
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(3600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(spec)),
                    ..Default::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(1),
                    active_deadline_seconds: Some(6 * 3600),
                    ttl_seconds_after_finished: Some(7 * 86_400),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels(spec)),
                            ..Default::default()
                        }),
                        spec: Some(pod),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

pub fn service_account(spec: &ScheduleSpec) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(spec),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".into()),
        end_port: None,
    }
}

/// Egress to DNS, the database (its pods when in the cluster) and the object store's port;
/// no ingress at all.
pub fn network_policy(spec: &ScheduleSpec) -> NetworkPolicy {
    let dns = NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".into(),
                    "kube-system".into(),
                )])),
                match_expressions: None,
            }),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("k8s-app".into(), "kube-dns".into())])),
                match_expressions: None,
            }),
            ip_block: None,
        }]),
        ports: Some(vec![
            NetworkPolicyPort {
                port: Some(IntOrString::Int(53)),
                protocol: Some("UDP".into()),
                end_port: None,
            },
            tcp(53),
        ]),
    };
    let database = NetworkPolicyEgressRule {
        to: spec.database.in_cluster.as_ref().map(|(namespace, pods)| {
            vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        "kubernetes.io/metadata.name".into(),
                        namespace.clone(),
                    )])),
                    match_expressions: None,
                }),
                pod_selector: Some(LabelSelector {
                    match_labels: Some(pods.clone()),
                    match_expressions: None,
                }),
                ip_block: None,
            }]
        }),
        ports: Some(vec![tcp(spec.database.port)]),
    };
    let store = NetworkPolicyEgressRule {
        to: None,
        ports: Some(vec![tcp(spec.store_port)]),
    };
    let mut metadata = meta(spec);
    metadata.annotations = Some(BTreeMap::from([
        (
            "govdeploy.io/allowed-to".into(),
            format!(
                "dns, postgres {}:{}, object store port {}",
                spec.database.host, spec.database.port, spec.store_port
            ),
        ),
        ("govdeploy.io/allowed-from".into(), "none".into()),
    ]));
    NetworkPolicy {
        metadata,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector(spec)),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![]),
            egress: Some(vec![dns, database, store]),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ScheduleSpec {
        ScheduleSpec {
            environment: "prod".into(),
            namespace: "backbone".into(),
            schedule: "0 2 * * *".into(),
            image: "registry.local:5000/govdeploy/backup:0.1.0-pg14".into(),
            store: "s3://backups/prod".into(),
            store_secret: "govdeploy-backup-store".into(),
            store_port: 443,
            database: ScheduledDatabase {
                host: "postgres.backbone.svc".into(),
                port: 5432,
                database: "egov".into(),
                credentials_secret: "db".into(),
                in_cluster: Some((
                    "backbone".into(),
                    BTreeMap::from([("app.kubernetes.io/name".into(), "postgres".into())]),
                )),
            },
            scratch_size: "20Gi".into(),
            memory: "512Mi".into(),
            cpu: "250m".into(),
        }
    }

    #[test]
    fn cron_job_is_hardened_and_runs_the_backup_command() {
        let job = cron_job(&spec());
        let cron = job.spec.as_ref().and_then(|s| s.job_template.spec.as_ref());
        let pod = cron.and_then(|j| j.template.spec.as_ref());
        let Some(pod) = pod else {
            panic!("no pod spec");
        };
        assert_eq!(pod.automount_service_account_token, Some(false));
        let sc = pod
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref());
        assert_eq!(sc.map(|s| s.type_.as_str()), Some("RuntimeDefault"));
        let c = &pod.containers[0];
        let csc = c.security_context.as_ref();
        assert_eq!(csc.and_then(|s| s.read_only_root_filesystem), Some(true));
        assert_eq!(csc.and_then(|s| s.allow_privilege_escalation), Some(false));
        let args = c.args.clone().unwrap_or_default();
        assert_eq!(&args[..2], ["backup", "run"]);
        assert!(args.iter().all(|a| !a.contains("password=")));
        let res = c.resources.as_ref();
        assert_eq!(
            res.and_then(|r| r.limits.as_ref())
                .and_then(|l| l.get("memory")),
            res.and_then(|r| r.requests.as_ref())
                .and_then(|l| l.get("memory"))
        );
        assert!(
            res.and_then(|r| r.limits.as_ref())
                .is_some_and(|l| !l.contains_key("cpu"))
        );
    }

    #[test]
    fn network_policy_reaches_only_dns_database_and_store() {
        let policy = network_policy(&spec());
        let egress = policy.spec.and_then(|s| s.egress).unwrap_or_default();
        assert_eq!(egress.len(), 3);
        let ports: Vec<_> = egress
            .iter()
            .flat_map(|r| r.ports.clone().unwrap_or_default())
            .filter_map(|p| p.port)
            .collect();
        assert_eq!(
            ports,
            vec![
                IntOrString::Int(53),
                IntOrString::Int(53),
                IntOrString::Int(5432),
                IntOrString::Int(443)
            ]
        );
    }
}
