//! Located YAML: parses YAML text into a tree whose every node and mapping key remembers its
//! line and column, so that later stages can point at the exact place of a problem.
//!
//! It also holds the [`Diagnostic`] type every stage reports problems with.
//!
//! It owns parsing, positions and diagnostics only; it never interprets what the documents mean.
//!
//! Built on `saphyr-parser` (the maintained successor of `yaml-rust`) because its event stream
//! carries spans and scalar styles: we need both (quoted `"8080"` is a string, plain `8080` a
//! number) and we must detect duplicate keys, which map-based YAML libraries silently merge.
//! Scalars are resolved with the YAML 1.2 core schema, plus the YAML 1.1 booleans
//! (`yes`/`no`/`on`/`off`) that Helm's parser still accepts, so values files read as Helm reads them.

pub mod diag;
mod node;
mod parse;

pub use diag::{Diagnostic, Diagnostics, Location, Severity, did_you_mean};
pub use node::{Key, Node, Pos, Value};
pub use parse::{YamlError, parse_documents, parse_single, parse_single_lenient};
