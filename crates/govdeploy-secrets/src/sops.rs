//! The SOPS file format (YAML store) with age recipients: the `sops:` metadata block, value
//! decryption and encryption, and the MAC.
//!
//! Conventions taken from the sops sources (`sops.go` `Tree.Encrypt`/`Decrypt`/`ToBytes`,
//! `aes/cipher.go`, `age/keysource.go`, `stores/yaml`): every leaf's additional data is its
//! key path joined with `:` plus a trailing `:` (list items add nothing); empty strings stay
//! unencrypted; the MAC is the upper-case hex SHA-512 over the cleartext bytes of every leaf
//! in document order (only the encrypted ones, after a fixed prefix, with
//! `mac_only_encrypted`), stored encrypted with the `lastmodified` text as additional data;
//! the data key is 32 random bytes, wrapped once per age recipient as an armored age file.

use std::path::{Path, PathBuf};

use govdeploy_yaml::Value;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::cipher::{self, DataKey};
use crate::emit;
use crate::error::SecretsError;
use crate::keys::{self, Identities};
use crate::tree::{Scalar, TreeNode, TreeValue};

/// The sops version whose format govdeploy writes (and reads).
pub const FORMAT_VERSION: &str = "3.11.0";
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// `sha256("sops")`, hashed first when `mac_only_encrypted` is set (sops.go).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// One age recipient of the data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    pub recipient: String,
    /// The data key encrypted to the recipient, as an armored age file.
    pub enc: String,
}

/// The `sops:` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub age: Vec<AgeStanza>,
    pub last_modified: String,
    pub mac: String,
    pub version: String,
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub mac_only_encrypted: bool,
}

impl Metadata {
    pub fn recipients(&self) -> Vec<String> {
        self.age.iter().map(|a| a.recipient.clone()).collect()
    }

    /// Whether the leaf at `path` is encrypted (sops' `shouldBeEncrypted` for the suffix
    /// options; the regex options are refused when reading).
    fn encrypts(&self, path: &[String]) -> bool {
        if let Some(suffix) = self.unencrypted_suffix.as_deref().filter(|s| !s.is_empty())
            && path.iter().any(|p| p.ends_with(suffix))
        {
            return false;
        }
        if let Some(suffix) = self.encrypted_suffix.as_deref().filter(|s| !s.is_empty()) {
            return path.iter().any(|p| p.ends_with(suffix));
        }
        true
    }
}

/// A file as read: the data tree (still encrypted) and its metadata.
#[derive(Debug, Clone)]
pub struct EncryptedFile {
    pub path: PathBuf,
    pub tree: TreeNode,
    pub metadata: Metadata,
}

/// A decrypted file, keeping what is needed to write it back the way sops does: the same
/// data key and recipients, and the ciphertext of every value that did not change (so an
/// edit shows in version control only where values changed).
pub struct Decrypted {
    pub path: PathBuf,
    pub tree: TreeNode,
    pub metadata: Metadata,
    data_key: DataKey,
    previous: Vec<(String, Scalar, String)>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("path", &self.path)
            .field("recipients", &self.metadata.recipients())
            .finish_non_exhaustive()
    }
}

/// Whether a parsed YAML document is a SOPS file (a top-level `sops` mapping).
pub fn is_sops(node: &govdeploy_yaml::Node) -> bool {
    matches!(node.get("sops").map(|n| &n.value), Some(Value::Map(_)))
}

