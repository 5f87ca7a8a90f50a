//! The importer on a fork's own layout (`tests/fixtures/fork`): a chart no upstream manifest
//! names, a chart with two values files, a fork's own product line, and a template construct
//! the importer does not evaluate — reported with file, line and the construct.

use std::path::Path;

use govdeploy_catalog::import::{DriftKind, ImportOptions, import_digit};
use govdeploy_catalog::{Backing, ModuleKind};

fn import() -> (
    govdeploy_catalog::Catalog,
    govdeploy_catalog::import::ImportReport,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fork");
    import_digit(
        &root,
        &ImportOptions {
            name: "state".into(),
            ..Default::default()
        },
    )
    .expect("fork imports")
}

#[test]
fn imports_a_forks_charts_and_product_line() {
    let (catalog, report) = import();
    let plus = &catalog.components["grievance-plus"];
    let image = plus.image.as_ref().expect("image");
    assert_eq!(
        image.repository, "stateregistry/grievance-plus",
        "the fork's registry is prepended"
    );
    assert_eq!(plus.resources.memory, "640Mi");
    assert_eq!(plus.context_path.as_deref(), Some("/grievance-plus"));
    assert!(plus.gateway_routed);
    let migration = plus.migration.as_ref().expect("migration");
    assert_eq!(migration.image, "stateregistry/grievance-plus-db");
    assert_eq!(migration.schema_table, "grievance_plus_schema");
    assert!(plus.backing.contains(&Backing::Postgres) && plus.backing.contains(&Backing::Kafka));
    // The template ran: `sla-hours` is set, so SLA_HOURS exists with Helm's float formatting.
    let sla = plus
        .env
        .iter()
        .find(|e| e.name == "SLA_HOURS")
        .expect("SLA_HOURS rendered");
    assert_eq!(sla.value.as_deref(), Some("48"));
    // Two values files in one chart give two components, calling each other: a cycle kept as data.
    assert!(plus.depends_on.contains("grievance-escalation"));
    assert!(
        catalog.components["grievance-escalation"]
            .depends_on
            .contains("grievance-plus")
    );

    let release = &catalog.releases["state-v1.0"];
    assert_eq!(release.product, "StateProduct");
    let product = &release.modules["m_grievance"];
    assert_eq!(product.kind, ModuleKind::Product);
    assert_eq!(product.depends_on, vec!["core".to_string()]);
    assert_eq!(
        product.components.get("grievance-plus"),
        Some(&Some("2.1.0".to_string()))
    );
    assert_eq!(report.releases, 1);
}

#[test]
fn unsupported_template_construct_names_file_line_and_construct() {
    let (catalog, report) = import();
    let drift = report
        .drift
        .iter()
        .find(|d| d.kind == DriftKind::Template)
        .expect("template drift reported");
    assert!(
        drift
            .file
            .ends_with("charts/state-services/broken-template/values.yaml"),
        "{drift}"
    );
    assert_eq!(
        (drift.line, drift.col),
        (Some(8), Some(12)),
        "position of the action inside the values file: {drift}"
    );
    assert!(drift.message.contains("tpl"), "{drift}");
    // The component is still imported, without the env it could not evaluate.
    assert!(catalog.components["broken-template"].env.is_empty());
}

#[test]
fn manifest_entries_without_charts_are_modelled_and_reported() {
    let (catalog, report) = import();
    assert!(catalog.components["not-a-chart"].manifest_only);
    assert!(
        report
            .drift
            .iter()
            .any(|d| d.kind == DriftKind::ManifestOnly && d.subject == "stateregistry/not-a-chart")
    );
    // Native backbone components are part of every imported catalogue.
    assert!(catalog.provider_of(Backing::Kafka).is_some());
}
