//! The hardened pod: probes, graceful shutdown, requests without CPU limits, a locked-down
//! security context with writable scratch space only where the runtime needs it, spreading
//! across nodes, secrets as files, and content-hash annotations.

use std::collections::BTreeMap;

use govdeploy_catalog::{Component, Runtime, WorkloadKind};
use govdeploy_plan::PlannedComponent;
use govdeploy_yaml::Diagnostic;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, HTTPGetAction, KeyToPath, Lifecycle, LifecycleHandler,
    LocalObjectReference, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ProjectedVolumeSource, ResourceRequirements, SeccompProfile, SecretProjection, SecurityContext,
    SleepAction, Sysctl, TCPSocketAction, TopologySpreadConstraint, Volume, VolumeMount,
    VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::ResolvedEnv;
use crate::context::Ctx;
use crate::hash::short_hash;
use crate::labels;
use crate::secrets::{SECRET_DIR, SecretFile, SecretKeyUse};

/// User id for application images that do not name one: outside every distribution's system
/// range, so it never maps to a real account in the image.
pub const DEFAULT_UID: i64 = 10001;
/// nginx's user in the official images (front ends).
pub const NGINX_UID: i64 = 101;
/// Seconds the pod keeps serving after it is removed from endpoints, before SIGTERM: lets
/// kube-proxy and the ingress controller stop sending it traffic.
pub const PRE_STOP_SLEEP_SECONDS: i64 = 10;

/// What a pod needs beyond the component's own container: extra init containers, volumes
/// and mounts, a fixed user id, extra annotations.
#[derive(Debug, Default)]
pub struct PodExtras {
    pub init_containers: Vec<Container>,
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
    /// Writable scratch directories (emptyDir): (volume name, path).
    pub writable: Vec<(String, String)>,
    pub run_as_user: Option<i64>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    /// Extra env vars appended after the resolved ones.
    pub env: Vec<k8s_openapi::api::core::v1::EnvVar>,
    pub annotations: BTreeMap<String, String>,
    pub termination_grace_seconds: Option<i64>,
    /// Spreading must hold (quorum members), not just be preferred.
    pub strict_spread: bool,
    /// Added Linux capabilities (only `NET_BIND_SERVICE` is ever used).
    pub add_capabilities: Vec<String>,
    /// The runtime cannot run with a read-only root filesystem; the reason is recorded as a
    /// waiver annotation.
    pub writable_root: Option<String>,
    /// Inputs of the config hash beyond the env's shared-config keys.
    pub config_hash_parts: Vec<String>,
    /// Service account with API access (the ingress controller); others get none.
    pub needs_api_token: bool,
}

/// A pod template and what it reads, for ledgers and NetworkPolicies.
pub struct BuiltPod {
    pub template: PodTemplateSpec,
    pub secret_keys: Vec<SecretKeyUse>,
    /// The component's own env ConfigMap data (plain values), when it has any.
    pub env_config: Option<(String, BTreeMap<String, String>)>,
}

/// Name of the ConfigMap holding a component's plain env values.
pub fn env_config_map_name(component: &str) -> String {
    format!("{component}-env")
}

/// User id the component's container runs as.
pub fn uid_for(component: &Component, extras: &PodExtras) -> i64 {
    extras.run_as_user.unwrap_or(match component.runtime {
        Runtime::Nginx => NGINX_UID,
        _ => DEFAULT_UID,
    })
}

