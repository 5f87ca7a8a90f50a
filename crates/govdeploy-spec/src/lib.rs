//! The environment file: its schema (`apiVersion: govdeploy.io/v1`, `kind: Environment`),
//! layering of a base file under an environment file, JSON Schema export, and validation that
//! reports every problem at once with file:line:col and a hint.
//!
//! It never reads a catalogue, touches a cluster or the network: checks that need the
//! catalogue (unknown modules or components) belong to the plan stage, which uses the
//! [`SourceMap`] kept here to point at the offending line.

pub mod checks;
pub mod cidr;
pub mod codes;
pub mod config_source;
pub mod digit_env;
pub mod load;
pub mod merge;
pub mod model;
pub mod network;
pub mod quantity;
pub mod schema;
pub mod sources;
#[cfg(test)]
mod test_support;
pub mod validate;

pub use cidr::{Cidr, CidrError};
pub use load::{
    DigitServiceOverride, Invalid, LoadedEnvironment, SourceMap, load, load_keeping_sources,
};
pub use model::*;
pub use quantity::{Quantity, QuantityError};
pub use schema::json_schema;
