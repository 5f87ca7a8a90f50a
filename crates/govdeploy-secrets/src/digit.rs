//! Converts a DIGIT-DevOps secrets file into govdeploy's `<secret>: {<key>: <value>}` tree.
//! Both flavours are read: `cluster-configs: {secrets: …}` (current DIGIT-DevOps) and a
//! top-level `secrets: …` (older forks). DIGIT's chart templates rename keys on the way to
//! the Kubernetes Secret (`flywayPassword` -> `flyway-password`, `aws-key` -> `awskey`,
//! `master-password` -> `master.password`); with a schema, keys are matched on their
//! letters and digits alone, otherwise camelCase becomes kebab-case.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::SecretsError;
use crate::file::parse_yaml;
use crate::schema::Need;
use crate::tree::{TreeNode, TreeValue};

/// The result of an import, with what was renamed, skipped or not matched (names only).
#[derive(Debug)]
pub struct Imported {
    pub tree: TreeNode,
    pub flavour: &'static str,
    pub notes: Vec<String>,
}

fn kebab(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn compact(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub fn import(path: &Path, text: &str, schema: Option<&[Need]>) -> Result<Imported, SecretsError> {
    let doc = parse_yaml(path, text)?;
    if crate::sops::is_sops(&doc) {
        return Err(SecretsError::Format {
            path: path.to_path_buf(),
            reason: "this DIGIT secrets file is SOPS-encrypted: decrypt it first (`sops --decrypt FILE > plain.yaml`, kept private) and import the plaintext, then delete it".into(),
        });
    }
    let (secrets, flavour) = if let Some(s) = doc.path(&["cluster-configs", "secrets"]) {
        (s, "cluster-configs.secrets")
    } else if let Some(s) = doc.get("secrets") {
        (s, "secrets")
    } else {
        return Err(SecretsError::Format {
            path: path.to_path_buf(),
            reason: "not a DIGIT-DevOps secrets file: neither `cluster-configs.secrets` nor `secrets` is present".into(),
        });
    };
    let secrets = TreeNode::from_yaml(secrets);
    let mut by_compact: BTreeMap<(String, String), String> = BTreeMap::new();
    if let Some(needs) = schema {
        for n in needs {
            by_compact.insert((n.secret.clone(), compact(&n.key)), n.key.clone());
        }
    }
    let mut notes = Vec::new();
    let mut out = Vec::new();
    for (name, keys) in secrets.entries() {
        let TreeValue::Map(entries) = &keys.value else {
            notes.push(format!("skipped `{name}`: not a mapping of keys to values"));
            continue;
        };
        let mut converted = Vec::new();
        for (key, value) in entries {
            if value.as_scalar().is_none() {
                notes.push(format!("skipped `{name}.{key}`: not a single value (nested configuration is not a secret key)"));
                continue;
            }
            let target = if schema.is_some() {
                match by_compact.get(&(name.clone(), compact(key))) {
                    Some(k) => k.clone(),
                    None => {
                        notes.push(format!(
                            "kept `{name}.{key}` as `{}`: no component of the environment reads it",
                            kebab(key)
                        ));
                        kebab(key)
                    }
                }
            } else {
                kebab(key)
            };
            if target != *key {
                notes.push(format!("renamed `{name}.{key}` to `{name}.{target}`"));
            }
            converted.push((target, value.clone()));
        }
        if !converted.is_empty() {
            out.push((name.clone(), TreeNode::new(TreeValue::Map(converted))));
        }
    }
    Ok(Imported {
        tree: TreeNode::new(TreeValue::Map(out)),
        flavour,
        notes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn both_flavours_convert() {
        let a = import(Path::new("a"), "cluster-configs:\n  secrets:\n    db:\n      flywayPassword: x\n    alertmanager:\n      config: {a: b}\n", None).unwrap();
        assert_eq!(a.flavour, "cluster-configs.secrets");
        let db = &a.tree.entries()[0];
        assert_eq!(db.0, "db");
        assert_eq!(db.1.entries()[0].0, "flyway-password");
        assert!(a.notes.iter().any(|n| n.contains("alertmanager.config")));
        let b = import(
            Path::new("b"),
            "secrets:\n  egov-filestore:\n    aws-key: k\n",
            None,
        )
        .unwrap();
        assert_eq!(b.flavour, "secrets");
    }

    #[test]
    fn schema_keys_match_on_letters() {
        let needs = vec![Need {
            secret: "egov-enc-service".into(),
            key: "master.password".into(),
            namespaces: vec![],
            used_by: vec![],
            source: crate::schema::Source::Operator,
        }];
        let a = import(
            Path::new("a"),
            "secrets:\n  egov-enc-service:\n    master-password: p\n",
            Some(&needs),
        )
        .unwrap();
        assert_eq!(a.tree.entries()[0].1.entries()[0].0, "master.password");
    }
}
