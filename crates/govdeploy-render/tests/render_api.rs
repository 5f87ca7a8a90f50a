//! The render library through its public interface: environment file -> plan -> objects.

use std::path::Path;

use govdeploy_render::{RenderInput, Rendered, SecretValues};
use serde_json::Value;

fn render_env(
    text: &str,
    secrets: Option<&SecretValues>,
) -> Result<Rendered, govdeploy_yaml::Diagnostics> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("env.yaml");
    std::fs::write(&path, text).expect("write");
    let (loaded, _) = govdeploy_spec::load(&path).expect("valid environment");
    let catalog = govdeploy_catalog::store::load(&loaded.env.spec.catalog, Path::new("."))
        .expect("catalogue");
    let (plan, _) = govdeploy_plan::build(&loaded, &catalog).expect("plan");
    govdeploy_render::render(RenderInput {
        plan: &plan,
        catalog: &catalog,
        environment: &loaded.env,
        secrets,
        plaintext_secrets: secrets.is_some(),
    })
}

const QUICKSTART: &str = "apiVersion: govdeploy.io/v1
kind: Environment
metadata: {name: t}
spec:
  release: quickstart-v2.4
  modules: [m_pgr]
  profile: quickstart
  domain: digit.example.org
";

fn find<'a>(r: &'a Rendered, kind: &str, name: &str) -> &'a Value {
    &r.objects()
        .find(|o| o.kind == kind && o.name == name)
        .unwrap_or_else(|| panic!("{kind}/{name}"))
        .body
}

#[test]
fn an_external_database_is_used_directly_and_not_deployed() {
    let env = format!(
        "{QUICKSTART}  backbone:\n    postgres: {{mode: external, host: 10.20.30.40, port: 5433, database: digit}}\n"
    );
    let r = render_env(&env, None).expect("renders");
    assert!(
        r.objects()
            .all(|o| !(o.kind == "StatefulSet" && o.name == "postgres"))
    );
    let config = find(&r, "ConfigMap", "egov-config");
    assert_eq!(
        config["data"]["db-url"],
        "jdbc:postgresql://10.20.30.40:5433/digit"
    );
    assert_eq!(config["data"]["db-host"], "10.20.30.40:5433");
    // Services that use the database may leave the cluster to it, on its port only.
    let policy = find(&r, "NetworkPolicy", "egov-user");
    let external: Vec<&Value> = policy["spec"]["egress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rule| rule["to"][0]["ipBlock"].is_object())
        .collect();
    assert_eq!(external.len(), 1, "{policy}");
    assert_eq!(external[0]["to"][0]["ipBlock"]["cidr"], "10.20.30.40/32");
    assert_eq!(external[0]["ports"][0]["port"], 5433);
}

#[test]
fn service_urls_name_only_deployed_services_in_their_namespaces() {
    let r = render_env(QUICKSTART, None).expect("renders");
    let hosts = find(&r, "ConfigMap", "egov-service-host")["data"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(hosts["egov-user"], "http://egov-user.egov:8080/");
    assert_eq!(hosts["pgr-services"], "http://pgr-services.urban:8080/");
    assert!(
        !hosts.contains_key("egov-hrms"),
        "not deployed in the quickstart"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.code == "W-RENDER-SERVICE-NOT-DEPLOYED"
                && w.message.contains("EGOV_HRMS_HOST"))
    );
}

#[test]
fn secrets_become_files_for_spring_boot_2_4_and_newer() {
    let env = QUICKSTART.replace(
        "release: quickstart-v2.4\n  modules: [m_pgr]",
        "release: digit-core-v2.9\n  modules: [core]",
    );
    let r = render_env(&env, None).expect("renders");
    let user = find(&r, "Deployment", "egov-user");
    let pod = &user["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let env_names: Vec<&str> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        !env_names.contains(&"SPRING_DATASOURCE_PASSWORD"),
        "{env_names:?}"
    );
    let env_config = find(&r, "ConfigMap", "egov-user-env");
    assert_eq!(
        env_config["data"]["SPRING_CONFIG_IMPORT"],
        "optional:configtree:/etc/govdeploy/secrets/"
    );
    let volume = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == "secrets")
        .expect("secrets volume");
    let items = &volume["projected"]["sources"][0]["secret"]["items"];
    assert!(
        items
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["key"] == "password" && i["path"] == "spring.datasource.password"),
        "{items}"
    );
    assert!(
        user["spec"]["template"]["metadata"]["annotations"]["govdeploy.io/waive.secrets-as-env"]
            .is_null()
    );
}

