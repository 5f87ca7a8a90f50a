//! One service chart values file -> one component, following the values contract of DIGIT's
//! shared `common` chart (DESIGN.md section 3).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use govdeploy_yaml::Node;
use serde_json::Value;

use super::drift::{Drift, DriftKind};
use super::values::{get, text, truthy, uint};
use crate::gotemplate::{self, TemplateContext};
use crate::model::{
    Backing, Component, ConfigKind, ConfigSource, EnvVar, Image, KeyRef, Migration, Port, Probes,
    Resources, Runtime, Tier, WorkloadKind,
};

/// The ConfigMap whose keys name other services: references to it are dependency edges.
pub const SERVICE_HOST_CONFIGMAP: &str = "egov-service-host";
const DEFAULT_REGISTRY: &str = "egovio";
const DEFAULT_MEMORY: &str = "256Mi";

/// A values file found under `charts/`, before interpretation.
#[derive(Debug, Clone)]
pub struct ValuesFile {
    /// First directory below `charts/` (`core-services`).
    pub group: String,
    /// Chart directory name (`egov-user`).
    pub chart_dir: String,
    /// `name` from `Chart.yaml`, when readable.
    pub chart_name: Option<String>,
    pub uses_common: bool,
    pub path: PathBuf,
    /// Path relative to the checkout root, for reports.
    pub rel_path: String,
    /// Component name: the chart directory for `values.yaml`, `X` for `X-values.yaml`.
    pub component: String,
}

/// What one values file became.
pub struct ImportedChart {
    pub name: String,
    pub component: Component,
    /// `egov-service-host` keys referenced, resolved later against all imported names.
    pub service_refs: BTreeSet<String>,
}

pub struct ChartContext<'a> {
    /// `charts/common/values.yaml` as JSON (the contract's defaults).
    pub common_defaults: &'a Value,
    /// The optional DIGIT environment file, whose per-chart sections fill values the chart
    /// leaves unset (as eGov's deployer does: the chart's own values win).
    pub env_file: Option<&'a Value>,
}

pub fn tier_for(group: &str, name: &str) -> Tier {
    match group {
        "core-services" if is_gateway(name) => Tier::Gateway,
        "core-services" | "common-services" => Tier::Core,
        "business-services" | "utilities" => Tier::Business,
        "urban" | "sanitation" => Tier::Municipal,
        "frontend" => Tier::Frontend,
        "backbone-services" => Tier::Backbone,
        _ if is_gateway(name) => Tier::Gateway,
        _ => Tier::Business,
    }
}

fn is_gateway(name: &str) -> bool {
    matches!(
        name,
        "zuul" | "gateway" | "internal-gateway" | "internal-gateway-scg"
    )
}

/// Full repository: `global.containerRegistry` (egovio) is prepended unless the name has a `/`.
pub fn full_repository(values: &Value, repository: &str) -> String {
    if repository.contains('/') {
        repository.to_string()
    } else {
        let registry = text(values, &["global", "containerRegistry"])
            .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
        format!("{registry}/{repository}")
    }
}

