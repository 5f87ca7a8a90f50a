//! One audit: parse, index, run the checks, then apply the profile's severities and the
//! objects' waivers in one place.

use std::collections::HashSet;

use govdeploy_yaml::Node;
use serde::Serialize;

use crate::checks::{self, Hit};
use crate::config::Config;
use crate::date::Date;
use crate::index::Index;
use crate::rules::{self, RuleDef, Severity};
use crate::source::{InputError, Object, Skipped, Source, parse_sources};
use crate::waiver::{self, Waiver};
use crate::workload::workload;

/// A waiver that applies to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    pub annotation: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    #[serde(rename = "ruleId", serialize_with = "rule_id")]
    pub rule: &'static RuleDef,
    pub severity: Severity,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub file: String,
    /// Line of the offending field (of the object when the field is absent).
    pub line: usize,
    /// Line where the object starts.
    #[serde(rename = "objectLine")]
    pub object_line: usize,
    pub message: String,
    #[serde(rename = "checklistItem")]
    pub checklist_item: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<Waived>,
}

fn rule_id<S: serde::Serializer>(rule: &&'static RuleDef, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.id)
}

impl Finding {
    pub fn object(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profile: &'static str,
    pub files: usize,
    pub objects: usize,
    pub findings: Vec<Finding>,
    #[serde(rename = "inputErrors")]
    pub errors: Vec<InputError>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    /// Findings at or above the threshold that no waiver covers.
    pub fn failing(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.waived.is_none() && f.severity >= threshold)
            .count()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.waived.is_none() && f.severity == severity)
            .count()
    }

    pub fn waived(&self) -> usize {
        self.findings.iter().filter(|f| f.waived.is_some()).count()
    }
}

/// Audits the sources under a config. `today` decides which waivers have expired.
pub fn audit(sources: &[Source], config: &Config, today: Date) -> Report {
    let parsed = parse_sources(sources);
    let index = Index::new(&parsed.objects);
    let mut hits = checks::run(&index, config);
    let waivers = waivers(&parsed.objects, today, &mut hits);
    let mut seen = HashSet::new();
    let mut findings: Vec<(usize, Finding)> = Vec::with_capacity(hits.len());
    for hit in hits {
        let Some(severity) = config.severity(hit.rule) else {
            continue;
        };
        if !seen.insert((hit.rule.id, hit.object, hit.message.clone())) {
            continue;
        }
        let object = &parsed.objects[hit.object];
        let waived = if hit.rule.topic == "waiver" {
            None
        } else {
            waivers[hit.object]
                .iter()
                .find(|w| waiver::covers(&w.target, hit.rule))
                .map(|w| Waived {
                    annotation: format!("{}{}", waiver::PREFIX, w.target),
                    reason: w.reason.clone(),
                    until: w.until,
                })
        };
        findings.push((
            object.file,
            Finding {
                rule: hit.rule,
                severity,
                kind: object.kind.clone(),
                namespace: object.namespace.clone(),
                name: object.name.clone(),
                file: parsed.files[object.file].clone(),
                line: hit.line,
                object_line: object.line(),
                message: hit.message,
                checklist_item: hit.rule.item,
                waived,
            },
        ));
    }
    findings.sort_by(|(fa, a), (fb, b)| {
        (fa, a.object_line, a.line, a.rule.id).cmp(&(fb, b.object_line, b.line, b.rule.id))
    });
    Report {
        profile: config.profile.as_str(),
        files: parsed.files.len(),
        objects: parsed.objects.len(),
        findings: findings.into_iter().map(|(_, f)| f).collect(),
        errors: parsed.errors,
        skipped: parsed.skipped,
    }
}

/// The valid, unexpired waivers of every object; problems with waivers become hits.
fn waivers(objects: &[Object], today: Date, hits: &mut Vec<Hit>) -> Vec<Vec<Waiver>> {
    objects
        .iter()
        .enumerate()
        .map(|(i, object)| {
            let template = workload(i, object).and_then(|w| w.meta);
            let mut valid = Vec::new();
            let metas: [Option<&Node>; 2] = [object.root.get("metadata"), template];
            for annotation in metas.into_iter().flat_map(waiver::annotations) {
                let line = object.line_of(annotation.node);
                let mut problem = |rule: &'static RuleDef, message: String| {
                    hits.push(Hit {
                        rule,
                        object: i,
                        line,
                        message,
                    });
                };
                let key = format!("{}{}", waiver::PREFIX, annotation.target);
                if !waiver::known_target(annotation.target) {
                    problem(&rules::WAIVER_INVALID, format!("`{key}` names no rule or topic: use a rule id or topic from `govdeploy audit --rules`"));
                    continue;
                }
                match waiver::parse(annotation.target, &annotation.value) {
                    Err(e) => problem(&rules::WAIVER_INVALID, format!("`{key}` is not honoured: {e}")),
                    Ok(w) if w.until.is_some_and(|until| until < today) => problem(
                        &rules::WAIVER_EXPIRED,
                        format!(
                            "`{key}` expired on {}: fix what it waives, or renew it with a new date and reason",
                            w.until.map(|d| d.to_string()).unwrap_or_default()
                        ),
                    ),
                    Ok(w) => valid.push(w),
                }
            }
            valid
        })
        .collect()
}
