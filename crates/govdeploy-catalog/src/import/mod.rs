//! The DIGIT-DevOps importer: reads a checkout (chart values, `Chart.yaml`, product release
//! manifests) and produces a catalogue plus a drift report. It imports every service chart it
//! finds, named in a manifest or not, and never fails on a single bad file.

mod chart;
pub mod drift;
mod manifest;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

pub use chart::SERVICE_HOST_CONFIGMAP;
pub use drift::{Drift, DriftKind};
pub use manifest::{parse_entry, release_key};

use crate::model::{CATALOG_API_VERSION, Catalog, Component, Provenance};
use crate::native;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Catalogue name (`digit`).
    pub name: String,
    /// A DIGIT environment file whose per-chart sections fill values charts leave unset.
    pub env_file: Option<PathBuf>,
    /// Commit of the checkout, recorded as provenance.
    pub commit: Option<String>,
    /// Source description recorded as provenance (defaults to the checkout path).
    pub source: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "{path}: not a DIGIT-DevOps checkout: no `deploy-as-code/helm/charts` (or `charts`) directory"
    )]
    NotACheckout { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the environment file is not valid YAML: {message}")]
    EnvFile { path: PathBuf, message: String },
}

/// Counts and drift of one import.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub values_files: usize,
    pub components: usize,
    /// Components read from chart values files.
    pub imported_components: usize,
    pub native_components: usize,
    /// Components known only from release manifest entries (no chart).
    pub manifest_only_components: usize,
    pub releases: usize,
    pub modules: usize,
    pub drift: Vec<Drift>,
}

impl ImportReport {
    pub fn drift_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for d in &self.drift {
            *counts.entry(d.kind.as_str()).or_insert(0) += 1;
        }
        counts
    }
}

