//! Reading and writing catalogues as YAML, and the built-in catalogues compiled into the binary.

use std::path::Path;

use crate::model::{CATALOG_API_VERSION, Catalog};

const BUILTIN_DIGIT: &str = include_str!("../catalogs/digit.yaml");

/// Names of the catalogues compiled into the binary.
pub const BUILTIN: &[&str] = &["digit"];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{origin}: invalid catalogue: {message}")]
    Parse { origin: String, message: String },
    #[error(
        "{origin}: unsupported catalogue apiVersion `{found}` (expected {CATALOG_API_VERSION})"
    )]
    ApiVersion { origin: String, found: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown catalogue `{name}`: built-in catalogues are {}; or give a path to a catalogue file", BUILTIN.join(", "))]
    Unknown { name: String },
}

pub fn from_yaml(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
    let catalog: Catalog = serde_saphyr::from_str(text).map_err(|e| CatalogError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    if catalog.api_version != CATALOG_API_VERSION {
        return Err(CatalogError::ApiVersion {
            origin: origin.to_string(),
            found: catalog.api_version,
        });
    }
    Ok(catalog)
}

/// Normalised YAML: the same catalogue always gives the same bytes.
pub fn to_yaml(catalog: &Catalog) -> Result<String, CatalogError> {
    let body = serde_saphyr::to_string(catalog).map_err(|e| CatalogError::Parse {
        origin: catalog.name.clone(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "# govdeploy catalogue `{}`: generated data, do not edit by hand (see provenance).\n{body}",
        catalog.name
    ))
}

/// A built-in catalogue by name, or a catalogue file when `name_or_path` is a path.
pub fn load(name_or_path: &str, base_dir: &Path) -> Result<Catalog, CatalogError> {
    if name_or_path == "digit" {
        return from_yaml(BUILTIN_DIGIT, "built-in catalogue `digit`");
    }
    let looks_like_path = name_or_path.contains('/')
        || name_or_path.ends_with(".yaml")
        || name_or_path.ends_with(".yml");
    if !looks_like_path {
        return Err(CatalogError::Unknown {
            name: name_or_path.to_string(),
        });
    }
    let path = base_dir.join(name_or_path);
    let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Io {
        path: path.display().to_string(),
        source,
    })?;
    from_yaml(&text, &path.display().to_string())
}
