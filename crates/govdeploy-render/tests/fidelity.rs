//! What govdeploy renders for a DIGIT service agrees with what eGov's own charts render for it
//! (`../shared/corpus/digit-devops-rendered`, real Helm): image repository, container ports,
//! health paths and the environment variables the application reads, wherever they are
//! delivered (inline, the component's env ConfigMap, or a secret file). The deliberate
//! differences are listed in `docs/render.md` and are the only ones tolerated here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use govdeploy_render::{RenderInput, Rendered};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/digit-devops-rendered");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn render_file(path: &Path) -> Rendered {
    let (loaded, _) = govdeploy_spec::load(path).expect("valid environment");
    let catalog = govdeploy_catalog::store::load(&loaded.env.spec.catalog, Path::new("."))
        .expect("catalogue");
    let (plan, _) = govdeploy_plan::build(&loaded, &catalog).expect("plan");
    govdeploy_render::render(RenderInput {
        plan: &plan,
        catalog: &catalog,
        environment: &loaded.env,
        secrets: None,
        plaintext_secrets: false,
    })
    .expect("renders")
}

fn workload_pod(docs: &[Value], name: &str) -> Option<Value> {
    let w = docs.iter().find(|d| {
        matches!(
            d["kind"].as_str(),
            Some("Deployment" | "StatefulSet" | "CronJob")
        ) && d["metadata"]["name"] == name
    })?;
    let pointer = if w["kind"] == "CronJob" {
        "/spec/jobTemplate/spec/template/spec"
    } else {
        "/spec/template/spec"
    };
    w.pointer(pointer).cloned()
}

fn env_entries(container: &Value) -> Vec<Value> {
    container["env"].as_array().cloned().unwrap_or_default()
}

fn http_path(probe: &Value) -> Option<String> {
    probe["httpGet"]["path"].as_str().map(str::to_string)
}

fn ports(container: &Value) -> BTreeSet<i64> {
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect()
}

/// The tracing block of DIGIT's common chart (`extraEnv.jaeger`): it points every service at a
/// Jaeger agent on the node, which govdeploy does not deploy.
const TRACING: [&str; 6] = [
    "JAEGER_SERVICE_NAME",
    "JAEGER_SAMPLER_TYPE",
    "JAEGER_AGENT_HOST",
    "JAEGER_AGENT_PORT",
    "JAEGER_SAMPLER_MANAGER_HOST_PORT",
    "TRACER_OPENTRACING_ENABLED",
];

fn compare(corpus: &Path, rendered: &Rendered, failures: &mut Vec<String>) -> usize {
    let objects: Vec<&Value> = rendered.objects().map(|o| &o.body).collect();
    let config_data = |name: &str| -> BTreeMap<String, String> {
        objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
            .and_then(|o| o["data"].as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let service_hosts = config_data("egov-service-host");
    let egov_config = config_data("egov-config");
    let mut compared = 0;
    for o in &objects {
        let Some(kind) = o["kind"].as_str() else {
            continue;
        };
        if !matches!(kind, "Deployment" | "StatefulSet" | "CronJob") {
            continue;
        }
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        if o["metadata"]["labels"]["govdeploy.io/tier"] == "backbone" || name == "ingress-nginx" {
            continue; // native components, not eGov's charts
        }
        let Ok(text) = std::fs::read_to_string(corpus.join(format!("{name}.yaml"))) else {
            continue;
        };
        let docs: Vec<Value> = govdeploy_yaml::parse_documents(&text)
            .map(|d| d.iter().map(|n| n.to_json()).collect())
            .unwrap_or_default();
        let (Some(theirs), Some(ours)) = (
            workload_pod(&docs, name),
            workload_pod(&[(*o).clone()], name),
        ) else {
            continue;
        };
        compared += 1;
        let their_c = &theirs["containers"][0];
        let our_c = &ours["containers"][0];

        let repo = |image: &str| {
            image
                .rsplit_once(':')
                .map_or(image.to_string(), |(r, _)| r.to_string())
        };
        let (their_repo, our_repo) = (
            repo(their_c["image"].as_str().unwrap_or_default()),
            repo(our_c["image"].as_str().unwrap_or_default()),
        );
        if their_repo != our_repo {
            failures.push(format!("{name}: image {their_repo} vs ours {our_repo}"));
        }
        if ports(their_c) != ports(our_c) {
            failures.push(format!(
                "{name}: ports {:?} vs ours {:?}",
                ports(their_c),
                ports(our_c)
            ));
        }
        for probe in ["readinessProbe", "livenessProbe"] {
            if let Some(path) = http_path(&their_c[probe])
                && http_path(&our_c[probe]).as_deref() != Some(path.as_str())
            {
                failures.push(format!(
                    "{name}: {probe} {path} vs ours {:?}",
                    http_path(&our_c[probe])
                ));
            }
        }

        // Every variable the application reads, however it is delivered.
        let mut our_names: BTreeSet<String> = env_entries(our_c)
            .iter()
            .filter_map(|e| e["name"].as_str().map(str::to_string))
            .collect();
        for from in our_c["envFrom"].as_array().into_iter().flatten() {
            if let Some(cm) = from["configMapRef"]["name"].as_str() {
                our_names.extend(config_data(cm).into_keys());
            }
        }
        for volume in ours["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["name"] == "secrets")
        {
            for source in volume["projected"]["sources"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for item in source["secret"]["items"].as_array().into_iter().flatten() {
                    if let Some(file) = item["path"].as_str() {
                        our_names.insert(file.to_ascii_uppercase().replace('.', "_"));
                    }
                }
            }
        }
        let mut missing = Vec::new();
        for e in env_entries(their_c) {
            let Some(var) = e["name"].as_str() else {
                continue;
            };
            if our_names.contains(var) || TRACING.contains(&var) {
                continue;
            }
            // Left out on purpose, with a warning: the service it names is not deployed here,
            // or the shared-config key is defined by nobody.
            let reference = &e["valueFrom"]["configMapKeyRef"];
            let key = reference["key"].as_str().unwrap_or_default();
            let not_deployed =
                reference["name"] == "egov-service-host" && !service_hosts.contains_key(key);
            let undefined = reference["name"] == "egov-config" && !egov_config.contains_key(key);
            if !(not_deployed || undefined) {
                missing.push(var.to_string());
            }
        }
        if !missing.is_empty() {
            failures.push(format!("{name}: env not delivered: {missing:?}"));
        }
    }
    compared
}

#[test]
fn rendered_services_agree_with_egov_charts() {
    let Some(corpus) = corpus() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut failures = Vec::new();
    // Every module of DIGIT v2.8 (Spring Boot 1.5 line: secrets as env vars) and DIGIT core 2.9
    // (Spring Boot 3.2: secrets as files).
    let all = render_file(&root.join("bench/envs/digit-v2.8-all.yaml"));
    let mut compared = compare(&corpus, &all, &mut failures);
    let dir = tempfile::tempdir().expect("tempdir");
    let core = dir.path().join("core.yaml");
    std::fs::write(
        &core,
        "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata: {name: core}\nspec:\n  release: digit-core-v2.9\n  modules: [core]\n  profile: dev\n  domain: core.example.org\n",
    )
    .expect("write");
    compared += compare(&corpus, &render_file(&core), &mut failures);
    eprintln!("compared {compared} rendered services with the corpus");
    assert!(compared >= 70, "only {compared} services compared");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
