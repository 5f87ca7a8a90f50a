//! Helpers for the unit tests of the checks: one environment file, merged as `env.yaml`.

#![allow(clippy::unwrap_used, reason = "tests")]

use govdeploy_yaml::{Diagnostic, Node, parse_single};

use crate::SourceMap;
use crate::merge::{Layer, merge_layers};

/// The merged tree and source map of a single file named `env.yaml`.
pub fn single_file(text: &str) -> (Node, SourceMap) {
    let root = parse_single(text).unwrap();
    let (tree, origin) = merge_layers([Layer { file: 0, root }]).unwrap();
    let sources = SourceMap::new(tree.clone(), origin, vec!["env.yaml".into()]);
    (tree, sources)
}

/// `line:col CODE` of each diagnostic, for compact assertions.
pub fn summary(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            let l = d.location.as_ref().unwrap();
            format!("{}:{} {}", l.line, l.col, d.code)
        })
        .collect()
}
