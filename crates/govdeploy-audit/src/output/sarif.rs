//! SARIF 2.1.0 for code-scanning UIs: every rule in `tool.driver.rules`, one result per finding,
//! waived findings as results with an accepted in-source suppression, unreadable documents as
//! tool execution notifications.

use serde_json::{Value, json};

use crate::audit::Report;
use crate::rules::{RULES, Severity};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning reads this property to rank security results.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

pub fn render(report: &Report, version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": pascal_case(r.topic),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": format!("{} (checklist: {})", r.title, r.item)},
                "help": {"text": format!("Checklist item: {}. Waive on the object with `govdeploy.io/waive.{}: \"[until YYYY-MM-DD: ]reason\"`.", r.item, r.topic)},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "severity": r.severity,
                    "checklistItem": r.item,
                    "topic": r.topic,
                    "security-severity": security_severity(r.severity),
                    "tags": ["kubernetes", "checklist"],
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = RULES.iter().position(|r| r.id == f.rule.id).unwrap_or(0);
            let mut result = json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", f.object(), f.message)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.file)},
                        "region": {"startLine": f.line.max(1)},
                    },
                    "logicalLocations": [{
                        "fullyQualifiedName": if f.namespace.is_empty() { format!("{}/{}", f.kind, f.name) } else { format!("{}/{}/{}", f.kind, f.namespace, f.name) },
                        "kind": "resource",
                    }],
                }],
                "properties": {"severity": f.severity, "checklistItem": f.checklist_item},
            });
            if let (Some(w), Value::Object(map)) = (&f.waived, &mut result) {
                map.insert(
                    "suppressions".into(),
                    json!([{
                        "kind": "inSource",
                        "status": "accepted",
                        "justification": match w.until { Some(d) => format!("{} (until {d}; {})", w.reason, w.annotation), None => format!("{} ({})", w.reason, w.annotation) },
                    }]),
                );
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri(&e.file)},
                    "region": {"startLine": e.line.max(1), "startColumn": e.col.max(1)},
                }}],
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "govdeploy audit",
                "version": version,
                "informationUri": "https://example.invalid/govdeploy/docs/audit.md",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// SARIF wants a rule's friendly name as one Pascal-case identifier (rule SARIF2012):
/// `read-only-root-filesystem` becomes `ReadOnlyRootFilesystem`.
fn pascal_case(topic: &str) -> String {
    topic
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

/// A relative URI reference for a relative path (`-` is standard input), a `file://` URI for an
/// absolute one: a relative reference must not begin with a slash (rule SARIF1004).
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let path = if path == "-" { "stdin" } else { path };
    let prefix = if path.starts_with('/') { "file://" } else { "" };
    let escaped: String = path
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '#' => "%23".to_owned(),
            '?' => "%3F".to_owned(),
            '%' => "%25".to_owned(),
            '\\' => "/".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("{prefix}{escaped}")
}

#[cfg(test)]
mod tests {
    use super::pascal_case;

    #[test]
    fn rule_names_are_pascal_case_identifiers() {
        assert_eq!(
            pascal_case("read-only-root-filesystem"),
            "ReadOnlyRootFilesystem"
        );
        assert_eq!(pascal_case("hpa"), "Hpa");
        assert_eq!(pascal_case("GD-SEC-002"), "GDSEC002");
    }

    #[test]
    fn absolute_paths_become_file_uris_and_relative_ones_stay_relative() {
        assert_eq!(super::uri("/tmp/a b.yaml"), "file:///tmp/a%20b.yaml");
        assert_eq!(super::uri("./out/x#1.yaml"), "out/x%231.yaml");
        assert_eq!(super::uri("-"), "stdin");
    }
}
