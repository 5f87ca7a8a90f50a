//! Shared configuration: DIGIT's `egov-config` and `egov-service-host` ConfigMaps, computed
//! from what the plan deploys, and each container's environment resolved against them.

use std::collections::BTreeMap;

use govdeploy_catalog::{Backing, Component, Runtime};
use govdeploy_plan::PlannedComponent;
use govdeploy_spec::Profile;
use govdeploy_yaml::Diagnostic;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapKeySelector, EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector,
};

use crate::codes;
use crate::context::Ctx;
use crate::labels;
use crate::object::Object;
use crate::secrets::{SecretFile, SecretKeyUse, property_file_name};

pub const EGOV_CONFIG: &str = "egov-config";
pub const SERVICE_HOST: &str = "egov-service-host";
/// The Secret holding the shared database credentials (DIGIT's name).
pub const DB_SECRET: &str = "db";

/// Data of `egov-config`: the catalogue's defaults, the keys govdeploy computes from the plan
/// (database, Kafka, Elasticsearch, domain), profile rules, then `spec.sharedConfig`.
pub fn egov_config(ctx: &Ctx) -> BTreeMap<String, String> {
    let mut data = ctx.catalog.shared_config.clone();
    let domain = &ctx.env.spec.domain;
    data.insert("domain".into(), domain.clone());
    data.insert(
        "egov-services-fqdn-name".into(),
        format!("https://{domain}/"),
    );
    if let Some(pg) = ctx.stores.get(&Backing::Postgres) {
        let database = pg.database.clone().unwrap_or_else(|| "egov".to_string());
        data.insert("db-host".into(), format!("{}:{}", pg.host, pg.port));
        data.insert("db-name".into(), database.clone());
        data.insert(
            "db-url".into(),
            format!("jdbc:postgresql://{}:{}/{database}", pg.host, pg.port),
        );
    }
    if let Some(kafka) = ctx.stores.get(&Backing::Kafka) {
        let brokers = format!("{}:{}", kafka.host, kafka.port);
        data.insert("kafka-brokers".into(), brokers.clone());
        data.insert("kafka-infra-brokers".into(), brokers);
    }
    match ctx.stores.get(&Backing::Elasticsearch) {
        Some(es) => {
            data.insert("es-host".into(), es.host.clone());
            data.insert(
                "es-indexer-host".into(),
                format!("http://{}:{}/", es.host, es.port),
            );
        }
        None => {
            data.remove("es-host");
            data.remove("es-indexer-host");
        }
    }
    if matches!(ctx.profile, Profile::Uat | Profile::Prod) {
        // Development conveniences that leak data or load the database in production.
        data.insert("spring-jpa-show-sql".into(), "false".into());
        data.insert("logging-level-jdbc".into(), "INFO".into());
        if let Some(locations) = data.get_mut("flyway-locations") {
            *locations = locations
                .split(',')
                .filter(|l| !l.ends_with("/qa"))
                .collect::<Vec<_>>()
                .join(",");
        }
    }
    for (key, value) in &ctx.env.spec.shared_config {
        data.insert(key.clone(), value.clone());
    }
    data
}

/// A ConfigMap of shared configuration in one namespace.
pub fn config_map(
    ctx: &Ctx,
    name: &str,
    namespace: &str,
    data: &BTreeMap<String, String>,
) -> Object {
    let cm = ConfigMap {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::environment(ctx),
            Default::default(),
        ),
        data: Some(data.clone()),
        ..ConfigMap::default()
    };
    Object::from_typed(&cm, Some(namespace), name)
}

/// A component's own ConfigMap (its plain env values).
pub fn component_config_map(
    ctx: &Ctx,
    component: &str,
    name: &str,
    namespace: &str,
    data: &BTreeMap<String, String>,
) -> Object {
    let cm = ConfigMap {
        metadata: labels::meta(
            name,
            Some(namespace),
            labels::component(ctx, component),
            Default::default(),
        ),
        data: Some(data.clone()),
        ..ConfigMap::default()
    };
    Object::from_typed(&cm, Some(namespace), name)
}