#[test]
fn missing_secret_keys_are_reported_all_at_once() {
    let mut values = std::collections::BTreeMap::new();
    values.insert(
        "db".to_string(),
        std::collections::BTreeMap::from([("username".to_string(), "u".to_string())]),
    );
    let err = render_env(QUICKSTART, Some(&SecretValues(values))).expect_err("keys are missing");
    let missing = err
        .0
        .iter()
        .find(|d| d.code == "E-RENDER-SECRET-MISSING")
        .expect("reported");
    for key in [
        "db.password",
        "db.flyway-password",
        "egov-enc-service.master.password",
    ] {
        assert!(missing.message.contains(key), "{}", missing.message);
    }
}

#[test]
fn store_hosts_in_catalogue_values_follow_renamed_namespaces_and_external_stores() {
    let env = format!(
        "{QUICKSTART}  namespaces: {{backbone: stores}}\n  backbone:\n    redis: {{mode: external, host: cache.example.org, port: 6379}}\n"
    );
    let r = render_env(&env, None).expect("renders");
    // egov-user's catalogue values say `SPRING_REDIS_HOST: redis.backbone`.
    assert_eq!(
        find(&r, "ConfigMap", "egov-user-env")["data"]["SPRING_REDIS_HOST"],
        "cache.example.org"
    );
    // Kafka moved with the renamed namespace.
    assert_eq!(
        find(&r, "ConfigMap", "egov-config")["data"]["kafka-brokers"],
        "kafka.stores:9092"
    );
}

/// Pod-template labels of every workload, by kind/name.
fn pod_template_labels(r: &Rendered) -> std::collections::BTreeMap<String, Value> {
    r.objects()
        .filter(|o| matches!(o.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet"))
        .map(|o| {
            (
                format!("{}/{}", o.kind, o.name),
                o.body["spec"]["template"]["metadata"]["labels"].clone(),
            )
        })
        .collect()
}

#[test]
fn adding_a_module_changes_no_pod_template_labels_of_the_components_already_there() {
    let production = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/production.yaml"),
    )
    .expect("example");
    let without = production.replace("    - m_fire-noc\n", "");
    assert_ne!(without, production, "the example lists m_fire-noc");
    let before = pod_template_labels(&render_env(&without, None).expect("renders"));
    let after = pod_template_labels(&render_env(&production, None).expect("renders"));
    let mut compared = 0;
    for (workload, labels) in &before {
        assert!(
            labels.get("govdeploy.io/module").is_none(),
            "{workload}: {labels}"
        );
        // A component listed by the new module with another tag gets that tag (plan warning
        // GD-PLAN tag conflict): it rolls for its image, not for its labels.
        if let Some(now) = after.get(workload)
            && labels["app.kubernetes.io/version"] == now["app.kubernetes.io/version"]
        {
            assert_eq!(labels, now, "{workload}: pod-template labels changed");
            compared += 1;
        }
    }
    assert!(compared > 20, "only {compared} workloads compared");
}

#[test]
fn no_service_or_workload_selects_the_pods_of_a_migration_job() {
    let rendered = render_env(QUICKSTART, None).expect("renders");
    let selects = |selector: &Value, labels: &Value| {
        selector
            .as_object()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
    };
    let jobs: Vec<_> = rendered.objects().filter(|o| o.kind == "Job").collect();
    assert!(jobs.len() > 5, "{} migration Jobs", jobs.len());
    for job in &jobs {
        let labels = &job.body["spec"]["template"]["metadata"]["labels"];
        for other in rendered.objects().filter(|o| o.namespace == job.namespace) {
            let selector = match other.kind.as_str() {
                "Service" => &other.body["spec"]["selector"],
                "Deployment" | "StatefulSet" | "PodDisruptionBudget" => {
                    &other.body["spec"]["selector"]["matchLabels"]
                }
                _ => continue,
            };
            assert!(
                !selects(selector, labels),
                "{} {} selects the pods of Job {}",
                other.kind,
                other.name,
                job.name
            );
        }
    }
}
