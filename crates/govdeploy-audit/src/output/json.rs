//! Stable JSON: the whole report plus a summary. Waived findings stay in, with their waiver.

use serde_json::{Value, json};

use crate::audit::Report;
use crate::rules::Severity;

pub fn render(report: &Report, threshold: Severity) -> Value {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "summary".into(),
            json!({
                "critical": report.count(Severity::Critical),
                "high": report.count(Severity::High),
                "medium": report.count(Severity::Medium),
                "low": report.count(Severity::Low),
                "waived": report.waived(),
                "failOn": threshold,
                "failing": report.failing(threshold),
            }),
        );
    }
    value
}
