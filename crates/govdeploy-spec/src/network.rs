//! Checks of `spec.network`: every egress destination is a CIDR range, and one that opens a
//! component to the whole internet is a warning. Ports (at least one, each 1 to 65535) are
//! checked by the schema walk.

use govdeploy_yaml::{Diagnostic, Node, Value};

use crate::checks::placeholders;
use crate::cidr::Cidr;
use crate::codes;
use crate::sources::SourceMap;

/// Checks every `spec.network.egress.<component>[i].to`.
pub fn check(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let Some(egress) = tree.path(&["spec", "network", "egress"]) else {
        return;
    };
    for (component, rules) in egress.entries() {
        let name = component.name.as_str();
        for (index, rule) in rules.items().iter().enumerate() {
            if !matches!(rule.value, Value::Map(_)) {
                continue;
            }
            let Some(to) = rule
                .get("to")
                .and_then(Node::as_str)
                .filter(|s| placeholders(s).is_empty())
            else {
                continue;
            };
            let index = index.to_string();
            let at = sources.locate(&["spec", "network", "egress", name, &index, "to"]);
            let place = format!("spec.network.egress.{name}[{index}].to");
            match to.parse::<Cidr>() {
                Err(e) => out.push(
                    Diagnostic::error(codes::CIDR, format!("`{place}`: {e}"))
                        .at(at)
                        .hint(e.hint()),
                ),
                Ok(cidr) if cidr.is_anywhere() => out.push(
                    Diagnostic::warning(
                        codes::EGRESS_ANYWHERE,
                        format!("`{place}` is `{cidr}`: `{name}` may reach any address on these ports"),
                    )
                    .at(at)
                    .hint("narrow it to the service's address range, e.g. `203.0.113.10/32` for one SMS or payment gateway"),
                ),
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::test_support::{single_file, summary};
    use govdeploy_yaml::Severity;

    fn run(text: &str) -> Vec<Diagnostic> {
        let (tree, sources) = single_file(text);
        let mut out = Vec::new();
        check(&tree, &sources, &mut out);
        out
    }

    #[test]
    fn valid_ranges_pass() {
        let diags = run(
            "spec:\n  network:\n    egress:\n      pgr-services:\n        - {to: 203.0.113.10/32, ports: [443]}\n        - {to: \"2001:db8::/32\", ports: [443, 8443]}\n      egov-notification-sms: []\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn malformed_ranges_are_errors_at_their_place() {
        let diags = run(
            "spec:\n  network:\n    egress:\n      pgr-services:\n        - {to: 203.0.113.10, ports: [443]}\n        - to: 10.1.2.3/8\n          ports: [443]\n      sms:\n        - {to: sms.example.org, ports: [443]}\n        - {to: <gateway_cidr>, ports: [443]}\n        - {to: [1], ports: [443]}\n",
        );
        assert_eq!(
            summary(&diags),
            ["5:16 E-SPEC-CIDR", "6:15 E-SPEC-CIDR", "9:16 E-SPEC-CIDR"]
        );
        assert_eq!(
            diags[0].message,
            "`spec.network.egress.pgr-services[0].to`: `203.0.113.10` has no prefix length"
        );
        assert_eq!(
            diags[0].hint.as_deref(),
            Some("add the prefix length: `203.0.113.10/32` for this one address")
        );
        assert!(diags[1].hint.as_deref().unwrap().contains("`10.0.0.0/8`"));
    }

    #[test]
    fn anywhere_is_a_warning() {
        let diags = run(
            "spec:\n  network:\n    egress:\n      pgr-services:\n        - {to: 0.0.0.0/0, ports: [443]}\n        - {to: \"::/0\", ports: [443]}\n",
        );
        assert_eq!(
            summary(&diags),
            ["5:16 W-SPEC-EGRESS-ANYWHERE", "6:16 W-SPEC-EGRESS-ANYWHERE"]
        );
        assert!(diags.iter().all(|d| d.severity == Severity::Warning));
    }
}
