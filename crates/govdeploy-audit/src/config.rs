//! Profiles and the config file that extends one: which rules run at which severity, which
//! registries and ingress domains are allowed, which labels are required.
//!
//! ```yaml
//! extends: production          # or development; default: the --profile given, else production
//! rules:
//!   GD-HPA-001: off            # off | on | low | medium | high | critical
//!   GD-RES-005: high
//! allowedRegistries: [registry.state.gov.example:5000]
//! ingressDomains: [state.gov.example]
//! maxLiteralEnv: 10
//! labels:
//!   technical: [app.kubernetes.io/name]
//!   business: [govdeploy.io/owner]
//!   security: [govdeploy.io/data-classification]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use govdeploy_yaml::{Diagnostic, Location, Node, Pos, Value};

use crate::rules::{self, RuleDef, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The checklist as written: every rule at its catalogue severity.
    Production,
    /// Relaxed for development clusters: availability and organisational rules off or lowered,
    /// security rules kept.
    Development,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Production => "production",
            Profile::Development => "development",
        }
    }

    /// Rule changes this profile makes to the catalogue: `None` turns a rule off.
    fn overrides(self) -> &'static [(RuleDef, Option<Severity>)] {
        use Severity::{Low, Medium};
        match self {
            Profile::Production => &[],
            Profile::Development => &[
                (rules::REPLICAS, None),
                (rules::SPREAD, None),
                (rules::PDB_MISSING, None),
                (rules::HPA_MISSING, None),
                (rules::LABEL_BUSINESS, None),
                (rules::LABEL_SECURITY, None),
                (rules::SA_TOKEN, None),
                (rules::IMAGE_IMPLICIT_REGISTRY, None),
                (rules::NS_LIMITRANGE, Some(Low)),
                (rules::NS_QUOTA, Some(Low)),
                (rules::NETPOL_DEFAULT_DENY, Some(Low)),
                (rules::NETPOL_UNCOVERED, Some(Low)),
                (rules::SEC_READ_ONLY_ROOT, Some(Medium)),
                (rules::SECRET_ENV, Some(Low)),
                (rules::RES_CPU_LIMIT, Some(Low)),
                (rules::IMAGE_TAG, Some(Medium)),
            ],
        }
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "production" | "prod" => Ok(Profile::Production),
            "development" | "dev" => Ok(Profile::Development),
            other => Err(format!(
                "unknown profile `{other}`: use production or development"
            )),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The effective settings of one audit.
