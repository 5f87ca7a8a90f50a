//! The secret schema of an environment: which Secret keys the selected components read (as
//! the renderer records them), who reads each, and whether govdeploy can generate the value
//! or only the operator can provide it.
//!
//! Generation is decided from what the renderer knows, not from a list of DIGIT key names:
//! a key is generated when govdeploy renders both sides of it (it is read by a backing store
//! that runs in the cluster, or it belongs to such a store by name, like
//! `elasticsearch-master-credentials`); DIGIT's encryption service master keys are the one
//! named exception (random keys nobody outside needs, with the lengths the service expects).
//! Everything else (SMS and payment gateways, cloud keys, git keys, external databases)
//! comes from the operator.

use std::collections::BTreeMap;

use rand::Rng;
use rand::distributions::Alphanumeric;
use zeroize::Zeroizing;

/// One Secret read by the rendered objects (mirrors the renderer's record, plus the one fact
/// the plan adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRead {
    pub namespace: String,
    pub name: String,
    pub keys: Vec<String>,
    pub used_by: Vec<String>,
    /// Read by (or named after) a backing store govdeploy runs in the cluster.
    pub store_managed: bool,
}

/// How a value comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A fixed, non-secret account name (`egov`).
    Username,
    /// Random alphanumeric text of this length.
    Random(usize),
    /// Only the operator knows it.
    Operator,
}

/// One key of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub secret: String,
    pub key: String,
    pub namespaces: Vec<String>,
    pub used_by: Vec<String>,
    pub source: Source,
}

impl Need {
    pub fn id(&self) -> String {
        format!("{}/{}", self.secret, self.key)
    }
}

/// Password length: 32 alphanumerics, about 190 bits.
pub const PASSWORD_LEN: usize = 32;
/// Fixed account name for generated store users.
pub const USERNAME: &str = "egov";

/// DIGIT's egov-enc-service master keys: the service derives its AES keys from a password,
/// an 8-character salt and a 12-character IV (the lengths of eGov's sample values).
fn enc_service_source(key: &str) -> Option<Source> {
    match key {
        "master.password" => Some(Source::Random(PASSWORD_LEN)),
        "master.salt" => Some(Source::Random(8)),
        "master.initialvector" => Some(Source::Random(12)),
        _ => None,
    }
}

fn is_username(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("username") || k.ends_with("user") || k.ends_with("-user")
}

fn source_of(secret: &str, key: &str, store_managed: bool) -> Source {
    if secret == "egov-enc-service"
        && let Some(s) = enc_service_source(key)
    {
        return s;
    }
    if store_managed {
        if is_username(key) {
            Source::Username
        } else {
            Source::Random(PASSWORD_LEN)
        }
    } else {
        Source::Operator
    }
}

/// The schema: one entry per `(secret, key)`, merged across namespaces (the secrets file is
/// keyed by Secret name), sorted.
pub fn schema(reads: &[SecretRead]) -> Vec<Need> {
    let mut managed: BTreeMap<&str, bool> = BTreeMap::new();
    for r in reads {
        *managed.entry(&r.name).or_default() |= r.store_managed;
    }
    let mut needs: BTreeMap<(String, String), Need> = BTreeMap::new();
    for r in reads {
        for key in &r.keys {
            let need = needs
                .entry((r.name.clone(), key.clone()))
                .or_insert_with(|| Need {
                    secret: r.name.clone(),
                    key: key.clone(),
                    namespaces: Vec::new(),
                    used_by: Vec::new(),
                    source: source_of(
                        &r.name,
                        key,
                        managed.get(r.name.as_str()).copied().unwrap_or(false),
                    ),
                });
            need.namespaces.push(r.namespace.clone());
            need.used_by.extend(r.used_by.iter().cloned());
        }
    }
    needs
        .into_values()
        .map(|mut n| {
            n.namespaces.sort();
            n.namespaces.dedup();
            n.used_by.sort();
            n.used_by.dedup();
            n
        })
        .collect()
}

/// A random alphanumeric value from the operating system's generator.
pub fn random_text(len: usize) -> Zeroizing<String> {
    Zeroizing::new(
        rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(len)
            .map(char::from)
            .collect(),
    )
}

/// The placeholder `init` writes for an operator-provided value.
pub fn placeholder(need: &Need) -> String {
    format!("<set me: {} for {}>", need.id(), need.used_by.join(", "))
}

/// Whether a value is a placeholder: ours (`<set me: …>`) or DIGIT's (`<db_pwd>`,
/// `<redacted>`): text wholly in angle brackets.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 2 && v.starts_with('<') && v.ends_with('>') && !v.contains('\n')
}

/// The initial value of a key.
pub fn initial_value(need: &Need) -> Zeroizing<String> {
    match need.source {
        Source::Username => Zeroizing::new(USERNAME.to_string()),
        Source::Random(len) => random_text(len),
        Source::Operator => Zeroizing::new(placeholder(need)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(ns: &str, name: &str, keys: &[&str], used_by: &[&str], store: bool) -> SecretRead {
        SecretRead {
            namespace: ns.into(),
            name: name.into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            used_by: used_by.iter().map(|k| k.to_string()).collect(),
            store_managed: store,
        }
    }

    #[test]
    fn store_credentials_are_generated_and_gateways_are_not() {
        let needs = schema(&[
            read(
                "backbone",
                "db",
                &["password", "username"],
                &["postgres"],
                true,
            ),
            read(
                "egov",
                "db",
                &["flyway-password", "password"],
                &["egov-user"],
                false,
            ),
            read(
                "egov",
                "egov-notification-sms",
                &["password"],
                &["egov-notification-sms"],
                false,
            ),
            read(
                "egov",
                "egov-enc-service",
                &["master.salt"],
                &["egov-enc-service"],
                false,
            ),
        ]);
        let by_id: BTreeMap<String, &Need> = needs.iter().map(|n| (n.id(), n)).collect();
        assert_eq!(by_id["db/password"].source, Source::Random(PASSWORD_LEN));
        assert_eq!(by_id["db/password"].namespaces, ["backbone", "egov"]);
        assert_eq!(by_id["db/password"].used_by, ["egov-user", "postgres"]);
        assert_eq!(
            by_id["db/flyway-password"].source,
            Source::Random(PASSWORD_LEN)
        );
        assert_eq!(by_id["db/username"].source, Source::Username);
        assert_eq!(
            by_id["egov-notification-sms/password"].source,
            Source::Operator
        );
        assert_eq!(
            by_id["egov-enc-service/master.salt"].source,
            Source::Random(8)
        );
    }

    #[test]
    fn placeholders_are_recognised() {
        let need = Need {
            secret: "s".into(),
            key: "k".into(),
            namespaces: vec![],
            used_by: vec!["a".into()],
            source: Source::Operator,
        };
        assert!(is_placeholder(&placeholder(&need)));
        assert!(is_placeholder("<db_pwd>"));
        assert!(!is_placeholder("s3cret<>x"));
        let a = random_text(32);
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_text(32));
    }
}
