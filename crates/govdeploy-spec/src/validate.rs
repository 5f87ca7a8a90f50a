//! Validation of the merged located tree against the JSON Schema of the environment file.
//!
//! A small walker follows the schema (`$ref`/`$defs`, `properties`, `additionalProperties`,
//! `propertyNames`, `required`, `type`, `enum`/`const`, `oneOf`/`anyOf`, `items`,
//! `minItems`, `minLength`, `minimum`/`maximum`, integer `format`s and the known `pattern`s)
//! over the located tree rather than over plain JSON, so every problem is reported at its
//! exact file:line:col, and all of them are collected.
//!
//! A string that still holds a `<placeholder>` is not checked further here: the placeholder is
//! the problem, reported once by [`crate::checks`].

use govdeploy_yaml::{Diagnostic, Node, Value, did_you_mean};
use serde_json::{Map, Value as Json};

use crate::checks::placeholders;
use crate::codes;
use crate::model::{CONFIG_MAP_KEY_MAX_LEN, CONFIG_MAP_KEY_PATTERN, is_config_map_key};
use crate::quantity::Quantity;
use crate::sources::{SourceMap, display_path};

/// Every `pattern` the schema may carry, each checked here by code that agrees with it.
pub const KNOWN_PATTERNS: &[&str] = &[Quantity::PATTERN, CONFIG_MAP_KEY_PATTERN];

/// Checks the merged tree against the environment file's schema.
pub fn validate(tree: &Node, sources: &SourceMap) -> Vec<Diagnostic> {
    validate_against(crate::schema::schema_value(), tree, sources)
}

/// Checks a tree against any schema of the shape schemars generates.
pub fn validate_against(schema: &Json, tree: &Node, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut walker = Walker {
        root: schema,
        sources,
        diags: Vec::new(),
    };
    walker.check(schema, tree, &mut Vec::new());
    walker.diags
}

/// Most `$ref` hops followed without reaching a schema that is not a reference.
const MAX_REF_HOPS: usize = 32;

struct Walker<'a> {
    root: &'a Json,
    sources: &'a SourceMap,
    diags: Vec<Diagnostic>,
}

