//! `plan`, `graph` and `images`: views of one environment's plan.

use std::io::Write;
use std::path::Path;

use crate::cli::{GraphFormat, OutputFormat};
use crate::commands::report;
use crate::{exit, pipeline};

/// Runs the pipeline and prints one view of the plan. `warnings_in_view` says whether the
/// view already shows the warnings (plan text and JSON do); otherwise they go to stderr.
fn with_plan(
    env: &Path,
    warnings_in_view: bool,
    print: impl FnOnce(&govdeploy_plan::Plan) -> String,
) -> anyhow::Result<i32> {
    match pipeline::plan(env) {
        Ok(planned) => {
            if !warnings_in_view {
                report(&planned.warnings);
            }
            let text = print(&planned.plan);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
            Ok(exit::OK)
        }
        Err(diagnostics) => {
            report(&diagnostics);
            Ok(if diagnostics.has_errors() {
                exit::INVALID_INPUT
            } else {
                exit::FAILURE
            })
        }
    }
}

pub fn plan(env: &Path, output: OutputFormat) -> anyhow::Result<i32> {
    if let Some(code) = crate::commands::secrets::plan_gate(env) {
        return Ok(code);
    }
    with_plan(env, true, |plan| match output {
        OutputFormat::Text => govdeploy_plan::render_text(plan),
        OutputFormat::Json => govdeploy_plan::to_json(plan),
    })
}

pub fn graph(env: &Path, format: GraphFormat) -> anyhow::Result<i32> {
    with_plan(env, false, |plan| match format {
        GraphFormat::Dot => govdeploy_plan::to_dot(plan),
        GraphFormat::Mermaid => govdeploy_plan::to_mermaid(plan),
    })
}

pub fn images(env: &Path, output: OutputFormat) -> anyhow::Result<i32> {
    let planned = match pipeline::plan_or_exit(env) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    report(&planned.warnings);
    let mut images: std::collections::BTreeSet<String> = govdeploy_plan::image_list(&planned.plan)
        .into_iter()
        .collect();
    // What the renderer adds (config delivery: git-sync or config images) is part of the list;
    // secrets are not needed to know it.
    let input = govdeploy_render::RenderInput {
        plan: &planned.plan,
        catalog: &planned.catalog,
        environment: &planned.loaded.env,
        secrets: None,
        plaintext_secrets: false,
    };
    match govdeploy_render::render(input) {
        Ok(rendered) => images.extend(rendered.extra_images),
        Err(diagnostics) => {
            report(&diagnostics);
            eprintln!("note: the list above the render errors holds the plan's images only");
        }
    }
    let images: Vec<String> = images.into_iter().collect();
    let text = match output {
        OutputFormat::Text => images.join("\n"),
        OutputFormat::Json => serde_json::to_string_pretty(&images).unwrap_or_default(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    Ok(exit::OK)
}
