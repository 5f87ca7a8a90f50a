//! The catalogue: what can be deployed. Owns the component/module/release model, the built-in
//! catalogues (data committed under `catalogs/`), and the DIGIT-DevOps importer with the subset
//! of Go templates that DIGIT's values files use.
//!
//! It never renders Kubernetes objects and never touches a cluster or the network: the importer
//! reads a directory tree and returns data plus a drift report.

pub mod gotemplate;
pub mod import;
pub mod model;
mod native;
pub mod store;

pub use model::*;
pub use store::{BUILTIN, CatalogError};
