//! Errors of reading, decrypting and writing secrets files. None of them carries a value:
//! they name files, key paths and recipients only.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path}:{line}:{col}: not valid YAML (content not shown)")]
    Yaml {
        path: PathBuf,
        line: usize,
        col: usize,
    },
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error(
        "{path}: this SOPS file uses {what}, which govdeploy does not support; decrypt and re-encrypt it with age recipients (sops updatekeys) or use the sops tool"
    )]
    Unsupported { path: PathBuf, what: String },
    #[error(
        "{path}: no age identity can decrypt the data key (file recipients: {recipients}; identities tried from: {sources})"
    )]
    WrongKey {
        path: PathBuf,
        recipients: String,
        sources: String,
    },
    #[error("{path}: value at `{key_path}` cannot be decrypted: {reason}")]
    Value {
        path: PathBuf,
        key_path: String,
        reason: String,
    },
    #[error(
        "{path}: MAC mismatch: the file was modified outside sops/govdeploy (values, keys or their order changed) or is corrupt; restore it from version control"
    )]
    MacMismatch { path: PathBuf },
    #[error(
        "{path}: the stored MAC cannot be decrypted ({reason}); the file is corrupt or was tampered with"
    )]
    MacUnreadable { path: PathBuf, reason: String },
    #[error("{path}: age key file: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("{0}")]
    Recipients(String),
    #[error(
        "{path} already exists; govdeploy never overwrites a secrets file here (use `secrets edit`, `set` or `rotate`)"
    )]
    Exists { path: PathBuf },
}

impl SecretsError {
    pub(crate) fn io(path: &std::path::Path, e: &std::io::Error) -> SecretsError {
        SecretsError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }
}
