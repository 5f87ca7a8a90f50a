//! A govdeploy secrets file on disk, SOPS-encrypted or (development only) plaintext: loading
//! with format detection, the `<secret>: {<key>: <value>}` view with positions, edits, and
//! private atomic writes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use govdeploy_yaml::{Diagnostic, Location, Pos};
use zeroize::Zeroizing;

use crate::cipher;
use crate::error::SecretsError;
use crate::keys::KeySources;
use crate::sops::{self, Decrypted, EncryptedFile};
use crate::tree::{Scalar, TreeNode, TreeValue};

/// Diagnostic code for a secrets file whose shape is wrong.
pub const E_SHAPE: &str = "E-SECRETS-SHAPE";

/// How the file is stored.
#[derive(Debug)]
pub enum Storage {
    Sops(Box<Decrypted>),
    Plaintext,
}

/// A loaded secrets file: the cleartext tree (positions point into the file as stored).
#[derive(Debug)]
pub struct SecretsFile {
    pub path: PathBuf,
    pub storage: Storage,
    pub tree: TreeNode,
}

/// One value with the place it is written at.
#[derive(Clone)]
pub struct Entry {
    pub value: Zeroizing<String>,
    pub pos: Pos,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry(<redacted> at {})", self.pos)
    }
}

/// Secret name -> key -> value.
pub type Values = BTreeMap<String, BTreeMap<String, Entry>>;

/// Parses text as YAML, never echoing content in errors.
pub fn parse_yaml(path: &Path, text: &str) -> Result<govdeploy_yaml::Node, SecretsError> {
    govdeploy_yaml::parse_single(text).map_err(|e| {
        let pos = e.pos().unwrap_or_default();
        SecretsError::Yaml {
            path: path.to_path_buf(),
            line: pos.line,
            col: pos.col,
        }
    })
}

impl SecretsFile {
    /// Reads a secrets file. A file with a `sops` block is decrypted in memory (MAC checked);
    /// a file without one is plaintext, unless it holds SOPS-encrypted values, which is an
    /// error rather than a silent misreading.
    pub fn load(path: &Path, keys: &KeySources) -> Result<SecretsFile, SecretsError> {
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| SecretsError::io(path, &e))?);
        Self::from_text(path, &text, keys)
    }

    pub fn from_text(
        path: &Path,
        text: &str,
        keys: &KeySources,
    ) -> Result<SecretsFile, SecretsError> {
        let doc = parse_yaml(path, text)?;
        if sops::is_sops(&doc) {
            let encrypted = EncryptedFile::from_yaml(path, &doc)?;
            let identities = keys.load()?;
            let decrypted = encrypted.decrypt(&identities)?;
            return Ok(SecretsFile {
                path: path.to_path_buf(),
                tree: decrypted.tree.clone(),
                storage: Storage::Sops(Box::new(decrypted)),
            });
        }
        let tree = TreeNode::from_yaml(&doc);
        let mut encrypted_at = None;
        let _ = tree.walk_leaves::<()>(&mut Vec::new(), &mut |path, leaf| {
            if encrypted_at.is_none() && matches!(leaf, Scalar::Str(s) if cipher::is_encrypted(s)) {
                encrypted_at = Some(path.join("."));
            }
            Ok(())
        });
        if let Some(at) = encrypted_at {
            return Err(SecretsError::Format {
                path: path.to_path_buf(),
                reason: format!(
                    "`{at}` holds a SOPS-encrypted value but the file has no `sops` metadata block; it was damaged (restore it from version control) and is never read as plaintext"
                ),
            });
        }
        Ok(SecretsFile {
            path: path.to_path_buf(),
            storage: Storage::Plaintext,
            tree,
        })
    }

    pub fn is_encrypted(&self) -> bool {
        matches!(self.storage, Storage::Sops(_))
    }

    pub fn recipients(&self) -> Vec<String> {
        match &self.storage {
            Storage::Sops(d) => d.metadata.recipients(),
            Storage::Plaintext => Vec::new(),
        }
    }

    fn at(&self, pos: Pos) -> Option<Location> {
        Some(Location {
            file: self.path.clone(),
            line: pos.line,
            col: pos.col,
        })
    }

    /// The `<secret>: {<key>: <value>}` view; every shape problem at once.
    pub fn values(&self) -> Result<Values, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut out = Values::new();
        let TreeValue::Map(secrets) = &self.tree.value else {
            return Err(vec![
                Diagnostic::error(
                    E_SHAPE,
                    "the secrets file must map Secret names to their keys",
                )
                .at(self.at(self.tree.pos))
                .hint("write `db: {username: ..., password: ...}`"),
            ]);
        };
        for (name, keys) in secrets {
            let TreeValue::Map(entries) = &keys.value else {
                problems.push(
                    Diagnostic::error(E_SHAPE, format!("secret `{name}` must map keys to values"))
                        .at(self.at(keys.pos))
                        .hint(format!("write `{name}: {{<key>: <value>}}`")),
                );
                continue;
            };
            let mut kv = BTreeMap::new();
            for (key, value) in entries {
                match value.as_scalar() {
                    Some(s) => {
                        kv.insert(
                            key.clone(),
                            Entry {
                                value: s.text(),
                                pos: value.pos,
                            },
                        );
                    }
                    None => problems.push(
                        Diagnostic::error(
                            E_SHAPE,
                            format!("`{name}.{key}` must be a single value (content not shown)"),
                        )
                        .at(self.at(value.pos))
                        .hint("quote the value, or use a `|` block for multi-line text"),
                    ),
                }
            }
            out.insert(name.clone(), kv);
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Serialises the (changed) tree the way the file is stored: re-encrypted with its data
    /// key and recipients, or plaintext.
    pub fn render(&self, tree: &TreeNode) -> Result<String, SecretsError> {
        match &self.storage {
            Storage::Sops(d) => d.reencrypt(tree, &sops::now()),
            Storage::Plaintext => Ok(crate::emit::document(tree)),
        }
    }
}