/// Interprets a values file. Problems become drift; `None` means nothing deployable.
pub fn import_values_file(
    file: &ValuesFile,
    text_source: &str,
    ctx: &ChartContext<'_>,
    drift: &mut Vec<Drift>,
) -> Option<ImportedChart> {
    let root = match govdeploy_yaml::parse_single_lenient(text_source) {
        Ok((root, duplicates)) => {
            for dup in duplicates {
                let pos = dup.pos();
                drift.push(
                    Drift::new(
                        DriftKind::DuplicateName,
                        file.rel_path.clone(),
                        file.component.clone(),
                        format!(
                            "{}; Helm keeps the last value, and so does the importer",
                            dup.description()
                        ),
                    )
                    .at(pos),
                );
            }
            root
        }
        Err(err) => {
            let pos = err.pos();
            drift.push(
                Drift::new(
                    DriftKind::InvalidValues,
                    file.rel_path.clone(),
                    file.component.clone(),
                    err.description(),
                )
                .at(pos),
            );
            return None;
        }
    };
    let chart_values = root.to_json();

    let mut values = if file.uses_common {
        ctx.common_defaults.clone()
    } else {
        Value::Object(Default::default())
    };
    // eGov's deployer passes the whole environment file as values (so templates can reach
    // `.Values.cluster-configs...` and `.Values.global`), with the chart's own section lifted
    // to the top; the chart's values file comes last and wins.
    if let Some(env) = ctx.env_file {
        super::values::merge(&mut values, env);
        if let Some(section) = env.get(&file.component) {
            super::values::merge(&mut values, section);
        }
    }
    super::values::merge(&mut values, &chart_values);
    if let Value::Object(map) = &mut values {
        map.insert("name".into(), Value::String(file.component.clone()));
    }

    let Some(repository) = text(&values, &["image", "repository"]) else {
        drift.push(Drift::new(
            DriftKind::ChartWithoutImage,
            file.rel_path.clone(),
            file.component.clone(),
            "no `image.repository`: nothing to deploy, chart skipped",
        ));
        return None;
    };
    let image_tag = text(&values, &["image", "tag"]).filter(|t| t != "latest");

    let name = file.component.clone();
    let tier = tier_for(&file.group, &name);
    let http_port = uint(&values, &["httpPort"])
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(8080);

    // The common chart's named templates DIGIT values use: both print the service name.
    let mut named = BTreeMap::new();
    named.insert("common.name".into(), name.clone());
    named.insert("common.fullname".into(), name.clone());
    let chart_name = file
        .chart_name
        .clone()
        .unwrap_or_else(|| file.chart_dir.clone());
    let namespace = text(&values, &["namespace"]).unwrap_or_else(|| "egov".into());

    let env = if file.uses_common {
        render_env(
            &root,
            &values,
            &TemplateContext {
                values: &values,
                chart_name: &chart_name,
                release_name: &name,
                release_namespace: &namespace,
                named_templates: &named,
            },
            file,
            drift,
        )
    } else {
        Vec::new()
    };

    let app_type = text(&values, &["appType"]).unwrap_or_default();
    let runtime = if app_type == "java-spring" {
        Runtime::JavaSpring
    } else if env
        .iter()
        .any(|e| e.name == "JAVA_OPTS" || e.name == "JAVA_ARGS")
        || get(&values, &["heap"]).is_some()
    {
        Runtime::Java
    } else if file.group == "frontend" || http_port == 80 {
        Runtime::Nginx
    } else if env.iter().any(|e| e.name.starts_with("NODE_")) {
        Runtime::Nodejs
    } else {
        Runtime::Other
    };

    let mut service_refs = BTreeSet::new();
    let mut backing = BTreeSet::new();
    for var in &env {
        if let Some(config) = &var.config {
            if config.name == SERVICE_HOST_CONFIGMAP {
                match config.key.as_str() {
                    "es-client" => {
                        backing.insert(Backing::Elasticsearch);
                    }
                    "minio-url" => {
                        backing.insert(Backing::ObjectStore);
                    }
                    key if key != name => {
                        service_refs.insert(key.to_string());
                    }
                    _ => {}
                }
            } else if matches!(config.key.as_str(), "es-host" | "es-indexer-host") {
                backing.insert(Backing::Elasticsearch);
            } else if config.key == "db-url" {
                backing.insert(Backing::Postgres);
            } else if config.key.starts_with("kafka-") {
                backing.insert(Backing::Kafka);
            }
        }
        let upper = var.name.to_ascii_uppercase();
        if upper.contains("REDIS") {
            backing.insert(Backing::Redis);
        }
        if upper.starts_with("ELASTIC")
            || upper.contains("_ES_HOST")
            || upper.starts_with("ES_HOST")
        {
            backing.insert(Backing::Elasticsearch);
        }
        if upper.contains("KAFKA") && upper.contains("BOOTSTRAP") {
            backing.insert(Backing::Kafka);
        }
        if upper.contains("MINIO") {
            backing.insert(Backing::ObjectStore);
        }
    }
    if runtime == Runtime::JavaSpring {
        // The common chart's `extraEnv.java` wires every Spring service to the shared
        // datasource and Kafka bootstrap servers.
        backing.insert(Backing::Postgres);
        backing.insert(Backing::Kafka);
    }

    let migration = truthy(&values, &["initContainers", "dbMigration", "enabled"]).then(|| {
        let repo = text(
            &values,
            &["initContainers", "dbMigration", "image", "repository"],
        )
        .unwrap_or_else(|| format!("{repository}-db"));
        Migration {
            image: full_repository(&values, &repo),
            schema_table: text(&values, &["initContainers", "dbMigration", "schemaTable"])
                .unwrap_or_else(|| format!("{}_schema", name.replace('-', "_"))),
        }
    });
    if migration.is_some() {
        backing.insert(Backing::Postgres);
    }

    let config_sources = if truthy(&values, &["initContainers", "gitSync", "enabled"]) {
        let repo = text(&values, &["initContainers", "gitSync", "repo"]).unwrap_or_default();
        let kind = if repo.contains("mdms") {
            ConfigKind::MdmsData
        } else if repo.contains("configs") {
            ConfigKind::Configs
        } else {
            ConfigKind::Other
        };
        vec![ConfigSource {
            kind,
            repo,
            branch: text(&values, &["initContainers", "gitSync", "branch"]),
            mount_path: "/work-dir".into(),
        }]
    } else {
        Vec::new()
    };

    let probes = truthy(&values, &["healthChecks", "enabled"]).then(|| Probes {
        liveness_path: text(&values, &["healthChecks", "livenessProbePath"]),
        readiness_path: text(&values, &["healthChecks", "readinessProbePath"]),
        port: None,
        tcp: false,
    });

    // Gateways are never published through an Ingress of their own: the main gateway is the
    // backend of the routed services' Ingresses, internal gateways stay internal (eGov's
    // charts render none for them even where `ingress.zuul` is set).
    // `ingress.zuul: true` alone publishes the route (eGov's charts render the Ingress for
    // egov-filestore, which sets `zuul` without `enabled`).
    let zuul = truthy(&values, &["ingress", "zuul"]) && tier != Tier::Gateway;
    let ingress_enabled =
        (truthy(&values, &["ingress", "enabled"]) || zuul) && tier != Tier::Gateway;
    let context = text(&values, &["ingress", "context"]).map(|c| c.trim_matches('/').to_string());
    // An empty context on an enabled ingress serves the site root (wordpress on its own host).
    let context_path = match context {
        Some(c) if !c.is_empty() => Some(format!("/{c}")),
        _ if ingress_enabled && !zuul => Some("/".to_string()),
        _ => None,
    };
    let ingress_host = text(&values, &["ingress", "hostName"]).filter(|_| ingress_enabled);

    let memory = text(&values, &["memory_limits"]).unwrap_or_else(|| DEFAULT_MEMORY.into());
    let (cpu, ready_seconds) = match runtime {
        Runtime::JavaSpring => ("100m", 90),
        Runtime::Java => ("100m", 60),
        Runtime::Nodejs => ("50m", 20),
        Runtime::Nginx => ("25m", 10),
        Runtime::Other => ("50m", 30),
    };

    // Charts with `cron.schedule` render a CronJob instead of a Deployment.
    let schedule = text(&values, &["cron", "schedule"]);
    let component = Component {
        tier,
        workload: if schedule.is_some() {
            WorkloadKind::CronJob
        } else {
            WorkloadKind::Deployment
        },
        schedule,
        runtime,
        spring_boot: None,
        image: Some(Image {
            repository: full_repository(&values, &repository),
            default_tag: image_tag,
        }),
        namespace,
        ports: vec![Port {
            name: "http".into(),
            port: http_port,
            protocol: "TCP".into(),
        }],
        context_path,
        gateway_routed: ingress_enabled && zuul,
        ingress: ingress_enabled && !zuul,
        ingress_host,
        probes,
        backing,
        depends_on: BTreeSet::new(),
        migration,
        config_sources,
        env,
        resources: Resources {
            memory,
            cpu: cpu.into(),
            storage: None,
        },
        replicas: uint(&values, &["replicas"])
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(1)
            .max(1),
        ready_seconds,
        provides: None,
        source: Some(file.rel_path.clone()),
        aliases: BTreeSet::new(),
        manifest_only: false,
    };
    Some(ImportedChart {
        name,
        component,
        service_refs,
    })
}

