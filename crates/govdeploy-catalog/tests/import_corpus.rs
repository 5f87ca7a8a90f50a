//! The importer over the real DIGIT-DevOps corpus (`../shared/corpus`): fidelity against what
//! real Helm rendered from the same files, drift reporting, and the committed built-in
//! catalogue being exactly what the importer produces today.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use govdeploy_catalog::import::{DriftKind, ImportOptions, ImportReport, import_digit};
use govdeploy_catalog::{Catalog, ModuleKind};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.join("digit-devops").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// The options `scripts/regenerate-catalog.sh` uses for the built-in catalogue.
fn builtin_options(corpus: &Path) -> ImportOptions {
    ImportOptions {
        name: "digit".into(),
        env_file: Some(corpus.join("digit-devops/deploy-as-code/helm/environments/egov-demo.yaml")),
        commit: Some("747949622b814c31cc04eb00b98ab52d1bb8e2f8".into()),
        source: Some("egovernments/DIGIT-DevOps (branch master), data files only".into()),
    }
}

fn import(corpus: &Path) -> (Catalog, ImportReport) {
    import_digit(&corpus.join("digit-devops"), &builtin_options(corpus)).expect("corpus imports")
}

#[test]
fn committed_builtin_catalogue_is_a_fresh_import() {
    let Some(corpus) = corpus() else { return };
    let (catalog, report) = import(&corpus);
    let fresh = govdeploy_catalog::store::to_yaml(&catalog).expect("serialises");
    let committed = include_str!("../catalogs/digit.yaml");
    assert!(
        fresh == committed,
        "crates/govdeploy-catalog/catalogs/digit.yaml is stale: run scripts/regenerate-catalog.sh"
    );
    let fresh_report = serde_saphyr::to_string(&report).expect("serialises");
    assert_eq!(
        fresh_report,
        include_str!("../catalogs/digit-import-report.yaml")
    );
    // And it reads back to the same data.
    let reread = govdeploy_catalog::store::from_yaml(committed, "digit.yaml").expect("parses");
    assert_eq!(reread, catalog);
}

#[test]
fn import_is_deterministic() {
    let Some(corpus) = corpus() else { return };
    let a = govdeploy_catalog::store::to_yaml(&import(&corpus).0).expect("serialises");
    let b = govdeploy_catalog::store::to_yaml(&import(&corpus).0).expect("serialises");
    assert_eq!(a, b);
}

fn release_services(corpus: &Path, file: &str) -> Vec<String> {
    let path = corpus
        .join("digit-devops/deploy-as-code/helm/product-release-charts")
        .join(file);
    let text = std::fs::read_to_string(path).expect("manifest readable");
    let root = govdeploy_yaml::parse_single(&text).expect("manifest parses");
    root.get("modules")
        .map(|m| m.items().to_vec())
        .unwrap_or_default()
        .iter()
        .flat_map(|m| {
            m.get("services")
                .map(|s| s.items().to_vec())
                .unwrap_or_default()
        })
        .filter_map(|s| s.scalar_text())
        .collect()
}

#[test]
fn covers_every_service_of_digit_core_2_9_and_urban_2_4() {
    let Some(corpus) = corpus() else { return };
    let (catalog, report) = import(&corpus);
    for (file, key) in [
        (
            "DIGIT/dependency_chart-digit-core-v2.9.yaml",
            "digit-core-v2.9",
        ),
        ("Urban/dependancy_chart-urban-v2.4.yaml", "urban-v2.4"),
    ] {
        let release = catalog
            .releases
            .get(key)
            .unwrap_or_else(|| panic!("release {key} imported"));
        let in_release: BTreeSet<&str> = release
            .modules
            .values()
            .flat_map(|m| m.components.keys().map(String::as_str))
            .collect();
        for service in release_services(&corpus, file) {
            let entry = govdeploy_catalog::import::parse_entry(&service);
            // `<svc>-db` stands for the service `<svc>` (its migration image, same tag).
            let service_name = entry.name.strip_suffix("-db").unwrap_or(&entry.name);
            let covered = [entry.name.as_str(), service_name].iter().any(|n| {
                catalog
                    .component(n)
                    .is_some_and(|(name, _)| in_release.contains(name))
            }) || catalog.components.iter().any(|(name, c)| {
                in_release.contains(name.as_str())
                    && (c
                        .image
                        .as_ref()
                        .is_some_and(|i| i.repository.ends_with(&format!("/{}", entry.name)))
                        || c.migration
                            .as_ref()
                            .is_some_and(|m| m.image.ends_with(&format!("/{}", entry.name))))
            });
            let reported = report.drift.iter().any(|d| {
                d.kind == DriftKind::EntryWithoutChart
                    && d.subject == entry.path
                    && d.file.ends_with(file)
            });
            assert!(
                covered || reported,
                "{key}: `{service}` neither imported nor reported as drift"
            );
            // Services (egovio images) must be covered, not merely reported.
            if entry.path.starts_with("egovio/") {
                assert!(
                    covered,
                    "{key}: service `{service}` is not in the catalogue"
                );
            }
        }
    }
}

