//! Human text, grouped by object.

use std::fmt::Write;

use crate::audit::Report;
use crate::rules::Severity;

pub fn render(report: &Report, threshold: Severity) -> String {
    let mut out = String::new();
    let mut current = None;
    for f in &report.findings {
        let key = (f.file.as_str(), f.object_line, f.object());
        if current.as_ref() != Some(&key) {
            let _ = writeln!(out, "{}:{}: {}", f.file, f.object_line, f.object());
            current = Some(key);
        }
        let status = if f.waived.is_some() {
            "waived".to_owned()
        } else {
            f.severity.to_string()
        };
        let _ = writeln!(
            out,
            "  {status:<8} {:<14} line {:<5} {} [{}]",
            f.rule.id, f.line, f.message, f.checklist_item
        );
        if let Some(w) = &f.waived {
            let until = w.until.map(|d| format!(" until {d}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "           waived by {}{until}: {}",
                w.annotation, w.reason
            );
        }
    }
    for e in &report.errors {
        let _ = writeln!(
            out,
            "{}:{}:{}: error[E-AUDIT-INPUT]: {}",
            e.file, e.line, e.col, e.message
        );
        let _ = writeln!(
            out,
            "  help: fix this document; the other documents were audited"
        );
    }
    for s in &report.skipped {
        let _ = writeln!(out, "{}:{}: note: skipped: {}", s.file, s.line, s.reason);
    }
    let counts: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ]
    .iter()
    .map(|s| format!("{} {s}", report.count(*s)))
    .collect();
    let _ = writeln!(
        out,
        "audited {} objects in {} files (profile {}): {}; {} waived; {} at or above {threshold}{}",
        report.objects,
        report.files,
        report.profile,
        counts.join(", "),
        report.waived(),
        report.failing(threshold),
        if report.errors.is_empty() {
            String::new()
        } else {
            format!("; {} unreadable document(s)", report.errors.len())
        }
    );
    out
}
