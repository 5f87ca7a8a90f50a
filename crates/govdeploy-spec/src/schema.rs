//! The JSON Schema of the environment file, generated from the typed model (titles and
//! descriptions come from its doc comments). Validation walks this same schema, so the
//! exported schema and the checks cannot drift apart.

use std::sync::OnceLock;

use crate::model::Environment;

/// The schema as a JSON value, generated once.
pub fn schema_value() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| schemars::schema_for!(Environment).to_value())
}

/// The pretty-printed JSON Schema of the environment file (for `govdeploy schema`), identical
/// on every run.
pub fn json_schema() -> String {
    // Serialising a `serde_json::Value` cannot fail (its keys are strings).
    serde_json::to_string_pretty(schema_value()).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::Quantity;

    #[test]
    fn is_deterministic_and_documented() {
        let text = json_schema();
        assert_eq!(text, json_schema());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["title"], "Environment");
        assert!(
            v["description"]
                .as_str()
                .unwrap()
                .contains("environment file")
        );
        assert_eq!(v["$defs"]["Quantity"]["pattern"], Quantity::PATTERN);
        assert!(
            v["$defs"]["EnvironmentSpec"]["properties"]["release"]["description"]
                .as_str()
                .unwrap()
                .contains("Release key")
        );
    }

    #[test]
    fn serde_defaults_are_not_required() {
        let v = schema_value();
        let required = |def: &str| -> Vec<String> {
            v["$defs"][def]["required"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            required("EnvironmentSpec"),
            ["release", "modules", "domain"]
        );
        assert_eq!(required("NodePool"), ["cpu", "memory"]);
        assert!(required("ComponentOverride").is_empty());
        assert!(required("BackboneStore").is_empty());
        assert!(required("ConfigSourceSpec").is_empty());
        assert_eq!(required("GitConfigSource"), ["repo", "revision"]);
        assert_eq!(required("EgressRule"), ["to", "ports"]);
        assert_eq!(required("Secrets"), ["file"]);
        assert!(required("Network").is_empty());
        let top: Vec<&str> = v["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert_eq!(top, ["apiVersion", "kind", "metadata", "spec"]);
    }

    #[test]
    fn new_keys_are_documented() {
        let v = schema_value();
        let spec = &v["$defs"]["EnvironmentSpec"]["properties"];
        for (key, words) in [
            ("configSources", "pinned git revision"),
            ("network", "beyond what its dependencies"),
            ("secrets", "secrets"),
            ("sharedConfig", "`egov-config` ConfigMap"),
        ] {
            let description = spec[key]["description"].as_str().unwrap_or_default();
            assert!(description.contains(words), "{key}: {description}");
        }
        // The config source kinds are the only keys allowed (an enum of keys).
        let kinds: Vec<&String> = spec["configSources"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(kinds, ["configs", "mdms-data", "other"]);
        assert_eq!(spec["configSources"]["additionalProperties"], false);
        assert_eq!(
            spec["sharedConfig"]["propertyNames"]["pattern"],
            crate::model::CONFIG_MAP_KEY_PATTERN
        );
        let defs = &v["$defs"];
        let git = &defs["GitConfigSource"]["properties"];
        assert_eq!(git["sshKeySecret"]["default"], "git-sync");
        assert!(
            git["knownHosts"]["description"]
                .as_str()
                .unwrap()
                .contains("ssh-keyscan")
        );
        let ports = &defs["EgressRule"]["properties"]["ports"];
        assert_eq!(ports["minItems"], 1);
        assert_eq!(ports["items"]["minimum"], 1);
        assert_eq!(ports["items"]["maximum"], 65535);
        assert_eq!(defs["Secrets"]["properties"]["file"]["minLength"], 1);
        assert!(
            defs["ConfigSourceSpec"]["properties"]["image"]["description"]
                .as_str()
                .unwrap()
                .contains("never `latest`")
        );
    }

    #[test]
    fn node_count_is_at_least_one() {
        assert_eq!(
            schema_value()["$defs"]["NodePool"]["properties"]["count"]["minimum"],
            1
        );
    }
}