#[test]
fn reports_drift_instead_of_failing() {
    let Some(corpus) = corpus() else { return };
    let (catalog, report) = import(&corpus);
    let has = |kind: DriftKind, pred: &dyn Fn(&govdeploy_catalog::import::Drift) -> bool| {
        report.drift.iter().any(|d| d.kind == kind && pred(d))
    };
    // The v2.6 manifest is invalid YAML upstream: reported with its position, other releases imported.
    assert!(has(DriftKind::InvalidManifest, &|d| d
        .file
        .ends_with("dependancy_chart-digit-v2.6.yaml")
        && d.line.is_some()));
    assert!(!catalog.releases.contains_key("digit-v2.6"));
    assert!(catalog.releases.contains_key("digit-v2.8"));
    // Backbone charts the manifests name that no longer exist are either native or reported.
    assert!(has(DriftKind::ReplacedByNative, &|d| d
        .subject
        .starts_with("zookeeper")));
    // A chart with no image (kibana) is reported.
    assert!(has(DriftKind::ChartWithoutImage, &|d| d.subject == "kibana"));
    // Two charts declare the Chart.yaml name `pdf-service`.
    assert!(has(DriftKind::DuplicateName, &|d| d.subject == "pdf-service"));
    // A release entry with no chart is modelled from the manifest and flagged, never dropped.
    assert!(has(DriftKind::ManifestOnly, &|d| d.subject
        == "egovio/service-request-db"));
    assert!(catalog.components["service-request"].manifest_only);
    // Every drift names its file.
    assert!(report.drift.iter().all(|d| !d.file.is_empty()));
}

#[test]
fn imports_charts_no_manifest_names_and_multi_values_charts() {
    let Some(corpus) = corpus() else { return };
    let (catalog, _) = import(&corpus);
    for name in [
        "egov-user",
        "egov-user-enc",
        "covid-chatbot",
        "xstate-chatbot",
        "ispirit-mdms-service",
        "egov-mdms-service",
    ] {
        assert!(catalog.components.contains_key(name), "{name} missing");
    }
    let products: Vec<&String> = catalog.releases["urban-v2.4"]
        .modules
        .iter()
        .filter(|(_, m)| m.kind == ModuleKind::Product)
        .map(|(n, _)| n)
        .collect();
    assert!(products.iter().any(|p| *p == "m_pgr"));
}

#[test]
fn dependencies_come_from_service_host_references() {
    let Some(corpus) = corpus() else { return };
    let (catalog, _) = import(&corpus);
    let tl = &catalog.components["tl-services"];
    for dep in [
        "egov-mdms-service",
        "egov-idgen",
        "egov-user",
        "tl-calculator",
        "egov-workflow-v2",
    ] {
        assert!(
            tl.depends_on.contains(dep),
            "tl-services should depend on {dep}: {:?}",
            tl.depends_on
        );
    }
    assert!(
        catalog.components["tl-calculator"]
            .depends_on
            .contains("tl-services"),
        "runtime cycle kept"
    );
    let migration = tl.migration.as_ref().expect("tl-services has a migration");
    assert_eq!(migration.image, "egovio/tl-services-db");
    assert_eq!(migration.schema_table, "tl_services_schema");
}

// ---- fidelity against the Helm-rendered corpus ----

/// Every object Helm rendered for a service.
fn rendered(corpus: &Path, name: &str) -> Vec<Value> {
    let path = corpus
        .join("digit-devops-rendered")
        .join(format!("{name}.yaml"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    govdeploy_yaml::parse_documents(&text)
        .map(|docs| docs.iter().map(|d| d.to_json()).collect())
        .unwrap_or_default()
}

fn named<'a>(docs: &'a [Value], kinds: &[&str], name: &str) -> Option<&'a Value> {
    docs.iter().find(|d| {
        d.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| kinds.contains(&k))
            && d.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
    })
}

/// The pod spec of the service's workload: Deployment, StatefulSet or CronJob.
fn rendered_pod_spec(docs: &[Value], name: &str) -> Option<(String, Value)> {
    let workload = named(docs, &["Deployment", "StatefulSet", "CronJob"], name)?;
    let kind = workload.get("kind").and_then(Value::as_str)?.to_string();
    let pointer = if kind == "CronJob" {
        "/spec/jobTemplate/spec/template/spec"
    } else {
        "/spec/template/spec"
    };
    Some((kind, workload.pointer(pointer)?.clone()))
}

fn names(list: Option<&Value>) -> BTreeSet<String> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Env names the common chart adds to every Spring service (`extraEnv.java`, `extraEnv.jaeger`):
/// govdeploy's renderer provides them from the runtime, so they are not part of a component.
fn platform_env_names(corpus: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(
        corpus.join("digit-devops/deploy-as-code/helm/charts/common/values.yaml"),
    )
    .expect("common values");
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("- name: ") {
            names.insert(rest.trim().trim_matches('"').to_string());
        }
    }
    names
}