fn format_error(path: &Path, reason: impl Into<String>) -> SecretsError {
    SecretsError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn text_field(node: &govdeploy_yaml::Node, key: &str) -> Option<String> {
    node.get(key).and_then(|n| n.scalar_text())
}

impl EncryptedFile {
    /// Splits a parsed SOPS document into data and metadata, refusing what govdeploy cannot
    /// honour (other key types only, Shamir key groups, regex-selected encryption).
    pub fn from_yaml(
        path: &Path,
        doc: &govdeploy_yaml::Node,
    ) -> Result<EncryptedFile, SecretsError> {
        let Value::Map(entries) = &doc.value else {
            return Err(format_error(path, "a SOPS file must be a mapping"));
        };
        let sops = doc
            .get("sops")
            .ok_or_else(|| format_error(path, "no `sops` metadata block"))?;
        for option in [
            "unencrypted_regex",
            "encrypted_regex",
            "unencrypted_comment_regex",
            "encrypted_comment_regex",
        ] {
            if text_field(sops, option).is_some_and(|v| !v.is_empty()) {
                return Err(SecretsError::Unsupported {
                    path: path.to_path_buf(),
                    what: format!("`{option}`"),
                });
            }
        }
        if sops
            .get("key_groups")
            .is_some_and(|g| !g.items().is_empty())
        {
            return Err(SecretsError::Unsupported {
                path: path.to_path_buf(),
                what: "key groups (Shamir secret sharing)".into(),
            });
        }
        let mut age = Vec::new();
        for (i, item) in sops
            .get("age")
            .map(|a| a.items())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            match (text_field(item, "recipient"), text_field(item, "enc")) {
                (Some(recipient), Some(enc)) => age.push(AgeStanza { recipient, enc }),
                _ => {
                    return Err(format_error(
                        path,
                        format!("sops.age[{i}] needs `recipient` and `enc`"),
                    ));
                }
            }
        }
        if age.is_empty() {
            let others: Vec<&str> = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"]
                .into_iter()
                .filter(|k| sops.get(k).is_some_and(|v| !v.items().is_empty()))
                .collect();
            return Err(if others.is_empty() {
                format_error(path, "the `sops` block has no age recipients")
            } else {
                SecretsError::Unsupported {
                    path: path.to_path_buf(),
                    what: format!("{} master keys and no age recipient", others.join(", ")),
                }
            });
        }
        let metadata = Metadata {
            age,
            last_modified: text_field(sops, "lastmodified")
                .ok_or_else(|| format_error(path, "sops.lastmodified is missing"))?,
            mac: text_field(sops, "mac")
                .ok_or_else(|| format_error(path, "sops.mac is missing"))?,
            version: text_field(sops, "version").unwrap_or_default(),
            unencrypted_suffix: text_field(sops, "unencrypted_suffix"),
            encrypted_suffix: text_field(sops, "encrypted_suffix"),
            mac_only_encrypted: matches!(
                sops.get("mac_only_encrypted").map(|n| &n.value),
                Some(Value::Bool(true))
            ),
        };
        let data: Vec<(String, TreeNode)> = entries
            .iter()
            .filter(|(k, _)| k.name != "sops")
            .map(|(k, v)| (k.name.clone(), TreeNode::from_yaml(v)))
            .collect();
        Ok(EncryptedFile {
            path: path.to_path_buf(),
            tree: TreeNode {
                value: TreeValue::Map(data),
                pos: doc.pos,
            },
            metadata,
        })
    }

    /// Decrypts in memory and verifies the MAC.
    pub fn decrypt(&self, identities: &Identities) -> Result<Decrypted, SecretsError> {
        let data_key = self
            .metadata
            .age
            .iter()
            .find_map(|stanza| keys::unwrap_data_key(&stanza.enc, identities))
            .ok_or_else(|| SecretsError::WrongKey {
                path: self.path.clone(),
                recipients: self.metadata.recipients().join(", "),
                sources: if identities.sources.is_empty() {
                    "none: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, or put the key in ~/.config/sops/age/keys.txt".into()
                } else {
                    identities.sources.join(", ")
                },
            })?;
        let mut previous = Vec::new();
        let metadata = &self.metadata;
        let tree = self.tree.map_leaves(&mut Vec::new(), &mut |path, leaf| {
            if !metadata.encrypts(path) {
                return Ok(TreeValue::Scalar(leaf.clone()));
            }
            let value_error = |reason: String| SecretsError::Value {
                path: self.path.clone(),
                key_path: path.join("."),
                reason,
            };
            let Scalar::Str(text) = leaf else {
                return Err(value_error(
                    "an unencrypted value where an encrypted one belongs".into(),
                ));
            };
            if text.is_empty() {
                return Ok(TreeValue::Scalar(leaf.clone()));
            }
            let aad = aad(path);
            let plain =
                cipher::decrypt(text, &data_key, &aad).map_err(|e| value_error(e.to_string()))?;
            previous.push((aad, plain.clone(), text.to_string()));
            Ok(TreeValue::Scalar(plain))
        })?;
        let computed = mac(&tree, metadata);
        let stored =
            cipher::decrypt(&metadata.mac, &data_key, &metadata.last_modified).map_err(|e| {
                SecretsError::MacUnreadable {
                    path: self.path.clone(),
                    reason: e.to_string(),
                }
            })?;
        let matches = matches!(&stored, Scalar::Str(s) if s.as_str() == computed.as_str());
        if !matches {
            return Err(SecretsError::MacMismatch {
                path: self.path.clone(),
            });
        }
        Ok(Decrypted {
            path: self.path.clone(),
            tree,
            metadata: metadata.clone(),
            data_key,
            previous,
        })
    }
}

