//! The catalogue: what can be deployed. Owns the component/module/release model, the built-in
//! catalogues (data committed under `catalogs/`), and the DIGIT-DevOps importer with the subset
//! of Go templates that DIGIT's values files use.
//!
//! It never renders Kubernetes objects and never touches a cluster or the network: the importer
//! reads a directory tree and returns data plus a drift report.
//!
//! Catalogues are (de)serialised with `serde-saphyr`, a maintained serde layer over the
//! `saphyr` YAML parser (`serde_yaml` is deprecated and its forks are thinly maintained);
//! chart values are read through `govdeploy-yaml` instead, because the importer needs
//! positions and Helm's tolerance of duplicated keys.

pub mod gotemplate;
pub mod import;
pub mod model;
mod native;
pub mod store;

pub use model::*;
pub use store::{BUILTIN, CatalogError};