/// Sets `secret.key` in a cleartext tree, appending the secret or key when absent.
pub fn set_value(tree: &mut TreeNode, secret: &str, key: &str, value: Scalar) {
    if !matches!(tree.value, TreeValue::Map(_)) {
        tree.value = TreeValue::Map(Vec::new());
    }
    let TreeValue::Map(secrets) = &mut tree.value else {
        return;
    };
    let index = match secrets.iter().position(|(k, _)| k == secret) {
        Some(i) => i,
        None => {
            secrets.push((
                secret.to_string(),
                TreeNode::new(TreeValue::Map(Vec::new())),
            ));
            secrets.len() - 1
        }
    };
    let node = &mut secrets[index].1;
    if !matches!(node.value, TreeValue::Map(_)) {
        node.value = TreeValue::Map(Vec::new());
    }
    if let TreeValue::Map(keys) = &mut node.value {
        let leaf = TreeNode::new(TreeValue::Scalar(value));
        match keys.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = leaf,
            None => keys.push((key.to_string(), leaf)),
        }
    }
}

/// Writes `bytes` to `path` owner-readable only (0600) through a temporary file in the same
/// directory and a rename, so that readers see the old file or the new one, never a part.
/// With `create_new`, an existing file is left alone and reported.
pub fn write_private(path: &Path, bytes: &[u8], create_new: bool) -> Result<(), SecretsError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "secrets".into());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut temp = builder
        .tempfile_in(&dir)
        .map_err(|e| SecretsError::io(&dir, &e))?;
    temp.write_all(bytes)
        .and_then(|_| temp.as_file().sync_all())
        .map_err(|e| SecretsError::io(temp.path(), &e))?;
    if create_new {
        // persist_noclobber fails when the target exists: no window in which an existing
        // file could be replaced.
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                SecretsError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                SecretsError::io(path, &e.error)
            }
        })?;
    } else {
        temp.persist(path)
            .map_err(|e| SecretsError::io(path, &e.error))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn plaintext(text: &str) -> Result<SecretsFile, SecretsError> {
        SecretsFile::from_text(Path::new("s.yaml"), text, &KeySources::default())
    }

    #[test]
    fn encrypted_values_without_metadata_are_refused() {
        let err =
            plaintext("db:\n  password: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("`db.password`") && err.contains("never read as plaintext"),
            "{err}"
        );
    }

    #[test]
    fn shape_problems_are_reported_together_without_values() {
        let file =
            plaintext("db: [hunter2]\nsms:\n  password: {nested: hunter3}\nok:\n  k: v\n").unwrap();
        let problems = file.values().unwrap_err();
        assert_eq!(problems.len(), 2);
        let text = format!("{problems:?}");
        assert!(!text.contains("hunter"), "{text}");
        assert_eq!(problems[1].location.as_ref().unwrap().line, 3);
    }

    #[test]
    fn set_value_appends_and_replaces() {
        let mut tree = plaintext("db:\n  username: egov\n").unwrap().tree;
        set_value(&mut tree, "db", "username", Scalar::str("other"));
        set_value(&mut tree, "sms", "password", Scalar::str("x"));
        assert_eq!(
            crate::emit::document(&tree),
            "db:\n    username: other\nsms:\n    password: x\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn writes_are_private_and_create_new_never_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        write_private(&path, b"one", true).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            write_private(&path, b"two", true),
            Err(SecretsError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_private(&path, b"three", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }
}
