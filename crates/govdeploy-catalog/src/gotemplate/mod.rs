//! Evaluates the subset of Go `text/template` + Helm/sprig that DIGIT-DevOps values files use
//! inside YAML string values (`env: |` blocks, probes, `resources`), producing exactly what
//! Helm's `tpl` would produce for them.
//!
//! What it owns: lexing, parsing and evaluating such a template string against a chart's merged
//! values, `.Chart.Name`, `.Release.Name`/`.Release.Namespace` and caller-supplied outputs of
//! named templates; listing the `.Values` paths a template reads.
//!
//! What it never does: I/O of any kind, or full Go template semantics. Anything outside the
//! subset below is a [`TemplateError`] of kind [`TemplateErrorKind::Unsupported`] naming the
//! construct, never a silently different output.
//!
//! Supported constructs:
//! - text and actions `{{ }}`, trim markers `{{- ` / ` -}}` (all adjacent whitespace, newlines
//!   included), comments `{{/* */}}`;
//! - pipelines `a | b` (the piped value is the last argument), parenthesised pipelines,
//!   literals: strings (`"..."` with Go escapes, raw `` `...` ``), characters, integers, floats,
//!   booleans, `nil`;
//! - `.`, `$`, field chains (`.Values.a.b`, `$.Values.a`, `$v.foo`, `(pipeline).foo`),
//!   `.Chart.Name`, `.Release.Name`, `.Release.Namespace`, `.Release.Service`;
//! - variables: `$x := ...`, `$x = ...`, `range $v := ...`, `range $k, $v := ...`;
//! - control: `if`/`else if`/`else`/`end`, `with`/`else with`/`else`/`end` (rebinds dot),
//!   `range` over lists and maps (sorted keys) with `else`, `template "name" .`;
//! - functions: `and or not eq ne lt le gt ge index len print println printf` (verbs `%s %d %v
//!   %q %%`), `default empty quote squote toYaml toJson indent nindent trim upper lower replace
//!   trimSuffix trimPrefix contains hasKey b64enc required include`.
//!
//! Helm semantics kept on purpose: values numbers are float64 (`1000000` prints `1e+06`), a
//! missing value prints as nothing (Helm strips `<no value>` from the output), missing keys read
//! through `index` are nil, `.a.b` on a missing `.a` is an error, typed sprig parameters reject
//! other types (`{{ .Values.port | upper }}` fails as in Helm).

mod ast;
mod eval;
mod format;
mod funcs;
mod json;
mod lexer;
mod parser;
mod paths;
mod value;
mod yaml;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

/// Everything a template may read.
#[derive(Debug, Clone, Copy)]
pub struct TemplateContext<'a> {
    /// The chart's merged values (`.Values`).
    pub values: &'a serde_json::Value,
    /// `.Chart.Name`
    pub chart_name: &'a str,
    /// `.Release.Name` and `.Release.Namespace`
    pub release_name: &'a str,
    pub release_namespace: &'a str,
    /// Outputs of named templates (`template "common.name" .` / `include "common.name" .`),
    /// pre-computed by the caller.
    pub named_templates: &'a BTreeMap<String, String>,
}

/// A template that could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {col}: {message} (in `{construct}`)")]
pub struct TemplateError {
    /// 1-based line of the `{{` of the offending action within the template source.
    pub line: usize,
    /// 1-based column (in characters) of that `{{`.
    pub col: usize,
    /// The offending action text, e.g. `{{ tpl .Values.x . }}`.
    pub construct: String,
    pub message: String,
    pub kind: TemplateErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The text is not a valid Go template (Helm would refuse it too).
    Syntax,
    /// Valid for Helm, but outside the subset this module evaluates.
    Unsupported,
    /// Helm would fail while rendering it with these values (e.g. `required`).
    Evaluation,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    nodes: Vec<ast::Node>,
}

/// Parses and renders `source` the way Helm's `tpl` renders a values string.
pub fn render(source: &str, ctx: &TemplateContext) -> Result<String, TemplateError> {
    parse(source)?.render(ctx)
}

/// Parses only (no evaluation): used to validate templates and to list the `.Values` paths they
/// read.
pub fn parse(source: &str) -> Result<Template, TemplateError> {
    let nodes = parser::parse(source)?;
    Ok(Template {
        source: source.to_string(),
        nodes,
    })
}

impl Template {
    /// Renders this template; see [`render`].
    pub fn render(&self, ctx: &TemplateContext) -> Result<String, TemplateError> {
        eval::render(&self.source, &self.nodes, ctx)
    }

    /// Every `.Values` path read, including through `index` with literal keys, sorted and
    /// deduplicated. Paths read relative to a `with` dot or through a variable bound to a
    /// values path are resolved; reads inside `range` bodies relative to the element are not
    /// listed (the range target itself is). An empty path means the whole `.Values` is read.
    pub fn values_paths(&self) -> Vec<Vec<String>> {
        paths::values_paths(&self.nodes)
    }

    /// The template source this was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Byte span of one action (`{{` up to and including `}}`) in the template source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// Longest construct text quoted in an error.
const MAX_CONSTRUCT_CHARS: usize = 200;

impl TemplateError {
    pub(crate) fn at(
        source: &str,
        span: Span,
        kind: TemplateErrorKind,
        message: impl Into<String>,
    ) -> Self {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        let mut construct: String = source[start..end]
            .chars()
            .take(MAX_CONSTRUCT_CHARS)
            .collect();
        if source[start..end].chars().count() > MAX_CONSTRUCT_CHARS {
            construct.push('…');
        }
        TemplateError {
            line,
            col,
            construct,
            message: message.into(),
            kind,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