/// A container's environment after resolution, with what it reads from shared objects.
#[derive(Debug, Default)]
pub struct ResolvedEnv {
    pub env: Vec<EnvVar>,
    /// (ConfigMap, key, value) read through env vars, for the config hash.
    pub config_keys: Vec<(String, String, String)>,
    /// Secret keys read as env vars (runtimes that cannot read files).
    pub secret_env: Vec<SecretKeyUse>,
    /// Secret keys delivered as files.
    pub secret_files: Vec<SecretFile>,
}

impl ResolvedEnv {
    fn push_value(&mut self, name: &str, value: &str) {
        self.env.push(EnvVar {
            name: name.to_string(),
            value: Some(value.to_string()),
            value_from: None,
        });
    }

    fn push_config(&mut self, name: &str, config_map: &str, key: &str, value: &str) {
        self.env.push(EnvVar {
            name: name.to_string(),
            value: None,
            value_from: Some(EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: config_map.to_string(),
                    key: key.to_string(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            }),
        });
        self.config_keys
            .push((config_map.to_string(), key.to_string(), value.to_string()));
    }

    fn push_secret(&mut self, name: &str, secret: &str, key: &str, as_file: bool) {
        let use_ = SecretKeyUse {
            secret: secret.to_string(),
            key: key.to_string(),
        };
        if as_file {
            self.secret_files.push(SecretFile {
                secret: secret.to_string(),
                key: key.to_string(),
                file: property_file_name(name),
            });
            return;
        }
        self.env.push(EnvVar {
            name: name.to_string(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.to_string(),
                    key: key.to_string(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            }),
        });
        self.secret_env.push(use_);
    }

