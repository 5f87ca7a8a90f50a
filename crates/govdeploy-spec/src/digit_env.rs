//! Per-service overrides honoured from a DIGIT-DevOps environment file (`spec.digitEnvFile`).
//!
//! Every top-level section whose value is a mapping, except `global` and `cluster-configs`, is
//! a chart's values override. Of it, govdeploy reads `replicas` (a number or quoted number),
//! `memory_limits` (a quantity) and `heap` (JVM options: the last `-Xmx` is the max heap). A
//! section with none of them readable adds no override. The file is third-party, so a malformed
//! or `<placeholder>` value there is a warning and the value is ignored; nothing else in the
//! file is read (placeholders elsewhere in it do not matter to govdeploy).

use std::collections::BTreeMap;
use std::path::Path;

use govdeploy_yaml::{Diagnostic, Location, Node, Pos, Value, parse_single};

use crate::checks::{placeholder_hint, placeholders};
use crate::codes;
use crate::load::DigitServiceOverride;
use crate::quantity::Quantity;

/// Sections that are not chart overrides.
const NOT_SERVICES: [&str; 2] = ["global", "cluster-configs"];

/// What reading a DIGIT env file gave.
#[derive(Debug, Default)]
pub struct DigitEnv {
    pub overrides: BTreeMap<String, DigitServiceOverride>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the file was read (it then belongs to the inputs).
    pub read: bool,
}

/// Reads the DIGIT env file at `path`; `declared_at` is where `spec.digitEnvFile` names it, the
/// place problems with the file as a whole are reported.
pub fn load_digit_env(path: &Path, declared_at: Option<Location>) -> DigitEnv {
    let mut result = DigitEnv::default();
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            result.diagnostics.push(
                Diagnostic::error(
                    codes::DIGIT_ENV,
                    format!("cannot read DIGIT env file `{}`: {e}", path.display()),
                )
                .at(declared_at)
                .hint(
                    "`spec.digitEnvFile` is relative to the file that declares it; check the path",
                ),
            );
            return result;
        }
    };
    let text = match String::from_utf8(text) {
        Ok(t) => t,
        Err(_) => {
            result.diagnostics.push(
                Diagnostic::error(
                    codes::DIGIT_ENV,
                    format!("DIGIT env file `{}` is not UTF-8 text", path.display()),
                )
                .at(declared_at)
                .hint("point `spec.digitEnvFile` at a DIGIT-DevOps `environments/<env>.yaml` file"),
            );
            return result;
        }
    };
    result.read = true;
    let root = match parse_single(&text) {
        Ok(root) => root,
        Err(e) => {
            let at = e
                .pos()
                .map_or_else(String::new, |p| format!(" at {}:{p}", path.display()));
            result.diagnostics.push(
                Diagnostic::error(
                    codes::DIGIT_ENV,
                    format!(
                        "DIGIT env file `{}` is not valid YAML{at}: {e}",
                        path.display()
                    ),
                )
                .at(declared_at)
                .hint("fix the YAML of the DIGIT env file, or remove `spec.digitEnvFile`"),
            );
            return result;
        }
    };
    let Value::Map(sections) = &root.value else {
        result.diagnostics.push(
            Diagnostic::error(
                codes::DIGIT_ENV,
                format!(
                    "DIGIT env file `{}` must be a mapping of sections, found a {}",
                    path.display(),
                    root.kind_name()
                ),
            )
            .at(declared_at)
            .hint("point `spec.digitEnvFile` at a DIGIT-DevOps `environments/<env>.yaml` file"),
        );
        return result;
    };
    let located = |pos: Pos| {
        Some(Location {
            file: path.to_path_buf(),
            line: pos.line,
            col: pos.col,
        })
    };
    for (key, section) in sections {
        if NOT_SERVICES.contains(&key.name.as_str()) || !matches!(section.value, Value::Map(_)) {
            continue;
        }
        let mut warn = |node: &Node, field: &str, what: String, hint: &str| {
            let found = node.scalar_text().map(|t| {
                placeholders(&t)
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
            });
            let d = match found {
                Some(found) if !found.is_empty() => {
                    let refs: Vec<&str> = found.iter().map(String::as_str).collect();
                    Diagnostic::warning(
                        codes::DIGIT_PLACEHOLDER,
                        format!(
                            "`{}.{field}` still holds the placeholder {}; ignored",
                            key.name,
                            refs.join(", ")
                        ),
                    )
                    .hint(placeholder_hint(&refs))
                }
                _ => Diagnostic::warning(
                    codes::DIGIT_VALUE,
                    format!("`{}.{field}`: {what}; ignored", key.name),
                )
                .hint(hint),
            };
            result.diagnostics.push(d.at(located(node.pos)));
        };
        let mut o = DigitServiceOverride {
            location: located(key.pos),
            ..DigitServiceOverride::default()
        };
        if let Some(node) = section.get("replicas") {
            match replicas(node) {
                Some(n) => o.replicas = Some(n),
                None => warn(
                    node,
                    "replicas",
                    format!("{} is not a replica count", shown(node)),
                    "write a whole number, e.g. `replicas: 2`",
                ),
            }
        }
        if let Some(node) = section.get("memory_limits") {
            match node
                .scalar_text()
                .and_then(|t| Quantity::parse(t.trim()).ok())
            {
                Some(q) => o.memory = Some(q),
                None => warn(
                    node,
                    "memory_limits",
                    format!("{} is not a Kubernetes quantity", shown(node)),
                    "write a quantity, e.g. `memory_limits: 512Mi`",
                ),
            }
        }
        if let Some(node) = section.get("heap") {
            match node.as_str().map(max_heap) {
                Some(Ok(heap)) => o.heap = heap,
                _ => warn(
                    node,
                    "heap",
                    format!("{} has no readable -Xmx", shown(node)),
                    "write JVM options with a max heap, e.g. `heap: \"-Xmx256m -Xms256m\"`",
                ),
            }
        }
        if o.replicas.is_some() || o.memory.is_some() || o.heap.is_some() {
            result.overrides.insert(key.name.clone(), o);
        }
    }
    result
}

