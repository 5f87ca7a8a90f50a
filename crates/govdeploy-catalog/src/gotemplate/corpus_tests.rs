//! Integration-style tests against the real DIGIT-DevOps values files and what real Helm
//! rendered from them (`/work/shared/corpus`). Skipped with a note when the corpus is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::*;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.join("digit-devops/deploy-as-code/helm/charts").is_dir() {
        Some(dir)
    } else {
        println!("note: corpus not found at {}; skipping", dir.display());
        None
    }
}

fn read(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

fn yaml_json(path: &Path) -> Json {
    match govdeploy_yaml::parse_single(&read(path)) {
        Ok(node) => node.to_json(),
        Err(e) => panic!("cannot parse {}: {e}", path.display()),
    }
}

/// Recursive map merge: `over` wins; maps merge key by key.
fn merge(base: &mut Json, over: &Json) {
    match (base, over) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

fn charts(corpus: &Path) -> PathBuf {
    corpus.join("digit-devops/deploy-as-code/helm/charts")
}

fn env_file(corpus: &Path) -> Json {
    yaml_json(&corpus.join("digit-devops/deploy-as-code/helm/environments/egov-demo.yaml"))
}

/// Values as eGov's deployer gives them to a service chart: the common chart's defaults, the
/// chart's values file, the environment file (its `global`, `cluster-configs`, ...), the
/// environment file's section named after the service, then `name=<service>`.
fn assemble_values(corpus: &Path, chart_values: &Json, name: &str) -> Json {
    let mut values = yaml_json(&charts(corpus).join("common/values.yaml"));
    merge(&mut values, chart_values);
    let env = env_file(corpus);
    merge(&mut values, &env);
    if let Some(section) = env.get(name) {
        merge(&mut values, section);
    }
    merge(&mut values, &serde_json::json!({ "name": name }));
    values
}

fn service_values(corpus: &Path, chart_dir: &str, name: &str) -> Json {
    let chart_values = yaml_json(&charts(corpus).join(chart_dir).join("values.yaml"));
    assemble_values(corpus, &chart_values, name)
}

fn render_with(src: &str, values: &Json, name: &str) -> String {
    let mut named = BTreeMap::new();
    named.insert("common.name".to_string(), name.to_string());
    named.insert("name".to_string(), name.to_string());
    let ctx = TemplateContext {
        values,
        chart_name: name,
        release_name: name,
        release_namespace: "egov",
        named_templates: &named,
    };
    match render(src, &ctx) {
        Ok(s) => s,
        Err(e) => panic!("rendering for {name} failed: {e}"),
    }
}

/// `(name, value-or-source)` pairs of a rendered env list.
fn env_entries(yaml: &str) -> Vec<(String, Option<String>)> {
    let node = match govdeploy_yaml::parse_single(yaml) {
        Ok(n) => n,
        Err(e) => panic!("rendered env is not YAML: {e}\n{yaml}"),
    };
    env_entries_of(&node)
}

fn env_entries_of(node: &govdeploy_yaml::Node) -> Vec<(String, Option<String>)> {
    node.items()
        .iter()
        .map(|item| {
            let name = item
                .get("name")
                .and_then(|n| n.scalar_text())
                .unwrap_or_default();
            let value = item.get("value").and_then(|n| n.scalar_text());
            (name, value)
        })
        .collect()
}

/// The first container's env list in the rendered workload, if there is one.
fn rendered_env_of(path: &Path) -> Option<Vec<(String, Option<String>)>> {
    let docs = match govdeploy_yaml::parse_documents(&read(path)) {
        Ok(d) => d,
        Err(e) => panic!("cannot parse {}: {e}", path.display()),
    };
    let workload = docs.iter().find(|d| {
        matches!(
            d.get("kind").and_then(|k| k.as_str()),
            Some("Deployment" | "StatefulSet" | "CronJob")
        )
    })?;
    let containers = workload
        .path(&["spec", "template", "spec", "containers"])
        .or_else(|| {
            workload.path(&[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers",
            ])
        })?;
    let first = containers.items().first()?;
    Some(first.get("env").map(env_entries_of).unwrap_or_default())
}

fn rendered_env(corpus: &Path, name: &str) -> Vec<(String, Option<String>)> {
    let path = corpus.join(format!("digit-devops-rendered/{name}.yaml"));
    match rendered_env_of(&path) {
        Some(env) => env,
        None => panic!("no workload with a container in {}", path.display()),
    }
}

fn names(entries: &[(String, Option<String>)]) -> Vec<&str> {
    entries.iter().map(|(n, _)| n.as_str()).collect()
}

fn value_of<'e>(entries: &'e [(String, Option<String>)], name: &str) -> Option<&'e str> {
    entries
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref())
}