fn aad(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

/// The MAC over a cleartext tree, as upper-case hex.
fn mac(tree: &TreeNode, metadata: &Metadata) -> Zeroizing<String> {
    let mut hash = Sha512::new();
    if metadata.mac_only_encrypted {
        hash.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    let _ = tree.walk_leaves::<()>(&mut Vec::new(), &mut |path, leaf| {
        if !metadata.mac_only_encrypted || metadata.encrypts(path) {
            hash.update(leaf.to_bytes().as_slice());
        }
        Ok(())
    });
    let digest = hash.finalize();
    let mut hex = Zeroizing::new(String::with_capacity(128));
    for b in digest {
        hex.push_str(&format!("{b:02X}"));
    }
    hex
}

/// RFC 3339 UTC time with seconds, as sops writes `lastmodified`.
pub fn timestamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    timestamp(secs)
}

/// Encrypts a cleartext tree into a SOPS document.
fn seal(
    tree: &TreeNode,
    metadata: &mut Metadata,
    data_key: &DataKey,
    previous: &[(String, Scalar, String)],
) -> Result<String, SecretsError> {
    let meta = metadata.clone();
    let encrypted = tree.map_leaves::<SecretsError>(&mut Vec::new(), &mut |path, leaf| {
        if !meta.encrypts(path) || matches!(leaf, Scalar::Str(s) if s.is_empty()) {
            return Ok(TreeValue::Scalar(leaf.clone()));
        }
        let aad = aad(path);
        let reused = previous
            .iter()
            .find(|(a, plain, _)| *a == aad && plain == leaf)
            .map(|(_, _, enc)| enc.clone());
        Ok(TreeValue::Scalar(Scalar::str(
            reused.unwrap_or_else(|| cipher::encrypt(leaf, data_key, &aad)),
        )))
    })?;
    let mac_text = mac(tree, metadata);
    metadata.mac = cipher::encrypt(
        &Scalar::str(mac_text.as_str()),
        data_key,
        &metadata.last_modified,
    );
    let mut out = emit::document(&encrypted);
    out.push_str(&metadata_yaml(metadata));
    Ok(out)
}

fn metadata_yaml(m: &Metadata) -> String {
    let mut out = String::from("sops:\n    age:\n");
    for stanza in &m.age {
        out.push_str(&format!(
            "        - recipient: {}\n          enc: |\n",
            stanza.recipient
        ));
        for line in stanza.enc.lines() {
            out.push_str("            ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("    lastmodified: \"{}\"\n", m.last_modified));
    out.push_str(&format!("    mac: {}\n", m.mac));
    if m.mac_only_encrypted {
        out.push_str("    mac_only_encrypted: true\n");
    }
    if let Some(s) = &m.encrypted_suffix {
        out.push_str(&format!("    encrypted_suffix: {s}\n"));
    }
    if let Some(s) = &m.unencrypted_suffix {
        out.push_str(&format!("    unencrypted_suffix: {s}\n"));
    }
    out.push_str(&format!("    version: {}\n", m.version));
    out
}

/// Encrypts a new file to `recipients` with a fresh data key.
pub fn encrypt_new(
    tree: &TreeNode,
    recipients: &[String],
    last_modified: &str,
) -> Result<String, SecretsError> {
    let parsed = keys::parse_recipients(recipients)?;
    let data_key = cipher::random_data_key();
    let mut age = Vec::new();
    for (text, recipient) in recipients.iter().zip(&parsed) {
        age.push(AgeStanza {
            recipient: text.trim().to_string(),
            enc: keys::wrap_data_key(&data_key, recipient)?,
        });
    }
    let mut metadata = Metadata {
        age,
        last_modified: last_modified.to_string(),
        mac: String::new(),
        version: FORMAT_VERSION.to_string(),
        unencrypted_suffix: Some(DEFAULT_UNENCRYPTED_SUFFIX.to_string()),
        encrypted_suffix: None,
        mac_only_encrypted: false,
    };
    seal(tree, &mut metadata, &data_key, &[])
}

impl Decrypted {
    /// Re-encrypts a changed tree with the same data key and recipients, keeping the
    /// ciphertext of unchanged values.
    pub fn reencrypt(&self, tree: &TreeNode, last_modified: &str) -> Result<String, SecretsError> {
        let mut metadata = self.metadata.clone();
        metadata.last_modified = last_modified.to_string();
        seal(tree, &mut metadata, &self.data_key, &self.previous)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn identities(identity: age::x25519::Identity) -> Identities {
        crate::keys::Identities::for_tests(vec![Box::new(identity)])
    }

    fn reopen(text: &str, identity: &age::x25519::Identity) -> Result<Decrypted, SecretsError> {
        let doc = govdeploy_yaml::parse_single(text).unwrap();
        let file = EncryptedFile::from_yaml(Path::new("s.yaml"), &doc)?;
        file.decrypt(&identities(identity.clone()))
    }

    #[test]
    fn written_files_reopen_and_tampering_is_caught() {
        let identity = age::x25519::Identity::generate();
        let plain = "db:\n  password: s3cret\n  port: 5432\n  note_unencrypted: hello\n";
        let tree = TreeNode::from_yaml(&govdeploy_yaml::parse_single(plain).unwrap());
        let text = encrypt_new(
            &tree,
            &[identity.to_public().to_string()],
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert!(!text.contains("s3cret"));
        assert!(text.contains("note_unencrypted: hello\n"));
        let opened = reopen(&text, &identity).unwrap();
        assert_eq!(
            crate::emit::document(&opened.tree),
            crate::emit::document(&tree)
        );
        let tampered = text.replace("note_unencrypted: hello", "note_unencrypted: bye");
        assert!(matches!(
            reopen(&tampered, &identity),
            Err(SecretsError::MacMismatch { .. })
        ));
        let redated = text.replace("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
        assert!(matches!(
            reopen(&redated, &identity),
            Err(SecretsError::MacUnreadable { .. })
        ));
        let stranger = age::x25519::Identity::generate();
        assert!(matches!(
            reopen(&text, &stranger),
            Err(SecretsError::WrongKey { .. })
        ));
    }

    #[test]
    fn unsupported_metadata_is_refused() {
        let text = "a: b\nsops:\n    encrypted_regex: ^data$\n    lastmodified: x\n    mac: y\n";
        let doc = govdeploy_yaml::parse_single(text).unwrap();
        let err = EncryptedFile::from_yaml(Path::new("s.yaml"), &doc).unwrap_err();
        assert!(matches!(err, SecretsError::Unsupported { .. }), "{err}");
        let text = "a: b\nsops:\n    kms: [{arn: x}]\n    lastmodified: x\n    mac: y\n";
        let doc = govdeploy_yaml::parse_single(text).unwrap();
        let err = EncryptedFile::from_yaml(Path::new("s.yaml"), &doc)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("kms master keys and no age recipient"),
            "{err}"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_796_147_696), "2026-12-01T17:54:56Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn suffixes_decide_what_is_encrypted() {
        let mut m = Metadata {
            age: vec![],
            last_modified: String::new(),
            mac: String::new(),
            version: String::new(),
            unencrypted_suffix: Some("_unencrypted".into()),
            encrypted_suffix: None,
            mac_only_encrypted: false,
        };
        assert!(m.encrypts(&["db".into(), "password".into()]));
        assert!(!m.encrypts(&["x_unencrypted".into(), "k".into()]));
        m.unencrypted_suffix = None;
        m.encrypted_suffix = Some("_enc".into());
        assert!(!m.encrypts(&["db".into()]));
        assert!(m.encrypts(&["db_enc".into()]));
    }
}
