//! age keys the way the sops tool finds them: identities for decryption from `SOPS_AGE_KEY`
//! (the key text), `SOPS_AGE_KEY_FILE` (a keys file) and sops' default keys file
//! (`$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`), all of them
//! combined; recipients for new files from `SOPS_AGE_RECIPIENTS` or the `age` entry of the
//! first matching `creation_rules` rule of the nearest `.sops.yaml`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::armor::{ArmoredReader, ArmoredWriter, Format};

use crate::cipher::{DATA_KEY_LEN, DataKey};
use crate::error::SecretsError;

/// Where an identity came from, for messages (never the key itself).
pub struct Identities {
    identities: Vec<Box<dyn age::Identity>>,
    pub sources: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("count", &self.identities.len())
            .field("sources", &self.sources)
            .finish()
    }
}

impl Identities {
    #[cfg(test)]
    pub(crate) fn for_tests(identities: Vec<Box<dyn age::Identity>>) -> Identities {
        Identities {
            identities,
            sources: vec!["test".into()],
        }
    }
}

/// The environment variables and paths identities are read from, so tests and the CLI can
/// pass them explicitly.
#[derive(Debug, Clone, Default)]
pub struct KeySources {
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
    pub default_file: Option<PathBuf>,
}

impl KeySources {
    /// Reads `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and the default path from the process
    /// environment.
    pub fn from_env() -> KeySources {
        let config_dir = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        KeySources {
            key: std::env::var("SOPS_AGE_KEY").ok().filter(|v| !v.is_empty()),
            key_file: std::env::var_os("SOPS_AGE_KEY_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            default_file: config_dir.map(|d| d.join("sops").join("age").join("keys.txt")),
        }
    }

    /// Loads every identity available. A named key file that cannot be read is an error; the
    /// default file may be absent.
    pub fn load(&self) -> Result<Identities, SecretsError> {
        let mut identities = Vec::new();
        let mut sources = Vec::new();
        if let Some(text) = &self.key {
            identities.extend(parse_identities(text.as_bytes(), "SOPS_AGE_KEY")?);
            sources.push("SOPS_AGE_KEY".to_string());
        }
        if let Some(path) = &self.key_file {
            let bytes = std::fs::read(path).map_err(|e| SecretsError::KeyFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            identities.extend(parse_identities(&bytes, &path.display().to_string())?);
            sources.push(format!("SOPS_AGE_KEY_FILE={}", path.display()));
        }
        if let Some(path) = &self.default_file
            && let Ok(bytes) = std::fs::read(path)
        {
            identities.extend(parse_identities(&bytes, &path.display().to_string())?);
            sources.push(path.display().to_string());
        }
        Ok(Identities {
            identities,
            sources,
        })
    }
}

fn parse_identities(
    bytes: &[u8],
    source: &str,
) -> Result<Vec<Box<dyn age::Identity>>, SecretsError> {
    let bad = |reason: String| SecretsError::KeyFile {
        path: PathBuf::from(source),
        reason,
    };
    age::IdentityFile::from_buffer(bytes)
        .map_err(|_| bad("not an age identity file (expected AGE-SECRET-KEY-1… lines)".into()))?
        .into_identities()
        .map_err(|_| bad("holds an identity type govdeploy does not support (plugins)".into()))
}

/// Parses `age1…` recipients; all problems at once.
pub fn parse_recipients(texts: &[String]) -> Result<Vec<age::x25519::Recipient>, SecretsError> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for text in texts {
        match text.trim().parse::<age::x25519::Recipient>() {
            Ok(r) => out.push(r),
            Err(_) => bad.push(text.trim().to_string()),
        }
    }
    if !bad.is_empty() {
        return Err(SecretsError::Recipients(format!(
            "not age X25519 recipients (age1…): {}",
            bad.join(", ")
        )));
    }
    if out.is_empty() {
        return Err(SecretsError::Recipients("no recipients given".into()));
    }
    Ok(out)
}

/// Encrypts the data key to one recipient as an armored age file, as sops' age key source
/// does (one `age` entry per recipient).
pub fn wrap_data_key(
    key: &DataKey,
    recipient: &age::x25519::Recipient,
) -> Result<String, SecretsError> {
    let fail = |e: String| SecretsError::Recipients(format!("age encryption failed: {e}"));
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)
        .map_err(|e| fail(e.to_string()))?;
    let mut writer = encryptor
        .wrap_output(armor)
        .map_err(|e| fail(e.to_string()))?;
    writer
        .write_all(key.as_ref())
        .map_err(|e| fail(e.to_string()))?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| fail(e.to_string()))?;
    let mut text = String::from_utf8(out).map_err(|e| fail(e.to_string()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Tries to open one armored age stanza with the identities.
pub fn unwrap_data_key(armored: &str, identities: &Identities) -> Option<DataKey> {
    let decryptor =
        age::Decryptor::new_buffered(ArmoredReader::new(armored.trim().as_bytes())).ok()?;
    let mut reader = decryptor
        .decrypt(
            identities
                .identities
                .iter()
                .map(|i| i.as_ref() as &dyn age::Identity),
        )
        .ok()?;
    let mut plain = zeroize::Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plain).ok()?;
    let bytes: [u8; DATA_KEY_LEN] = plain.as_slice().try_into().ok()?;
    Some(zeroize::Zeroizing::new(bytes))
}

/// Recipients for a new file at `target`: `SOPS_AGE_RECIPIENTS` (comma-separated, as sops
/// reads it) wins; otherwise the nearest `.sops.yaml` from the file's directory upwards, its
/// first `creation_rules` entry whose `path_regex` is absent or matches the file name
/// literally-or-by-suffix (govdeploy does not evaluate regular expressions: see docs).
pub fn recipients_for(
    target: &Path,
    env_value: Option<&str>,
) -> Result<(Vec<String>, String), SecretsError> {
    if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
        return Ok((split_list(v), "SOPS_AGE_RECIPIENTS".into()));
    }
    let absolute = std::path::absolute(target).unwrap_or_else(|_| target.to_path_buf());
    let mut dir = absolute.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let config = d.join(".sops.yaml");
        if let Ok(text) = std::fs::read_to_string(&config) {
            return recipients_from_config(&text, &config, &absolute)
                .map(|r| (r, config.display().to_string()));
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Err(SecretsError::Recipients(
        "no recipients: set SOPS_AGE_RECIPIENTS, pass --age age1…, or add a .sops.yaml with creation_rules: [{age: age1…}] beside the secrets file".into(),
    ))
}

fn split_list(v: &str) -> Vec<String> {
    v.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn recipients_from_config(
    text: &str,
    config: &Path,
    target: &Path,
) -> Result<Vec<String>, SecretsError> {
    let bad = |reason: &str| SecretsError::Recipients(format!("{}: {reason}", config.display()));
    let node = govdeploy_yaml::parse_single(text).map_err(|_| bad("not valid YAML"))?;
    let rules = node
        .get("creation_rules")
        .ok_or_else(|| bad("has no creation_rules"))?;
    let name = target.to_string_lossy();
    for rule in rules.items() {
        if let Some(pattern) = rule.get("path_regex").and_then(|p| p.as_str())
            && !path_matches(pattern, &name)
        {
            continue;
        }
        let Some(age) = rule.get("age") else {
            return Err(bad("the matching creation rule has no `age` recipients"));
        };
        let list = match &age.value {
            govdeploy_yaml::Value::String(s) => split_list(s),
            govdeploy_yaml::Value::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => return Err(bad("`age` must be a string or a list of recipients")),
        };
        return Ok(list);
    }
    Err(bad("no creation rule matches the secrets file"))
}

/// The common `path_regex` shapes without a regex engine: `\.enc\.yaml$`, `secrets/.*`,
/// `.*\.sops\.yaml`: unescape, drop anchors and `.*`, then test containment (suffix when
/// anchored with `$`).
fn path_matches(pattern: &str, path: &str) -> bool {
    let anchored_end = pattern.ends_with('$');
    let literal = pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace(".*", "\u{0}")
        .replace("\\.", ".");
    let pieces: Vec<&str> = literal.split('\u{0}').filter(|p| !p.is_empty()).collect();
    match pieces.as_slice() {
        [] => true,
        [one] if anchored_end => path.ends_with(one),
        _ => pieces.iter().all(|p| path.contains(p)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn data_key_round_trips_through_age() {
        let identity = age::x25519::Identity::generate();
        let key = crate::cipher::random_data_key();
        let armored = wrap_data_key(&key, &identity.to_public()).unwrap();
        assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        let ids = Identities {
            identities: vec![Box::new(identity)],
            sources: vec![],
        };
        assert_eq!(
            unwrap_data_key(&armored, &ids).unwrap().as_ref(),
            key.as_ref()
        );
        let other = Identities {
            identities: vec![Box::new(age::x25519::Identity::generate())],
            sources: vec![],
        };
        assert!(unwrap_data_key(&armored, &other).is_none());
    }

    #[test]
    fn creation_rules_pick_the_first_match() {
        let text = "creation_rules:\n  - path_regex: prod\\.enc\\.yaml$\n    age: age1prod\n  - age: 'age1a, age1b'\n";
        let cfg = Path::new("/x/.sops.yaml");
        assert_eq!(
            recipients_from_config(text, cfg, Path::new("/x/prod.enc.yaml")).unwrap(),
            ["age1prod"]
        );
        assert_eq!(
            recipients_from_config(text, cfg, Path::new("/x/dev.enc.yaml")).unwrap(),
            ["age1a", "age1b"]
        );
    }

    #[test]
    fn bad_recipients_are_listed() {
        let err = parse_recipients(&["age1nope".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("age1nope"), "{err}");
    }
}