impl<'a> Walker<'a> {
    fn check(&mut self, schema: &'a Json, node: &Node, path: &mut Vec<String>) {
        let Some(obj) = self.resolve(schema) else {
            return;
        };
        if let Value::String(s) = &node.value
            && !placeholders(s).is_empty()
        {
            return;
        }
        if let Some(branches) = obj
            .get("anyOf")
            .or_else(|| obj.get("oneOf"))
            .and_then(Json::as_array)
        {
            self.check_branches(branches, node, path);
            return;
        }
        let allowed = allowed_values(obj);
        if !allowed.is_empty() {
            self.check_enum(&allowed, node, path);
            return;
        }
        if let Some(types) = obj.get("type")
            && !type_matches(types, node)
        {
            self.type_error(obj, node, path);
            return;
        }
        if let Some(pattern) = obj.get("pattern").and_then(Json::as_str) {
            self.check_pattern(pattern, node, path);
        }
        match &node.value {
            Value::Int(i) => self.check_range(obj, *i, path),
            Value::Map(entries) => self.check_map(obj, entries, path),
            Value::String(s) => self.check_min_length(obj, s, path),
            Value::Seq(items) => {
                self.check_min_items(obj, items.len(), path);
                if let Some(item_schema) = obj.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        path.push(index.to_string());
                        self.check(item_schema, item, path);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }

    /// Follows `$ref`s to the schema object that says something.
    fn resolve(&self, schema: &'a Json) -> Option<&'a Map<String, Json>> {
        let mut current = schema;
        for _ in 0..MAX_REF_HOPS {
            let obj = current.as_object()?;
            match obj.get("$ref").and_then(Json::as_str) {
                Some(reference) => current = self.lookup(reference)?,
                None => return Some(obj),
            }
        }
        None
    }

    /// Resolves a local reference (`#/$defs/Name`, or any `#/...` JSON pointer).
    fn lookup(&self, reference: &str) -> Option<&'a Json> {
        let pointer = reference.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    fn check_branches(&mut self, branches: &'a [Json], node: &Node, path: &mut Vec<String>) {
        let resolved: Vec<&'a Map<String, Json>> =
            branches.iter().filter_map(|b| self.resolve(b)).collect();
        // A choice between constant strings is an enumeration (how schemars writes documented
        // enum variants).
        let mut allowed = Vec::new();
        let all_constants = resolved.iter().all(|b| {
            let values = allowed_values(b);
            allowed.extend(values.iter().cloned());
            !values.is_empty()
        });
        if all_constants && !resolved.is_empty() {
            self.check_enum(&allowed, node, path);
            return;
        }
        // Nulls never reach validation (a null key counts as absent), so `anyOf [X, null]` is X.
        let candidates: Vec<&'a Json> = branches
            .iter()
            .filter(|b| {
                matches!(node.value, Value::Null) || !self.resolve(b).is_some_and(only_null)
            })
            .collect();
        if let [only] = candidates.as_slice() {
            self.check(only, node, path);
            return;
        }
        let mut fallback = None;
        for branch in &candidates {
            let mut trial = Walker {
                root: self.root,
                sources: self.sources,
                diags: Vec::new(),
            };
            trial.check(branch, node, path);
            if trial.diags.is_empty() {
                return;
            }
            let type_fits = self
                .resolve(branch)
                .and_then(|o| o.get("type"))
                .is_none_or(|t| type_matches(t, node));
            if type_fits && fallback.is_none() {
                fallback = Some(trial.diags);
            }
        }
        match fallback {
            Some(diags) => self.diags.extend(diags),
            None => {
                let types: Vec<Json> = candidates
                    .iter()
                    .filter_map(|b| self.resolve(b).and_then(|o| o.get("type")))
                    .flat_map(|t| match t {
                        Json::Array(list) => list.clone(),
                        other => vec![other.clone()],
                    })
                    .collect();
                self.report_type(&Json::Array(types), None, node, path);
            }
        }
    }

    fn type_error(&mut self, obj: &Map<String, Json>, node: &Node, path: &[String]) {
        let Some(types) = obj.get("type") else {
            return;
        };
        let is_quantity = obj.get("pattern").and_then(Json::as_str) == Some(Quantity::PATTERN);
        self.report_type(
            types,
            is_quantity.then_some("a Kubernetes quantity"),
            node,
            path,
        );
    }

    fn report_type(&mut self, types: &Json, what: Option<&str>, node: &Node, path: &[String]) {
        let names: Vec<&str> = match types {
            Json::Array(list) => list.iter().filter_map(Json::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        let expected = what.map(str::to_string).unwrap_or_else(|| {
            let mut described: Vec<&str> = names.iter().map(|t| describe_type(t)).collect();
            described.dedup();
            described.join(" or ")
        });
        let found = describe_node(node);
        let hint = type_hint(&names, node, path);
        let d = Diagnostic::error(
            codes::TYPE,
            format!("`{}` must be {expected}, found {found}", display_path(path)),
        )
        .at(self.sources.locate(&as_strs(path)))
        .hint(hint);
        self.diags.push(d);
    }

    /// A value that must be one of a few strings. A number or boolean there is reported as a
    /// value outside the set (it is one), a list or mapping as the wrong type.
    fn check_enum(&mut self, allowed: &[String], node: &Node, path: &[String]) {
        let list = allowed.join(", ");
        let Some(text) = node.scalar_text() else {
            let d = Diagnostic::error(
                codes::TYPE,
                format!(
                    "`{}` must be one of {list}, found {}",
                    display_path(path),
                    describe_node(node)
                ),
            )
            .at(self.sources.locate(&as_strs(path)))
            .hint(format!("write one of the allowed values: {list}"));
            self.diags.push(d);
            return;
        };
        if matches!(node.value, Value::String(_)) && allowed.contains(&text) {
            return;
        }
        let hint = match did_you_mean(&text, allowed.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`? allowed values: {list}"),
            None => format!("allowed values: {list}"),
        };
        let d = Diagnostic::error(
            codes::ENUM,
            format!("`{}`: `{text}` is not an allowed value", display_path(path)),
        )
        .at(self.sources.locate(&as_strs(path)))
        .hint(hint);
        self.diags.push(d);
    }

    fn check_pattern(&mut self, pattern: &str, node: &Node, path: &[String]) {
        // Patterns are checked by code that agrees with them; the schema carries them for
        // editors. A test makes sure every pattern in the schema is known here.
        if pattern == Quantity::PATTERN {
            let Some(text) = node.scalar_text() else {
                return;
            };
            if Quantity(text.clone()).milli_units().is_err() {
                let d = Diagnostic::error(
                    codes::QUANTITY,
                    format!(
                        "`{}`: `{text}` is not a Kubernetes quantity",
                        display_path(path)
                    ),
                )
                .at(self.sources.locate(&as_strs(path)))
                .hint(quantity_hint(path));
                self.diags.push(d);
            }
        }
    }

    /// `minLength`; a blank string counts as empty (a path or name of spaces is a mistake).
    fn check_min_length(&mut self, obj: &Map<String, Json>, value: &str, path: &[String]) {
        let Some(min) = obj.get("minLength").and_then(Json::as_u64) else {
            return;
        };
        let length = value.chars().count() as u64;
        if length >= min && !value.trim().is_empty() {
            return;
        }
        let key = last_key(path);
        let (message, hint) = if value.trim().is_empty() {
            let description = self.describe_place(path);
            (
                format!("`{}` is empty", display_path(path)),
                format!("write a value for `{key}`{description}, or remove the key"),
            )
        } else {
            (
                format!(
                    "`{}` must be at least {min} characters long, found {length}",
                    display_path(path)
                ),
                format!("write a longer value for `{key}`"),
            )
        };
        let d = Diagnostic::error(codes::EMPTY, message)
            .at(self.sources.locate(&as_strs(path)))
            .hint(hint);
        self.diags.push(d);
    }

    /// `minItems`.
    fn check_min_items(&mut self, obj: &Map<String, Json>, count: usize, path: &[String]) {
        let Some(min) = obj.get("minItems").and_then(Json::as_u64) else {
            return;
        };
        if count as u64 >= min {
            return;
        }
        let key = last_key(path);
        let description = self.describe_place(path);
        let message = if count == 0 {
            format!("`{}` is an empty list", display_path(path))
        } else {
            format!(
                "`{}` needs at least {min} items, found {count}",
                display_path(path)
            )
        };
        let d = Diagnostic::error(codes::EMPTY, message)
            .at(self.sources.locate(&as_strs(path)))
            .hint(format!(
                "list at least {min} item(s) under `{key}`{description}"
            ));
        self.diags.push(d);
    }

    /// ": <first sentence of the description>" of the property at `path`, or nothing.
    fn describe_place(&self, path: &[String]) -> String {
        let mut schema = self.root;
        for segment in path {
            let Some(next) = self.child_schema(schema, segment) else {
                return String::new();
            };
            schema = next;
        }
        if path.is_empty() {
            return String::new();
        }
        self.description(schema)
            .map(|d| format!(" ({})", d.trim_end_matches('.')))
            .unwrap_or_default()
    }

    /// The schema of `segment` (a key or a list index) below `schema`, following `$ref`s and
    /// the only non-null branch of an `anyOf`.
    fn child_schema(&self, schema: &'a Json, segment: &str) -> Option<&'a Json> {
        let mut obj = self.resolve(schema)?;
        if let Some(branches) = obj
            .get("anyOf")
            .or_else(|| obj.get("oneOf"))
            .and_then(Json::as_array)
        {
            let mut non_null = branches
                .iter()
                .filter(|b| !self.resolve(b).is_some_and(only_null));
            obj = self.resolve(non_null.next()?)?;
        }
        if segment.parse::<usize>().is_ok()
            && let Some(items) = obj.get("items")
        {
            return Some(items);
        }
        obj.get("properties")
            .and_then(|p| p.get(segment))
            .or_else(|| obj.get("additionalProperties").filter(|a| a.is_object()))
    }

    /// `propertyNames`: every key of the mapping at `path` must match its pattern.
    fn check_property_names(
        &mut self,
        obj: &Map<String, Json>,
        entries: &[(govdeploy_yaml::Key, Node)],
        path: &[String],
    ) {
        let Some(names) = obj.get("propertyNames").and_then(|n| self.resolve(n)) else {
            return;
        };
        let Some(pattern) = names.get("pattern").and_then(Json::as_str) else {
            return;
        };
        for (key, _) in entries {
            if !placeholders(&key.name).is_empty() {
                continue;
            }
            if pattern == CONFIG_MAP_KEY_PATTERN && !is_config_map_key(&key.name) {
                let fixed: String = key
                    .name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                            c
                        } else {
                            '-'
                        }
                    })
                    .take(CONFIG_MAP_KEY_MAX_LEN)
                    .collect();
                let mut hint = format!(
                    "a ConfigMap key is 1 to {CONFIG_MAP_KEY_MAX_LEN} letters, digits, '-', '_' and '.'"
                );
                if fixed != key.name && is_config_map_key(&fixed) {
                    hint.push_str(&format!(", e.g. `{fixed}`"));
                }
                let d = Diagnostic::error(
                    codes::CONFIG_KEY,
                    format!(
                        "`{}`: `{}` is not a valid ConfigMap key",
                        display_path(path),
                        key.name
                    ),
                )
                .at(self.sources.locate_key(&as_strs(path), &key.name))
                .hint(hint);
                self.diags.push(d);
            }
        }
    }

    fn check_range(&mut self, obj: &Map<String, Json>, value: i64, path: &[String]) {
        let (mut min, mut max) = format_bounds(obj.get("format").and_then(Json::as_str));
        if let Some(m) = obj.get("minimum").and_then(Json::as_f64) {
            min = Some(min.map_or(m, |x: f64| x.max(m)));
        }
        if let Some(m) = obj.get("maximum").and_then(Json::as_f64) {
            max = Some(max.map_or(m, |x: f64| x.min(m)));
        }
        let v = value as f64;
        let (problem, hint) = match (min, max) {
            (Some(lo), _) if v < lo => (
                format!("must be at least {lo}, found {value}"),
                range_hint(min, max),
            ),
            (_, Some(hi)) if v > hi => (
                format!("must be at most {hi}, found {value}"),
                range_hint(min, max),
            ),
            _ => return,
        };
        let d = Diagnostic::error(codes::RANGE, format!("`{}` {problem}", display_path(path)))
            .at(self.sources.locate(&as_strs(path)))
            .hint(hint);
        self.diags.push(d);
    }

    fn check_map(
        &mut self,
        obj: &'a Map<String, Json>,
        entries: &[(govdeploy_yaml::Key, Node)],
        path: &mut Vec<String>,
    ) {
        self.check_property_names(obj, entries, path);
        let properties = obj.get("properties").and_then(Json::as_object);
        let additional = obj.get("additionalProperties");
        for (key, value) in entries {
            let property = properties.and_then(|p| p.get(&key.name));
            match (property, additional) {
                (Some(schema), _) => {
                    path.push(key.name.clone());
                    self.check(schema, value, path);
                    path.pop();
                }
                (None, Some(Json::Bool(false))) => self.unknown_key(properties, &key.name, path),
                (None, Some(schema)) if schema.is_object() => {
                    path.push(key.name.clone());
                    self.check(schema, value, path);
                    path.pop();
                }
                (None, _) => {}
            }
        }
        let required = obj.get("required").and_then(Json::as_array);
        for name in required.into_iter().flatten().filter_map(Json::as_str) {
            if entries.iter().any(|(k, _)| k.name == name) {
                continue;
            }
            let description = properties
                .and_then(|p| p.get(name))
                .and_then(|s| self.description(s))
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let place = if path.is_empty() {
                "the file".to_string()
            } else {
                format!("`{}`", display_path(path))
            };
            let d = Diagnostic::error(
                codes::MISSING,
                format!("{place} is missing the required key `{name}`"),
            )
            .at(self.sources.locate_entry(&as_strs(path)))
            .hint(format!("add `{name}`{description}"));
            self.diags.push(d);
        }
    }

    fn unknown_key(&mut self, properties: Option<&Map<String, Json>>, name: &str, path: &[String]) {
        let allowed: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let place = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", display_path(path))
        };
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let hint = match (
            did_you_mean(name, allowed.iter().copied()),
            allowed.is_empty(),
        ) {
            (_, true) => "remove it: no keys are allowed here".to_string(),
            (Some(s), false) => format!("did you mean `{s}`? allowed here: {list}"),
            (None, false) => format!("remove it, or use one of: {list}"),
        };
        let d = Diagnostic::error(codes::UNKNOWN_KEY, format!("unknown key `{name}` {place}"))
            .at(self.sources.locate_key(&as_strs(path), name))
            .hint(hint);
        self.diags.push(d);
    }

    /// The first sentence of a schema's description (or of the schema it refers to).
    fn description(&self, schema: &'a Json) -> Option<String> {
        let text = schema
            .get("description")
            .and_then(Json::as_str)
            .or_else(|| self.resolve(schema)?.get("description")?.as_str())?;
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(match flat.find(". ") {
            Some(end) => flat[..=end].to_string(),
            None => flat,
        })
    }
}

/// The last key of a path (skipping list indices), for hints: `ports` in `...rules[0].ports`.
fn last_key(path: &[String]) -> &str {
    path.iter()
        .rev()
        .find(|s| s.parse::<usize>().is_err())
        .map_or("key", String::as_str)
}

fn as_strs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

/// The constant strings a schema allows (`enum` or `const`), or none.
fn allowed_values(obj: &Map<String, Json>) -> Vec<String> {
    let mut values = Vec::new();
    if let Some(list) = obj.get("enum").and_then(Json::as_array) {
        values.extend(list.iter().filter_map(Json::as_str).map(str::to_string));
    }
    if let Some(c) = obj.get("const").and_then(Json::as_str) {
        values.push(c.to_string());
    }
    values
}

fn only_null(obj: &Map<String, Json>) -> bool {
    obj.get("type").and_then(Json::as_str) == Some("null")
}

fn type_matches(types: &Json, node: &Node) -> bool {
    match types {
        Json::String(t) => one_type_matches(t, node),
        Json::Array(list) => list
            .iter()
            .filter_map(Json::as_str)
            .any(|t| one_type_matches(t, node)),
        _ => true,
    }
}

fn one_type_matches(t: &str, node: &Node) -> bool {
    matches!(
        (t, &node.value),
        ("object", Value::Map(_))
            | ("array", Value::Seq(_))
            | ("string", Value::String(_))
            | ("integer", Value::Int(_))
            | ("number", Value::Int(_) | Value::Float(_))
            | ("boolean", Value::Bool(_))
            | ("null", Value::Null)
    )
}

fn describe_type(t: &str) -> &'static str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "empty",
        _ => "a value of another type",
    }
}

fn describe_node(node: &Node) -> String {
    match &node.value {
        Value::Null => "nothing (null)".to_string(),
        Value::Map(_) => "a mapping".to_string(),
        Value::Seq(_) => "a list".to_string(),
        Value::String(s) => format!("the string `{}`", shorten(s)),
        Value::Int(i) => format!("the number {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Bool(b) => format!("`{b}`"),
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    let flat = s.replace('\n', "\\n");
    if flat.chars().count() > MAX {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut}...")
    } else {
        flat
    }
}

fn type_hint(expected: &[&str], node: &Node, path: &[String]) -> String {
    let key = path
        .iter()
        .rev()
        .find(|s| s.parse::<usize>().is_err())
        .map_or("key", String::as_str);
    if expected.contains(&"string") && expected.contains(&"number") {
        return quantity_hint(path);
    }
    match expected.first().copied() {
        Some("array") => match &node.value {
            Value::String(s) => {
                format!("write a list: `{key}: [{s}]`, or one `- item` per line under `{key}:`")
            }
            _ => format!("write a list: `{key}: [a, b]`, or one `- item` per line under `{key}:`"),
        },
        Some("object") => format!("write a mapping: indented `name: value` lines under `{key}:`"),
        Some("string") => match &node.value {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                let text = node.scalar_text().unwrap_or_default();
                format!("quote the value to make it a string: `{key}: \"{text}\"`")
            }
            _ => format!("write a single text value: `{key}: value`"),
        },
        Some("integer") => match &node.value {
            Value::String(s) if s.trim().parse::<i64>().is_ok() => {
                format!("remove the quotes: `{key}: {}`", s.trim())
            }
            _ => format!("write a whole number, e.g. `{key}: 2`"),
        },
        Some("number") => format!("write a number, e.g. `{key}: 2`"),
        Some("boolean") => format!("write `{key}: true` or `{key}: false`"),
        _ => "see `govdeploy schema` for the expected shape".to_string(),
    }
}

fn quantity_hint(path: &[String]) -> String {
    let cpu = path.last().is_some_and(|k| k == "cpu");
    if cpu {
        "write CPU as cores or millicores, e.g. `2`, `0.5` or `250m`".to_string()
    } else {
        "write a number with an optional unit, e.g. `512Mi`, `1Gi` or `1.5Gi` (binary units Ki, Mi, Gi, Ti)"
            .to_string()
    }
}

/// The range an integer `format` (as schemars writes it) allows.
fn format_bounds(format: Option<&str>) -> (Option<f64>, Option<f64>) {
    match format {
        Some("uint8") => (Some(0.0), Some(f64::from(u8::MAX))),
        Some("uint16") => (Some(0.0), Some(f64::from(u16::MAX))),
        Some("uint32") => (Some(0.0), Some(f64::from(u32::MAX))),
        Some("uint64" | "uint") => (Some(0.0), None),
        Some("int8") => (Some(f64::from(i8::MIN)), Some(f64::from(i8::MAX))),
        Some("int16") => (Some(f64::from(i16::MIN)), Some(f64::from(i16::MAX))),
        Some("int32") => (Some(f64::from(i32::MIN)), Some(f64::from(i32::MAX))),
        _ => (None, None),
    }
}

fn range_hint(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("use a whole number from {lo} to {hi}"),
        (Some(lo), None) => format!("use a whole number of at least {lo}"),
        (None, Some(hi)) => format!("use a whole number of at most {hi}"),
        (None, None) => "use a whole number".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::test_support::single_file;

    fn run(text: &str) -> Vec<Diagnostic> {
        let (tree, sources) = single_file(text);
        validate(&tree, &sources)
    }

    fn codes_at(diags: &[Diagnostic]) -> Vec<(String, &'static str)> {
        diags
            .iter()
            .map(|d| {
                let at = d
                    .location
                    .as_ref()
                    .map(|l| format!("{}:{}", l.line, l.col))
                    .unwrap_or_default();
                (at, d.code)
            })
            .collect()
    }

    const VALID: &str = "apiVersion: govdeploy.io/v1\nkind: Environment\nmetadata:\n  name: dev\nspec:\n  release: r\n  modules: [m_pgr]\n  domain: d.example.org\n";

    #[test]
    fn a_valid_document_passes() {
        assert!(run(VALID).is_empty(), "{:?}", run(VALID));
    }

    #[test]
    fn every_schema_pattern_is_known() {
        fn collect<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
            match v {
                Json::Object(map) => {
                    if let Some(p) = map.get("pattern").and_then(Json::as_str) {
                        out.push(p);
                    }
                    map.values().for_each(|x| collect(x, out));
                }
                Json::Array(list) => list.iter().for_each(|x| collect(x, out)),
                _ => {}
            }
        }
        let mut patterns = Vec::new();
        collect(crate::schema::schema_value(), &mut patterns);
        assert!(!patterns.is_empty());
        assert!(
            patterns.iter().all(|p| KNOWN_PATTERNS.contains(p)),
            "{patterns:?}"
        );
        assert!(patterns.contains(&CONFIG_MAP_KEY_PATTERN));
    }

    #[test]
    fn unknown_keys_with_suggestions() {
        let text =
            format!("{VALID}  components:\n    egov-user: {{replicsa: 2}}\n  profiel: dev\n");
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("10:17".into(), codes::UNKNOWN_KEY),
                ("11:3".into(), codes::UNKNOWN_KEY)
            ]
        );
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `replicas`?")
        );
        assert!(
            diags[1]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `profile`?")
        );
        assert_eq!(
            diags[0].message,
            "unknown key `replicsa` in `spec.components.egov-user`"
        );
    }

    #[test]
    fn wrong_types_are_reported_with_a_fix() {
        let text = VALID.replace("modules: [m_pgr]", "modules: m_pgr")
            + "  components:\n    x: {replicas: \"2\", env: {PORT: 8080}}\n";
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("7:12".into(), codes::TYPE),
                ("10:19".into(), codes::TYPE),
                ("10:36".into(), codes::TYPE)
            ]
        );
        assert_eq!(
            diags[0].message,
            "`spec.modules` must be a list, found the string `m_pgr`"
        );
        assert!(diags[0].hint.as_deref().unwrap().contains("[m_pgr]"));
        assert!(
            diags[1]
                .hint
                .as_deref()
                .unwrap()
                .contains("remove the quotes")
        );
        assert!(diags[2].hint.as_deref().unwrap().contains("\"8080\""));
    }

    #[test]
    fn missing_required_keys_point_at_their_mapping() {
        let text = VALID.replace("  release: r\n", "");
        let diags = run(&text);
        assert_eq!(codes_at(&diags), [("5:1".into(), codes::MISSING)]);
        assert_eq!(
            diags[0].message,
            "`spec` is missing the required key `release`"
        );
        assert!(diags[0].hint.as_deref().unwrap().contains("Release key"));
        let diags = run("kind: Environment\n");
        assert_eq!(diags.len(), 3);
        assert!(diags.iter().all(|d| d.code == codes::MISSING));
    }

    #[test]
    fn enums_list_their_values() {
        let text = format!(
            "{VALID}  profile: production\n  backbone:\n    postgres: {{mode: externel}}\n    mysql: {{}}\n"
        );
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("9:12".into(), codes::ENUM),
                ("11:22".into(), codes::ENUM),
                ("12:5".into(), codes::UNKNOWN_KEY)
            ]
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("did you mean `prod`? allowed values: quickstart, dev, uat, prod")
        );
        assert_eq!(
            diags[1].hint.as_deref(),
            Some("did you mean `external`? allowed values: in-cluster, external")
        );
        assert!(diags[2].hint.as_deref().unwrap().contains("`postgres`"));
    }

    #[test]
    fn enums_take_no_other_types() {
        let text = format!("{VALID}  profile: 3\n  backbone:\n    redis: {{mode: [external]}}\n");
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [("9:12".into(), codes::ENUM), ("11:19".into(), codes::TYPE)]
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("allowed values: quickstart, dev, uat, prod")
        );
        assert_eq!(
            diags[1].message,
            "`spec.backbone.redis.mode` must be one of in-cluster, external, found a list"
        );
    }

    #[test]
    fn quantities_and_ranges() {
        let text = format!(
            "{VALID}  cluster:\n    nodes:\n      - {{name: a, count: 0, cpu: 4, memory: 16 Gi}}\n  backbone:\n    redis: {{port: 70000}}\n  components:\n    x: {{cpu: 250m, memory: 5l2Mi, heap: [1]}}\n"
        );
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("11:26".into(), codes::RANGE),
                ("11:45".into(), codes::QUANTITY),
                ("13:19".into(), codes::RANGE),
                ("15:28".into(), codes::QUANTITY),
                ("15:41".into(), codes::TYPE),
            ]
        );
        assert_eq!(
            diags[0].message,
            "`spec.cluster.nodes[0].count` must be at least 1, found 0"
        );
        assert_eq!(
            diags[4].message,
            "`spec.components.x.heap` must be a Kubernetes quantity, found a list"
        );
    }

    #[test]
    fn placeholders_are_left_to_their_own_check() {
        let text = VALID.replace("domain: d.example.org", "domain: <domain_name>")
            + "  profile: <profile>\n  components:\n    x: {replicas: <n>}\n";
        assert!(run(&text).is_empty());
    }

    #[test]
    fn new_keys_in_a_valid_document_pass() {
        let text = format!(
            "{VALID}  configSources:\n    mdms-data:\n      git: {{repo: \"https://x.org/r.git\", revision: v1.0, sshKeySecret: deploy-key}}\n    configs: {{image: \"x/y:v1\"}}\n  network:\n    egress:\n      pgr-services:\n        - {{to: 203.0.113.10/32, ports: [443, 65535]}}\n  secrets: {{file: secrets.yaml}}\n  sharedConfig:\n    egov-state-level-tenant-id: pb\n    timezone: Asia/Kolkata\n    a.b_C-9: x\n"
        );
        assert!(run(&text).is_empty(), "{:?}", run(&text));
    }

    #[test]
    fn config_source_kinds_are_an_enum_of_keys() {
        let text = format!(
            "{VALID}  configSources:\n    mdms:\n      image: x/y:v1\n    configs:\n      imgae: x/y:v1\n"
        );
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("10:5".into(), codes::UNKNOWN_KEY),
                ("13:7".into(), codes::UNKNOWN_KEY)
            ]
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("did you mean `mdms-data`? allowed here: `configs`, `mdms-data`, `other`")
        );
        assert!(
            diags[1]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `image`?"),
            "{:?}",
            diags[1]
        );
    }

    #[test]
    fn git_sources_need_repo_and_revision() {
        let text = format!(
            "{VALID}  configSources:\n    mdms-data:\n      git: {{repo: \"\", knownHost: x}}\n"
        );
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("11:19".into(), codes::EMPTY),
                ("11:23".into(), codes::UNKNOWN_KEY),
                ("11:7".into(), codes::MISSING),
            ]
        );
        assert_eq!(
            diags[0].message,
            "`spec.configSources.mdms-data.git.repo` is empty"
        );
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("write a value for `repo` (Repository URL:"),
            "{:?}",
            diags[0].hint
        );
        assert!(
            diags[1]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `knownHosts`?")
        );
        assert_eq!(
            diags[2].message,
            "`spec.configSources.mdms-data.git` is missing the required key `revision`"
        );
        assert!(diags[2].hint.as_deref().unwrap().contains("40-character"));
    }

    #[test]
    fn egress_ports_are_checked() {
        let text = format!(
            "{VALID}  network:\n    egress:\n      pgr-services:\n        - {{to: 10.0.0.0/8, ports: []}}\n        - {{to: 10.0.0.0/8, ports: [0, 443, 70000, \"80\"]}}\n        - {{ports: [443]}}\n      sms: {{to: 10.0.0.0/8}}\n"
        );
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("12:35".into(), codes::EMPTY),
                ("13:36".into(), codes::RANGE),
                ("13:44".into(), codes::RANGE),
                ("13:51".into(), codes::TYPE),
                ("14:11".into(), codes::MISSING),
                ("15:12".into(), codes::TYPE),
            ]
        );
        assert_eq!(
            diags[0].message,
            "`spec.network.egress.pgr-services[0].ports` is an empty list"
        );
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("list at least 1 item(s) under `ports` (Destination TCP ports"),
            "{:?}",
            diags[0].hint
        );
        assert_eq!(
            diags[1].message,
            "`spec.network.egress.pgr-services[1].ports[0]` must be at least 1, found 0"
        );
        assert_eq!(
            diags[2].message,
            "`spec.network.egress.pgr-services[1].ports[2]` must be at most 65535, found 70000"
        );
        assert!(
            diags[5]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("write a list")
        );
    }

    #[test]
    fn secrets_file_must_not_be_empty() {
        let diags = run(&format!("{VALID}  secrets: {{file: \"  \"}}\n"));
        assert_eq!(codes_at(&diags), [("9:19".into(), codes::EMPTY)]);
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("(The secrets file, relative to the environment file")
        );
        let diags = run(&format!("{VALID}  secrets: {{}}\n  sharedConfig: []\n"));
        assert_eq!(
            codes_at(&diags),
            [
                ("9:3".into(), codes::MISSING),
                ("10:17".into(), codes::TYPE)
            ]
        );
    }

    #[test]
    fn shared_config_keys_follow_configmap_syntax() {
        let text = format!(
            "{VALID}  sharedConfig:\n    egov-state-level-tenant-id: pb\n    \"tenant id\": pb\n    ..: x\n    port: 8080\n    <key>: x\n    {}: x\n",
            "k".repeat(254)
        );
        let diags = run(&text);
        assert_eq!(
            codes_at(&diags),
            [
                ("11:5".into(), codes::CONFIG_KEY),
                ("12:5".into(), codes::CONFIG_KEY),
                ("15:5".into(), codes::CONFIG_KEY),
                ("13:11".into(), codes::TYPE),
            ]
        );
        assert_eq!(
            diags[0].message,
            "`spec.sharedConfig`: `tenant id` is not a valid ConfigMap key"
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("a ConfigMap key is 1 to 253 letters, digits, '-', '_' and '.', e.g. `tenant-id`")
        );
        assert!(diags[3].hint.as_deref().unwrap().contains("\"8080\""));
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let diags = run("- a\n- b\n");
        assert_eq!(codes_at(&diags), [("1:1".into(), codes::TYPE)]);
    }
}