/// Renders what the common chart puts in a container's env: the chart's `env`, then
/// `extraEnv.java` for `appType: java-spring`, then `extraEnv.jaeger` when `tracing-enabled`.
fn render_container_env(
    values: &Json,
    name: &str,
) -> Result<Vec<(String, Option<String>)>, String> {
    let java = values.get("appType").and_then(Json::as_str) == Some("java-spring");
    let tracing = match values.get("tracing-enabled") {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => !s.is_empty(),
        _ => false,
    };
    let mut named = BTreeMap::new();
    named.insert("common.name".to_string(), name.to_string());
    named.insert("name".to_string(), name.to_string());
    let ctx = TemplateContext {
        values,
        chart_name: name,
        release_name: name,
        release_namespace: "egov",
        named_templates: &named,
    };
    let mut entries = Vec::new();
    for (wanted, pointer) in [
        (true, "/env"),
        (java, "/extraEnv/java"),
        (tracing, "/extraEnv/jaeger"),
    ] {
        let Some(src) = values
            .pointer(pointer)
            .and_then(Json::as_str)
            .filter(|_| wanted)
        else {
            continue;
        };
        let text = render(src, &ctx).map_err(|e| format!("{pointer}: {e}"))?;
        let node = govdeploy_yaml::parse_single(&text).map_err(|e| format!("{pointer}: {e}"))?;
        entries.extend(env_entries_of(&node));
    }
    Ok(entries)
}

/// Checks the rendered env of one service against Helm's, names and values, in order.
fn check_service(corpus: &Path, chart_dir: &str, name: &str) -> Vec<(String, Option<String>)> {
    let values = service_values(corpus, chart_dir, name);
    let env_src = values.get("env").and_then(Json::as_str).unwrap_or_default();
    let env = env_entries(&render_with(env_src, &values, name));
    let all = match render_container_env(&values, name) {
        Ok(all) => all,
        Err(e) => panic!("{name}: {e}"),
    };
    let expected = rendered_env(corpus, name);
    assert_eq!(all, expected, "{name}: env differs from Helm's");
    assert!(all.len() > env.len(), "{name}: the java block is missing");
    env
}

#[test]
fn tl_services_env_matches_helm() {
    let Some(corpus) = corpus() else { return };
    let env = check_service(&corpus, "urban/tl-services", "tl-services");
    assert_eq!(value_of(&env, "JAVA_OPTS"), Some("-Xmx128m -Xms64m"));
    assert_eq!(value_of(&env, "EGOV_TL_DEFAULT_LIMIT"), Some("100"));
    assert_eq!(
        value_of(&env, "EGOV_IDGEN_TL_APPLICATIONNUM_FORMAT"),
        Some("APP-[SEQ_EG_TL_APL]")
    );
    // `index` of a missing key piped to `quote` prints nothing.
    assert_eq!(value_of(&env, "EGOV_URL_SHORTNER_ENDPOINT"), None);
    assert!(names(&env).contains(&"EGOV_URL_SHORTNER_ENDPOINT"));
    assert!(names(&env).contains(&"TRACER_OPENTRACING_ENABLED"));
    assert!(!names(&env).contains(&"TRACER_ERRORS_PROVIDEEXCEPTIONINDETAILS"));
}

#[test]
fn egov_mdms_service_env_matches_helm() {
    let Some(corpus) = corpus() else { return };
    let env = check_service(
        &corpus,
        "core-services/egov-mdms-service",
        "egov-mdms-service",
    );
    assert_eq!(value_of(&env, "JAVA_OPTS"), Some("-Xmx256m -Xms256m"));
    assert_eq!(value_of(&env, "EGOV_MDMS_GIT_URL"), Some(""));
    assert_eq!(value_of(&env, "BRANCH"), Some("master"));
    assert_eq!(
        value_of(&env, "EGOV_MDMS_CONF_PATH"),
        Some("/work-dir/egov-mdms-data/data")
    );
    assert!(!names(&env).contains(&"SPRING_KAFKA_PRODUCER_VALUE_SERIALIZER"));
}

