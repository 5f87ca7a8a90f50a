//! `govdeploy catalog import-digit` and `govdeploy catalog show`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use govdeploy_catalog::import::{ImportOptions, import_digit as import};

use crate::exit;

/// Writes a file atomically: a reader never sees a half-written catalogue.
pub(crate) fn write_atomic(path: &Path, contents: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

pub fn import_digit(
    checkout: &Path,
    output: &Path,
    name: String,
    env_file: Option<PathBuf>,
    commit: Option<String>,
    source: Option<String>,
) -> anyhow::Result<i32> {
    let options = ImportOptions {
        name: name.clone(),
        env_file,
        commit,
        source,
    };
    let (catalog, report) = match import(checkout, &options) {
        Ok(r) => r,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let yaml = govdeploy_catalog::store::to_yaml(&catalog)?;
    let catalog_path = output.join(format!("{name}.yaml"));
    let report_path = output.join(format!("{name}-import-report.yaml"));
    let report_yaml = serde_saphyr::to_string(&report).context("serialising the import report")?;
    write_atomic(&catalog_path, &yaml)?;
    write_atomic(&report_path, &report_yaml)?;

    println!(
        "imported {} components ({} from {} values files, {} native, {} from manifests only), {} releases, {} modules",
        report.components,
        report.imported_components,
        report.values_files,
        report.native_components,
        report.manifest_only_components,
        report.releases,
        report.modules
    );
    println!("drift: {} finding(s)", report.drift.len());
    for (kind, count) in report.drift_counts() {
        println!("  {kind}: {count}");
    }
    for d in &report.drift {
        println!("  {d}");
    }
    println!("wrote {}", catalog_path.display());
    println!("wrote {}", report_path.display());
    Ok(exit::OK)
}

pub fn show(name: &str) -> anyhow::Result<i32> {
    let catalog = match govdeploy_catalog::store::load(name, Path::new(".")) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(exit::INVALID_INPUT);
        }
    };
    println!(
        "catalogue {} ({} components, {} releases)",
        catalog.name,
        catalog.components.len(),
        catalog.releases.len()
    );
    for (key, release) in &catalog.releases {
        let products: Vec<&str> = release
            .modules
            .iter()
            .filter(|(_, m)| m.kind == govdeploy_catalog::ModuleKind::Product)
            .map(|(n, _)| n.as_str())
            .collect();
        println!(
            "  release {key} ({} {}): products {}",
            release.product,
            release.version,
            products.join(", ")
        );
    }
    Ok(exit::OK)
}