    /// Keeps the last definition of each name, at the position of the first: server-side apply
    /// rejects duplicate list keys, and the container runtime would keep the last anyway.
    fn dedupe(&mut self) {
        let mut last: BTreeMap<String, usize> = BTreeMap::new();
        for (i, e) in self.env.iter().enumerate() {
            last.insert(e.name.clone(), i);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(self.env.len());
        for e in &self.env {
            if seen.insert(e.name.clone())
                && let Some(&i) = last.get(&e.name)
            {
                out.push(self.env[i].clone());
            }
        }
        self.env = out;
    }
}

/// Resolves a component's environment: catalogue env (service URLs only for deployed
/// services, shared-config keys only when defined), the Spring platform settings DIGIT's
/// common chart adds, the derived JVM heap, and the environment file's overrides.
pub fn resolve(
    ctx: &mut Ctx,
    shared: &BTreeMap<String, String>,
    name: &str,
    planned: &PlannedComponent,
    component: &Component,
) -> ResolvedEnv {
    let as_files = component.runtime == Runtime::JavaSpring && ctx.reads_secret_files(component);
    let mut out = ResolvedEnv::default();
    let mut dropped_services = Vec::new();
    let mut dropped_keys = Vec::new();
    let mut literal_credentials = Vec::new();
    for var in &component.env {
        if var.name == "JAVA_OPTS" && planned.heap.is_some() {
            continue;
        }
        if let Some(value) = &var.value {
            if looks_like_credential(&var.name) && !value.is_empty() {
                // Upstream values files hold a few real passwords; one never goes into a
                // ConfigMap or a pod spec. The component reads it from its own Secret.
                let key = secret_key_for(&var.name);
                literal_credentials.push(format!("{} (Secret {name}, key {key})", var.name));
                out.push_secret(&var.name, name, &key, as_files);
            } else {
                out.push_value(&var.name, &rewrite_store_hosts(ctx, value));
            }
        } else if let Some(reference) = &var.config {
            if reference.name == SERVICE_HOST {
                let target = ctx
                    .catalog
                    .component(&reference.key)
                    .map(|(n, _)| n.to_string());
                match target
                    .as_ref()
                    .and_then(|t| ctx.service_hosts.get(t).map(|url| (t, url)))
                {
                    Some((target, url)) => {
                        let url = url.clone();
                        out.push_config(&var.name, SERVICE_HOST, target, &url);
                    }
                    None => dropped_services.push(format!("{} ({})", var.name, reference.key)),
                }
            } else if reference.name == EGOV_CONFIG {
                match shared.get(&reference.key) {
                    Some(value) => {
                        let value = value.clone();
                        out.push_config(&var.name, EGOV_CONFIG, &reference.key, &value);
                    }
                    None => dropped_keys.push(format!("{} ({})", var.name, reference.key)),
                }
            } else {
                dropped_keys.push(format!(
                    "{} ({}/{})",
                    var.name, reference.name, reference.key
                ));
            }
        } else if let Some(reference) = &var.secret {
            out.push_secret(&var.name, &reference.name, &reference.key, as_files);
        } else if let Some(field) = &var.field {
            out.env.push(EnvVar {
                name: var.name.clone(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: field.clone(),
                        api_version: None,
                    }),
                    ..EnvVarSource::default()
                }),
            });
        }
    }
    if component.runtime == Runtime::JavaSpring {
        spring_platform_env(ctx, shared, component, as_files, &mut out);
    }
    if let Some(heap) = &planned.heap {
        // `-Xms` equal to `-Xmx`: the heap is sized once, so memory use is flat and a
        // too-small limit fails at start rather than under load.
        let mb = heap.trim_start_matches("-Xmx");
        out.push_value("JAVA_OPTS", &format!("-Xmx{mb} -Xms{mb}"));
    }
    if !out.secret_files.is_empty() {
        out.push_value(
            "SPRING_CONFIG_IMPORT",
            &format!("optional:configtree:{}", crate::secrets::SECRET_DIR),
        );
    }
    if let Some(overrides) = ctx.env.spec.components.get(name) {
        for (key, value) in &overrides.env {
            out.push_value(key, value);
        }
    }
    out.dedupe();
    if !dropped_services.is_empty() {
        ctx.report(
            Diagnostic::warning(
                codes::SERVICE_NOT_DEPLOYED,
                format!(
                    "{name}: left out env vars that point at services this environment does not deploy: {}",
                    dropped_services.join(", ")
                ),
            )
            .hint("add the module that deploys them, or accept the service's built-in default"),
        );
    }
    if !literal_credentials.is_empty() {
        ctx.report(
            Diagnostic::warning(
                codes::LITERAL_CREDENTIAL,
                format!(
                    "{name}: the catalogue gives credentials literal values (copied from an upstream values file); they are read from a Secret instead: {}",
                    literal_credentials.join(", ")
                ),
            )
            .hint("put the real values in the secrets file; the literal ones are never rendered"),
        );
    }
    if !dropped_keys.is_empty() {
        ctx.report(
            Diagnostic::warning(
                codes::CONFIG_KEY_MISSING,
                format!(
                    "{name}: left out env vars that read shared-config keys nobody defines: {}",
                    dropped_keys.join(", ")
                ),
            )
            .hint("define them under spec.sharedConfig"),
        );
    }
    out
}

