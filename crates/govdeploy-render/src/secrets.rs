//! Secrets: which keys each component reads, how they reach it (files for runtimes that can
//! read them, env vars as a waived exception otherwise), and the Secret objects themselves
//! when values are available. Values never leave this module except inside Secret objects.

use std::collections::{BTreeMap, BTreeSet};

use govdeploy_yaml::Diagnostic;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use crate::codes;
use crate::context::Ctx;
use crate::labels;
use crate::object::{Object, SecretUse};

/// Directory Spring's configtree import reads secret files from.
pub const SECRET_DIR: &str = "/etc/govdeploy/secrets/";

/// One Secret key a component reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretKeyUse {
    pub secret: String,
    pub key: String,
}

/// A Secret key delivered as a file in [`SECRET_DIR`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretFile {
    pub secret: String,
    pub key: String,
    /// File name under the secrets directory (`spring.datasource.password`).
    pub file: String,
}

/// The configtree file name Spring binds an environment variable's property from:
/// `EGOV_INDEXER_ES_PASSWORD` -> `egov.indexer.es.password` (the inverse of Spring's
/// relaxed binding for environment variables).
pub fn property_file_name(env_name: &str) -> String {
    env_name.to_ascii_lowercase().replace('_', ".")
}

/// Collects Secret use across components, per namespace.
#[derive(Debug, Default)]
pub struct SecretLedger {
    /// (namespace, secret) -> key -> components.
    uses: BTreeMap<(String, String), BTreeMap<String, BTreeSet<String>>>,
}

impl SecretLedger {
    pub fn record(&mut self, namespace: &str, component: &str, key: &SecretKeyUse) {
        self.uses
            .entry((namespace.to_string(), key.secret.clone()))
            .or_default()
            .entry(key.key.clone())
            .or_default()
            .insert(component.to_string());
    }

    pub fn uses(&self) -> Vec<SecretUse> {
        self.uses
            .iter()
            .map(|((namespace, name), keys)| {
                let mut used_by: BTreeSet<String> = BTreeSet::new();
                for components in keys.values() {
                    used_by.extend(components.iter().cloned());
                }
                SecretUse {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    keys: keys.keys().cloned().collect(),
                    used_by: used_by.into_iter().collect(),
                }
            })
            .collect()
    }
}

/// Hash input for a component's secrets: names and values of what it reads, so its pods roll
/// when a value it uses changes. Without values (no secrets file) the hash covers names only.
pub fn hash_parts(ctx: &Ctx, keys: &[SecretKeyUse]) -> Vec<String> {
    let mut parts = Vec::new();
    for k in keys {
        parts.push(format!("{}/{}", k.secret, k.key));
        if let Some(value) = ctx.input.secrets.and_then(|s| s.get(&k.secret, &k.key)) {
            parts.push(value.to_string());
        }
    }
    parts
}

/// Secret objects for every Secret the components read, when a secrets file is given; a
/// report of missing keys otherwise.
pub fn objects(ctx: &mut Ctx, uses: &[SecretUse]) -> Vec<Object> {
    let Some(values) = ctx.input.secrets else {
        if !uses.is_empty() {
            let list: Vec<String> = uses
                .iter()
                .map(|u| format!("{}/{} ({})", u.namespace, u.name, u.keys.join(", ")))
                .collect();
            ctx.report(
                Diagnostic::warning(
                    codes::SECRETS_NOT_RENDERED,
                    format!(
                        "no secrets file: {} Secret(s) must already exist in the cluster: {}",
                        uses.len(),
                        list.join("; ")
                    ),
                )
                .hint("set spec.secrets.file to render them, or create them before applying"),
            );
        }
        return Vec::new();
    };
    if ctx.input.plaintext_secrets
        && matches!(
            ctx.profile,
            govdeploy_spec::Profile::Uat | govdeploy_spec::Profile::Prod
        )
    {
        ctx.report(
            Diagnostic::error(
                codes::PLAINTEXT_SECRETS,
                format!(
                    "a plaintext secrets file is not accepted for the {} profile",
                    ctx.profile.as_str()
                ),
            )
            .hint("leave spec.secrets.file out and create the Secrets in the cluster, or use a development profile"),
        );
        return Vec::new();
    }
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for u in uses {
        let mut data = BTreeMap::new();
        for key in &u.keys {
            match values.get(&u.name, key) {
                Some(v) => {
                    data.insert(key.clone(), ByteString(v.as_bytes().to_vec()));
                }
                None => missing.push(format!(
                    "{}.{} (read by {})",
                    u.name,
                    key,
                    u.used_by.join(", ")
                )),
            }
        }
        let secret = Secret {
            metadata: labels::meta(
                &u.name,
                Some(&u.namespace),
                labels::environment(ctx),
                Default::default(),
            ),
            data: Some(data),
            type_: Some("Opaque".into()),
            immutable: None,
            string_data: None,
        };
        out.push(Object::from_typed(&secret, Some(&u.namespace), &u.name));
    }
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        ctx.report(
            Diagnostic::error(
                codes::SECRET_MISSING,
                format!(
                    "the secrets file lacks {} key(s): {}",
                    missing.len(),
                    missing.join("; ")
                ),
            )
            .hint("add each as `<secret>: {<key>: <value>}` to the secrets file"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names_follow_spring_relaxed_binding() {
        assert_eq!(
            property_file_name("SPRING_DATASOURCE_PASSWORD"),
            "spring.datasource.password"
        );
        assert_eq!(
            property_file_name("EGOV_INDEXER_ES_PASSWORD"),
            "egov.indexer.es.password"
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let values = crate::SecretValues(BTreeMap::from([(
            "db".to_string(),
            BTreeMap::from([("password".to_string(), "hunter2-value".to_string())]),
        )]));
        let text = format!("{values:?}");
        assert!(
            text.contains("password") && !text.contains("hunter2"),
            "{text}"
        );
    }
}