pub fn build(
    ctx: &mut Ctx,
    name: &str,
    planned: &PlannedComponent,
    component: &Component,
    image: &str,
    env: ResolvedEnv,
    mut extras: PodExtras,
) -> BuiltPod {
    let uid = uid_for(component, &extras);
    let selector = labels::selector(ctx, name);
    let pod_labels = labels::pod(ctx, name);

    let mut writable = vec![("tmp".to_string(), "/tmp".to_string())];
    if component.runtime == Runtime::Nginx {
        writable.push(("nginx-cache".into(), "/var/cache/nginx".into()));
        writable.push(("nginx-run".into(), "/var/run".into()));
    }
    writable.append(&mut extras.writable);
    let mut volumes: Vec<Volume> = writable
        .iter()
        .map(|(volume, _)| Volume {
            name: volume.clone(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("1Gi".into())),
                medium: None,
            }),
            ..Volume::default()
        })
        .collect();
    let mut mounts: Vec<VolumeMount> = writable
        .iter()
        .map(|(volume, path)| mount(volume, path, false))
        .collect();

    let mut secret_keys: Vec<SecretKeyUse> = env.secret_env.clone();
    if !env.secret_files.is_empty() {
        volumes.push(secret_volume("secrets", &env.secret_files));
        mounts.push(mount("secrets", SECRET_DIR.trim_end_matches('/'), true));
        secret_keys.extend(env.secret_files.iter().map(|f| SecretKeyUse {
            secret: f.secret.clone(),
            key: f.key.clone(),
        }));
    }
    volumes.append(&mut extras.volumes);
    mounts.append(&mut extras.mounts);
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));

    let mut env_vars = env.env;
    env_vars.append(&mut extras.env);
    // Plain values live in the component's own ConfigMap, not in the pod spec: configuration
    // stays outside the workload, and the pod's hash covers it. Values that refer to other
    // variables (`$(POD_NAME)`) stay inline: only `env` entries are expanded.
    let (literal, env_vars): (Vec<EnvVar>, Vec<EnvVar>) = env_vars.into_iter().partition(|e| {
        e.value_from.is_none() && !e.value.as_deref().unwrap_or_default().contains("$(")
    });
    let env_config: BTreeMap<String, String> = literal
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect();
    let env_config_name = env_config_map_name(name);

    let mut annotations = extras.annotations.clone();
    let mut config_parts: Vec<String> = env
        .config_keys
        .iter()
        .map(|(cm, key, value)| format!("{cm}/{key}={value}"))
        .collect();
    config_parts.extend(
        env_config
            .iter()
            .map(|(k, v)| format!("{env_config_name}/{k}={v}")),
    );
    config_parts.extend(extras.config_hash_parts.iter().cloned());
    if !config_parts.is_empty() {
        annotations.insert(labels::CONFIG_HASH.into(), short_hash(&config_parts));
    }
    secret_keys.sort();
    secret_keys.dedup();
    if !secret_keys.is_empty() {
        annotations.insert(
            labels::SECRET_HASH.into(),
            short_hash(crate::secrets::hash_parts(ctx, &secret_keys)),
        );
    }
    if !env.secret_env.is_empty() {
        let reason = if component.runtime == Runtime::JavaSpring {
            "Spring Boot before 2.4 cannot read secrets from files (configtree)"
        } else {
            "the runtime reads its credentials from environment variables only"
        };
        annotations.insert(
            format!("{}secrets-as-env", labels::WAIVE_PREFIX),
            reason.into(),
        );
    }
    if let Some(reason) = &extras.writable_root {
        annotations.insert(
            format!("{}read-only-root-filesystem", labels::WAIVE_PREFIX),
            reason.clone(),
        );
    }

    let is_job = matches!(
        component.workload,
        WorkloadKind::CronJob | WorkloadKind::Job
    );
    let (readiness, liveness, startup) = if is_job {
        (None, None, None)
    } else {
        probes(ctx, name, planned, component)
    };
    let container = Container {
        name: name.to_string(),
        image: Some(image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: extras.command.take(),
        args: extras.args.take(),
        env: (!env_vars.is_empty()).then_some(env_vars),
        env_from: (!env_config.is_empty()).then(|| {
            vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: env_config_name.clone(),
                    optional: None,
                }),
                ..EnvFromSource::default()
            }]
        }),
        ports: ports(component),
        readiness_probe: readiness,
        liveness_probe: liveness,
        startup_probe: startup,
        lifecycle: (!is_job).then(|| Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction {
                    seconds: PRE_STOP_SLEEP_SECONDS,
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        resources: Some(resources(planned)),
        security_context: Some(container_security(
            uid,
            &extras.add_capabilities,
            extras.writable_root.is_none(),
        )),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    };

    let grace = extras
        .termination_grace_seconds
        .unwrap_or(if component.runtime.is_jvm() { 45 } else { 30 });
    let spec = PodSpec {
        service_account_name: Some(name.to_string()),
        automount_service_account_token: Some(extras.needs_api_token),
        enable_service_links: Some(false),
        image_pull_secrets: pull_secrets(ctx),
        security_context: Some(pod_security(uid, component.runtime == Runtime::Nginx)),
        termination_grace_period_seconds: Some(grace),
        topology_spread_constraints: (!is_job).then(|| spread(&selector, extras.strict_spread)),
        init_containers: (!extras.init_containers.is_empty())
            .then(|| std::mem::take(&mut extras.init_containers)),
        containers: vec![container],
        volumes: (!volumes.is_empty()).then_some(volumes),
        restart_policy: is_job.then(|| "OnFailure".to_string()),
        ..PodSpec::default()
    };
    BuiltPod {
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(pod_labels),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..ObjectMeta::default()
            }),
            spec: Some(spec),
        },
        secret_keys,
        env_config: (!env_config.is_empty()).then_some((env_config_name, env_config)),
    }
}