#[derive(Debug, Clone)]
pub struct Config {
    pub profile: Profile,
    severities: BTreeMap<&'static str, Option<Severity>>,
    /// Registry hosts (optionally with a path prefix) images may come from; empty: not enforced.
    pub allowed_registries: Vec<String>,
    /// Domains Ingress hosts must equal or be under; empty: not enforced.
    pub ingress_domains: Vec<String>,
    /// More literal env values than this in one container is a large literal block.
    pub max_literal_env: usize,
    pub technical_labels: Vec<String>,
    pub business_labels: Vec<String>,
    pub security_labels: Vec<String>,
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Config {
    pub fn profile(profile: Profile) -> Config {
        let mut severities: BTreeMap<&'static str, Option<Severity>> = rules::RULES
            .iter()
            .map(|r| (r.id, Some(r.severity)))
            .collect();
        for (rule, severity) in profile.overrides() {
            severities.insert(rule.id, *severity);
        }
        Config {
            profile,
            severities,
            allowed_registries: Vec::new(),
            ingress_domains: Vec::new(),
            max_literal_env: 10,
            technical_labels: strings(&[
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/version",
                "app.kubernetes.io/component",
                "app.kubernetes.io/part-of",
            ]),
            business_labels: strings(&["govdeploy.io/owner"]),
            security_labels: strings(&["govdeploy.io/data-classification"]),
        }
    }

    /// The severity a rule reports at, or None when it is off.
    pub fn severity(&self, rule: &RuleDef) -> Option<Severity> {
        self.severities
            .get(rule.id)
            .copied()
            .unwrap_or(Some(rule.severity))
    }

    /// Reads a config file extending `profile` (or the profile it names with `extends`).
    /// Every problem is reported at once, with its place.
    pub fn from_yaml(
        text: &str,
        path: &str,
        profile: Option<Profile>,
    ) -> Result<Config, ConfigError> {
        let at = |pos: Pos| {
            Some(Location {
                file: PathBuf::from(path),
                line: pos.line,
                col: pos.col,
            })
        };
        let code = "E-AUDIT-CONFIG";
        let root = govdeploy_yaml::parse_single(text).map_err(|e| ConfigError {
            problems: vec![
                Diagnostic::error(code, e.description())
                    .at(at(e.pos().unwrap_or_default()))
                    .hint("fix the YAML syntax at that place"),
            ],
        })?;
        let mut problems = Vec::new();
        let named = match root.get("extends") {
            Some(node) => match node.as_str().map(str::parse::<Profile>) {
                Some(Ok(p)) => Some(p),
                Some(Err(e)) => {
                    problems.push(Diagnostic::error(code, e).at(at(node.pos)));
                    None
                }
                None => {
                    problems.push(
                        Diagnostic::error(code, "`extends` must name a profile")
                            .at(at(node.pos))
                            .hint("write `extends: production` or `extends: development`"),
                    );
                    None
                }
            },
            None => None,
        };
        if let (Some(named), Some(given), Some(node)) = (named, profile, root.get("extends"))
            && named != given
        {
            problems.push(
                Diagnostic::error(
                    code,
                    format!("the config extends `{named}` but --profile says `{given}`"),
                )
                .at(at(node.pos))
                .hint("drop --profile or make it match `extends`"),
            );
        }
        let mut config = Config::profile(named.or(profile).unwrap_or(Profile::Production));
        if !matches!(root.value, Value::Map(_) | Value::Null) {
            problems.push(
                Diagnostic::error(code, "the config must be a mapping")
                    .at(at(root.pos))
                    .hint("start with `extends: production`"),
            );
        }
        for (key, value) in root.entries() {
            match key.name.as_str() {
                "extends" => {}
                "rules" => config.read_rules(value, &at, &mut problems),
                "allowedRegistries" => {
                    config.allowed_registries = string_list(value, &at, &mut problems)
                }
                "ingressDomains" => config.ingress_domains = string_list(value, &at, &mut problems),
                "maxLiteralEnv" => match value.value {
                    Value::Int(n) if n >= 0 => {
                        config.max_literal_env = usize::try_from(n).unwrap_or(usize::MAX)
                    }
                    _ => problems.push(
                        Diagnostic::error(code, "`maxLiteralEnv` must be a whole number")
                            .at(at(value.pos)),
                    ),
                },
                "labels" => {
                    for (kind, list) in value.entries() {
                        let target = match kind.name.as_str() {
                            "technical" => &mut config.technical_labels,
                            "business" => &mut config.business_labels,
                            "security" => &mut config.security_labels,
                            other => {
                                problems.push(
                                    Diagnostic::error(
                                        code,
                                        format!("unknown label group `{other}`"),
                                    )
                                    .at(at(kind.pos))
                                    .hint("use technical, business or security"),
                                );
                                continue;
                            }
                        };
                        *target = string_list(list, &at, &mut problems);
                    }
                }
                other => problems.push(
                    Diagnostic::error(code, format!("unknown key `{other}`"))
                        .at(at(key.pos))
                        .hint("known keys: extends, rules, allowedRegistries, ingressDomains, maxLiteralEnv, labels"),
                ),
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    fn read_rules(
        &mut self,
        node: &Node,
        at: &dyn Fn(Pos) -> Option<Location>,
        problems: &mut Vec<Diagnostic>,
    ) {
        let code = "E-AUDIT-CONFIG";
        for (key, value) in node.entries() {
            let Some(rule) = rules::rule(&key.name) else {
                problems.push(
                    Diagnostic::error(code, format!("unknown rule `{}`", key.name))
                        .at(at(key.pos))
                        .hint("`govdeploy audit --rules` lists every rule id"),
                );
                continue;
            };
            let setting = value.scalar_text().unwrap_or_default();
            let severity = match setting.as_str() {
                "off" | "false" => None,
                "on" | "true" => Some(rule.severity),
                other => match other.parse::<Severity>() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        problems.push(
                            Diagnostic::error(code, format!("{}: {e}", rule.id))
                                .at(at(value.pos))
                                .hint("use off, on, low, medium, high or critical"),
                        );
                        continue;
                    }
                },
            };
            self.severities.insert(rule.id, severity);
        }
    }
}

fn string_list(
    node: &Node,
    at: &dyn Fn(Pos) -> Option<Location>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<String> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| {
                let text = item.scalar_text();
                if text.is_none() {
                    problems.push(
                        Diagnostic::error("E-AUDIT-CONFIG", "expected a string").at(at(item.pos)),
                    );
                }
                text
            })
            .collect(),
        _ => {
            problems.push(
                Diagnostic::error("E-AUDIT-CONFIG", "expected a list of strings")
                    .at(at(node.pos))
                    .hint("write `[a, b]` or one `- item` per line"),
            );
            Vec::new()
        }
    }
}

/// Problems in a config file, all of them, each with its place.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<Diagnostic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_extends_its_profile() {
        let config = Config::from_yaml(
            "extends: development\nrules: {GD-SEC-008: high, GD-SEC-002: off}\nallowedRegistries: [r.example]\n",
            "audit.yaml",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.profile, Profile::Development);
        assert_eq!(config.severity(&rules::SEC_SECCOMP), Some(Severity::High));
        assert_eq!(config.severity(&rules::SEC_READ_ONLY_ROOT), None);
        assert_eq!(config.severity(&rules::REPLICAS), None, "from the profile");
        assert_eq!(
            config.severity(&rules::SEC_PRIVILEGED),
            Some(Severity::Critical)
        );
        assert_eq!(config.allowed_registries, ["r.example"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let err = Config::from_yaml(
            "extends: staging\nrules: {GD-NOPE-001: off, GD-SEC-001: loud}\ncolour: red\n",
            "audit.yaml",
            None,
        )
        .err()
        .unwrap_or_else(|| panic!("must fail"));
        let text = err.to_string();
        assert_eq!(err.problems.len(), 4, "{text}");
        assert!(text.contains("audit.yaml:1:10"), "{text}");
        assert!(text.contains("unknown rule `GD-NOPE-001`"), "{text}");
        assert!(
            text.contains("audit.yaml:3:1: error[E-AUDIT-CONFIG]: unknown key `colour`"),
            "{text}"
        );
    }
}
