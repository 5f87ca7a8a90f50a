//! A component's Flyway migration as its own Job, applied before the component, so a failed
//! migration is reported as such rather than as a pod stuck in `Init`.

use std::collections::BTreeMap;

use govdeploy_catalog::{Backing, Component};
use govdeploy_plan::PlannedComponent;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapKeySelector, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSpec,
    PodTemplateSpec, ResourceRequirements, SecretKeySelector, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::{DB_SECRET, EGOV_CONFIG};
use crate::context::Ctx;
use crate::hash::short_hash;
use crate::labels;
use crate::object::Object;
use crate::pod::{DEFAULT_UID, container_security, mount, pod_security, pull_secrets};
use crate::secrets::SecretKeyUse;

/// Pod and policy name of a component's migration.
pub fn pod_name(component: &str) -> String {
    format!("{component}-migration")
}

pub fn selector(ctx: &Ctx, component: &str) -> labels::Labels {
    labels::selector(ctx, &pod_name(component))
}

/// The migration Job. Its name carries a hash of the image and settings: a Job's pod template
/// is immutable, so a new migration is a new Job, and an unchanged one is left alone.
pub fn job(
    ctx: &Ctx,
    name: &str,
    planned: &PlannedComponent,
    component: &Component,
    shared: &BTreeMap<String, String>,
) -> Option<(Object, Vec<SecretKeyUse>)> {
    let migration = component.migration.as_ref()?;
    let image = planned.migration_image.as_ref()?;
    ctx.stores.get(&Backing::Postgres)?;
    let namespace = planned.namespace.as_str();
    let config_ref = |env: &str, key: &str| EnvVar {
        name: env.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: EGOV_CONFIG.into(),
                key: key.to_string(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    };
    let secret_ref = |env: &str, key: &str| EnvVar {
        name: env.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: DB_SECRET.into(),
                key: key.to_string(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    };
    // The DIGIT migration images run the Flyway CLI from a shell script that reads these
    // variables; Flyway has no file-based password input, hence the waiver below.
    let env = vec![
        config_ref("DB_URL", "db-url"),
        EnvVar {
            name: "SCHEMA_TABLE".into(),
            value: Some(migration.schema_table.clone()),
            value_from: None,
        },
        secret_ref("FLYWAY_USER", "flyway-username"),
        secret_ref("FLYWAY_PASSWORD", "flyway-password"),
        config_ref("FLYWAY_LOCATIONS", "flyway-locations"),
    ];
    let job_name = format!(
        "{}-{}",
        pod_name(name),
        &short_hash([
            image.as_str(),
            migration.schema_table.as_str(),
            shared.get("db-url").map_or("", String::as_str),
            shared.get("flyway-locations").map_or("", String::as_str),
        ])[..8]
    );
    let mut pod_labels = labels::pod(ctx, name);
    // Its own name label: the component's selector must never match migration pods.
    pod_labels.extend(selector(ctx, name));
    let memory = Quantity("256Mi".into());
    let container = Container {
        name: "migration".into(),
        image: Some(image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        env: Some(env),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("100m".into())),
                ("memory".to_string(), memory.clone()),
            ])),
            limits: Some(BTreeMap::from([("memory".to_string(), memory)])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(container_security(DEFAULT_UID, &[], true)),
        volume_mounts: Some(vec![mount("tmp", "/tmp", false)]),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(
        format!("{}secrets-as-env", labels::WAIVE_PREFIX),
        "the Flyway CLI in DIGIT's migration images reads credentials from environment variables only".to_string(),
    );
    let job = Job {
        metadata: labels::meta(
            &job_name,
            Some(namespace),
            labels::component(ctx, name),
            Default::default(),
        ),
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            active_deadline_seconds: Some(900),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    service_account_name: Some(name.to_string()),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    image_pull_secrets: pull_secrets(ctx),
                    security_context: Some(pod_security(DEFAULT_UID, false)),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "tmp".into(),
                        empty_dir: Some(EmptyDirVolumeSource {
                            size_limit: Some(Quantity("256Mi".into())),
                            medium: None,
                        }),
                        ..Volume::default()
                    }]),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    };
    let keys = ["flyway-username", "flyway-password"]
        .into_iter()
        .map(|k| SecretKeyUse {
            secret: DB_SECRET.into(),
            key: k.into(),
        })
        .collect();
    Some((Object::from_typed(&job, Some(namespace), &job_name), keys))
}