pub fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

/// One projected volume with every secret file, readable by the pod's group only.
pub fn secret_volume(volume: &str, files: &[SecretFile]) -> Volume {
    let mut by_secret: BTreeMap<&str, Vec<KeyToPath>> = BTreeMap::new();
    for f in files {
        by_secret.entry(&f.secret).or_default().push(KeyToPath {
            key: f.key.clone(),
            path: f.file.clone(),
            mode: None,
        });
    }
    let sources = by_secret
        .into_iter()
        .map(|(secret, mut items)| {
            items.sort_by(|a, b| a.path.cmp(&b.path));
            items.dedup_by(|a, b| a.path == b.path);
            VolumeProjection {
                secret: Some(SecretProjection {
                    name: secret.to_string(),
                    items: Some(items),
                    optional: None,
                }),
                ..VolumeProjection::default()
            }
        })
        .collect();
    Volume {
        name: volume.to_string(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o440),
            sources: Some(sources),
        }),
        ..Volume::default()
    }
}

fn ports(component: &Component) -> Option<Vec<ContainerPort>> {
    (!component.ports.is_empty()).then(|| {
        component
            .ports
            .iter()
            .map(|p| ContainerPort {
                name: Some(p.name.clone()),
                container_port: i32::from(p.port),
                protocol: Some(p.protocol.clone()),
                ..ContainerPort::default()
            })
            .collect()
    })
}

/// Memory request = limit (no overcommit, predictable OOM), a CPU request, never a CPU limit
/// (throttling stalls JVM start-up and garbage collection).
pub fn resources(planned: &PlannedComponent) -> ResourceRequirements {
    let memory = Quantity(planned.memory.clone());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(planned.cpu.clone())),
            ("memory".to_string(), memory.clone()),
        ])),
        limits: Some(BTreeMap::from([("memory".to_string(), memory)])),
        ..ResourceRequirements::default()
    }
}

pub fn container_security(uid: i64, add: &[String], read_only_root: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(read_only_root),
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: (!add.is_empty()).then(|| add.to_vec()),
        }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

/// The registry pull Secret of the environment, if it names one.
pub fn pull_secrets(ctx: &Ctx) -> Option<Vec<LocalObjectReference>> {
    ctx.env
        .spec
        .registry
        .as_ref()
        .and_then(|r| r.pull_secret.clone())
        .map(|name| vec![LocalObjectReference { name }])
}

pub fn pod_security(uid: i64, binds_low_port: bool) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(runtime_default()),
        // Lets a non-root nginx listen on port 80 without any capability: a namespaced,
        // "safe" sysctl allowed by the restricted Pod Security Standard.
        sysctls: binds_low_port.then(|| {
            vec![Sysctl {
                name: "net.ipv4.ip_unprivileged_port_start".into(),
                value: "0".into(),
            }]
        }),
        ..PodSecurityContext::default()
    }
}