#[test]
fn fidelity_with_helm_rendered_corpus() {
    let Some(corpus) = corpus() else { return };
    let (catalog, _) = import(&corpus);
    let platform = platform_env_names(&corpus);
    let mut compared = 0;
    let mut failures = Vec::new();
    for (name, component) in &catalog.components {
        let docs = rendered(&corpus, name);
        let Some((kind, spec)) = rendered_pod_spec(&docs, name) else {
            continue;
        };
        compared += 1;
        let ours_kind = format!("{:?}", component.workload);
        if kind != ours_kind {
            failures.push(format!("{name}: workload {kind} vs ours {ours_kind}"));
        }
        // Ingress: the rendered paths must include our context path, and a component we do
        // not publish must have no Ingress.
        let ingress_paths: BTreeSet<String> = named(&docs, &["Ingress"], name)
            .and_then(|i| i.pointer("/spec/rules"))
            .and_then(Value::as_array)
            .map(|rules| {
                rules
                    .iter()
                    .flat_map(|r| {
                        r.pointer("/http/paths")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                    })
                    .filter_map(|p| p.get("path").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let published = component.gateway_routed || component.ingress;
        match (&component.context_path, published) {
            (Some(path), true) if !ingress_paths.contains(path) => failures.push(format!(
                "{name}: ingress paths {ingress_paths:?} lack our context {path}"
            )),
            (_, false) if !ingress_paths.is_empty() => failures.push(format!(
                "{name}: Helm renders an Ingress {ingress_paths:?}, ours has none"
            )),
            (None, true) => failures.push(format!("{name}: published without a context path")),
            _ => {}
        }
        let container = spec
            .pointer("/containers/0")
            .cloned()
            .unwrap_or(Value::Null);
        let image = container
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
        let ours = component
            .image
            .as_ref()
            .map(|i| i.repository.as_str())
            .unwrap_or_default();
        if repo != ours {
            failures.push(format!("{name}: image {repo} vs ours {ours}"));
        }
        let port = container
            .pointer("/ports/0/containerPort")
            .and_then(Value::as_u64);
        if port.is_some() && port != component.ports.first().map(|p| u64::from(p.port)) {
            failures.push(format!(
                "{name}: port {port:?} vs ours {:?}",
                component.ports
            ));
        }
        let readiness = container
            .pointer("/readinessProbe/httpGet/path")
            .and_then(Value::as_str);
        let ours_readiness = component
            .probes
            .as_ref()
            .and_then(|p| p.readiness_path.as_deref());
        if readiness != ours_readiness {
            failures.push(format!(
                "{name}: readiness {readiness:?} vs ours {ours_readiness:?}"
            ));
        }
        let liveness = container
            .pointer("/livenessProbe/httpGet/path")
            .and_then(Value::as_str);
        let ours_liveness = component
            .probes
            .as_ref()
            .and_then(|p| p.liveness_path.as_deref());
        if liveness != ours_liveness {
            failures.push(format!(
                "{name}: liveness {liveness:?} vs ours {ours_liveness:?}"
            ));
        }
        let migration = spec
            .get("initContainers")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some("db-migration"))
            });
        match (migration, &component.migration) {
            (Some(init), Some(ours)) => {
                let image = init
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
                if repo != ours.image {
                    failures.push(format!(
                        "{name}: migration image {repo} vs ours {}",
                        ours.image
                    ));
                }
                let table = init
                    .get("env")
                    .and_then(Value::as_array)
                    .and_then(|env| {
                        env.iter()
                            .find(|e| e.get("name").and_then(Value::as_str) == Some("SCHEMA_TABLE"))
                    })
                    .and_then(|e| e.get("value"))
                    .and_then(Value::as_str);
                if table != Some(ours.schema_table.as_str()) {
                    failures.push(format!(
                        "{name}: schema table {table:?} vs ours {}",
                        ours.schema_table
                    ));
                }
            }
            (None, None) => {}
            (theirs, ours) => failures.push(format!(
                "{name}: migration {} vs ours {}",
                theirs.is_some(),
                ours.is_some()
            )),
        }
        let rendered_env = names(container.get("env"));
        let our_env: BTreeSet<String> = component.env.iter().map(|e| e.name.clone()).collect();
        let missing: Vec<&String> = our_env.difference(&rendered_env).collect();
        let extra: Vec<&String> = rendered_env
            .difference(&our_env)
            .filter(|n| !platform.contains(*n))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            failures.push(format!(
                "{name}: env names differ: ours only {missing:?}, rendered only {extra:?}"
            ));
        }
    }
    eprintln!("compared {compared} components with the Helm-rendered corpus");
    assert!(compared >= 110, "only {compared} components compared");
    assert!(
        failures.is_empty(),
        "{} fidelity differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