#[test]
fn common_java_env_and_probes_match_helm() {
    let Some(corpus) = corpus() else { return };
    let values = service_values(&corpus, "urban/tl-services", "tl-services");
    let java_src = values
        .pointer("/extraEnv/java")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let java = render_with(java_src, &values, "tl-services");
    // Exact text: trim markers leave the branch's leading spaces, as Helm does.
    assert!(
        java.contains("- name: SERVER_TOMCAT_MAX_THREADS        \n  valueFrom:"),
        "{java}"
    );
    let health = {
        let mut v = values.clone();
        merge(&mut v, &serde_json::json!({"namespace": "health"}));
        render_with(java_src, &v, "tl-services")
    };
    assert!(health.contains("key: health-db-url"));
    let probe_src = values
        .pointer("/healthChecks/livenessProbe")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let probe = render_with(probe_src, &values, "tl-services");
    assert!(
        probe.contains("path: \"/tl-services/health\"\n    port: 8080\n"),
        "{probe}"
    );
    let resources_src = values
        .get("resources")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let resources = render_with(resources_src, &values, "tl-services");
    assert_eq!(
        resources,
        "requests:\n  memory: \"384Mi\"\nlimits:\n  memory: \"384Mi\""
    );
    let jaeger_src = values
        .pointer("/extraEnv/jaeger")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let jaeger = env_entries(&render_with(jaeger_src, &values, "tl-services"));
    assert_eq!(
        value_of(&jaeger, "JAEGER_SERVICE_NAME"),
        Some("tl-services")
    );
}

/// Every string holding `{{` in every values file of the corpus parses.
#[test]
fn every_corpus_template_string_parses() {
    let Some(corpus) = corpus() else { return };
    let mut files = Vec::new();
    collect_values_files(&charts(&corpus), &mut files);
    assert!(
        files.len() > 50,
        "too few values files found: {}",
        files.len()
    );
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for file in &files {
        let node = match govdeploy_yaml::parse_single(&read(file)) {
            Ok(n) => n,
            Err(e) => {
                println!("note: skipping unparsable {}: {e}", file.display());
                continue;
            }
        };
        let mut strings = Vec::new();
        collect_templates(&node, &mut strings);
        for s in strings {
            checked += 1;
            if let Err(e) = parse(&s) {
                failures.push(format!("{}: {e}", file.display()));
            }
        }
    }
    println!(
        "{checked} template strings in {} values files parse",
        files.len()
    );
    assert!(checked > 100, "too few template strings found: {checked}");
    assert!(
        failures.is_empty(),
        "templates that do not parse:\n{}",
        failures.join("\n")
    );
}

fn collect_values_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_values_files(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("values") && (n.ends_with(".yaml") || n.ends_with(".yml")))
        {
            out.push(path);
        }
    }
}

fn collect_templates(node: &govdeploy_yaml::Node, out: &mut Vec<String>) {
    use govdeploy_yaml::Value as Y;
    match &node.value {
        Y::String(s) if s.contains("{{") => out.push(s.clone()),
        Y::Seq(items) => items.iter().for_each(|i| collect_templates(i, out)),
        Y::Map(entries) => entries.iter().for_each(|(_, v)| collect_templates(v, out)),
        _ => {}
    }
}

/// Every service real Helm rendered: the env list we render from its values equals Helm's.
#[test]
fn every_rendered_service_env_matches_helm() {
    let Some(corpus) = corpus() else { return };
    let mut values_files = Vec::new();
    collect_values_files(&charts(&corpus), &mut values_files);
    let file_named = |n: &str| {
        values_files
            .iter()
            .find(|f| f.file_name().and_then(|f| f.to_str()) == Some(n))
    };
    let chart_values_file = |name: &str| {
        file_named(&format!("{name}-values.yaml")).or_else(|| {
            values_files.iter().find(|f| {
                f.file_name().and_then(|f| f.to_str()) == Some("values.yaml")
                    && f.parent()
                        .and_then(|p| p.file_name())
                        .and_then(|p| p.to_str())
                        == Some(name)
            })
        })
    };
    let mut rendered: Vec<PathBuf> = match std::fs::read_dir(corpus.join("digit-devops-rendered")) {
        Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("cannot list rendered corpus: {e}"),
    };
    rendered.sort();
    let (mut matched, mut failures) = (0usize, Vec::new());
    for path in rendered {
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let Some(file) = chart_values_file(name) else {
            continue;
        };
        // A values file that is not valid YAML upstream (duplicate keys) cannot be compared.
        let Ok(chart_values) = govdeploy_yaml::parse_single(&read(file)) else {
            continue;
        };
        let Some(expected) = rendered_env_of(&path) else {
            continue;
        };
        let values = assemble_values(&corpus, &chart_values.to_json(), name);
        match render_container_env(&values, name) {
            Ok(got) if got == expected => matched += 1,
            Ok(got) => failures.push(format!("{name}: got {got:?}\n want {expected:?}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!("{matched} rendered services' env lists match Helm's exactly");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matched > 100, "only {matched} services compared");
}