/// Spread replicas over nodes, then zones. Quorum members must not share a node; services
/// prefer not to, so a small cluster still schedules them.
fn spread(selector: &labels::Labels, strict: bool) -> Vec<TopologySpreadConstraint> {
    let label_selector = LabelSelector {
        match_labels: Some(selector.clone()),
        match_expressions: None,
    };
    vec![
        TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "kubernetes.io/hostname".into(),
            when_unsatisfiable: if strict {
                "DoNotSchedule"
            } else {
                "ScheduleAnyway"
            }
            .into(),
            label_selector: Some(label_selector.clone()),
            ..TopologySpreadConstraint::default()
        },
        TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "topology.kubernetes.io/zone".into(),
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(label_selector),
            ..TopologySpreadConstraint::default()
        },
    ]
}

/// Readiness answers "send me traffic" and reacts fast; liveness answers "restart me" and is
/// deliberately slower, so a busy service is taken out of rotation long before it is killed;
/// the startup probe covers slow JVM starts so liveness never kills a pod still starting.
fn probes(
    ctx: &mut Ctx,
    name: &str,
    planned: &PlannedComponent,
    component: &Component,
) -> (Option<Probe>, Option<Probe>, Option<Probe>) {
    let default_port = component.ports.first().map(|p| p.port);
    let catalogued = component.probes.clone().unwrap_or_default();
    let port = catalogued.port.or(default_port);
    let Some(port) = port else {
        ctx.note_probe_gap(name, "no port: no probes");
        return (None, None, None);
    };
    let http = |path: &str| HTTPGetAction {
        path: Some(path.to_string()),
        port: IntOrString::Int(i32::from(port)),
        scheme: Some("HTTP".into()),
        ..HTTPGetAction::default()
    };
    let tcp = || TCPSocketAction {
        port: IntOrString::Int(i32::from(port)),
        host: None,
    };
    let readiness_path = catalogued
        .readiness_path
        .clone()
        .or(catalogued.liveness_path.clone());
    let liveness_path = catalogued
        .liveness_path
        .clone()
        .or(catalogued.readiness_path.clone());
    let (ready_action, live_action): (Probe, Probe) = match (&readiness_path, &liveness_path) {
        (Some(r), Some(l)) if !catalogued.tcp => (
            Probe {
                http_get: Some(http(r)),
                ..Probe::default()
            },
            Probe {
                http_get: Some(http(l)),
                ..Probe::default()
            },
        ),
        _ => {
            if !catalogued.tcp {
                ctx.note_probe_gap(name, &format!("TCP probes on port {port}"));
            }
            (
                Probe {
                    tcp_socket: Some(tcp()),
                    ..Probe::default()
                },
                Probe {
                    tcp_socket: Some(tcp()),
                    ..Probe::default()
                },
            )
        }
    };
    let startup_failures = i32::try_from(planned.ready_seconds.saturating_mul(3).div_ceil(10))
        .unwrap_or(180)
        .max(6);
    let readiness = Probe {
        period_seconds: Some(10),
        timeout_seconds: Some(3),
        failure_threshold: Some(3),
        success_threshold: Some(1),
        ..ready_action.clone()
    };
    let liveness = Probe {
        period_seconds: Some(20),
        timeout_seconds: Some(5),
        failure_threshold: Some(6),
        success_threshold: Some(1),
        ..live_action
    };
    let startup = Probe {
        period_seconds: Some(10),
        timeout_seconds: Some(3),
        failure_threshold: Some(startup_failures),
        success_threshold: Some(1),
        ..ready_action
    };
    (Some(readiness), Some(liveness), Some(startup))
}

impl Ctx<'_> {
    /// Collected into one warning at the end, not one per component.
    pub fn note_probe_gap(&mut self, component: &str, what: &str) {
        self.probe_gaps.push(format!("{component} ({what})"));
    }

    pub fn flush_probe_gaps(&mut self) {
        if self.probe_gaps.is_empty() {
            return;
        }
        let gaps = std::mem::take(&mut self.probe_gaps);
        self.report(
            Diagnostic::warning(
                crate::codes::NO_HTTP_PROBE,
                format!(
                    "{} component(s) have no health endpoint in the catalogue: {}",
                    gaps.len(),
                    gaps.join(", ")
                ),
            )
            .hint("add probes (livenessPath/readinessPath) to their catalogue entries"),
        );
    }
}