/// What DIGIT's common chart gives every Spring Boot service (`extraEnv.java`): datasource,
/// pool and Tomcat sizes, Kafka bootstrap servers; Flyway runs as its own Job, never in-app.
fn spring_platform_env(
    ctx: &Ctx,
    shared: &BTreeMap<String, String>,
    component: &Component,
    as_files: bool,
    out: &mut ResolvedEnv,
) {
    let config = |out: &mut ResolvedEnv, name: &str, key: &str| {
        if let Some(value) = shared.get(key) {
            out.push_config(name, EGOV_CONFIG, key, value);
        }
    };
    if component.backing.contains(&Backing::Postgres) && ctx.stores.contains_key(&Backing::Postgres)
    {
        config(out, "SPRING_DATASOURCE_URL", "db-url");
        // Read by services that still run Flyway's Spring integration (disabled below).
        config(out, "FLYWAY_URL", "db-url");
        config(
            out,
            "SPRING_DATASOURCE_TOMCAT_INITIAL_SIZE",
            "spring-datasource-tomcat-initialSize",
        );
        config(
            out,
            "SPRING_DATASOURCE_TOMCAT_MAX_ACTIVE",
            "spring-datasource-tomcat-max-active",
        );
        config(
            out,
            "SPRING_DATASOURCE_HIKARI_MAXIMUM-POOL-SIZE",
            "spring-datasource-tomcat-max-active",
        );
        config(out, "SPRING_JPA_SHOW_SQL", "spring-jpa-show-sql");
        out.push_secret(
            "SPRING_DATASOURCE_USERNAME",
            DB_SECRET,
            "username",
            as_files,
        );
        out.push_secret(
            "SPRING_DATASOURCE_PASSWORD",
            DB_SECRET,
            "password",
            as_files,
        );
    }
    out.push_value("FLYWAY_ENABLED", "false");
    out.push_value("SPRING_FLYWAY_ENABLED", "false");
    out.push_value("MANAGEMENT_ENDPOINTS_WEB_BASE_PATH", "/");
    config(out, "APP_TIMEZONE", "timezone");
    config(
        out,
        "SERVER_TOMCAT_MAX_THREADS",
        "server-tomcat-max-threads",
    );
    config(
        out,
        "SERVER_TOMCAT_MAX_CONNECTIONS",
        "server-tomcat-max-connections",
    );
    if component.backing.contains(&Backing::Kafka) && ctx.stores.contains_key(&Backing::Kafka) {
        config(out, "KAFKA_CONFIG_BOOTSTRAP_SERVER_CONFIG", "kafka-brokers");
        config(out, "SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka-brokers");
    }
    out.push_value("IS_ENVIRONMENT_CENTRAL_INSTANCE", "false");
}

/// Catalogue values name stores by their catalogue address (`redis.backbone`); rewrite them
/// to where the store really is (renamed namespace, or an external service).
fn rewrite_store_hosts(ctx: &Ctx, value: &str) -> String {
    let mut out = value.to_string();
    for (store, address) in &ctx.stores {
        // An external store has no provider in the plan, but the catalogue still names it.
        let provider = address
            .provider
            .as_deref()
            .or_else(|| ctx.catalog.provider_of(*store));
        if let Some(provider) = provider
            && let Some(catalogued) = ctx.component(provider)
        {
            let old = format!("{provider}.{}", catalogued.namespace);
            if old != address.host {
                out = out.replace(&old, &address.host);
            }
        }
    }
    out
}

/// Env names that carry credentials by DIGIT's naming (`SI_MICROSERVICE_PASSWORD`,
/// `AWS_SECRETKEY`, `..._TOKEN`).
pub fn looks_like_credential(env_name: &str) -> bool {
    let upper = env_name.to_ascii_uppercase();
    [
        "_PASSWORD",
        "_PWD",
        "_SECRET",
        "_SECRETKEY",
        "_SECRET_KEY",
        "_TOKEN",
        "_PRIVATE_KEY",
    ]
    .iter()
    .any(|suffix| upper.ends_with(suffix))
}

/// The Secret key a literal credential moves to: `SI_MICROSERVICE_PASSWORD` ->
/// `si-microservice-password`.
fn secret_key_for(env_name: &str) -> String {
    env_name.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        assert!(looks_like_credential("SI_MICROSERVICE_PASSWORD"));
        assert!(looks_like_credential("aws_secretkey"));
        assert!(!looks_like_credential("CITIZEN_LOGIN_PASSWORD_OTP_ENABLED"));
        assert!(!looks_like_credential("SPRING_KAFKA_CONSUMER_GROUP_ID"));
        assert_eq!(
            secret_key_for("SI_MICROSERVICE_PASSWORD"),
            "si-microservice-password"
        );
    }
}
