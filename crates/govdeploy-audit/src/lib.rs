//! The deployment checklist (DESIGN.md section 1) as an offline auditor for any Kubernetes
//! manifests, ours or third-party: per-object rules, cross-resource rules through a
//! namespace-aware index, profiles and a config file that extends them, waivers by annotation,
//! and text / JSON / SARIF 2.1.0 reports.
//!
//! It owns parsing manifests with positions, the rule catalogue, the index and the reports. It
//! never reads files, talks to a cluster or changes a manifest: the caller hands it the texts and
//! today's date (for waiver expiry), and gets findings back.
//!
//! Parsing goes through `govdeploy-yaml` (saphyr-parser events) because every node keeps its
//! line: findings point at the offending field, not only at the object. A stream is split into
//! documents before parsing so that one malformed document is reported with its place and the
//! others are still audited.

mod audit;
mod checks;
mod config;
mod date;
mod index;
mod output;
mod rules;
mod selector;
mod source;
mod waiver;
mod workload;

pub use audit::{Finding, Report, Waived, audit};
pub use config::{Config, ConfigError, Profile};
pub use date::Date;
pub use output::{json, sarif, text};
pub use rules::{RULES, RuleDef, Severity, rule};
pub use source::{InputError, Object, Parsed, Skipped, Source, parse_sources};
