//! The shared front half of every environment command: load and validate the environment,
//! load its catalogue, build the plan. Problems come back as diagnostics, all at once: when
//! the environment itself is invalid, its release, module and override names are still
//! checked against the catalogue so that one run reports everything.

use std::path::Path;

use govdeploy_catalog::Catalog;
use govdeploy_plan::Plan;
use govdeploy_spec::SourceMap;
use govdeploy_yaml::{Diagnostic, Diagnostics};

pub struct Planned {
    pub plan: Plan,
    pub warnings: Diagnostics,
    pub catalog: Catalog,
    pub loaded: govdeploy_spec::LoadedEnvironment,
}

/// The catalogue named by `spec.catalog` (a built-in name or a path relative to the file).
fn load_catalog(name: &str, sources: &SourceMap, base_dir: &Path) -> Result<Catalog, Diagnostic> {
    govdeploy_catalog::store::load(name, base_dir).map_err(|err| {
        Diagnostic::error("E-SPEC-CATALOG", err.to_string())
            .at(sources.locate(&["spec", "catalog"]))
            .hint(format!(
                "use a built-in catalogue ({}) or a path to a catalogue file made by `govdeploy catalog import-digit`",
                govdeploy_catalog::BUILTIN.join(", ")
            ))
    })
}

pub fn plan(env_path: &Path) -> Result<Planned, Diagnostics> {
    let (loaded, mut warnings) = match govdeploy_spec::load_keeping_sources(env_path) {
        Ok(loaded) => loaded,
        Err(invalid) => {
            let mut diagnostics = invalid.diagnostics;
            if let Some(sources) = &invalid.sources {
                let catalog_name = sources
                    .tree()
                    .and_then(|t| t.path(&["spec", "catalog"]))
                    .and_then(|n| n.as_str())
                    .unwrap_or("digit");
                if let Ok(catalog) = load_catalog(catalog_name, sources, &invalid.base_dir) {
                    diagnostics.extend(govdeploy_plan::check_names(sources, &catalog));
                }
            }
            return Err(diagnostics.sorted());
        }
    };
    let catalog = load_catalog(&loaded.env.spec.catalog, &loaded.sources, &loaded.base_dir)
        .map_err(|d| Diagnostics(vec![d]))?;
    let (plan, plan_warnings) = govdeploy_plan::build(&loaded, &catalog)?;
    warnings.extend(plan_warnings);
    Ok(Planned {
        plan,
        warnings,
        catalog,
        loaded,
    })
}

/// [`plan`] for commands: the diagnostics of a failed plan are printed here and the error is
/// the exit code (2 for invalid input, 1 otherwise).
pub fn plan_or_exit(env_path: &Path) -> Result<Planned, i32> {
    plan(env_path).map_err(|diagnostics| {
        crate::commands::report(&diagnostics);
        if diagnostics.has_errors() {
            crate::exit::INVALID_INPUT
        } else {
            crate::exit::FAILURE
        }
    })
}
