//! Per-component objects around the pod: ServiceAccount, the workload (Deployment,
//! StatefulSet or CronJob), Services, PodDisruptionBudget and HorizontalPodAutoscaler.

use std::collections::BTreeMap;

use govdeploy_catalog::{Component, WorkloadKind};
use govdeploy_plan::PlannedComponent;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment, StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodTemplateSpec, Service, ServiceAccount,
    ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::context::Ctx;
use crate::labels;
use crate::object::Object;

/// Name of the volume claim template of stateful stores.
pub const DATA_VOLUME: &str = "data";

pub fn service_account(ctx: &Ctx, name: &str, namespace: &str, needs_token: bool) -> Object {
    let sa = ServiceAccount {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, name),
            Default::default(),
        ),
        automount_service_account_token: Some(needs_token),
        ..ServiceAccount::default()
    };
    Object::from_typed(&sa, Some(namespace), name)
}

fn selector(ctx: &Ctx, name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels::selector(ctx, name)),
        match_expressions: None,
    }
}

/// The workload object for a component.
pub fn workload(
    ctx: &Ctx,
    name: &str,
    planned: &PlannedComponent,
    component: &Component,
    template: PodTemplateSpec,
) -> Object {
    let namespace = planned.namespace.as_str();
    let meta = labels::meta(
        name,
        Some(namespace),
        labels::component(ctx, name),
        Default::default(),
    );
    let replicas = i32::try_from(planned.replicas).unwrap_or(i32::MAX);
    match component.workload {
        WorkloadKind::StatefulSet => {
            let storage = planned.storage.clone();
            let sts = StatefulSet {
                metadata: meta,
                spec: Some(StatefulSetSpec {
                    replicas: Some(replicas),
                    selector: selector(ctx, name),
                    service_name: Some(headless_name(name)),
                    // Quorum stores (Kafka KRaft, Elasticsearch masters) need every member up
                    // before any is ready: ordered start would deadlock.
                    pod_management_policy: Some("Parallel".into()),
                    template,
                    volume_claim_templates: storage.map(|size| vec![data_claim(&size)]),
                    persistent_volume_claim_retention_policy: Some(
                        StatefulSetPersistentVolumeClaimRetentionPolicy {
                            when_deleted: Some("Retain".into()),
                            when_scaled: Some("Retain".into()),
                        },
                    ),
                    revision_history_limit: Some(5),
                    ..StatefulSetSpec::default()
                }),
                status: None,
            };
            Object::from_typed(&sts, Some(namespace), name)
        }
        WorkloadKind::CronJob | WorkloadKind::Job => {
            let cron = CronJob {
                metadata: meta,
                spec: Some(CronJobSpec {
                    schedule: component
                        .schedule
                        .clone()
                        .unwrap_or_else(|| "0 * * * *".into()),
                    concurrency_policy: Some("Forbid".into()),
                    successful_jobs_history_limit: Some(3),
                    failed_jobs_history_limit: Some(3),
                    job_template: JobTemplateSpec {
                        metadata: None,
                        spec: Some(JobSpec {
                            backoff_limit: Some(2),
                            template,
                            ..JobSpec::default()
                        }),
                    },
                    ..CronJobSpec::default()
                }),
                status: None,
            };
            Object::from_typed(&cron, Some(namespace), name)
        }
        WorkloadKind::Deployment | WorkloadKind::DaemonSet => {
            let deployment = Deployment {
                metadata: meta,
                spec: Some(DeploymentSpec {
                    // With an autoscaler the HPA owns the count; a fixed value here would
                    // fight it on every apply.
                    replicas: planned.autoscale.is_none().then_some(replicas),
                    selector: selector(ctx, name),
                    strategy: Some(DeploymentStrategy {
                        type_: Some("RollingUpdate".into()),
                        rolling_update: Some(RollingUpdateDeployment {
                            max_unavailable: Some(IntOrString::Int(0)),
                            max_surge: Some(IntOrString::Int(1)),
                        }),
                    }),
                    revision_history_limit: Some(5),
                    progress_deadline_seconds: Some(
                        i32::try_from(planned.ready_seconds.saturating_mul(3).max(300))
                            .unwrap_or(600),
                    ),
                    template,
                    ..DeploymentSpec::default()
                }),
                status: None,
            };
            Object::from_typed(&deployment, Some(namespace), name)
        }
    }
}

fn data_claim(size: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                limits: None,
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    }
}

pub fn headless_name(name: &str) -> String {
    format!("{name}-headless")
}

fn service_ports(component: &Component) -> Vec<ServicePort> {
    component
        .ports
        .iter()
        .map(|p| ServicePort {
            name: Some(p.name.clone()),
            port: i32::from(p.port),
            target_port: Some(IntOrString::String(p.name.clone())),
            protocol: Some(p.protocol.clone()),
            ..ServicePort::default()
        })
        .collect()
}

/// The component's Service (and, for StatefulSets, the headless Service that gives each
/// member a stable DNS name). Annotations carry extras such as DIGIT's gateway route.
pub fn services(
    ctx: &Ctx,
    name: &str,
    planned: &PlannedComponent,
    component: &Component,
) -> Vec<Object> {
    if component.ports.is_empty() {
        return Vec::new();
    }
    let namespace = planned.namespace.as_str();
    let mut annotations = BTreeMap::new();
    if component.gateway_routed
        && let Some(path) = &component.context_path
    {
        annotations.insert(
            "zuul/route-path".to_string(),
            path.trim_start_matches('/').to_string(),
        );
    }
    let mut out = vec![];
    let svc = Service {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, name),
            annotations,
        ),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels::selector(ctx, name)),
            ports: Some(service_ports(component)),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    out.push(Object::from_typed(&svc, Some(namespace), name));
    if component.workload == WorkloadKind::StatefulSet {
        let headless = headless_name(name);
        let svc = Service {
            metadata: labels::meta(
                &headless,
                Some(namespace),
                labels::component(ctx, name),
                Default::default(),
            ),
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                // Members must find each other before they are ready (quorum formation).
                publish_not_ready_addresses: Some(true),
                selector: Some(labels::selector(ctx, name)),
                ports: Some(service_ports(component)),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        out.push(Object::from_typed(&svc, Some(namespace), &headless));
    }
    out
}

/// A PodDisruptionBudget when more than one pod runs: voluntary disruptions (node drains,
/// upgrades) take at most one at a time.
pub fn disruption_budget(ctx: &Ctx, name: &str, planned: &PlannedComponent) -> Option<Object> {
    let pods = planned.autoscale.map_or(planned.replicas, |a| a.min);
    if pods < 2 {
        return None;
    }
    let namespace = planned.namespace.as_str();
    let pdb = PodDisruptionBudget {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, name),
            Default::default(),
        ),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(ctx, name)),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    };
    Some(Object::from_typed(&pdb, Some(namespace), name))
}

/// CPU-based autoscaling for stateless services in profiles that ask for it. Utilisation is
/// measured against the CPU request (there is no CPU limit).
pub fn autoscaler(ctx: &Ctx, name: &str, planned: &PlannedComponent) -> Option<Object> {
    let range = planned.autoscale?;
    let namespace = planned.namespace.as_str();
    let hpa = HorizontalPodAutoscaler {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, name),
            Default::default(),
        ),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: name.to_string(),
            },
            min_replicas: Some(i32::try_from(range.min).unwrap_or(1)),
            max_replicas: i32::try_from(range.max).unwrap_or(i32::MAX),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(75),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        }),
        status: None,
    };
    Some(Object::from_typed(&hpa, Some(namespace), name))
}