/// Evaluates the chart's `env: |` string and reads the resulting container env list.
fn render_env(
    root: &Node,
    values: &Value,
    ctx: &TemplateContext<'_>,
    file: &ValuesFile,
    drift: &mut Vec<Drift>,
) -> Vec<EnvVar> {
    let Some(Value::String(source)) = values.get("env") else {
        return Vec::new();
    };
    let rendered = match gotemplate::render(source, ctx) {
        Ok(r) => r,
        Err(err) => {
            // Point at the action inside the values file: the template's own line and column,
            // offset by where the `env` block starts in this file. When the block comes from the
            // environment file or the common chart, there is no position in this file.
            let pos = match root.get("env") {
                Some(node) if node.as_str() == Some(source.as_str()) => {
                    let start = node.content_pos();
                    Some(govdeploy_yaml::Pos {
                        line: start.line + err.line - 1,
                        col: start.col + err.col - 1,
                    })
                }
                _ => None,
            };
            drift.push(
                Drift::new(
                    DriftKind::Template,
                    file.rel_path.clone(),
                    file.component.clone(),
                    format!("`env`: {}: {}", err.message, err.construct),
                )
                .at(pos),
            );
            return Vec::new();
        }
    };
    let parsed = match govdeploy_yaml::parse_single(&rendered) {
        Ok(node) => node.to_json(),
        Err(err) => {
            drift.push(Drift::new(
                DriftKind::Template,
                file.rel_path.clone(),
                file.component.clone(),
                format!("`env` renders to invalid YAML: {err}"),
            ));
            return Vec::new();
        }
    };
    let mut vars: Vec<EnvVar> = Vec::new();
    for item in parsed.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            continue;
        };
        let var = env_var(name, item);
        if let Some(existing) = vars.iter_mut().find(|v| v.name == name) {
            // Kubernetes keeps the last definition of a duplicated variable.
            *existing = var;
        } else {
            vars.push(var);
        }
    }
    vars
}