fn helm_root(root: &Path) -> Option<PathBuf> {
    [root.join("deploy-as-code/helm"), root.to_path_buf()]
        .into_iter()
        .find(|p| p.join("charts").is_dir())
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub fn import_digit(
    root: &Path,
    options: &ImportOptions,
) -> Result<(Catalog, ImportReport), ImportError> {
    let helm = helm_root(root).ok_or_else(|| ImportError::NotACheckout {
        path: root.to_path_buf(),
    })?;
    let charts_root = helm.join("charts");
    let mut drift = Vec::new();

    let common_path = charts_root.join("common/values.yaml");
    let common_defaults = if common_path.is_file() {
        match govdeploy_yaml::parse_single(&read(&common_path)?) {
            Ok(node) => node.to_json(),
            Err(err) => {
                drift.push(
                    Drift::new(
                        DriftKind::InvalidValues,
                        chart::relative(root, &common_path),
                        "common",
                        err.description(),
                    )
                    .at(err.pos()),
                );
                Value::Object(Default::default())
            }
        }
    } else {
        Value::Object(Default::default())
    };
    let env_file = match &options.env_file {
        Some(path) => Some(
            govdeploy_yaml::parse_single(&read(path)?)
                .map_err(|e| ImportError::EnvFile {
                    path: path.clone(),
                    message: e.to_string(),
                })?
                .to_json(),
        ),
        None => None,
    };
    let ctx = chart::ChartContext {
        common_defaults: &common_defaults,
        env_file: env_file.as_ref(),
    };

    let files = chart::discover(root, &charts_root).map_err(|source| ImportError::Io {
        path: charts_root.clone(),
        source,
    })?;
    let natives = native::backbone();
    let native_names: BTreeMap<&str, &str> = natives
        .iter()
        .flat_map(|(name, c)| {
            std::iter::once((name.as_str(), name.as_str()))
                .chain(c.aliases.iter().map(move |a| (a.as_str(), name.as_str())))
        })
        .collect();

    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut chart_names: BTreeMap<String, String> = BTreeMap::new();
    for file in &files {
        if let Some(chart_name) = &file.chart_name
            && file.component == file.chart_dir
        {
            let chart_dir_rel = chart::relative(root, file.path.parent().unwrap_or(&file.path));
            if let Some(first) = chart_names.get(chart_name)
                && *first != chart_dir_rel
            {
                drift.push(Drift::new(DriftKind::DuplicateName, format!("{chart_dir_rel}/Chart.yaml"), chart_name.clone(), format!("chart name `{chart_name}` is also declared by {first}/Chart.yaml; components are named after their directories")));
            } else {
                chart_names.insert(chart_name.clone(), chart_dir_rel);
            }
        }
        if let Some(native) = native_names.get(file.component.as_str()) {
            drift.push(Drift::new(
                DriftKind::ReplacedByNative,
                file.rel_path.clone(),
                file.component.clone(),
                format!("backbone chart replaced by the native `{native}` component"),
            ));
            continue;
        }
        let text = read(&file.path)?;
        let Some(imported) = chart::import_values_file(file, &text, &ctx, &mut drift) else {
            continue;
        };
        if let Some(existing) = components.get(&imported.name) {
            drift.push(Drift::new(
                DriftKind::DuplicateName,
                file.rel_path.clone(),
                imported.name.clone(),
                format!(
                    "component `{}` is already defined by {}; this one is ignored",
                    imported.name,
                    existing.source.as_deref().unwrap_or("another chart")
                ),
            ));
            continue;
        }
        refs.insert(imported.name.clone(), imported.service_refs);
        components.insert(imported.name, imported.component);
    }
    let imported_count = components.len();
    for (name, component) in &natives {
        components.insert(name.clone(), component.clone());
    }

    // Service-host references become dependency edges when they name a known component.
    let known: BTreeSet<String> = components.keys().cloned().collect();
    for (name, service_refs) in refs {
        let source = components
            .get(&name)
            .and_then(|c| c.source.clone())
            .unwrap_or_default();
        for key in service_refs {
            let target = if known.contains(&key) {
                Some(key.clone())
            } else {
                native_names.get(key.as_str()).map(|n| n.to_string())
            };
            match target {
                Some(target) if target != name => {
                    if let Some(c) = components.get_mut(&name) {
                        c.depends_on.insert(target);
                    }
                }
                Some(_) => {}
                None => drift.push(Drift::new(DriftKind::UnknownServiceReference, source.clone(), name.clone(), format!("`{SERVICE_HOST_CONFIGMAP}` key `{key}` names a service no chart provides; no dependency recorded"))),
            }
        }
    }

    let mut releases = BTreeMap::new();
    let manifests_root = helm.join("product-release-charts");
    let mut manifest_files = Vec::new();
    if manifests_root.is_dir() {
        let mut products: Vec<PathBuf> = std::fs::read_dir(&manifests_root)
            .map_err(|source| ImportError::Io {
                path: manifests_root.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        products.sort();
        for product_dir in products {
            let product = product_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut files: Vec<PathBuf> = std::fs::read_dir(&product_dir)
                .map_err(|source| ImportError::Io {
                    path: product_dir.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            files.sort();
            for f in files {
                manifest_files.push((product.clone(), f));
            }
        }
    }
    for (product, path) in &manifest_files {
        let rel = chart::relative(root, path);
        if let Some((key, release)) =
            manifest::import_manifest(path, &rel, product, &mut components, &mut drift)
        {
            if let Some(existing) = releases.get(&key) {
                let existing: &crate::model::Release = existing;
                drift.push(Drift::new(
                    DriftKind::DuplicateName,
                    rel.clone(),
                    key.clone(),
                    format!(
                        "release `{key}` is also defined by {}; this one is ignored",
                        existing.source.as_deref().unwrap_or("another manifest")
                    ),
                ));
                continue;
            }
            releases.insert(key, release);
        }
    }

    drift.sort();
    drift.dedup();
    let report = ImportReport {
        values_files: files.len(),
        components: components.len(),
        imported_components: imported_count,
        native_components: natives.len(),
        manifest_only_components: components.values().filter(|c| c.manifest_only).count(),
        releases: releases.len(),
        modules: releases.values().map(|r| r.modules.len()).sum(),
        drift,
    };
    let catalog = Catalog {
        api_version: CATALOG_API_VERSION.into(),
        kind: "Catalog".into(),
        name: if options.name.is_empty() { "digit".into() } else { options.name.clone() },
        provenance: Some(Provenance {
            source: options
                .source
                .clone()
                .unwrap_or_else(|| root.display().to_string()),
            commit: options.commit.clone(),
            generated_by: format!("govdeploy {} catalog import-digit", env!("CARGO_PKG_VERSION")),
            notes: vec![
                "Generated from DIGIT-DevOps data files (chart values, Chart.yaml, release manifests); do not edit by hand, re-run the importer.".into(),
                "Backbone stores (postgres, redis, kafka in KRaft mode, elasticsearch, object store) and ingress/cert-manager are modelled natively.".into(),
            ],
        }),
        components,
        releases,
        shared_config: env_file.as_ref().map(shared_config_defaults).unwrap_or_default(),
    };
    Ok((catalog, report))
}

/// The `egov-config` entries of a DIGIT environment file that hold real defaults: placeholders
/// (`<db_host>`) and empty values are dropped, scalars kept as text.
fn shared_config_defaults(env_file: &Value) -> BTreeMap<String, String> {
    let data = env_file
        .pointer("/cluster-configs/configmaps/egov-config/data")
        .and_then(Value::as_object);
    data.into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            (!text.is_empty() && !text.contains('<')).then(|| (key.clone(), text))
        })
        .collect()
}
