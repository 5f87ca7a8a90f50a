//! The shared front half of every environment command: load and validate the environment,
//! load its catalogue, build the plan. Problems come back as diagnostics, all at once.

use std::path::Path;

use govdeploy_catalog::Catalog;
use govdeploy_plan::Plan;
use govdeploy_spec::LoadedEnvironment;
use govdeploy_yaml::{Diagnostic, Diagnostics};

pub struct Planned {
    pub plan: Plan,
    pub warnings: Diagnostics,
}

pub fn load_catalog(loaded: &LoadedEnvironment) -> Result<Catalog, Diagnostics> {
    govdeploy_catalog::store::load(&loaded.env.spec.catalog, &loaded.base_dir).map_err(|err| {
        Diagnostics(vec![
            Diagnostic::error("E-SPEC-CATALOG", err.to_string())
                .at(loaded.sources.locate(&["spec", "catalog"]))
                .hint(format!(
                    "use a built-in catalogue ({}) or a path to a catalogue file made by `govdeploy catalog import-digit`",
                    govdeploy_catalog::BUILTIN.join(", ")
                )),
        ])
    })
}

pub fn plan(env_path: &Path) -> Result<Planned, Diagnostics> {
    let (loaded, mut warnings) = govdeploy_spec::load(env_path)?;
    let catalog = load_catalog(&loaded)?;
    let (plan, plan_warnings) = govdeploy_plan::build(&loaded, &catalog)?;
    warnings.extend(plan_warnings);
    Ok(Planned { plan, warnings })
}