fn shown(node: &Node) -> String {
    match node.scalar_text() {
        Some(t) => format!("`{t}`"),
        None => format!("a {}", node.kind_name()),
    }
}

/// `replicas: 2` or `replicas: "2"`.
fn replicas(node: &Node) -> Option<u32> {
    match &node.value {
        Value::Int(i) => u32::try_from(*i).ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The max heap of JVM options (`-Xmx256m -Xms256m` -> `256Mi`): the last `-Xmx` wins, as in
/// the JVM. JVM units are binary: `k` is Ki, `m` Mi, `g` Gi, `t` Ti; no unit means bytes.
/// `Ok(None)` when the options set no max heap; `Err` when an `-Xmx` cannot be read.
pub fn max_heap(options: &str) -> Result<Option<Quantity>, String> {
    if !placeholders(options).is_empty() {
        return Err(options.to_string());
    }
    let mut heap = None;
    for token in options.split_whitespace() {
        let Some(size) = token.strip_prefix("-Xmx") else {
            continue;
        };
        heap = Some(jvm_size(size).ok_or_else(|| token.to_string())?);
    }
    Ok(heap)
}

fn jvm_size(size: &str) -> Option<Quantity> {
    let digits_end = size
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(size.len());
    let (number, unit) = size.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let suffix = match unit {
        "" => "",
        "k" | "K" => "Ki",
        "m" | "M" => "Mi",
        "g" | "G" => "Gi",
        "t" | "T" => "Ti",
        _ => return None,
    };
    Quantity::parse(&format!("{number}{suffix}")).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use govdeploy_yaml::Severity;

    fn q(s: &str) -> Option<Quantity> {
        Some(Quantity(s.to_string()))
    }

    #[test]
    fn reads_max_heap() {
        assert_eq!(max_heap("-Xmx256m -Xms256m"), Ok(q("256Mi")));
        assert_eq!(max_heap("-Xms64m -Xmx1G"), Ok(q("1Gi")));
        assert_eq!(max_heap("-Xmx512k"), Ok(q("512Ki")));
        assert_eq!(max_heap("-Xmx1048576"), Ok(q("1048576")));
        assert_eq!(max_heap("-Xmx1g -Xmx2g"), Ok(q("2Gi")));
        assert_eq!(max_heap("-Xms256m -XX:+UseG1GC"), Ok(None));
        assert_eq!(max_heap(""), Ok(None));
        assert!(max_heap("-Xmx").is_err());
        assert!(max_heap("-Xmx256mb").is_err());
        assert!(max_heap("-Xmx<heap>").is_err());
        assert!(max_heap("-Xmx99999999999999999999999g").is_err());
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_sections_and_warns_on_bad_values() {
        let (_dir, path) = write(
            "global:\n  domain: <domain_name>\ncluster-configs:\n  x: {replicas: 9}\nnotes: text\n\
             a:\n  replicas: \"2\"\n  memory_limits: 512Mi\n  heap: \"-Xmx256m -Xms256m\"\n  other: <ignored>\n\
             b:\n  replicas: many\n  memory_limits: <mem>\n  heap: -Xmxlots\nc:\n  image: x\n",
        );
        let env = load_digit_env(&path, None);
        assert!(env.read);
        assert_eq!(env.overrides.keys().collect::<Vec<_>>(), ["a"]);
        let a = &env.overrides["a"];
        assert_eq!(a.replicas, Some(2));
        assert_eq!(a.memory, q("512Mi"));
        assert_eq!(a.heap, q("256Mi"));
        assert_eq!(a.location.as_ref().map(|l| (l.line, l.col)), Some((6, 1)));
        let got: Vec<(usize, &str)> = env
            .diagnostics
            .iter()
            .map(|d| (d.location.as_ref().unwrap().line, d.code))
            .collect();
        assert_eq!(
            got,
            [
                (12, codes::DIGIT_VALUE),
                (13, codes::DIGIT_PLACEHOLDER),
                (14, codes::DIGIT_VALUE)
            ]
        );
        assert!(
            env.diagnostics
                .iter()
                .all(|d| d.severity == Severity::Warning)
        );
    }

    #[test]
    fn unreadable_files_are_errors_at_the_declaration() {
        let at = Some(Location {
            file: "env.yaml".into(),
            line: 3,
            col: 18,
        });
        for text in ["a: [1\n", "- a\n", "a: 1\n---\nb: 2\n"] {
            let (_dir, path) = write(text);
            let env = load_digit_env(&path, at.clone());
            assert_eq!(env.diagnostics.len(), 1, "{text}");
            assert_eq!(env.diagnostics[0].code, codes::DIGIT_ENV);
            assert_eq!(env.diagnostics[0].location, at);
        }
        let env = load_digit_env(Path::new("/nonexistent/env.yaml"), at.clone());
        assert!(!env.read);
        assert_eq!(env.diagnostics[0].location, at);
        assert!(env.diagnostics[0].is_error());
    }
}