fn env_var(name: &str, item: &Value) -> EnvVar {
    let key_ref = |kind: &str| {
        let r = item.get("valueFrom")?.get(kind)?;
        Some(KeyRef {
            name: r.get("name")?.as_str()?.to_string(),
            key: r.get("key")?.as_str()?.to_string(),
        })
    };
    let value = match item.get("value") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::Null) => Some(String::new()),
        _ => None,
    };
    let config = key_ref("configMapKeyRef");
    let secret = key_ref("secretKeyRef");
    let field = item
        .get("valueFrom")
        .and_then(|v| v.get("fieldRef"))
        .and_then(|f| f.get("fieldPath"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let has_source = config.is_some() || secret.is_some() || field.is_some();
    EnvVar {
        name: name.to_string(),
        value: if has_source {
            None
        } else {
            Some(value.unwrap_or_default())
        },
        config,
        secret,
        field,
    }
}

/// Finds the values files of every chart below `charts_root` (any depth), sorted by path.
pub fn discover(checkout_root: &Path, charts_root: &Path) -> std::io::Result<Vec<ValuesFile>> {
    let mut found = Vec::new();
    let mut stack = vec![charts_root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        let chart_yaml = dir.join("Chart.yaml");
        if chart_yaml.is_file() && dir != charts_root {
            let chart_dir = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if chart_dir == "common" || chart_dir == "cluster-configs" {
                continue;
            }
            let group = dir
                .strip_prefix(charts_root)
                .ok()
                .and_then(|rel| rel.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            let (chart_name, uses_common) = read_chart_yaml(&chart_yaml);
            for path in &entries {
                let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned())
                else {
                    continue;
                };
                let component = if file_name == "values.yaml" || file_name == "values.yml" {
                    chart_dir.clone()
                } else if let Some(prefix) = file_name
                    .strip_suffix("-values.yaml")
                    .or_else(|| file_name.strip_suffix("-values.yml"))
                {
                    prefix.to_string()
                } else {
                    continue;
                };
                found.push(ValuesFile {
                    group: group.clone(),
                    chart_dir: chart_dir.clone(),
                    chart_name: chart_name.clone(),
                    uses_common,
                    path: path.clone(),
                    rel_path: relative(checkout_root, path),
                    component,
                });
            }
            continue;
        }
        for path in entries.into_iter().rev() {
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn read_chart_yaml(path: &Path) -> (Option<String>, bool) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (None, false);
    };
    let Ok(node) = govdeploy_yaml::parse_single(&text) else {
        return (None, false);
    };
    let name = node.get("name").and_then(Node::as_str).map(str::to_string);
    let uses_common = node
        .get("dependencies")
        .map(|deps| {
            deps.items()
                .iter()
                .any(|d| d.get("name").and_then(Node::as_str) == Some("common"))
        })
        .unwrap_or(false);
    (name, uses_common)
}

pub fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
