//! Waivers: `govdeploy.io/waive.<rule-id-or-topic>: "[until YYYY-MM-DD: ]reason"` on an object
//! or on its pod template. `govdeploy render` writes the same form (`waive.secrets-as-env`,
//! `waive.read-only-root-filesystem`) with a reason and no expiry.

use govdeploy_yaml::Node;

use crate::date::Date;
use crate::rules::{self, RuleDef};

pub const PREFIX: &str = "govdeploy.io/waive.";

/// One waiver annotation as written.
#[derive(Debug, Clone)]
pub struct Annotation<'a> {
    pub target: &'a str,
    pub value: String,
    pub node: &'a Node,
}

/// A waiver that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub target: String,
    pub reason: String,
    pub until: Option<Date>,
}

/// Waiver annotations of a metadata block.
pub fn annotations(metadata: Option<&Node>) -> Vec<Annotation<'_>> {
    metadata
        .and_then(|m| m.get("annotations"))
        .map(Node::entries)
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| {
            let target = k.name.strip_prefix(PREFIX)?;
            Some(Annotation {
                target,
                value: v.scalar_text().unwrap_or_default(),
                node: v,
            })
        })
        .collect()
}

/// Whether a waiver target names this rule (its id or its topic, case-insensitive).
pub fn covers(target: &str, rule: &RuleDef) -> bool {
    target.eq_ignore_ascii_case(rule.id) || target.eq_ignore_ascii_case(rule.topic)
}

/// Whether any rule answers to this target.
pub fn known_target(target: &str) -> bool {
    rules::RULES.iter().any(|r| covers(target, r))
}

/// Parses `until 2027-03-31: reason` or a bare reason.
pub fn parse(target: &str, value: &str) -> Result<Waiver, String> {
    let value = value.trim();
    let (until, reason) = match value.strip_prefix("until ") {
        Some(rest) => {
            let (date, reason) = rest.split_once(':').ok_or_else(|| {
                "write `until YYYY-MM-DD: reason` (the colon is missing)".to_owned()
            })?;
            (Some(date.trim().parse::<Date>()?), reason.trim())
        }
        None => (None, value),
    };
    if reason.is_empty() {
        return Err("a waiver must say why: give a reason".into());
    }
    Ok(Waiver {
        target: target.to_owned(),
        reason: reason.to_owned(),
        until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_expiry() {
        let w = parse("cpu-limit", "until 2027-03-31: licensed per core")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.reason, "licensed per core");
        assert_eq!(
            w.until.map(|d| d.to_string()).as_deref(),
            Some("2027-03-31")
        );
        assert!(parse("x", "  ").is_err());
        assert!(parse("x", "until 2027-13-01: r").is_err());
        assert!(parse("x", "until 2027-01-01 r").is_err());
        assert!(
            known_target("secrets-as-env") && known_target("gd-sec-002") && !known_target("nope")
        );
    }
}
